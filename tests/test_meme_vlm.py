"""The P5 vision-language model (``memes.vlm``) on a planted signal: the class is coded by the picture's colour
only (the texts are drawn from one pool for every class), so a projector into the tiny test LM's input space must
carry the colour to the class names' likelihoods; one trained on shuffled labels must not. Also: LoRA and
knowledge settings, the save/load round trip, the explanation check and one-line refusals."""
import numpy as np
import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench.memes.vision import ImageSide
from workbench.memes.vlm import MemeVLM, VLMConfig, explanation_check, run_vlm_grid, train_vlm, vlm_lm_name

CLASSES = ["benign", "satire", "abusive"]
COLOURS = np.array([[220, 30, 30], [30, 200, 30], [30, 30, 220]], np.uint8)
WORDS = "when the weekend finally arrives and the coffee machine works again at the office".split()
CONFIG = VLMConfig(setting="vlm", n_soft=2, hidden=32, epochs=4, lr=5e-3, batch_size=8, explain_tokens=6)


class ColourSide(ImageSide):
    """A stand-in image side: the picture's mean colour (centred) as its embedding; tags name the colour."""
    name, dim, vocabulary = "colour means (test)", 3, ["red", "green", "blue"]

    def embed_and_tag(self, images, batch_size: int = 64):
        emb = np.stack([im.reshape(-1, 3).mean(0) / 255.0 - 0.5 for im in images]).astype(np.float32)
        probs = np.eye(3, dtype=np.float32)[emb.argmax(1)]
        return emb * 4.0, probs


def memes(n: int, seed: int):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    images = [np.clip(COLOURS[c].astype(int) + rng.integers(-20, 21, (16, 16, 3)), 0, 255).astype(np.uint8)
              for c in y]
    texts = [" ".join(rng.choice(WORDS, 5)) for _ in range(n)]
    return images, texts, [CLASSES[c] for c in y]


@pytest.fixture(scope="module")
def lm():
    from workbench.models import load

    return load("tiny-llama")


@pytest.fixture(scope="module")
def trained(lm):
    images, texts, labels = memes(60, seed=0)
    return train_vlm(images, texts, labels, CLASSES, config=CONFIG, image_side=ColourSide(), lm=lm)


def accuracy(vlm, seed: int) -> float:
    images, texts, labels = memes(30, seed=seed)
    probs = vlm.probabilities(vlm.prepare(images, texts))
    assert probs.shape == (30, 3) and np.allclose(probs.sum(1), 1, atol=1e-4)
    return float(np.mean([CLASSES[j] == lab for j, lab in zip(probs.argmax(1), labels)]))


def test_colour_coded_class_is_learned_and_shuffled_labels_are_not(lm, trained):
    assert accuracy(trained, seed=1) >= 0.9
    assert trained.info["best_dev_macro_f1"] >= 0.8 and trained.info["dev_rows"] > 0   # chosen on train's dev
    images, texts, labels = memes(60, seed=0)
    shuffled = train_vlm(images, texts, list(np.random.default_rng(3).permutation(labels)), CLASSES, config=CONFIG,
                         image_side=ColourSide(), lm=lm)
    assert accuracy(shuffled, seed=1) < 0.7


def test_lora_with_knowledge_trains_adapters_and_round_trips(lm, tmp_path):
    from dataclasses import replace

    images, texts, labels = memes(24, seed=4)
    vlm = train_vlm(images, texts, labels, CLASSES, config=replace(CONFIG, setting="vlm+knowledge+lora", epochs=1),
                    image_side=ColourSide(), lm=lm)
    assert vlm.lm.model is not lm.model                                   # a private copy carries the adapters
    assert not any("lora_" in n for n, _ in lm.model.named_parameters())
    assert any("lora_" in n for n, _ in vlm.lm.model.named_parameters())
    assert vlm.models[-1].startswith("LoRA")
    folder = vlm.save(tmp_path / "vlm")
    assert {"vlm.json", "projector.safetensors", "lora.safetensors"} <= {p.name for p in folder.iterdir()}
    loaded = MemeVLM.load(folder, lm=lm, image_side=ColourSide())
    prep = vlm.prepare(images[:6], texts[:6])
    np.testing.assert_allclose(loaded.probabilities(prep), vlm.probabilities(prep), atol=1e-5)
    with pytest.raises(WorkbenchError) as err:
        from workbench.models import load

        MemeVLM.load(folder, lm=load("tiny-gpt2"), image_side=ColourSide())
    assert "tiny-llama" in str(err.value) and "\n" not in str(err.value)


def test_knowledge_goes_into_the_prompt_only_with_knowledge(lm, trained):
    from dataclasses import replace

    from workbench.memes.vlm import _row_text

    prep = replace(trained.config, setting="vlm+knowledge")
    from workbench.memes.knowledge import default_knowledge
    from workbench.memes.model import prepare

    p = prepare(ColourSide(), default_knowledge(), [memes(1, 0)[0][0]], ["the swastika flag again"], prep)
    assert p.triples[0], "the bundled lexicon should link a hate symbol"
    assert "Knowledge:" in _row_text(p.texts[0], p.triples[0], True)
    assert "Knowledge:" not in _row_text(p.texts[0], p.triples[0], False)


def test_grid_scores_beside_a_baseline_and_checks_explanations(trained):
    images, texts, labels = memes(9, seed=5)
    frame = pd.DataFrame({"id": [f"m{i}" for i in range(9)], "image": images, "text": texts, "label": labels})
    result = run_vlm_grid({"vlm": trained}, frame, CLASSES, explain=2, n_boot=50)
    row = result["metrics"].iloc[0]
    assert row["setting"] == "vlm" and row["kind"] == "VLM" and row["macro_f1_lo"] <= row["macro_f1"]
    check = result["explanations"][0]
    assert check["rows"] == 2 and 0.0 <= check["evidence_rate"] <= 1.0
    assert all(isinstance(x["explanation"], str) for x in check["examples"])


def test_explanation_check_counts_a_cited_word(trained, monkeypatch):
    images, texts, labels = memes(2, seed=6)
    frame = pd.DataFrame({"image": images, "text": ["coffee coffee weekend", "coffee again"], "label": labels[:2]})
    monkeypatch.setattr(MemeVLM, "word_importance", lambda self, im, t: [("coffee", 0.5), ("again", 0.0)])
    monkeypatch.setattr(MemeVLM, "rationales",
                        lambda self, ims, ts, ls: ["the coffee decides" if "weekend" in ts[0] else "nothing here"])
    check = explanation_check(trained, frame, limit=2)
    assert check["word_rate"] == 0.5 and check["evidence_rate"] == 0.5 and check["with_words"] == 2


def test_bad_images_and_texts_are_refused_in_one_line(trained):
    images, texts, _ = memes(1, seed=7)
    cases = [([np.zeros((16, 16), np.uint8)], texts, "RGB"), (images, ["   "], "empty"),
             (images, [" ".join(["word"] * 80)], "at most")]
    for ims, ts, needle in cases:
        with pytest.raises(WorkbenchError) as err:
            trained.prepare(ims, ts)
        assert needle in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(WorkbenchError, match="not among the classes"):
        train_vlm(images, texts, ["hateful"], CLASSES, config=CONFIG, image_side=ColourSide(), lm=trained.lm)
    with pytest.raises(WorkbenchError, match="unknown VLM setting"):
        VLMConfig(setting="lora")


def test_the_paper_profile_vlm_is_llava_style_and_a_missing_lm_is_one_line(tmp_path, monkeypatch):
    assert vlm_lm_name("default") == "smollm2-135m-instruct"
    assert vlm_lm_name("paper") == "mistral-7b-instruct-v0.3"          # with the profile's CLIP ViT-L/14
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(WorkbenchError) as err:
        vlm_lm_name("paper", check=True)
    assert "'mistral-7b-instruct-v0.3'" in str(err.value) and "hf download" in str(err.value)
    assert "\n" not in str(err.value)


def test_meme_eval_vlm_without_the_paper_lm_stops_before_training(tmp_path, capsys, monkeypatch):
    from workbench.cli.main import main

    def no_training(*a, **k):
        raise AssertionError("trained before stopping")

    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr("workbench.memes.ablation.run_ablation", no_training)
    assert main(["--profile", "paper", "meme", "eval", "--data", "synthetic", "--smoke", "--vlm"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert any("mistral-7b-instruct-v0.3" in line and "hf download" in line for line in err)


def test_the_training_subsample_is_stratified_seeded_and_optional():
    from workbench.memes.vlm import subsample

    rows = pd.DataFrame({"label": ["benign"] * 10 + ["satire"] * 7 + ["abusive"] * 2,
                         "text": list("abcdefghijklmnopqrs")})
    a, b = subsample(rows, 3, seed=0), subsample(rows, 3, seed=0)
    assert a.equals(b) and a["label"].value_counts().to_dict() == {"benign": 3, "satire": 3, "abusive": 2}
    assert list(a.index) == sorted(a.index)                      # original order kept
    assert not subsample(rows, 3, seed=1).equals(a)              # another seed, another draw
    assert subsample(rows, None, seed=0) is rows
    with pytest.raises(WorkbenchError, match="train_per_class"):
        subsample(rows, 0, seed=0)
