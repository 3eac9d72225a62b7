import pytest
import torch

from workbench import WorkbenchError
from workbench.steering.ambs import Branches, compute_bound, decode, generate, prompt_logits, time_prompt_pass

from test_steering import FAMILIES, H, tiny

IDS = torch.tensor([[0, 0, 5, 17, 33, 2], [7, 7, 12, 60, 3, 8]])
MASK = torch.tensor([[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]])


def branches(model, layer=1, reference=False):
    g = torch.Generator().manual_seed(1)
    vectors = {name: torch.randn(H, generator=g) * 2 for name in ("helpful", "harmless", "honest")}
    return Branches.from_vectors(model, layer, vectors, {"honest": -1.0}, include_reference=reference)


def test_compute_bound():
    assert compute_bound(3, 15, 30) == pytest.approx(1.5)
    assert compute_bound(3, 0, 30) == pytest.approx(1.0) and compute_bound(3, 30, 30) == pytest.approx(3.0)


@pytest.mark.parametrize("family", FAMILIES)
def test_shared_prefix_matches_n_independent_passes(family):
    model = tiny(family)
    b = branches(model, layer=1, reference=True)
    shared = prompt_logits(model, IDS, MASK, b)
    naive = prompt_logits(model, IDS, MASK, b, naive=True)
    assert shared.shape == (2, 4, model.config.vocab_size)
    torch.testing.assert_close(shared, naive, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(shared[:, 0], shared[:, 1], atol=1e-3)          # the branches do differ
    for mode in ("branches", "combined"):
        ours = decode(model, IDS, MASK, b, 5, mode=mode)
        assert torch.equal(ours, decode(model, IDS, MASK, b, 5, mode=mode, naive=True)), mode
    assert decode(model, IDS, MASK, b, 5, mode="combined").shape == (2, 5)


def test_bound_is_applied_in_both_paths_and_errors():
    model = tiny("llama")
    b = branches(model, layer=2)
    loose, tight = prompt_logits(model, IDS, MASK, b), prompt_logits(model, IDS, MASK, b, norm_bound=0.01)
    torch.testing.assert_close(tight, prompt_logits(model, IDS, MASK, b, norm_bound=0.01, naive=True), atol=1e-4,
                               rtol=1e-4)
    plain = prompt_logits(model, IDS, MASK, Branches(2, ["none"], torch.zeros(1, H), [0.0]))
    assert (tight - plain).abs().max() < (loose - plain).abs().max()
    with pytest.raises(WorkbenchError, match="unknown AMBS mode"):
        decode(model, IDS, MASK, b, 3, mode="vote")
    with pytest.raises(WorkbenchError, match="has no layer 3"):
        from workbench.steering.vectors import SteeringVector

        Branches.from_vectors(model, 3, {"x": SteeringVector({1: torch.zeros(H)}, "tiny")})
    timing = time_prompt_pass(model, IDS, MASK, b, repeats=1)
    assert timing["same_argmax"] and timing["bound"] == pytest.approx(compute_bound(3, 3, 4))


def test_generate_texts_and_kl_on_a_tokenizer_model():
    from workbench.models import load

    lm = load("tiny-llama")
    g = torch.Generator().manual_seed(0)
    b = Branches.from_vectors(lm.model, 1, {"a": torch.randn(lm.model.config.hidden_size, generator=g) * 3,
                                            "b": torch.randn(lm.model.config.hidden_size, generator=g) * 3},
                              include_reference=True)
    out = generate(lm, ["Hello there", "What is two plus two?"], b, max_new_tokens=4)
    assert set(out["branches"]) == {"reference", "a", "b"} and len(out["branches"]["a"]) == 2
    assert out["kl_to_reference"]["reference"] == pytest.approx(0.0, abs=1e-6) and out["kl_to_reference"]["a"] > 0
    naive = generate(lm, ["Hello there", "What is two plus two?"], b, max_new_tokens=4, naive=True)
    assert naive["branches"] == out["branches"]
    combined = generate(lm, ["Hello there"], b, max_new_tokens=4, mode="combined")
    assert len(combined["combined"]) == 1
