import json

import numpy as np
import pandas as pd
import pingouin as pg
import pytest

from workbench import WorkbenchError
from workbench.cli.main import main
from workbench.datasets import dices_fixture
from workbench.evaluation.raters import (evaluate_raters, parse_rating, personas_of, rate, rate_dices,
                                         rating_values, threshold_sweep)
from workbench.taxonomy.classify import Classification


def test_rating_scale_and_parsing():
    assert np.array_equal(rating_values(["Yes", "no", " unsure ", "0.25", 1, "maybe"]),
                          [1.0, 0.0, 0.5, 0.25, 1.0, np.nan], equal_nan=True)
    assert parse_rating("Answer: no, it is fine") == "No" and parse_rating("I am UNSURE.") == "Unsure"
    assert parse_rating("Nothing to say") is None            # "No" must be a whole word


def test_personas_cover_every_attribute_value():
    dices = dices_fixture(n_items=4, n_raters=6)
    personas = personas_of(dices)
    assert ("rater_gender", "Woman") in personas and ("rater_age", "gen z") in personas
    assert len(personas) == dices[["rater_gender", "rater_race", "rater_age", "rater_education"]].nunique().sum()


def test_likelihood_and_generate_modes_on_a_tiny_model():
    items = pd.DataFrame({"item_id": [1, 2], "context": ["USER: hi", "USER: how do I pick a lock?"],
                          "response": ["Hello!", "Use a tension wrench."]})
    lik = rate("tiny-llama", items)
    assert np.allclose(lik[["p_yes", "p_no", "p_unsure"]].sum(1), 1.0)
    assert set(lik["rating"]) <= {"Yes", "No", "Unsure"}
    assert np.allclose(lik["score"], lik["p_yes"] + 0.5 * lik["p_unsure"])
    gen = rate("tiny-llama", items, mode="generate", persona=("rater_gender", "Woman"))
    # a random tiny model rarely says Yes/No/Unsure: such output is left unrated, not guessed
    assert all((r is None) == np.isnan(s) for r, s in zip(gen["rating"], gen["score"]))
    with pytest.raises(WorkbenchError, match="unknown rating mode 'vote'"):
        rate("tiny-llama", items, mode="vote")
    with pytest.raises(WorkbenchError, match="not a causal LM"):
        rate("minilm-l6", items)


def scripted_ratings(dices, noise=0.0, persona_shift=0.3, seed=0):
    """Model ratings made from the human panel's mean (so the ICC is known to be high) plus persona effects."""
    from workbench.evaluation.raters import human_scores

    rng = np.random.default_rng(seed)
    items = human_scores(dices)
    rows = []
    for persona in [None] + personas_of(dices):
        shift = persona_shift if persona == ("rater_gender", "Woman") else 0.0
        score = np.clip(items["human_score"].to_numpy() + shift + noise * rng.standard_normal(len(items)), 0, 1)
        rating = np.where(score >= 0.6, "Yes", np.where(score <= 0.4, "No", "Unsure"))
        rows.append(pd.DataFrame({"item_id": items.index, "score": score, "rating": rating, "model": "scripted",
                                  "rater": "scripted", "persona_attribute": persona[0] if persona else None,
                                  "persona_value": persona[1] if persona else None}))
    return pd.concat(rows, ignore_index=True)


def test_evaluate_raters_against_pingouin_and_planted_persona_gap():
    dices = dices_fixture(n_items=16, n_raters=8)
    ratings = scripted_ratings(dices, noise=0.05)
    result = evaluate_raters(dices, ratings)["models"]["scripted"]
    from workbench.evaluation.raters import human_scores

    humans = human_scores(dices)["human_score"]
    plain = ratings[ratings["persona_attribute"].isna()].set_index("item_id")["score"]
    long = pd.DataFrame({"item": humans.index, "model": plain.reindex(humans.index), "humans": humans}).melt(
        id_vars="item", var_name="rater", value_name="score")
    ref = pg.intraclass_corr(long, targets="item", raters="rater", ratings="score")   # rows ICC1, ICC2, … in order
    assert result["icc"]["ICC2"]["icc"] == pytest.approx(ref["ICC"].iloc[1], abs=1e-9)
    assert result["icc"]["ICC3"]["icc"] > 0.8 and result["rho"] > 0.9
    fairness = result["fairness"]
    # Woman personas are shifted up by 0.3: the gender gap is the largest, and it is DS's max; DS itself is the
    # average over the attributes, as the paper reports it
    gaps = {a: v["dpd"] for a, v in fairness["per_attribute"].items()}
    assert max(gaps, key=gaps.get) == "rater_gender" and fairness["ds_max"] == gaps["rater_gender"] > 0.2
    assert fairness["ds"] == pytest.approx(np.mean(list(gaps.values()))) and fairness["ds"] < fairness["ds_max"]
    assert gaps["rater_age"] < 0.15           # noise only
    human = evaluate_raters(dices, ratings)["human"]
    assert 0 <= human["ds"] <= 1 and set(human["per_attribute"]) == {"rater_gender", "rater_race", "rater_age",
                                                                      "rater_education"}


def test_unparseable_and_one_group_are_reported_not_fatal():
    dices = dices_fixture(n_items=6, n_raters=4)
    dices = dices.assign(rater_education="College degree or higher")            # one group only
    ratings = scripted_ratings(dices)
    ratings.loc[3, ["score", "rating"]] = [np.nan, None]
    ratings["raw"] = "text"
    result = evaluate_raters(dices, ratings)
    assert result["skipped"]["unparseable_ratings"] == 1
    edu = result["human"]["per_attribute"]["rater_education"]["dpd"]
    assert isinstance(edu, str) and "two groups" in edu
    assert "rater_education" in result["human"]["skipped"]
    assert result["models"]["scripted"]["n_items"] == 5
    # a demographic group with a single rater is left out of the human fairness metrics, and reported
    lone = dices.assign(rater_age=np.where(dices["rater_id"] == dices["rater_id"].min(), "gen alpha", "gen z"))
    result = evaluate_raters(lone, scripted_ratings(lone))
    assert result["skipped"]["human groups with one rater"]["rater_age"] == ["gen alpha"]
    assert "rater_age" in result["human"]["skipped"]              # one group left: no gap to measure


def test_threshold_sweep_counts_and_icc():
    dices = dices_fixture(n_items=12, n_raters=6)
    from workbench.evaluation.raters import human_scores

    items = human_scores(dices).reset_index()
    probs = np.tile(np.linspace(0.2, 0.9, 12)[:, None], (1, 2))          # best named-domain probability per item
    probs[:, 1] = 1 - probs[:, 0]
    classification = Classification("safety", ("animal_abuse", "None"), probs, "embedding", "test")
    scores = items["human_score"].to_numpy() + 0.01 * np.arange(12)
    table = threshold_sweep(items, scores, classification=classification, deltas=(0.3, 0.7), taus=(0, 64))
    low = table[(table["delta"] == 0.3) & (table["tau"] == 0)].iloc[0]
    high = table[(table["delta"] == 0.7) & (table["tau"] == 0)].iloc[0]
    # the fixture's 12 conversations are 6 topics twice: τ = 0 removes the exact repeats
    assert low["n_items"] == sum(1 for i in range(6) if np.linspace(0.2, 0.9, 12)[i] >= 0.3)
    assert high["n_items"] < low["n_items"] and low["icc2"] > 0.9
    assert table[table["tau"] == 64]["n_items"].max() <= 1 and table[table["tau"] == 64]["icc2"].isna().all()


def test_cli_eval_raters_and_agreement(tmp_path, capsys):
    src = tmp_path / "dices.csv"
    dices_fixture(n_items=6, n_raters=4).to_csv(src, index=False)
    assert main(["eval", "raters", str(src), "--raters", "tiny-llama", "--personas", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "tiny-llama: 6 items" in out and "human raters by their demographics: DS" in out
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["profile"] == "default" and "tiny-llama" in metrics["models"]
    assert len(metrics["sweep"]) == 30
    ratings = pd.read_parquet(tmp_path / "r" / "ratings.parquet")
    assert len(ratings) == 6 * (1 + len(personas_of(dices_fixture(n_items=6, n_raters=4))))

    # any long-format ratings table: the DICES file itself (human raters × items, Yes/No/Unsure)
    assert main(["eval", "agreement", str(src), "--targets", "item_id", "--raters", "rater_id",
                 "--ratings", "Q_overall", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) >= {"ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k", "rho"}
    assert result["ICC2"]["ci_low"] <= result["ICC2"]["icc"] <= result["ICC2"]["ci_high"]
    assert main(["eval", "agreement", str(src), "--targets", "item_id", "--raters", "rater_id",
                 "--ratings", "Q_overall"]) == 0
    assert "ICC3k" in capsys.readouterr().out
    assert main(["eval", "agreement", str(src), "--targets", "item", "--raters", "rater_id",
                 "--ratings", "Q_overall"]) == 1
    assert "no column 'item'" in capsys.readouterr().err
    assert main(["eval", "raters", str(src), "--raters", "minilm-l6", "--out", str(tmp_path / "x")]) == 1
    assert "not a causal LM" in capsys.readouterr().err


def test_unsure_is_scored_as_a_whole_sequence_like_yes_and_no():
    """" Unsure" is more tokens than " Yes" / " No" for the test tokenizer: each answer's probability is the
    product over all its tokens (answer_probs, normalize="sum"), written out here by hand with one forward pass."""
    import torch

    from workbench.evaluation.raters import ANSWERS, _prompt
    from workbench.llm.generate import build_prompt
    from workbench.llm.scoring import _encode, encode_prompt
    from workbench.models import load

    lm = load("tiny-llama")
    lengths = [len(_encode(lm, a)) for a in ANSWERS]
    assert lengths[2] > lengths[0] and lengths[2] > lengths[1]
    items = pd.DataFrame({"item_id": [7], "context": ["USER: how do I pick a lock?"], "response": ["Use a pin."]})
    got = rate("tiny-llama", items).iloc[0]
    prompt = encode_prompt(lm, build_prompt(lm, _prompt("USER: how do I pick a lock?", "Use a pin.", None)) + "Answer:")
    logp = []
    for answer in ANSWERS:
        ids = _encode(lm, answer)
        with torch.no_grad():
            logits = lm.model(torch.tensor([prompt + ids], device=lm.device)).logits[0].float()
        steps = torch.log_softmax(logits[len(prompt) - 1:-1], -1)
        logp.append(float(steps[torch.arange(len(ids)), torch.tensor(ids)].sum()))
    expected = np.exp(np.array(logp) - max(logp))
    expected /= expected.sum()
    assert got[["p_yes", "p_no", "p_unsure"]].to_numpy(float) == pytest.approx(expected, abs=1e-4)


def test_sweep_selects_on_dev_and_reports_on_held_out_items():
    from workbench.evaluation.raters import human_scores, selected_setting

    dices = dices_fixture(n_items=24, n_raters=6)
    items = human_scores(dices).reset_index()
    items["context"] = [f"USER: question number {i} about topic {i * 7919 % 24}, asked differently each time"
                        for i in range(24)]
    rng = np.random.default_rng(1)
    p = rng.uniform(0.2, 0.95, 24)
    classification = Classification("safety", ("animal_abuse", "None"), np.stack([p, 1 - p], 1), "embedding", "t")
    scores = np.clip(items["human_score"].to_numpy() + 0.2 * rng.standard_normal(24), 0, 1)
    table = threshold_sweep(items, scores, classification=classification, deltas=(0.3, 0.5, 0.7), taus=(0, 10),
                            seed=3)
    assert {"n_dev", "icc2_dev", "n_test", "icc2_test", "icc3_test", "selected"} <= set(table.columns)
    assert (table["n_dev"] + table["n_test"] == table["n_items"]).all()
    row = selected_setting(table)
    assert table["selected"].sum() == 1 and row is not None
    # the rule: the best dev ICC(2,1) among settings keeping at least half of the dev items the most permissive
    # setting keeps (and 3)
    eligible = table[(table["n_dev"] >= max(3, 0.5 * table["n_dev"].max())) & table["icc2_dev"].notna()]
    assert len(eligible) < len(table)
    assert row["icc2_dev"] == eligible["icc2_dev"].max()
    # the selection does not look at the held-out items: changing their scores changes no choice
    dev = np.zeros(24, dtype=bool)
    dev[np.random.default_rng(3).permutation(24)[:12]] = True
    shuffled = scores.copy()
    shuffled[~dev] = rng.uniform(0, 1, (~dev).sum())
    again = threshold_sweep(items, shuffled, classification=classification, deltas=(0.3, 0.5, 0.7), taus=(0, 10),
                            seed=3)
    assert selected_setting(again)["delta"] == row["delta"] and selected_setting(again)["tau"] == row["tau"]
    assert np.allclose(again["icc2_dev"], table["icc2_dev"], equal_nan=True)
    assert not np.allclose(again["icc2_test"], table["icc2_test"], equal_nan=True)
    # nothing eligible (every setting keeps too few dev items): no selection
    none = threshold_sweep(items, scores, classification=classification, deltas=(0.99,), taus=(0,), seed=3)
    assert selected_setting(none) is None and not none["selected"].any()
