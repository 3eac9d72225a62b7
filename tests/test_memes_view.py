"""The meme explorer view (P5) through Streamlit's AppTest, its upload helper and its figures.

The artifact is made by the real builder (``build_meme_eval``) in smoke mode against a temporary store, with the
explainer LLM swapped for the tiny test LM. The three smoke models are trained once and cached under
``$WORKBENCH_HOME/models/memes`` (about a minute on 2 busy cores the first time); with them cached the build takes
about 30 s. The view loads the same cached models (from the artifact's configurations) and explains with
``tiny-llama`` too, through its session-state hook ``memes-explainer``.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import build_smoke_artifact, chart_texts, view_app
from workbench import WorkbenchError
from workbench.papers import get_paper

SETTINGS = ["none", "knowledge", "knowledge+lora"]
CLASSES = ["benign", "satire", "abusive"]
STEP_TITLES = ["Visual cue", "Textual cue", "Knowledge link", "Verdict"]


def _view_app(artifacts) -> AppTest:
    return view_app("memes", artifacts)


_charts = chart_texts


def _verdicts(at) -> list[str]:
    return [e.value for kind in ("success", "warning", "error") for e in getattr(at, kind)
            if e.value.startswith("Prediction:")]


def _steps(at) -> list[str]:
    """The titles of the cascade steps shown, in order."""
    heads = {f"**{i}. {t}**": t for i, t in enumerate(STEP_TITLES, 1)}
    return [t for m in at.markdown for head, t in heads.items() if m.value.startswith(head)]


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """A store holding P5/meme_eval as ``workbench build P5 --smoke`` makes it, explained by tiny-llama."""
    from workbench.memes.artifacts import build_meme_eval

    root = tmp_path_factory.mktemp("memes-store")
    build_smoke_artifact(root, "P5", build_meme_eval, "meme_explainer")
    return root


@pytest.fixture(scope="module")
def built(artifacts):
    from workbench.io import ArtifactStore, load_frame, read_meta

    path = ArtifactStore(artifacts).path("P5", "meme_eval", "default")
    return load_frame(path), read_meta(path)


# ------------------------------------------------------------------------------------------------ the view


def test_the_view_is_registered():
    from dashboard.registry import discover
    from workbench.papers import get_paper

    view = next(v for v in discover() if v.key == "memes")
    assert (view.title, view.section, view.papers) == ("Meme explorer", "Multimodal", ("P5",))
    assert get_paper("P5").views == ("memes",)


def test_view_without_artifact_says_how_to_build(tmp_path):
    at = _view_app(tmp_path).run()
    assert not at.exception, at.exception
    assert any("Not built yet" in w.value and "meme_eval" in w.value for w in at.warning)
    assert any("workbench meme eval --data synthetic" in c.value for c in at.caption)
    assert not at.tabs


def test_the_smoke_artifact_has_what_the_view_reads(built):
    frame, meta = built
    assert {"id", "setting", "text", "image", "label", "pred", "confidence", "tags", "triples", "flip",
            "target_type"} <= set(frame.columns)
    config = meta.config
    assert "tiny-llama" in meta.models and config["smoke"] is True and config["classes"] == CLASSES
    assert [m["setting"] for m in config["metrics"]] == SETTINGS
    assert {g["setting"] for g in config["gains"]} == {"knowledge", "knowledge+lora"}
    assert set(config["confusion"]) == set(SETTINGS)
    assert {"corpus", "tagger", "model", "by_flip", "by_target", "explanations", "flip_pairs",
            "shortcut"} <= set(config)
    assert [r["setting"] for r in config["flip_pairs"]] == SETTINGS
    assert all(r["groups"] > 0 and 0 <= r["pair_accuracy"] <= 1 for r in config["flip_pairs"])
    assert config["shortcut"]["features"] == ["template", "chars", "words", "image_mean", "file_kb"]
    assert config["shortcut"]["best"] in {m["model"] for m in config["shortcut"]["models"]}


def _ledger_rows(artifacts) -> list[dict]:
    """P5's rows of the claims ledger over the store at ``artifacts``, as the view shows them."""
    from dashboard.views.memes import LEDGER_COLUMNS
    from workbench.claims import StoreSources, ledger_frame
    from workbench.io import ArtifactStore

    frame = ledger_frame(["P5"], sources=StoreSources("default", ArtifactStore(artifacts)))
    return frame[LEDGER_COLUMNS].to_dict("records")


def test_evaluation_tab(artifacts, built):
    _, meta = built
    at = _view_app(artifacts).run()
    assert not at.exception, at.exception
    assert [t.label for t in at.tabs] == ["Classify", "Evaluation", "Vision-language model"]
    assert any("Not built yet" in i.value and "meme_vlm" in i.value for i in at.info)     # the smoke store has none
    charts = _charts(at)
    for title in ("Headline: flip groups beside the full held-out split, and the shortcut baseline",
                  "Macro-F1 and accuracy per setting", "Relative macro-F1 gain over 'none'",
                  "Confusion matrices per setting", "Accuracy on the flip pairs", "Accuracy by target type"):
        assert title in charts, title
    ablation = next(d.value for d in at.dataframe if "macro-F1 95 % CI" in d.value.columns)
    assert ablation["setting"].tolist() == SETTINGS
    assert {f"F1 {c}" for c in CLASSES} <= set(ablation.columns)
    first = meta.config["metrics"][0]
    assert ablation["macro-F1"].iloc[0] == pytest.approx(round(first["macro_f1"], 3))
    assert ablation["macro-F1 95 % CI"].iloc[0] == f"{first['macro_f1_lo']:.3f} – {first['macro_f1_hi']:.3f}"
    from workbench.memes.train import lora_note

    line = lora_note(meta.config["training"])             # said under the ablation when LoRA changed nothing
    assert line is None or any(line in c.value for c in at.caption)
    gains = next(d.value for d in at.dataframe if "relative macro-F1 gain" in d.value.columns)
    assert gains["setting"].tolist() == ["knowledge", "knowledge+lora"] and set(gains["over"]) == {"none"}
    assert "paper: up to" not in charts                   # the paper's gain is another comparison: not drawn
    claims = next(d.value for d in at.dataframe if "claim" in d.value.columns)
    assert claims.to_dict("records") == _ledger_rows(artifacts)
    assert set(claims["status"]) == {"not measured"} and claims["ours"].tolist() == ["not measured"] * 3
    # every P5 row carries the surface-feature shortcut baseline the artifact measured
    assert all(line.startswith(meta.config["shortcut"]["best"]) and "chance 0.33" in line
               for line in claims["shortcut"])
    headline = next(d.value for d in at.dataframe if "flip groups, all right [95 % CI]" in d.value.columns)
    assert headline["model"].tolist()[:3] == SETTINGS and headline["model"].iloc[3].startswith("shortcut: ")
    flips = {r["setting"]: r for r in meta.config["flip_pairs"]}
    assert headline["flip groups, all right [95 % CI]"].iloc[0].startswith(f"{flips['none']['pair_accuracy']:.3f}")
    assert claims["artifact"].iloc[0] == "P5/default/meme_eval"
    paper = get_paper("P5")
    assert claims["claim"].tolist() == [c.text for c in paper.claims]
    assert any(f"up to {paper.number('relative F1 improvement (max)').text}" in c.value for c in at.caption)
    assert any("profile by" in m.value and "tiny-llama" in m.value for m in at.markdown)
    assert len(at.expander) >= len(meta.config["explanations"])                   # the saved cascades
    assert _steps(at) == STEP_TITLES * len(meta.config["explanations"])
    assert any("Pick a meme" in i.value for i in at.info)


def test_classify_an_evaluation_meme(artifacts, built):
    frame, _ = built
    knowledge = frame[frame["setting"] == "knowledge"]
    row = next(r for r in knowledge.itertuples() if json.loads(r.triples))   # a meme with retrieved triples
    at = _view_app(artifacts)
    at.session_state["memes-explainer"] = "tiny-llama"
    at.run()
    assert at.radio(key="memes-setting").value == "knowledge+lora"
    at.radio(key="memes-setting").set_value("knowledge")
    at.selectbox(key="memes-eval").set_value(row.id).run()
    assert not at.exception, at.exception
    assert _verdicts(at) == [f"Prediction: **{row.pred}** (probability {row.confidence:.2f}) — truly "
                             f"**{row.label}** {'✓' if row.pred == row.label else '✗'}"]   # the artifact's models
    assert "Class probabilities" in _charts(at)
    triples = next(d.value for d in at.dataframe if "relation" in d.value.columns)
    assert triples.columns.tolist() == ["head", "relation", "tail", "source", "score", "matched"]
    assert len(triples) == len(json.loads(row.triples))
    assert any(m.value.startswith("**Image tags** — ") for m in at.markdown)
    assert _steps(at)[:4] == STEP_TITLES                                          # the live cascade comes first
    assert any(c.value.startswith("Written by tiny-llama") for c in at.caption)
    assert any("in the **knowledge** setting" in c.value and "explainer tiny-llama" in c.value for c in at.caption)

    at.radio(key="memes-setting").set_value("none").run()
    assert not at.exception, at.exception
    assert any("uses no background knowledge" in i.value for i in at.info)
    assert len(_verdicts(at)) == 1 and _steps(at)[:4] == STEP_TITLES



def test_missing_models_are_named_not_trained(artifacts, built, tmp_path, monkeypatch):
    """The artifact's meme models gone from the models folder: the view says how to build them, trains nothing."""
    import workbench.memes.ablation as ablation
    from dashboard import cache

    def refuse(*args, **kwargs):
        raise AssertionError("the view trained a model")

    monkeypatch.setattr(ablation, "default_models_folder", lambda **kwargs: tmp_path / "gone")
    for name in ("default_models", "train_settings"):
        monkeypatch.setattr(ablation, name, refuse)
    cache.meme_models.clear()
    try:
        frame, _ = built
        at = _view_app(artifacts)
        at.session_state["memes-explainer"] = "tiny-llama"
        at.run()
        at.selectbox(key="memes-eval").set_value(str(frame["id"].iloc[0])).run()
        assert not at.exception, at.exception
        assert any("meme models" in e.value and "not on disk" in e.value
                   and "`workbench build P5 --force --smoke` first" in e.value for e in at.error), \
            [e.value for e in at.error]
        assert not _verdicts(at)
    finally:
        cache.meme_models.clear()

def test_upload_a_corrupt_then_a_real_image(artifacts, built, temp_dir):
    frame, _ = built
    at = _view_app(artifacts)
    at.session_state["memes-explainer"] = "tiny-llama"
    at.run()
    at.radio(key="memes-source").set_value("Upload an image").run()
    assert any("Upload an image" in i.value for i in at.info)
    at.file_uploader(key="memes-upload").set_value(("junk.png", b"\x89PNG not really", "image/png")).run()
    assert not at.exception, at.exception
    assert any("cannot decode image junk.png" in e.value for e in at.error), [e.value for e in at.error]
    assert not _verdicts(at)
    row = frame.iloc[0]
    image = Path(row["image"]).read_bytes()
    at.text_area(key="memes-text").set_value(row["text"])
    at.file_uploader(key="memes-upload").set_value(("meme.png", image, "image/png")).run()
    assert not at.exception, at.exception
    assert not [e.value for e in at.error if not e.value.startswith("Prediction:")]
    assert len(_verdicts(at)) == 1 and _steps(at)[:4] == STEP_TITLES
    assert any("the upload **meme.png**" in c.value for c in at.caption)


# ------------------------------------------------------------------------------------------------ the VLM grid


VLMS = ["vlm", "vlm+knowledge", "vlm+lora", "vlm+knowledge+lora"]
COPIES = ["copy: meme text", "copy: text + triples"]


def _with_ci(key: str, value: float) -> dict:
    return {key: value, f"{key}_lo": value - 0.1, f"{key}_hi": value + 0.1}


def _vlm_record(copies: bool = True) -> dict:
    """A hand-made ``memes.vlm.grid_record``: four VLM settings, one head row, the shortcut, the explanation check
    (with the copy baselines unless ``copies`` is False, as an artifact made before them)."""
    rows = VLMS + ["head none"]
    metrics = [{"setting": s, **_with_ci("macro_f1", 0.4 + 0.1 * i), **_with_ci("accuracy", 0.45 + 0.1 * i),
                "rows": 12, "kind": "VLM" if s in VLMS else "head (baseline)"} for i, s in enumerate(rows)]
    flips = [{"setting": s, **_with_ci("pair_accuracy", 0.2 + 0.1 * i), **_with_ci("pair_macro_f1", 0.3),
              "groups": 4} for i, s in enumerate(rows)]
    gains = [{"setting": s, "over": "vlm", "relative_gain": 0.1 * i, "lo": -0.2, "hi": 0.3, "share_positive": 0.75}
             for i, s in enumerate(VLMS[1:], 1)]
    shortcut = {"models": [{"model": "logistic regression", **_with_ci("macro_f1", 0.3), **_with_ci("accuracy", 0.35),
                            **_with_ci("pair_accuracy", 0.15)}],
                "best": "logistic regression", "features": ["template", "chars"], "chance": 1 / 3}
    shares = {"word_rate": 0.5, "knowledge_rate": 0.25, "novel_rate": 0.0, "evidence_rate": 0.5}
    checks = []
    for s in VLMS:
        check = {"setting": s, "rows": 4, **shares, "with_words": 4, "with_concepts": 2,
                 "examples": [{"id": "m1", "text": "the zorblax people again", "label": "abusive", "pred": "abusive",
                               "explanation": "It names the zorblax people.", "decisive_words": ["zorblax"],
                               "concepts": ["zorblax", "ethnic group"], "cites_words": True,
                               "cites_knowledge": True}]}
        if copies:
            check |= {"with_novel": 2, "baselines": {COPIES[0]: {**shares, "word_rate": 1.0, "novel_rate": 0.0},
                                                     COPIES[1]: {**shares, "word_rate": 1.0, "novel_rate": 0.75}}}
        checks.append(check)
    return {"metrics": metrics, "vlm_gains": gains, "flip_pairs": flips, "confusion": {}, "classes": CLASSES,
            "explanations": checks, "shortcut": shortcut, "smoke": True, "datasets": ["synthetic"],
            "split": "synthetic memes, held-out split",
            "training": {s: {"train_rows": 20, "dev_rows": 4} for s in VLMS}}


def _plant_vlm(root, config: dict, models=("tagger CNN (test)", "tiny-llama")):
    """``P5/meme_vlm`` in the store at ``root``: one row per meme × model, or none for a refusal."""
    import pandas as pd

    from workbench.io import ArtifactStore, save_frame

    rows = [] if config.get("refused") else [
        {"id": f"m{i}", "setting": m["setting"], "label": "abusive", "pred": "benign" if i else "abusive"}
        for m in config["metrics"] for i in range(3)]
    frame = pd.DataFrame(rows) if rows else pd.DataFrame({"id": pd.Series(dtype=str)})
    save_frame(frame, ArtifactStore(root).path("P5", "meme_vlm", "default"), profile="default", models=list(models),
               seed=0, config=config)


def _table(at, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_the_vlm_grid_of_a_planted_artifact(tmp_path):
    _plant_vlm(tmp_path, _vlm_record())
    at = _view_app(tmp_path).run()
    assert not at.exception, at.exception
    grid = _table(at, "flip groups, all right [95 % CI]")
    assert grid["model"].tolist()[:5] == VLMS + ["head none"]
    assert grid["model"].iloc[5] == "shortcut: logistic regression on surface features"
    assert grid["full split macro-F1 [95 % CI]"].iloc[1] == "0.500 [0.400, 0.600]"
    assert grid["flip groups, all right [95 % CI]"].iloc[0] == "0.200 [0.100, 0.300]"
    gains = _table(at, "relative macro-F1 gain")
    assert gains["setting"].tolist() == VLMS[1:] and set(gains["over"]) == {"vlm"}
    assert gains["relative macro-F1 gain"].iloc[0] == "+10.0 %"
    check = _table(at, "names evidence not in the meme text")
    assert check["explanation"].tolist() == ["VLM", *COPIES] * len(VLMS)
    assert check["names evidence not in the meme text"].tolist()[:3] == [0.0, 0.0, 0.75]
    assert check["names a decisive word"].tolist()[:3] == [0.5, 1.0, 1.0]
    assert "Vision-language model: flip groups beside the full held-out split" in _charts(at)
    assert any("3 held-out memes" in m.value and "**default** profile by tagger CNN (test), tiny-llama" in m.value
               and "trained on 20" in m.value for m in at.markdown)
    captions = [c.value for c in at.caption]
    assert any("copy rows" in c and "Synthetic memes" in c and "tiny-llama" in c for c in captions)
    assert not any("predates the copy rows" in c for c in captions)
    assert [e.label for e in at.expander] == [f"Example explanations — {s} (1)" for s in VLMS]
    assert any("It names the zorblax people." in m.value for m in at.markdown)
    downloads = [d.proto.label for d in at.get("download_button")]
    assert downloads.count("CSV") == len(at.dataframe) and "HTML" in downloads      # every table downloads


def test_a_vlm_artifact_without_the_copy_rows_is_still_read(tmp_path):
    _plant_vlm(tmp_path, _vlm_record(copies=False))
    at = _view_app(tmp_path).run()
    assert not at.exception, at.exception
    check = _table(at, "names evidence not in the meme text")
    assert check["explanation"].tolist()[:3] == ["VLM", *(f"{c} — not in this build" for c in COPIES)]
    assert check["names a decisive word"].iloc[0] == 0.5 and check["names a decisive word"].iloc[1:3].isna().all()
    assert any("predates the copy rows" in c.value for c in at.caption)


def test_an_old_refused_vlm_artifact_says_to_rebuild(tmp_path):
    """Paper-profile builds made before the LLaVA-style VLM recorded a refusal instead of a grid."""
    refusal = "the paper profile has no LLaVA-style vision-language model in the model registry"
    _plant_vlm(tmp_path, {"refused": refusal, "smoke": True}, models=())
    at = _view_app(tmp_path).run()
    assert not at.exception, at.exception
    assert [w.value for w in at.warning if refusal in w.value and "--only meme_vlm" in w.value]
    assert not [d for d in at.dataframe if "flip groups, all right [95 % CI]" in d.value.columns]


# ------------------------------------------------------------------------------------------------ upload helper


def _png(size=(32, 24)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def test_handle_upload_writes_a_temporary_file_and_decodes_it(temp_dir):
    from dashboard.views.memes import handle_upload

    path, image = handle_upload("My Meme.PNG", _png(), limit=1024**2)
    assert path.parent.parent == temp_dir and path.suffix == ".png" and path.read_bytes() == _png()
    assert image.shape == (24, 32, 3) and image.dtype.name == "uint8"
    assert handle_upload("again.png", _png(), limit=1024**2)[0] == path            # same content, same file


@pytest.mark.parametrize("name, data, limit, message", [
    ("big.png", b"x" * 2048, 1024, "over the"),
    ("notes.txt", b"hello", 1024, "unsupported file type '.txt'"),
    ("clip.wav", b"hello", 1024, "unsupported file type '.wav'"),
    ("noext", b"hello", 1024, "no extension"),
    ("empty.jpg", b"", 1024, "empty"),
    ("garbage.png", bytes(range(256)) * 4, 4096, "cannot decode image garbage.png"),
    ("tiny.gif", None, 4096, "too small"),
])
def test_handle_upload_refuses(name, data, limit, message, temp_dir):
    from dashboard.views.memes import UPLOAD_FOLDER, handle_upload

    data = _png((4, 4)) if data is None else data
    with pytest.raises(WorkbenchError, match=message):
        handle_upload(name, data, limit)
    assert not list((temp_dir / UPLOAD_FOLDER).glob("*"))                        # nothing left written


# ------------------------------------------------------------------------------------------------ figures


METRICS = [{"setting": s, "macro_f1": 0.5 + 0.1 * i, "macro_f1_lo": 0.4 + 0.1 * i, "macro_f1_hi": 0.65 + 0.1 * i,
            "accuracy": 0.6 + 0.1 * i, "accuracy_lo": 0.5 + 0.1 * i, "accuracy_hi": 0.7 + 0.1 * i, "rows": 45}
           for i, s in enumerate(SETTINGS)]
GAINS = [{"setting": "knowledge+lora", "over": "none", "relative_gain": 0.4, "lo": 0.1, "hi": 0.8,
          "share_positive": 0.99},
         {"setting": "knowledge", "over": "none", "relative_gain": 0.2, "lo": -0.05, "hi": 0.5,
          "share_positive": 0.9}]


def test_probability_figure_marks_the_prediction_and_the_truth():
    from workbench.viz.memes import probability_figure

    fig = probability_figure({"benign": 0.2, "satire": 0.7, "abusive": 0.1}, truth="abusive")
    (bar,) = fig.data
    assert list(bar.x) == [0.2, 0.7, 0.1]
    assert list(bar.y) == ["benign", "satire (predicted)", "abusive ✓ truth"]
    assert fig.layout.title.text == "Class probabilities"


def test_ablation_figure_has_macro_f1_and_accuracy_with_cis():
    from workbench.viz.memes import ablation_figure

    fig = ablation_figure(list(reversed(METRICS)))                    # drawn in the ablation's order
    assert [t.name for t in fig.data] == ["macro-F1", "accuracy"] and fig.layout.barmode == "group"
    f1 = fig.data[0]
    assert list(f1.x) == SETTINGS and list(f1.y) == pytest.approx([0.5, 0.6, 0.7])
    assert list(f1.error_y.array) == pytest.approx([0.15] * 3) and list(f1.error_y.arrayminus) == pytest.approx(
        [0.1] * 3)


def test_gains_figure_draws_percent_gains_with_cis_and_no_paper_line():
    from workbench.viz.memes import gains_figure

    fig = gains_figure(GAINS)
    (bars,) = fig.data
    assert list(bars.x) == ["knowledge", "knowledge+lora"] and list(bars.y) == pytest.approx([20, 40])
    assert list(bars.error_y.array) == pytest.approx([30, 40]) and list(bars.error_y.arrayminus) == pytest.approx(
        [25, 30])


def test_confusion_figure_has_a_heatmap_per_setting():
    from workbench.viz.memes import confusion_figure

    matrix = [[5, 1, 0], [0, 4, 2], [1, 1, 3]]
    fig = confusion_figure({"knowledge": matrix, "none": matrix}, CLASSES)
    assert [t.type for t in fig.data] == ["heatmap", "heatmap"] and [t.name for t in fig.data] == ["none",
                                                                                                   "knowledge"]
    heat = fig.data[0]
    assert [list(r) for r in heat.text] == [[str(v) for v in row] for row in matrix]
    assert heat.z[0][0] == pytest.approx(5 / 6) and list(heat.y) == CLASSES
    assert [a.text for a in fig.layout.annotations] == ["none", "knowledge"]


def test_slice_figure_groups_accuracy_by_setting():
    from workbench.viz.memes import slice_figure

    records = [{"setting": s, "flip": f, "accuracy": a, "rows": 4}
               for s, a0 in zip(SETTINGS, (0.5, 0.75, 1.0)) for f, a in (("image", a0), ("text", a0 / 2))]
    fig = slice_figure(records, "flip")
    assert [t.name for t in fig.data] == SETTINGS and all(list(t.x) == ["image", "text"] for t in fig.data)
    assert list(fig.data[2].y) == [1.0, 0.5] and fig.layout.title.text == "Accuracy by flip"
    assert "no rows" in slice_figure([], "target_type").layout.annotations[0].text
