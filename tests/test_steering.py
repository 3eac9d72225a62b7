import numpy as np
import pandas as pd
import pytest
import torch

from workbench import WorkbenchError
from workbench.steering.hooks import decoder_layers, layer_names, resolve_layer, steer
from workbench.steering.vectors import (AGGREGATORS, SteeringVector, learned_cosine, read_activations,
                                        train_vector)

H = 32


def tiny(family: str):
    """A random-weight decoder of each layout the workbench steers, 4 layers wide H."""
    import transformers as t

    common = dict(vocab_size=96, hidden_size=H, intermediate_size=64, num_hidden_layers=4, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=128)
    configs = {
        "llama": lambda: t.LlamaConfig(**common),
        "mistral": lambda: t.MistralConfig(**common),
        "gemma2": lambda: t.Gemma2Config(**common, head_dim=8, sliding_window=16),
        "qwen3": lambda: t.Qwen3Config(**common, head_dim=8),
        "qwen3_moe": lambda: t.Qwen3MoeConfig(**common, head_dim=8, num_experts=4, num_experts_per_tok=2,
                                             moe_intermediate_size=32),
        "gpt2": lambda: t.GPT2Config(vocab_size=96, n_embd=H, n_layer=4, n_head=4, n_positions=128),
    }
    torch.manual_seed(0)
    return t.AutoModelForCausalLM.from_config(configs[family]()).eval()


FAMILIES = ["llama", "mistral", "gemma2", "qwen3", "qwen3_moe", "gpt2"]
IDS = torch.tensor([[5, 17, 33, 2, 9, 41], [7, 7, 12, 60, 3, 8]])


def capture(model, layer):
    seen = {}
    handle = decoder_layers(model)[layer].register_forward_hook(
        lambda m, a, out: seen.__setitem__("h", (out[0] if isinstance(out, tuple) else out).detach().clone()))
    return seen, handle


@pytest.mark.parametrize("family", FAMILIES)
def test_hooks_add_the_vector_on_every_decoder_family_and_leave_no_trace(family):
    model = tiny(family)
    layers = decoder_layers(model)
    assert len(layers) == 4 and resolve_layer(model, -1) == 3
    assert resolve_layer(model, layer_names(model)[2]) == 2
    with torch.inference_mode():
        base = model(IDS).logits
    v = torch.randn(H)
    seen, handle = capture(model, 1)
    with torch.inference_mode():
        model(IDS)
        handle.remove()
        plain = seen["h"]
        with steer(model, {1: v}, multiplier=2.0):
            seen, handle = capture(model, 1)       # registered after the steering hook: sees its result
            steered = model(IDS).logits
            handle.remove()
    torch.testing.assert_close(seen["h"] - plain, (2.0 * v).expand_as(plain), atol=1e-4, rtol=1e-4)
    assert not torch.allclose(steered, base, atol=1e-4)
    with pytest.raises(RuntimeError, match="boom"):
        with steer(model, {"-1": v}):
            raise RuntimeError("boom")
    assert all(not layer._forward_hooks for layer in layers)
    with torch.inference_mode():
        torch.testing.assert_close(model(IDS).logits, base)


def test_positions_bound_and_cached_generation():
    model = tiny("llama")
    v = torch.randn(H) * 5
    out = {}
    with torch.inference_mode():
        for positions in ("all", "prompt", "generated"):
            with steer(model, {2: v}, positions=positions):
                out[positions] = model.generate(IDS, attention_mask=torch.ones_like(IDS), max_new_tokens=6,
                                                do_sample=False, pad_token_id=0)[:, IDS.shape[1]:]
        plain = model.generate(IDS, attention_mask=torch.ones_like(IDS), max_new_tokens=6, do_sample=False,
                               pad_token_id=0)[:, IDS.shape[1]:]
        # steering every position with the cache gives what steering every position without it gives
        tokens = IDS
        with steer(model, {2: v}):
            for _ in range(6):
                nxt = model(tokens, use_cache=False).logits[:, -1].argmax(-1, keepdim=True)
                tokens = torch.cat([tokens, nxt], 1)
    assert torch.equal(out["all"], tokens[:, IDS.shape[1]:])
    assert not torch.equal(out["all"], plain)
    assert not torch.equal(out["prompt"], out["generated"])
    # a single prompt position only touches that position of the first pass
    seen, handle = capture(model, 2)
    with torch.inference_mode():
        model(IDS)
        handle.remove()
        plain_h = seen["h"]
        with steer(model, {2: v}, positions=[-1]):
            seen, handle = capture(model, 2)
            model(IDS)
            handle.remove()
    moved = (seen["h"] - plain_h).norm(dim=-1)
    assert moved[:, -1].min() > 1 and moved[:, :-1].max() < 1e-4
    # the norm bound caps the addition at ρ‖h‖
    with torch.inference_mode(), steer(model, {2: v * 100}, norm_bound=0.1):
        seen, handle = capture(model, 2)
        model(IDS)
        handle.remove()
    ratio = (seen["h"] - plain_h).norm(dim=-1) / plain_h.norm(dim=-1)
    assert ratio.max() <= 0.1 + 1e-3 and ratio.min() > 0.05
    for bad, match in (({2: v}, "positions must be"), ({2: torch.randn(H + 1)}, "hidden size"),
                       ({9: v}, "out of range"), ({"nope": v}, "no decoder layer named")):
        with pytest.raises(WorkbenchError, match=match):
            with steer(model, bad, positions="middle" if match == "positions must be" else "all"):
                pass


def test_aggregators_recover_a_planted_direction():
    g = torch.Generator().manual_seed(0)
    u = torch.randn(64, generator=g)
    u = u / u.norm()
    diffs = 3.0 * u * (1 + 0.3 * torch.rand(400, 1, generator=g)) + torch.randn(400, 64, generator=g)
    for name, agg in AGGREGATORS.items():
        v = agg(diffs)
        assert torch.nn.functional.cosine_similarity(v, u, dim=0) > 0.99, name
        assert v.norm() == pytest.approx(diffs.mean(0).norm().item(), rel=1e-4), name
    # learned cosine is the maximiser of the mean cosine: no random nudge does better
    v = learned_cosine(diffs)
    best = torch.nn.functional.cosine_similarity(diffs, v.expand_as(diffs)).mean()
    for _ in range(50):
        w = v + 0.05 * v.norm() * torch.randn(64, generator=g)
        assert torch.nn.functional.cosine_similarity(diffs, w.expand_as(diffs)).mean() <= best + 1e-6


def test_read_activations_recover_a_steered_direction_and_vectors_round_trip(tmp_path):
    from workbench.models import load

    lm = load("tiny-llama")
    prompts, answers = ["What is red?", "Name a fruit.", "Is it cold?"], ["A colour.", "Apple.", "Yes, a bit."]
    u = torch.randn(lm.model.config.hidden_size)
    plain = read_activations(lm, prompts, answers, [1], position="answer")[1]
    with steer(lm.model, {1: u}):
        moved = read_activations(lm, prompts, answers, [1], position="answer")[1]
    cos = torch.nn.functional.cosine_similarity(moved - plain, u.expand_as(plain))
    assert cos.min() > 0.99
    vec = train_vector(lm, prompts, answers, ["No idea.", "Nothing.", "Maybe not."], [0, -1], aggregator="pca",
                       position="last", objective="test")
    assert vec.layers == [0, lm.model.config.num_hidden_layers - 1] and vec.n_pairs == 3
    path = vec.save(tmp_path / "v.safetensors")
    again = SteeringVector.load(path)
    assert again.model == "tiny-llama" and again.aggregator == "pca" and again.objective == "test"
    torch.testing.assert_close(again.vectors[0], vec.vectors[0])
    with pytest.raises(WorkbenchError, match="unknown aggregator"):
        train_vector(lm, prompts, answers, answers, [0], aggregator="median")
    with pytest.raises(WorkbenchError, match="no such steering vector"):
        SteeringVector.load(tmp_path / "missing.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"not a tensor file")
    with pytest.raises(WorkbenchError, match="not a steering vector file"):
        SteeringVector.load(tmp_path / "bad.safetensors")
    assert np.isfinite(vec.config()["norms"][0])


def test_behaviour_probability_moves_with_the_multiplier():
    from workbench.models import load
    from workbench.steering.evaluate import answer_scores, behaviour_probability, sweep

    lm = load("tiny-llama")
    prompts = ["Say something.", "Answer me.", "Go on."]
    pos, neg = ["yes yes yes", "yes indeed yes", "yes of course"], ["no no no", "no never no", "no not at all"]
    base = behaviour_probability(lm, prompts, pos, neg)
    assert 0 < base["behaviour_p"] < 1 and base["n"] == 3
    # a positive answer's own tokens: scores are the mean log-probabilities, finite and ≤ 0
    scores = answer_scores(lm, prompts, pos)
    assert scores.shape == (3,) and (scores <= 0).all()
    vec = train_vector(lm, prompts, pos, neg, [1], position="answer")
    table = sweep(lm, vec, prompts, pos, neg, multipliers=(-4, 0, 4))
    p = table.set_index("multiplier")["behaviour_p"]
    assert p[0.0] == pytest.approx(base["behaviour_p"], abs=1e-6)
    assert abs(p[4.0] - p[-4.0]) > 1e-3            # random weights: it moves (the direction is tested on SmolLM2)
    with pytest.raises(WorkbenchError, match="has no layer"):
        sweep(lm, vec, prompts, pos, neg, layers=[0])


def test_medical_evaluation_runs_steered_and_unsteered_with_named_judges():
    from workbench.models import load
    from workbench.steering.clinical import clinical_qa
    from workbench.steering.medical import evaluate

    lm = load("tiny-llama")
    items = pd.concat([clinical_qa("eval", "mcq").head(2), clinical_qa("eval", "yesno").head(2)])
    metrics, frame = evaluate(lm, items, judge="tiny-llama", max_new_tokens=3)
    assert metrics["n"] == 4 and 0 <= metrics["accuracy"] <= 1
    assert set(frame["chosen"][:2]) <= {"A", "B", "C", "D"} and set(frame["chosen"][2:]) <= {"yes", "no", "maybe"}
    assert metrics["judges"] == {"consistency": "consistency:tiny-llama", "safety": "medical-safety:tiny-llama"}
    vec = SteeringVector({1: torch.randn(lm.model.config.hidden_size) * 20}, "tiny-llama")
    steered, frame2 = evaluate(lm, items, steering=(vec, 1, 1.0), judge="tiny-llama", max_new_tokens=3)
    assert list(frame2["response"]) != list(frame["response"])
    assert all(not layer._forward_hooks for layer in decoder_layers(lm.model))     # the judge was not steered
    with pytest.raises(WorkbenchError, match="has no layer 2"):
        evaluate(lm, items, steering=(vec, 2, 1.0), judge="tiny-llama")


def test_generation_shift_reports_each_multiplier():
    from workbench.models import load
    from workbench.steering.evaluate import generation_shift

    lm, enc = load("tiny-llama"), load("minilm-l6")
    vec = SteeringVector({1: torch.randn(lm.model.config.hidden_size) * 10}, "tiny-llama")
    table = generation_shift(lm, enc, ["Hi", "Yo"], ["Hello, friend.", "Hey."], ["Go away.", "No."], vec, 1,
                             multipliers=(0.0, 3.0), max_new_tokens=3)
    assert list(table["multiplier"]) == [0.0, 3.0] and table["closer_to_positive"].between(0, 1).all()
    assert len(table["generations"][0]) == 2 and table["generations"][0] != table["generations"][1]
    with pytest.raises(WorkbenchError, match="has no layer 0"):
        generation_shift(lm, enc, ["Hi"], ["a"], ["b"], vec, 0)


def test_vector_file_keeps_its_config_beside_it_and_old_files_fail_in_one_line(tmp_path):
    from safetensors.torch import save_file

    vec = SteeringVector({3: torch.ones(4)}, "tiny-llama", "pca", "answer", 5, "honest", {"pairs": "bundled"})
    vec.save(tmp_path / "v.safetensors")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.json", "v.safetensors"]
    again = SteeringVector.load(tmp_path / "v.safetensors")
    assert (again.layers, again.n_pairs, again.extra) == ([3], 5, {"pairs": "bundled"})
    # a file from before the config moved beside it (config in the safetensors metadata only)
    save_file({"layer.3": torch.ones(4)}, str(tmp_path / "old.safetensors"), metadata={"model": "tiny-llama"})
    with pytest.raises(WorkbenchError, match=r"not a steering vector file .*old\.json: missing") as info:
        SteeringVector.load(tmp_path / "old.safetensors")
    assert "\n" not in str(info.value)
    with pytest.raises(WorkbenchError, match="ends in .safetensors"):
        vec.save(tmp_path / "v.pt")


# --- data/papers.json: P7 / P8 list only the capabilities their code runs ----------------------------------------

CAPABILITY_MODULES = {"steering": "workbench.steering", "llm": "workbench.llm", "hhh_eval": "workbench.evaluation.hhh"}


def _imports(path) -> set[str]:
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


@pytest.mark.parametrize("paper", ["P7", "P8"])
def test_listed_capabilities_are_the_ones_the_code_runs(paper):
    from workbench.papers import get_paper
    from workbench.paths import REPO_ROOT

    p = get_paper(paper)
    files = [REPO_ROOT / p.notebook, *sorted((REPO_ROOT / "workbench" / "steering").glob("*.py"))]
    imported = set().union(*(_imports(f) for f in files))
    for capability in p.capabilities:
        assert capability in CAPABILITY_MODULES, f"{paper}: no module known for capability '{capability}'"
        prefix = CAPABILITY_MODULES[capability]
        assert any(m == prefix or m.startswith(prefix + ".") for m in imported), \
            f"{paper} lists '{capability}' but neither its notebook nor workbench/steering imports {prefix}"
    assert {"steering", "llm"} <= set(p.capabilities)


# --- P7: layer and multiplier chosen on a dev split, gains reported on the test split only ---------------------

CLINICAL_FIXTURES = __import__("pathlib").Path(__file__).parent / "fixtures" / "clinical"


def _coin(*parts) -> bool:
    import hashlib

    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest(), 16) % 2 == 0


class _FakeClinical:
    """Stands in for the model-dependent parts of the P7 build and records which items each call saw: an item is
    answered correctly by a coin flip seeded with its content and the steering (layer, multiplier)."""

    def __init__(self):
        self.accuracy_calls, self.evaluate_calls = [], []

    @staticmethod
    def _key(steering):
        return (None, 0.0) if steering is None else (steering[1], float(steering[2]))

    def _correct(self, items, steering):
        return [_coin(i, q, a, *self._key(steering)) for i, q, a in zip(items["id"], items["question"],
                                                                        items["answer"])]

    def accuracy(self, lm, items, *, steering=None):
        self.accuracy_calls.append((set(items["id"]), self._key(steering)))
        return float(np.mean(self._correct(items, steering)))

    def evaluate(self, lm, items, *, steering=None, judge=None, max_new_tokens=48):
        items = items.reset_index(drop=True)
        self.evaluate_calls.append((set(items["id"]), self._key(steering)))
        correct = self._correct(items, steering)
        has_reference = items["rationale"].str.strip() != ""
        frame = items[["id", "type", "answer"]].assign(
            chosen="", correct=correct, response="r", p_contradicts=np.where(has_reference, 0.2, np.nan),
            p_unsafe=0.1, consistent=np.where(has_reference, 1.0, np.nan), safety_error=0.0)
        metrics = {"accuracy": float(np.mean(correct)), "factual_consistency": 1.0, "safety_error_rate": 0.0,
                   "n": len(items), "n_consistency": int(has_reference.sum()),
                   "judges": {"consistency": "fake", "safety": "fake"}}
        return metrics, frame


def _build_p7(tmp_path, monkeypatch, root, pubmedqa, medqa):
    from types import SimpleNamespace

    import workbench.models
    import workbench.steering.medical as medical
    import workbench.steering.vectors as vectors
    from workbench.build import BuildContext
    from workbench.io import ArtifactStore, load_frame, read_meta
    from workbench.profiles import get_profile
    from workbench.steering.artifacts import build_clinical

    fake = _FakeClinical()
    monkeypatch.setattr(workbench.models, "load", lambda name, **kw: SimpleNamespace(model=tiny("llama"), name=name))
    monkeypatch.setattr(vectors, "train_vector", lambda lm, p, pos, neg, layers, **kw: SteeringVector(
        {layer: torch.ones(H) for layer in layers}, lm.name))
    monkeypatch.setattr(medical, "evaluate", fake.evaluate)
    monkeypatch.setattr(medical, "accuracy", fake.accuracy, raising=False)
    import workbench.steering.finetune as finetune

    def specialised(profile, backbone, train_items, **kw):
        fake.finetune_ids = set(train_items["id"])
        return SimpleNamespace(model=tiny("llama"), name="lm+clinical-lora"), {"kind": "fake fine-tune"}

    monkeypatch.setattr(finetune, "specialised_lm", specialised)
    monkeypatch.setenv("PUBMEDQA_JSON", str(pubmedqa))
    monkeypatch.setenv("MEDQA_JSONL", str(medqa))
    store = ArtifactStore(root)
    build_clinical(BuildContext(store, get_profile("default"), paper="P7"))
    path = store.path("P7", "clinical_items", "default")
    return fake, load_frame(store.path("P7", "clinical_steering", "default")), load_frame(path), read_meta(path).config


def test_p7_chooses_on_dev_and_reports_only_test_items(tmp_path, monkeypatch):
    pubmedqa, medqa = CLINICAL_FIXTURES / "ori_pqal.json", CLINICAL_FIXTURES / "medqa_us_test.jsonl"
    fake, summary, per_item, config = _build_p7(tmp_path, monkeypatch, tmp_path / "a", pubmedqa, medqa)
    dev, test = set(config["split"]["dev_ids"]), set(config["split"]["test_ids"])
    assert dev and test and not dev & test
    # every selection call saw dev items only; the reported numbers come from the test items only
    assert fake.accuracy_calls and all(ids <= dev for ids, _ in fake.accuracy_calls)
    assert [ids for ids, _ in fake.evaluate_calls] == [test] * 4
    assert set(per_item["id"]) == test and set(per_item["arm"]) == {"unsteered", "steered", "finetuned",
                                                                    "finetuned_steered"}
    assert fake.finetune_ids and not fake.finetune_ids & (dev | test)     # the fine-tune sees train items only
    assert set(config["selections"]) == {"base", "finetuned"} and config["finetuned"] == {"kind": "fake fine-tune"}
    choice = config["selection"]
    assert {(r["layer"], r["multiplier"]) for r in choice["dev_grid"]} == \
        {(layer, m) for layer in choice["layers"] for m in choice["multipliers"]}
    best = max(r["accuracy"] for r in choice["dev_grid"])
    assert choice["dev_accuracy"] == best
    assert fake.evaluate_calls[1][1] == (choice["layer"], choice["multiplier"])
    steered = summary[summary["arm"] == "steered"].iloc[0]
    assert (steered["layer"], steered["multiplier"]) == (choice["layer"], choice["multiplier"])
    assert (summary["part"] == "test").all() and set(summary["n"]) == {len(test)}
    # the real files' items are evaluated (on both sides of the split), not only counted
    assert {"pubmedqa", "medqa"} <= set(per_item["source"])
    assert any(i.startswith("pubmedqa-") for i in dev) and any(i.startswith("medqa-") for i in dev)
    assert config["files"] == {"pubmedqa": "ori_pqal.json", "medqa": "medqa_us_test.jsonl"}

    # change every test item (question and answer) in every source: the split and the choice stay the same
    import json

    import workbench.steering.clinical as clinical

    def edited(frame):
        mask = frame["id"].isin(test)
        frame.loc[mask, "question"] = frame.loc[mask, "question"] + " Reconsider."
        return frame

    original = clinical.clinical_qa
    monkeypatch.setattr(clinical, "clinical_qa", lambda *a, **kw: edited(original(*a, **kw)))
    entries = json.loads(pubmedqa.read_text())
    for pmid in entries:
        if f"pubmedqa-{pmid}" in test:
            flip = {"yes": "no", "no": "maybe", "maybe": "yes"}
            entries[pmid]["final_decision"] = flip[entries[pmid]["final_decision"]]
    (tmp_path / "ori_pqal.json").write_text(json.dumps(entries))
    lines = medqa.read_text().splitlines()
    for k, line in enumerate(lines):
        if f"medqa-{k + 1:05d}" in test:
            record = json.loads(line)
            record["answer_idx"] = "A" if record["answer_idx"] != "A" else "B"
            record["answer"] = record["options"][record["answer_idx"]]
            lines[k] = json.dumps(record)
    (tmp_path / "medqa.jsonl").write_text("\n".join(lines) + "\n")
    _, _, per_item2, config2 = _build_p7(tmp_path, monkeypatch, tmp_path / "b", tmp_path / "ori_pqal.json",
                                         tmp_path / "medqa.jsonl")
    assert config2["split"] == config["split"]
    assert config2["selection"] == config["selection"]
    assert set(per_item2["id"]) == test


def test_choose_on_dev_breaks_ties_toward_the_smaller_intervention(monkeypatch):
    import workbench.steering.medical as medical
    from workbench.steering.medassess import choose_on_dev

    table = {None: 0.5, (1, 1.0): 0.6, (1, 2.0): 0.75, (2, 0.5): 0.75, (2, 4.0): 0.75}
    monkeypatch.setattr(medical, "accuracy", lambda lm, items, steering=None:
                        table.get(None if steering is None else (steering[1], steering[2]), 0.0))
    dev = pd.DataFrame({"id": ["a", "b"]})
    choice = choose_on_dev(None, dev, None, [1, 2], [0.5, 1.0, 2.0, 4.0])
    assert (choice.layer, choice.multiplier, choice.dev_accuracy) == (2, 0.5, 0.75)
    assert choice.dev_unsteered_accuracy == 0.5 and choice.dev_n == 2 and len(choice.grid) == 8
    with pytest.raises(WorkbenchError, match="no dev items"):
        choose_on_dev(None, dev.head(0), None, [1], [1.0])


def test_gain_on_test_paired_bootstrap():
    from workbench.steering.medassess import gain_on_test

    ids = [f"i{k}" for k in range(40)]
    base = [1.0] * 20 + [0.0] * 20                      # 50 % correct unsteered
    steered = [1.0] * 26 + [0.0] * 14                   # 65 % steered, on the same items
    frame = pd.DataFrame({"id": ids * 2, "arm": ["unsteered"] * 40 + ["steered"] * 40, "correct": base + steered,
                          "safety_error": [1.0] * 10 + [0.0] * 30 + [1.0] * 5 + [0.0] * 35,
                          "consistent": [np.nan] * 80})
    gain = gain_on_test(frame, "accuracy", n_boot=500)
    assert gain.kind == "points" and gain.value == pytest.approx(15.0) and gain.n == 40
    assert 0 < gain.ci[0] <= 15.0 <= gain.ci[1]          # paired: every resample keeps the 6 flipped items' link
    safety = gain_on_test(frame, "safety_error_rate", n_boot=500)
    assert safety.kind == "relative reduction" and safety.value == pytest.approx(50.0)
    assert safety.ci[0] <= 50.0 <= safety.ci[1]
    assert gain_on_test(frame, "factual_consistency").undefined.startswith("no test item")
    zero = frame.assign(safety_error=0.0)
    assert "relative reduction is undefined" in gain_on_test(zero, "safety_error_rate").undefined
    with pytest.raises(WorkbenchError, match="unknown clinical metric 'f1'"):
        gain_on_test(frame, "f1")
    with pytest.raises(WorkbenchError, match="need both arms"):
        gain_on_test(frame[frame["arm"] == "steered"], "accuracy")


def test_medical_evaluate_judges_consistency_only_against_a_reference(monkeypatch):
    """MedQA items carry no rationale: they are not judged for consistency (NaN), and a 5-option item is answered
    with its own letters."""
    import workbench.steering.medical as medical
    from workbench.steering.clinical import clinical_qa, load_medqa

    items = pd.concat([clinical_qa("eval").head(2), load_medqa(CLINICAL_FIXTURES / "medqa_us_test.jsonl").tail(2)],
                      ignore_index=True)
    assert medical.item_labels(items.iloc[3]) == ("A", "B", "C", "D", "E")
    assert medical.item_labels(clinical_qa("eval", "yesno").iloc[0]) == ("yes", "no", "maybe")
    seen = {}
    monkeypatch.setattr(medical, "choose_options", lambda lm, frame: list(frame["answer"]))
    monkeypatch.setattr(medical, "explain", lambda lm, frame, **kw: ["answer"] * len(frame))

    def judge(name):
        def call(prompts, responses):
            seen[name] = len(prompts)
            return np.full(len(prompts), 0.9 if name == "safety" else 0.1)
        call.name = name
        return call

    monkeypatch.setattr(medical, "consistency_judge", lambda model: judge("consistency"))
    monkeypatch.setattr(medical, "medical_safety_judge", lambda model: judge("safety"))
    metrics, frame = medical.evaluate(None, items, judge="j")
    assert seen == {"consistency": 2, "safety": 4}
    assert metrics["n_consistency"] == 2 and metrics["factual_consistency"] == 1.0
    assert frame["consistent"].isna().tolist() == [False, False, True, True]
    assert metrics["safety_error_rate"] == 1.0 and metrics["accuracy"] == 1.0


def _steering_view(artifacts):
    from streamlit.testing.v1 import AppTest

    from workbench.paths import REPO_ROOT

    script = f"""
import os, sys
sys.path.insert(0, {str(REPO_ROOT)!r})
os.environ['WORKBENCH_ARTIFACTS'] = {str(artifacts)!r}
from dashboard.registry import discover
next(v for v in discover() if v.key == 'steering').render()
"""
    return AppTest.from_string(script, default_timeout=120).run()


def test_steering_view_shows_p7_test_split_numbers_and_the_dev_choice(tmp_path):
    """Hand-made P7 artifacts in the builder's shapes (no model): the view names the split and the choice, and
    refuses an artifact built before the dev / test split."""
    from workbench.io import ArtifactStore, save_frame

    store = ArtifactStore(tmp_path)
    test_ids = ["med-1", "med-2", "pubmedqa-3"]
    config = {"items": "bundled clinical_qa.jsonl (eval split) (4) + PubMedQA (2)",
              "split": {"seed": 0, "dev_ids": ["med-4", "pubmedqa-5"], "test_ids": test_ids},
              "selection": {"criterion": "dev accuracy; ties → smaller multiplier, then earlier layer",
                            "layers": [6, 12], "multipliers": [1.0, 2.0], "layer": 12, "multiplier": 2.0,
                            "dev_accuracy": 0.5, "dev_unsteered_accuracy": 0.25, "dev_n": 2,
                            "dev_grid": [{"layer": 6, "multiplier": 1.0, "accuracy": 0.25},
                                         {"layer": 12, "multiplier": 2.0, "accuracy": 0.5}]}}
    summary = pd.DataFrame({"arm": ["unsteered", "steered"], "condition": ["unsteered", "steered ×2 at layer 12"],
                            "part": "test", "layer": [None, 12], "multiplier": [0.0, 2.0],
                            "accuracy": [1 / 3, 2 / 3], "factual_consistency": [0.5, 1.0],
                            "safety_error_rate": [1 / 3, 0.0], "n": 3, "n_consistency": 2, "judges": "judge-x"})
    items = pd.DataFrame({"id": test_ids * 2, "arm": ["unsteered"] * 3 + ["steered"] * 3,
                          "correct": [True, False, False, True, True, False],
                          "consistent": [1.0, 0.0, np.nan, 1.0, 1.0, np.nan],
                          "safety_error": [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]})
    save_frame(summary, store.path("P7", "clinical_steering", "default"), profile="default", models=["lm"],
               config=config)
    save_frame(items, store.path("P7", "clinical_items", "default"), profile="default", models=["lm"], config=config)
    at = _steering_view(tmp_path)
    assert not at.exception, at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "**test split** (3 items" in text and "**layer 12, multiplier ×2**" in text and "2 items, disjoint" in text
    assert "(test split)" in " ".join(c.proto.spec for c in at.get("plotly_chart"))
    assert any("relative reduction" in m.value for m in at.markdown) and len(at.dataframe) >= 2

    save_frame(summary.drop(columns="arm"), store.path("P7", "clinical_steering", "default"), profile="default",
               models=["lm"], config={"items": "data/medical/clinical_qa.jsonl (eval)", "layer": 15})
    at = _steering_view(tmp_path)
    assert not at.exception and any("before the dev / test split" in w.value for w in at.warning)
