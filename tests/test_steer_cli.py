import pandas as pd
import pytest

from workbench.cli.main import main


@pytest.fixture
def pairs(tmp_path):
    path = tmp_path / "pairs.csv"
    pd.DataFrame({"prompt": ["Say something.", "Answer me.", "Go on.", "Tell me."],
                  "positive": ["yes yes yes", "yes indeed", "yes of course", "yes, gladly"],
                  "negative": ["no no no", "no never", "no not at all", "no, sorry"]}).to_csv(path, index=False)
    return path


def test_steer_train_generate_sweep_and_ambs(tmp_path, pairs, capsys):
    vec = tmp_path / "v.safetensors"
    assert main(["steer", "train", "--pairs", str(pairs), "--model", "tiny-llama", "--layers", "0,-1",
                 "--aggregator", "learned_cosine", "--out", str(vec)]) == 0
    assert "learned_cosine vectors from 4 pairs" in capsys.readouterr().out
    assert main(["steer", "generate", "Hello", "--vector", str(vec), "--multiplier", "4", "--layer", "0",
                 "--max-new-tokens", "3"]) == 0
    text = capsys.readouterr().out
    assert "unsteered:" in text and "steered (×4 at layer(s) 0)" in text
    out = tmp_path / "sweep.csv"
    assert main(["steer", "sweep", "--vector", str(vec), "--pairs", str(pairs), "--multipliers=-1,0,1",
                 "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert len(table) == 6 and table["behaviour_p"].between(0, 1).all()
    other = tmp_path / "w.safetensors"
    assert main(["steer", "train", "--pairs", str(pairs), "--model", "tiny-llama", "--layers", "0",
                 "--out", str(other)]) == 0
    capsys.readouterr()
    assert main(["steer", "ambs", "Hello", "--vectors", f"{vec},{other}", "--layer", "0", "--multipliers", "2,-2",
                 "--max-new-tokens", "3"]) == 0
    text = capsys.readouterr().out
    assert "reference:" in text and "v:" in text and "w:" in text and "KL(branch ‖ reference)" in text
    assert main(["steer", "ambs", "Hello", "--vectors", f"{vec},{other}", "--layer", "1"]) == 1
    assert "has no layer 1" in capsys.readouterr().err


def test_steer_errors(tmp_path, pairs, capsys):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"prompt": ["x"], "good": ["y"], "negative": ["z"]}).to_csv(bad, index=False)
    assert main(["steer", "train", "--pairs", str(bad), "--model", "tiny-llama", "--layers", "0",
                 "--out", str(tmp_path / "v.safetensors")]) == 1
    assert "no column 'positive'" in capsys.readouterr().err
    assert main(["steer", "generate", "Hi", "--vector", str(tmp_path / "none.safetensors")]) == 1
    assert "no such steering vector file" in capsys.readouterr().err
    assert main(["steer", "train", "--pairs", str(pairs), "--model", "tiny-llama", "--layers", "0",
                 "--aggregator", "median", "--out", str(tmp_path / "v.safetensors")]) == 1
    assert "unknown aggregator 'median'" in capsys.readouterr().err
