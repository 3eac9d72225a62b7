"""Run tracking (`--track`): progress messages parsed into scalars, TensorBoard event files that read back with the
losses a tiny training run reported, the MLflow adapter's calls, and one clear line when the package is absent."""
from __future__ import annotations

import json
import sys
import types

import pytest

from workbench import WorkbenchError, tracking
from workbench.cli.main import main


@pytest.mark.parametrize("message, expected", [
    ("helpful: step 3/40, loss 0.412", (3, {"helpful/loss": 0.412})),
    ("image tagger epoch 2: loss 1.250", (2, {"image tagger/loss": 1.25})),
    ("knowledge+lora head epoch 1/3: loss 0.700, dev macro-F1 0.455",
     (1, {"knowledge+lora head/loss": 0.7, "knowledge+lora head/macro-F1": 0.455})),
    ("p: 0.25", (None, {"p": 0.25})),
    ("scoring 3 detectors: 5/10", (None, {})),
    ("loading smollm2-135m", (None, {})),
])
def test_scalars_are_read_from_progress_messages(message, expected):
    assert tracking.parse_scalars(message) == expected


def test_flatten_keeps_finite_numbers_only():
    got = tracking.flatten({"a": {"b": 1, "c": [0.5, float("nan")]}, "ok": True, "name": "x", "none": None}, "m")
    assert got == {"m/a/b": 1.0, "m/a/c/0": 0.5}


def _read_events(folder) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_watch_forwards_progress_and_writes_planted_losses(tmp_path):
    seen = []
    losses = [2.0, 1.5, 1.125, 0.875]
    with tracking.tracking("tensorboard", "demo train", meta={"command": "demo train"}, root=tmp_path) as tracker:
        report = tracker.watch(lambda a, b=None: seen.append((a, b)))
        for i, loss in enumerate(losses, 1):
            report(i / len(losses), f"epoch {i}: loss {loss:.3f}")
        report(3, 10)                                  # a count: forwarded, nothing logged
        tracker.log_metrics({"dev": {"accuracy": 0.75}})
    assert len(seen) == len(losses) + 1 and seen[-1] == (3, 10)
    (run,) = (tmp_path / "tensorboard").iterdir()
    assert run.name.startswith("demo-train-")
    events = _read_events(run)
    assert events["loss"] == [(i, pytest.approx(v)) for i, v in enumerate(losses, 1)]
    assert events["metrics/dev/accuracy"] == [(0, 0.75)]
    assert json.loads((run / "meta.json").read_text()) == {"command": "demo train"}


def test_off_means_the_callback_itself_and_no_store(tmp_path, monkeypatch):
    monkeypatch.setattr(tracking, "runs_dir", lambda: tmp_path / "runs")
    tracker = tracking.open_tracker(None, "x")
    callback = print
    assert tracker.watch(callback) is callback
    tracker.log(1, loss=1.0)
    assert not (tmp_path / "runs").exists()


def test_experts_train_tracked_with_tensorboard_logs_its_losses(tmp_path, monkeypatch, capsys):
    """A tiny training run (tiny Llama, 4 optimiser steps per expert) writes event files whose loss curves start
    and end where the run's report says."""
    monkeypatch.setattr(tracking, "runs_dir", lambda: tmp_path / "runs")
    out = tmp_path / "mix"
    assert main(["experts", "train", "--backbone", "tiny-llama", "--epochs", "1", "--limit", "8", "--batch-size",
                 "2", "--no-fractal", "--no-natural", "--out", str(out), "--track", "tensorboard"]) == 0
    assert "tracked with tensorboard" in capsys.readouterr().err
    (run,) = (tmp_path / "runs" / "tensorboard").iterdir()
    events = _read_events(run)
    report = json.loads((out / "report.json").read_text())
    for axis, (first, last) in report["expert_losses"].items():
        curve = events[f"{axis}/loss"]
        assert [step for step, _ in curve] == [1, 2, 3, 4], axis
        assert curve[0][1] == pytest.approx(first, abs=5e-4) and curve[-1][1] == pytest.approx(last, abs=5e-4)
    assert events["metrics/test/accuracy"][0][1] == pytest.approx(report["test"]["accuracy"])
    meta = json.loads((run / "meta.json").read_text())
    assert meta["command"] == "experts train" and meta["args"]["batch_size"] == 2 and meta["profile"] == "default"


def test_a_missing_backend_is_one_line_saying_how_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)        # import fails as when not installed
    with pytest.raises(WorkbenchError, match=r"needs the tensorboard package: pip install 'workbench\[track\]'"):
        tracking.open_tracker("tensorboard", "x", root=tmp_path)
    monkeypatch.setitem(sys.modules, "mlflow", None)
    monkeypatch.setattr(tracking, "runs_dir", lambda: tmp_path / "runs")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("prompt,positive,negative\nq,yes,no\n")
    assert main(["steer", "train", "--pairs", str(pairs), "--model", "tiny-llama", "--layers", "0",
                 "--out", str(tmp_path / "v.safetensors"), "--track", "mlflow"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --track mlflow needs the mlflow package: pip install 'workbench[track]' "
                   "(or: pip install mlflow)"]
    with pytest.raises(WorkbenchError, match="unknown tracking backend 'wandb'; choose from tensorboard, mlflow"):
        tracking.open_tracker("wandb", "x", root=tmp_path)


def test_mlflow_adapter_logs_to_a_local_sqlite_store(tmp_path, monkeypatch):
    """The adapter's calls, against a stand-in (mlflow is not in the lock); `scripts/check_mlflow_tracking.py`
    checks the same against the real package where it is installed."""
    calls, experiments = [], {}

    def create(name, artifact_location):
        calls.append(("create", name, artifact_location))
        experiments[name] = artifact_location

    fake = types.SimpleNamespace(
        set_tracking_uri=lambda uri: calls.append(("uri", uri)),
        get_experiment_by_name=experiments.get, create_experiment=create,
        exceptions=types.SimpleNamespace(MlflowException=RuntimeError),
        set_experiment=lambda name: calls.append(("experiment", name)),
        start_run=lambda run_name: calls.append(("start", run_name)),
        log_metrics=lambda metrics, step: calls.append(("metrics", metrics, step)),
        log_dict=lambda data, name: calls.append(("dict", data, name)),
        end_run=lambda: calls.append(("end",)))
    monkeypatch.setitem(sys.modules, "mlflow", fake)
    with tracking.tracking("mlflow", "meme train", meta={"command": "meme train"}, root=tmp_path) as tracker:
        tracker.watch(lambda *a: None)(0.5, "none head epoch 2/3: loss 0.250")
        tracker.watch(lambda *a: None, "judge")(0.5, "epoch 1: loss 0.5")
    store = (tmp_path / "mlflow").resolve()
    assert calls[0] == ("uri", f"sqlite:///{store / 'mlflow.db'}")
    assert calls[1] == ("create", "workbench", (store / "artifacts").as_uri())     # artifacts inside the store
    assert calls[2] == ("experiment", "workbench") and calls[3][0] == "start"
    assert ("dict", {"command": "meme train"}, "meta.json") in calls
    assert ("metrics", {"none head/loss": 0.25}, 2) in calls and calls[-1] == ("end",)
    assert ("metrics", {"judge/loss": 0.5}, 1) in calls
    calls.clear()
    with tracking.tracking("mlflow", "meme train", root=tmp_path):                # the experiment exists now
        pass
    assert [c[0] for c in calls] == ["uri", "experiment", "start", "end"]
