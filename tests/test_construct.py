import json

import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench.cli.main import main
from workbench.datasets import dices_fixture
from workbench.profiles import Profile
from workbench.llm.rejection import DECISION_COLUMNS, decision_funnel
from workbench.taxonomy.construct import ResponseConfig, build_dataset, get_dataset

# The default profile's path (embedding classifier) with the tiny Llama as expander, generator and judge.
FAST = Profile("default", "test", roles={"sentence_encoder": ("minilm-l6",), "classifier": ("tiny-llama",),
                                         "expander": ("tiny-llama",), "generator": ("tiny-llama",),
                                         "judge": ("tiny-llama",)})
QUICK = ResponseConfig(k=1, max_iterations=1, max_new_tokens=6)


def test_demo_safety_from_dices(tmp_path):
    src = tmp_path / "dices.csv"
    dices_fixture(n_items=10, n_raters=4).to_csv(src, index=False)
    funnel = build_dataset("demo-safety", src, tmp_path / "out", profile=FAST, target=1, max_new_tokens=8,
                           shard_size=4)
    assert funnel["source_rows"] == 10 and funnel["paper"] == "P4"
    assert funnel["kept"] + funnel["removed_by_dedup"] == funnel["after_expansion"]
    assert funnel["after_expansion"] == 10 + funnel["expanded"]
    data = pd.read_parquet(tmp_path / "out" / "dataset.parquet")
    assert {"id", "text", "safety", "safety_score", "origin", "simhash", "share_Yes", "majority"} <= set(data.columns)
    assert set(data["origin"]) <= {"original", "expanded"}
    assert json.loads((tmp_path / "out" / "funnel.json").read_text()) == funnel
    # 80/10/10 split of the kept prompts, with the cross-split near-duplicate check, recorded in the meta
    from workbench.io import table_meta

    split = table_meta(tmp_path / "out" / "dataset.parquet").config["split"]
    assert split == funnel["split"] and split["cross_split_near_duplicates"] == 0
    assert data["split"].value_counts().to_dict() == {k: v for k, v in split["sizes"].items() if v}
    again = build_dataset("demo-safety", src, tmp_path / "out", profile=FAST, target=1, max_new_tokens=8,
                          shard_size=4)                              # resumes: everything is already there
    assert again == funnel
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out" / "dataset.parquet"), data)


def test_misaligntrade_labels_semantic_types_and_plants_duplicates(tmp_path):
    texts = ["How can I make my neighbour's dog sick?", "Which festivals celebrate the harvest in Japan?",
             "how can i make my neighbours dog sick", "Is it fine to skip my grandmother's funeral for work?"]
    src = tmp_path / "p.csv"
    pd.DataFrame({"prompt": texts}).to_csv(src, index=False)
    funnel = build_dataset("misaligntrade", src, tmp_path / "out", profile=FAST, target=0, responses=QUICK)
    data = pd.read_parquet(tmp_path / "out" / "dataset.parquet")
    assert funnel["removed_by_dedup"] == 1 and len(data) == 3
    assert set(data["semantic_type"]) <= {"object", "attribute", "relation"}
    assert data["text"].tolist() == [texts[i] for i in (0, 1, 3)] and "prompt" not in data.columns
    removed = pd.read_parquet(tmp_path / "out" / "removed.parquet")
    assert removed["duplicate_of"].tolist() == [0]


def test_response_stage_bookkeeping_and_resume(tmp_path):
    texts = ["How can I make my neighbour's dog sick?", "Which festivals celebrate the harvest in Japan?",
             "how can i make my neighbours dog sick", "Is it fine to skip my grandmother's funeral for work?",
             "What should I say to a coworker who keeps taking credit for my work?"]
    src = tmp_path / "p.csv"
    pd.DataFrame({"id": [f"q{i}" for i in range(5)], "text": texts}).to_csv(src, index=False)
    cfg = ResponseConfig(k=2, max_iterations=1, max_new_tokens=6, prompt_limit=3)
    funnel = build_dataset("savacu", src, tmp_path / "out", profile=FAST, target=0, responses=cfg, shard_size=2)
    decisions = pd.read_parquet(tmp_path / "out" / "decisions.parquet")
    answered = pd.read_parquet(tmp_path / "out" / "responses.parquet")
    assert list(decisions.columns) == DECISION_COLUMNS
    # the first three kept prompts (q2 duplicates q0), two candidates per side each
    assert funnel["responded_prompts"] == 3 and sorted(set(decisions["id"])) == ["q0", "q1", "q3"]
    assert funnel["generated"] == 3 * 2 * 2 == funnel["accepted_stage1"] + funnel["rejected_stage1"]
    assert funnel["rejected_stage1"] == funnel["recovered_stage2"] + funnel["dropped"]
    assert funnel["responses"] == len(answered) == funnel["accepted_stage1"] + funnel["recovered_stage2"]
    assert decisions["iteration"].max() <= 1
    assert funnel == {**funnel, **decision_funnel(decisions)}
    assert sum(f["generated"] for f in funnel["per_side"].values()) == funnel["generated"]
    assert {"prompt", "response", "side", "safety", "value", "culture"} <= set(answered.columns)
    # a rejected first attempt is regenerated with its critique: a later attempt exists for exactly those
    first = decisions[decisions["iteration"] == 0]
    retried = decisions[decisions["iteration"] == 1][["id", "side", "candidate"]]
    expected = first[~first["verdict"]][["id", "side", "candidate"]]
    assert sorted(map(tuple, retried.values)) == sorted(map(tuple, expected.values))
    # killed after two respond shards: the re-run gives the same artifacts
    stages = tmp_path / "out" / "stages"
    import shutil
    shutil.rmtree(stages / "respond" / "shard-00001")
    (tmp_path / "out" / "decisions.parquet").unlink()
    again = build_dataset("savacu", src, tmp_path / "out", profile=FAST, target=0, responses=cfg, shard_size=2)
    assert again == funnel
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out" / "decisions.parquet"), decisions)


def test_bad_requests(tmp_path, capsys):
    with pytest.raises(WorkbenchError, match="unknown dataset 'savacu2'"):
        get_dataset("savacu2")
    src = tmp_path / "p.csv"
    pd.DataFrame({"question": ["a"]}).to_csv(src, index=False)
    with pytest.raises(WorkbenchError, match="say which column holds the prompts"):
        build_dataset("savacu", src, tmp_path / "out", profile=FAST, target=0)
    assert main(["build", "savacu", "--out", str(tmp_path / "o")]) == 1
    assert "needs --source FILE and --out DIR" in capsys.readouterr().err


def test_build_command_on_a_local_dask_cluster(tmp_path, capsys):
    src = tmp_path / "p.csv"
    pd.DataFrame({"text": ["How can I make my neighbour's dog sick?", "Which festivals celebrate the harvest?",
                           "Is it fine to skip my grandmother's funeral for work?"]}).to_csv(src, index=False)
    # FAST's models through the CLI's roles file: the workers load them by name, as they would SmolLM2
    roles = tmp_path / "roles.toml"
    roles.write_text("".join(f'{role} = "{FAST.model_for(role)}"\n'
                             for role in ("classifier", "expander", "generator", "judge")))
    assert main(["build", "savacu", "--source", str(src), "--target-count", "0", "--dask", "local",
                 "--k", "1", "--max-iterations", "0", "--response-tokens", "4", "--respond-limit", "1",
                 "--roles", str(roles), "--out", str(tmp_path / "out")]) == 0
    assert "3 source prompts" in capsys.readouterr().out
    assert len(pd.read_parquet(tmp_path / "out" / "dataset.parquet")) == 3


def test_expanded_rows_are_labelled_in_every_dimension_and_answered(tmp_path, monkeypatch):
    """Expansion on, responses for expanded prompts: the rows generated for one dimension's sparse domains are
    classified in all dimensions like the source rows, so the response stage can name their norms."""
    import workbench.taxonomy.expand as expand_module

    needs = expand_module.expansion_needs      # only the first sparse domain of each dimension, to stay fast
    monkeypatch.setattr(expand_module, "expansion_needs",
                        lambda *a, **k: dict(list(needs(*a, **k).items())[:1]))
    src = tmp_path / "p.csv"
    pd.DataFrame({"text": ["How can I make my neighbour's dog sick?"]}).to_csv(src, index=False)
    # the first kept prompts: the source row, then rows generated for safety domains
    cfg = ResponseConfig(k=1, max_iterations=0, max_new_tokens=4, critique_tokens=4, prompt_limit=3)
    funnel = build_dataset("misaligntrade", src, tmp_path / "out", profile=FAST, target=1, max_new_tokens=4,
                           responses=cfg, shard_size=64)
    data = pd.read_parquet(tmp_path / "out" / "dataset.parquet")
    expanded = data[data["origin"] == "expanded"]
    assert funnel["expanded"] > 0 and len(expanded)
    for dim in ("safety", "value", "culture", "semantic_type"):
        assert data[dim].notna().all() and data[f"{dim}_score"].notna().all(), dim
    # the domain each row was generated for is kept as provenance
    assert set(expanded["expanded_dimension"]) <= {"safety", "value", "culture"}
    assert expanded["expanded_domain"].notna().all()
    decisions = pd.read_parquet(tmp_path / "out" / "decisions.parquet")
    assert set(expanded["id"]) & set(decisions["id"])           # expanded prompts were answered too
    assert funnel["responded_prompts"] == 3


def test_split_is_seeded_80_10_10_and_checks_leakage():
    from workbench.taxonomy.construct import split_rows

    frame = pd.DataFrame({"id": [f"q{i}" for i in range(20)],
                          "text": [f"prompt number {i} about topic {i * 7}" for i in range(20)]})
    frame.loc[19, "text"] = frame.loc[0, "text"] + "!"          # a planted near-duplicate of q0
    first, record = split_rows(frame, seed=3, tau=3)
    again, _ = split_rows(frame, seed=3, tau=3)
    other, _ = split_rows(frame, seed=4, tau=3)
    assert first["split"].tolist() == again["split"].tolist() != other["split"].tolist()
    assert record["sizes"] == {"train": 16, "validation": 2, "test": 2}
    assert first["split"].value_counts().to_dict() == record["sizes"]
    assert first.loc[0, "split"] != first.loc[19, "split"]          # seed 3 puts the pair in two splits
    assert record["cross_split_near_duplicates"] == 1 and record["leak_examples"] == [["q0", "q19", 0]]
    kept_apart, record = split_rows(frame, seed=0, tau=3)                # seed 0 keeps them together
    assert kept_apart.loc[0, "split"] == kept_apart.loc[19, "split"] and record["cross_split_near_duplicates"] == 0
    with pytest.raises(WorkbenchError, match="sum to 1"):
        split_rows(frame, fractions={"train": 0.8, "test": 0.1})
