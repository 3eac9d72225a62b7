"""Caption decoding (P9): greedy, contrastive search and MAGIC search on tiny-llama with a toy letter scorer."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench import WorkbenchError
from workbench.captioning.decoding import (
    LAYOUTS, Scorer, caption_prompt, caption_text, contrastive, greedy, keyword_phrase, magic, magic_naive,
)

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def bag(text: str) -> np.ndarray:
    """Letter histogram of ``text`` (26-d)."""
    v = np.zeros(len(LETTERS))
    for ch in text.lower():
        i = LETTERS.find(ch)
        if i >= 0:
            v[i] += 1
    return v


class LetterScorer:
    """Toy audio-text model: text_logits = 10 · cos(letter histogram of the text, the "audio" vector)."""

    def __init__(self):
        self.calls = 0
        self.texts = 0

    def text_logits(self, audio_embedding, texts):
        self.calls += 1
        self.texts += len(texts)
        a = np.asarray(audio_embedding, dtype=np.float64)
        m = np.stack([bag(t) for t in texts])
        return 10.0 * (m @ a) / (np.linalg.norm(m, axis=1) * np.linalg.norm(a) + 1e-9)


AUDIO_E = bag("e")                 # an "audio" that sounds like the letter e


@pytest.fixture(scope="module")
def lm():
    from workbench.models import load

    return load("tiny-llama")


@pytest.fixture(scope="module")
def prompt(lm):
    return caption_prompt(lm, ["dog", "bark"])


def reference_contrastive(lm, prompt, k, alpha, steps):
    """Contrastive search done the plain way: the full sequence recomputed for every candidate, no cache."""
    model = lm.model
    ids = lm.tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids[0].tolist()
    generated = []
    with torch.inference_mode():
        for _ in range(steps):
            out = model(input_ids=torch.tensor([ids + generated]), output_hidden_states=True)
            context = torch.nn.functional.normalize(out.hidden_states[-1][0], dim=-1)
            probs = torch.softmax(out.logits[0, -1].float(), dim=-1)
            top_p, top_ids = torch.topk(probs, k)
            best, best_score = None, -float("inf")
            for p, v in zip(top_p.tolist(), top_ids.tolist()):
                h = model(input_ids=torch.tensor([ids + generated + [v]]), output_hidden_states=True)
                h = torch.nn.functional.normalize(h.hidden_states[-1][0, -1], dim=-1)
                score = (1 - alpha) * p - alpha * float((context @ h).max())
                if score > best_score:
                    best, best_score = v, score
            generated.append(best)
    return generated


def test_prompt_forms(lm):
    assert keyword_phrase([]) == ""
    assert keyword_phrase(["owl"]) == "an owl"
    assert keyword_phrase(["dog", "bark"]) == "dog, and a bark"
    chat = caption_prompt(lm, ["dog", "bark"])
    assert chat.endswith("<|im_start|>assistant\nObjects: dog, and a bark. This is a sound of")
    assert "<|im_start|>user\n" in chat
    raw = caption_prompt(lm, ["owl"], chat=False, start="This is a sound of ")
    assert raw.endswith("Objects: an owl. This is a sound of")
    assert caption_prompt(lm, chat=False).endswith("This is a sound of")


def test_greedy_matches_generate(lm, prompt):
    ours = greedy(lm, prompt, max_new_tokens=12, stop_at_period=False)
    enc = lm.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        hf = lm.model.generate(**enc, max_new_tokens=12, do_sample=False, temperature=None, top_p=None, top_k=None,
                               pad_token_id=lm.tokenizer.pad_token_id)
    hf_new = hf[0, enc.input_ids.shape[1]:].tolist()
    assert hf_new and ours.token_ids[: len(hf_new)] == hf_new
    assert ours.tokens == 12 and ours.seconds > ours.prefill_seconds > 0
    assert ours.per_token_s == pytest.approx((ours.seconds - ours.prefill_seconds) / 12)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_alpha_beta_zero_is_greedy(lm, prompt, layout):
    ref = greedy(lm, prompt, max_new_tokens=12, stop_at_period=False).token_ids
    for k in (1, 5, 45):
        for shortcut in (True, False):
            out = magic(lm, prompt, None, None, k=k, alpha=0.0, beta=0.0, min_length=0, eos_penalty=1.0,
                        max_new_tokens=12, stop_at_period=False, layout=layout, alpha0_shortcut=shortcut)
            assert out.token_ids == ref, (k, shortcut)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_beta_zero_is_contrastive_search(lm, prompt, layout):
    ref = reference_contrastive(lm, prompt, k=6, alpha=0.6, steps=8)
    ours = contrastive(lm, prompt, k=6, alpha=0.6, max_new_tokens=8, stop_at_period=False, layout=layout)
    assert ours.token_ids == ref
    assert ours.token_ids != greedy(lm, prompt, max_new_tokens=8, stop_at_period=False).token_ids
    same = magic(lm, prompt, LetterScorer(), AUDIO_E, k=6, alpha=0.6, beta=0.0, min_length=0, eos_penalty=1.0,
                 max_new_tokens=8, stop_at_period=False, layout=layout)
    assert same.token_ids == ref
    naive = magic_naive(lm, prompt, None, None, k=6, alpha=0.6, beta=0.0, min_length=0, eos_penalty=1.0,
                        max_new_tokens=8, stop_at_period=False)
    assert naive.token_ids == ref


@pytest.mark.parametrize("alpha,beta,min_length", [(0.1, 2.0, 0), (0.0, 0.5, 4)])
def test_batched_equals_naive(lm, prompt, alpha, beta, min_length):
    steps = 8
    naive_scorer = LetterScorer()
    naive = magic_naive(lm, prompt, naive_scorer, AUDIO_E, k=45, alpha=alpha, beta=beta, min_length=min_length,
                        max_new_tokens=steps, stop_at_period=False)
    assert naive_scorer.calls == naive_scorer.texts == 45 * steps          # one scorer call per candidate
    for layout, shortcut in [("batch", False), ("tree", False), ("batch", True)]:
        scorer = LetterScorer()
        out = magic(lm, prompt, scorer, AUDIO_E, k=45, alpha=alpha, beta=beta, min_length=min_length,
                    max_new_tokens=steps, stop_at_period=False, layout=layout, alpha0_shortcut=shortcut)
        assert out.token_ids == naive.token_ids, layout
        assert np.allclose(out.scores, naive.scores, atol=1e-5)
        assert np.allclose(out.audio, naive.audio, atol=1e-6)
        assert np.allclose(out.degeneration[:-1], naive.degeneration[:-1], atol=1e-5)
        assert scorer.calls == steps and scorer.texts == 45 * steps            # one scorer call per step
        assert out.text == naive.text


def test_audio_term_moves_choices(lm, prompt):
    def share_of_e(out):
        text = lm.tokenizer.decode(out.token_ids, skip_special_tokens=True)
        letters = bag(text)
        return letters[LETTERS.index("e")] / max(1.0, letters.sum())

    plain = magic(lm, prompt, LetterScorer(), AUDIO_E, k=45, alpha=0.0, beta=0.0, max_new_tokens=12,
                  stop_at_period=False)
    steered = magic(lm, prompt, LetterScorer(), AUDIO_E, k=45, alpha=0.0, beta=5.0, max_new_tokens=12,
                    stop_at_period=False)
    assert steered.token_ids != plain.token_ids
    assert share_of_e(steered) > share_of_e(plain) + 0.2
    assert max(steered.audio) > max(plain.audio)


def test_sentence_end_penalty_and_stop(lm, prompt):
    from workbench.captioning.decoding.lm import end_token_ids

    ends = end_token_ids(lm)
    assert lm.tokenizer.eos_token_id in ends and lm.tokenizer.convert_tokens_to_ids(".") in ends
    # A zero penalty over the whole run: no sentence end can win on probability alone.
    out = magic(lm, prompt, None, None, k=45, alpha=0.0, beta=0.0, min_length=12, eos_penalty=0.0,
                max_new_tokens=12, stop_at_period=True)
    assert out.tokens == 12 and not set(out.token_ids) & ends
    # Stopping: the run ends on the first sentence-end token and the caption keeps it.
    period = lm.tokenizer.convert_tokens_to_ids(".")
    ids = lm.tokenizer(" a dog", add_special_tokens=False).input_ids
    assert caption_text(lm.tokenizer, ids + [period] + ids, ends) == "a dog."
    assert caption_text(lm.tokenizer, ids + [lm.tokenizer.eos_token_id] + ids, ends) == "a dog"


def test_stop_at_period(lm, prompt):
    """With a scorer that loves full stops, MAGIC ends the caption on the first one."""

    class PeriodScorer:
        def text_logits(self, audio_embedding, texts):
            return np.array([10.0 * t.endswith(".") for t in texts])

    out = magic(lm, prompt, PeriodScorer(), None, k=45, alpha=0.0, beta=10.0, min_length=2, eos_penalty=0.0,
                max_new_tokens=12)
    assert out.tokens == 3 and out.text.endswith(".")


def test_one_forward_per_step(lm, prompt):
    """Per step: one forward over the k candidates (batch of k, or one sequence of k + 1), or — α = 0 with the
    shortcut — one 1-token forward of the winner."""
    shapes = []
    handle = lm.model.base_model.register_forward_pre_hook(
        lambda module, args, kwargs: shapes.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True)
    try:
        expected = {                          # after the prefill, 5 steps (the last winner is never run)
            ("batch", 0.1): [(45, 1)] * 5,
            ("tree", 0.1): [(1, 45)] + [(1, 46)] * 4,   # the previous winner goes in with the candidates
            ("batch", 0.0): [(1, 1)] * 4,
        }
        for (layout, alpha), steps in expected.items():
            shapes.clear()
            magic(lm, prompt, LetterScorer(), AUDIO_E, k=45, alpha=alpha, beta=0.5, max_new_tokens=5,
                  stop_at_period=False, layout=layout)
            assert shapes[1:] == steps, (layout, alpha)
    finally:
        handle.remove()


def test_protocol_and_errors(lm, prompt):
    assert isinstance(LetterScorer(), Scorer)
    with pytest.raises(WorkbenchError):
        magic(lm, prompt, LetterScorer(), AUDIO_E, k=0)
    with pytest.raises(WorkbenchError):
        magic(lm, prompt, LetterScorer(), AUDIO_E, alpha=1.5)
    with pytest.raises(WorkbenchError):
        magic(lm, prompt, None, None, beta=0.5)
    with pytest.raises(WorkbenchError):
        magic(lm, prompt, LetterScorer(), AUDIO_E, layout="sideways")
    with pytest.raises(WorkbenchError):
        greedy(lm, "")
