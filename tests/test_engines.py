"""The engines behind one interface (workbench.engines): the hf engine against today's code paths, the vllm
engine's absence, and (below) the fake-engine contract: pipelines give identical results through any engine."""
from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

from workbench import WorkbenchError

PROMPTS = ["Hello there", "Write one request about cooking, please, right now", "Hi",
           "What is the capital of France and why is it there"]
SEEDS = [3, 5, 7, 11]


@pytest.fixture(scope="module")
def lm():
    from workbench.models import load

    return load("tiny-llama")


@pytest.fixture
def hf(lm):
    from workbench.engines.hf import HFEngine

    return HFEngine(lm, batch_size=16)


def test_hf_sampling_equals_todays_single_prompt_calls(lm, hf):
    from workbench.llm.generate import generate

    today = [generate(lm, p, temperature=0.7, top_p=0.9, seed=s, max_new_tokens=10) for p, s in zip(PROMPTS, SEEDS)]
    batched = hf.generate(PROMPTS, seeds=SEEDS, temperature=0.7, top_p=0.9, max_new_tokens=10)
    assert [row[0] for row in batched] == today
    assert len(set(today)) == len(today)          # the seeds matter: not one text for all


def test_hf_greedy_equals_todays_generate_and_does_not_depend_on_batching(lm, hf):
    from workbench.engines.hf import HFEngine
    from workbench.llm.generate import generate

    today = [generate(lm, p, max_new_tokens=10) for p in PROMPTS]
    assert [row[0] for row in hf.generate(PROMPTS, max_new_tokens=10)] == today
    one_by_one = HFEngine(lm, batch_size=1).generate(PROMPTS, seeds=SEEDS, temperature=0.7, max_new_tokens=10)
    assert one_by_one == hf.generate(PROMPTS, seeds=SEEDS, temperature=0.7, max_new_tokens=10)


def test_n_samples_each_with_its_own_seed(hf):
    two = hf.generate(PROMPTS[:2], n=2, seeds=SEEDS[:2], temperature=1.0, max_new_tokens=8)
    one = hf.generate(PROMPTS[:2], seeds=SEEDS[:2], temperature=1.0, max_new_tokens=8)
    assert [r[0] for r in two] == [r[0] for r in one]          # sample 0 is the single-sample call
    assert all(r[0] != r[1] for r in two)                       # sample 1 draws from another seed
    assert hf.generate(PROMPTS[:1], n=3, max_new_tokens=4)[0][0] == hf.generate(PROMPTS[:1], n=3,
                                                                                 max_new_tokens=4)[0][2]
    with pytest.raises(WorkbenchError, match="one seed per prompt"):
        hf.generate(PROMPTS, seeds=[1, 2], temperature=0.7)


def test_hf_readout_is_todays_answer_probs(lm, hf):
    from workbench.llm.readout import answer_probs

    for kwargs in ({}, {"prefix": "Question: "}, {"normalize": "mean"}):
        ours = hf.answer_probs(PROMPTS, [" Yes", " No", " Unsure"], **kwargs)
        today = answer_probs(lm, PROMPTS, [" Yes", " No", " Unsure"], **kwargs)
        np.testing.assert_array_equal(ours.logprob, today.logprob)


def test_prompt_logprobs_match_a_full_forward_pass(lm, hf):
    import torch

    from workbench.llm.scoring import encode_prompt

    got = hf.prompt_logprobs(PROMPTS)
    for prompt, lp in zip(PROMPTS, got):
        ids = encode_prompt(lm, prompt)
        with torch.inference_mode():
            logits = lm.model(input_ids=torch.tensor([ids])).logits[0].float()
        want = torch.log_softmax(logits[:-1], -1).gather(1, torch.tensor(ids[1:])[:, None])[:, 0].numpy()
        assert lp.shape == (len(ids) - 1,)
        np.testing.assert_allclose(lp, want, atol=1e-4)


def test_engine_choice_and_clear_errors(monkeypatch, lm):
    from workbench.engines import as_engine, engine_kind, load_engine

    assert engine_kind() == "hf"
    monkeypatch.setenv("WORKBENCH_ENGINE", "nope")
    with pytest.raises(WorkbenchError, match="unknown engine 'nope'; choose from hf, vllm"):
        load_engine("tiny-llama")
    monkeypatch.delenv("WORKBENCH_ENGINE")
    assert load_engine("tiny-llama").lm is lm
    assert as_engine(lm).kind == "hf" and as_engine(as_engine(lm)).kind == "hf"
    with pytest.raises(WorkbenchError, match="neither an engine"):
        as_engine("tiny-llama")


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_vllm_absent_is_one_line_saying_how_to_install():
    from workbench.engines import load_engine

    with pytest.raises(WorkbenchError) as info:
        load_engine("tiny-llama", "vllm")
    assert "make paper-env" in str(info.value) and "\n" not in str(info.value)


# --- the fake-engine contract ---------------------------------------------------------------------------------

class FakeEngine:
    """The interface at its plainest, over the same tiny model: every prompt alone through today's single-prompt
    ``generate`` (global ``torch.manual_seed``), every answer scored by a full forward pass of its own. Pipelines
    that only speak the interface must give the hf engine's results through it."""
    kind = "fake"

    def __init__(self, lm):
        self.lm, self.name = lm, lm.name

    def build_prompt(self, prompt, *, system=None):
        from workbench.llm.generate import build_prompt

        return build_prompt(self.lm, prompt, system=system)

    def generate(self, prompts, *, n=1, seeds=0, system=None, max_new_tokens=64, temperature=0.0, top_p=1.0):
        from workbench.engines import sample_seeds
        from workbench.llm.generate import generate

        return [[generate(self.lm, p, system=system, max_new_tokens=max_new_tokens, temperature=temperature,
                          top_p=top_p, seed=s) for s in row]
                for p, row in zip(prompts, sample_seeds(prompts, seeds, n))]

    def _forward(self, ids):
        import torch

        with torch.inference_mode():
            logits = self.lm.model(input_ids=torch.tensor([ids], device=self.lm.device)).logits[0].float()
        return torch.log_softmax(logits[:-1], -1).gather(1, torch.tensor(ids[1:])[:, None])[:, 0].cpu().numpy()

    def prompt_logprobs(self, prompts):
        from workbench.llm.scoring import encode_prompt

        return [self._forward(encode_prompt(self.lm, p)) for p in prompts]

    def answer_probs(self, prompts, answers, *, normalize="sum", prefix=None, batch_size=None, progress=None):
        from workbench.llm.readout import answer_probs_from_tokens
        from workbench.llm.scoring import _encode, encode_prompt

        def encode(p):
            return encode_prompt(self.lm, prefix) + _encode(self.lm, p) if prefix is not None \
                else encode_prompt(self.lm, p)

        def score(prompt_ids, answer_ids):
            return [[self._forward(p + a)[-len(a):] for a in row] for p, row in zip(prompt_ids, answer_ids)]
        return answer_probs_from_tokens(self.lm, prompts, answers, normalize=normalize, encode=encode, score=score)


@pytest.fixture
def fake_engine(monkeypatch):
    from workbench import engines
    from workbench.models import load

    engines.register("fake", lambda name: FakeEngine(load(name)))
    yield "fake"
    engines.unregister("fake")


def both(monkeypatch, fn):
    """``fn()`` once through the hf engine and once through the fake one (``$WORKBENCH_ENGINE``)."""
    out = []
    for kind in ("hf", "fake"):
        monkeypatch.setenv("WORKBENCH_ENGINE", kind)
        out.append(fn())
    return out


def assert_same_frames(a, b, floats=()):
    import pandas as pd

    for col in floats:
        np.testing.assert_allclose(a[col].to_numpy(float), b[col].to_numpy(float), atol=1e-4)
    pd.testing.assert_frame_equal(a.drop(columns=list(floats)), b.drop(columns=list(floats)))


def test_the_fake_engine_is_an_engine(lm, hf):
    from workbench.engines import Engine

    fake = FakeEngine(lm)
    assert isinstance(fake, Engine)
    for a, b in zip(hf.prompt_logprobs(PROMPTS), fake.prompt_logprobs(PROMPTS)):
        np.testing.assert_allclose(a, b, atol=1e-4)
    assert fake.generate(PROMPTS, seeds=SEEDS, temperature=0.7, top_p=0.9, max_new_tokens=6) == \
        hf.generate(PROMPTS, seeds=SEEDS, temperature=0.7, top_p=0.9, max_new_tokens=6)


def test_expansion_and_rejection_sampling_agree_through_any_engine(lm, hf):
    import pandas as pd

    from workbench.llm.rejection import lm_generator, lm_judge, rejection_sample
    from workbench.taxonomy.expand import expand

    from workbench.taxonomy import dimension

    keys = [d.key for d in dimension("safety").labels]
    # every safety domain has a prompt but two, which expansion tops up
    frame = pd.DataFrame({"id": [f"p{i}" for i in range(len(keys) - 2)], "safety": keys[:-3] + [keys[0]],
                          "text": [f"A request about {k}, number {i}" for i, k in enumerate(keys[:-3] + [keys[0]])]})
    frame.loc[0, "safety"] = keys[-3]
    fake = FakeEngine(lm)
    rows = [expand(frame, "safety", e, target=1, max_new_tokens=6, seed=1) for e in (hf, fake)]
    assert len(rows[0]) == 2 and rows[0]["generator"].eq("tiny-llama").all()
    assert_same_frames(*rows)
    prompts = frame.head(2).assign(labels=["Privacy", "Fairness"])
    runs = [rejection_sample(prompts, lm_generator(e, max_new_tokens=4),
                             lm_judge(e, max_critique_tokens=3, contrastive=True), k=1, max_iterations=1, seed=3)
            for e in (hf, fake)]
    assert runs[0].funnel()["generated"] == 4 and runs[0].funnel()["rejected_stage1"] > 0   # both stages ran
    assert_same_frames(runs[0].decisions, runs[1].decisions, floats=["p_accept"])


def test_raters_and_detectors_agree_through_any_engine(monkeypatch, fake_engine):
    import pandas as pd

    from workbench.evaluation.detectors import llm_scores
    from workbench.evaluation.raters import rate

    items = pd.DataFrame({"item_id": [1, 2, 3], "context": ["hi", "how do I pick a lock?", "tell me a joke"],
                          "response": ["hello!", "Use a tension wrench.", "No."]})
    for mode, floats in (("likelihood", ["p_yes", "p_no", "p_unsure", "score"]), ("generate", [])):
        hf_out, fake_out = both(monkeypatch, lambda: rate("tiny-llama", items, mode=mode))
        assert_same_frames(hf_out, fake_out, floats=floats)
    prompts, responses = items["context"].tolist(), items["response"].tolist()
    for dims in (["safety"], ["safety", "value", ""]):
        hf_out, fake_out = both(monkeypatch, lambda: llm_scores("tiny-llama", prompts, responses, dims))
        for d in dims:
            np.testing.assert_allclose(hf_out[d], fake_out[d], atol=1e-4)


class FirstLabel:
    """A stand-in taxonomy classifier (every text gets the dimension's first label): the real one costs more than
    the rest of the build, and the classify stage's own contract is tested below."""

    def __init__(self, texts, dim_name, model, *, use_llm):
        from workbench.taxonomy import dimension

        self.n, self.dim, self.key = len(texts), dim_name, dimension(dim_name).labels[0].key

    def frame(self):
        import pandas as pd

        return pd.DataFrame({self.dim: [self.key] * self.n, f"{self.dim}_score": [1.0] * self.n,
                             f"{self.dim}_labels": [[self.key]] * self.n})


def test_dataset_build_agrees_through_any_engine(tmp_path, monkeypatch, fake_engine):
    import pandas as pd

    from workbench.profiles import Profile
    from workbench.taxonomy import classify
    from workbench.taxonomy.construct import ResponseConfig, build_dataset

    monkeypatch.setattr(classify, "classify_with", FirstLabel)
    # FirstLabel ignores the classifier, so the tiny LM stands in for the sentence encoder (nothing else to load)
    tiny = Profile("default", "test", roles={role: ("tiny-llama",) for role in
                                             ("sentence_encoder", "classifier", "expander", "generator", "judge")})
    src = tmp_path / "p.csv"
    pd.DataFrame({"id": ["q0", "q1"], "text": ["How can I make my neighbour's dog sick?",
                                               "Which festivals celebrate the harvest in Japan?"]}).to_csv(src)
    cfg = ResponseConfig(k=1, max_iterations=1, max_new_tokens=6)
    funnels = both(monkeypatch, lambda: build_dataset(
        "misaligntrade", src, tmp_path / os.environ["WORKBENCH_ENGINE"], profile=tiny, target=0, responses=cfg))
    assert funnels[0]["generated"] == 4 and funnels[0] == funnels[1]
    for name in ("dataset", "decisions"):
        a, b = (pd.read_parquet(tmp_path / kind / f"{name}.parquet") for kind in ("hf", "fake"))
        assert_same_frames(a, b, floats=["p_accept"] if name == "decisions" else [])
    from workbench.io import read_meta

    assert read_meta(tmp_path / "fake" / "stages" / "respond" / "shard-00000").config["engine"] == "fake"


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_engine_flag_and_roles_file_pick_the_engine(tmp_path, capsys):
    import pandas as pd

    from workbench.cli.main import main

    src = tmp_path / "p.csv"
    pd.DataFrame({"id": ["a"], "text": ["How do I bake bread?"], "safety": ["none"]}).to_csv(src, index=False)
    expand = ["taxonomy", "expand", str(src), "--text-col", "text", "--dimension", "safety", "--target", "1",
              "--model", "tiny-llama",
              "--out", str(tmp_path / "out.parquet")]
    assert main(expand + ["--engine", "vllm"]) == 1
    err = capsys.readouterr().err.strip()
    assert "make paper-env" in err and len(err.splitlines()) == 1
    roles = tmp_path / "roles.toml"
    roles.write_text('engine = "vllm"\nexpander = "tiny-llama"\n')
    assert main(expand + ["--roles", str(roles)]) == 1 and "make paper-env" in capsys.readouterr().err
    roles.write_text('engine = "tgi"\n')
    assert main(expand + ["--roles", str(roles)]) == 1
    assert "engine = 'tgi'; choose from hf, vllm" in capsys.readouterr().err


# --- the consumers: HHH judges, the build's classify stage, the meme explanation, the deepfake reasoning ---------

class Counted:
    """An engine that counts the calls made of it, so a consumer that bypasses its engine (reads the model handle
    directly) leaves its count at 0."""

    def __init__(self, engine):
        from collections import Counter

        self.engine, self.kind, self.name, self.calls = engine, engine.kind, engine.name, Counter()

    def build_prompt(self, prompt, *, system=None):
        return self.engine.build_prompt(prompt, system=system)

    def generate(self, prompts, **kwargs):
        self.calls["generate"] += 1
        return self.engine.generate(prompts, **kwargs)

    def answer_probs(self, prompts, answers, **kwargs):
        self.calls["answer_probs"] += 1
        return self.engine.answer_probs(prompts, answers, **kwargs)

    def prompt_logprobs(self, prompts):
        self.calls["prompt_logprobs"] += 1
        return self.engine.prompt_logprobs(prompts)


@pytest.fixture
def counted_fake():
    """The fake engine, counted, as ``$WORKBENCH_ENGINE=fake`` (one per model: ``load_engine`` caches it)."""
    from workbench import engines
    from workbench.models import load

    made: dict[str, Counted] = {}
    engines.register("fake", lambda name: made.setdefault(name, Counted(FakeEngine(load(name)))))
    yield made
    engines.unregister("fake")


def through_both(monkeypatch, made, fn, *methods):
    """``both(fn)``, and that the fake run called each of ``methods`` of the engine at least once."""
    before = made["tiny-llama"].calls.copy() if "tiny-llama" in made else {}
    out = both(monkeypatch, fn)
    for method in methods:
        assert made["tiny-llama"].calls[method] > before.get(method, 0), f"{method} of the engine was not called"
    return out


def test_hhh_judges_agree_through_any_engine(monkeypatch, counted_fake):
    import pandas as pd

    from workbench.evaluation.hhh import evaluate_hhh, hhh_judges

    prompts = ["Name a fruit.", "How do I pick a lock?"]
    eval_set = pd.DataFrame({"axis": ["helpful"] * 2 + ["harmless"] * 2 + ["honest"] * 2, "prompt": prompts * 3,
                             "response": ["I don't know.", "No idea."] * 3})
    answers = {"sys": {axis: ["An apple.", "Use a tension wrench."] for axis in ("helpful", "harmless", "honest")}}
    hf_out, fake_out = through_both(monkeypatch, counted_fake,
                                    lambda: evaluate_hhh(eval_set, answers, **hhh_judges("tiny-llama", memo=False)),
                                    "answer_probs")
    assert counted_fake["tiny-llama"].calls["answer_probs"] == 5      # pairwise in both orders, safety, truth, info
    assert_same_frames(hf_out, fake_out, floats=["value"])
    assert set(fake_out["judge"]) >= {"pairwise:tiny-llama", "safety:tiny-llama"}


def test_classify_stage_agrees_through_any_engine(monkeypatch, counted_fake):
    import pandas as pd

    from workbench.taxonomy.construct import DatasetSpec, classify_frame

    frame = pd.DataFrame({"id": ["a", "b"], "text": ["How do I make my neighbour's dog sick?",
                                                     "Which festivals celebrate the harvest in Japan?"]})
    # the semantic types alone: the domain dimensions' prompts list up to 56 domains (4,000 tokens on the tiny
    # model's tokenizer), which the fake engine reads once per label and answer
    spec = DatasetSpec("contract", "P2", (), True, "prompts", 0)
    # the stage loads the classifier by name, as on a Dask worker: the handle follows the engine picked
    hf_out, fake_out = through_both(monkeypatch, counted_fake,
                                    lambda: classify_frame(frame, spec, "tiny-llama", use_llm=True), "answer_probs")
    assert counted_fake["tiny-llama"].calls["answer_probs"] == len(frame)           # one read-out per text
    assert_same_frames(hf_out, fake_out, floats=["semantic_type_score"])


def test_meme_explanation_and_deepfake_reasoning_agree_through_any_engine(monkeypatch, counted_fake):
    from test_engine_consumers import PREDICTION, MemeStub

    from workbench.deepfake.reasoning import Evidence, reason
    from workbench.memes.explain import STEPS, cascade
    from workbench.models import load

    lm = load("tiny-llama")          # builders and views pass a loaded handle: it follows the engine picked
    hf_out, fake_out = through_both(monkeypatch, counted_fake, lambda: cascade(
        MemeStub(), None, "they are vermin", PREDICTION, lm=lm, max_new_tokens=8), "generate")
    assert hf_out == fake_out and fake_out["explainer"] == "tiny-llama"
    assert any(hf_out[s]["text"] != hf_out[s]["evidence"] for s in STEPS)          # the LM wrote something
    evidence = [Evidence({"audio": 1.5, "video": -0.7}, {"audio": 0.0, "video": 0.1}, agreement=0.8),
                Evidence({"audio": -2.0}, {"audio": 0.0}, cues={"spectral flatness": 0.3})]
    hf_out, fake_out = through_both(monkeypatch, counted_fake, lambda: reason(lm, evidence, rationale_tokens=5),
                                    "answer_probs", "generate")
    for a, b in zip(hf_out, fake_out):
        assert (a["verdict"], a["rationale"]) == (b["verdict"], b["rationale"])
        np.testing.assert_allclose([a["score"], a["p_real"]], [b["score"], b["p_real"]], atol=1e-4)


def test_lm_generate_runs_on_the_engine_picked(monkeypatch, counted_fake, capsys):
    import json

    from workbench.cli.main import main

    def run():
        assert main(["lm", "generate", "Say hello.", "--model", "tiny-llama", "--max-new-tokens", "6",
                     "--temperature", "0.9", "--n", "2", "--seed", "5", "--json"]) == 0
        return json.loads(capsys.readouterr().out)
    hf_out, fake_out = through_both(monkeypatch, counted_fake, run, "generate")
    assert (hf_out["engine"], fake_out["engine"]) == ("hf", "fake")
    assert hf_out["completions"] == fake_out["completions"] and len(set(hf_out["completions"])) == 2


def test_steering_and_expert_mixtures_refuse_other_engines(monkeypatch, lm):
    import torch

    from workbench.experts.efficiency import full_copies
    from workbench.experts.moe import MixtureOfExperts
    from workbench.steering.ambs import Branches, branching
    from workbench.steering.hooks import steer
    from workbench.steering.vectors import block_outputs

    monkeypatch.setenv("WORKBENCH_ENGINE", "vllm")
    width = lm.model.config.hidden_size
    refusals = [lambda: steer(lm.model, {0: torch.zeros(width)}).__enter__(),
                lambda: branching(lm.model, Branches(0, ["a", "b"], torch.zeros(2, width), [1.0, 1.0])).__enter__(),
                lambda: block_outputs(lm.model, [0]).__enter__(),
                lambda: MixtureOfExperts.load("no-such-folder"), lambda: full_copies("no-such-folder", ["helpful"])]
    for refuse in refusals:
        with pytest.raises(WorkbenchError, match="runs on the hf engine only") as info:
            refuse()
        assert "forward hooks" in str(info.value) and "--engine hf" in str(info.value)
        assert "\n" not in str(info.value)
    monkeypatch.setenv("WORKBENCH_ENGINE", "hf")
    with steer(lm.model, {0: torch.zeros(width)}):        # the hf engine is fine
        pass


def test_hf_tuning_of_the_classifier_is_refused_by_other_engines(lm):
    from workbench.taxonomy.classify import classify_llm

    with pytest.raises(WorkbenchError, match="tune the hf engine's read-out; the fake engine takes neither"):
        classify_llm(["hi"], "semantic_type", FakeEngine(lm), reuse_prefix=False)


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_lm_generate_on_vllm_absent_is_one_line(capsys):
    from workbench.cli.main import main

    assert main(["lm", "generate", "hi", "--model", "tiny-llama", "--engine", "vllm"]) == 1
    err = capsys.readouterr().err.strip()
    assert "make paper-env" in err and len(err.splitlines()) == 1


def test_steer_and_experts_commands_refuse_other_engines_before_training(tmp_path, capsys):
    from workbench.cli.main import main

    out = tmp_path / "out"
    assert main(["--engine", "vllm", "steer", "train", "--pairs", "missing.jsonl", "--layers", "1",
                 "--out", str(out)]) == 1
    assert "activation steering runs on the hf engine only" in capsys.readouterr().err
    assert main(["--engine", "vllm", "experts", "train", "--out", str(out)]) == 1
    assert "the expert mixture runs on the hf engine only" in capsys.readouterr().err
    assert not out.exists()                                # refused before anything was read or trained
