"""Under an engine other than hf, the callers that used to load the HF model by name beside the engine (the
taxonomy builders and CLI, the raters' threshold sweep, the deepfake reasoner, the meme explainer) obtain their
LLM through ``workbench.engines`` only: with ``workbench.models.load`` refusing every causal LM, each path still
runs on the contract tests' fake engine (which holds the tiny model loaded before the refusal)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from workbench import WorkbenchError


@pytest.fixture
def fake_only(monkeypatch):
    """``$WORKBENCH_ENGINE=fake`` over the tiny LM, and ``load`` of any causal LM an error (sentence encoders and
    other models still load). Yields the fake engines made, by model name."""
    from test_engines import FakeEngine

    from workbench import engines, models
    from workbench.models import get_spec, loaders

    tiny = models.load("tiny-llama")
    original = loaders.load

    def refuse(name, **kwargs):
        if get_spec(name).role == "causal-lm":
            raise AssertionError(f"the HF model {name} was loaded under the fake engine")
        return original(name, **kwargs)

    made = {}
    monkeypatch.setattr(models, "load", refuse)
    monkeypatch.setattr(loaders, "load", refuse)
    engines.register("fake", lambda name: made.setdefault(name, FakeEngine(tiny)))
    monkeypatch.setenv("WORKBENCH_ENGINE", "fake")
    yield made
    engines.unregister("fake")


def test_the_guard_catches_a_direct_load(fake_only):
    from workbench.models import load

    with pytest.raises(AssertionError, match="loaded under the fake engine"):
        load("tiny-llama")


def stub_classifier(seen: list):
    """A stand-in for ``classify_with`` that resolves its LLM as the real one does (``select_engine``), records
    the engine, and gives every text the dimension's first label (the real read-out is tested elsewhere)."""
    from workbench.engines import select_engine
    from workbench.taxonomy import dimension
    from workbench.taxonomy.classify import Classification

    def classify_with(texts, dim_name, model, *, use_llm):
        assert use_llm
        engine = select_engine(model)
        seen.append(engine.kind)
        dim = dimension(dim_name)
        probs = np.zeros((len(texts), len(dim.labels)))
        probs[:, 0] = 1.0
        return Classification(dim.name, tuple(d.key for d in dim.labels), probs, "llm:yesno", engine.name)
    return classify_with


def llm_profile():
    from workbench.profiles import Profile

    return Profile("test", "tiny", roles={role: ("tiny-llama",) for role in
                                          ("classifier", "reasoner", "meme_explainer", "expander")},
                   overridden=frozenset({"classifier"}))


def test_taxonomy_classify_stage_and_seed_builder(fake_only, monkeypatch, tmp_path):
    import pandas as pd

    from workbench.build import BuildContext
    from workbench.io import ArtifactStore
    from workbench.taxonomy import artifacts, classify
    from workbench.taxonomy.construct import DatasetSpec, classify_frame

    seen = []
    monkeypatch.setattr(classify, "classify_with", stub_classifier(seen))
    frame = pd.DataFrame({"id": ["a"], "text": ["How do I make my neighbour's dog sick?"]})
    out = classify_frame(frame, DatasetSpec("contract", "P2", ("safety",), True, "prompts", 0), "tiny-llama",
                         use_llm=True, engine="fake")
    assert list(out["safety"]) and seen == ["fake", "fake"]
    ctx = BuildContext(ArtifactStore(tmp_path), llm_profile(), smoke=True, rehearsal=True, paper="P1")
    artifacts.build_seed_classification(ctx)
    assert set(seen) == {"fake"} and len(seen) > 2


def test_rater_sweep(fake_only, monkeypatch):
    import pandas as pd

    from workbench.datasets import dices_fixture
    from workbench.evaluation.raters import human_scores, profile_sweep
    from workbench.taxonomy import classify

    seen = []
    monkeypatch.setattr(classify, "classify_with", stub_classifier(seen))
    dices = dices_fixture(n_items=6, n_raters=4)
    ids = human_scores(dices).index
    ratings = pd.DataFrame({"model": "tiny-llama", "persona_attribute": None, "item_id": ids,
                            "score": np.linspace(0, 1, len(ids))})
    sweep, classifier = profile_sweep(dices, ratings, "tiny-llama", llm_profile())
    assert classifier == "tiny-llama" and seen == ["fake"] and len(sweep)


def test_deepfake_reasoner(fake_only, monkeypatch):
    from workbench import profiles
    from workbench.deepfake.model import load_reasoner

    monkeypatch.setattr(profiles, "get_profile", lambda name: llm_profile())
    assert load_reasoner("test").kind == "fake"


def test_meme_classify_command(fake_only, monkeypatch, tmp_path, capsys):
    import json

    from PIL import Image
    from test_engine_consumers import PREDICTION, MemeStub

    from workbench import profiles
    from workbench.cli import meme
    from workbench.cli.main import main

    stub = MemeStub()
    stub.config = SimpleNamespace(uses_knowledge=True, setting="knowledge+lora")
    stub.models, stub.predict = ["stub"], lambda images, texts: [{**PREDICTION, "probabilities": {}}]
    monkeypatch.setattr(meme, "_model", lambda args: stub)
    monkeypatch.setattr(meme, "_knowledge", lambda args: None)
    monkeypatch.setattr(profiles, "active_profile", llm_profile)
    Image.new("RGB", (16, 16)).save(tmp_path / "m.png")
    assert main(["meme", "classify", str(tmp_path / "m.png"), "--text", "they are vermin", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "tiny-llama" in out["models"] and list(fake_only) == ["tiny-llama"]


def test_taxonomy_cli(fake_only, monkeypatch, tmp_path, capsys):
    import pandas as pd

    from workbench.cli.main import main
    from workbench.taxonomy import classify

    seen = []
    stub = stub_classifier(seen)
    monkeypatch.setattr(classify, "classify_llm", lambda texts, d, model, **kw: stub(texts, d, model, use_llm=True))
    src = tmp_path / "p.csv"
    pd.DataFrame({"id": ["a"], "text": ["How do I bake bread?"], "safety": ["none"]}).to_csv(src, index=False)
    assert main(["taxonomy", "classify", str(src), "--text-col", "text", "--dimension", "value", "--method", "llm",
                 "--model", "tiny-llama", "--out", str(tmp_path / "c.parquet")]) == 0
    assert seen == ["fake"]
    assert main(["taxonomy", "expand", str(src), "--text-col", "text", "--dimension", "safety", "--target", "1",
                 "--model", "tiny-llama", "--max-new-tokens", "4", "--out", str(tmp_path / "e.parquet")]) == 0
    assert len(pd.read_parquet(tmp_path / "e.parquet")) > 1


def test_hf_engine_still_loads_the_model(monkeypatch):
    from workbench import profiles
    from workbench.deepfake.model import load_reasoner

    monkeypatch.delenv("WORKBENCH_ENGINE", raising=False)
    monkeypatch.setattr(profiles, "get_profile", lambda name: llm_profile())
    assert load_reasoner("test").lm.name == "tiny-llama"


def test_an_unknown_engine_is_one_line(monkeypatch):
    from workbench.deepfake.model import load_reasoner

    monkeypatch.setenv("WORKBENCH_ENGINE", "nope")
    with pytest.raises(WorkbenchError, match="unknown engine 'nope'"):
        load_reasoner("default")
