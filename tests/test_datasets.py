import json

import numpy as np

import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench.cli.main import main
from workbench.datasets import read_table, safety_check_set, seed_prompts
from workbench.io import ArtifactError, save_table, table_meta


def _write(path, text, mode="w"):
    with open(path, mode) as fh:
        fh.write(text)
    return path


def test_reads_every_format(tmp_path):
    frame = pd.DataFrame({"id": ["a", "b"], "text": ["first prompt", "second prompt"]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_csv(tmp_path / "t.tsv", index=False, sep="\t")
    frame.to_json(tmp_path / "t.jsonl", orient="records", lines=True)
    frame.to_json(tmp_path / "t.json", orient="records")
    frame.to_parquet(tmp_path / "t.parquet")
    for name in ("t.csv", "t.tsv", "t.jsonl", "t.json", "t.parquet"):
        got = read_table(tmp_path / name, text_col="text", id_col="id")
        assert got["text"].tolist() == ["first prompt", "second prompt"], name


@pytest.mark.parametrize("content, message", [
    ("", "the file is empty"),
    ("id,text\n", "no rows"),
    ("id,prompt\n1,hello\n", "no column 'text'; columns: id, prompt"),
    ("id,text\n1,hello\n2,\n3,  \n", r"2 empty or non-text value\(s\) \(rows 1, 2\)"),
    ("id,text\n1,hello\n1,again\n", "1 duplicate id"),
])
def test_bad_tables_are_named(tmp_path, content, message):
    path = _write(tmp_path / "t.csv", content)
    with pytest.raises(WorkbenchError, match=message):
        read_table(path, text_col="text", id_col="id")


def test_non_utf8_unknown_format_and_size(tmp_path):
    with pytest.raises(WorkbenchError, match=r"not valid UTF-8 \(byte 0xe9 at offset 13\)"):
        read_table(_write(tmp_path / "t.csv", b"id,text\n1,caf\xe9\n", "wb"), text_col="text")
    with pytest.raises(WorkbenchError, match="unknown format '.xlsx'"):
        read_table(_write(tmp_path / "t.xlsx", "x"))
    with pytest.raises(WorkbenchError, match="over the"):
        read_table(_write(tmp_path / "big.csv", "id,text\n1,hello\n"), max_bytes=4)
    with pytest.raises(WorkbenchError, match="cannot be read as parquet"):
        read_table(_write(tmp_path / "t.parquet", "not parquet"))
    with pytest.raises(WorkbenchError, match="no such file"):
        read_table(tmp_path / "missing.csv")


def test_a_one_megabyte_prompt_is_accepted(tmp_path):
    long_text = "word " * 210_000
    path = _write(tmp_path / "t.jsonl", json.dumps({"text": long_text}) + "\n" + json.dumps({"text": "short"}) + "\n")
    assert len(read_table(path, text_col="text")["text"][0]) > 1_000_000


def test_bundled_prompt_sets():
    seeds = seed_prompts()
    assert set(seeds["dimension"]) == {"safety", "value", "culture"} and len(seeds) >= 200
    check = safety_check_set()
    assert check["domain"].nunique() == 14 and (check.groupby("domain").size() >= 5).all()
    assert not set(check["text"]) & set(seeds["text"])            # held out from the seeds


def test_save_table_is_atomic_and_carries_provenance(tmp_path, monkeypatch):
    out = tmp_path / "o.parquet"
    save_table(pd.DataFrame({"x": [1, 2]}), out, profile="default", config={"tau": 10})
    assert table_meta(out).config == {"tau": 10} and pd.read_parquet(out)["x"].tolist() == [1, 2]
    import pyarrow.parquet as pq

    monkeypatch.setattr(pq, "write_table", lambda table, where: (_write(where, "partial"), 1 / 0))
    with pytest.raises(ZeroDivisionError):
        save_table(pd.DataFrame({"x": [3]}), out, profile="default")
    assert pd.read_parquet(out)["x"].tolist() == [1, 2]               # the earlier file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["o.parquet"]       # no temporary file left
    with pytest.raises(ArtifactError, match="must end in .parquet"):
        save_table(pd.DataFrame({"x": [1]}), tmp_path / "o.csv", profile="default")


def test_dedup_command(tmp_path, capsys):
    src = tmp_path / "prompts.csv"
    pd.DataFrame({"text": ["How can I stop my dog barking?", "how can i stop my dog barking",
                           "Which festivals celebrate the harvest?"]}).to_csv(src, index=False)
    out = tmp_path / "dedup.parquet"
    assert main(["dedup", str(src), "--text-col", "text", "--out", str(out)]) == 0
    got = pd.read_parquet(out)
    assert got["duplicate"].tolist() == [False, True, False]
    assert got["duplicate_of"].tolist()[1] == 0 and pd.isna(got["duplicate_of"][0])
    assert str(got["simhash"].dtype) == "uint64"
    from simhash import Simhash

    assert int(got["simhash"][0]) == Simhash("How can I stop my dog barking?").value
    assert "kept 2 of 3" in capsys.readouterr().out
    assert main(["dedup", str(src), "--text-col", "prompt", "--out", str(out)]) == 1
    assert "no column 'prompt'" in capsys.readouterr().err


def test_dices_round_trip_and_items(tmp_path):
    from workbench.datasets import dices_fixture, dices_items, load_dices

    fixture = dices_fixture(n_items=8, n_raters=6)
    assert len(fixture) == 48
    path = tmp_path / "diverse_safety_adversarial_dialog_350.csv"
    fixture.assign(Q_overall=fixture["Q_overall"].str.lower()).to_csv(path, index=False)   # lower-case ratings
    df = load_dices(path)
    assert set(df["Q_overall"]) <= {"Yes", "No", "Unsure"}
    items = dices_items(df)
    assert len(items) == 8 and (items["n_raters"] == 6).all()
    shares = items[["share_Yes", "share_No", "share_Unsure"]].sum(1)
    assert np.allclose(shares, 1.0)
    assert set(items["majority"]) <= {"Yes", "No", "Unsure"}
    # harmful items are rated unsafe more often: the fixture's planted signal
    by_harm = items.groupby("degree_of_harm")["share_Yes"].mean()
    assert by_harm["Extreme"] > by_harm["Benign"]


def test_dices_990_column_and_bad_files(tmp_path):
    from workbench.datasets import dices_fixture, load_dices

    fixture = dices_fixture(n_items=2, n_raters=2).rename(columns={"rater_raw_race": "rater_race_raw"})
    fixture.to_csv(tmp_path / "d990.csv", index=False)
    assert "rater_raw_race" in load_dices(tmp_path / "d990.csv").columns
    fixture.drop(columns=["Q_overall", "context"]).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(WorkbenchError, match="missing column\\(s\\) context, Q_overall"):
        load_dices(tmp_path / "bad.csv")
    fixture.assign(Q_overall="Maybe").to_csv(tmp_path / "bad2.csv", index=False)
    with pytest.raises(WorkbenchError, match="Q_overall has value\\(s\\) Maybe"):
        load_dices(tmp_path / "bad2.csv")
    pd.concat([fixture, fixture.head(1)]).to_csv(tmp_path / "dup.csv", index=False)
    with pytest.raises(WorkbenchError, match="1 duplicate \\(rater_id, item_id\\)"):
        load_dices(tmp_path / "dup.csv")


def test_beavertails_jsonl(tmp_path):
    from workbench.datasets import load_beavertails

    keys = ["animal_abuse", "self_harm"]
    rows = [{"prompt": "p1", "response": "r1", "category": {k: k == "self_harm" for k in keys}, "is_safe": False},
            {"prompt": "p2", "response": "r2", "category": {k: False for k in keys}, "is_safe": True},
            {"prompt": "p3", "response": "r3", "category": {k: True for k in keys}, "is_safe": False}]
    path = tmp_path / "bt.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    df = load_beavertails(path)
    assert df["domain"].tolist() == ["self_harm", "None", "multiple"]
    assert df["categories"].tolist()[2] == ["animal_abuse", "self_harm"]
    rows[0]["category"]["made_up"] = True
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(WorkbenchError, match="unknown category key\\(s\\) made_up"):
        load_beavertails(path)
