"""The audio captions view (P9) through Streamlit's AppTest, its upload helper and its figures.

The artifact is made by the real builder (``build_caption_eval``) in smoke mode against a temporary store, with
the caption LM swapped for the tiny test LM: measured on 2 busy cores, the smoke build with SmolLM2 took about
4 min 45 s (captioning 4 clips × 5 decoding runs), with ``tiny-llama`` about 36 s. The audio-text model is the
smoke one the builder trains (cached under ``$WORKBENCH_HOME/models`` after the first run). Captioning in the view
uses ``tiny-llama`` too, through the view's session-state hook ``captions-lm``.
"""
import io

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from conftest import build_smoke_artifact, chart_texts, view_app
from workbench import WorkbenchError

DECODERS = ["greedy", "contrastive", "magic"]


def _view_app(artifacts) -> AppTest:
    return view_app("captions", artifacts)


_charts = chart_texts


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """A store holding P9/caption_eval and P9/caption_scorers as ``workbench build P9 --smoke`` makes them,
    captioned by tiny-llama (the scorer comparison reuses caption_eval's captions for the default guide)."""
    from workbench.captioning.artifacts import build_caption_eval, build_caption_scorers

    root = tmp_path_factory.mktemp("captions-store")
    build_smoke_artifact(root, "P9", build_caption_eval, "caption_lm")
    build_smoke_artifact(root, "P9", build_caption_scorers, "caption_lm")
    return root


@pytest.fixture(scope="module")
def built(artifacts):
    from workbench.io import ArtifactStore, load_frame, read_meta

    path = ArtifactStore(artifacts).path("P9", "caption_eval", "default")
    return load_frame(path), read_meta(path)


# ------------------------------------------------------------------------------------------------ the view


def test_the_view_is_registered():
    from dashboard.registry import discover

    view = next(v for v in discover() if v.key == "captions")
    assert (view.title, view.section, view.papers) == ("Audio captions", "Multimodal", ("P9",))


def test_view_without_artifact_says_how_to_build(tmp_path):
    at = _view_app(tmp_path).run()
    assert not at.exception, at.exception
    assert any("Not built yet" in w.value and "caption_eval" in w.value for w in at.warning)
    assert any("workbench caption eval --data synthetic" in c.value for c in at.caption)
    assert not at.tabs


def test_the_smoke_artifact_has_what_the_view_reads(built):
    frame, meta = built
    assert {"id", "l", "decoder", "caption", "audio_score", "seconds", "keywords", "prompt",
            "references"} <= set(frame.columns)
    assert meta.models[-1] == "tiny-llama" and meta.config["smoke"] is True
    assert [r["decoder"] for r in meta.config["metrics"]] == DECODERS
    assert [r["l"] for r in meta.config["ablation"]] == [0, 1, 2]


def test_evaluation_tab(artifacts, built):
    frame, meta = built
    at = _view_app(artifacts).run()
    assert not at.exception, at.exception
    assert [t.label for t in at.tabs] == ["Caption a clip", "Evaluation"]
    charts = _charts(at)
    for title in ("Caption metrics per decoder", "Audio–caption cosine per decoder", "Keyword ablation",
                  "ZerAuCap ablation as reported", "Waveform", "Log-mel spectrogram"):
        assert title in charts, title
    metrics = next(d.value for d in at.dataframe if "BLEU-1" in d.value.columns and "decoder" in d.value.columns)
    assert metrics["decoder"].tolist() == DECODERS
    expected = round(meta.config["metrics"][2]["CIDEr-D"], 2)
    assert metrics.set_index("decoder").loc["magic", "CIDEr-D"] == pytest.approx(expected)
    ablation = next(d.value for d in at.dataframe if "l" in d.value.columns and "decoder" not in d.value.columns
                    and "NLG mean" in d.value.columns)
    assert ablation["l"].tolist() == [0, 1, 2]
    assert any("**SPICE**" in m.value and "**SPIDEr**" in m.value for m in at.markdown)
    assert any("NLG mean" in c.value and "CIDEr-D" in c.value for c in at.caption)
    hit = next(m for m in at.metric if m.label == "Keyword top-3 hit rate")
    assert hit.value == f"{100 * meta.config['keyword_top3_hit_rate']:.0f} %"
    claims = next(d.value for d in at.dataframe if "claim" in d.value.columns)
    assert claims["paper"].tolist() == ["4.7 → 7.3 (+35 %)", "1", "−50 % NLG mean"]
    reference = next(d.value for d in at.dataframe if "ZerAuCap (AudioCaps, as reported)" in d.value.columns)
    assert reference["ZerAuCap (AudioCaps, as reported)"].tolist()[0] == "44.5"
    assert "not computed" in reference.iloc[-1].tolist()                           # SPIDEr
    assert any(set(d.value.columns) >= {"id", "decoder", "caption", "references"} for d in at.dataframe)
    assert "Caption quality against the audio–text model's retrieval quality (held-out clips)" in charts
    retrieval = next(d.value for d in at.dataframe if "audio_to_text R@1" in d.value.columns)
    assert retrieval["scorer"].tolist() == ["tiny-clap", "tiny-clap-small", "surface features (baseline)", "chance"]
    per_l = next(d.value for d in at.dataframe if "scorer" in d.value.columns and "l" in d.value.columns)
    assert sorted(set(per_l["l"])) == [0, 1, 2] and per_l[per_l["scorer"] == "tiny-clap"].iloc[0][
        "Δ judge ×100 vs first scorer"].startswith("+0.00")


def test_caption_a_generated_and_an_evaluation_clip(artifacts, built):
    frame, _ = built
    at = _view_app(artifacts)
    at.session_state["captions-lm"] = "tiny-llama"
    at.run()
    assert not at.exception, at.exception
    assert at.radio(key="captions-source").value == "Generate a sound"
    assert at.slider(key="captions-k").value == 8                                  # the smoke build's k
    at.selectbox(key="captions-class").set_value("rain").run()
    assert any("generated **rain** sound" in c.value for c in at.caption)
    assert any("Press **Caption**" in i.value for i in at.info)
    at.button(key="captions-run").click().run()
    assert not at.exception, at.exception
    assert [m.value for m in at.markdown if m.value in {f"**{d}**" for d in DECODERS}] == [f"**{d}**"
                                                                                        for d in DECODERS]
    cosines = [m for m in at.metric if m.label == "audio–caption cosine (self-scored)"]
    assert len(cosines) == 3 and all(-1.001 <= float(m.value) <= 1.001 for m in cosines)
    assert any("by tiny-clap" in c.value and "tiny-llama" in c.value for c in at.caption)
    assert "Keywords: cosine of each with the clip" in _charts(at)
    assert "This is a sound of" in at.code[0].value

    at.slider(key="captions-l").set_value(0).run()                                 # settings changed: asked again
    assert not at.exception, at.exception
    assert any("settings changed" in i.value for i in at.info)
    at.button(key="captions-run").click().run()
    assert any(m.value == "**Keywords** — none (l = 0)" for m in at.markdown)

    at.radio(key="captions-source").set_value("Evaluation set").run()
    clip = str(frame["id"].iloc[0])
    at.selectbox(key="captions-eval-clip").set_value(clip).run()
    at.slider(key="captions-l").set_value(2).run()
    at.button(key="captions-run").click().run()
    assert not at.exception, at.exception
    assert any(m.value.startswith("**Reference captions of this clip:**") for m in at.markdown)
    produced = next(d.value for d in at.dataframe if "audio–caption cosine (self-scored)" in d.value.columns
                    and "caption" in d.value.columns)
    assert "audio–caption cosine (independent judge)" in produced.columns
    assert produced["decoder"].tolist() == DECODERS



def test_a_missing_audio_text_model_is_named_not_trained(artifacts, tmp_path, monkeypatch):
    """The artifact's audio-text model gone from the models folder: the view says how to build it, trains nothing."""
    import workbench.captioning.clap as clap
    from dashboard import cache

    def refuse(*args, **kwargs):
        raise AssertionError("the view trained a model")

    monkeypatch.setattr(clap, "default_scorer_folder", lambda **kwargs: tmp_path / "gone")
    for name in ("default_scorer", "train_clap"):
        monkeypatch.setattr(clap, name, refuse)
    cache.caption_scorer.clear()
    try:
        at = _view_app(artifacts)
        at.session_state["captions-lm"] = "tiny-llama"
        at.run()
        at.button(key="captions-run").click().run()
        assert not at.exception, at.exception
        assert any("audio-text model" in e.value and "not on disk" in e.value
                   and "`workbench build P9 --force --smoke` first" in e.value for e in at.error), \
            [e.value for e in at.error]
        assert not [m for m in at.metric if m.label.startswith("audio–caption cosine")]
    finally:
        cache.caption_scorer.clear()

def _wav(samples) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.asarray(samples, np.float32), 16000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def test_uploads_bad_files_show_an_error_and_a_good_one_its_waveform(artifacts, temp_dir):
    at = _view_app(artifacts).run()
    at.radio(key="captions-source").set_value("Upload a file").run()
    assert any("Upload an audio file" in i.value for i in at.info)
    for name, data, message in (("silent.wav", _wav(np.zeros(8000)), "silent"),
                                ("broken.wav", b"RIFF not really a wav file", "cannot be decoded")):
        at.file_uploader(key="captions-upload").set_value((name, data, "audio/wav")).run()   # a fresh element
        assert not at.exception, at.exception
        assert any(message in e.value for e in at.error), [e.value for e in at.error]
        assert "Waveform" not in _charts(at)
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    at.file_uploader(key="captions-upload").set_value(("tone.wav", _wav(tone), "audio/wav")).run()
    assert not at.exception and not at.error
    assert "Waveform (1.00 s at 16000 Hz)" in _charts(at)
    assert any("the upload **tone.wav**" in c.value for c in at.caption)


# ------------------------------------------------------------------------------------------------ upload helper


def test_handle_upload_writes_a_temporary_file_with_the_suffix(temp_dir):
    from dashboard.views.captions import handle_upload

    path = handle_upload("My Clip.WAV", b"RIFF-some-bytes", limit=1024)
    assert path.parent.parent == temp_dir and path.suffix == ".wav" and path.read_bytes() == b"RIFF-some-bytes"
    assert handle_upload("again.wav", b"RIFF-some-bytes", limit=1024) == path       # same content, same file
    assert handle_upload("clip.m4a", b"other", limit=1024).suffix == ".m4a"


@pytest.mark.parametrize("name, data, limit, message", [
    ("big.wav", b"x" * 2048, 1024, "over the"),
    ("notes.txt", b"hello", 1024, "unsupported file type '.txt'"),
    ("video.mp4", b"hello", 1024, "unsupported file type '.mp4'"),
    ("noext", b"hello", 1024, "no extension"),
    ("empty.flac", b"", 1024, "empty"),
])
def test_handle_upload_refuses(name, data, limit, message, temp_dir):
    from dashboard.views.captions import UPLOAD_FOLDER, handle_upload

    with pytest.raises(WorkbenchError, match=message):
        handle_upload(name, data, limit)
    assert not list((temp_dir / UPLOAD_FOLDER).glob("*"))                        # nothing written


# ------------------------------------------------------------------------------------------------ figures


METRIC_RECORDS = [{"decoder": d, "l": 2, "BLEU-1": 30.0 + i, "BLEU-2": 10.0 + i, "BLEU-3": 5.0, "BLEU-4": 2.0,
                   "METEOR (exact+stem)": 12.0, "ROUGE-L": 25.0 + i, "CIDEr-D": 8.0 * (i + 1), "NLG mean": 13.0 + i,
                   "audio–caption cosine": 0.6 + 0.05 * i, "clips": 4} for i, d in enumerate(DECODERS)]


def test_keyword_bars():
    from workbench.viz.captions import keyword_bars

    fig = keyword_bars([{"keyword": "Siren", "score": 0.71}, {"keyword": "Rain", "score": 0.42}])
    assert len(fig.data) == 1 and list(fig.data[0].y) == ["Siren", "Rain"]
    assert list(fig.data[0].x) == [0.71, 0.42] and fig.layout.yaxis.autorange == "reversed"
    empty = keyword_bars([])
    assert len(empty.data[0].x) == 0 and "no keywords" in empty.layout.annotations[0].text


def test_metrics_figure_has_a_bar_per_decoder_with_the_records_values():
    from workbench.viz.captions import METRICS, metrics_figure

    fig = metrics_figure(METRIC_RECORDS)
    assert [t.name for t in fig.data] == DECODERS and fig.layout.barmode == "group"
    for trace, record in zip(fig.data, METRIC_RECORDS):
        assert list(trace.x) == list(METRICS)                     # no cosine, no clip count: ×100 metrics only
        assert list(trace.y) == [record[m] for m in METRICS]
    assert "l = 2" in fig.layout.title.text


def test_ablation_figure_draws_ours_and_the_papers_series():
    from workbench.papers import get_paper
    from workbench.viz.captions import ablation_figure, paper_ablation

    records = [{**METRIC_RECORDS[2], "l": l, "NLG mean": v, "CIDEr-D": 2 * v}
               for l, v in ((2, 11.0), (0, 3.0), (1, 9.0))]
    fig = ablation_figure(records)
    assert len(fig.data) == 3
    nlg, cider, paper = fig.data
    assert list(nlg.x) == [0, 1, 2] and list(nlg.y) == [3.0, 9.0, 11.0] and list(cider.y) == [6.0, 18.0, 22.0]
    assert all(t.mode == "lines+markers" for t in fig.data)
    reported = {c.metric: c.value for c in get_paper("P9").reported if c.metric.startswith("NLG mean, l = ")}
    assert list(paper.x) == [0, 1, 2, 3, 5, 10]
    assert list(paper.y) == [reported[f"NLG mean, l = {l} keywords"] for l in paper.x]
    assert paper_ablation() == dict(zip(paper.x, paper.y))
    assert "ZerAuCap" in paper.name and "AudioCaps" in paper.name and "different dataset" in paper.name


def test_audio_score_figure_has_a_box_per_decoder():
    import pandas as pd

    from workbench.viz.captions import audio_score_figure

    rows = [{"id": f"c{i}", "l": 2, "decoder": d, "audio_score": 0.5 + 0.1 * j + 0.01 * i}
            for i in range(4) for j, d in enumerate(DECODERS)]
    rows += [{"id": "c0", "l": 0, "decoder": "magic", "audio_score": -0.9}]       # an ablation row: left out
    frame = pd.DataFrame(rows)
    fig = audio_score_figure(frame, l=2)
    assert [t.name for t in fig.data] == DECODERS and all(t.type == "box" for t in fig.data)
    for trace, d in zip(fig.data, DECODERS):
        want = frame[(frame["decoder"] == d) & (frame["l"] == 2)]["audio_score"].tolist()
        assert list(trace.y) == pytest.approx(want)
    assert len(audio_score_figure(rows).data[2].y) == 5                            # no l: every row
