"""Check ``--track mlflow`` against the real MLflow (which the lock does not install): log a small run through
``workbench.tracking`` into a temporary store, read it back with MLflow's own client and compare.

    pip install mlflow && python scripts/check_mlflow_tracking.py

Ends with ``mlflow_check: ok`` (exit 0) or one line saying what differed (exit 1). Only ``workbench.tracking``
and MLflow are imported, so it also runs in a small environment with just mlflow and this folder on the path.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    try:
        import mlflow
    except ImportError:
        print("mlflow_check: mlflow is not installed (pip install mlflow)")
        return 1
    from workbench.tracking import EXPERIMENT, tracking, tracking_uri

    losses = [0.9, 0.7, 0.5]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        meta = {"command": "meme train", "profile": "default"}
        for _ in range(2):                                        # a second run reuses the experiment
            with tracking("mlflow", "meme train", meta=meta, root=root) as tracker:
                update = tracker.watch(lambda f, m: None)
                for step, loss in enumerate(losses, start=1):
                    update(step / 3, f"knowledge head epoch {step}/3: loss {loss:.3f}")
                tracker.log_metrics({"knowledge": {"macro_f1": 0.875}})
        client = mlflow.tracking.MlflowClient(tracking_uri=tracking_uri(root / "mlflow"))
        experiment = client.get_experiment_by_name(EXPERIMENT)
        runs = client.search_runs([experiment.experiment_id])
        history = [(m.step, m.value) for m in client.get_metric_history(runs[0].info.run_id, "knowledge head/loss")]
        saved = Path(client.download_artifacts(runs[0].info.run_id, "meta.json", tmp))
        problems = [what for what, ok in (
            ("two finished runs", len(runs) == 2 and all(r.info.status == "FINISHED" for r in runs)),
            ("the loss curve", history == [(s, v) for s, v in enumerate(losses, start=1)]),
            ("the result metric", runs[0].data.metrics.get("metrics/knowledge/macro_f1") == 0.875),
            ("meta.json", json.loads(saved.read_text()) == meta),
            ("artifacts inside the store", experiment.artifact_location.startswith((root / "mlflow").resolve()
                                                                                   .as_uri())))
            if not ok]
    print(f"mlflow {mlflow.__version__}: {len(runs)} runs, loss history {history}")
    if problems:
        print("mlflow_check: differs in " + ", ".join(problems))
        return 1
    print("mlflow_check: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
