"""Rehearsal stand-ins (workbench.models.rehearsal), the loader's options, and the paper-path bugs they found."""
from __future__ import annotations

import json

import pytest
import torch

from workbench import WorkbenchError
from workbench.models import get_spec, list_specs, rehearsal
from workbench.models.registry import MODELS


def _meta_model(name: str, size: str = "full"):
    from transformers import AutoModel, AutoModelForCausalLM

    config = rehearsal.build_config(name, size)
    auto = AutoModelForCausalLM if rehearsal.is_causal_lm(rehearsal.arch(name)) else AutoModel
    with torch.device("meta"):
        return auto.from_config(config)


def test_every_paper_model_has_an_architecture_config_with_its_hub_id():
    paper = [s for s in list_specs(profile="paper") if s.source_kind == "hf"]
    assert {s.name for s in paper} == set(rehearsal.arch_names())
    for spec in paper:
        assert rehearsal.arch(spec.name)["hf_id"] == spec.location


@pytest.mark.parametrize("name", rehearsal.arch_names())
def test_full_configs_have_the_real_parameter_counts(name):
    """The shipped configs rebuild the real models: parameter counts within 0.5 % of the registry's (LLMs) or
    10 % (encoders, whose registry size includes a pre-training head that AutoModel leaves out)."""
    n = sum(p.numel() for p in _meta_model(name).parameters()) / 1e6
    expected = MODELS[name].params_m
    tolerance = 0.005 if rehearsal.is_causal_lm(rehearsal.arch(name)) else 0.10
    assert abs(n - expected) / expected < tolerance, (name, n, expected)


def test_tiny_keeps_the_attention_layout():
    mistral = rehearsal.build_config("mistral-7b-instruct-v0.3", "tiny")
    assert mistral.num_key_value_heads < mistral.num_attention_heads            # grouped-query attention
    llama2 = rehearsal.build_config("llama-2-7b", "tiny")
    assert llama2.num_key_value_heads == llama2.num_attention_heads             # multi-head, as the real one
    gemma = rehearsal.build_config("gemma-2-9b-it", "tiny")
    assert gemma.sliding_window == 4096 and "sliding_attention" in gemma.layer_types
    assert gemma.final_logit_softcapping == 30.0
    qwen = rehearsal.build_config("qwen3-30b-a3b-instruct-2507", "tiny")
    assert qwen.num_experts > qwen.num_experts_per_tok > 1
    w2v = rehearsal.build_config("wav2vec2-xls-r-1b", "tiny")
    assert list(w2v.conv_kernel) == [10, 3, 3, 3, 3, 2, 2] and w2v.do_stable_layer_norm
    llama31 = rehearsal.build_config("llama-3.1-8b-instruct", "tiny")
    assert llama31.rope_parameters["rope_type"] == "llama3"
    for name in ("mistral-7b-instruct-v0.3", "qwen3-30b-a3b-instruct-2507", "clip-vit-large-patch14"):
        tiny = sum(p.numel() for p in _meta_model(name, "tiny").parameters())
        assert tiny < 2e6, (name, tiny)


@pytest.mark.parametrize("name", ["mistral-7b-instruct-v0.3", "gemma-2-9b-it"])
def test_stand_in_tokenizer_spans_the_vocabulary_and_keeps_the_template_rules(name):
    from transformers import AutoConfig, AutoTokenizer

    folder = rehearsal.folder(name, "tiny")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    config = AutoConfig.from_pretrained(folder)
    assert len(tokenizer) == config.vocab_size
    assert config.eos_token_id == tokenizer.eos_token_id
    assert json.loads((folder / "REHEARSAL.json").read_text())["weights"] == "random"
    with pytest.raises(Exception, match="alternate"):
        tokenizer.apply_chat_template([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
                                      tokenize=False)
    if name.startswith("gemma"):
        with pytest.raises(Exception, match="System role not supported"):
            tokenizer.apply_chat_template([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
                                          tokenize=False)


def test_a_system_prompt_reaches_a_model_whose_template_rejects_system_turns():
    """Failed before: build_prompt passed a system turn to Gemma's template, which raises."""
    from workbench.llm.generate import build_prompt, generate
    from workbench.models import load

    with rehearsal.rehearsing("tiny", "float32"):
        lm = load("gemma-2-9b-it", device="cpu")
        text = build_prompt(lm, "Is this safe?", system="Answer yes or no.")
        assert "Answer yes or no.\n\nIs this safe?" in text and "<start_of_turn>user" in text
        assert isinstance(generate(lm, "Hi", system="Be brief.", max_new_tokens=2), str)
        mistral = load("mistral-7b-instruct-v0.3", device="cpu")
        assert "Be brief." in build_prompt(mistral, "Hi", system="Be brief.")


def test_prefix_reuse_falls_back_when_a_packed_row_exceeds_the_sliding_window():
    """Failed before ("The size of tensor a … must match"): the sliding layers' cache keeps only the window."""
    from transformers import AutoConfig, AutoModelForCausalLM

    from workbench.llm.scoring import score_ids, sliding_window
    from workbench.models.loaders import CausalLM

    raw = rehearsal.shrink(rehearsal.arch("gemma-2-9b-it")["config"])
    raw.pop("architectures"), raw.pop("torch_dtype")
    kind = raw.pop("model_type")
    config = AutoConfig.for_model(kind, **{**raw, "sliding_window": 8, "vocab_size": 64})
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config).eval()
    assert sliding_window(model) == 8
    lm = CausalLM(get_spec("gemma-2-9b-it"), model, None, "cpu")
    labels = [[30, 31], [40], [50, 51, 52]]
    for prefix in (list(range(5, 25)), list(range(5, 10))):    # no room in the window; room for some labels
        reused = score_ids(lm, prefix, labels, reuse_prefix=True)
        naive = score_ids(lm, prefix, labels, reuse_prefix=False)
        assert reused.logprob == pytest.approx(naive.logprob, abs=1e-4)


def test_encoders_load_their_preprocessors_without_a_tokenizer():
    """Failed before: AutoProcessor paired wav2vec2-XLS-R's feature extractor with a tokenizer it does not have."""
    from workbench.models import load

    with rehearsal.rehearsing("tiny", "bfloat16"):
        audio = load("wav2vec2-xls-r-1b", device="cpu")
        video = load("videomae-base", device="cpu")
    assert type(audio.processor).__name__ == "Wav2Vec2FeatureExtractor"
    assert "VideoMAE" in type(video.processor).__name__
    assert next(audio.model.parameters()).dtype == torch.bfloat16


def test_rehearsal_and_real_models_never_share_a_cache_entry():
    from workbench.models import load

    with rehearsal.rehearsing("tiny", "bfloat16"):
        a = load("llama-2-7b", device="cpu")
    with rehearsal.rehearsing("tiny", "float32"):
        b = load("llama-2-7b", device="cpu")
    assert a is not b and next(b.model.parameters()).dtype == torch.float32
    with pytest.raises(WorkbenchError, match="not in the local Hugging Face cache"):
        load("llama-2-7b", device="cpu")


def test_bad_rehearsal_requests_are_one_clear_error(monkeypatch):
    with pytest.raises(WorkbenchError, match="unknown rehearsal size 'huge'"):
        rehearsal.Rehearsal("huge")
    with pytest.raises(WorkbenchError, match="unknown dtype 'int8'"):
        rehearsal.Rehearsal("tiny", "int8")
    with pytest.raises(WorkbenchError, match="model 'nope' has no architecture config"):
        rehearsal.arch("nope")

    def no_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory")

    from transformers import AutoModelForCausalLM

    monkeypatch.setattr(AutoModelForCausalLM, "from_config", no_memory)
    with pytest.raises(WorkbenchError, match="'deepseek-7b' .*does not fit in cpu memory"):
        rehearsal.build_model("deepseek-7b", AutoModelForCausalLM, "cpu", torch.bfloat16)


def test_loader_options_are_checked(monkeypatch):
    from workbench.models.loaders import quantization, weights_dtype

    monkeypatch.setenv("WORKBENCH_QUANTIZE", "4bit")
    with pytest.raises(WorkbenchError, match="4bit quantization needs a CUDA device"):
        quantization("cpu")
    monkeypatch.setenv("WORKBENCH_QUANTIZE", "3bit")
    with pytest.raises(WorkbenchError, match="unknown quantization '3bit'"):
        quantization("cuda")
    monkeypatch.setenv("WORKBENCH_DTYPE", "float16")
    assert weights_dtype("cpu") == torch.float16
    monkeypatch.setenv("WORKBENCH_DTYPE", "fp8")
    with pytest.raises(WorkbenchError, match="unknown dtype 'fp8'"):
        weights_dtype("cpu")
    with rehearsal.rehearsing("tiny", "bfloat16"):
        assert weights_dtype("cpu") == torch.bfloat16          # a rehearsal's dtype wins


def test_cuda_loads_go_straight_to_the_device(monkeypatch):
    """instantiate passes device_map (no pass through host memory) on CUDA, and .to() elsewhere."""
    from workbench.models import loaders

    seen = {}

    class Fake:
        @classmethod
        def from_pretrained(cls, folder, **kwargs):
            seen.update(kwargs)
            return cls()

        def to(self, device):
            seen["to"] = device
            return self

        def eval(self):
            return self

    loaders.instantiate(get_spec("llama-2-7b"), Fake, "folder", "cuda:1", torch.bfloat16)
    assert seen == {"dtype": torch.bfloat16, "device_map": {"": "cuda:1"}}
    seen.clear()
    loaders.instantiate(get_spec("llama-2-7b"), Fake, "folder", "cpu", torch.float32)
    assert seen == {"dtype": torch.float32, "to": "cpu"}


def test_the_medical_lm_stand_in_generates_and_exposes_its_decoder_layers():
    """P7's specialised LM (BioGPT, a GPT-2-style layout without a chat template) works with generation and the
    steering hooks' layer lookup."""
    from workbench.llm.generate import generate
    from workbench.models import load
    from workbench.steering.hooks import decoder_layers

    with rehearsal.rehearsing("tiny", "float32"):
        lm = load("biogpt", device="cpu")
        assert len(decoder_layers(lm.model)) == 2
        assert isinstance(generate(lm, "Aspirin is", max_new_tokens=3), str)


def test_answer_log_probabilities_are_computed_in_float32_for_a_bfloat16_model():
    """Label log-probabilities stay float32 when the model computes in bfloat16 (a guard: bf16 rounding is ~1e-2)."""
    from workbench.llm.scoring import answer_token_logprobs, pair_token_logprobs
    from workbench.models import load

    with rehearsal.rehearsing("tiny", "bfloat16"):
        lm = load("llama-2-7b", device="cpu")
    prompt, answer = [5, 6, 7, 8, 9, 10], [11, 12, 13]
    with torch.inference_mode():
        logits = lm.model(input_ids=torch.tensor([prompt + answer])).logits[0]          # [T, V] bf16
    expected = torch.log_softmax(logits.float(), -1)[len(prompt) - 1:-1].gather(1, torch.tensor(answer)[:, None])[:, 0]
    pair = pair_token_logprobs(lm, [prompt], [answer])[0]
    assert pair == pytest.approx(expected.numpy(), abs=1e-5)
    first = answer_token_logprobs(lm, [prompt], [answer[:1]])[0][0]
    assert first == pytest.approx(expected[:1].numpy(), abs=1e-5)


def test_an_architecture_transformers_cannot_build_is_one_error_naming_the_model(monkeypatch):
    entry = rehearsal.arch("llama-2-7b")
    broken = {**entry, "config": {**entry["config"], "model_type": "llama-9000"}}
    monkeypatch.setattr(rehearsal, "arch", lambda name: broken)
    with pytest.raises(WorkbenchError, match="model 'llama-2-7b': transformers cannot build a 'llama-9000' config"):
        rehearsal.build_config("llama-2-7b", "full")
