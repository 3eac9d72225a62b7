import pandas as pd
import pytest

from workbench import WorkbenchError, build, io
from workbench.profiles import get_profile


@pytest.fixture
def toy_builder(monkeypatch):
    calls = []

    def run(ctx):
        for i in range(3):
            ctx.progress(i / 3, f"step {i}")
        calls.append(ctx.smoke)
        io.save_frame(pd.DataFrame({"x": [1, 2]}), ctx.path("P5", "toy"), profile=ctx.profile.name, seed=ctx.seed)

    monkeypatch.setattr(build, "BUILDERS", {})
    build.register_builder("P5", "toy", "a toy artifact")(run)
    return calls


def test_build_runs_missing_builders_once(store, toy_builder):
    seen = []
    ctx = build.BuildContext(store, get_profile("default"), smoke=True, progress=lambda f, m: seen.append((f, m)))
    assert build.build_status("P5", "default", store) == {"toy": False}
    assert build.build_paper("P5", ctx) == ["toy"]
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("toy: step 1" in m for _, m in seen)
    assert build.build_status("P5", "default", store) == {"toy": True}
    assert build.build_paper("P5", ctx) == []            # already built: nothing runs again
    assert build.build_paper("P5", ctx, force=True) == ["toy"]
    assert toy_builder == [True, True]
    assert io.read_meta(store.path("P5", "toy", "default")).profile == "default"


def test_paper_without_builders(store, toy_builder):
    assert build.build_status("P1", "default", store) == {}
    with pytest.raises(WorkbenchError, match="no builders are registered for P1"):
        build.build_paper("P1", build.BuildContext(store, get_profile("default")))


def test_prepare_models_is_idempotent():
    build.prepare_models(["tiny-gpt2"])
    assert build.prepare_models(["tiny-gpt2"]) == []


def test_prepare_reports_unavailable_models(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(WorkbenchError, match="not in the local Hugging Face cache"):
        build.prepare_models(["videomae-base"])


def test_only_builds_the_named_artifacts_and_times_them(store, toy_builder):
    def other(ctx):
        io.save_frame(pd.DataFrame({"y": [3]}), ctx.path("P5", "other"), profile=ctx.profile.name, seed=ctx.seed)

    build.register_builder("P5", "other", "another toy artifact")(other)
    ctx = build.BuildContext(store, get_profile("default"), smoke=True)
    seconds = {}
    assert build.build_paper("P5", ctx, only=["other"], seconds=seconds) == ["other"]
    assert build.build_status("P5", "default", store) == {"toy": False, "other": True}
    assert list(seconds) == ["other"] and seconds["other"] >= 0
    assert build.build_paper("P5", ctx, only=["other"]) == []                 # built: nothing to do
    assert build.build_paper("P5", ctx) == ["toy"]
    for bad in (["nope"], []):
        with pytest.raises(WorkbenchError, match="P5 has no artifact '(nope)?'; choose from other, toy"):
            build.build_paper("P5", ctx, only=bad)


def test_build_cli_only_and_its_times(store, toy_builder, capsys, monkeypatch):
    import json

    from workbench.cli.main import main

    monkeypatch.setattr(build, "discover", lambda: None)
    monkeypatch.setenv("WORKBENCH_ARTIFACTS", str(store.root))
    assert main(["build", "P5", "--smoke", "--only", "toy", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["seeds"][0]["built"] == ["toy"] and set(out["seeds"][0]["seconds"]) == {"toy"}
    assert main(["build", "P5", "--smoke", "--only", "toy", "--force"]) == 0
    assert "P5: built toy (" in capsys.readouterr().out
    assert main(["build", "P5", "--only", "nope"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "P5 has no artifact 'nope'; choose from toy" in err[0]
