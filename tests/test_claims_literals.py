"""No paper number is typed anywhere but ``data/papers.json``: views, figures, notebooks, README, docs,
benchmarks and the package's docstrings and comments read them from the registry (``workbench.papers``).

Which literals count (a rule of ours, so that common constants do not trip it):
- a number the registry spells with three or more significant digits (97.6, 171.5, 382424, 11.0) or an integer
  of 100 or more, and its thousands-separated form — everywhere, code included;
- a shorter number (0.87, 4.7, 0.12) — in the shown files (dashboard, figures, notebooks, benchmarks, Markdown)
  wholly, in the rest of the package in docstrings and comments only (a synthesiser's 0.12 amplitude is no claim);
- a percentage claim written as a percentage ("35 %", "63%") — same places as the shorter numbers, unless it is a
  round ten (40 %, 50 %: every example uses them);
- integers up to 12 and 0.5 / 0.01 are not checked: they are everywhere.
``COINCIDENCES`` lists the few places where such a number means something else, with what it is there.
The generated claims block of ``docs/papers/P*.md`` is the one copy allowed outside the registry.
"""
from __future__ import annotations

import io
import json
import re
import tokenize
from pathlib import Path

import pytest

from workbench.papers import CLAIMS_BEGIN, CLAIMS_END
from workbench.paths import DATA_DIR, REPO_ROOT

SKIPPED = {0.5, 0.01}
# Numbers that coincide with a claim and mean something else there: (file, literal) → what it is.
COINCIDENCES = {("workbench/memes/vision.py", "112"): "the tagger CNN's image size in pixels",
                ("docs/papers/P6.md", "4.7"): "a CI bound of our measured detector EER (%)",
                ("docs/papers/P6.md", "25.1"): "a CI bound of our measured re-vote EER (%)"}
SHOWN = ("dashboard", "workbench/viz", "notebooks", "benchmarks")


def _numbers() -> list[tuple[str, str]]:
    """(literal as the registry spells it, who claims it) for every claim and reported number."""
    raw = json.loads((DATA_DIR / "papers.json").read_text(), parse_float=lambda s: ("float", s),
                     parse_int=lambda s: ("int", s))
    found = {}
    for paper in raw["papers"]:
        for entry in paper["claims"] + paper.get("reported", []):
            kind, text = entry["value"]
            found.setdefault((kind, text, "%" in entry["unit"]), f"{paper['id']} {entry['metric']}")
    return [(k, t, pct, who) for (k, t, pct), who in found.items()]


def _digits(text: str) -> int:
    return len(text.replace(".", "").replace("-", "").lstrip("0"))


def _patterns():
    out = []
    for kind, text, percent, who in _numbers():
        value = float(text)
        if value in SKIPPED or (kind == "int" and value <= 12):
            continue
        strong = _digits(text) >= 3 or (kind == "int" and value >= 100)
        forms = [text] + ([f"{int(text):,}", f"{int(text):_}"] if kind == "int" and value >= 1000 else [])
        word = "|".join(re.escape(f) for f in forms)
        literal = re.compile(rf"(?<![\w.]){word}(?![\w]|\.\d)")
        if strong:
            out.append((literal, "everywhere", who))
        elif kind == "float":
            out.append((literal, "shown", who))
        if percent and not (kind == "int" and value % 10 == 0):
            out.append((re.compile(rf"(?<![\w.]){word}\s?%"), "shown", who))
    return out


def _without_claims_block(text: str) -> str:
    start, end = text.find(CLAIMS_BEGIN), text.find(CLAIMS_END)
    return text if start < 0 or end < start else text[:start] + text[end:]


def _prose(path: Path) -> str:
    """A Python file with its code blanked: docstrings, other strings and comments stay where they were, so line
    numbers still point at them."""
    source = path.read_text()
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    kept = [c if c == "\n" else " " for c in source]
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in (tokenize.STRING, tokenize.COMMENT):
            a = starts[token.start[0] - 1] + token.start[1]
            b = starts[token.end[0] - 1] + token.end[1]
            kept[a:b] = source[a:b]
    return "".join(kept)


def _files():
    files = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]
    for folder in ("dashboard", "workbench", "notebooks", "benchmarks"):
        files += sorted((REPO_ROOT / folder).rglob("*.py"))
    return files


def _offences(path: Path, patterns) -> list[str]:
    rel = path.relative_to(REPO_ROOT).as_posix()
    full = _without_claims_block(path.read_text())
    shown = path.suffix == ".md" or rel.startswith(SHOWN)
    prose = full if shown else _prose(path)
    found = []
    for pattern, where, who in patterns:
        text = full if where == "everywhere" else prose if where == "shown" else ""
        for match in pattern.finditer(text):
            if (rel, match.group(0)) in COINCIDENCES:
                continue
            line = text[:match.start()].count("\n") + 1
            found.append(f"{rel}:{line}: '{match.group(0)}' is {who}")
    return found


def test_no_claim_number_is_typed_outside_the_registry():
    patterns = _patterns()
    offences = [o for path in _files() for o in _offences(path, patterns)]
    assert not offences, "paper numbers typed outside data/papers.json (read them from workbench.papers):\n" + \
        "\n".join(offences)


@pytest.mark.parametrize("snippet, caught", [
    ("x = 171.5\n", True), ("# the abstract's 97.6\n", True), ("n = 382_424\n", True), ("n = 382425\n", False), ('"382,424 samples"', True),
    ("tokens = 40\n", False), ("gain = 1171.55\n", False)])
def test_the_literal_rule_catches_typed_claims(tmp_path, snippet, caught):
    path = REPO_ROOT / "workbench" / "_literal_probe.py"
    path.write_text(snippet)
    try:
        assert bool(_offences(path, _patterns())) is caught
    finally:
        path.unlink()
