"""Per-paper model roles and roles files (``--roles FILE``)."""
import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench.cli.main import main
from workbench.profiles import get_profile, load_roles
from workbench.taxonomy import construct
from workbench.taxonomy.classify import profile_classifier


def _roles(tmp_path, text, name="roles.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_roles_file_parses_names_lists_and_hf_ids(tmp_path):
    path = _roles(tmp_path, 'classifier = "gemma-2-9b-it"\nexpander = "hf:Qwen/Qwen2.5-0.5B-Instruct"\n'
                            'raters = ["gemma-7b", "tiny-llama"]\n')
    assert load_roles(path) == {"classifier": ("gemma-2-9b-it",), "expander": ("hf:Qwen/Qwen2.5-0.5B-Instruct",),
                                "raters": ("gemma-7b", "tiny-llama")}


@pytest.mark.parametrize("text, message", [
    ('oracle = "gemma-2-9b-it"\n', "unknown role 'oracle'; roles: .*classifier"),
    ('classifier = "gemma-3-900b"\n', "role 'classifier': unknown model 'gemma-3-900b'"),
    ('classifier = "minilm-l6"\n', "role 'classifier' = 'minilm-l6' is a sentence-encoder; this role takes a "
                                   "causal-lm"),
    ("classifier = 3\n", "role 'classifier' = 3; give a model name"),
    ("classifier = []\n", "role 'classifier' = \\[\\]; give a model name"),
    ("classifier = \n", "not a TOML roles file"),
    ("", "no roles"),
])
def test_bad_roles_files_are_one_clear_error(tmp_path, text, message):
    path = _roles(tmp_path, text)
    with pytest.raises(WorkbenchError, match=message) as err:
        load_roles(path)
    assert str(path) in str(err.value)


def test_missing_roles_file(tmp_path):
    with pytest.raises(WorkbenchError, match="no such roles file"):
        load_roles(tmp_path / "nope.toml")


def test_papers_ask_for_their_own_roles():
    paper = get_profile("paper")
    assert profile_classifier(paper.for_paper("P2")) == ("gemma-2-9b-it", True)
    assert paper.for_paper("P2").model_for("expander") == "qwen3-30b-a3b-instruct-2507"
    for p in ("P1", "P4"):
        assert profile_classifier(paper.for_paper(p)) == ("mistral-7b-instruct-v0.3", True)
        assert paper.for_paper(p).model_for("expander") == "llama-3.1-8b-instruct"
    default = get_profile("default")
    assert profile_classifier(default.for_paper("P2")) == ("minilm-l6", False)      # small models stay
    assert default.for_paper("P2").model_for("expander") == "smollm2-135m-instruct"
    # a roles file wins over the paper's own models, and switches the default profile to the LLM classifier
    override = paper.with_roles({"classifier": ("hf:org/other",)}).for_paper("P2")
    assert override.model_for("classifier") == "hf:org/other"
    assert override.model_for("expander") == "qwen3-30b-a3b-instruct-2507"
    assert profile_classifier(default.with_roles({"classifier": ("tiny-llama",)})) == ("tiny-llama", True)
    with pytest.raises(WorkbenchError, match="unknown role 'oracle'"):
        paper.with_roles({"oracle": ("tiny-llama",)})


class _Stop(Exception):
    pass


@pytest.mark.parametrize("dataset, classifier, expander", [
    ("misaligntrade", "gemma-2-9b-it", "qwen3-30b-a3b-instruct-2507"),
    ("savacu", "mistral-7b-instruct-v0.3", "llama-3.1-8b-instruct"),
])
def test_dataset_builders_ask_for_their_papers_models(tmp_path, monkeypatch, dataset, classifier, expander):
    seen = {}

    def pipeline(stages, workdir, *, config, profile, models, **kwargs):
        seen.update(config=config, models=models)
        raise _Stop

    monkeypatch.setattr(construct, "Pipeline", pipeline)
    src = tmp_path / "p.csv"
    pd.DataFrame({"text": ["Which festivals celebrate the harvest?"]}).to_csv(src, index=False)
    with pytest.raises(_Stop):
        construct.build_dataset(dataset, src, tmp_path / "out", profile=get_profile("paper"))
    assert (seen["config"]["classifier"], seen["config"]["expander"]) == (classifier, expander)
    assert seen["config"]["method"] == "llm:yesno" and classifier in seen["models"]


def test_build_command_reads_roles(tmp_path, monkeypatch, capsys):
    seen = {}

    def pipeline(stages, workdir, *, config, profile, models, **kwargs):
        seen.update(config)
        raise _Stop

    monkeypatch.setattr(construct, "Pipeline", pipeline)
    src = tmp_path / "p.csv"
    pd.DataFrame({"text": ["Which festivals celebrate the harvest?"]}).to_csv(src, index=False)
    roles = _roles(tmp_path, 'expander = "tiny-llama"\n')
    main(["build", "misaligntrade", "--source", str(src), "--out", str(tmp_path / "o"), "--roles", str(roles)])
    assert seen["expander"] == "tiny-llama" and seen["classifier"] == "minilm-l6"
    bad = _roles(tmp_path, 'expander = "no-such-model"\n', "bad.toml")
    assert main(["build", "misaligntrade", "--source", str(src), "--out", str(tmp_path / "o2"),
                 "--roles", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.toml: role 'expander': unknown model 'no-such-model'" in err
    assert not (tmp_path / "o2").exists()


def test_funnel_view_builds_with_a_roles_file_and_reports_a_bad_one(tmp_path):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parent.parent
    script = f"""
import os, sys
sys.path.insert(0, {str(root)!r})
os.environ['WORKBENCH_ARTIFACTS'] = {str(tmp_path / 'artifacts')!r}
from dashboard.registry import discover
next(v for v in discover() if v.key == 'funnel').render()
"""
    at = AppTest.from_string(script, default_timeout=120).run()
    assert not at.exception
    bad = _roles(tmp_path, 'judge = "no-such-model"\n')
    next(t for t in at.text_input if t.key == "roles-P1").set_value(str(bad))
    next(b for b in at.button if b.key == "build-P1").click()
    at.run()
    assert any("role 'judge': unknown model 'no-such-model'" in e.value for e in at.error)
