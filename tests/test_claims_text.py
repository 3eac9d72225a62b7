"""Claims measurements of P1, P2 and the dataset sizes (workbench.claims.text) on hand-made artifacts."""
import pandas as pd
import pytest

from workbench import claims
from workbench.claims.core import MemorySources
from workbench.papers import get_paper


def _claim(paper, kind, **params):
    return next(c for c in get_paper(paper).claims if c.kind == kind
                and all(c.params.get(k) == v for k, v in params.items()))


def _measure(paper, claim, sources):
    return claims.measure(paper, claim, sources)


# --- dataset_size -------------------------------------------------------------------------------------------------

def test_savacu_size_is_the_built_responses_not_comparable_for_a_seed_build():
    claim = _claim("P1", "dataset_size")
    assert _measure("P1", claim, MemorySources("default")).status == "not measured"      # not built
    responses = pd.DataFrame({"id": ["q0", "q0", "q1"], "prompt": ["a", "a", "b"], "response": ["x", "y", "z"],
                              "side": ["aligned", "misaligned", "aligned"]})
    sources = MemorySources("default").add("P1", "construction_responses", responses, models=["smollm2"],
                                           config={"source": "seed_prompts.csv", "smoke": True, "respond_limit": 1})
    ours = _measure("P1", claim, sources)
    assert ours.status == "not comparable" and ours.value == 3 and ours.data_kind == "bundled"
    assert "smoke build of 3 (prompt, response) rows from the bundled seed prompts" in ours.reason
    assert "first 1 kept prompts" in ours.reason
    full = MemorySources("paper").add("P1", "construction_responses", responses,
                                      config={"source": "savacu_prompts.parquet", "smoke": False,
                                              "respond_limit": None})
    assert _measure("P1", claim, full).status == "comparable"


def test_demo_safety_size_counts_rater_rows():
    claim = _claim("P4", "dataset_size")
    assert "not built" in _measure("P4", claim, MemorySources("default")).reason
    dataset = pd.DataFrame({"id": ["dices-0", "dices-1", "exp-safety-self_harm-0"], "n_raters": [4, 4, None],
                            "origin": ["original", "original", "expanded"]})
    sources = MemorySources("default").add("P4", "construction_dataset", dataset,
                                           config={"source": "synthetic DICES-shaped fixture", "smoke": True})
    ours = _measure("P4", claim, sources)
    assert ours.status == "not comparable" and ours.value == 8 and ours.data_kind == "synthetic"
    assert "2 conversations" in ours.reason and "DICES-350" in ours.reason
    real = MemorySources("default").add("P4", "construction_dataset", dataset,
                                        config={"source": "DICES CSV", "smoke": False})
    assert _measure("P4", claim, real).status == "comparable"
    no_raters = MemorySources("default").add("P4", "construction_dataset", dataset.drop(columns="n_raters"))
    ours = _measure("P4", claim, no_raters)
    assert ours.status == "not measured" and "n_raters" in ours.reason


# --- taxonomy_domains ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("paper", ["P1", "P2"])
def test_taxonomy_domains_of_the_bundled_taxonomy_are_comparable(paper):
    from workbench.taxonomy import dimension

    ours = _measure(paper, _claim(paper, "taxonomy_domains"), MemorySources("default"))
    expected = sum(len(dimension(d).labels) for d in ("safety", "value", "culture")) + 1    # + culture's None
    assert ours.status == "comparable" and ours.value == expected and ours.data_kind == "bundled"
    assert "culture's None" in ours.detail


def test_taxonomy_domains_of_another_taxonomy():
    from workbench.taxonomy import taxonomy_frame

    frame = taxonomy_frame()
    frame = frame[~((frame["dimension"] == "value") & (frame["key"] == frame[frame["dimension"] == "value"]
                                                       ["key"].iloc[0]))]
    ours = _measure("P1", _claim("P1", "taxonomy_domains"), MemorySources("default").add("P1", "taxonomy", frame))
    assert ours.status == "not comparable" and "value: 1 of the papers' labels missing" in ours.reason
    bad = MemorySources("default").add("P1", "taxonomy", pd.DataFrame({"label": ["a"]}))
    assert _measure("P1", _claim("P1", "taxonomy_domains"), bad).status == "not measured"


# --- single_dimension_detectors and tradeoff_range: detector predictions -----------------------------------------

def _predictions(single: bool = False):
    """Two prompts per dimension set; a detector that flags every misaligned row and the aligned rows of joint
    prompts, and the always baseline."""
    rows = []
    sets = [["safety"], ["value"], ["culture"], ["safety", "value"], ["value", "culture"], ["safety", "culture"]]
    for k, dims in enumerate(sets * 2):
        for side in ("aligned", "misaligned"):
            misaligned = side == "misaligned"
            for detector, flagged in (("m (llm)", misaligned or len(dims) > 1), ("always", True)):
                rows.append({"id": f"q{k}", "side": side, "dimensions": dims, "misaligned": misaligned,
                             "flagged": flagged, "detector": detector,
                             "kind": "always" if detector == "always" else "llm",
                             **({"detector_dimension": "safety" if detector != "always" else None}
                                if single else {})})
    return pd.DataFrame(rows)


CONFIG = {"source": "data/eval/response_pairs.csv", "threshold": 0.5, "smoke": True}


@pytest.mark.parametrize("metric, condition, reduce", [("coverage", "all", "max"), ("ffr", "joint", "min"),
                                                       ("alignment_score", "joint", "min")])
def test_single_dimension_claims_are_not_measured_without_such_detectors(metric, condition, reduce):
    claim = _claim("P1", "single_dimension_detectors", metric=metric, condition=condition, reduce=reduce)
    assert "not built" in _measure("P1", claim, MemorySources("default")).reason
    sources = MemorySources("default").add("P1", "detector_predictions", _predictions(), models=["m"], config=CONFIG)
    ours = _measure("P1", claim, sources)
    assert ours.status == "not measured" and ours.value is None
    assert "no single-dimension detector" in ours.reason and "m (llm)" in ours.reason and "issue 20" in ours.reason


def test_single_dimension_detectors_when_built():
    sources = MemorySources("default").add("P1", "detector_predictions", _predictions(single=True), models=["m"],
                                           config=CONFIG)
    coverage = _measure("P1", _claim("P1", "single_dimension_detectors", metric="coverage", condition="all"),
                        sources)
    assert coverage.status == "not comparable" and coverage.value == 100.0 and coverage.data_kind == "bundled"
    ffr = _measure("P1", _claim("P1", "single_dimension_detectors", metric="ffr", condition="joint"), sources)
    assert ffr.value == 100.0                        # every aligned joint row is flagged; the baseline is left out
    score = _measure("P1", _claim("P1", "single_dimension_detectors", metric="alignment_score", reduce="min"),
                     sources)
    assert score.value == 0.0


@pytest.mark.parametrize("reduce", ["min", "max"])
def test_tradeoff_range_reports_our_matrix_not_comparable(reduce):
    from workbench.metrics.tradeoff import tradeoff_matrix

    claim = _claim("P2", "tradeoff_range", reduce=reduce)
    assert "not built" in _measure("P2", claim, MemorySources("default")).reason
    frame = _predictions()
    sources = MemorySources("default").add("P2", "detector_predictions", frame, models=["m"], config=CONFIG)
    ours = _measure("P2", claim, sources)
    matrix, _ = tradeoff_matrix(frame[frame["detector"] == "m (llm)"])
    entries = matrix.stack().dropna()
    assert ours.status == "not comparable" and ours.data_kind == "bundled"
    assert ours.value == pytest.approx(100 * (entries.min() if reduce == "min" else entries.max()))
    assert "formula is not public" in ours.reason and "SPECS.md" in ours.reason
    # a set without both classes has no AS: nothing defined, not measured
    aligned_only = frame[~frame["misaligned"]]
    empty = MemorySources("default").add("P2", "detector_predictions", aligned_only, config=CONFIG)
    assert _measure("P2", claim, empty).status == "not measured"


def test_every_p1_p2_claim_has_a_measurement():
    rows = claims.ledger(["P1", "P2"], sources=MemorySources("default"))
    assert len(rows) == len(get_paper("P1").claims) + len(get_paper("P2").claims)
    assert {r.status for r in rows if r.kind == "taxonomy_domains"} == {"comparable"}


def test_single_dimension_claims_compare_with_the_joint_detector_and_baselines():
    """A safety-only detector that flags every response of a safety prompt, beside a perfect joint detector: on
    the joint rows (safety+value, value+culture, safety+culture) the single one has Coverage 2/3, FFR 2/3, AS 4/9."""
    single = _predictions(single=True)
    single = single[single["detector"] != "always"].assign(
        flagged=lambda f: [("safety" in d) for d in f["dimensions"]])
    joint = single.assign(detector="m (llm)", detector_dimension="", flagged=single["misaligned"])
    base = _predictions()
    base = base[base["detector"] == "always"].assign(detector_dimension="")
    frame = pd.concat([single.assign(detector="m (llm, safety-only)"), joint, base], ignore_index=True)
    sources = MemorySources("default").add("P1", "detector_predictions", frame, models=["m"], config=CONFIG)
    ffr = _measure("P1", _claim("P1", "single_dimension_detectors", metric="ffr", condition="joint"), sources)
    assert ffr.status == "not comparable" and ffr.value == pytest.approx(200 / 3)
    assert "m (llm, safety-only)" in ffr.detail and "joint detectors on the same rows: m (llm) 0.0" in ffr.detail
    assert ffr.shortcut == "trivial baselines on the same rows: always 100.0"
    score = _measure("P1", _claim("P1", "single_dimension_detectors", metric="alignment_score", reduce="max"),
                     sources)
    assert score.value == pytest.approx(400 / 9) and "m (llm) 100.0" in score.detail     # 2·(2/3)·(1/3)
    # the trade-off range reads the joint detector only (the perfect one: every entry 0), naming the other's range
    ours = _measure("P2", _claim("P2", "tradeoff_range", reduce="max"),
                    MemorySources("default").add("P2", "detector_predictions", frame, models=["m"], config=CONFIG))
    assert ours.status == "not comparable" and ours.value == 0.0
    assert "1 joint detector(s)" in ours.detail and "single-dimension detectors (left out) range" in ours.detail
