"""Every dashboard view through Streamlit's AppTest (no browser)."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.registry import discover
from workbench.papers import all_papers

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")


def _markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown) + "\n".join(c.value for c in at.caption)


def _view_app(key: str, artifacts=None) -> AppTest:
    """An AppTest that renders one registered view on its own (reading artifacts from ``artifacts`` if given)."""
    env = f"os.environ['WORKBENCH_ARTIFACTS'] = {str(artifacts)!r}" if artifacts is not None else ""
    script = f"""
import os, sys
sys.path.insert(0, {str(ROOT)!r})
{env}
from dashboard.registry import discover
next(v for v in discover() if v.key == {key!r}).render()
"""
    return AppTest.from_string(script, default_timeout=120)


@pytest.fixture(scope="module")
def p1_smoke(tmp_path_factory):
    """An artifact store holding P1's smoke build: built once for the views that read it (taxonomy, funnel); the
    views only read it, and each test checks its view on an empty store of its own first."""
    from workbench.build import BuildContext, build_paper, discover
    from workbench.io import ArtifactStore
    from workbench.profiles import get_profile

    root = tmp_path_factory.mktemp("p1-smoke")
    discover()
    build_paper("P1", BuildContext(ArtifactStore(root), get_profile("default"), smoke=True))
    return root


def test_views_are_registered_with_unique_keys():
    views = discover()
    keys = [v.key for v in views]
    assert keys[0] == "home" and "models" in keys and len(set(keys)) == len(keys)
    assert sum(v.default for v in views) == 1


def test_app_starts_on_home_with_banner_and_ten_papers():
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    text = _markdown(at)
    assert "Profile **default** · device **cpu**" in text
    for paper in all_papers():
        assert f"**{paper.id} — {paper.short_name}**" in text
    assert at.title[0].value.startswith("Alignment")


@pytest.mark.parametrize("key", [v.key for v in discover()])
def test_every_view_renders(key):
    at = _view_app(key).run()
    assert not at.exception, at.exception


def test_home_reports_artifact_status_and_notebooks():
    at = _view_app("home").run()
    text = _markdown(at)
    # every paper has builders now: each shows how many of its artifacts are built
    assert text.count("Artifacts: ") == len(all_papers()) and "no builder registered yet" not in text
    assert " built]" in text
    assert "notebooks/P1_mis_align_bench.py" in text


def test_model_zoo_lists_models_and_switches_profile():
    at = _view_app("models").run()
    frame = at.dataframe[0].value
    assert set(frame["name"]) == {"smollm2-135m-instruct", "minilm-l6", "whisper-base"}
    at.segmented_control(key="zoo-profile").set_value("paper").run()
    assert "mistral-7b-instruct-v0.3" in set(at.dataframe[0].value["name"])
    assert any("not on this machine" in i.value for i in at.info)


def test_model_zoo_rejects_an_empty_prompt():
    at = _view_app("models").run()
    at.text_input[0].set_value("   ").run()
    at.button(key="generate").click().run()
    assert any("Type a prompt first" in e.value for e in at.error)


@pytest.mark.slow
def test_model_zoo_runs_the_default_models():
    at = _view_app("models").run()
    at.button(key="generate").click().run()
    assert any("Paris" in m.value for m in at.markdown)
    at.button(key="compare").click().run()
    assert float(at.metric[0].value) > 0.5


# A stand-in for `workbench build P5`: progress lines, a pause, then the toy artifact the panel checks for.
FAKE_BUILD = """
import sys, time
import pandas as pd
from workbench import io
pause = float(sys.argv[1])
for i in range(5):
    print(f"building P5: {25 * i}%| step {i}/4", flush=True)
    time.sleep(pause)
io.save_frame(pd.DataFrame({"x": [1]}), io.ArtifactStore().path("P5", "toy", "default"), profile="default")
"""


@pytest.fixture
def fake_builds(tmp_path, monkeypatch):
    """A home of its own for the jobs, and `build P…` replaced by FAKE_BUILD (``pause`` seconds a step) with only
    a toy P5 builder registered (AppTest runs in this process; the registry is left as found)."""
    import sys

    from workbench import build, jobs

    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WORKBENCH_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.setattr(build, "BUILDERS", {("P5", "toy"): build.Builder("P5", "toy", "toy", lambda ctx: None)})
    monkeypatch.setattr(build, "BUILDER_MODULES", ())
    pause = {"s": 0.05}
    monkeypatch.setattr(jobs, "build_command",
                        lambda paper, **kw: [sys.executable, "-c", FAKE_BUILD, str(pause["s"])])
    yield pause
    for job in jobs.all_jobs():
        jobs.cancel(job.paper)


def _wait_job(paper: str, timeout: float = 30.0):
    import time

    from workbench import jobs

    deadline = time.time() + timeout
    while time.time() < deadline:
        job = jobs.get(paper)
        if job is not None and not job.active:
            return job
        time.sleep(0.1)
    raise AssertionError(f"{paper}'s job did not end: {jobs.get(paper)}")


def _panel_app() -> AppTest:
    return AppTest.from_string(f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from dashboard.components import build_panel
build_panel("P5", smoke=True)
""", default_timeout=60)


def test_build_panel_runs_the_build_as_a_background_job(fake_builds):
    from workbench import jobs

    fake_builds["s"] = 0.6
    at = _panel_app().run()
    assert any("Not built yet" in w.value for w in at.warning)
    at.button(key="build-P5").click().run()
    assert not at.exception, at.exception
    job = jobs.get("P5")
    assert job.active and job.command[-1] == "0.6"
    bars = at.get("progress")
    assert bars and "P5 building" in bars[0].proto.text
    assert at.button(key="cancel-P5")                                   # a running build can be cancelled
    at = _panel_app().run()                                             # a new page (reload) sees the same job
    assert at.get("progress") and at.button(key="cancel-P5")
    done = _wait_job("P5")
    assert done.status == "done" and jobs.progress(done).fraction == 1.0
    at.run()
    assert any("artifacts are built" in s.value for s in at.success)


def test_build_panel_cancels_a_running_build(fake_builds):
    from workbench import jobs

    fake_builds["s"] = 30
    at = _panel_app().run()
    at.button(key="build-P5").click().run()
    assert jobs.get("P5").active
    at.button(key="cancel-P5").click().run()
    assert not at.exception, at.exception
    assert jobs.get("P5").status == "cancelled"
    assert any("Not built yet" in w.value for w in at.warning)
    assert any("cancelled" in e.value for e in at.error)                # the last build's end is shown
    assert at.button(key="build-P5")                                    # and it may be started again


def test_home_shows_every_job_and_its_table_downloads(fake_builds):
    from workbench import jobs

    fake_builds["s"] = 30
    jobs.start("P5", jobs.build_command("P5", profile="default"))
    at = _view_app("home").run()
    assert not at.exception, at.exception
    frame = next(d.value for d in at.dataframe if "status" in d.value.columns)
    assert frame[["paper", "status"]].values.tolist() == [["P5", "running"]]
    assert any("P5 building" in b.proto.text for b in at.get("progress"))
    assert "CSV" in [d.proto.label for d in at.get("download_button")]
    at.button(key="home-cancel-P5").click().run()
    assert jobs.get("P5").status == "cancelled"
    frame = next(d.value for d in at.dataframe if "status" in d.value.columns)
    assert frame["status"].tolist() == ["cancelled"]


def test_every_table_and_figure_helper_offers_its_download(monkeypatch):
    """The shared helpers: CSV of the table shown, a self-contained HTML of the figure, unique file names."""
    import pandas as pd
    import plotly.graph_objects as go
    import streamlit as st

    from dashboard import components

    offered = []

    def fake_download(label, data, file_name, **kw):
        if file_name in [f for _, f, _ in offered]:
            from streamlit.errors import StreamlitDuplicateElementId

            raise StreamlitDuplicateElementId("download_button")
        offered.append((label, file_name, data()))

    monkeypatch.setattr(st, "download_button", fake_download)
    monkeypatch.setattr(st, "dataframe", lambda *a, **kw: None)
    monkeypatch.setattr(st, "plotly_chart", lambda *a, **kw: None)
    frame = pd.DataFrame({"system": ["a", "b"], "score": [0.25, 0.75]})
    components.show_table(frame, name="Scores", hide_index=True)
    components.show_table(frame.set_index("system"), name="Scores")
    components.show_figure(go.Figure(go.Bar(x=["a"], y=[1]), layout={"title": {"text": "Score <b>by</b> system"}}))
    (l1, f1, csv1), (l2, f2, csv2), (l3, f3, html) = offered[:3]
    assert (l1, f1) == ("CSV", "scores.csv") and pd.read_csv(__import__("io").BytesIO(csv1)).equals(frame)
    assert (l2, f2) == ("CSV", "scores-2.csv") and csv2.decode().splitlines()[0] == "system,score"
    assert (l3, f3) == ("HTML", "score-by-system.html")
    assert b"<html>" in html and b"<script src=" not in html and len(html) > 1_000_000    # plotly.js inside
    assert len(offered) == 3 + (__import__("importlib").util.find_spec("kaleido") is not None)


def test_taxonomy_view_without_and_with_artifacts(tmp_path, p1_smoke):
    at = _view_app("taxonomy", tmp_path).run()
    assert not at.exception
    assert any("Not built yet" in w.value for w in at.warning)
    chart = at.get("plotly_chart")[0].proto.spec
    assert "structure; no dataset built" in chart
    at.text_input(key="tax-search").set_value("festival").run()
    assert set(at.dataframe[0].value["name"]) >= {"Festivals", "Festivals and Markets"}

    at = _view_app("taxonomy", p1_smoke).run()
    assert not at.exception
    assert any("artifacts are built" in s.value for s in at.success)
    assert "Seed prompts by top-1 domain" in at.get("plotly_chart")[0].proto.spec
    assert len(at.dataframe[-1].value) > 0                        # example prompts of the first domain


def test_funnel_view_without_and_with_artifacts(tmp_path, p1_smoke):
    at = _view_app("funnel", tmp_path).run()
    assert not at.exception
    assert any("Not built yet" in w.value for w in at.warning)

    from workbench.io import ArtifactStore, load_frame, load_records

    records = load_records(ArtifactStore(p1_smoke).path("P1", "construction_funnel", "default"))
    assert [r["stage"] for r in records] == ["classified", "after_expansion", "removed_by_dedup", "kept"]
    assert records[0]["ours"] == 20 and records[0]["paper"] is None and records[3]["paper"] == 47_803
    assert records[3]["ours"] == records[1]["ours"] - records[2]["ours"]
    decisions = load_frame(ArtifactStore(p1_smoke).path("P1", "construction_decisions", "default"))
    assert decisions["iteration"].min() == 0 and decisions["prompt"].notna().all()
    at = _view_app("funnel", p1_smoke).run()
    assert not at.exception
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    assert "Construction funnel" in charts[0] and "ours" in charts[0]
    assert "Response funnel" in charts[1] and "dropped" in charts[1]
    assert [m.label for m in at.metric][:2] == ["prompts answered", "candidates generated"]
    assert at.metric[1].value == str(len(decisions[decisions["iteration"] == 0]))


def _build_one(root, paper: str, builder, tiny_roles=()) -> None:
    """``builder`` in smoke mode on the default profile, with the models of ``tiny_roles`` replaced by the tiny test
    LM (recorded as such in the artifacts' meta, so a view that loads them loads the tiny LM too)."""
    from workbench.build import BuildContext
    from workbench.io import ArtifactStore
    from workbench.profiles import get_profile

    profile = get_profile("default").with_roles({role: ("tiny-llama",) for role in tiny_roles})
    builder(BuildContext(ArtifactStore(root), profile, smoke=True, paper=paper))


def test_tradeoff_view_without_and_with_artifacts(tmp_path):
    from workbench.evaluation.artifacts import build_detector_predictions
    from workbench.io import ArtifactStore, load_frame

    at = _view_app("tradeoffs", tmp_path).run()
    assert not at.exception and any("Not built yet" in w.value for w in at.warning)
    _build_one(tmp_path, "P2", build_detector_predictions)
    pred = load_frame(ArtifactStore(tmp_path).path("P2", "detector_predictions", "default"))
    assert set(pred["kind"]) == {"llm", "embedding", "always", "never"} and len(pred) == 10 * 20   # 2 models × 4 + 2
    assert set(pred["detector_dimension"]) == {"", "safety", "value", "culture"}
    at = _view_app("tradeoffs", tmp_path).run()
    assert not at.exception
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    assert "Trade-off profile" in charts[0] and "Trade-off matrix" in charts[1]
    assert "Single vs joint conditions" in charts[2] and "safety-only" in charts[2]
    table = at.dataframe[0].value
    assert table.set_index("model").loc["always", "Coverage"].startswith("100.0%")
    at.segmented_control(key="tradeoff-type").set_value("relation").run()
    assert not at.exception and "relation" in at.get("plotly_chart")[1].proto.spec


def test_rater_view_without_and_with_artifacts(tmp_path):
    from workbench.evaluation.artifacts import build_rater_agreement
    from workbench.io import ArtifactStore, load_records

    at = _view_app("raters", tmp_path).run()
    assert not at.exception and any("Not built yet" in w.value for w in at.warning)
    _build_one(tmp_path, "P4", build_rater_agreement)
    records = load_records(ArtifactStore(tmp_path).path("P4", "rater_agreement", "default"))
    assert records[0]["model"] == "smollm2-135m-instruct" and records[0]["n_items"] == 6
    at = _view_app("raters", tmp_path).run()
    assert not at.exception
    charts = " ".join(c.proto.spec for c in at.get("plotly_chart"))
    assert "human raters" in charts and "Threshold sweep" in charts and "Rating shares per gender group" in charts
    assert {"DS (personas, average)", "DS max"} <= set(at.dataframe[0].value.columns)
    at.segmented_control(key="raters-metric").set_value("eod").run()
    assert not at.exception
    at.selectbox(key="raters-attribute").set_value("rater_age").run()
    assert not at.exception and "Rating shares per age group" in " ".join(c.proto.spec for c in at.get("plotly_chart"))


def test_router_calibration_view_without_and_with_artifacts(tmp_path):
    from workbench.experts.artifacts import build_hhh_eval, build_router_calibration, build_shortcuts

    at = _view_app("router_calibration", tmp_path).run()
    assert not at.exception and any("Not built yet" in w.value for w in at.warning)
    _build_one(tmp_path, "P3", build_router_calibration, ["expert_backbone"])
    at = _view_app("router_calibration", tmp_path).run()
    assert not at.exception, at.exception
    charts = " ".join(c.proto.spec for c in at.get("plotly_chart"))
    for title in ("Routing calibration on held-out prompts", "Reliability diagram", "Per expert",
                  "Routing confusion", "Cost relative to a named baseline"):
        assert title in charts
    assert "AlignX top-2 routed (2 experts per prompt)" in charts and "dense mixture" in charts   # named sides
    assert any("not built yet" in i.value for i in at.info)
    before = next(c.value for c in at.caption if c.value.startswith("At T ="))
    at.slider(key="calib-temperature").set_value(3.0).run()
    assert not at.exception
    after = next(c.value for c in at.caption if c.value.startswith("At T ="))
    assert after.startswith("At T = 3.00") and after != before
    _build_one(tmp_path, "P3", build_hhh_eval, ["expert_backbone"])
    at = _view_app("router_calibration", tmp_path).run()
    assert not at.exception and "HHH evaluation" in " ".join(c.proto.spec for c in at.get("plotly_chart"))
    assert any("pairwise:smollm2-135m-instruct" in c.value for c in at.caption)
    assert "Calibration's effect on the outputs" in " ".join(c.proto.spec for c in at.get("plotly_chart"))
    assert any("trivial baselines" in i.value for i in at.info)
    _build_one(tmp_path, "P3", build_shortcuts, ["expert_backbone", "judge"])
    at = _view_app("router_calibration", tmp_path).run()
    assert not at.exception, at.exception
    assert "Trivial baselines" in [h.value for h in at.subheader]
    tables = [d.value for d in at.dataframe]
    assert any("refuse all" in set(t.get("system", ())) for t in tables)
    assert any("bag of words" in set(t.get("router", ())) for t in tables)
    at.segmented_control(key="calib-paper").set_value("P10").run()
    assert not at.exception and any("Not built yet" in w.value for w in at.warning)


def test_steering_view_without_and_with_artifacts(tmp_path):
    from workbench.steering.artifacts import build_clinical, build_steering

    at = _view_app("steering", tmp_path).run()
    assert not at.exception and any("Not built yet" in w.value for w in at.warning)
    _build_one(tmp_path, "P8", build_steering, ["steering_lm"])
    at = _view_app("steering", tmp_path).run()
    assert not at.exception, at.exception
    assert "Behaviour probability on held-out pairs" in " ".join(c.proto.spec for c in at.get("plotly_chart"))
    assert any("closer to positive at ×2" in str(d.value.columns.tolist()) for d in at.dataframe)
    assert any("not built yet" in i.value.lower() for i in at.info)
    at.slider(key="steer-tokens").set_value(8).run()
    at.button(key="steer-go").click().run()
    assert not at.exception, at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "Unsteered" in text and "AMBS branches" in text and "*harmless*" in text
    _build_one(tmp_path, "P7", build_clinical, ["steering_lm", "judge"])
    at = _view_app("steering", tmp_path).run()
    assert not at.exception and "Clinical QA with and without" in " ".join(c.proto.spec
                                                                             for c in at.get("plotly_chart"))


# ------------------------------------------------------------------------------------------------ structure


def _dashboard_sources():
    return {p.relative_to(ROOT).as_posix(): p.read_text() for p in (ROOT / "dashboard").rglob("*.py")}


def test_caches_live_in_one_module_and_views_load_no_models():
    import re

    sources = _dashboard_sources()
    assert "dashboard/cache.py" in sources
    caches = sorted(name for name, text in sources.items() if "st.cache_" in text and name != "dashboard/cache.py")
    assert not caches, f"st.cache_* outside dashboard/cache.py: {caches}"
    load = re.compile(r"\bmodels\.load\b|from\s+workbench\.models(\.\w+)?\s+import\s+[^\n]*\bload\b")
    loaders = sorted(name for name, text in sources.items()
                     if name.startswith("dashboard/views/") and load.search(text))
    assert not loaders, f"views that load a model themselves (use dashboard.cache): {loaders}"
    uploaders = sorted(name for name, text in sources.items() if "file_uploader(" in text)
    assert uploaders == ["dashboard/uploads.py"], uploaders


def test_the_cache_layer_never_trains_a_missing_model(tmp_path, monkeypatch):
    """Models gone from the models folder: a clear error naming the build command, no training."""
    from dataclasses import asdict

    import workbench.captioning.clap as clap
    import workbench.memes.ablation as memes
    from dashboard import cache
    from workbench import WorkbenchError
    from workbench.captioning.synth import SoundCorpusConfig

    def refuse(*args, **kwargs):
        raise AssertionError("the dashboard trained a model")

    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))
    for module, name in ((memes, "default_models"), (memes, "train_settings"), (clap, "default_scorer"),
                         (clap, "train_clap")):
        monkeypatch.setattr(module, name, refuse)
    cache.meme_models.clear()
    cache.caption_scorer.clear()
    with pytest.raises(WorkbenchError, match=r"meme models .* not on disk .*`workbench build P5 --force --smoke`"):
        cache.meme_models(cache.meme_models_key({"smoke": True}, "default"))
    clap_config = {"corpus": asdict(SoundCorpusConfig()), "clap": asdict(clap.ClapConfig())}
    with pytest.raises(WorkbenchError, match=r"audio-text model .* not on disk .*`workbench build P9 --force` "):
        cache.caption_scorer(cache.scorer_key(clap_config), "default")
    with pytest.raises(WorkbenchError, match=r"deepfake model .* not on disk .*`workbench build P6 --force` first"):
        cache.deepfake_model(str(tmp_path / "gone"), "missing")


def test_upload_widget_helpers_clean_up(temp_dir, monkeypatch):
    from dashboard import uploads
    from workbench import WorkbenchError

    def refuse(path):
        raise WorkbenchError(f"cannot decode {path}")

    with pytest.raises(WorkbenchError, match=r"^cannot decode bad\.wav$"):
        uploads.accept_upload("bad.wav", b"RIFF", 1024, {"audio": (".wav",)}, "up", check=refuse)
    assert not list((temp_dir / "up").iterdir())                                 # the refused file is removed
    path, value = uploads.accept_upload("ok.wav", b"RIFF", 1024, {"audio": (".wav",)}, "up", check=lambda p: 7)
    assert value == 7 and path.read_bytes() == b"RIFF"
    monkeypatch.setattr(uploads, "KEEP", 3)
    paths = [uploads.save_upload(f"{i}.wav", bytes([i + 1]) * 8, 1024, {"audio": (".wav",)}, "up") for i in range(5)]
    assert paths[-1].is_file() and len(list((temp_dir / "up").iterdir())) == 3  # the oldest are pruned


def test_uploads_are_removed_after_use_and_at_start(temp_dir):
    from dashboard import uploads

    kinds = {"audio": (".wav",)}
    first = uploads.save_upload("a.wav", b"RIFF-a", 1024, kinds, "workbench-test-uploads")
    second = uploads.save_upload("b.wav", b"RIFF-b", 1024, kinds, "workbench-test-uploads")
    state = {}
    uploads._forget(state, "w", first)                       # the widget holds the first upload
    uploads._forget(state, "w", second)                      # another file: the first one is removed
    assert not first.exists() and second.exists() and state == {"w-saved": str(second)}
    uploads._forget(state, "w", None)                        # the widget is cleared: nothing of it is left
    assert not second.exists() and state == {}
    kept = temp_dir / "unrelated.txt"
    kept.write_text("not an upload")
    left = uploads.save_upload("c.wav", b"RIFF-c", 1024, kinds, "workbench-other-uploads")
    assert uploads.clear_uploads() == 1 and not left.exists() and kept.exists()


def test_app_start_clears_earlier_uploads(temp_dir):
    from dashboard import cache, uploads

    left = uploads.save_upload("c.wav", b"RIFF-c", 1024, {"audio": (".wav",)}, "workbench-caption-uploads")
    cache.startup.clear()
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception and not left.exists()


def test_an_upload_over_the_limit_is_refused_with_a_clear_message(temp_dir):
    from dashboard import uploads
    from workbench import WorkbenchError

    with pytest.raises(WorkbenchError, match=r"^big\.wav: 2\.0 MB is over the 1\.0 MB limit for media files$"):
        uploads.save_upload("big.wav", b"x" * (2 * uploads.MB), uploads.MB, {"audio": (".wav",)}, "up")
    assert not (temp_dir / "up").exists()


def test_build_panel_checks_the_roles_file_and_passes_it_absolute(fake_builds, tmp_path, monkeypatch):
    from workbench import jobs

    seen = {}
    monkeypatch.setattr(jobs, "start", lambda paper, command, **kw: seen.setdefault("roles", command))
    monkeypatch.setattr(jobs, "build_command", lambda paper, **kw: kw["roles"])
    monkeypatch.chdir(tmp_path)
    at = AppTest.from_string(f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from dashboard.components import build_panel
build_panel("P5", roles=True)
""", default_timeout=60).run()
    at.text_input(key="roles-P5").set_value("missing.toml").run()
    assert any("Roles file:" in e.value and "missing.toml" in e.value for e in at.error)
    assert at.button(key="build-P5").disabled
    (tmp_path / "roles.toml").write_text('judge = "tiny-llama"\n')
    at.text_input(key="roles-P5").set_value("roles.toml").run()
    assert not at.error and not at.button(key="build-P5").disabled
    at.button(key="build-P5").click().run()
    assert seen["roles"] == str(tmp_path / "roles.toml")


def test_views_show_tables_and_figures_only_through_the_download_helpers():
    direct = sorted(name for name, text in _dashboard_sources().items()
                    if name.startswith("dashboard/views/") and ("st.dataframe(" in text or "st.plotly_chart(" in text))
    assert not direct, f"views calling st.dataframe / st.plotly_chart (use components.show_table / show_figure): {direct}"
