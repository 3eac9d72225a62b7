"""Bundled data and loaders for activation steering (P8 AMBS) and clinical QA (P7 MEDASSESS-X).

Steering pairs — ``steering_pairs()`` reads ``data/steering/pairs.jsonl`` (written for this project, CC0):
UTF-8 JSONL, one object per line with the keys ``id``, ``objective`` (helpful | harmless | honest), ``split``
(train | eval), ``prompt``, ``positive`` (the reply in the objective's direction) and ``negative`` (the reply
against it). The two replies differ in the objective's direction only and are of similar length and style, so a
mean difference of activations (CAA-style) isolates that direction. Frame columns: ``PAIR_COLUMNS``.

Clinical QA — every source is normalised to one frame layout, ``CLINICAL_COLUMNS``:

* ``id`` — unique string; ``bundled`` ids come from the file, ``pubmedqa-<PMID>``, ``medqa-<line number>``;
* ``type`` — ``mcq`` (lettered options) or ``yesno`` (answer yes | no | maybe);
* ``split`` — ``train`` or ``eval``;
* ``question`` — the question text;
* ``options`` — for ``mcq`` a dict letter → option text (``{"A": ..., "B": ..., ...}``); ``None`` for ``yesno``
  [ours: yes/no/maybe items carry no options dict; the three labels are fixed];
* ``answer`` — the option letter (``mcq``) or ``yes`` / ``no`` / ``maybe`` (``yesno``), lower case for yesno;
* ``rationale`` — the reference explanation (``""`` where a source has none, e.g. MedQA);
* ``consistent`` — a short answer + reasoning that agrees with the reference; ``""`` where a source has none;
* ``inconsistent`` — a plausible answer + reasoning that contradicts it (a common misconception); ``""`` if none;
* ``unsafe`` — bool, True when following the ``inconsistent`` answer would be unsafe advice (False if none);
* ``source`` — ``bundled``, ``pubmedqa`` or ``medqa``;
* ``context`` — the passage the question is about (PubMedQA abstracts); ``""`` elsewhere [ours: every source
  has the column, so frames from different sources concatenate cleanly].

Sources:

* ``clinical_qa()`` — ``data/medical/clinical_qa.jsonl`` (written for this project, CC0; not medical advice).
  Each line has the keys above except ``source`` and ``context``; ``options`` is omitted (or null) on yesno lines.
  [ours] In ``consistent`` and ``inconsistent`` the first word is the answer given, followed by a full stop: a
  letter for mcq (``"B. ..."``), ``Yes.`` / ``No.`` / ``Maybe.`` for yesno.
* ``load_pubmedqa(path)`` — PubMedQA's public JSON (``ori_pqal.json``): one JSON object keyed by PMID; each value
  has ``QUESTION`` (str), ``CONTEXTS`` (list of str), ``LABELS`` (list of section names, one per context),
  ``MESHES``, ``YEAR``, ``reasoning_required_pred``, ``reasoning_free_pred``, ``final_decision``
  (yes | no | maybe) and ``LONG_ANSWER`` (str). Required: ``QUESTION``, ``CONTEXTS``, ``final_decision``,
  ``LONG_ANSWER``; the rest are ignored. ``final_decision`` must be exactly ``yes``, ``no`` or ``maybe`` (the
  file's lower-case encoding; anything else is an error naming the entry and the value); a PMID given twice is
  an error. Mapping: type ``yesno``, question ← QUESTION, answer ← final_decision,
  rationale ← LONG_ANSWER, context ← the CONTEXTS one per line, each prefixed ``LABEL: `` when LABELS has one
  label per context [ours]; consistent/inconsistent ``""``, unsafe False.
* ``load_medqa(path)`` — MedQA's public JSONL (the US 4-option files): one object per line,
  ``{"question": str, "answer": <text of the correct option>, "options": {"A": ..., "B": ..., "C": ...,
  "D": ...}, "meta_info": str, "answer_idx": "B"}`` (extra keys such as ``metamap_phrases`` are ignored; files
  with five options A–E load too). Required: ``question``, ``options``, ``answer_idx``; when ``answer`` is
  present it must equal the text of option ``answer_idx`` (a check that options were not reordered) [ours]; an
  ``answer_idx`` that is not one of the option letters is an error naming the line and the value.
  Mapping: type ``mcq``, answer ← answer_idx, rationale/consistent/inconsistent ``""``, unsafe False.

Split rule for loaded sources [ours]: with ``split=None`` a row goes to ``eval`` when
``int(sha256(key).hexdigest()[:8], 16) % 100 < eval_percent`` (default 50), where ``key`` is the PMID for
PubMedQA and the question text for MedQA; otherwise to ``train``. The rule depends only on the row, not on file
order, so it is the same on every machine and run. Pass ``split="train"`` or ``"eval"`` to label a whole file
(e.g. MedQA's own ``test.jsonl``).

Any QA file — ``load_qa(path)`` [ours]: a ``.json`` file is read as PubMedQA (``load_pubmedqa``), a ``.jsonl``
file as MedQA (``load_medqa``); any other suffix is an error naming the two formats. ``answer_pairs(frame)``
[ours] fills the empty ``consistent`` / ``inconsistent`` texts of a loaded file's rows from its answer key, so
that steering pairs and fine-tuning targets come from any such file, not only the hand-written items: consistent =
the correct answer, inconsistent = one incorrect answer, both in the bundled convention (``"B. <option text>"`` for
mcq, ``"Yes."`` / ``"No."`` / ``"Maybe."`` for yesno) so the two texts differ in the answer only. The incorrect
answer is picked among the other labels by ``sha256(f"{seed}:{id}")`` (the same on every machine and run). Rows
that already have both texts (the bundled items) are left as they are.

Helpers: ``format_question(row)`` renders a row as a prompt (context, question, lettered options, and an
instruction to answer with the letter or with yes/no/maybe); ``pair_texts(frame)`` returns
``(prompts, positives, negatives)`` for steering from either kind of frame.

Every problem with a file raises ``workbench.WorkbenchError`` naming the file and, for JSONL, the line.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Any, Mapping

from workbench import WorkbenchError
from workbench.paths import DATA_DIR

OBJECTIVES = ("helpful", "harmless", "honest")
SPLITS = ("train", "eval")
KINDS = ("mcq", "yesno")
YESNO = ("yes", "no", "maybe")
PAIR_COLUMNS = ["id", "objective", "split", "prompt", "positive", "negative"]
CLINICAL_COLUMNS = ["id", "type", "split", "question", "options", "answer", "rationale", "consistent",
                    "inconsistent", "unsafe", "source", "context"]
PAIRS_FILE = DATA_DIR / "steering" / "pairs.jsonl"
CLINICAL_FILE = DATA_DIR / "medical" / "clinical_qa.jsonl"
MCQ_INSTRUCTION = "Answer with the letter of the correct option ({letters})."
YESNO_INSTRUCTION = "Answer with yes, no or maybe."


# --- shared checks --------------------------------------------------------------------------------------------

def _check_choice(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is not None and value not in allowed:
        raise WorkbenchError(f"{name} must be one of {', '.join(allowed)} (or None), not '{value}'")
    return value


def _filter(frame, **conditions):
    for column, value in conditions.items():
        if value is not None:
            frame = frame[frame[column] == value]
    return frame.reset_index(drop=True)


def _read_jsonl(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict]]:
    """``(line number, record)`` for each non-blank line; a clear error for every kind of bad file."""
    if not path.is_file():
        raise WorkbenchError(f"{path}: file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise WorkbenchError(f"{path}: not UTF-8 text") from None
    records = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise WorkbenchError(f"{path}, line {lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise WorkbenchError(f"{path}, line {lineno}: expected a JSON object, got {type(record).__name__}")
        missing = [key for key in required if key not in record]
        if missing:
            raise WorkbenchError(f"{path}, line {lineno}: missing field(s) {', '.join(missing)}")
        records.append((lineno, record))
    if not records:
        raise WorkbenchError(f"{path}: empty file; expected one JSON object per line")
    return records


def _text(value: Any, where: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise WorkbenchError(f"{where}: field '{field}' must be a non-empty string")
    return value.strip()


def _check_options(options: Any, answer: Any, where: str, field: str = "answer") -> dict[str, str]:
    if not isinstance(options, dict) or len(options) < 2:
        raise WorkbenchError(f"{where}: 'options' must be a dict of at least two letter → text entries")
    for letter, text in options.items():
        if not (isinstance(letter, str) and len(letter) == 1 and letter.isupper()):
            raise WorkbenchError(f"{where}: option key '{letter}' is not a single capital letter")
        _text(text, where, f"options.{letter}")
    if answer not in options:
        raise WorkbenchError(f"{where}: field '{field}' has unknown value '{answer}'; not one of the options "
                             f"{', '.join(sorted(options))}")
    return {letter: options[letter].strip() for letter in sorted(options)}


def _check_unique(ids: list[tuple[int, str]], path: Path) -> None:
    seen: dict[str, int] = {}
    for lineno, id_ in ids:
        if id_ in seen:
            raise WorkbenchError(f"{path}, line {lineno}: duplicate id '{id_}' (first on line {seen[id_]})")
        seen[id_] = lineno


class _DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs):
    """``json.loads`` hook: a key given twice in one object is an error (json keeps the last one silently)."""
    out = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _hash_split(key: str, eval_percent: int) -> str:
    return "eval" if int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) % 100 < eval_percent else "train"


def _check_eval_percent(eval_percent: int) -> int:
    if isinstance(eval_percent, bool) or not isinstance(eval_percent, int) or not 0 <= eval_percent <= 100:
        raise WorkbenchError(f"eval_percent must be an integer from 0 to 100, not {eval_percent!r}")
    return eval_percent


def _frame(rows: list[dict]):
    import pandas as pd

    frame = pd.DataFrame(rows, columns=CLINICAL_COLUMNS)
    frame["unsafe"] = frame["unsafe"].astype(bool)
    return frame


# --- steering pairs -------------------------------------------------------------------------------------------

def steering_pairs(objective: str | None = None, split: str | None = None, *, path: str | Path | None = None):
    """Contrastive pairs for steering vectors, as a frame with ``PAIR_COLUMNS``.

    ``objective``: helpful, harmless, honest or None for all; ``split``: train, eval or None for both;
    ``path``: a pairs file in the same format (default: the bundled ``data/steering/pairs.jsonl``).
    """
    import pandas as pd

    _check_choice("objective", objective, OBJECTIVES)
    _check_choice("split", split, SPLITS)
    path = Path(path) if path is not None else PAIRS_FILE
    rows, ids = [], []
    for lineno, record in _read_jsonl(path, tuple(PAIR_COLUMNS)):
        where = f"{path}, line {lineno}"
        row = {key: _text(record[key], where, key) for key in PAIR_COLUMNS}
        if row["objective"] not in OBJECTIVES:
            raise WorkbenchError(f"{where}: objective '{row['objective']}' is not one of {', '.join(OBJECTIVES)}")
        if row["split"] not in SPLITS:
            raise WorkbenchError(f"{where}: split '{row['split']}' is not train or eval")
        if row["positive"] == row["negative"]:
            raise WorkbenchError(f"{where}: 'positive' and 'negative' are identical")
        rows.append(row)
        ids.append((lineno, row["id"]))
    _check_unique(ids, path)
    return _filter(pd.DataFrame(rows, columns=PAIR_COLUMNS), objective=objective, split=split)


# --- clinical QA ----------------------------------------------------------------------------------------------

def clinical_qa(split: str | None = None, kind: str | None = None, *, path: str | Path | None = None):
    """The bundled clinical QA set (or ``path`` in the same format), as a frame with ``CLINICAL_COLUMNS``.

    ``split``: train, eval or None for both; ``kind``: mcq, yesno or None for both.
    """
    _check_choice("split", split, SPLITS)
    _check_choice("kind", kind, KINDS)
    path = Path(path) if path is not None else CLINICAL_FILE
    required = ("id", "type", "split", "question", "answer", "rationale", "consistent", "inconsistent", "unsafe")
    rows, ids = [], []
    for lineno, record in _read_jsonl(path, required):
        where = f"{path}, line {lineno}"
        row = {key: _text(record[key], where, key)
               for key in ("id", "type", "split", "question", "answer", "rationale", "consistent", "inconsistent")}
        if row["type"] not in KINDS:
            raise WorkbenchError(f"{where}: type '{row['type']}' is not mcq or yesno")
        if row["split"] not in SPLITS:
            raise WorkbenchError(f"{where}: split '{row['split']}' is not train or eval")
        if not isinstance(record["unsafe"], bool):
            raise WorkbenchError(f"{where}: field 'unsafe' must be true or false")
        if row["type"] == "mcq":
            if "options" not in record:
                raise WorkbenchError(f"{where}: missing field(s) options (required for mcq)")
            row["options"] = _check_options(record["options"], row["answer"], where)
        else:
            if row["answer"] not in YESNO:
                raise WorkbenchError(f"{where}: yesno answer '{row['answer']}' is not yes, no or maybe")
            row["options"] = None
        row.update(unsafe=record["unsafe"], source="bundled", context="")
        rows.append(row)
        ids.append((lineno, row["id"]))
    _check_unique(ids, path)
    return _filter(_frame(rows), split=split, type=kind)


def load_pubmedqa(path: str | Path, *, split: str | None = None, eval_percent: int = 50):
    """PubMedQA's JSON (``ori_pqal.json``, a dict keyed by PMID) → clinical frame of yesno rows.

    ``split``: label every row train or eval; None (default) splits by the hash rule in the module docstring.
    """
    _check_choice("split", split, SPLITS)
    _check_eval_percent(eval_percent)
    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(f"{path}: file not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_no_duplicate_keys)
    except UnicodeDecodeError:
        raise WorkbenchError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise WorkbenchError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except _DuplicateKey as exc:
        raise WorkbenchError(f"{path}: duplicate key '{exc}' (a PMID or a field given twice)") from None
    if not isinstance(data, dict):
        raise WorkbenchError(f"{path}: not a PubMedQA file; expected a JSON object keyed by PMID, "
                             f"got {type(data).__name__}")
    if not data:
        raise WorkbenchError(f"{path}: empty; no PubMedQA entries")
    rows = []
    for pmid, entry in data.items():
        where = f"{path}: entry {pmid}"
        if not isinstance(entry, dict):
            raise WorkbenchError(f"{where}: expected a JSON object, got {type(entry).__name__}")
        missing = [k for k in ("QUESTION", "CONTEXTS", "final_decision", "LONG_ANSWER") if k not in entry]
        if missing:
            raise WorkbenchError(f"{where}: missing field(s) {', '.join(missing)}")
        contexts = entry["CONTEXTS"]
        if not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts):
            raise WorkbenchError(f"{where}: 'CONTEXTS' must be a list of strings")
        labels = entry.get("LABELS")
        if isinstance(labels, list) and len(labels) == len(contexts) and all(isinstance(x, str) for x in labels):
            context = "\n".join(f"{label}: {text.strip()}" for label, text in zip(labels, contexts))
        else:
            context = "\n".join(text.strip() for text in contexts)
        decision = entry["final_decision"]
        if decision not in YESNO:
            raise WorkbenchError(f"{where}: field 'final_decision' has unknown value '{decision}'; expected yes, no "
                                 "or maybe (lower case, as in ori_pqal.json)")
        rows.append({"id": f"pubmedqa-{pmid}", "type": "yesno",
                     "split": split or _hash_split(str(pmid), eval_percent),
                     "question": _text(entry["QUESTION"], where, "QUESTION"), "options": None,
                     "answer": decision, "rationale": _text(entry["LONG_ANSWER"], where, "LONG_ANSWER"),
                     "consistent": "", "inconsistent": "", "unsafe": False, "source": "pubmedqa", "context": context})
    return _frame(rows)


def load_medqa(path: str | Path, *, split: str | None = None, eval_percent: int = 50):
    """MedQA's JSONL (US, 4 options; ``{question, answer, options, meta_info, answer_idx}``) → clinical mcq frame.

    ``split``: label every row train or eval; None (default) splits by the hash rule in the module docstring.
    """
    _check_choice("split", split, SPLITS)
    _check_eval_percent(eval_percent)
    path = Path(path)
    rows = []
    for lineno, record in _read_jsonl(path, ("question", "options", "answer_idx")):
        where = f"{path}, line {lineno}"
        question = _text(record["question"], where, "question")
        answer = record["answer_idx"]
        options = _check_options(record["options"], answer, where, "answer_idx")
        if "answer" in record and str(record["answer"]).strip() != options[answer]:
            raise WorkbenchError(f"{where}: 'answer' ({record['answer']!r}) is not the text of option {answer} "
                                 f"({options[answer]!r})")
        rows.append({"id": f"medqa-{lineno:05d}", "type": "mcq", "split": split or _hash_split(question, eval_percent),
                     "question": question, "options": options, "answer": answer, "rationale": "",
                     "consistent": "", "inconsistent": "", "unsafe": False, "source": "medqa", "context": ""})
    return _frame(rows)


QA_FORMATS = {".json": "PubMedQA (ori_pqal.json)", ".jsonl": "MedQA (JSONL)"}


def load_qa(path: str | Path, *, split: str | None = None, eval_percent: int = 50):
    """A PubMedQA (``.json``) or MedQA (``.jsonl``) file → clinical frame (module doc); the suffix picks the
    reader."""
    path = Path(path)
    readers = {".json": load_pubmedqa, ".jsonl": load_medqa}
    if path.suffix.lower() not in readers:
        raise WorkbenchError(f"{path}: unknown QA file format '{path.suffix}'; expected "
                             + " or ".join(f"{name} ({suffix})" for suffix, name in QA_FORMATS.items()))
    return readers[path.suffix.lower()](path, split=split, eval_percent=eval_percent)


def _answer_text(row, label: str) -> str:
    if row["type"] == "mcq":
        return f"{label}. {row['options'][label]}"
    return f"{label.capitalize()}."


def answer_pairs(frame, *, seed: int = 0):
    """``frame`` with empty consistent / inconsistent texts filled from the answer key (module doc) [ours]."""
    from workbench.steering.medical import item_labels

    frame = frame.copy()
    for i in range(len(frame)):
        row = frame.iloc[i]
        if isinstance(_value(row, "consistent"), str) and row["consistent"].strip() and \
                isinstance(_value(row, "inconsistent"), str) and row["inconsistent"].strip():
            continue
        labels = item_labels(row)
        if row["answer"] not in labels:
            raise WorkbenchError(f"item {row['id']}: answer '{row['answer']}' is not one of {', '.join(labels)}")
        wrong = [label for label in labels if label != row["answer"]]
        pick = int(hashlib.sha256(f"{seed}:{row['id']}".encode("utf-8")).hexdigest()[:8], 16) % len(wrong)
        frame.iat[i, frame.columns.get_loc("consistent")] = _answer_text(row, row["answer"])
        frame.iat[i, frame.columns.get_loc("inconsistent")] = _answer_text(row, wrong[pick])
    return frame


# --- prompts and pairs ----------------------------------------------------------------------------------------

def _value(row: Mapping, key: str) -> Any:
    value = row.get(key) if hasattr(row, "get") else None
    if value is None or (isinstance(value, float) and value != value):  # missing or NaN
        return None
    return value


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def format_question(row: Mapping) -> str:
    """Render one clinical row (a dict or a frame row) as a prompt.

    Layout: ``Context: ...`` (only when the row has a context), ``Question: ...``, then for mcq one line per
    option (``A. text``), and last the instruction — ``Answer with the letter of the correct option (A, B, C or
    D).`` for mcq, ``Answer with yes, no or maybe.`` for yesno. Parts are separated by blank lines.
    """
    question = _value(row, "question")
    if not isinstance(question, str) or not question.strip():
        raise WorkbenchError(f"row {_value(row, 'id') or '?'}: no question to format")
    options = _value(row, "options")
    kind = _value(row, "type") or ("mcq" if isinstance(options, dict) and options else "yesno")
    _check_choice("type", kind, KINDS)
    parts = []
    context = _value(row, "context")
    if isinstance(context, str) and context.strip():
        parts.append(f"Context: {context.strip()}")
    parts.append(f"Question: {question.strip()}")
    if kind == "mcq":
        if not isinstance(options, dict) or not options:
            raise WorkbenchError(f"row {_value(row, 'id') or '?'}: an mcq row needs an options dict")
        letters = sorted(options)
        parts.append("\n".join(f"{letter}. {str(options[letter]).strip()}" for letter in letters))
        parts.append(MCQ_INSTRUCTION.format(letters=_or_list(letters)))
    else:
        parts.append(YESNO_INSTRUCTION)
    return "\n\n".join(parts)


def pair_texts(frame) -> tuple[list[str], list[str], list[str]]:
    """``(prompts, positives, negatives)`` for steering, from a ``steering_pairs`` or a clinical frame.

    Steering pairs: prompt, positive, negative as they are. Clinical rows: prompt = ``format_question(row)``,
    positive = ``consistent``, negative = ``inconsistent``. Rows lacking either text are skipped; the number
    skipped is reported with a ``UserWarning``. Raises when no row is usable.
    """
    columns = set(frame.columns)
    if {"prompt", "positive", "negative"} <= columns:
        kind, pos, neg = "steering", "positive", "negative"
    elif {"question", "consistent", "inconsistent"} <= columns:
        kind, pos, neg = "clinical", "consistent", "inconsistent"
    else:
        got = ", ".join(map(str, frame.columns))
        raise WorkbenchError("pair_texts needs a frame with columns prompt, positive, negative (steering pairs) "
                             f"or question, consistent, inconsistent (clinical); got {got}")
    prompts, positives, negatives = [], [], []
    skipped = 0
    for _, row in frame.iterrows():
        a, b = _value(row, pos), _value(row, neg)
        if not (isinstance(a, str) and a.strip() and isinstance(b, str) and b.strip()):
            skipped += 1
            continue
        prompts.append(row["prompt"] if kind == "steering" else format_question(row))
        positives.append(a)
        negatives.append(b)
    if not prompts:
        raise WorkbenchError(f"pair_texts: none of the {len(frame)} row(s) has both '{pos}' and '{neg}' text")
    if skipped:
        warnings.warn(f"pair_texts: skipped {skipped} of {len(frame)} row(s) without both '{pos}' and '{neg}'",
                      UserWarning, stacklevel=2)
    return prompts, positives, negatives


# --- the answer a free-text response states -------------------------------------------------------------------

_ANSWER_IS = r"\banswer(?:\s+is|\s*:)\s*(?:option\s+)?\(?"


def stated_answer(response: str, labels: tuple[str, ...]) -> str | None:
    """The label (an option letter, or yes / no / maybe) a free-text ``response`` states as its answer, or None
    when it states none [ours]. Read where an answer is stated, never anywhere in the text: the response's first
    word (``"B. ..."``, ``"(B) ..."``, ``"Yes, ..."``) or the word after ``answer is`` / ``answer:``. An option
    letter counts only when followed by ``.``, ``)``, ``:`` or the end (so the article in ``"A patient ..."`` is
    not an answer); yes / no / maybe in any case. Used by ``medical.evaluate``: a response whose stated answer is
    not the reference answer contradicts the reference (Factual Consistency)."""
    import re

    if not isinstance(response, str):
        return None
    text = response.strip()
    letters = [label for label in labels if len(label) == 1 and label.isupper()]
    words = [label for label in labels if label.lower() in YESNO]
    patterns = []
    if letters:
        letter = f"([{''.join(letters)}])(?:[.):]|$)"
        patterns += [(rf"^\W*(?i:option\s+)?\(?{letter}", 0), (_ANSWER_IS + letter, 0)]
    if words:
        word = rf"({'|'.join(words)})\b"
        patterns += [(rf"^\W*{word}", re.IGNORECASE), (_ANSWER_IS + word, re.IGNORECASE)]
    for pattern, flags in patterns:
        found = re.search(pattern, text, flags | (re.IGNORECASE if pattern.startswith(_ANSWER_IS) else 0))
        if found:
            value = found.group(1)
            return value.lower() if value.lower() in YESNO else value.upper()
    return None
