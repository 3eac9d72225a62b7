"""Planning the synthetic meme corpus: which rows exist, their texts, labels, flip pairs and picture recipes.

``plan(config)`` returns every row without images; ``synth.draw.render`` turns a row's recipe into pixels and
``synth.corpus`` writes both to disk. All randomness comes from one ``numpy`` generator seeded by the
configuration, so the same configuration gives the same rows (and, drawn, byte-identical files).

Meaning-flip pairs (``pair_id`` links the two rows, ``flip`` says what changes):

* ``target`` — the same text frame and image with a people (abusive) or an institution (satire) as target;
* ``text`` — the same image and people target with a benign or an abusive text;
* ``image`` — the same neutral text and scene over a plain flag (benign) or with a hate symbol (abusive).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from workbench import WorkbenchError
from workbench.memes.synth.vocabulary import (ABUSIVE, BENIGN, CLASSES, FLIPS, NEUTRAL, NEUTRAL_OBJECTS, OBJECTS,
                                              SCENES, SYMBOLS, TARGET_FRAMES, Template, templates, world)

PAIR_FRACTION = 0.3                  # share of rows that belong to a meaning-flip pair
SYMBOL_ON_ABUSIVE_TEXT = 0.2         # chance that an abusive text meme also shows a hate symbol


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
        from workbench.io import config_key

        return config_key(self.to_dict())


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
    validate(config)
    rng = np.random.default_rng(config.seed)
    counter = [0]
    rows = (_plan_split("train", config.n_train, rng, counter)
            + _plan_split("eval", config.n_eval, rng, counter))
    for k, row in enumerate(rows):
        row["id"] = f"m{k:05d}"
        row["image"] = f"images/{row['id']}.png"
        row["tags"] = "|".join(_tags(row["spec"]))
    return rows


def validate(config: MemeCorpusConfig) -> None:
    """Refuse a configuration the generator cannot honour (too few rows, an unreadable or huge image size)."""
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
