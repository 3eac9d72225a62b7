"""Dataset cards and `workbench export`: a planted build folder and a planted store dataset load with
``datasets.load_dataset(DIR, CONFIG)`` config by config, with the rows planted; export writes every format and
refuses an unknown dataset or format with one line."""
from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from workbench.cli.main import main
from workbench.datasets.card import CARD, data_kind, from_build_folder, write_card
from workbench.io import ArtifactStore, save_frame, save_table

SPLITS = ["train"] * 6 + ["validation"] * 2 + ["test"] * 2        # 10 planted prompts


def _tables(dataset: str, source: str) -> tuple[dict[str, pd.DataFrame], dict]:
    prompts = pd.DataFrame({"id": [f"p{i}" for i in range(10)], "text": [f"prompt number {i}" for i in range(10)],
                            "safety": ["violence"] * 10, "safety_labels": [["violence", "fraud"]] * 10,
                            "split": SPLITS})
    responses = pd.DataFrame({"id": ["p0", "p0", "p6", "p8"], "side": ["aligned", "misaligned"] * 2,
                              "response": ["r0a", "r0m", "r6a", "r8m"], "split": ["train", "train", "validation",
                                                                                 "test"]})
    decisions = pd.DataFrame({"id": ["p0", "p0", "p0", "p6", "p8"], "verdict": [True, False, True, True, True],
                              "p_accept": [0.9, 0.2, 0.8, 0.7, 0.6]})          # no split: taken from the prompt
    removed = pd.DataFrame({"id": ["d0", "d1"], "text": ["prompt number 0!", "prompt number 1!"],
                            "duplicate_of": [0, 1]})
    config = {"dataset": dataset, "source": source}
    return {"prompts": prompts, "responses": responses, "decisions": decisions, "removed": removed}, config


def _build_folder(folder, dataset="misaligntrade", source="seed_prompts.csv"):
    tables, config = _tables(dataset, source)
    files = {"prompts": "dataset.parquet", "responses": "responses.parquet", "decisions": "decisions.parquet",
             "removed": "removed.parquet"}
    for name, frame in tables.items():
        save_table(frame, folder / files[name], profile="default", models=["tiny-llama"], seed=3, config=config)
    return tables


def _header(path) -> dict:
    text = path.read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def _load(folder, config, tmp_path):
    import datasets

    return datasets.load_dataset(str(folder), config, cache_dir=str(tmp_path / "hf-cache"))


def test_card_of_a_build_folder_loads_every_config(tmp_path):
    folder = tmp_path / "built"
    tables = _build_folder(folder)
    write_card(folder)
    header = _header(folder / CARD)
    assert [c["config_name"] for c in header["configs"]] == ["prompts", "responses", "decisions", "removed"]
    assert header["configs"][0]["data_files"] == [{"split": "train", "path": "dataset.parquet"}]
    assert header["license"] == "cc0-1.0"                       # the bundled prompts' licence
    assert header["workbench"] == {**header["workbench"], "dataset": "misaligntrade", "paper": "P2",
                                   "profile": "default", "models": ["tiny-llama"], "seed": 3,
                                   "data_kind": "bundled", "source": "seed_prompts.csv"}
    for config, frame in tables.items():
        loaded = _load(folder, config, tmp_path)["train"]
        assert loaded.num_rows == len(frame), config
        assert loaded.column_names == list(frame.columns), config
    prompts = _load(folder, "prompts", tmp_path)["train"]
    assert prompts["text"] == tables["prompts"]["text"].tolist()
    assert prompts["safety_labels"][0] == ["violence", "fraud"]


def test_build_dataset_writes_a_card_that_loads(tmp_path):
    """A real (tiny) build: build_dataset writes README.md as it finishes, and each config loads with the rows the
    funnel counts."""
    from workbench.datasets import dices_fixture
    from workbench.profiles import Profile
    from workbench.taxonomy.construct import build_dataset

    fast = Profile("default", "test", roles={"sentence_encoder": ("minilm-l6",), "classifier": ("tiny-llama",),
                                             "expander": ("tiny-llama",)})
    src = tmp_path / "dices_fixture.csv"
    dices_fixture(n_items=8, n_raters=3).to_csv(src, index=False)
    funnel = build_dataset("demo-safety", src, tmp_path / "out", profile=fast, target=0, shard_size=8)
    header = _header(tmp_path / "out" / CARD)
    removed = funnel["removed_by_dedup"]
    assert [c["config_name"] for c in header["configs"]] == ["prompts"] + (["removed"] if removed else [])
    assert header["workbench"]["data_kind"] == "synthetic" and header["workbench"]["paper"] == "P4"
    prompts = _load(tmp_path / "out", "prompts", tmp_path)["train"]
    assert prompts.num_rows == funnel["kept"] and set(prompts["split"]) <= {"test", "train", "validation"}
    if removed:
        assert _load(tmp_path / "out", "removed", tmp_path)["train"].num_rows == removed


def test_an_empty_table_gets_no_config(tmp_path):
    """The datasets library cannot load an empty parquet file, so the card lists no config for it."""
    folder = tmp_path / "built"
    tables, config = _tables("savacu", "seed_prompts.csv")
    save_table(tables["prompts"], folder / "dataset.parquet", profile="default", config=config)
    save_table(tables["removed"].head(0), folder / "removed.parquet", profile="default", config=config)
    write_card(folder)
    assert [c["config_name"] for c in _header(folder / CARD)["configs"]] == ["prompts"]
    assert "| `removed` | 0 |" in (folder / CARD).read_text()
    assert main(["export", str(folder), str(tmp_path / "out"), "--json"]) == 0
    assert _load(tmp_path / "out", "prompts", tmp_path)["test"].num_rows == 2


def test_data_kind_and_licence_follow_the_source(tmp_path):
    assert data_kind("seed_prompts.csv") == "bundled"
    assert data_kind("synthetic DICES-shaped fixture") == "synthetic"
    assert data_kind("dices_fixture.csv") == "synthetic"
    assert data_kind("my_prompts.csv") == "real"
    folder = tmp_path / "built"
    _build_folder(folder, dataset="demo-safety", source="diverse_conversational.csv")
    built = from_build_folder(folder)
    assert (built.provenance.data_kind, built.provenance.licence) == ("real", "cc-by-4.0")   # DICES' licence


def _store_dataset(root, dataset="savacu", paper="P1"):
    tables, config = _tables(dataset, "seed_prompts.csv")
    store = ArtifactStore(root)
    for name, artifact in (("prompts", "construction_dataset"), ("responses", "construction_responses"),
                           ("decisions", "construction_decisions")):
        save_frame(tables[name], store.path(paper, artifact, "default"), profile="default",
                   models=["tiny-llama"], seed=0, config=config)
    return tables


EXPECTED_ROWS = {"prompts": {"train": 6, "validation": 2, "test": 2},
                 "responses": {"train": 2, "validation": 1, "test": 1},
                 "decisions": {"train": 3, "validation": 1, "test": 1}}


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_export_files_load_with_their_splits(tmp_path, monkeypatch, capsys, fmt):
    monkeypatch.setenv("WORKBENCH_ARTIFACTS", str(tmp_path / "store"))
    tables = _store_dataset(tmp_path / "store")
    out = tmp_path / "export"
    assert main(["export", "savacu", str(out), "--format", fmt, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows"] == EXPECTED_ROWS and report["dataset"] == "savacu"
    header = _header(out / CARD)
    assert {c["config_name"]: [f["path"] for f in c["data_files"]] for c in header["configs"]}["prompts"] == \
        [f"prompts/{s}.{fmt}" for s in ("train", "validation", "test")]
    for config, splits in EXPECTED_ROWS.items():
        loaded = _load(out, config, tmp_path)
        assert {s: loaded[s].num_rows for s in loaded} == splits, config
    validation = _load(out, "prompts", tmp_path)["validation"]
    assert validation["id"] == tables["prompts"]["id"][6:8].tolist()
    # exporting again replaces the earlier export
    assert main(["export", "savacu", str(out), "--format", fmt]) == 0
    assert "prompts train 6, validation 2, test 2" in capsys.readouterr().out


def test_export_hf_is_a_save_to_disk_layout(tmp_path, monkeypatch):
    import datasets

    monkeypatch.setenv("WORKBENCH_ARTIFACTS", str(tmp_path / "store"))
    _store_dataset(tmp_path / "store")
    out = tmp_path / "hf"
    assert main(["export", "savacu", str(out), "--format", "hf"]) == 0
    for config, splits in EXPECTED_ROWS.items():
        loaded = datasets.load_from_disk(str(out / config))
        assert {s: loaded[s].num_rows for s in loaded} == splits, config
    assert "configs" not in _header(out / CARD) and _header(out / CARD)["workbench"]["dataset"] == "savacu"


def test_export_of_a_build_folder(tmp_path):
    folder = tmp_path / "built"
    _build_folder(folder)
    assert main(["export", str(folder), str(tmp_path / "out")]) == 0
    loaded = _load(tmp_path / "out", "removed", tmp_path)
    assert list(loaded) == ["train"] and loaded["train"].num_rows == 2      # no split of its own


@pytest.mark.parametrize("argv, message", [
    (["export", "nosuch", "OUT"], "unknown dataset 'nosuch'; choose from savacu, misaligntrade, demo-safety"),
    (["export", "savacu", "OUT", "--format", "csv"], "unknown format 'csv'; choose from parquet, jsonl, hf"),
    (["export", "misaligntrade", "OUT"], "misaligntrade is not built for profile default"),
])
def test_export_refuses_with_one_line(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.setenv("WORKBENCH_ARTIFACTS", str(tmp_path / "store"))
    argv = [str(tmp_path / "out") if a == "OUT" else a for a in argv]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_export_refuses_a_folder_that_is_not_an_export(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WORKBENCH_ARTIFACTS", str(tmp_path / "store"))
    _store_dataset(tmp_path / "store")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert main(["export", "savacu", str(tmp_path / "mine")]) == 1
    assert "is not an earlier export" in capsys.readouterr().err
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
