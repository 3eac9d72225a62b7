"""Synthetic meme corpus for the default profile (P5, CROSS-ALIGN+), drawn and cached by the workbench itself.

The corpus lives in a small fictional world read from the knowledge snapshot under ``data/memes/knowledge/``:
peoples S1–S14 (ethnic, national and religious groups) and institutions S21–S34 (companies, agencies, clubs,
parties), the lexicon's dehumanizing metaphors, exclusion or violence phrases, synthetic coded hate references
and hate symbols. Three classes, labelled by construction:

* ``benign`` — wholesome or neutral texts, including positive mentions of peoples and neutral ones of
  institutions, everyday jokes, and neutral "heritage" texts over plain flags, hearts or stars;
* ``satire`` — mockery of institutions and situations, insults included, never aimed at a people;
* ``abusive`` — texts aimed at peoples (dehumanizing metaphors, exclusion or violence, coded references) and
  image-driven abuse: a neutral-looking text over a drawn hate symbol.

Split by design [ours]: peoples S1–S8, institutions S21–S28, twelve of the sixteen dehumanizing metaphors and
the synthetic codes other than "grey tide" and "clean valley" appear only in ``train``; the rest only in
``eval``, so at eval time a model can tell an unseen name's kind (people or institution) or an unseen term's
meaning only by retrieving knowledge. Text frames, exclusion phrases and hate symbols are shared.

Meaning-flip pairs (``pair_id`` links the two rows, ``flip`` says what changes):

* ``target`` — the same text frame and image with a people (abusive) or an institution (satire) as target;
* ``text`` — the same image and people target with a benign or an abusive text;
* ``image`` — the same neutral text and scene over a plain flag (benign) or with a hate symbol (abusive).

Images are drawn with OpenCV from simple shapes: a scene (park, office, beach, night city, plain room), objects
(face, crowd, cat, dog, coffee, pizza, flag, heart, star, sun), for some abusive memes a hate symbol (sunwheel,
crossed hammers, dagger ring — named as in the lexicon), and the text in classic meme style (upper case, white
with a black outline, top and bottom). Positions, sizes, colours, noise, blur and JPEG-like compression vary
with seeded randomness, so only a hate symbol in the picture says anything about the label. ``tags`` lists
what was drawn (scene, objects, symbol) to supervise an image tagger.

``generate_memes(config, out_dir)`` writes ``images/<id>.png`` and ``memes.csv`` (columns ``COLUMNS``) atomically;
``cached_memes(config)`` keeps one corpus per configuration under ``$WORKBENCH_HOME/data/synthetic/memes-<key>/``.
The same configuration gives byte-identical files.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from workbench import WorkbenchError
from workbench.paths import DATA_DIR

CLASSES = ("benign", "satire", "abusive")
SPLITS = ("train", "eval")
COLUMNS = ("id", "image", "text", "label", "split", "tags", "target", "target_type", "pair_id", "flip", "template")
FLIPS = ("target", "text", "image")
PAIR_FRACTION = 0.3                  # share of rows that belong to a meaning-flip pair
SYMBOL_ON_ABUSIVE_TEXT = 0.2         # chance that an abusive text meme also shows a hate symbol

PEOPLE_TYPES = ("ethnic group", "nationality", "religious group")
TRAIN_PEOPLE = tuple(f"S{i}" for i in range(1, 9))
EVAL_PEOPLE = tuple(f"S{i}" for i in range(9, 15))
TRAIN_INSTITUTIONS = tuple(f"S{i}" for i in range(21, 29))
EVAL_INSTITUTIONS = tuple(f"S{i}" for i in range(29, 35))
EVAL_DEHUMANIZING = ("leeches", "a disease", "germs", "weeds")
EVAL_CODES = ("grey tide", "clean valley")

SCENES = ("park", "office", "beach", "city", "room")
OBJECTS = ("face", "crowd", "cat", "dog", "coffee", "pizza", "flag", "heart", "star", "sun")
SYMBOLS = ("sunwheel", "crossed hammers", "dagger ring")


@dataclass(frozen=True)
class Template:
    """One text frame: ``slot`` is "people", "institution", "any" (a target-flip frame) or "" (no target)."""

    id: str
    text: str
    slot: str = ""
    hint: tuple[str, ...] = ()        # objects that suit the text (everyday jokes); empty: any object


# Placeholders: {people} a plural name form, {adj} the adjective form, {inst} an institution name, {X} either
# (target frames), {term} a dehumanizing metaphor, {excl} an exclusion or violence phrase, {code} a coded term.
BENIGN = (
    Template("b01", "{adj} food festival this weekend, everyone welcome", "people"),
    Template("b02", "shoutout to my {adj} neighbours", "people"),
    Template("b03", "{people} make the best bread. change my mind", "people"),
    Template("b04", "learning to cook {adj} dumplings with grandma", "people"),
    Template("b05", "the {adj} new year parade was amazing", "people"),
    Template("b06", "so happy my best friend married into a {adj} family", "people"),
    Template("b07", "{inst} opened a new branch downtown", "institution"),
    Template("b08", "{inst} hiring summer interns, apply now", "institution"),
    Template("b09", "free coffee at {inst} today, nice", "institution", ("coffee",)),
    Template("b10", "me when the coffee kicks in", "", ("coffee",)),
    Template("b11", "when the pizza arrives early", "", ("pizza",)),
    Template("b12", "my cat judging my life choices", "", ("cat",)),
    Template("b13", "the dog ate my homework. for real this time", "", ("dog",)),
    Template("b14", "sunday walk in the park hits different", "", ("sun", "dog", "heart")),
    Template("b15", "happy birthday to the best mom ever", "", ("heart", "star")),
    Template("b16", "finally finished the puzzle. all 1000 pieces", "", ("star", "face")),
)
SATIRE = (
    Template("s01", "{inst}: we fixed the outage by renaming it", "institution"),
    Template("s02", "{inst} customer service be like", "institution"),
    Template("s03", "{inst} raising prices again. what a surprise", "institution"),
    Template("s04", "breaking: {inst} discovers the off switch", "institution"),
    Template("s05", "{inst} after losing my form for the third time", "institution"),
    Template("s06", "nobody: {inst}: new logo, same mess", "institution"),
    Template("s07", "{inst} said five minutes. it has been three hours", "institution"),
    Template("s08", "when {inst} calls the bug a feature", "institution"),
    Template("s09", "{inst} management are absolute idiots", "institution"),
    Template("s10", "me explaining to {inst} that their app is down", "institution"),
    Template("s11", "my wifi: exists. the router: chooses violence", "", ("face", "cat")),
    Template("s12", "the meeting that could have been an email", "", ("coffee", "face")),
    Template("s13", "printer says paper jam. there is no paper", "", ("face", "star")),
    Template("s14", "autocorrect is a clown and i am its circus", "", ("face", "star")),
)
ABUSIVE = (
    Template("a01", "{people} are {term}", "people"),
    Template("a02", "{people}? {excl}", "people"),
    Template("a03", "{people} know what {code} means", "people"),
    Template("a04", "the {people} are {term}. wake up", "people"),
    Template("a05", "{people} in my town? {excl}", "people"),
    Template("a06", "{code} is coming for the {people}", "people"),
    Template("a07", "keep {people} away from our kids", "people"),
    Template("a08", "{adj} neighbours? more like {term}", "people"),
    Template("a09", "{code} starts with the {people}", "people"),
    Template("a10", "{people} don't belong here", "people"),
    Template("a11", "stop pretending {people} are human", "people"),
    Template("a12", "no {people} allowed in this town", "people"),
)
# The same frame is satire with an institution and abusive with a people as target.
TARGET_FRAMES = (
    Template("t01", "{X} are clowns", "any"),
    Template("t02", "{X} ruin everything", "any"),
    Template("t03", "{X} are a total joke", "any"),
    Template("t04", "i can't stand {X} anymore", "any"),
    Template("t05", "{X} are useless, all of them", "any"),
    Template("t06", "nobody likes {X}. nobody", "any"),
)
# Neutral texts: benign over a flag (or heart, star …), abusive with a hate symbol in the picture.
NEUTRAL = (
    Template("n01", "proud of our heritage"),
    Template("n02", "the old ways"),
    Template("n03", "we remember"),
    Template("n04", "family and tradition first"),
    Template("n05", "stand together, stand proud"),
    Template("n06", "sunday gathering with the lads"),
)
NEUTRAL_OBJECTS = ("flag", "flag", "flag", "heart", "star", "sun", "crowd")


def templates(label: str | None = None) -> tuple[Template, ...]:
    """The text frames that can carry ``label`` (all of them when None)."""
    by_label = {"benign": BENIGN + NEUTRAL, "satire": SATIRE + TARGET_FRAMES,
                "abusive": ABUSIVE + TARGET_FRAMES + NEUTRAL}
    if label is None:
        return BENIGN + SATIRE + ABUSIVE + TARGET_FRAMES + NEUTRAL
    if label not in by_label:
        raise WorkbenchError(f"unknown meme class {label!r}; choose from {', '.join(CLASSES)}")
    return by_label[label]


@dataclass(frozen=True)
class MemeCorpusConfig:
    """Size and seed of the synthetic meme corpus (images are ``size``×``size`` RGB)."""

    n_train: int = 600
    n_eval: int = 300
    size: int = 160
    seed: int = 0

    def to_dict(self) -> dict:
        """The configuration as a plain dict."""
        return asdict(self)

    def key(self) -> str:
        """A short stable hash of the configuration (for cache folder names)."""
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


# ------------------------------------------------------------------------------------------------- the world


def _knowledge_dir() -> Path:
    return DATA_DIR / "memes" / "knowledge"


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
    form used in texts), ``dehumanizing``, ``codes`` (split-specific lexicon terms), ``exclusion`` and ``symbols``
    (shared by both splits) and ``entities`` (entity id → label, kind, type, adjective and name forms).
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
        "symbols": list(SYMBOLS),
        "entities": {e: dict(ents[e]) for e in people_ids + inst_ids},
    }


# ------------------------------------------------------------------------------------------------- planning


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31 - 1))


def _visual(rng: np.random.Generator, hint: tuple[str, ...] = (), *, primary: str | None = None,
            symbol: bool = False) -> dict:
    """A seeded recipe for one picture: scene, objects, optional hate symbol, text layout and degradation."""
    objects: list[str] = []
    if primary:
        objects.append(primary)
    elif hint and rng.random() < 0.85:
        objects.append(str(rng.choice(hint)))
    elif rng.random() < 0.9:
        objects.append(str(rng.choice(OBJECTS)))
    if rng.random() < 0.35:
        extra = str(rng.choice(OBJECTS))
        if extra not in objects:
            objects.append(extra)
    spec = {"scene": str(rng.choice(SCENES)), "scene_seed": _seed(rng),
            "objects": [(name, _seed(rng)) for name in objects], "symbol": None,
            "text_seed": _seed(rng), "post_seed": _seed(rng)}
    if symbol:
        spec = _with_symbol(spec, rng)
    return spec


def _with_symbol(spec: dict, rng: np.random.Generator) -> dict:
    """A copy of ``spec`` with a hate symbol: on a flag it shows, in place of one, or on its own."""
    out = dict(spec, objects=list(spec["objects"]))
    has_flag = any(name == "flag" for name, _ in out["objects"])
    mode = str(rng.choice(("on_flag", "replace_flag"))) if has_flag else "free"
    if mode == "replace_flag":
        out["objects"] = [("flag_slot" if n == "flag" else n, s) for n, s in out["objects"]]
    out["symbol"] = (str(rng.choice(SYMBOLS)), _seed(rng), mode)
    return out


def _pick(rng: np.random.Generator, items):
    return items[int(rng.integers(len(items)))]


class _Filler:
    """Fills text frames with the split's names and terms."""

    def __init__(self, split: str, rng: np.random.Generator):
        self.w = world(split)
        self.rng = rng
        ents = self.w["entities"]
        self.peoples = [ents[e] for e in ents if ents[e]["kind"] == "people"]
        self.institutions = [ents[e] for e in ents if ents[e]["kind"] == "institution"]

    def entity(self, kind: str) -> dict:
        return _pick(self.rng, self.peoples if kind == "people" else self.institutions)

    def fill(self, template: Template, entity: dict | None, form: str | None = None) -> str:
        values = {"term": _pick(self.rng, self.w["dehumanizing"]), "code": _pick(self.rng, self.w["codes"]),
                  "excl": _pick(self.rng, self.w["exclusion"])}
        if entity is not None:
            name = form or _pick(self.rng, entity["forms"])
            values.update(people=name, inst=name, X=name, adj=entity["adjective"])
        return template.text.format(**values)

    def row(self, template: Template, label: str, kind: str | None = None, entity: dict | None = None,
            form: str | None = None) -> dict:
        kind = kind or {"people": "people", "institution": "institution"}.get(template.slot)
        if kind and entity is None:
            entity = self.entity(kind)
        return {"text": self.fill(template, entity, form), "label": label, "template": template.id,
                "target": entity["label"] if entity else "", "target_type": kind or "",
                "pair_id": "", "flip": ""}


def _quotas(n: int) -> dict[str, int]:
    return {c: n // 3 + (1 if k < n % 3 else 0) for k, c in enumerate(CLASSES)}


def _plan_split(split: str, n: int, rng: np.random.Generator, pair_counter: list[int]) -> list[dict]:
    """The rows (text, label, target, pair, visual recipe) of one split, in shuffled order."""
    filler = _Filler(split, rng)
    people_benign = [t for t in BENIGN if t.slot == "people"]
    people_abusive = [t for t in ABUSIVE if t.slot == "people"]
    rows: list[dict] = []
    n_pairs = int(PAIR_FRACTION * n / 2 + 0.5)
    for k in range(n_pairs):
        flip = FLIPS[k % len(FLIPS)]
        pair_id = f"p{pair_counter[0]:04d}"
        pair_counter[0] += 1
        if flip == "target":
            frame = _pick(rng, TARGET_FRAMES)
            spec = _visual(rng)
            pair = [filler.row(frame, "abusive", "people"), filler.row(frame, "satire", "institution")]
            specs = [spec, spec]
        elif flip == "text":
            entity = filler.entity("people")
            form = _pick(rng, entity["forms"])
            spec = _visual(rng)
            pair = [filler.row(_pick(rng, people_benign), "benign", "people", entity, form),
                    filler.row(_pick(rng, people_abusive), "abusive", "people", entity, form)]
            specs = [spec, spec]
        else:
            frame = _pick(rng, NEUTRAL)
            spec = _visual(rng, primary="flag")
            pair = [filler.row(frame, "benign"), filler.row(frame, "abusive")]
            specs = [spec, _with_symbol(spec, rng)]
        for row, spec in zip(pair, specs):
            rows.append(dict(row, pair_id=pair_id, flip=flip, spec=spec))
    have = {c: sum(r["label"] == c for r in rows) for c in CLASSES}
    for label, quota in _quotas(n).items():
        pool = templates(label)
        order: list[Template] = []
        for _ in range(max(0, quota - have[label])):
            if not order:
                order = [pool[i] for i in rng.permutation(len(pool))]
            template = order.pop()
            neutral = template in NEUTRAL
            if template.slot == "any":
                row = filler.row(template, label, "people" if label == "abusive" else "institution")
            else:
                row = filler.row(template, label)
            if neutral and label == "abusive":
                spec = _visual(rng, NEUTRAL_OBJECTS, symbol=True)
            elif neutral:
                spec = _visual(rng, NEUTRAL_OBJECTS)
            else:
                spec = _visual(rng, template.hint, symbol=label == "abusive" and rng.random() < SYMBOL_ON_ABUSIVE_TEXT)
            rows.append(dict(row, spec=spec))
    for row in rows:
        row["split"] = split
    return [rows[i] for i in rng.permutation(len(rows))]


def plan(config: MemeCorpusConfig) -> list[dict]:
    """Every row of the corpus (without images): ids, texts, labels, pairs and the recipe of each picture."""
    _validate(config)
    rng = np.random.default_rng(config.seed)
    counter = [0]
    rows = (_plan_split("train", config.n_train, rng, counter)
            + _plan_split("eval", config.n_eval, rng, counter))
    for k, row in enumerate(rows):
        row["id"] = f"m{k:05d}"
        row["image"] = f"images/{row['id']}.png"
        row["tags"] = "|".join(_tags(row["spec"]))
    return rows


def _validate(config: MemeCorpusConfig) -> None:
    if not isinstance(config, MemeCorpusConfig):
        raise WorkbenchError(f"expected a MemeCorpusConfig, got {type(config).__name__}")
    if config.n_train < 3 or config.n_eval < 3:
        raise WorkbenchError("the meme corpus needs at least 3 train and 3 eval rows (one per class)")
    if not 48 <= config.size <= 1024:
        raise WorkbenchError(f"meme image size must be between 48 and 1024 px, got {config.size}")


def _tags(spec: dict) -> list[str]:
    tags = [spec["scene"]] + [name for name, _ in spec["objects"] if name != "flag_slot"]
    if spec["symbol"]:
        tags.append(spec["symbol"][0])
    return list(dict.fromkeys(tags))


# ------------------------------------------------------------------------------------------------- drawing
# Colours are BGR (OpenCV's order); the PNGs come out as ordinary RGB images.

SKIN_TONES = ((222, 232, 255), (180, 205, 241), (140, 180, 224), (100, 140, 198), (60, 95, 141), (45, 65, 95))
BRIGHT = ((40, 40, 220), (40, 160, 240), (40, 200, 240), (60, 170, 60), (200, 120, 40), (160, 60, 130),
          (250, 250, 250), (30, 30, 30), (180, 180, 40), (120, 60, 200))


def _jitter(rng: np.random.Generator, colour, amount: int = 18) -> tuple[int, int, int]:
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in colour)


def _gradient(img: np.ndarray, y0: int, y1: int, top, bottom) -> None:
    if y1 <= y0:
        return
    t = np.linspace(0.0, 1.0, y1 - y0)[:, None]
    band = (1 - t) * np.asarray(top, float) + t * np.asarray(bottom, float)
    img[y0:y1] = band[:, None, :].astype(np.uint8)


def _scene(name: str, rng: np.random.Generator, s: int) -> np.ndarray:
    import cv2

    img = np.zeros((s, s, 3), np.uint8)
    if name == "park":
        horizon = int(s * rng.uniform(0.55, 0.7))
        _gradient(img, 0, horizon, _jitter(rng, (235, 170, 90)), _jitter(rng, (250, 225, 180)))
        _gradient(img, horizon, s, _jitter(rng, (70, 180, 90)), _jitter(rng, (40, 120, 50)))
        if rng.random() < 0.6:
            x = int(s * rng.uniform(0.05, 0.95))
            cv2.rectangle(img, (x - s // 40, horizon - s // 6), (x + s // 40, horizon + s // 40), (30, 60, 100), -1)
            cv2.circle(img, (x, horizon - s // 5), int(s * rng.uniform(0.07, 0.11)), _jitter(rng, (50, 140, 40)), -1)
    elif name == "office":
        img[:] = _jitter(rng, ((200, 220, 230), (190, 190, 190), (230, 210, 190))[int(rng.integers(3))], 20)
        x0, y0 = int(s * rng.uniform(0.05, 0.55)), int(s * rng.uniform(0.08, 0.2))
        cv2.rectangle(img, (x0, y0), (x0 + s // 3, y0 + s // 4), _jitter(rng, (240, 210, 170)), -1)
        cv2.rectangle(img, (x0, y0), (x0 + s // 3, y0 + s // 4), (90, 90, 90), max(1, s // 80))
        desk = int(s * rng.uniform(0.72, 0.82))
        cv2.rectangle(img, (0, desk), (s, s), _jitter(rng, (40, 80, 130)), -1)
    elif name == "beach":
        sea, sand = int(s * rng.uniform(0.4, 0.5)), int(s * rng.uniform(0.6, 0.72))
        _gradient(img, 0, sea, _jitter(rng, (240, 190, 120)), _jitter(rng, (250, 230, 200)))
        _gradient(img, sea, sand, _jitter(rng, (190, 140, 30)), _jitter(rng, (160, 110, 20)))
        _gradient(img, sand, s, _jitter(rng, (150, 210, 235)), _jitter(rng, (120, 190, 220)))
    elif name == "city":
        _gradient(img, 0, s, _jitter(rng, (60, 20, 10), 10), _jitter(rng, (100, 50, 40), 15))
        x = 0
        while x < s:
            w = int(s * rng.uniform(0.1, 0.22))
            top = int(s * rng.uniform(0.3, 0.65))
            cv2.rectangle(img, (x, top), (x + w, s), _jitter(rng, (45, 40, 40), 12), -1)
            step = max(3, s // 20)
            for wy in range(top + step // 2, s - step // 2, step):
                for wx in range(x + step // 3, x + w - step // 2, step):
                    if rng.random() < 0.45:
                        cv2.rectangle(img, (wx, wy), (wx + step // 3, wy + step // 3), (90, 215, 245), -1)
            x += w + int(rng.integers(0, max(2, s // 30)))
    else:  # room
        img[:] = _jitter(rng, BRIGHT[int(rng.integers(len(BRIGHT)))], 30)
        img[:] = (0.55 * img + 0.45 * 200).astype(np.uint8)
        floor = int(s * rng.uniform(0.75, 0.85))
        img[floor:] = (0.7 * img[floor:]).astype(np.uint8)
    return img


def _face(img, rng, cx, cy, r, tone=None) -> None:
    import cv2

    tone = tone if tone is not None else SKIN_TONES[int(rng.integers(len(SKIN_TONES)))]
    cv2.circle(img, (cx, cy), r, _jitter(rng, tone, 8), -1, cv2.LINE_AA)
    if rng.random() < 0.7:
        hair = _jitter(rng, ((20, 20, 20), (30, 60, 110), (60, 160, 220), (90, 90, 90))[int(rng.integers(4))], 10)
        cv2.ellipse(img, (cx, cy - r // 3), (r, int(r * 0.75)), 0, 180, 360, hair, -1, cv2.LINE_AA)
    eye = max(1, r // 7)
    for dx in (-1, 1):
        cv2.circle(img, (cx + dx * r // 3, cy - r // 6), eye, (20, 20, 20), -1, cv2.LINE_AA)
    mouth = (max(1, r // 2), max(1, r // 4))
    if rng.random() < 0.7:
        cv2.ellipse(img, (cx, cy + r // 5), mouth, 0, 20, 160, (40, 40, 120), max(1, r // 10), cv2.LINE_AA)
    else:
        cv2.line(img, (cx - mouth[0] // 2, cy + r // 2), (cx + mouth[0] // 2, cy + r // 2), (40, 40, 120),
                 max(1, r // 10), cv2.LINE_AA)


def _draw_object(img, name: str, seed: int, slot: int, count: int, s: int):
    """Draw ``name`` (or only place it, for "flag_slot"); returns the centre and size (cx, cy, r)."""
    import cv2

    rng = np.random.default_rng(seed)
    cx = int(s * (0.5 + (slot - (count - 1) / 2) * 0.36 + rng.uniform(-0.08, 0.08)))
    cy = int(s * rng.uniform(0.42, 0.6))
    r = max(4, int(s * rng.uniform(0.13, 0.2) * (0.85 if count > 1 else 1.0)))
    aa = cv2.LINE_AA
    if name == "face":
        _face(img, rng, cx, cy, r)
    elif name == "crowd":
        n = int(rng.integers(3, 8))
        small = max(3, int(r * rng.uniform(0.32, 0.42)))
        for k in range(n):
            row, col = divmod(k, 4)
            x = cx + int((col - 1.5) * small * 2.1 + rng.uniform(-2, 2))
            y = cy + int((row - 0.5) * small * 2.2 + rng.uniform(-2, 2))
            _face(img, rng, x, y, small)
    elif name in ("cat", "dog"):
        fur = _jitter(rng, ((40, 120, 230), (128, 128, 128), (30, 30, 30), (235, 235, 235), (40, 90, 150),
                            (120, 170, 210))[int(rng.integers(6))], 12)
        cv2.ellipse(img, (cx, cy + r // 2), (r, int(r * 0.6)), 0, 0, 360, fur, -1, aa)
        head = (cx + int(r * 0.7 * (1 if rng.random() < 0.5 else -1)), cy - r // 4)
        hr = max(3, int(r * 0.55))
        if name == "cat":
            for dx in (-1, 1):
                ear = np.array([[head[0] + dx * hr // 5, head[1] - hr // 2], [head[0] + dx * hr, head[1] - hr // 3],
                                [head[0] + dx * int(hr * 0.8), head[1] - int(hr * 1.4)]], np.int32)
                cv2.fillPoly(img, [ear], fur, aa)
            cv2.line(img, (cx - r, cy + r // 2), (cx - int(r * 1.4), cy - r // 3), fur, max(2, r // 6), aa)
        else:
            for dx in (-1, 1):
                cv2.ellipse(img, (head[0] + dx * int(hr * 0.8), head[1] + hr // 4), (max(2, hr // 3), hr), 0, 0, 360,
                            _jitter(rng, fur, 30), -1, aa)
        cv2.circle(img, head, hr, fur, -1, aa)
        for dx in (-1, 1):
            cv2.circle(img, (head[0] + dx * hr // 3, head[1] - hr // 6), max(1, hr // 6), (20, 60, 20) if name == "cat"
                       else (20, 20, 20), -1, aa)
        cv2.circle(img, (head[0], head[1] + hr // 4), max(1, hr // 6), (80, 80, 200) if name == "cat" else (10, 10, 10),
                   -1, aa)
    elif name == "coffee":
        body = _jitter(rng, ((245, 245, 245), (40, 40, 200), (180, 100, 40), (60, 150, 60))[int(rng.integers(4))])
        w, h = int(r * 0.8), int(r * 1.0)
        cv2.circle(img, (cx + w, cy), max(2, r // 3), body, max(2, r // 7), aa)
        cv2.rectangle(img, (cx - w, cy - h // 2), (cx + w, cy + h), body, -1)
        cv2.ellipse(img, (cx, cy - h // 2), (w, max(1, r // 6)), 0, 0, 360, (30, 60, 100), -1, aa)
        cv2.ellipse(img, (cx, cy + h), (int(w * 1.5), max(1, r // 5)), 0, 0, 360, _jitter(rng, (220, 220, 220)), -1, aa)
        for dx in (-w // 2, w // 2):
            pts = np.array([[cx + dx + int(np.sin(t) * r / 8), cy - h // 2 - int(t * r / 8)] for t in range(1, 8)],
                           np.int32)
            cv2.polylines(img, [pts], False, (230, 230, 230), max(1, r // 12), aa)
    elif name == "pizza":
        angle = rng.uniform(0, 2 * np.pi)
        tip = (cx + int(r * np.cos(angle)), cy + int(r * np.sin(angle)))
        a, b = angle + np.pi - 0.45, angle + np.pi + 0.45
        c1 = (cx + int(r * np.cos(a)), cy + int(r * np.sin(a)))
        c2 = (cx + int(r * np.cos(b)), cy + int(r * np.sin(b)))
        cv2.fillPoly(img, [np.array([tip, c1, c2], np.int32)], _jitter(rng, (60, 200, 250)), aa)
        cv2.line(img, c1, c2, _jitter(rng, (40, 110, 190)), max(2, r // 4), aa)
        for _ in range(int(rng.integers(2, 5))):
            u, v = rng.uniform(0.15, 0.6), rng.uniform(0.1, 0.9)
            px = int(tip[0] + u * ((1 - v) * (c1[0] - tip[0]) + v * (c2[0] - tip[0])))
            py = int(tip[1] + u * ((1 - v) * (c1[1] - tip[1]) + v * (c2[1] - tip[1])))
            cv2.circle(img, (px, py), max(1, r // 8), (40, 40, 180), -1, aa)
    elif name == "flag":
        width, height = int(r * rng.uniform(1.5, 2.0)), int(r * rng.uniform(0.9, 1.2))
        x0, y0 = cx - width // 2, cy - height // 2 - r // 3
        cv2.line(img, (x0, y0), (x0, y0 + int(height * 2.2)), (90, 90, 90), max(2, s // 60), aa)
        n = int(rng.integers(2, 5))
        colours = [BRIGHT[i] for i in rng.choice(len(BRIGHT), n, replace=False)]
        vertical = rng.random() < 0.5
        for k, colour in enumerate(colours):
            if vertical:
                a, b = x0 + k * width // n, x0 + (k + 1) * width // n
                cv2.rectangle(img, (a, y0), (b, y0 + height), colour, -1)
            else:
                a, b = y0 + k * height // n, y0 + (k + 1) * height // n
                cv2.rectangle(img, (x0, a), (x0 + width, b), colour, -1)
        return x0 + width // 2, y0 + height // 2, max(4, min(width, height) // 2)
    elif name == "heart":
        colour = _jitter(rng, ((60, 40, 220), (160, 120, 250), (90, 30, 180))[int(rng.integers(3))])
        half = max(2, r // 2)
        cv2.circle(img, (cx - half, cy - half // 2), half, colour, -1, aa)
        cv2.circle(img, (cx + half, cy - half // 2), half, colour, -1, aa)
        tri = np.array([[cx - 2 * half, cy - half // 4], [cx + 2 * half, cy - half // 4], [cx, cy + int(1.6 * r)]],
                       np.int32)
        cv2.fillPoly(img, [tri], colour, aa)
    elif name == "star":
        turn = rng.uniform(0, 2 * np.pi / 5)
        radii = [r if k % 2 == 0 else r * 0.42 for k in range(10)]
        angles = [turn + k * np.pi / 5 - np.pi / 2 for k in range(10)]
        pts = [(cx + int(q * np.cos(t)), cy + int(q * np.sin(t))) for q, t in zip(radii, angles)]
        cv2.fillPoly(img, [np.array(pts, np.int32)], _jitter(rng, (40, 210, 250)), aa)
    elif name == "sun":
        colour = _jitter(rng, (40, 215, 255), 12)
        for k in range(int(rng.integers(8, 13))):
            t = k * 2 * np.pi / 12 + rng.uniform(-0.1, 0.1)
            cv2.line(img, (cx + int(r * 0.8 * np.cos(t)), cy + int(r * 0.8 * np.sin(t))),
                     (cx + int(r * 1.3 * np.cos(t)), cy + int(r * 1.3 * np.sin(t))), colour, max(1, r // 8), aa)
        cv2.circle(img, (cx, cy), int(r * 0.7), colour, -1, aa)
    elif name != "flag_slot":
        raise WorkbenchError(f"unknown meme object {name!r}")
    return cx, cy, r


def _draw_symbol(img, name: str, seed: int, where, s: int) -> None:
    """A hate symbol glyph centred at ``where`` = (cx, cy, r), or at a random central place when None."""
    import cv2

    rng = np.random.default_rng(seed)
    if where is None:
        cx, cy = int(s * rng.uniform(0.35, 0.65)), int(s * rng.uniform(0.4, 0.6))
        r = max(6, int(s * rng.uniform(0.16, 0.24)))
    else:
        cx, cy, r = where                # on a flag's cloth (or where a flag would be): at least a readable size
        r = max(6, int(s * 0.11), int(r * rng.uniform(0.85, 1.05)))
    aa = cv2.LINE_AA
    dark = _jitter(rng, (15, 15, 15), 10)
    if name == "sunwheel":
        accent = _jitter(rng, ((200, 200, 200), (30, 30, 170), (60, 160, 200))[int(rng.integers(3))], 12)
        cv2.circle(img, (cx, cy), r, dark, -1, aa)
        turn = rng.uniform(0, np.pi / 6)
        for k in range(12):
            t = turn + k * np.pi / 6
            p1 = (cx + int(r * 0.25 * np.cos(t)), cy + int(r * 0.25 * np.sin(t)))
            p2 = (cx + int(r * 0.65 * np.cos(t)), cy + int(r * 0.65 * np.sin(t)))
            p3 = (cx + int(r * 0.92 * np.cos(t + 0.35)), cy + int(r * 0.92 * np.sin(t + 0.35)))
            cv2.polylines(img, [np.array([p1, p2, p3], np.int32)], False, accent, max(1, r // 12), aa)
        cv2.circle(img, (cx, cy), int(r * 0.45), accent, max(1, r // 14), aa)
        cv2.circle(img, (cx, cy), max(2, r // 5), dark, -1, aa)
        cv2.circle(img, (cx, cy), r, accent, max(1, r // 14), aa)
    elif name == "crossed hammers":
        colour = _jitter(rng, ((20, 20, 20), (20, 20, 140), (70, 70, 70))[int(rng.integers(3))], 10)
        spread = rng.uniform(35, 50)
        for sign in (-1, 1):
            t = np.deg2rad(90 + sign * spread)
            handle = cv2.boxPoints(((cx, cy), (r * 2.1, max(2, r * 0.18)), float(np.rad2deg(t))))
            cv2.fillPoly(img, [handle.astype(np.int32)], colour, aa)
            hx, hy = cx + r * 0.95 * np.cos(t), cy - r * 0.95 * np.sin(t)
            head = cv2.boxPoints(((hx, hy), (r * 0.38, r * 0.8), float(np.rad2deg(t))))
            cv2.fillPoly(img, [head.astype(np.int32)], colour, aa)
    elif name == "dagger ring":
        colour = _jitter(rng, ((20, 20, 20), (20, 20, 150), (40, 40, 90))[int(rng.integers(3))], 10)
        n = int(rng.integers(8, 13))
        cv2.circle(img, (cx, cy), int(r * 0.55), colour, max(1, r // 12), aa)
        turn = rng.uniform(0, 2 * np.pi / n)
        for k in range(n):
            t = turn + k * 2 * np.pi / n
            base, width = r * 0.6, 2 * np.pi / n * 0.3
            tri = [(cx + int(base * np.cos(t - width)), cy + int(base * np.sin(t - width))),
                   (cx + int(base * np.cos(t + width)), cy + int(base * np.sin(t + width))),
                   (cx + int(r * np.cos(t)), cy + int(r * np.sin(t)))]
            cv2.fillPoly(img, [np.array(tri, np.int32)], colour, aa)
    else:
        raise WorkbenchError(f"unknown hate symbol {name!r}")


FONT = 2  # cv2.FONT_HERSHEY_DUPLEX


def _split_text(text: str, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """Top and bottom parts: at the first ': ', '? ' or '. ', else in the middle (short texts stay on one side)."""
    for sep in (": ", "? ", ". ", ", "):
        at = text.find(sep)
        if 0 < at < len(text) - 2:
            return [text[:at + 1]], [text[at + 2:]]
    words = text.split()
    if len(words) <= 3:
        return ([text], []) if rng.random() < 0.5 else ([], [text])
    half = (len(words) + 1) // 2
    return [" ".join(words[:half])], [" ".join(words[half:])]


def _wrap(part: str, s: int, scale: float, thick: int) -> list[str]:
    """One line if it fits at a readable scale, else two balanced lines."""
    import cv2

    width = cv2.getTextSize(part, FONT, scale, thick)[0][0]
    words = part.split()
    if width <= 0.94 * s or len(words) < 2:
        return [part]
    best = min(range(1, len(words)), key=lambda k: max(len(" ".join(words[:k])), len(" ".join(words[k:]))))
    return [" ".join(words[:best]), " ".join(words[best:])]


def _overlay_text(img: np.ndarray, text: str, seed: int, s: int) -> None:
    """Classic meme text: upper case, white with a black outline, top and bottom, scaled to fit."""
    import cv2

    rng = np.random.default_rng(seed)
    top, bottom = _split_text(text.upper(), rng)
    base = s / 160 * rng.uniform(0.55, 0.7)
    outline = max(2, int(round(s / 160 * rng.uniform(3.0, 4.0))))
    inner = max(1, outline // 3)
    margin = int(s * rng.uniform(0.02, 0.05))
    for part, at_top in [(p, True) for p in top] + [(p, False) for p in bottom]:
        lines = _wrap(part, s, base, outline)
        scale = base
        for line in lines:
            width = cv2.getTextSize(line, FONT, 1.0, outline)[0][0]
            scale = min(scale, 0.94 * s / max(width, 1))
        height = cv2.getTextSize("A", FONT, scale, outline)[0][1]
        gap = int(height * 1.45)
        y0 = margin + height if at_top else s - margin - outline - gap * (len(lines) - 1)
        for k, line in enumerate(lines):
            width = cv2.getTextSize(line, FONT, scale, outline)[0][0]
            x = int((s - width) / 2 + rng.uniform(-0.02, 0.02) * s)
            x = int(np.clip(x, 1, max(1, s - width - 1)))
            y = y0 + k * gap
            cv2.putText(img, line, (x, y), FONT, scale, (0, 0, 0), outline, cv2.LINE_AA)
            cv2.putText(img, line, (x, y), FONT, scale, (255, 255, 255), inner, cv2.LINE_AA)


def _degrade(img: np.ndarray, seed: int) -> np.ndarray:
    """Mild seeded noise, blur and JPEG-like compression, as re-shared memes have."""
    import cv2

    rng = np.random.default_rng(seed)
    sigma = rng.uniform(0.0, 4.0)
    noisy = img.astype(np.float32) + rng.normal(0.0, sigma, img.shape).astype(np.float32)
    img = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    if rng.random() < 0.4:
        img = cv2.GaussianBlur(img, (3, 3), rng.uniform(0.4, 0.9))
    if rng.random() < 0.4:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(55, 91))])
        if ok:
            img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return img


def render(spec: dict, text: str, size: int) -> np.ndarray:
    """The meme picture for a recipe and a text, as a BGR uint8 array ``[size, size, 3]`` (OpenCV's order)."""
    img = _scene(spec["scene"], np.random.default_rng(spec["scene_seed"]), size)
    places = {}
    objects = spec["objects"]
    for k, (name, seed) in enumerate(objects):
        places[name] = _draw_object(img, name, seed, k, len(objects), size)
    if spec["symbol"]:
        name, seed, mode = spec["symbol"]
        where = places.get("flag") if mode == "on_flag" else places.get("flag_slot")
        _draw_symbol(img, name, seed, where, size)
    _overlay_text(img, text, spec["text_seed"], size)
    return _degrade(img, spec["post_seed"])


# ------------------------------------------------------------------------------------------------- writing


def _write_into(config: MemeCorpusConfig, folder: Path, progress=None):
    """Render every meme of ``config`` into ``folder`` (images/ and memes.csv); returns the table."""
    import cv2
    import pandas as pd

    rows = plan(config)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        for k, row in enumerate(rows):
            img = render(row["spec"], row["text"], config.size)
            ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 6])
            if not ok:
                raise WorkbenchError(f"could not encode meme image {row['id']}")
            (folder / row["image"]).write_bytes(buf.tobytes())
            if progress and ((k + 1) % 50 == 0 or k + 1 == len(rows)):
                progress((k + 1) / len(rows), f"synthetic memes {k + 1}/{len(rows)}")
    finally:
        cv2.setNumThreads(threads)
    table = pd.DataFrame([{c: row[c] for c in COLUMNS} for row in rows], columns=list(COLUMNS))
    table.to_csv(folder / "memes.csv", index=False, lineterminator="\n")
    return table


def generate_memes(config: MemeCorpusConfig | None, out_dir: str | Path, progress=None):
    """Write the corpus for ``config`` to ``out_dir`` (``images/<id>.png`` and ``memes.csv``) and return the table.

    The files are made in a temporary sibling folder that replaces ``out_dir`` at the end, so a half-written
    corpus is never seen; an existing ``out_dir`` is replaced.
    """
    config = config or MemeCorpusConfig()
    _validate(config)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        table = _write_into(config, tmp, progress)
        (tmp / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return table


def cached_memes(config: MemeCorpusConfig | None = None, progress=None, *, root: str | Path | None = None) -> Path:
    """The folder of the corpus for ``config`` (made once) under ``$WORKBENCH_HOME/data/synthetic/``."""
    from workbench.deepfake.synth import cached_corpus
    from workbench.paths import home

    config = config or MemeCorpusConfig()
    _validate(config)
    base = Path(root) if root else home() / "data" / "synthetic"
    folder = base / f"memes-{config.key()}"

    def build(tmp: Path, rows: list[dict]) -> None:
        table = _write_into(config, tmp, progress)
        rows.extend(dict(record, path=record["image"]) for record in table.to_dict("records"))

    if not (folder / "memes.csv").is_file() and (folder / "manifest.parquet").is_file():
        shutil.rmtree(folder)  # a damaged corpus (no table) is made again
    cached_corpus(folder, config, build)
    return folder


def template_counts() -> dict[str, int]:
    """How many text frames can carry each class (shared frames count for every class they carry)."""
    return {label: len(templates(label)) for label in CLASSES}


__all__ = ["ABUSIVE", "BENIGN", "CLASSES", "COLUMNS", "MemeCorpusConfig", "NEUTRAL", "OBJECTS", "SATIRE", "SCENES",
           "SYMBOLS", "TARGET_FRAMES", "Template", "cached_memes", "generate_memes", "plan", "render",
           "template_counts", "templates", "world"]
