"""Planning the synthetic meme corpus: which rows exist, their texts, labels, flip groups and picture recipes.

``plan(config)`` returns every row without images; ``synth.draw.render`` turns a row's recipe into pixels and
``synth.corpus`` writes both to disk. All randomness comes from one ``numpy`` generator seeded by the
configuration, so the same configuration gives the same rows (and, drawn, byte-identical files).

Every row belongs to a meaning-flip group (``pair_id`` links its two or three rows, ``flip`` says what changes)
made of one text frame, so that no frame occurs with one label only and the frame says little about the label;
the label comes from what fills the frame or from the picture (``vocabulary.label_of``):

* ``target`` — the same mocking frame, fillers and picture with an everyday target (benign), an institution
  (satire) or a people (abusive): triples of all three, or pairs of two;
* ``text`` — the same code frame, people and picture with a decoy phrase (benign) or a coded term (abusive);
* ``image`` — the same text and scene over a plain picture (the frame's benign or satire label) or with a hate
  symbol drawn in (abusive).

About ``TRIPLE_SHARE`` of a split's rows are target triples; the rest are pairs that cycle through benign/satire,
benign/abusive and satire/abusive, so that the classes stay balanced (within one row).
"""
from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import numpy as np

from workbench import WorkbenchError
from workbench.memes.synth.vocabulary import (BENIGN, CODE, MOCK, NEUTRAL, NEUTRAL_OBJECTS, OBJECTS, SATIRE, SCENES,
                                              SYMBOLS, Template, label_of, world)

TRIPLE_SHARE = 0.4                   # share of rows in target triples (everyday, institution and people)
GENERATOR_VERSION = "2"              # bump when ``plan`` changes: part of the corpus key, so caches are remade
DATA_FILES = ("templates.csv", "vocabulary.json", "knowledge/wikidata_facts.csv", "knowledge/hate_lexicon.csv")


@functools.lru_cache(maxsize=1)
def data_fingerprint() -> str:
    """A short hash of the bundled files the generator reads (``DATA_FILES`` under ``data/memes/``)."""
    import hashlib

    from workbench.paths import DATA_DIR

    digest = hashlib.sha1(GENERATOR_VERSION.encode())
    for name in DATA_FILES:
        path = DATA_DIR / "memes" / name
        digest.update(name.encode() + (path.read_bytes() if path.is_file() else b""))
    return digest.hexdigest()[:10]


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
        """A short stable hash of the configuration, the generator's version and its bundled data (for cache
        folder names: a corpus made by an older generator or from other data is never reused)."""
        from workbench.io import config_key

        return config_key({**self.to_dict(), "generator": data_fingerprint()})


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
    """Fills text frames with the split's names and terms; one group's members share every filler but the one
    that flips."""

    def __init__(self, split: str, rng: np.random.Generator):
        self.w = world(split)
        self.rng = rng
        ents = self.w["entities"]
        self.peoples = [ents[e] for e in ents if ents[e]["kind"] == "people"]
        self.institutions = [ents[e] for e in ents if ents[e]["kind"] == "institution"]
        self.everyday = [{"label": name, "kind": "everyday", "adjective": name, "forms": [name]}
                         for name in self.w["everyday"]]

    def entity(self, kind: str) -> dict:
        return _pick(self.rng, {"people": self.peoples, "institution": self.institutions,
                                "everyday": self.everyday}[kind])

    def values(self) -> dict:
        """The fillers of the non-target slots (a coded term and a decoy of the same length where one exists)."""
        code = _pick(self.rng, self.w["codes"])
        same = [d for d in self.w["decoys"] if len(d.split()) == len(code.split())] or self.w["decoys"]
        return {"term": _pick(self.rng, self.w["dehumanizing"]), "excl": _pick(self.rng, self.w["exclusion"]),
                "code": code, "decoy": _pick(self.rng, same)}

    def row(self, template: Template, values: dict, kind: str = "", *, decoy: bool = False, symbol: bool = False,
            entity: dict | None = None, form: str | None = None) -> dict:
        """One row of ``template`` with ``values``, a target of ``kind`` ("" for none) and its label."""
        filled = dict(values, code=values["decoy"] if decoy else values["code"])
        if kind and entity is None:
            entity = self.entity(kind)
        if entity is not None:
            name = form or _pick(self.rng, entity["forms"])
            filled.update(people=name, inst=name, X=name, adj=entity["adjective"])
        label = label_of(template, kind, code=template.group == "code" and not decoy, symbol=symbol)
        return {"text": template.text.format(**filled), "label": label, "template": template.id,
                "target": entity["label"] if entity else "", "target_type": kind, "pair_id": "", "flip": ""}


def _group_counts(n: int) -> tuple[int, int]:
    """(target triples, pairs) with 3 · triples + 2 · pairs = ``n`` (``n`` ≥ 2)."""
    triples = int(round(TRIPLE_SHARE * n / 3))
    if (n - 3 * triples) % 2:
        triples = triples - 1 if triples > 0 else triples + 1
    return triples, (n - 3 * triples) // 2


class _Cycle:
    """Frames of a pool in shuffled rounds, so that every frame is used about equally often."""

    def __init__(self, pool, rng: np.random.Generator):
        self.pool, self.rng, self.order = list(pool), rng, []

    def next(self):
        if not self.order:
            self.order = [self.pool[i] for i in self.rng.permutation(len(self.pool))]
        return self.order.pop()


def _target_kind(template: Template) -> str:
    return {"people": "people", "institution": "institution"}.get(template.slot, "")


def _plan_split(split: str, n: int, rng: np.random.Generator, counter: list[int]) -> list[dict]:
    """The rows (text, label, target, flip group, visual recipe) of one split, in shuffled order."""
    filler = _Filler(split, rng)
    mock, code = _Cycle(MOCK, rng), _Cycle(CODE, rng)
    plain = {"benign": _Cycle(BENIGN, rng), "satire": _Cycle(SATIRE, rng)}
    triples, pairs = _group_counts(n)
    # the pair kinds: which two classes, and what flips (a target, a coded term or a drawn symbol)
    kinds = {("benign", "satire"): ("target",), ("benign", "abusive"): ("target", "text", "image"),
             ("satire", "abusive"): ("target", "image")}
    mechanisms = {key: _Cycle(options, rng) for key, options in kinds.items()}
    plans = [("target", ("everyday", "institution", "people"))] * triples
    order = list(kinds)
    for k in range(pairs):
        if k % len(order) == 0:
            order = [list(kinds)[i] for i in rng.permutation(len(kinds))]
        classes = order[k % len(order)]
        flip = mechanisms[classes].next()
        plans.append((flip, classes))
    rows: list[dict] = []
    for flip, what in plans:
        pair_id = f"p{counter[0]:04d}"
        counter[0] += 1
        values = filler.values()
        if flip == "target":
            template = mock.next()
            spec = _visual(rng, template.hint)
            kind_of = {"benign": "everyday", "satire": "institution", "abusive": "people"}
            kinds_here = [kind_of.get(c, c) for c in what]
            group = [(filler.row(template, values, kind), spec) for kind in kinds_here]
        elif flip == "text":
            template = code.next()
            entity = filler.entity("people")
            form = _pick(rng, entity["forms"])
            spec = _visual(rng, template.hint)
            group = [(filler.row(template, values, "people", decoy=True, entity=entity, form=form), spec),
                     (filler.row(template, values, "people", entity=entity, form=form), spec)]
        else:
            template = plain[what[0]].next()
            kind = _target_kind(template)
            entity = filler.entity(kind) if kind else None
            form = _pick(rng, entity["forms"]) if entity else None
            spec = (_visual(rng, NEUTRAL_OBJECTS) if template in NEUTRAL else _visual(rng, template.hint))
            group = [(filler.row(template, values, kind, entity=entity, form=form), spec),
                     (filler.row(template, values, kind, symbol=True, entity=entity, form=form),
                      _with_symbol(spec, rng))]
        labels = [row["label"] for row, _ in group]
        if len(set(labels)) != len(labels):
            raise WorkbenchError(f"flip group {pair_id} ({template.id}, {flip}) has repeated labels {labels}")
        for row, spec in group:
            rows.append(dict(row, pair_id=pair_id, flip=flip, spec=spec, split=split))
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
