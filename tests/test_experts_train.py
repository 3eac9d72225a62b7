import json

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from workbench import WorkbenchError
from workbench.experts.train import ALIGNX_PREFIX, ExpertConfig, encode_pairs, fresh_backbone, train_experts


def rows(n=16):
    out = []
    for axis, resp in (("helpful", "The answer is four."), ("harmless", "I can't help with that."),
                       ("honest", "Nobody knows that.")):
        out += [{"axis": axis, "split": "train", "prompt": f"Question {i} about {axis}?", "response": resp}
                for i in range(n)]
    return pd.DataFrame(out)


def test_three_adapters_learn_and_leave_the_backbone_alone(tmp_path):
    losses = train_experts("tiny-llama", rows(), ExpertConfig(epochs=3, lr=5e-3), tmp_path)
    for axis, curve in losses.items():
        assert curve[-1] < curve[0] - 0.1, axis
    weights = {a: load_file(tmp_path / a / "adapter_model.safetensors") for a in ("helpful", "harmless", "honest")}
    keys = sorted(weights["helpful"])
    assert keys and all("lora_" in k for k in keys)
    # each adapter was trained on its own axis only: their B matrices (zero at init) all moved, and differ
    b = [k for k in keys if "lora_B" in k][0]
    assert all(weights[a][b].abs().sum() > 0 for a in weights)
    assert not torch.allclose(weights["helpful"][b], weights["honest"][b])
    meta = json.loads((tmp_path / "experts.json").read_text())
    assert meta["backbone"] == "tiny-llama" and set(meta["losses"]) == {"helpful", "harmless", "honest"}
    assert not (tmp_path / "README.md").exists()
    # the shared model cache is untouched: a fresh backbone has no adapters
    model, _ = fresh_backbone("tiny-llama")
    assert not any("lora_" in n for n, _ in model.named_parameters())


def test_prompt_injection_and_masking():
    _, tok = fresh_backbone("tiny-llama")
    [(plain_ids, plain_labels)] = encode_pairs(tok, ["Why?"], ["Because."], max_length=128)
    [(ids, labels)] = encode_pairs(tok, ["Why?"], ["Because."], max_length=128, prefix=ALIGNX_PREFIX)
    assert len(ids) > len(plain_ids)
    learned = [t for t in labels if t != -100]
    assert learned == [t for t in plain_labels if t != -100] and learned[-1] == tok.eos_token_id
    with pytest.raises(WorkbenchError, match="leaves no room for its response"):
        encode_pairs(tok, ["word " * 200], ["x"], max_length=16)
    with pytest.raises(WorkbenchError, match="no training rows for axis/axes honest"):
        train_experts("tiny-llama", rows().query("axis != 'honest'"), ExpertConfig(), "/nonexistent")
    with pytest.raises(WorkbenchError, match="not a causal LM"):
        fresh_backbone("minilm-l6")
