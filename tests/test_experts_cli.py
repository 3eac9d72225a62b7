import json

import pandas as pd

from safetensors.torch import load_file

from workbench.cli.main import main
from workbench.io import load_frame


def test_experts_train_and_eval_on_the_tiny_backbone(tmp_path, capsys):
    out = tmp_path / "mix"
    assert main(["experts", "train", "--backbone", "tiny-llama", "--epochs", "1", "--limit", "16",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "held-out accuracy" in text and all(n in text for n in ("uncalibrated", "temperature", "fractal",
                                                                    "natural", "mixed"))
    report = json.loads((out / "report.json").read_text())
    assert report["axes"] == ["helpful", "harmless", "honest"]
    assert sum(map(sum, report["confusion"])) == report["test"]["n"]
    assert set(report["test"]) >= {"uncalibrated", "temperature", "fractal", "natural", "mixed"}
    routing = load_frame(out / "routing")
    assert set(routing["split"]) == {"calibration", "test"} and routing["fractal"].between(0, 3.5).all()
    assert (routing["split"] == "test").sum() == report["test"]["n"]
    assert set(load_file(out / "router.safetensors")) and (out / "harmless" / "adapter_model.safetensors").is_file()
    assert main(["experts", "eval", str(out)]) == 0
    assert "confusion" in capsys.readouterr().out
    assert main(["experts", "eval", str(tmp_path)]) == 1
    assert "no report.json" in capsys.readouterr().err

    assert main(["experts", "generate", str(out), "Is the moon made of cheese?", "--max-new-tokens", "3",
                 "--calibrator", "mixed"]) == 0
    text = capsys.readouterr().out
    assert "routing (mixed, top-1, per prompt): helpful" in text and "mode routed" in text
    assert main(["experts", "generate", str(out), "Is the moon made of cheese?", "--max-new-tokens", "3",
                 "--top-k", "3", "--level", "token"]) == 0
    assert "routing (temperature, top-3, per token)" in capsys.readouterr().out
    assert main(["experts", "generate", str(out), "Hi", "--mode", "everything"]) == 1
    assert "unknown mode 'everything'" in capsys.readouterr().err

    csv = tmp_path / "hhh.csv"
    assert main(["experts", "eval", str(out), "--hhh", "--judge", "tiny-llama", "--limit", "1",
                 "--max-new-tokens", "3", "--ablation", "--out", str(csv)]) == 0
    text = capsys.readouterr().out
    assert "pairwise:tiny-llama" in text and "routed" in text and "merged" in text
    assert "Calibration ablation" in text and "weights_changed" in text
    metrics = pd.read_csv(csv)
    calibrated = {f"routed[{c}]" for c in ("uncalibrated", "temperature", "fractal", "natural", "mixed")}
    assert set(metrics["system"]) == {"base", "helpful", "harmless", "honest", "routed", "routed top-1", "merged",
                                      *calibrated}
    assert metrics["value"].between(-0.5, 1).all()


def test_switching_calibrators_off(tmp_path, capsys):
    out = tmp_path / "mix"
    assert main(["experts", "train", "--backbone", "tiny-llama", "--epochs", "1", "--limit", "8", "--no-fractal",
                 "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert set(report["test"]) == {"n", "accuracy", "uncalibrated", "temperature", "natural"}
    assert "fractal" not in capsys.readouterr().out
