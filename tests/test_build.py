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
