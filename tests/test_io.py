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
    monkeypatch.setattr(io.artifacts, "_write_meta", lambda folder, meta: (_ for _ in ()).throw(KeyboardInterrupt()))
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


# --- module weights and build-once folders ------------------------------------------------------------------

def test_weights_round_trip_torch_and_numpy(tmp_path):
    import numpy as np

    module = torch.nn.Linear(3, 2)
    io.save_weights(tmp_path, "head", module.state_dict(), {"in": 3, "out": 2, "labels": ["a", "b"]})
    state, config = io.load_weights(tmp_path, "head")
    assert config == {"in": 3, "labels": ["a", "b"], "out": 2}
    fresh = torch.nn.Linear(3, 2)
    fresh.load_state_dict(state)
    assert torch.equal(fresh.weight, module.weight)
    io.save_weights(tmp_path, "student", {"weight": np.arange(6, dtype=np.float32).reshape(2, 3)}, {})
    arrays, _ = io.load_weights(tmp_path, "student", numpy=True)
    assert arrays["weight"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_load_weights_names_the_missing_or_corrupt_file(tmp_path):
    with pytest.raises(ArtifactError, match="head.safetensors: missing"):
        io.load_weights(tmp_path, "head")
    io.save_weights(tmp_path, "head", {"w": torch.zeros(2)}, {})
    (tmp_path / "head.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ArtifactError, match="cannot be read"):
        io.load_weights(tmp_path, "head")


def test_build_once_builds_a_keyed_folder_once_and_never_leaves_a_partial_one(tmp_path):
    calls = []

    def build(tmp):
        calls.append(tmp)
        (tmp / "done.json").write_text("{}")

    key = io.config_key({"b": 1, "a": [1, 2]})
    assert key == io.config_key({"a": [1, 2], "b": 1}) and len(key) == 12
    assert key != io.config_key({"a": [1, 2], "b": 2})
    folder = tmp_path / f"model-{key}"
    assert io.build_once(folder, build) == folder and (folder / "done.json").is_file()
    io.build_once(folder, build)
    assert len(calls) == 1

    def fail(tmp):
        (tmp / "half.bin").write_bytes(b"x")
        raise RuntimeError("boom")

    other = tmp_path / "other"
    with pytest.raises(RuntimeError):
        io.build_once(other, fail)
    assert not other.exists() and [p.name for p in tmp_path.iterdir()] == [folder.name]
    # a folder from before atomic builds counts only when its completion file is there
    old = tmp_path / "old"
    old.mkdir()
    io.build_once(old, build, complete="done.json")
    assert (old / "done.json").is_file() and len(calls) == 2
