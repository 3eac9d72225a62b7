"""`workbench rehearse`: every paper's paper-profile pipeline end to end on tiny random-weight stand-ins of the
papers' architectures, in bfloat16 and float32 on the CPU; the report and the readiness page that reads it."""
from __future__ import annotations

import json

import pytest

from workbench.cli.main import main
from workbench.io import read_meta
from workbench.papers import all_papers
from workbench.rehearse import readiness, read_reports, rehearse, report_path

PAPERS = [p.id for p in all_papers()]
# Paper models each paper's paper-profile build must load (P5 and P6 once trained with the default profile's
# encoders when the build's profile was not also the active one).
USES = {"P1": {"mistral-7b-instruct-v0.3"}, "P2": {"gemma-2-9b-it", "qwen3-30b-a3b-instruct-2507"},
        "P3": {"mistral-7b-instruct-v0.3"}, "P4": {"gemma-7b", "llama-2-7b"},
        "P5": {"clip-vit-large-patch14", "mistral-7b-instruct-v0.3"},
        "P6": {"wav2vec2-xls-r-1b", "videomae-base"}, "P7": {"deepseek-7b"}, "P8": {"deepseek-7b"},
        "P9": {"clap-htsat-unfused", "llama-3.1-8b-instruct"}, "P10": {"mistral-7b-instruct-v0.3"}}


@pytest.fixture(scope="module")
def rehearsal_root(tmp_path_factory):
    return tmp_path_factory.mktemp("rehearsal")


@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
def test_every_paper_rehearses_at_tiny_size(dtype, rehearsal_root, monkeypatch, capsys):
    monkeypatch.setenv("WORKBENCH_ARTIFACTS", str(rehearsal_root / "artifacts"))
    code = main(["rehearse", "all", "--size", "tiny", "--dtype", dtype, "--device", "cpu", "--json"])
    report = json.loads(capsys.readouterr().out)
    failed = [p["error"] for p in report["papers"] if not p["ok"]]
    assert code == 0 and not failed, failed
    assert [p["paper"] for p in report["papers"]] == PAPERS
    assert report_path("tiny", dtype).is_file()
    for entry in report["papers"]:
        assert USES[entry["paper"]] <= set(entry["models"]), (entry["paper"], entry["models"])
        assert entry["artifacts"] and entry["claims"] >= 1
        assert entry["tokens"] + entry["items"] > 0 and entry["forward_s"] > 0
        assert entry["peak_host_mb"] > 0 and entry["peak_gpu_mb"] is None
    # every artifact says it was made by random-weight stand-ins
    store = rehearsal_root / "artifacts" / "rehearsal" / f"tiny-{dtype}" / "paper"
    metas = [read_meta(folder) for folder in store.glob("P*/*") if (folder / "meta.json").is_file()]
    assert metas and all(m.extra["rehearsal"] == {"size": "tiny", "dtype": dtype, "weights": "random"}
                         for m in metas)
    assert all(m.profile == "paper" for m in metas)
    # P5's LLaVA-style VLM (CLIP ViT-L/14 → projector → Mistral) trained and scored its four settings
    from workbench.io import load_frame

    vlm = load_frame(store / "P5" / "meme_vlm")
    assert {"vlm", "vlm+knowledge", "vlm+lora", "vlm+knowledge+lora"} <= set(vlm["setting"])


def test_a_failing_paper_is_reported_and_the_others_still_run(tmp_path, monkeypatch):
    from workbench import build

    build.discover()
    builder = build.builders_for("P2")[0]

    def broken(ctx):
        raise RuntimeError("planted failure")

    monkeypatch.setitem(build.BUILDERS, ("P2", builder.name), build.Builder("P2", builder.name, "", broken))
    report = rehearse(["P2", "P1"], size="tiny", dtype="float32", device="cpu", root=tmp_path)
    by_paper = {p["paper"]: p for p in report["papers"]}
    assert not by_paper["P2"]["ok"]
    assert by_paper["P2"]["error"].startswith("P2: RuntimeError: planted failure")
    assert by_paper["P1"]["ok"], by_paper["P1"]["error"]
    # a later run of one paper keeps the other's entry in the report
    rehearse(["P2"], size="tiny", dtype="float32", device="cpu", root=tmp_path)
    again = {p["paper"] for p in read_reports(tmp_path)[("tiny", "float32")]["papers"]}
    assert again == {"P1", "P2"}
    frame = readiness(root=tmp_path)
    row = frame.set_index("paper").loc["P1"]
    assert row["tiny float32"] == "ok" and row["in local cache"].startswith("0/")


def test_bad_rehearse_requests_are_one_line(monkeypatch, capsys):
    with pytest.raises(SystemExit):
        main(["rehearse", "P1", "--size", "huge"])
    assert main(["rehearse", "P99"]) == 1
    assert "unknown paper 'P99'" in capsys.readouterr().err
    assert main(["rehearse", "all", "P1"]) == 1
    assert "give paper ids or 'all', not both" in capsys.readouterr().err


def test_readiness_page_without_and_with_a_report(tmp_path):
    from tests.conftest import view_app

    at = view_app("readiness", tmp_path).run()
    assert not at.exception
    assert any("No rehearsal has been run yet" in i.value for i in at.info)
    models = at.dataframe[0].value.set_index("model")          # before any rehearsal: the paper models' cache state
    assert "mistral-7b-instruct-v0.3" in models.index and set(models["in local cache"]) <= {"yes", "no"}
    assert models.loc["mistral-7b-instruct-v0.3", "Hugging Face id"] == "mistralai/Mistral-7B-Instruct-v0.3"
    report = {"rehearsal": True, "weights": "random", "size": "tiny", "dtype": "bfloat16", "device": "cpu",
              "seed": 0, "created_at": "2026-01-01T00:00:00Z", "ran": ["P1", "P2"],
              "papers": [{"paper": "P1", "ok": True, "error": None, "wall_s": 3.0, "peak_host_mb": 900.0,
                          "peak_gpu_mb": None, "models": ["mistral-7b-instruct-v0.3"], "tokens": 100, "items": 0,
                          "forward_s": 0.5, "artifacts": ["a"], "claims": 2, "tokens_per_s": 200.0,
                          "items_per_s": None},
                         {"paper": "P2", "ok": False, "error": "P2: RuntimeError: boom", "wall_s": 1.0,
                          "peak_host_mb": 800.0, "peak_gpu_mb": None, "models": ["gemma-2-9b-it"], "tokens": 0,
                          "items": 0, "forward_s": 0.0, "artifacts": [], "claims": 0, "tokens_per_s": None,
                          "items_per_s": None}]}
    (tmp_path / "rehearsal").mkdir()
    (tmp_path / "rehearsal" / "report-tiny-bfloat16.json").write_text(json.dumps(report))
    at = view_app("readiness", tmp_path).run()
    assert not at.exception
    frame = at.dataframe[0].value.set_index("paper")
    assert frame.loc["P1", "tiny bfloat16"] == "ok" and frame.loc["P2", "tiny bfloat16"] == "FAILED"
    assert frame.loc["P1", "missing"] == "mistral-7b-instruct-v0.3"
    assert any("P2: RuntimeError: boom" in e.value for e in at.error)
    assert len(at.get("plotly_chart")) == 1
