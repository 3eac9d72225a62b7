import subprocess
import sys
from pathlib import Path

import pytest

from workbench.cli.main import main


def test_papers(capsys):
    assert main(["papers"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = [line for line in out if line.startswith("P")]
    assert [r.split()[0] for r in rows] == [f"P{i}" for i in range(1, 11)]
    assert any("TrinityX" in r for r in rows)


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "device:   cpu" in out and "profile:  default" in out
    for name in ("smollm2-135m-instruct", "minilm-l6", "whisper-base"):
        assert name in out


def test_models_list_paper_profile(capsys):
    assert main(["models", "list", "--profile", "paper"]) == 0
    out = capsys.readouterr().out
    assert "mistral-7b-instruct-v0.3" in out and "smollm2" not in out


def test_generate_with_tiny_model(capsys):
    assert main(["generate", "--model", "tiny-llama", "--max-new-tokens", "3", "hello"]) == 0
    out = capsys.readouterr().out
    assert out.endswith("\n")   # a random tiny model may emit only whitespace; the command must still succeed


def test_errors_are_one_line_without_traceback(capsys):
    assert main(["generate", "--model", "nope", "hi"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unknown model 'nope'") and err.count("\n") == 1 and "Traceback" not in err
    assert main(["--device", "cuda", "info"]) == 1
    assert "not available on this machine" in capsys.readouterr().err
    assert main(["generate", "--model", "minilm-l6", "hi"]) == 1
    assert "is a sentence-encoder, not a causal LM" in capsys.readouterr().err


def test_build_without_builders_is_one_line(capsys, monkeypatch):
    from workbench import build

    monkeypatch.setattr(build, "BUILDERS", {})          # every paper has builders now: pretend P5 had none
    monkeypatch.setattr(build, "BUILDER_MODULES", ())
    assert main(["build", "P5"]) == 1
    err = capsys.readouterr().err
    assert "error: no builders are registered for P5 yet\n" in err and "Traceback" not in err


def test_missing_paper_model_from_cli(capsys, tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    assert main(["--profile", "paper", "generate", "hello"]) == 1
    err = capsys.readouterr().err
    assert "llama-3.1-8b-instruct" in err and "hf download meta-llama/Llama-3.1-8B-Instruct" in err


def test_prepare_is_a_no_op_when_ready(capsys):
    assert main(["prepare", "--models", "tiny-gpt2"]) == 0
    main(["prepare", "--models", "tiny-gpt2"])
    assert "nothing to do" in capsys.readouterr().out


@pytest.mark.slow
def test_console_script_answers_paris():
    exe = str(Path(sys.executable).parent / "workbench")
    result = subprocess.run([sys.executable, "-m", "workbench.cli", "generate", "--model", "smollm2-135m-instruct",
                             "What is the capital of France?"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Paris" in result.stdout
    help_text = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert help_text.returncode == 0 and "generate" in help_text.stdout


def test_build_seeds_writes_each_extra_seed_to_its_own_store(tmp_path, monkeypatch, capsys):
    from workbench import build

    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))
    monkeypatch.delenv("WORKBENCH_ARTIFACTS", raising=False)
    calls = []
    monkeypatch.setattr(build, "build_paper", lambda paper, ctx, force=False, **_: calls.append(
        (paper, ctx.seed, ctx.store.root.relative_to(tmp_path).as_posix())) or ["toy"])
    assert main(["build", "P1", "--smoke", "--seed", "4", "--seeds", "3"]) == 0
    assert calls == [("P1", 4, "artifacts"), ("P1", 5, "artifacts/seeds/seed-5"), ("P1", 6, "artifacts/seeds/seed-6")]
    out = capsys.readouterr().out
    assert "P1 (seed 6): built toy" in out
    assert main(["build", "P1", "--seeds", "0"]) == 1
    assert "--seeds must be at least 1" in capsys.readouterr().err
