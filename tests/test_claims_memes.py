"""P5's claims measurements (workbench.claims.memes) on hand-made meme_eval artifacts, one test per status."""
import pandas as pd
import pytest

from workbench.claims import MemorySources, ledger
from workbench.claims.memes import meme_benchmarks, meme_f1_gain, meme_lvlms
from workbench.papers import get_paper

MODELS = ("meme-tagger-cnn (trained locally)", "all-MiniLM-L6-v2")
ABLATION = [{"setting": "knowledge", "over": "none", "relative_gain": 0.08, "lo": 0.01, "hi": 0.15,
             "share_positive": 0.98},
            {"setting": "knowledge+lora", "over": "none", "relative_gain": 0.12, "lo": 0.04, "hi": 0.2,
             "share_positive": 0.99}]


def _claim(kind):
    return next(c for c in get_paper("P5").claims if c.kind == kind)


def _sources(config=None, *, built=True):
    src = MemorySources("default")
    if built:
        frame = pd.DataFrame({"id": ["m1", "m1"], "setting": ["none", "knowledge+lora"], "label": ["satire"] * 2,
                              "pred": ["abusive", "satire"]})
        src.add("P5", "meme_eval", frame, models=MODELS,
                config={"gains": ABLATION, "corpus": {"n_train": 600, "n_eval": 300}, **(config or {})})
    return src


@pytest.mark.parametrize("kind", ["meme_f1_gain", "meme_benchmarks"])
def test_not_built(kind):
    fn = {"meme_f1_gain": meme_f1_gain, "meme_benchmarks": meme_benchmarks}[kind]
    ours = fn(_claim(kind), _sources(built=False))
    assert ours.status == "not measured" and "P5/meme_eval is not built" in ours.reason


def test_f1_gain_of_the_ablation_is_not_the_papers_comparison():
    """The gain over our own 'none' setting is an ablation, not CROSS-ALIGN+ vs the state of the art."""
    ours = meme_f1_gain(_claim("meme_f1_gain"), _sources())
    assert ours.status == "not measured" and ours.value is None
    assert "state-of-the-art" in ours.reason and "ablation" in ours.reason
    assert ours.data_kind == "synthetic" and ours.models == MODELS and ours.artifact == "notebook (in memory)"


def test_f1_gain_over_an_external_baseline_is_not_comparable():
    gains = ABLATION + [{"setting": "knowledge+lora", "over": "fusion baseline A", "relative_gain": 0.05,
                         "lo": -0.01, "hi": 0.11},
                        {"setting": "knowledge+lora", "over": "LVLM B (in-context)", "relative_gain": 0.09,
                         "lo": 0.02, "hi": 0.16},
                        {"setting": "knowledge", "over": "LVLM B (in-context)", "relative_gain": 0.3,
                         "lo": 0.2, "hi": 0.4}]
    ours = meme_f1_gain(_claim("meme_f1_gain"), _sources({"gains": gains}))
    assert ours.status == "not comparable" and "synthetic" in ours.reason
    assert ours.value == pytest.approx(9.0) and ours.ci == pytest.approx((2.0, 16.0))
    assert "LVLM B" in ours.detail


def test_benchmarks_not_measured_names_the_loaders():
    ours = meme_benchmarks(_claim("meme_benchmarks"), _sources())
    assert ours.status == "not measured"
    for loader in ("hateful_memes", "harmeme", "multioff"):
        assert loader in ours.reason
    assert "synthetic" not in ours.reason.split("Loaders exist for")[1].split("(")[0]


def test_benchmarks_counted_from_real_datasets_are_not_comparable():
    ours = meme_benchmarks(_claim("meme_benchmarks"),
                           _sources({"datasets": ["synthetic", "hateful_memes", "multioff"]}))
    assert ours.status == "not comparable" and ours.value == 2 and ours.data_kind == "real"
    assert "hateful_memes, multioff" in ours.reason


@pytest.mark.parametrize("built", [True, False])
def test_lvlms_not_measured(built):
    ours = meme_lvlms(_claim("meme_lvlms"), _sources(built=built))
    assert ours.status == "not measured" and "no LVLM runs here" in ours.reason
    assert ("all-MiniLM-L6-v2" in ours.reason) == built


def test_lvlms_names_the_small_vlm_where_it_is_built():
    src = _sources()
    metrics = [{"setting": s, "kind": "VLM", "macro_f1": f, "macro_f1_lo": f - 0.05, "macro_f1_hi": f + 0.05}
               for s, f in (("vlm", 0.40), ("vlm+knowledge+lora", 0.577))]
    metrics.append({"setting": "head knowledge", "kind": "head", "macro_f1": 0.9, "macro_f1_lo": 0.85,
                    "macro_f1_hi": 0.95})
    src.add("P5", "meme_vlm", pd.DataFrame({"id": ["m1"]}), models=("smollm2-135m-instruct",),
            config={"metrics": metrics, "corpus": {"n_eval": 300},
                    "training": {"vlm+knowledge+lora": {"lm": "smollm2-135m-instruct"}}})
    ours = meme_lvlms(_claim("meme_lvlms"), src)
    assert ours.status == "not measured" and ours.value is None
    assert "best setting vlm+knowledge+lora reaches held-out macro-F1 0.577 (95 % CI 0.527–0.627)" in ours.reason
    assert "image projector into smollm2-135m-instruct" in ours.reason and "held-out split of 300" in ours.reason
    refused = _sources()
    refused.add("P5", "meme_vlm", pd.DataFrame({"id": []}), config={"refused": "no LLaVA-style model"})
    assert "One small vision-language model" not in meme_lvlms(_claim("meme_lvlms"), refused).reason


def test_ledger_rows_for_p5():
    rows = ledger(["P5"], sources=_sources())
    assert [r.kind for r in rows] == ["meme_f1_gain", "meme_benchmarks", "meme_lvlms"]
    assert {r.status for r in rows} == {"not measured"} and all(r.view == "memes" for r in rows)


SHORTCUT = {"models": [{"model": "logistic regression", "macro_f1": 0.41, "macro_f1_lo": 0.36, "macro_f1_hi": 0.46,
                        "accuracy": 0.42, "accuracy_lo": 0.37, "accuracy_hi": 0.47, "pair_accuracy": 0.05,
                        "pair_accuracy_lo": 0.01, "pair_accuracy_hi": 0.1, "pair_macro_f1": 0.06}],
            "best": "logistic regression", "features": ["template", "chars", "words", "image_mean", "file_kb"],
            "feature_names": ["text frame id", "text length", "word count", "image mean intensity", "file size"],
            "chance": 1 / 3, "train_rows": 600, "eval_rows": 300, "seed": 0}


def test_every_p5_row_carries_the_shortcut_baseline():
    """Not measured stays not measured, but each row says what a surface-feature shortcut gets on the same split."""
    rows = ledger(["P5"], sources=_sources({"shortcut": SHORTCUT}))
    assert {r.status for r in rows} == {"not measured"} and all(r.value is None for r in rows)
    for r in rows:
        assert r.shortcut.startswith("logistic regression on surface features (text frame id, text length")
        assert "held-out macro-F1 0.41 (95 % CI 0.36–0.46)" in r.shortcut and "chance 0.33" in r.shortcut
    measured = meme_benchmarks(_claim("meme_benchmarks"), _sources({"shortcut": SHORTCUT,
                                                                     "datasets": ["synthetic", "multioff"]}))
    assert measured.status == "not comparable" and "flip-group accuracy 0.05" in measured.shortcut
    # an artifact built before the shortcut baseline (or not built at all) has no shortcut line
    assert all(r.shortcut == "" for r in ledger(["P5"], sources=_sources()))
    assert meme_lvlms(_claim("meme_lvlms"), _sources(built=False)).shortcut == ""
