"""A dataset with one split only (FakeAVCeleb: split "all") is never evaluated on its training rows: `deepfake
train` refuses the implicit every-row default, `deepfake eval` refuses rows the model was trained on, and
`--split-by speaker|source --eval-fraction F` makes a deterministic group-disjoint split recorded in the outputs."""
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench.cli.main import main
from workbench.deepfake.datasets.splits import disjoint_split, group_keys


def _frame(n_speakers=10, per=4):
    rows = []
    for s in range(n_speakers):
        for i in range(per):
            rows.append({"id": f"s{s}-{i}", "source": "Toy", "speaker": f"id{s:02d}", "y": i % 2, "split": "all",
                         "original": "" if i % 2 else f"s{s}-{i + 1}.mp4"})
    return pd.DataFrame(rows)


def test_speaker_split_is_disjoint_deterministic_and_sized():
    frame = _frame()
    out, record = disjoint_split(frame, "speaker", 0.3, seed=3)
    train, held = out[out["split"] == "train"], out[out["split"] == "eval"]
    assert not set(train["speaker"]) & set(held["speaker"])
    assert len(held) >= 0.3 * len(frame) and len(held) < 0.3 * len(frame) + 4      # whole speakers of 4 rows
    assert set(train["y"]) == set(held["y"]) == {0, 1}
    again, _ = disjoint_split(frame, "speaker", 0.3, seed=3)
    assert again["split"].tolist() == out["split"].tolist()
    other, _ = disjoint_split(frame, "speaker", 0.3, seed=4)
    assert other["split"].tolist() != out["split"].tolist()
    assert record == {"by": "speaker", "eval_fraction": 0.3, "seed": 3, "train_rows": len(train),
                      "eval_rows": len(held), "train_speaker_groups": train["speaker"].nunique(),
                      "eval_speaker_groups": held["speaker"].nunique()}


def test_source_split_keeps_a_fake_with_its_original():
    frame = _frame()
    keys = group_keys(frame, "source")
    assert keys[0] == keys[1] == "s0-1"                 # the fake s0-0 was made from s0-1
    out, _ = disjoint_split(frame, "source", 0.25, seed=0)
    side = dict(zip(out["id"], out["split"]))
    assert all(side[f"s{s}-0"] == side[f"s{s}-1"] for s in range(10))


@pytest.mark.parametrize("by, frame, message", [
    ("speaker", _frame().drop(columns="speaker"), "no 'speaker' column"),
    ("source", _frame().drop(columns="original"), "no 'original' column"),
    ("speaker", _frame().assign(speaker=lambda f: np.where(f.index == 5, " ", f["speaker"])), "is empty in 1 row"),
    ("speaker", _frame(n_speakers=1), "one speaker group only"),
    ("accent", _frame(), "unknown --split-by 'accent'"),
])
def test_split_errors_name_the_problem(by, frame, message):
    with pytest.raises(WorkbenchError, match=message):
        disjoint_split(frame, by, 0.2, where="toy")


def test_split_refuses_a_side_with_one_class_and_a_bad_fraction():
    frame = _frame().assign(y=lambda f: (f["speaker"] == "id00").astype(int))      # one speaker holds every real
    with pytest.raises(WorkbenchError, match="holds (fake|bona fide) rows only"):
        disjoint_split(frame, "speaker", 0.2, seed=0)
    with pytest.raises(WorkbenchError, match="between 0 and 1"):
        disjoint_split(_frame(), "speaker", 1.0)


# ------------------------------------------------------------------------------------- the CLI on FakeAVCeleb

FAV_TYPE = {"": "RealVideo-RealAudio", "sbi": "FakeVideo-RealAudio", "mismatched_audio": "RealVideo-FakeAudio",
            "fake_audio": "RealVideo-FakeAudio", "converted_audio": "RealVideo-FakeAudio"}


@pytest.fixture(scope="module")
def fav_root(tmp_path_factory):
    """The smoke synthetic talking heads laid out as FakeAVCeleb v1.2 (meta_data.csv, split "all"), six speakers
    with bona fide and fake clips each."""
    data = tmp_path_factory.mktemp("df-fav") / "synth"
    assert main(["deepfake", "synth", "--smoke", "--out", str(data)]) == 0
    manifest = pd.read_csv(data / "manifest.csv").query("modality == 'audiovisual'").reset_index(drop=True)
    root = data.parent / "FakeAVCeleb"
    rows = []
    for label in ("bonafide", "spoof"):
        part = manifest[manifest["label"] == label].reset_index(drop=True)
        for i, r in part.iterrows():
            speaker, kind = f"id{i % 6:05d}", FAV_TYPE[r["attack"] if isinstance(r["attack"], str) else ""]
            name = f"{label}_{i}.mp4"
            target = root / kind / "African" / "men" / speaker / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(data / r["path"], target)
            rows.append({"source": speaker, "target1": "-", "target2": "-", "method": "real" if label == "bonafide"
                         else "faceswap", "category": "A" if label == "bonafide" else "C", "type": kind,
                         "race": "African", "gender": "men", "path": name})
    pd.DataFrame(rows).to_csv(root / "meta_data.csv", index=False)
    return root


def test_one_split_data_is_never_evaluated_on_its_training_rows(fav_root, tmp_path, capsys):
    model = tmp_path / "model"
    # no split given: refused, in one line naming the dataset and how to split it
    assert main(["deepfake", "train", "--data", str(fav_root), "--smoke", "--out", str(model)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "FakeAVCeleb" in err and "--split-by speaker|source --eval-fraction" in err
    assert not model.exists()

    split = ["--split-by", "speaker", "--eval-fraction", "0.34", "--seed", "1"]
    assert main(["deepfake", "train", "--data", str(fav_root), "--smoke", "--out", str(model), *split]) == 0
    meta = json.loads((model / "model.json").read_text())
    record = meta["data"]["split"]
    assert record["by"] == "speaker" and record["seed"] == 1 and record["eval_speaker_groups"] >= 1
    trained = set(json.loads((model / "training_rows.json").read_text())["rows"])
    assert len(trained) == record["train_rows"] == meta["data"]["rows"]

    # the same split for eval: the held-out speakers only, recorded in the report
    capsys.readouterr()
    assert main(["deepfake", "eval", "--data", str(fav_root), "--model", str(model), "--no-reasoning",
                 "--out", str(tmp_path / "eval"), *split]) == 0
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert report["split"] == record
    scores = pd.read_parquet(tmp_path / "eval" / "scores.parquet")
    assert len(scores) == record["eval_rows"] and not {f"FakeAVCeleb/{i}" for i in scores["id"]} & trained
    train_speakers = {k.split("/")[-2] for k in trained}
    assert not set(scores["speaker"]) & train_speakers

    # every other way of reaching the training rows is refused
    for extra in ([], ["--split", "all"], ["--split-by", "speaker", "--eval-fraction", "0.34", "--seed", "2"]):
        capsys.readouterr()
        assert main(["deepfake", "eval", "--data", str(fav_root), "--model", str(model), "--no-reasoning",
                     *extra]) == 1, extra
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "were used to train" in err and "FakeAVCeleb" in err
        assert "--split-by speaker|source" in err


def test_split_and_split_by_together_are_refused(fav_root, tmp_path, capsys):
    assert main(["deepfake", "train", "--data", str(fav_root), "--smoke", "--out", str(tmp_path / "m"),
                 "--split", "all", "--split-by", "speaker"]) == 1
    assert "not both" in capsys.readouterr().err
