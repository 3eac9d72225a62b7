"""Tests of the synthetic meme corpus (P5 default profile): determinism, split design, pairs, images, caching."""
from __future__ import annotations

import re

import cv2
import numpy as np
import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench.memes import synth
from workbench.memes.synth import draw
from workbench.memes.synth import MemeCorpusConfig, cached_memes, generate_memes, world

SMALL = MemeCorpusConfig(n_train=60, n_eval=30, size=96, seed=3)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("memes") / "corpus"
    table = generate_memes(SMALL, out)
    return out, table


def _read(out) -> pd.DataFrame:
    return pd.read_csv(out / "memes.csv", dtype=str, keep_default_na=False)


def _mentions(name: str, text: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, flags=re.IGNORECASE) is not None


def test_columns_and_values(corpus):
    out, table = corpus
    csv = _read(out)
    assert list(csv.columns) == list(synth.COLUMNS)
    assert len(csv) == 90 and csv["id"].is_unique
    assert (csv["split"] == "train").sum() == 60 and (csv["split"] == "eval").sum() == 30
    assert set(csv["label"]) == set(synth.CLASSES)
    assert set(csv["target_type"]) <= {"people", "institution", "everyday", ""}
    assert set(csv["flip"]) <= {"text", "target", "image", ""}
    assert all(csv["image"] == "images/" + csv["id"] + ".png")
    assert (csv["text"].str.split().str.len() <= 12).all() and csv["text"].str.len().min() > 0
    assert all(t.isascii() for t in csv["text"])
    # a target is an entity label of the right kind (or an everyday target), and peoples are never the target of
    # satire; without a drawn symbol, abuse is aimed at a people or carries a coded term
    for split in synth.SPLITS:
        names = world(split)
        part = csv[csv["split"] == split]
        assert set(part.loc[part["target_type"] == "people", "target"]) <= set(names["peoples"])
        assert set(part.loc[part["target_type"] == "institution", "target"]) <= set(names["institutions"])
        assert set(part.loc[part["target_type"] == "everyday", "target"]) <= set(names["everyday"])
    assert not ((csv["label"] == "satire") & (csv["target_type"] == "people")).any()
    symbol = csv["tags"].map(lambda t: bool(set(t.split("|")) & set(synth.SYMBOLS)))
    assert not ((csv["label"] == "abusive") & ~symbol & (csv["target_type"] != "people")).any()
    assert (csv["target"] == "").equals(csv["target_type"] == "")


def test_classes_are_balanced(corpus):
    _, table = corpus
    for split, n in (("train", 60), ("eval", 30)):
        counts = table[table["split"] == split]["label"].value_counts()
        assert set(counts.index) == set(synth.CLASSES) and counts.max() - counts.min() <= 1 and counts.sum() == n


def test_train_and_eval_names_are_disjoint(corpus):
    _, table = corpus
    train, evaluation = world("train"), world("eval")
    assert set(evaluation["dehumanizing"]) == {"leeches", "a disease", "germs", "weeds"}
    assert set(evaluation["codes"]) == {"grey tide", "clean valley"}
    assert len(train["peoples"]) == 8 and len(evaluation["peoples"]) == 6
    assert len(train["institutions"]) == 8 and len(evaluation["institutions"]) == 6
    keys = ("people_names", "institution_names", "dehumanizing", "codes", "decoys")
    eval_only = {n for k in keys for n in evaluation[k]}
    train_only = {n for k in keys for n in train[k]}
    assert not eval_only & train_only
    for split, forbidden in (("train", eval_only), ("eval", train_only)):
        for text in table[table["split"] == split]["text"]:
            hits = [name for name in forbidden if _mentions(name, text)]
            assert not hits, f"{split} text {text!r} mentions {hits}"
    # every people or institution row names its target with one of the split's name forms
    for row in table[table["target_type"].isin(["people", "institution"])].itertuples():
        entity = next(e for e in world(row.split)["entities"].values() if e["label"] == row.target)
        assert any(_mentions(form, row.text) for form in entity["forms"] + [entity["adjective"]])


def test_flip_groups(corpus):
    """Every meme is in a flip group of one frame whose members differ in one thing and in their label."""
    out, table = corpus
    assert (table["pair_id"] != "").all() and set(table["flip"]) == {"text", "target", "image"}
    for pair_id, rows in table.groupby("pair_id"):
        assert len(rows) in (2, 3) and rows["flip"].nunique() == 1 and rows["split"].nunique() == 1
        assert rows["label"].nunique() == len(rows) and rows["template"].nunique() == 1
        first, second = rows.iloc[0], rows.iloc[1]
        flip = first["flip"]
        if flip == "target":       # same mocking frame and picture; everyday → benign, institution → satire, people
            assert first["template"] in {t.id for t in synth.MOCK}
            assert set(zip(rows["target_type"], rows["label"])) <= {("everyday", "benign"),
                                                                     ("institution", "satire"),
                                                                     ("people", "abusive")}
            assert rows["tags"].nunique() == 1
        elif flip == "text":       # same picture and people, a decoy (benign) or a coded term (abusive)
            assert set(rows["label"]) == {"benign", "abusive"} and first["target"] == second["target"]
            assert first["tags"] == second["tags"] and first["text"] != second["text"]
            abusive = rows[rows["label"] == "abusive"].iloc[0]
            assert any(_mentions(code, abusive["text"]) for code in world(abusive["split"])["codes"])
        else:                      # same text over a plain picture vs with a hate symbol
            assert "abusive" in set(rows["label"]) and first["text"] == second["text"]
            plain = rows[rows["label"] != "abusive"].iloc[0]
            abusive = rows[rows["label"] == "abusive"].iloc[0]
            assert not set(plain["tags"].split("|")) & set(synth.SYMBOLS)
            assert len(set(abusive["tags"].split("|")) & set(synth.SYMBOLS)) == 1
        if flip in ("target", "text"):  # the picture is shared: away from the text, the pixels agree
            a, b = (cv2.imread(str(out / p)) for p in rows["image"].iloc[:2])
            band = slice(a.shape[0] // 3, 2 * a.shape[0] // 3)
            assert np.mean(np.all(a[band] == b[band], axis=-1)) > 0.5


@pytest.mark.parametrize("config", [SMALL, MemeCorpusConfig(), MemeCorpusConfig(n_train=90, n_eval=45, size=96)],
                         ids=["small", "default", "smoke"])
def test_no_frame_occurs_with_one_label_only(config):
    """Every text frame that occurs in a split occurs there with at least two labels (train and eval alike), and
    in the default corpus no frame's most frequent label carries more than two thirds of its rows."""
    rows = pd.DataFrame([{k: r[k] for k in ("split", "template", "label")} for r in synth.plan(config)])
    for split, part in rows.groupby("split"):
        labels = part.groupby("template")["label"].nunique()
        assert labels.min() >= 2, f"{split}: frames with one label: {sorted(labels[labels < 2].index)}"
        if config == MemeCorpusConfig():
            top = part.groupby("template")["label"].agg(lambda s: s.value_counts(normalize=True).iloc[0])
            assert top.max() <= 2 / 3 + 1e-9
    assert all(len(synth.labels_of(t)) >= 2 for t in synth.templates())


def test_hate_symbols_only_in_abusive_memes(corpus):
    _, table = corpus
    has_symbol = table["tags"].map(lambda t: bool(set(t.split("|")) & set(synth.SYMBOLS)))
    assert has_symbol.any()
    assert (table.loc[has_symbol, "label"] == "abusive").all()
    vocabulary = set(synth.SCENES) | set(synth.OBJECTS) | set(synth.SYMBOLS)
    for tags in table["tags"]:
        names = tags.split("|")
        assert names[0] in synth.SCENES and set(names) <= vocabulary and len(names) == len(set(names))
    # neutral texts occur with both labels: only the picture tells them apart
    neutral = table[table["template"].str.startswith("n")]
    assert set(neutral["label"]) == {"benign", "abusive"}
    assert has_symbol[neutral.index].eq(neutral["label"] == "abusive").all()
    # the generator's rule, in one place: a symbol makes any frame abusive; a mocking frame follows its target
    mock, code = synth.MOCK[0], synth.CODE[0]
    assert [synth.label_of(mock, k) for k in ("everyday", "institution", "people")] == ["benign", "satire", "abusive"]
    assert synth.label_of(mock, "everyday", symbol=True) == "abusive"
    assert (synth.label_of(code, "people"), synth.label_of(code, "people", code=True)) == ("benign", "abusive")


def test_images_are_pngs_of_the_configured_size(corpus):
    out, table = corpus
    for image in table["image"]:
        data = (out / image).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        img = cv2.imread(str(out / image), cv2.IMREAD_UNCHANGED)
        assert img.shape == (96, 96, 3) and img.dtype == np.uint8
    assert sorted(p.name for p in (out / "images").iterdir()) == sorted(f"{i}.png" for i in table["id"])


def test_generation_is_deterministic_and_atomic(corpus, tmp_path):
    out, _ = corpus
    again = generate_memes(SMALL, tmp_path / "again")
    assert (tmp_path / "again" / "memes.csv").read_bytes() == (out / "memes.csv").read_bytes()
    for image in again["image"]:
        assert (tmp_path / "again" / image).read_bytes() == (out / image).read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again"]        # no temporary folder left behind
    other = generate_memes(MemeCorpusConfig(n_train=60, n_eval=30, size=96, seed=4), tmp_path / "again")
    assert list(other["text"]) != list(again["text"])                      # replaced in place, other seed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again"]


def test_failed_generation_leaves_nothing(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(draw, "render", boom)
    with pytest.raises(RuntimeError):
        generate_memes(SMALL, tmp_path / "corpus")
    assert list(tmp_path.iterdir()) == []


def test_config_key_and_cache(tmp_path, monkeypatch):
    config = MemeCorpusConfig(n_train=6, n_eval=6, size=64, seed=1)
    assert config.key() == MemeCorpusConfig(n_train=6, n_eval=6, size=64, seed=1).key() != SMALL.key()
    assert config.to_dict() == {"n_train": 6, "n_eval": 6, "size": 64, "seed": 1}
    # the key covers the generator's version and bundled data: an older generator's cached corpus is never reused
    from workbench.io import config_key
    from workbench.memes.synth import generate

    assert config.key() != config_key(config.to_dict())
    before = config.key()
    monkeypatch.setattr(generate, "data_fingerprint", lambda: "another generator or other data")
    assert config.key() != before
    monkeypatch.undo()
    assert config.key() == before
    seen = []
    folder = cached_memes(config, lambda fraction, message: seen.append(fraction), root=tmp_path)
    assert folder.name == f"memes-{config.key()}" and (folder / "memes.csv").is_file() and seen[-1] == 1.0
    assert len(_read(folder)) == 12
    monkeypatch.setattr(draw, "render", lambda *a, **k: (_ for _ in ()).throw(AssertionError("re-rendered")))
    assert cached_memes(config, root=tmp_path) == folder                    # from the cache
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]


def test_world_and_errors():
    names = world("train")
    assert "Velorians" in names["people_names"] and "Velorian" in names["people_names"]
    assert "Glorbco" in names["institution_names"] and "crossed hammers" in names["symbols"]
    assert "send them back" in names["exclusion"] and "vermin" in names["dehumanizing"]
    assert not set(names["decoys"]) & set(world("eval")["decoys"]) and names["everyday"] == world("eval")["everyday"]
    assert world("eval")["peoples"][0] == "Sorrenians"
    counts = synth.template_counts()
    assert min(counts.values()) >= 12
    with pytest.raises(WorkbenchError, match="unknown split"):
        world("test")
    with pytest.raises(WorkbenchError, match="at least 3"):
        generate_memes(MemeCorpusConfig(n_train=2), "/nonexistent/never")
    with pytest.raises(WorkbenchError, match="size"):
        synth.plan(MemeCorpusConfig(size=8))
