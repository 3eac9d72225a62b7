"""Meme-benchmark loaders on tiny fixture trees that copy the public layouts exactly."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from workbench import WorkbenchError
from workbench.memes.datasets import FORMATS, MemeSet, detect_format, label_ids, load_memes

COLUMNS = ["id", "image", "text", "label", "split"]


def _png(path: Path) -> None:
    """A 4×4 PNG at ``path`` (folders made as needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((4, 4, 3), 127, dtype=np.uint8))


def _jsonl(path: Path, rows: list[dict | str]) -> None:
    """Rows as JSON lines; a str row is written verbatim (for malformed lines)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows),
                    encoding="utf-8")


def _hateful(id_: int, label: int | None = None, text: str = "some text") -> dict:
    """A Hateful Memes line; no "label" key when ``label`` is None (the original test release)."""
    row: dict = {"id": id_, "img": f"img/{id_:05d}.png"}
    if label is not None:
        row["label"] = label
    row["text"] = text
    return row


@pytest.fixture
def hateful_root(tmp_path: Path) -> Path:
    """Hateful Memes: img/, train, dev + dev_seen (same memes), dev_unseen, unlabelled test.jsonl."""
    root = tmp_path / "hateful_memes"
    for id_ in (42953, 23058, 1235, 16395, 37405, 94180, 54321):
        _png(root / "img" / f"{id_:05d}.png")
    _jsonl(root / "train.jsonl", [_hateful(42953, 0, "  its their character\n not their   color that matters "),
                                  _hateful(23058, 1, "don't be afraid to love again")])
    _jsonl(root / "dev.jsonl", [_hateful(1235, 1, "dev meme"), _hateful(16395, 0, "another")])
    _jsonl(root / "dev_seen.jsonl", [_hateful(1235, 1, "dev meme"), _hateful(16395, 0, "another")])
    _jsonl(root / "dev_unseen.jsonl", [_hateful(16395, 0, "another"), _hateful(37405, 1, "unseen only")])
    _jsonl(root / "test.jsonl", [_hateful(94180, None, "test one"), _hateful(54321, None, "test two")])
    return root


def test_hateful_memes_rows_labels_splits(hateful_root: Path) -> None:
    memes = load_memes(hateful_root)
    assert isinstance(memes, MemeSet) and memes.format == "hateful_memes"
    assert memes.classes == ("not_hateful", "hateful")
    assert memes.problems == []
    frame = memes.frame
    assert list(frame.columns) == COLUMNS
    assert frame["split"].tolist() == ["train"] * 2 + ["dev"] * 3 + ["test"] * 2
    assert frame["id"].tolist() == ["42953", "23058", "1235", "16395", "37405", "94180", "54321"]
    assert frame["label"].tolist()[:5] == ["not_hateful", "hateful", "hateful", "not_hateful", "hateful"]
    assert frame["text"].iloc[0] == "its their character not their color that matters"
    for image in frame["image"]:
        assert Path(image).is_absolute() and Path(image).is_file()
    assert frame["image"].iloc[2] == str((hateful_root / "img" / "01235.png").absolute())


def test_hateful_memes_unlabelled_test_rows(hateful_root: Path) -> None:
    memes = load_memes(hateful_root, split="test")
    assert memes.frame["label"].tolist() == [None, None]
    assert memes.frame["label"].iloc[0] is None
    assert label_ids(memes).tolist() == [-1, -1]
    summary = memes.summary()
    assert summary.loc["test", "unlabelled"] == 2 and summary.loc["test", "hateful"] == 0


def test_hateful_memes_labelled_test_seen_replaces_unlabelled(hateful_root: Path) -> None:
    _jsonl(hateful_root / "test_seen.jsonl", [_hateful(94180, 1, "test one")])
    frame = load_memes(hateful_root, "hateful_memes", "test").frame
    assert frame["id"].tolist() == ["94180", "54321"]
    assert frame["label"].tolist() == ["hateful", None]


def test_hateful_memes_split_aliases_and_summary(hateful_root: Path) -> None:
    memes = load_memes(hateful_root, split="validation")
    assert set(memes.frame["split"]) == {"dev"} and len(memes.frame) == 3
    full = load_memes(hateful_root).summary()
    assert list(full.index) == ["train", "dev", "test"]
    assert list(full.columns) == ["not_hateful", "hateful", "unlabelled"]
    assert full.loc["dev"].tolist() == [1, 2, 0] and full.loc["train"].tolist() == [1, 1, 0]
    assert label_ids(load_memes(hateful_root, split="train")).tolist() == [0, 1]
    with pytest.raises(WorkbenchError, match="unknown split"):
        load_memes(hateful_root, split="holdout")


def test_hateful_memes_bad_rows_reported_and_skipped(tmp_path: Path) -> None:
    root = tmp_path / "hm"
    _png(root / "img" / "00001.png")
    _png(root / "img" / "00004.png")
    _png(root / "img" / "00005.png")
    _jsonl(root / "train.jsonl", [
        _hateful(1, 0),
        _hateful(2, 1),  # image missing
        '{"id": 3, "img": "img/00003.png", "label": 0, "text": ',  # malformed
        _hateful(4, 7),  # unknown label
        {"id": 5, "img": "img/00005.png", "label": 0},  # text missing
        _hateful(1, 0),  # duplicate inside one file
    ])
    _jsonl(root / "dev.jsonl", [])
    memes = load_memes(root)
    assert memes.frame["id"].tolist() == ["1"]
    problems = memes.problems
    assert len(problems) == 6
    assert problems[0].startswith("train.jsonl:2: image img/00002.png not found")
    assert problems[1].startswith("train.jsonl:3: malformed JSON")
    assert problems[2].startswith("train.jsonl:4: unknown label 7")
    assert problems[3] == "train.jsonl:5: text is missing"
    assert problems[4].startswith("train.jsonl:6: duplicate id 1")
    assert problems[5] == "dev.jsonl: empty file"


def test_all_bad_rows_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "hm"
    (root / "img").mkdir(parents=True)
    _jsonl(root / "train.jsonl", [_hateful(1, 0), "not json"])
    with pytest.raises(WorkbenchError, match=r"no valid hateful_memes memes.*train.jsonl:1: image img/00001.png"):
        load_memes(root)


def _harmeme_tree(root: Path, annotations: str | None) -> Path:
    """A HarMeme tree with jsonl files in ``root`` or in ``root/annotations``."""
    for name in ("covid_memes_18", "covid_memes_19", "covid_memes_20", "covid_memes_21"):
        _png(root / "images" / f"{name}.png")
    folder = root if annotations is None else root / annotations
    _jsonl(folder / "train.jsonl", [
        {"id": "covid_memes_18", "image": "covid_memes_18.png", "labels": ["somewhat harmful", "individual"],
         "text": "Trump says\nwear a mask"},
        {"id": "covid_memes_19", "image": "covid_memes_19.png", "labels": ["not harmful"], "text": "stay home"},
        {"id": "covid_memes_99", "image": "covid_memes_99.png", "labels": ["not harmful"], "text": "gone"},
        {"id": "covid_memes_22", "image": "covid_memes_20.png", "labels": ["extremely harmful"], "text": "x"},
    ])
    _jsonl(folder / "val.jsonl", [{"id": "covid_memes_20", "image": "covid_memes_20.png",
                                   "labels": ["very harmful", "organization"], "text": "who knew"}])
    _jsonl(folder / "test.jsonl", [{"id": "covid_memes_21", "image": "covid_memes_21.png",
                                    "labels": ["very harmful", "community"], "text": "test"}])
    return root


def test_harmeme_loads_binary_label_target_intensity(tmp_path: Path) -> None:
    root = _harmeme_tree(tmp_path / "harmeme", annotations=None)
    assert detect_format(root) == "harmeme"
    memes = load_memes(root)
    frame = memes.frame
    assert memes.classes == ("not_harmful", "harmful")
    assert list(frame.columns) == COLUMNS + ["target", "intensity"]
    assert frame["id"].tolist() == ["covid_memes_18", "covid_memes_19", "covid_memes_20", "covid_memes_21"]
    assert frame["split"].tolist() == ["train", "train", "dev", "test"]
    assert frame["label"].tolist() == ["not_harmful" if i == 1 else "harmful" for i in range(4)]
    assert frame["intensity"].tolist() == ["somewhat_harmful", "not_harmful", "very_harmful", "very_harmful"]
    assert frame["target"].tolist() == ["individual", None, "organization", "community"]
    assert frame["text"].iloc[0] == "Trump says wear a mask"
    assert frame["image"].iloc[0] == str((root / "images" / "covid_memes_18.png").absolute())
    assert len(memes.problems) == 2
    assert memes.problems[0].startswith("train.jsonl:3: image images/covid_memes_99.png not found")
    assert memes.problems[1].startswith("train.jsonl:4: unknown label 'extremely harmful'")


def test_harmeme_under_annotations_folder(tmp_path: Path) -> None:
    root = _harmeme_tree(tmp_path / "harmeme", annotations="annotations")
    assert detect_format(root) == "harmeme"
    memes = load_memes(root, split="val")
    assert memes.frame["id"].tolist() == ["covid_memes_20"]
    assert memes.frame["split"].tolist() == ["dev"]


def _csv(path: Path, lines: list[str], encoding: str = "utf-8") -> None:
    """A CSV file from raw lines (header first)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))


def test_multioff_layout_labels_and_latin1(tmp_path: Path) -> None:
    root = tmp_path / "MultiOFF_Dataset"
    for name in ("1.png", "2.jpg", "3.png", "4.png"):
        _png(root / "Labelled Images" / name)
    splits = root / "Split Dataset"
    _csv(splits / "Training_meme_dataset.csv", [
        "image_name,sentence,label",
        '1.png,"When you   see it",offensive',
        "2.jpg,nothing here,Non-offensiv",
        "5.png,image is missing,offensive",
        "3.png,odd label,mildly offensive",
    ])
    _csv(splits / "Validation_meme_dataset.csv", ["image_name,sentence,label", "3.png,caf\u00e9 meme,NON-OFFENSIVE"],
         encoding="latin-1")
    _csv(splits / "Testing_meme_dataset.csv", ["image_name,sentence,label", "4.png,last one,Offensive"])
    assert detect_format(root) == "multioff"
    memes = load_memes(root)
    frame = memes.frame
    assert memes.classes == ("non_offensive", "offensive")
    assert list(frame.columns) == COLUMNS
    assert frame["id"].tolist() == ["1", "2", "3", "4"]
    assert frame["label"].tolist() == ["offensive", "non_offensive", "non_offensive", "offensive"]
    assert frame["split"].tolist() == ["train", "train", "dev", "test"]
    assert frame["text"].tolist()[:3] == ["When you see it", "nothing here", "caf\u00e9 meme"]
    assert frame["image"].iloc[1] == str((root / "Labelled Images" / "2.jpg").absolute())
    assert memes.problems == [
        "Split Dataset/Training_meme_dataset.csv:4: image Labelled Images/5.png not found",
        "Split Dataset/Training_meme_dataset.csv:5: unknown label 'mildly offensive' "
        "(expected offensive or Non-offensiv)",
    ]
    assert label_ids(memes).tolist() == [1, 0, 0, 1]


def test_synthetic_layout_keeps_extra_columns(tmp_path: Path) -> None:
    root = tmp_path / "synthetic"
    for i in range(4):
        _png(root / "images" / f"m{i}.png")
    _csv(root / "memes.csv", [
        "id,image,text,label,split,template,seed",
        "m0,images/m0.png,a benign meme,benign,train,cat,0",
        "m1,images/m1.png,a satire meme,satire,test,dog,1",
        "m2,images/m2.png,an abusive meme,abusive,val,cat,2",
        "m3,images/m3.png,,benign,train,cat,3",
        "m4,images/m4.png,no image,benign,train,cat,4",
    ])
    assert detect_format(root) == "synthetic"
    memes = load_memes(root)
    frame = memes.frame
    assert memes.classes == ("benign", "satire", "abusive")
    assert list(frame.columns) == COLUMNS + ["template", "seed"]
    assert frame["id"].tolist() == ["m0", "m2", "m1"]
    assert frame["split"].tolist() == ["train", "dev", "test"]
    assert frame["seed"].tolist() == [0, 2, 1] and frame["template"].tolist() == ["cat", "cat", "dog"]
    assert frame["image"].iloc[0] == str((root / "images" / "m0.png").absolute())
    assert memes.problems == ["memes.csv:5: text is missing", "memes.csv:6: image images/m4.png not found"]
    assert label_ids(memes).tolist() == [0, 2, 1]
    assert load_memes(root, split="test").frame["id"].tolist() == ["m1"]


def test_detect_format_on_each_tree_and_empty_dir(hateful_root: Path, tmp_path: Path) -> None:
    assert detect_format(hateful_root) == "hateful_memes"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(WorkbenchError, match="not a known meme dataset layout") as caught:
        detect_format(empty)
    for name in FORMATS:
        assert name in str(caught.value)
    assert "memes.csv" in str(caught.value) and "Labelled Images" in str(caught.value)
    with pytest.raises(WorkbenchError, match="not a known meme dataset layout"):
        load_memes(empty)


def test_missing_root_and_unknown_format(tmp_path: Path, hateful_root: Path) -> None:
    with pytest.raises(WorkbenchError, match="does not exist"):
        load_memes(tmp_path / "nowhere")
    with pytest.raises(WorkbenchError, match="does not exist"):
        detect_format(tmp_path / "nowhere")
    with pytest.raises(WorkbenchError, match="unknown meme dataset format 'memotion'.*hateful_memes, harmeme"):
        load_memes(hateful_root, format="memotion")
    with pytest.raises(WorkbenchError, match="no train/dev/test files found"):
        load_memes(hateful_root, format="multioff")


def test_hateful_memes_conflicting_duplicate_and_odd_values(tmp_path: Path) -> None:
    root = tmp_path / "hm"
    for id_ in (1, 2, 3):
        _png(root / "img" / f"{id_:05d}.png")
    _jsonl(root / "dev_seen.jsonl", [_hateful(1, 0), _hateful(2, 1), {**_hateful(3, 0), "label": [1]}])
    _jsonl(root / "dev_unseen.jsonl", [_hateful(1, 1), _hateful(2, 1), {**_hateful(3, 0), "id": {"x": 1}}])
    memes = load_memes(root)
    assert memes.frame["id"].tolist() == ["1", "2"]
    assert memes.frame["label"].tolist() == ["not_hateful", "hateful"]
    assert memes.problems == [
        "dev_seen.jsonl:3: unknown label [1] (expected 0 or 1)",
        "dev_unseen.jsonl:1: id 1 labelled 'hateful' but dev_seen.jsonl:1 says 'not_hateful'; kept the first",
        "dev_unseen.jsonl:3: id {'x': 1} is not a str or int",
    ]
