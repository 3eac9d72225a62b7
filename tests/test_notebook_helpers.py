"""The helpers the notebooks call (workbench.notebooks, workbench.viz.grids), on hand-made inputs."""
import math

import numpy as np
import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench import notebooks as nb
from workbench.papers import claims_frame


def test_number_formatters():
    assert nb.signed_percent(3.21) == "+3.2%" and nb.signed_percent(-0.04, unit=" pts") == "-0.0 pts"
    assert nb.signed_percent(None) == nb.signed_percent(math.nan) == "n/a"
    assert nb.percent(0.125) == "12.50 %" and nb.percent(0.5, digits=0) == "50 %"
    assert nb.percent(None) == "not measured" and nb.percent(math.nan, missing="—") == "—"
    stages = {"audio detector": {"eer": 0.0021, "labels": "y"}}
    assert nb.percent_of(stages, "audio detector", "eer") == "0.21 %"
    assert nb.percent_of(stages, "audio detector", "accuracy") == nb.percent_of(stages, "video", "eer") == \
        "not measured"
    assert nb.change(0.50, 0.56) == "+6.0 points"
    assert nb.change(0.2, 0.1, relative=True) == "-50% relative" and nb.change(0, 0.1, relative=True) == "n/a"
    assert nb.with_ci(0.8123, 0.75, 0.87) == "0.812 [0.750, 0.870]"
    assert nb.gain_with_ci(0.12, 0.031, -0.2) == "+12.0 % [+3.1, -20.0]"
    assert nb.reduction({"latency_ratio": 0.6}) == "latency −40%"
    assert nb.reduction({"latency_ratio": 0.6, "memory_ratio": 0.45}) == "latency −40%, memory −55%"
    assert nb.rounded({"a": 0.123456, "b": 3, "c": "x"}) == {"a": 0.1235, "b": 3, "c": "x"}
    assert nb.provenance("default", ["m1", "m2"], smoke=True) == "default / m1, m2 · smoke"
    assert nb.provenance("paper", "m (judge j)") == "paper / m (judge j)"


def test_claims_table_is_the_ledgers_rows_of_one_paper(tmp_path):
    from workbench.claims import MemorySources, StoreSources
    from workbench.io import ArtifactStore

    claims = claims_frame("P8")
    table = nb.claims_table("P8", StoreSources("default", ArtifactStore(tmp_path)))
    assert list(table["metric"]) == list(claims["metric"]) and list(table["claim"]) == list(claims["claim"])
    assert set(table["status"]) == {"not measured"} and table["reason"].str.len().gt(0).all()
    assert list(table.columns) == ["metric", "claim", "ours", "status", "reason", "profile", "models", "data",
                                   "artifact"]
    assert len(nb.claims_table("P1", MemorySources("default"))) == len(claims_frame("P1"))


def test_captioned_names_the_profile_and_models():
    styled = nb.captioned(pd.DataFrame({"a": [0.12345]}), ["m1", "m2"], profile="default", smoke=True, precision=2)
    html = styled.to_html()
    assert "profile: default · models: m1, m2 · smoke" in html and "0.12" in html and "0.123" not in html


def test_best_detector_skips_baselines_and_counts_nan_as_zero():
    profiles = {"always": pd.DataFrame({"alignment_score": [1.0]}),
                "a": pd.DataFrame({"alignment_score": [0.2, np.nan]}),
                "b": pd.DataFrame({"alignment_score": [np.nan, np.nan]}),
                "c": pd.DataFrame({"alignment_score": [0.5, 0.1]})}
    assert nb.best_detector(profiles) == "c"
    with pytest.raises(WorkbenchError, match="no detector other than always, never"):
        nb.best_detector({"always": profiles["always"]})


def test_image_grid_lays_images_out_in_rows():
    from workbench.viz.grids import image_grid

    images = [np.full((4, 6, 3), k * 40, np.uint8) for k in range(5)]
    fig = image_grid(images, [f"t{k}" for k in range(5)], cols=2, title="grid", size=100)
    assert len(fig.data) == 5 and all(t.type == "image" for t in fig.data)
    assert fig.layout.height == 3 * 100 + 60 and fig.layout.width == 2 * 100 + 40
    assert [a.text for a in fig.layout.annotations] == ["t0", "t1", "t2", "t3", "t4"]
    assert fig.data[3].xaxis == "x4" and fig.layout.title.text == "grid"


def test_meme_helpers():
    rows = pd.DataFrame({"label": ["abusive", "satire"], "split": ["test", "train"], "flip": ["target", ""]})
    assert nb.meme_titles(rows) == ["abusive · test · target flip", "satire · train"]
    gains = pd.DataFrame({"setting": ["knowledge"], "over": ["none"], "relative_gain": [0.1], "lo": [-0.02],
                          "hi": [0.25], "share_positive": [0.9]})
    assert nb.gains_table(gains).iloc[0].tolist() == ["knowledge", "none", "+10.0 %", "[-2.0 %, +25.0 %]", 0.9]
    history = pd.DataFrame({"stage": ["head", "head", "lora"], "dev_macro_f1": [0.5, 0.6, 0.55]})
    assert nb.lora_note(history).endswith("no LoRA epoch beat stage 1, so stage 1's head was kept (= knowledge)")
    assert "LoRA epoch 1 was kept" in nb.lora_note(history.assign(dev_macro_f1=[0.5, 0.6, 0.7]))
    assert nb.lora_note(pd.DataFrame()) is None


def test_the_lora_epoch_kept_follows_the_trainings_rule():
    from workbench.memes.train import lora_epoch_kept, lora_note

    def history(head, lora):
        return ([{"stage": "head", "epoch": i + 1, "dev_macro_f1": f} for i, f in enumerate(head)]
                + [{"stage": "lora", "epoch": i + 1, "dev_macro_f1": f} for i, f in enumerate(lora)])

    assert lora_epoch_kept(history([0.5, 0.9, 0.8], [0.85, 0.9])) == 0          # a tie does not replace the head
    assert lora_epoch_kept(history([0.5, 0.9], [0.95, 0.91, 0.97, 0.96])) == 3   # the strict best
    assert lora_epoch_kept(history([0.5, float("nan")], [float("nan"), 0.6])) == 2
    assert lora_epoch_kept(history([0.5], [])) is None
    line = lora_note({"knowledge+lora": {"history": history([0.5, 0.934], [0.9, 0.933])}})
    assert line.startswith("knowledge+lora: none of its 2 LoRA epoch(s) beat") and "(0.934)" in line
    assert lora_note({"knowledge+lora": {"history": history([0.5], [0.6])}}) is None
    assert lora_note({"knowledge": {"history": history([0.5], [])}}) is None and lora_note({}) is None


def test_meme_ablation_and_flip_tables():
    class Model:
        def __init__(self, best):
            self.info = {"best_dev_macro_f1": best}

    metrics = pd.DataFrame({"setting": ["none", "knowledge"], "macro_f1": [0.5, 0.7], "macro_f1_lo": [0.4, 0.6],
                            "macro_f1_hi": [0.6, 0.8], "accuracy": [0.55, 0.75], "accuracy_lo": [0.45, 0.65],
                            "accuracy_hi": [0.65, 0.85], "f1_benign": [0.1, 0.2], "rows": [10, 10],
                            "models": ["m", "m"]})
    table = nb.ablation_table({"metrics": metrics, "models": {"none": Model(0.5), "knowledge": Model(0.8)}},
                              ["benign"])
    assert list(table.columns) == ["setting", "macro-F1 [95 % CI]", "accuracy [95 % CI]", "F1 benign",
                                   "held-out memes", "best dev macro-F1", "models"]
    assert table.iloc[1]["macro-F1 [95 % CI]"] == "0.700 [0.600, 0.800]" and table.iloc[1]["best dev macro-F1"] == 0.8
    # two pairs in one setting: pair p1 both right, pair p2 one wrong
    preds = pd.DataFrame({"setting": ["none"] * 5, "id": list("abcde"), "flip": ["target"] * 4 + [""],
                          "pair_id": ["p1", "p1", "p2", "p2", None], "label": ["x", "y", "x", "y", "x"],
                          "pred": ["x", "y", "x", "x", "x"]})
    flips = nb.flip_accuracy(preds, ["none"])
    assert flips.loc["none", "target"] == pytest.approx(0.75)
    assert flips.loc["none", "target (both of the pair)"] == pytest.approx(0.5)


def test_calibrator_mix_sweep_matches_the_endpoints():
    from workbench.experts.mixture import calibrator_mix_sweep
    from workbench.metrics.calibration import brier, ece

    rng = np.random.default_rng(0)
    fractal, natural = rng.dirichlet(np.ones(3), 20), rng.dirichlet(np.ones(3), 20)
    labels = rng.integers(0, 3, 20)
    sweep = calibrator_mix_sweep({"fractal": fractal, "natural": natural}, labels)
    assert list(sweep.columns) == ["lambda1", "ece", "brier"] and len(sweep) == 11
    assert sweep["ece"].iloc[-1] == pytest.approx(ece(fractal, labels, n_bins=10))
    assert sweep["brier"].iloc[0] == pytest.approx(brier(natural, labels))


def test_mixture_report_and_hhh_eval_set(tmp_path):
    from workbench.experts.artifacts import hhh_eval_set, mixture_report

    with pytest.raises(WorkbenchError, match="report.json: missing"):
        mixture_report(tmp_path)
    (tmp_path / "report.json").write_text('{"axes": ["helpful"]}')
    assert mixture_report(tmp_path) == {"axes": ["helpful"]}
    (tmp_path / "report.json").write_text("{")
    with pytest.raises(WorkbenchError, match="not valid JSON"):
        mixture_report(tmp_path)
    smoke = hhh_eval_set(True)
    assert (smoke["split"] == "eval").all() and smoke.groupby("axis").size().eq(2).all()
    assert list(smoke.index) == list(range(len(smoke)))


def test_aggregator_agreement_is_one_on_the_reference_and_minus_one_when_flipped():
    import torch

    from workbench.steering.vectors import SteeringVector, aggregator_agreement

    u = torch.tensor([1.0, 2.0, 0.0])
    vectors = {("honest", "mean_difference"): SteeringVector({1: u, 2: u}, "m"),
               ("honest", "pca"): SteeringVector({1: -2 * u, 2: u}, "m")}
    table = aggregator_agreement(vectors, [1, 2])
    assert table.loc[("honest", 1), "mean_difference"] == pytest.approx(1.0)
    assert table.loc[("honest", 1), "pca"] == pytest.approx(-1.0)
    assert table.loc[("honest", 2), "pca"] == pytest.approx(1.0)


def test_experts_and_steering_figures():
    from workbench.steering.ambs import compute_bound
    from workbench.viz.experts import loss_figure, mix_sweep_figure, router_ablation_figure
    from workbench.viz.steering import prompt_pass_figure

    fig = loss_figure({"helpful": [3.0, 2.0], "honest": [2.5, 1.0]})
    assert [t.name for t in fig.data] == ["helpful", "honest"] and list(fig.data[1].y) == [2.5, 1.0]
    sweep = pd.DataFrame({"lambda1": [0.0, 0.5, 1.0], "ece": [0.1, 0.2, 0.3], "brier": [0.5, 0.4, 0.3]})
    fig = mix_sweep_figure(sweep, paper_lambda=0.6)
    assert [t.name for t in fig.data] == ["ece", "brier"] and fig.layout.shapes[0].x0 == 0.6
    ablation = pd.DataFrame({"variant": ["a", "b"], "ece": [0.1, 0.2], "brier": [0.3, 0.4], "entropy": [1, 2]})
    fig = router_ablation_figure(ablation)
    assert [t.type for t in fig.data] == ["bar"] * 3 and fig.layout.barmode == "group"
    fig = prompt_pass_figure(12, 6, 1.4, n=3)
    assert list(fig.data[0].x) == [0, 2, 4, 6, 8, 10, 12]
    assert fig.data[0].y[3] == pytest.approx(compute_bound(3, 6, 12))
    assert (fig.data[1].x[0], fig.data[1].y[0]) == (6, 1.4)


def test_heatmap_row_and_frame_strips():
    from workbench.viz.grids import frame_strips, heatmap_row

    fig = heatmap_row([np.zeros((4, 5)), np.ones((4, 3))], ["bona fide", "griffin_lim"], title="Log-mel")
    assert [t.type for t in fig.data] == ["heatmap", "heatmap"] and fig.data[1].xaxis == "x2"
    assert [a.text for a in fig.layout.annotations] == ["bona fide", "griffin_lim"] and fig.layout.height == 280
    frames = np.zeros((6, 8, 10, 3), np.uint8)
    fig = frame_strips({"bona fide": frames, "sbi": frames}, title="frames")
    assert len(fig.data) == 2 and np.asarray(fig.data[0].z).shape == (8, 60, 3)
    assert fig.layout.height == 300 and fig.data[1].yaxis == "y2"


def test_held_out_routing_reads_the_test_rows_and_calibrates_them(tmp_path):
    from workbench.experts.artifacts import held_out_routing
    from workbench.experts.geometry import fit_calibration
    from workbench.io import save_frame

    rng = np.random.default_rng(0)
    logits, labels = rng.normal(size=(12, 3)), rng.integers(0, 3, 12)
    fractal, natural = rng.uniform(1, 2, 12), rng.uniform(0, 1, 12)
    fitted = fit_calibration(logits[:6], labels[:6], fractal=fractal[:6], natural=natural[:6])
    routing = pd.DataFrame({"split": ["calibration"] * 6 + ["test"] * 6, "label": labels, "fractal": fractal,
                            "natural": natural, **{f"logit_{a}": logits[:, k]
                                                   for k, a in enumerate(("helpful", "harmless", "honest"))}})
    save_frame(routing, tmp_path / "routing", profile="default")
    report = {"calibration": fitted.to_dict(), "axes": ["helpful", "harmless", "honest"]}
    rows, probs = held_out_routing(tmp_path, report)
    assert rows["split"].eq("test").all() and list(rows.index) == list(range(6))
    expected = fitted.probs(logits[6:], fractal=fractal[6:], natural=natural[6:])
    assert set(probs) == set(expected)
    np.testing.assert_allclose(probs["mixed"], expected["mixed"])
