import json

import pandas as pd
import pytest
import torch

from workbench import io
from workbench.io import ArtifactError


def _frame():
    return pd.DataFrame({"prompt": ["a", "b", "c"], "score": [0.1, 0.5, 0.9], "label": [0, 1, 1]})


def test_frame_round_trip_with_meta(store):
    path = store.path("P1", "scores", "default")
    io.save_frame(_frame(), path, profile="default", models=["smollm2-135m-instruct"], seed=7,
                  config={"delta": 0.5})
    back = io.load_frame(path, required_columns=["prompt", "score"])
    pd.testing.assert_frame_equal(back, _frame())
    meta = io.read_meta(path)
    assert meta.kind == "frame" and meta.profile == "default" and meta.seed == 7
    assert meta.models == ("smollm2-135m-instruct",) and meta.config == {"delta": 0.5}
    assert meta.package_version and meta.created_at
    assert [c["name"] for c in meta.schema["columns"]] == ["prompt", "score", "label"]
    assert meta.schema["rows"] == 3


def test_records_round_trip(store):
    path = store.path("P4", "ratings", "default")
    records = [{"item": 1, "rating": "Yes", "note": "naïve ✓"}, {"item": 2, "rating": "No"}]
    io.save_records(records, path, profile="default", seed=0)
    assert io.load_records(path, required_keys=["item", "rating"]) == records
    with pytest.raises(ArtifactError, match="record 1 lacks note"):
        io.load_records(path, required_keys=["note"])


def test_tensors_round_trip(store):
    path = store.path("P8", "vectors", "default")
    tensors = {"layer_3": torch.randn(4, 8), "mask": torch.tensor([1, 0, 1], dtype=torch.int64)}
    io.save_tensors(tensors, path, profile="paper", models=["deepseek-7b"])
    back = io.load_tensors(path, required=["layer_3"])
    for name in tensors:
        assert torch.equal(back[name], tensors[name])
    assert io.read_meta(path).schema["tensors"]["layer_3"] == {"shape": [4, 8], "dtype": "float32"}


def test_no_pickle_files_are_written(store):
    path = store.path("P1", "x", "default")
    io.save_frame(_frame(), path, profile="default")
    assert sorted(p.name for p in path.iterdir()) == ["data.parquet", "meta.json"]


def test_missing_required_column_is_named(store):
    path = io.save_frame(_frame(), store.path("P1", "x", "default"), profile="default")
    with pytest.raises(ArtifactError, match=r"missing column\(s\) response, flagged; has prompt, score, label"):
        io.load_frame(path, required_columns=["prompt", "response", "flagged"])


def test_schema_mismatch_is_reported(store):
    path = io.save_frame(_frame(), store.path("P1", "x", "default"), profile="default")
    _frame().drop(columns=["label"]).to_parquet(path / "data.parquet", index=False)  # tampered data file
    with pytest.raises(ArtifactError, match="differ from meta.json"):
        io.load_frame(path)


def test_missing_or_broken_meta_is_reported(store, tmp_path):
    with pytest.raises(ArtifactError, match="no artifact at"):
        io.read_meta(tmp_path / "nothing")
    path = io.save_frame(_frame(), store.path("P1", "x", "default"), profile="default")
    (path / "meta.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        io.load_frame(path)
    (path / "meta.json").write_text(json.dumps({"kind": "frame"}))
    with pytest.raises(ArtifactError, match="meta.json lacks profile"):
        io.load_frame(path)
    (path / "meta.json").unlink()
    with pytest.raises(ArtifactError, match="meta.json is missing"):
        io.load_frame(path)


def test_wrong_kind_is_reported(store):
    path = io.save_records([{"a": 1}], store.path("P1", "x", "default"), profile="default")
    with pytest.raises(ArtifactError, match="holds records, not frame"):
        io.load_frame(path)


def test_interrupted_write_leaves_no_partial_artifact(store, monkeypatch):
    path = store.path("P1", "x", "default")

    def half_written(self, target, **kwargs):
        with open(target, "wb") as fh:
            fh.write(b"PAR1 truncated")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", half_written)
    with pytest.raises(OSError, match="disk full"):
        io.save_frame(_frame(), path, profile="default")
    assert not path.exists()
    assert list(path.parent.iterdir()) == []       # no temporary folder left behind


def test_interrupted_overwrite_keeps_the_previous_artifact(store, monkeypatch):
    path = io.save_frame(_frame(), store.path("P1", "x", "default"), profile="default", seed=1)
    monkeypatch.setattr(io, "_write_meta", lambda folder, meta: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        io.save_frame(_frame().head(1), path, profile="default", seed=2)
    monkeypatch.undo()
    assert io.read_meta(path).seed == 1
    assert len(io.load_frame(path)) == 3
    assert [p.name for p in path.parent.iterdir()] == ["x"]


def test_overwrite_replaces(store):
    path = io.save_frame(_frame(), store.path("P1", "x", "default"), profile="default", seed=1)
    io.save_frame(_frame().head(2), path, profile="default", seed=2)
    assert len(io.load_frame(path)) == 2 and io.read_meta(path).seed == 2


def test_store_lists_complete_artifacts_only(store):
    io.save_frame(_frame(), store.path("P1", "a", "default"), profile="default")
    io.save_records([{"k": 1}], store.path("P4", "b", "paper"), profile="paper")
    broken = store.path("P1", "c", "default")
    broken.mkdir(parents=True)
    assert store.list() == [("default", "P1", "a"), ("paper", "P4", "b")]
    assert store.list(paper="P4") == [("paper", "P4", "b")]
    assert store.exists("P1", "a", "default") and not store.exists("P1", "c", "default")


def test_bad_inputs_are_rejected(store):
    with pytest.raises(ArtifactError, match="expects a pandas DataFrame"):
        io.save_frame([1, 2], store.path("P1", "x", "default"), profile="default")
    with pytest.raises(ArtifactError, match="record 1 is a list"):
        io.save_records([{"a": 1}, [2]], store.path("P1", "y", "default"), profile="default")
    with pytest.raises(ArtifactError, match="not tensors: w"):
        io.save_tensors({"w": [1.0]}, store.path("P1", "z", "default"), profile="default")
