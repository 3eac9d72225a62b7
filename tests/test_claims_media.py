"""Claims measurements of P6 (deepfake_eval) and P9 (caption_eval) on hand-made artifacts, one test per status."""
import numpy as np
import pandas as pd
import pytest

from workbench.captioning.metrics import evaluate_captions
from workbench.claims import MemorySources, ledger, measure
from workbench.papers import get_paper

OUR_OVER = ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR (exact+stem)", "ROUGE-L", "CIDEr-D"]
PAPER_OVER = ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr", "SPICE", "SPIDEr"]


def _claim(paper, kind, **params):
    return next(c for c in get_paper(paper).claims if c.kind == kind and all(c.params.get(k) == v
                                                                             for k, v in params.items()))


# ------------------------------------------------------------------------------------------------------- P6


def _deepfake_frame():
    """Ten audio-visual clips: the reasoning stage right on all, the video detector on 8, the audio one on 6; and
    four audio clips."""
    y = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    video_right = np.array([1, 1, 1, 1, 1, 1, 1, 1, 0, 0], bool)
    audio_right = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0, 0], bool)
    # thresholds 0: a score > 0 says real; a right detector scores +1 on real and −1 on fake
    sign = np.where(y == 1, 1.0, -1.0)
    av = pd.DataFrame({"id": [f"av{i}" for i in range(10)], "modality": "audiovisual", "y": y,
                       "verdict": np.where(y == 1, "real", "fake"),
                       "score_video": np.where(video_right, sign, -sign),
                       "score_audio": np.where(audio_right, sign, -sign)})
    audio = pd.DataFrame({"id": [f"a{i}" for i in range(4)], "modality": "audio", "y": [1, 0, 1, 0],
                          "verdict": ["real", "fake", "real", "fake"], "score_audio": [1.0, -1.0, 1.0, -1.0],
                          "score_video": np.nan})
    return pd.concat([av, audio], ignore_index=True)


def _deepfake_sources(frame=None, **config):
    config = {"trained_detectors": {"audio": {"threshold": 0.0}, "video": {"threshold": 0.0}},
              "pipeline": {"audio_encoder": "logmel-cnn", "video_encoder": "frame-cnn"}, "smoke": False, **config}
    return MemorySources("default").add("P6", "deepfake_eval", _deepfake_frame() if frame is None else frame,
                                        models=["logmel-cnn", "frame-cnn", "tiny-llama"], config=config)


def test_p6_av_gain_is_over_the_better_single_modality_detector_and_not_comparable():
    ours = measure("P6", _claim("P6", "deepfake_accuracy_gain", modality="audio-visual"), _deepfake_sources())
    assert ours.status == "not comparable"
    assert ours.value == pytest.approx(20.0)                         # 100 % − the video detector's 80 %
    assert ours.ci is not None and ours.ci[0] <= ours.value <= ours.ci[1]
    assert "video-only detector" in ours.reason and "synthetic" in ours.reason
    assert ours.data_kind == "synthetic" and "10 audio-visual clips" in ours.data
    assert ours.artifact == "notebook (in memory)" and "tiny-llama" in ours.models


def test_p6_av_gain_without_verdicts_or_thresholds_is_not_measured():
    ours = measure("P6", _claim("P6", "deepfake_accuracy_gain", modality="audio-visual"),
                   _deepfake_sources(_deepfake_frame().drop(columns="verdict")))
    assert ours.status == "not measured" and ours.value is None and "verdict" in ours.reason
    ours = measure("P6", _claim("P6", "deepfake_accuracy_gain", modality="audio-visual"),
                   _deepfake_sources(trained_detectors={"audio": {"threshold": 0.0}}))
    assert ours.status == "not measured" and "thresholds" in ours.reason


@pytest.mark.parametrize("kind, params, words", [
    ("deepfake_eer_reduction", {"modality": "audio"}, ("baseline detector", "4 audio clip")),
    ("deepfake_accuracy_gain", {"modality": "video"}, ("video-only", "no baseline")),
])
def test_p6_claims_the_artifact_cannot_measure(kind, params, words):
    ours = measure("P6", _claim("P6", kind, **params), _deepfake_sources())
    assert ours.status == "not measured" and ours.value is None
    assert all(w in ours.reason for w in words), ours.reason


def _ptm_sources(**over):
    """A ``deepfake_ptm`` artifact: the audio detector gains 10 points with the pretrained encoder, the audio-visual
    one 4, on the same rows."""
    def stage(cnn_acc, ptm_acc, ci):
        rep = lambda acc: {"eer": 1 - acc, "auc": acc, "accuracy": acc, "n_bonafide": 10, "n_spoof": 10}  # noqa: E731
        return {"logmel-cnn": rep(cnn_acc), "whisper-base": rep(ptm_acc),
                "delta": {"eer": cnn_acc - ptm_acc, "accuracy": ptm_acc - cnn_acc, "accuracy_ci": ci, "rows": 20}}
    tests = {"all rows": {"audio detector": stage(0.7, 0.8, [0.0, 0.2]),
                          "audiovisual detector": stage(0.8, 0.84, [-0.05, 0.1]),
                          "detector (pipeline)": stage(0.5, 0.9, [0.3, 0.5])}}     # not a modality: left out
    config = {"reference": "logmel-cnn", "pretrained": "whisper-base", "tests": tests, "smoke": True, **over}
    return MemorySources("default").add("P6", "deepfake_ptm", pd.DataFrame({"y": [0, 1]}),
                                        models=["whisper-base", "logmel-cnn", "frame-cnn"], config=config)


@pytest.mark.parametrize("reduce, value, ci, stage", [("min", 4.0, (-5.0, 10.0), "audiovisual detector"),
                                                      ("max", 10.0, (0.0, 20.0), "audio detector")])
def test_p6_ptm_ablation_reads_the_paired_accuracy_gain_per_modality(reduce, value, ci, stage):
    ours = measure("P6", _claim("P6", "deepfake_ptm_ablation", reduce=reduce), _ptm_sources())
    assert ours.status == "not comparable" and ours.value == pytest.approx(value)
    assert ours.ci == pytest.approx(ci)
    assert ours.detail.startswith(f"{reduce} over audio detector, audiovisual detector: {stage}")
    assert "whisper-base" in ours.reason and "smoke" in ours.reason and ours.data_kind == "synthetic"


def test_p6_ptm_ablation_without_both_encoders_is_not_measured():
    ours = measure("P6", _claim("P6", "deepfake_ptm_ablation", reduce="min"), _ptm_sources(tests={}))
    assert ours.status == "not measured" and "both audio encoders" in ours.reason
    ours = measure("P6", _claim("P6", "deepfake_ptm_ablation", reduce="max"), _deepfake_sources())
    assert ours.status == "not measured" and "P6/deepfake_ptm is not built" in ours.reason


def test_p6_and_p9_not_built():
    rows = ledger(["P6", "P9"], sources=MemorySources("default"))
    assert len(rows) == len(get_paper("P6").claims) + len(get_paper("P9").claims)
    assert all(r.status == "not measured" and "is not built" in r.reason for r in rows)


# ------------------------------------------------------------------------------------------------------- P9

REFS = [["a dog barks twice", "a dog is barking"], ["rain falls on a roof", "heavy rain on a tin roof"],
        ["a car engine starts", "an engine revs up"], ["birds sing in the morning", "small birds chirping"],
        ["a bell rings loudly", "a church bell is ringing"], ["water runs from a tap", "a tap is running water"]]
GREEDY = ["a sound of a sound", "a sound of rain", "a sound of a car", "a sound of birds", "a sound", "a sound"]
MAGIC = ["a dog is barking", "heavy rain on a roof", "an engine starts", "birds chirping", "a bell is ringing",
         "water from a tap"]
NO_KEYWORDS = ["a sound is heard", "a sound of rain", "a sound", "a sound", "a sound of a bell", "a sound"]


def _caption_sources(over=OUR_OVER, ablation=None, metrics=None, outputs=True):
    rows = []
    for decoder, l, caps in (("greedy", 2, GREEDY), ("magic", 2, MAGIC), ("magic", 0, NO_KEYWORDS)):
        rows += [{"id": f"c{i}", "l": l, "decoder": decoder, "caption": c, "references": REFS[i]}
                 for i, c in enumerate(caps)]
    frame = pd.DataFrame(rows) if outputs else pd.DataFrame({"id": ["c0"]})
    nlg = {key: evaluate_captions(caps, REFS)["nlg_mean"]
           for key, caps in (("greedy", GREEDY), ("magic", MAGIC), ("none", NO_KEYWORDS))}
    metrics = metrics if metrics is not None else [{"decoder": "greedy", "l": 2, "NLG mean": nlg["greedy"]},
                                                   {"decoder": "magic", "l": 2, "NLG mean": nlg["magic"]}]
    ablation = ablation if ablation is not None else [{"l": 0, "NLG mean": nlg["none"]},
                                                      {"l": 2, "NLG mean": nlg["magic"]}]
    config = {"metrics": metrics, "ablation": ablation, "nlg_mean_over": over, "clips": 6, "smoke": False,
              "settings": {"l": 2}}
    return MemorySources("default").add("P9", "caption_eval", frame, models=["tiny-clap", "tiny-llama"],
                                        config=config), nlg


def test_p9_nlg_scores_are_ours_and_say_the_definition_differs():
    sources, nlg = _caption_sources()
    for decoder in ("greedy", "magic"):
        ours = measure("P9", _claim("P9", "caption_nlg_score", decoder=decoder), sources)
        assert ours.status == "not comparable" and ours.value == pytest.approx(nlg[decoder])
        assert "other metric definition" in ours.reason and "SPICE, SPIDEr" in ours.reason
        assert "METEOR (exact+stem)" in ours.reason and "CIDEr-D" not in ours.reason
        assert ours.ci is not None and ours.ci[0] <= ours.ci[1]
        assert ours.data == "synthetic: workbench sound corpus, eval split (6 clips)"


def test_p9_same_definition_is_still_not_comparable_on_synthetic_clips():
    sources, _ = _caption_sources(over=PAPER_OVER)
    ours = measure("P9", _claim("P9", "caption_nlg_score", decoder="magic"), sources)
    assert ours.status == "not comparable" and "metric definition" not in ours.reason
    assert "synthetic sound corpus" in ours.reason


def test_p9_magic_gain_is_relative_to_greedy_with_a_paired_ci():
    sources, nlg = _caption_sources()
    ours = measure("P9", _claim("P9", "caption_magic_gain"), sources)
    assert ours.status == "not comparable"
    assert ours.value == pytest.approx(100 * (nlg["magic"] / nlg["greedy"] - 1))
    assert ours.ci is not None and ours.ci[0] < ours.ci[1] and ours.ci[0] > 0      # MAGIC is better on every clip
    no_clips, _ = _caption_sources(outputs=False)
    assert measure("P9", _claim("P9", "caption_magic_gain"), no_clips).ci is None


def test_p9_magic_gain_not_measured_when_greedy_is_zero_or_absent():
    zero, _ = _caption_sources(metrics=[{"decoder": "greedy", "l": 2, "NLG mean": 0.0},
                                        {"decoder": "magic", "l": 2, "NLG mean": 3.0}])
    ours = measure("P9", _claim("P9", "caption_magic_gain"), zero)
    assert ours.status == "not measured" and "undefined" in ours.reason
    absent, _ = _caption_sources(metrics=[{"decoder": "magic", "l": 2, "NLG mean": 3.0}])
    assert measure("P9", _claim("P9", "caption_magic_gain"), absent).status == "not measured"
    assert measure("P9", _claim("P9", "caption_nlg_score", decoder="greedy"), absent).status == "not measured"


def test_p9_keyword_drop_and_best_keyword_count():
    table = [{"l": 0, "NLG mean": 5.0}, {"l": 1, "NLG mean": 20.0}, {"l": 2, "NLG mean": 16.0},
             {"l": 3, "NLG mean": 20.0}]
    sources, _ = _caption_sources(ablation=table, outputs=False)
    drop = measure("P9", _claim("P9", "caption_keyword_drop"), sources)
    assert drop.status == "not comparable" and drop.value == pytest.approx(75.0) and drop.ci is None
    best = measure("P9", _claim("P9", "caption_best_keywords"), sources)
    assert best.status == "not comparable" and best.value == 1                     # a tie goes to the smaller l
    assert "0, 1, 2, 3" in best.reason
    paired, nlg = _caption_sources()
    drop = measure("P9", _claim("P9", "caption_keyword_drop"), paired)
    assert drop.value == pytest.approx(100 * (1 - nlg["none"] / nlg["magic"])) and drop.ci is not None


def test_p9_best_keyword_count_by_scorer_from_the_comparison():
    from workbench.captioning.evaluation import JUDGE_SCORE

    sources, _ = _caption_sources(ablation=[{"l": 0, "NLG mean": 5.0}, {"l": 1, "NLG mean": 20.0}], outputs=False)
    assert "by audio–text model" not in measure("P9", _claim("P9", "caption_best_keywords"), sources).detail
    runs = [("strong", 0, 6.0), ("strong", 1, 21.0), ("weak", 0, 4.0), ("weak", 1, 3.0)]
    config = {"scorers": [{"scorer": "strong", "audio_to_text R@1": 0.9}, {"scorer": "weak", "audio_to_text R@1": 0.4}],
              "ablation": [{"scorer": s, "l": l, "NLG mean": v, JUDGE_SCORE: v / 100} for s, l, v in runs]}
    sources.add("P9", "caption_scorers", pd.DataFrame({"id": ["c0"]}), models=["strong", "weak"], config=config)
    detail = measure("P9", _claim("P9", "caption_best_keywords"), sources).detail
    assert "strong l = 1 (NLG mean 21.00" in detail and "weak l = 0 (NLG mean 4.00" in detail
    assert "R@1 0.40" in detail


def test_p9_keyword_claims_not_measured_without_the_ablation():
    sources, _ = _caption_sources(ablation=[{"l": 2, "NLG mean": 16.0}])
    for kind in ("caption_keyword_drop", "caption_best_keywords"):
        ours = measure("P9", _claim("P9", kind), sources)
        assert ours.status == "not measured" and ours.value is None


def test_p9_ledger_rows_carry_the_claims_and_ours():
    sources, _ = _caption_sources()
    rows = {r.metric: r for r in ledger(["P9"], sources=sources)}
    gain = rows["relative improvement from MAGIC"]
    assert gain.status == "not comparable" and gain.ours.endswith("]") and gain.artifact == "notebook (in memory)"
    assert "inconsistent" in gain.note.lower()


def test_an_unknown_claim_parameter_is_an_error_naming_the_claim():
    from dataclasses import replace

    from workbench import WorkbenchError

    claim = _claim("P6", "deepfake_accuracy_gain", modality="video")
    with pytest.raises(WorkbenchError, match="params.modality is 'radio'; one of audio, video, audio-visual"):
        measure("P6", replace(claim, params={"modality": "radio"}), _deepfake_sources())
    sources, _ = _caption_sources()
    with pytest.raises(WorkbenchError, match="params.decoder is None"):
        measure("P9", replace(_claim("P9", "caption_nlg_score", decoder="magic"), params={}), sources)


def test_p9_rows_carry_the_shortcut_baseline_or_say_it_is_missing():
    shortcut = {"surface": {"features": ["duration_s", "file_bytes", "rms_dbfs"], "nlg_mean": 8.9,
                            "random_nlg_mean": 9.5, "random_nlg_std": 1.9, "class_accuracy": 0.08,
                            "chance_accuracy": 0.08, "clips": 6},
                "structure": {"features": ["rms_dbfs", "silence_ratio"], "nlg_mean": 19.7, "class_accuracy": 0.44}}
    sources, _ = _caption_sources()
    sources.artifacts[("P9", "caption_eval")].config["shortcut"] = shortcut
    for kind, params in (("caption_nlg_score", {"decoder": "magic"}), ("caption_magic_gain", {}),
                         ("caption_keyword_drop", {}), ("caption_best_keywords", {})):
        ours = measure("P9", _claim("P9", kind, **params), sources)
        assert "NLG mean 8.90 vs random train caption 9.50 ± 1.90" in ours.shortcut, (kind, ours.shortcut)
        assert "class accuracy 0.08, chance 0.08" in ours.shortcut and "structure cues" in ours.shortcut
    old, _ = _caption_sources()
    assert "predates the shortcut baseline" in measure("P9", _claim("P9", "caption_magic_gain"), old).shortcut
