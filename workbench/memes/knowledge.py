"""Local knowledge for meme classification (P5 Stage I): snapshots, entity linking and ranked triples.

Three sources, all local files (nothing is fetched): ConceptNet-style edges ``(head, relation, tail, weight)``,
Wikidata-style entity facts (``entity, label, aliases, property, value``) and a frozen hate-symbol lexicon
(``term, category, meaning``). The bundled snapshots in ``data/memes/knowledge/`` are small and hand-written (see
the README there) and hold world knowledge only — what entities and terms are, never how a meme about them is
labelled (``RULE_PATTERNS`` names what they must not say; ``rule_restating`` finds it).
``KnowledgeBase.load(conceptnet=PATH)`` swaps in a full ConceptNet dump (the official
``conceptnet-assertions-5.x.csv[.gz]`` or a table made from it by ``index_conceptnet``).

Retrieval [ours — the paper publishes only its intent]: lexicon terms and entity aliases are matched on word
boundaries in the meme text (longest first, no overlaps); content words (and image tags) are looked up as
ConceptNet heads with light plural folding; from every match the graph is followed for up to ``hops`` steps
(an entity's "instance of" value, then ConceptNet edges from it). Each triple is scored

    score = prior(source, relation) · weight · decay ** hop

with priors lexicon 3, identity facts ("instance of") 2.5, other facts 1 and a ConceptNet edge its own weight;
the top ``top`` distinct triples are returned, best first. They are injected into the model input serialized
as ``head | relation | tail`` joined by ``; ``.
"""
from __future__ import annotations

import csv
import gzip
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from workbench import WorkbenchError
from workbench.paths import DATA_DIR

KNOWLEDGE_DIR = DATA_DIR / "memes" / "knowledge"
FILES = {"edges": "conceptnet_edges.csv", "facts": "wikidata_facts.csv", "lexicon": "hate_lexicon.csv"}
COLUMNS = {"edges": ("head", "relation", "tail", "weight"),
           "facts": ("entity", "label", "aliases", "property", "value"),
           "lexicon": ("term", "category", "meaning")}
IDENTITY = ("instance of",)
PRIOR = {"lexicon": 3.0, "identity": 2.5, "fact": 1.0}
STOPWORDS = frozenset("""a an the and or but if of to in on at by for with from as is are was were be been being it its
this that these those there their they them he she we you i me my our your his her not no so do does did have has
had will would can could just when what who why how all any some more most very too than then now here up out
about into over after before again be like get got me""".split())
_WORD = re.compile(r"[a-z0-9']+")
# content that restates a labelling rule rather than world knowledge: no row of a snapshot may match one
RULE_PATTERNS = {
    "protected-ness": r"\bprotect",
    "verdicts and label names": r"\b(hate speech|hateful|abusive|abuse|benign|satir\w*|offensive|harmful|"
                                r"acceptable|unacceptable|allowed|forbidden|criticism|verdict|label(l?ed)?)\b",
    "whom a term is aimed at (target-slot semantics)": r"\b(aimed at|directed at|targets?|targeted|victims?|"
                                                       r"when (used|said) (about|against))\b",
}
RETRIEVER_VERSION = "2"        # bump when retrieval changes, so that cached models are retrained


@dataclass(frozen=True)
class Triple:
    head: str
    relation: str
    tail: str
    score: float
    source: str        # "lexicon", "wikidata" or "conceptnet"
    matched: str       # the span of the meme text (or the image tag) it was reached from
    hop: int = 0

    @property
    def text(self) -> str:
        return f"{self.head} | {self.relation} | {self.tail}"

    def to_dict(self) -> dict:
        return {"head": self.head, "relation": self.relation, "tail": self.tail, "score": round(self.score, 4),
                "source": self.source, "matched": self.matched, "hop": self.hop}


def serialize(triples) -> str:
    """The triples as model input: ``head | relation | tail`` joined by ``; `` (empty string for none)."""
    return "; ".join(t.text for t in triples)


def _read_table(path: Path, kind: str) -> pd.DataFrame:
    if not path.is_file():
        raise WorkbenchError(f"knowledge file not found: {path}")
    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, keep_default_na=False)
    except Exception as exc:  # noqa: BLE001 — any parser failure is reported with the file
        raise WorkbenchError(f"cannot read knowledge file {path}: {exc}") from exc
    missing = [c for c in COLUMNS[kind] if c not in frame.columns]
    if missing:
        raise WorkbenchError(f"{path} lacks column(s) {', '.join(missing)}; a {kind} table needs "
                             f"{', '.join(COLUMNS[kind])}")
    return frame


def _concept(uri: str) -> str | None:
    """``/c/en/ice_cream/n`` → ``ice cream``."""
    parts = uri.split("/")
    return parts[3].replace("_", " ") if len(parts) > 3 else None


def read_conceptnet_assertions(path, *, lang: str = "en") -> pd.DataFrame:
    """The edges of an official ConceptNet assertions dump (tab-separated: uri, /r/Rel, /c/lang/start, /c/lang/end,
    JSON info with ``weight``), keeping those with both ends in ``lang``; gzip is read transparently."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    prefix = f"/c/{lang}/"
    rows = []
    with opener(path, "rt", encoding="utf-8") as handle:
        for n, line in enumerate(handle, 1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 5:
                raise WorkbenchError(f"{path}, line {n}: expected 5 tab-separated fields (ConceptNet assertions "
                                     f"format), found {len(fields)}")
            _, rel, start, end, info = fields
            if not (start.startswith(prefix) and end.startswith(prefix)):
                continue
            try:
                weight = float(json.loads(info).get("weight", 1.0))
            except (ValueError, AttributeError):
                weight = 1.0
            rows.append((_concept(start), rel.rsplit("/", 1)[-1], _concept(end), weight))
    return pd.DataFrame(rows, columns=["head", "relation", "tail", "weight"])


def index_conceptnet(dump, out, *, lang: str = "en") -> Path:
    """Convert a ConceptNet assertions dump once into a parquet edge table ``out`` (``*.parquet``, written
    atomically by ``workbench.io.save_table``, the dump's name and language in its metadata) for ``load``."""
    from workbench.io import save_table
    from workbench.profiles import active_profile

    edges = read_conceptnet_assertions(dump, lang=lang)
    if edges.empty:
        raise WorkbenchError(f"{dump} has no edges with both ends in '{lang}'")
    return save_table(edges, Path(out), profile=active_profile().name, config={"dump": Path(dump).name, "lang": lang})


def _fold(word: str) -> list[str]:
    """The word and its singular guesses (``parasites`` → ``parasite``; ``cities`` → ``city``)."""
    forms = [word]
    if word.endswith("ies") and len(word) > 4:
        forms.append(word[:-3] + "y")
    if word.endswith("es") and len(word) > 3:
        forms.append(word[:-2])
    if word.endswith("s") and len(word) > 3:
        forms.append(word[:-1])
    return forms


def _pattern(term: str) -> re.Pattern:
    """Word-boundary regex for ``term`` (a leading article optional); symbol-only terms match as substrings."""
    body = term.lower().strip()
    if not re.search(r"[a-z0-9]", body):
        return re.compile(re.escape(body))
    body = re.sub(r"^(a|an|the) ", "", body)
    return re.compile(r"(?<![a-z0-9])(?:(?:a|an|the) )?" + re.escape(body).replace(r"\ ", r"\s+") + r"(?![a-z0-9])")


class KnowledgeBase:
    """The three local sources with entity linking and ranked, multi-hop triple retrieval."""

    def __init__(self, edges: pd.DataFrame, facts: pd.DataFrame, lexicon: pd.DataFrame, *, origin: dict | None = None):
        self.edges = edges.assign(head=edges["head"].astype(str).str.lower().str.strip(),
                                  tail=edges["tail"].astype(str).str.strip())
        self.facts = facts
        self.lexicon = lexicon
        self.origin = origin or {}
        self._by_head = {h: g for h, g in self.edges.groupby("head", sort=False)}
        self._entities = {e: g for e, g in facts.groupby("entity", sort=False)}
        aliases = []
        for entity, group in self._entities.items():
            names = {str(group["label"].iloc[0])} | set(str(group["aliases"].iloc[0]).split("|"))
            aliases += [(name.strip(), entity) for name in names if name.strip()]
        terms = [(str(t), "lexicon") for t in lexicon["term"]] + aliases
        # longest names first, so "Crumble Airlines" wins over "Crumble"
        self._matchers = sorted(((_pattern(name), name, ref) for name, ref in terms),
                                key=lambda m: -len(m[1]))

    # -------------------------------------------------------------------------------------------- loading
    @classmethod
    def load(cls, root=None, *, conceptnet=None, lang: str = "en") -> "KnowledgeBase":
        """The snapshots in ``root`` (default: the bundled ones); ``conceptnet`` replaces the edge table with a
        full dump (assertions ``.csv``/``.csv.gz``) or an edge table (``.parquet``/``.csv`` with the columns)."""
        root = Path(root) if root else KNOWLEDGE_DIR
        tables = {kind: _read_table(root / name, kind) for kind, name in FILES.items()}
        origin = {kind: str(Path(name)) for kind, name in FILES.items()}
        if conceptnet:
            path = Path(conceptnet)
            if not path.is_file():
                raise WorkbenchError(f"ConceptNet file not found: {path}")
            tables["edges"] = (_read_table(path, "edges") if path.suffix == ".parquet" or _has_header(path)
                               else read_conceptnet_assertions(path, lang=lang))
            origin["edges"] = path.name
        return cls(tables["edges"], tables["facts"], tables["lexicon"], origin=origin)

    def describe(self) -> dict:
        return {"edges": len(self.edges), "entities": len(self._entities), "lexicon": len(self.lexicon),
                "files": self.origin, "fingerprint": self.fingerprint()}

    def fingerprint(self) -> str:
        """A short hash of the tables and the retriever version: part of trained models' cache keys."""
        import hashlib

        digest = hashlib.sha1(RETRIEVER_VERSION.encode())
        for table in (self.edges, self.facts, self.lexicon):
            digest.update(pd.util.hash_pandas_object(table, index=False).values.tobytes())
        return digest.hexdigest()[:10]

    # ------------------------------------------------------------------------------------------ retrieval
    def link(self, text: str) -> list[tuple[str, str, str]]:
        """Non-overlapping matches in ``text``: (span, kind "lexicon"|"entity", term or entity id), in text order."""
        low = " ".join(str(text).lower().split())
        taken = [False] * len(low)
        found = []
        for pattern, name, ref in self._matchers:
            for m in pattern.finditer(low):
                if any(taken[m.start():m.end()]):
                    continue
                taken[m.start():m.end()] = [True] * (m.end() - m.start())
                found.append((m.start(), m.group(0), "lexicon" if ref == "lexicon" else "entity",
                              name if ref == "lexicon" else ref))
        return [(span, kind, ref) for _, span, kind, ref in sorted(found)]

    def retrieve(self, text: str, tags=(), *, top: int = 8, hops: int = 2, decay: float = 0.6) -> list[Triple]:
        """Ranked triples for a meme's text (and its image tags), best first."""
        best: dict[tuple, Triple] = {}

        def add(head, relation, tail, score, source, matched, hop):
            key = (head.lower(), relation, str(tail).lower())
            if key not in best or best[key].score < score:
                best[key] = Triple(head, relation, str(tail), float(score), source, matched, hop)

        def expand(concept: str, matched: str, hop: int, seen: set) -> None:
            for form in _fold(concept.lower()):
                group = self._by_head.get(form)
                if group is None or form in seen:
                    continue
                seen.add(form)
                for row in group.itertuples(index=False):
                    add(form, row.relation, row.tail, float(row.weight) * decay ** hop, "conceptnet", matched, hop)
                    if hop + 1 <= hops and row.relation in ("IsA", "Synonym"):
                        expand(str(row.tail), matched, hop + 1, seen)
                return

        linked_words = set()
        for span, kind, ref in self.link(text):
            if kind == "entity":                 # a name is not looked up word by word as well
                linked_words.update(_WORD.findall(span))
            if kind == "lexicon":
                for row in self.lexicon[self.lexicon["term"] == ref].itertuples(index=False):
                    add(ref, "category", row.category, PRIOR["lexicon"], "lexicon", span, 0)
                    add(ref, "meaning", row.meaning, PRIOR["lexicon"] * 0.9, "lexicon", span, 0)
                continue
            group = self._entities[ref]
            label = str(group["label"].iloc[0])
            for row in group.itertuples(index=False):
                if row.property == "description":
                    continue
                prior = PRIOR["identity"] if row.property in IDENTITY else PRIOR["fact"]
                add(label, row.property, row.value, prior, "wikidata", span, 0)
                if row.property == "instance of" and hops >= 1:
                    expand(str(row.value), span, 1, set())
        words = [w for w in _WORD.findall(str(text).lower()) if w not in STOPWORDS and w not in linked_words]
        for tag in tags:
            tag = str(tag).lower().strip()
            for span, kind, ref in self.link(tag):
                if kind == "lexicon":
                    for row in self.lexicon[self.lexicon["term"] == ref].itertuples(index=False):
                        add(ref, "category", row.category, PRIOR["lexicon"], "lexicon", f"image: {tag}", 0)
                        add(ref, "meaning", row.meaning, PRIOR["lexicon"] * 0.9, "lexicon", f"image: {tag}", 0)
            expand(tag, f"image: {tag}", 0, set())
        for word in dict.fromkeys(words):
            expand(word, word, 0, set())
        ranked = sorted(best.values(), key=lambda t: (-t.score, t.hop))
        return ranked[:top]


def rule_restating(kb: "KnowledgeBase") -> list[tuple[str, str, str]]:
    """Rows of ``kb`` whose content restates a labelling rule: (table, the row joined by " | ", the pattern's
    name), for every row and pattern of ``RULE_PATTERNS`` that matches any of its fields (case-insensitive)."""
    found = []
    for table, frame in (("edges", kb.edges), ("facts", kb.facts), ("lexicon", kb.lexicon)):
        columns = [c for c in frame.columns if c not in ("weight", "source", "world")]
        for row in frame[columns].astype(str).itertuples(index=False):
            text = " | ".join(row)
            for name, pattern in RULE_PATTERNS.items():
                if re.search(pattern, text, flags=re.IGNORECASE):
                    found.append((table, text, name))
    return found


def _has_header(path: Path) -> bool:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        first = next(csv.reader(handle), [])
    return [c.strip() for c in first[:4]] == list(COLUMNS["edges"])


@lru_cache(maxsize=4)
def default_knowledge(conceptnet: str | None = None) -> KnowledgeBase:
    """The bundled snapshots (or with a full ConceptNet), loaded once per process."""
    return KnowledgeBase.load(conceptnet=conceptnet)


__all__ = ["KNOWLEDGE_DIR", "KnowledgeBase", "RULE_PATTERNS", "Triple", "default_knowledge", "index_conceptnet",
           "read_conceptnet_assertions", "rule_restating", "serialize"]
