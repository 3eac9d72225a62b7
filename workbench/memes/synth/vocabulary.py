"""The synthetic meme world: text frames, drawable things and the train/eval split of names and terms.

Everything here is read from bundled data: the text frames from ``data/memes/templates.csv``, the scenes,
objects, hate symbols and the split design from ``data/memes/vocabulary.json``, the fictional peoples and
institutions and the lexicon terms from the knowledge snapshot ``data/memes/knowledge/``. Used by
``synth.generate`` (planning rows), ``synth.draw`` (the tags it can draw) and the tests.
"""
from __future__ import annotations

import csv
import functools
import json
from dataclasses import dataclass
from pathlib import Path

from workbench import WorkbenchError
from workbench.paths import DATA_DIR

CLASSES = ("benign", "satire", "abusive")
SPLITS = ("train", "eval")
COLUMNS = ("id", "image", "text", "label", "split", "tags", "target", "target_type", "pair_id", "flip", "template")
FLIPS = ("target", "text", "image")
# the ``group`` column of templates.csv: how a frame's label is decided (``label_of``)
GROUPS = ("mock", "code", "praise", "joke", "roast", "situation", "neutral")
TARGET_KINDS = ("people", "institution", "everyday")


@dataclass(frozen=True)
class Template:
    """One text frame: ``slot`` is "people", "institution", "any" (a mocking frame: any target kind) or ""
    (no target); ``group`` says how its label is decided (``label_of``)."""

    id: str
    text: str
    slot: str = ""
    hint: tuple[str, ...] = ()        # objects that suit the text (everyday jokes); empty: any object
    group: str = ""


def _memes_data() -> Path:
    return DATA_DIR / "memes"


def load_vocabulary(path: str | Path | None = None) -> dict:
    """``vocabulary.json``: scenes, objects, symbols, neutral_objects, people_types, everyday targets, decoys
    (per split) and the ``split`` design."""
    path = Path(path) if path else _memes_data() / "vocabulary.json"
    if not path.is_file():
        raise WorkbenchError(f"meme vocabulary file missing: {path}")
    data = json.loads(path.read_text())
    keys = ("scenes", "objects", "symbols", "neutral_objects", "people_types", "everyday", "decoys", "split")
    missing = [k for k in keys if k not in data]
    if missing:
        raise WorkbenchError(f"{path}: missing key(s) {', '.join(missing)}")
    return data


def load_templates(path: str | Path | None = None) -> dict[str, tuple[Template, ...]]:
    """``templates.csv`` (columns id, group, slot, hint, text; ``hint`` is '|'-joined) as frames per group,
    in file order. Placeholders: {people} a plural name form, {adj} the adjective form, {inst} an institution
    name, {X} any target (a people, an institution or an everyday target: mocking frames), {term} a dehumanizing
    metaphor, {excl} an exclusion or violence phrase, {code} a coded term or a decoy phrase."""
    path = Path(path) if path else _memes_data() / "templates.csv"
    if not path.is_file():
        raise WorkbenchError(f"meme templates file missing: {path}")
    groups: dict[str, list[Template]] = {g: [] for g in GROUPS}
    with path.open(newline="", encoding="utf-8") as handle:
        for n, row in enumerate(csv.DictReader(handle), start=2):
            if row.get("group") not in groups:
                raise WorkbenchError(f"{path}:{n}: unknown group {row.get('group')!r}; choose from {', '.join(GROUPS)}")
            hint = tuple(h for h in row["hint"].split("|") if h)
            groups[row["group"]].append(Template(row["id"], row["text"], row["slot"], hint, row["group"]))
    return {g: tuple(t) for g, t in groups.items()}


_VOCABULARY = load_vocabulary()
_TEMPLATES = load_templates()

SCENES = tuple(_VOCABULARY["scenes"])
OBJECTS = tuple(_VOCABULARY["objects"])
SYMBOLS = tuple(_VOCABULARY["symbols"])
NEUTRAL_OBJECTS = tuple(_VOCABULARY["neutral_objects"])
PEOPLE_TYPES = tuple(_VOCABULARY["people_types"])
TRAIN_PEOPLE = tuple(_VOCABULARY["split"]["train_people"])
EVAL_PEOPLE = tuple(_VOCABULARY["split"]["eval_people"])
TRAIN_INSTITUTIONS = tuple(_VOCABULARY["split"]["train_institutions"])
EVAL_INSTITUTIONS = tuple(_VOCABULARY["split"]["eval_institutions"])
EVAL_DEHUMANIZING = tuple(_VOCABULARY["split"]["eval_dehumanizing"])
EVAL_CODES = tuple(_VOCABULARY["split"]["eval_codes"])

EVERYDAY = tuple(_VOCABULARY["everyday"])
TRAIN_DECOYS = tuple(_VOCABULARY["decoys"]["train"])
EVAL_DECOYS = tuple(_VOCABULARY["decoys"]["eval"])

MOCK = _TEMPLATES["mock"]               # any target: everyday → benign, institution → satire, people → abusive
CODE = _TEMPLATES["code"]               # a people with a coded term (abusive) or a decoy phrase (benign)
PRAISE = _TEMPLATES["praise"]           # a people or an institution, benign
JOKE = _TEMPLATES["joke"]               # no target, benign
ROAST = _TEMPLATES["roast"]             # an institution, satire
SITUATION = _TEMPLATES["situation"]     # no target, satire
NEUTRAL = _TEMPLATES["neutral"]         # no target, over a flag (or heart, star …), benign
BENIGN = PRAISE + JOKE + NEUTRAL        # frames whose plain picture makes them benign
SATIRE = ROAST + SITUATION              # frames whose plain picture makes them satire
ABUSIVE = CODE                          # frames made abusive by their text (a coded term)
TARGET_FRAMES = MOCK                    # frames whose label the target kind decides
IMAGE_FLIP = BENIGN + SATIRE            # frames made abusive by a hate symbol drawn in their picture


def label_of(template: Template, target_kind: str = "", *, code: bool = False, symbol: bool = False) -> str:
    """The generator's labelling rule, in one place: a drawn hate symbol makes any meme abusive; otherwise a
    mocking frame's label comes from its target (people → abusive, institution → satire, everyday → benign), a
    code frame's from its filler (a coded term → abusive, a decoy → benign), and every other frame's plain
    picture gives its group's label (praise, joke and neutral → benign; roast and situation → satire)."""
    if symbol:
        return "abusive"
    if template.group == "mock":
        if target_kind not in TARGET_KINDS:
            raise WorkbenchError(f"a mocking frame needs a target kind ({', '.join(TARGET_KINDS)}), "
                                 f"got {target_kind!r}")
        return {"people": "abusive", "institution": "satire", "everyday": "benign"}[target_kind]
    if template.group == "code":
        return "abusive" if code else "benign"
    return "satire" if template.group in ("roast", "situation") else "benign"


def templates(label: str | None = None) -> tuple[Template, ...]:
    """The text frames that can carry ``label`` (all of them when None): every frame carries at least two."""
    everything = tuple(t for g in GROUPS for t in _TEMPLATES[g])
    if label is None:
        return everything
    if label not in CLASSES:
        raise WorkbenchError(f"unknown meme class {label!r}; choose from {', '.join(CLASSES)}")
    return tuple(t for t in everything if label in labels_of(t))


def labels_of(template: Template) -> tuple[str, ...]:
    """The classes ``template`` can carry (``label_of`` over its fillers and pictures), in ``CLASSES`` order."""
    kinds = TARGET_KINDS if template.group == "mock" else ("",)
    found = {label_of(template, k, code=c, symbol=s) for k in kinds for c in (False, True) for s in (False, True)}
    return tuple(c for c in CLASSES if c in found)


def template_counts() -> dict[str, int]:
    """How many text frames can carry each class (shared frames count for every class they carry)."""
    return {label: len(templates(label)) for label in CLASSES}


# ------------------------------------------------------------------------------------------------- the world


def _knowledge_dir() -> Path:
    return _memes_data() / "knowledge"


@functools.lru_cache(maxsize=None)
def _world_tables() -> dict:
    """Entities and lexicon terms of the synthetic world, read once from the knowledge snapshot."""
    import pandas as pd

    folder = _knowledge_dir()
    facts_path, lexicon_path = folder / "wikidata_facts.csv", folder / "hate_lexicon.csv"
    for path in (facts_path, lexicon_path):
        if not path.is_file():
            raise WorkbenchError(f"knowledge snapshot file missing: {path}")
    facts = pd.read_csv(facts_path, dtype=str, keep_default_na=False)
    lexicon = pd.read_csv(lexicon_path, dtype=str, keep_default_na=False)
    kinds = facts[(facts["world"] == "synthetic") & (facts["property"] == "instance of")]
    entities = {}
    for row in kinds.itertuples(index=False):
        aliases = [a.strip() for a in row.aliases.split("|") if a.strip()] or [row.label]
        people = row.value in PEOPLE_TYPES
        entities[row.entity] = {
            "entity": row.entity, "label": row.label, "type": row.value,
            "kind": "people" if people else "institution",
            "adjective": aliases[0],
            "forms": list(dict.fromkeys([row.label] + aliases[1:])) if people
            else list(dict.fromkeys([row.label] + aliases)),
            "aliases": aliases,
        }
    for ids, kind in ((TRAIN_PEOPLE + EVAL_PEOPLE, "people"),
                      (TRAIN_INSTITUTIONS + EVAL_INSTITUTIONS, "institution")):
        wrong = [e for e in ids if e not in entities or entities[e]["kind"] != kind]
        if wrong:
            raise WorkbenchError(f"{facts_path}: expected synthetic {kind} entities {', '.join(wrong)}")

    def terms(category: str, world: str | None = None) -> list[str]:
        rows = lexicon[lexicon["category"] == category]
        if world:
            rows = rows[rows["world"] == world]
        return [t.strip() for t in rows["term"] if t.strip()]

    dehumanizing = terms("dehumanizing metaphor")
    codes = terms("coded hate reference", "synthetic")
    exclusion = terms("exclusion or violence")
    symbols = terms("hate symbol")
    for needed, have, what in ((EVAL_DEHUMANIZING, dehumanizing, "dehumanizing metaphor"),
                               (EVAL_CODES, codes, "synthetic coded hate reference"),
                               (SYMBOLS, symbols, "hate symbol")):
        missing = [t for t in needed if t not in have]
        if missing:
            raise WorkbenchError(f"{lexicon_path}: missing {what} term(s) {', '.join(missing)}")
    if not exclusion or len(dehumanizing) <= len(EVAL_DEHUMANIZING) or len(codes) <= len(EVAL_CODES):
        raise WorkbenchError(f"{lexicon_path}: too few lexicon terms for the synthetic meme world")
    return {"entities": entities, "dehumanizing": dehumanizing, "codes": codes, "exclusion": exclusion}


def world(split: str) -> dict:
    """The names used in ``split`` ("train" or "eval").

    Keys: ``peoples`` / ``institutions`` (entity labels), ``people_names`` / ``institution_names`` (every surface
    form used in texts), ``dehumanizing``, ``codes`` (split-specific lexicon terms), ``decoys`` (split-specific
    innocuous phrases for code slots), ``exclusion``, ``everyday`` (targets) and ``symbols`` (shared by both
    splits) and ``entities`` (entity id → label, kind, type, adjective and name forms).
    """
    if split not in SPLITS:
        raise WorkbenchError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    tables = _world_tables()
    train = split == "train"
    people_ids = TRAIN_PEOPLE if train else EVAL_PEOPLE
    inst_ids = TRAIN_INSTITUTIONS if train else EVAL_INSTITUTIONS
    ents = tables["entities"]

    def names(ids) -> list[str]:
        return list(dict.fromkeys(n for e in ids for n in [ents[e]["adjective"]] + ents[e]["forms"]))

    return {
        "split": split,
        "peoples": [ents[e]["label"] for e in people_ids],
        "institutions": [ents[e]["label"] for e in inst_ids],
        "people_names": names(people_ids),
        "institution_names": names(inst_ids),
        "dehumanizing": [t for t in tables["dehumanizing"] if (t in EVAL_DEHUMANIZING) != train],
        "codes": [t for t in tables["codes"] if (t in EVAL_CODES) != train],
        "exclusion": list(tables["exclusion"]),
        "decoys": list(TRAIN_DECOYS if train else EVAL_DECOYS),
        "everyday": list(EVERYDAY),
        "symbols": list(SYMBOLS),
        "entities": {e: dict(ents[e]) for e in people_ids + inst_ids},
    }
