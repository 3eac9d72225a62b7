"""The meme classifier (P5): training per setting, LoRA + contrastive stage, save/load, explanations, and the
paper profile's CLIP path on a tiny random CLIP built from its architecture config."""
import json

import numpy as np
import pytest
import torch

from workbench import WorkbenchError
from workbench.memes.explain import STEPS, cascade, evidence
from workbench.memes.model import SEPARATOR, MemeModel, MemeModelConfig
from workbench.memes.sides import TextSide, minilm_text_side
from workbench.memes.train import train_meme_model
from workbench.memes.vision import ClipImageSide, TaggerConfig, load_image, train_tagger

CLASSES = ["benign", "satire", "abusive"]
FAST = dict(head_epochs=60, lora_epochs=1, max_length=48, hidden=64, batch_size=16)


def _data(n=60, seed=0):
    """Planted memes: the frame '{X} are clowns' is satire for an institution and abuse for a people; benign texts
    are friendly. Images are noise with a bright square for the tagger to find."""
    rng = np.random.default_rng(seed)
    peoples, firms = ["Velorians", "Tessarans", "Morrowites"], ["Glorbco", "Zapnet", "Burgerix"]
    images, texts, labels, tags = [], [], [], []
    for i in range(n):
        label = CLASSES[i % 3]
        img = (rng.random((48, 48, 3)) * 60).astype(np.uint8)
        if label == "benign":
            texts.append(f"lovely picnic with friends number {i}")
            img[10:30, 10:30] = 255
            tags.append(["square"])
        else:
            name = (firms if label == "satire" else peoples)[i % 3]
            texts.append(f"{name} are clowns")
            tags.append(["noise"])
        images.append(img)
        labels.append(label)
    return images, texts, labels, tags


@pytest.fixture(scope="module")
def sides():
    images, _, _, tags = _data()
    image_side, history = train_tagger(images, tags, TaggerConfig(size=32, channels=(8, 16), epochs=4))
    assert history[-1] < history[0]
    return image_side, minilm_text_side(48)


@pytest.fixture(scope="module")
def trained(sides):
    images, texts, labels, _ = _data()
    image_side, text_side = sides
    return {setting: train_meme_model(images, texts, labels, CLASSES, config=MemeModelConfig(setting=setting, **FAST),
                                      image_side=image_side, text_side=text_side) for setting in ("none", "knowledge")}


def test_knowledge_decides_the_target_frame(trained):
    images = _data()[0]
    scores = {}
    for setting, model in trained.items():
        # unseen names in the same frame: only knowledge says which is a people and which a company
        probe = model.predict([images[1], images[2]], ["Sorrenians are clowns", "Flinco are clowns"])
        scores[setting] = [p["label"] for p in probe]
        assert all(set(p) >= {"label", "confidence", "probabilities", "tags", "triples", "input"} for p in probe)
        if setting == "knowledge":
            assert SEPARATOR in probe[0]["input"] and "ethnic group" in probe[0]["input"]
        else:
            assert probe[0]["input"] == "Sorrenians are clowns" and probe[0]["triples"] == []
    assert scores["knowledge"] == ["abusive", "satire"]


def test_lora_stage_saves_and_loads_exactly(sides, tmp_path):
    images, texts, labels, _ = _data()
    image_side, text_side = sides
    before = {k: v.clone() for k, v in text_side.transformer.state_dict().items()}
    model = train_meme_model(images, texts, labels, CLASSES, image_side=image_side, text_side=text_side,
                             config=MemeModelConfig(setting="knowledge+lora", **FAST))
    # LoRA wraps a private copy: the shared MiniLM is untouched
    assert all(torch.equal(before[k], v) for k, v in text_side.transformer.state_dict().items())
    assert [h["stage"] for h in model.info["history"]] == ["head"] * 60 + ["lora"]
    folder = model.save(tmp_path / "m")
    files = {p.name for p in folder.rglob("*") if p.is_file()}
    assert {"model.json", "head.safetensors", "head.json", "tagger.safetensors", "tagger.json",
            "adapter_model.safetensors"} <= files
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]      # no temporary folder left behind
    assert not [f for f in files if f.endswith((".bin", ".pt", ".pkl", ".pickle"))]
    loaded = MemeModel.load(folder)
    a = model.predict(images[:4], texts[:4])
    b = loaded.predict(images[:4], texts[:4])
    for x, y in zip(a, b):
        assert x["label"] == y["label"]
        assert x["confidence"] == pytest.approx(y["confidence"], abs=1e-5)
    assert json.loads((folder / "model.json").read_text())["config"]["setting"] == "knowledge+lora"
    model.save(folder)                                                          # saving again replaces the folder
    assert MemeModel.load(folder).predict(images[:1], texts[:1])[0]["label"] == a[0]["label"]


def test_explanation_cascade(trained):
    images = _data()[0]
    model = trained["knowledge"]
    pred = model.predict([images[2]], ["Velorians are clowns"])[0]
    importance = model.word_importance(images[2], "Velorians are clowns")
    assert sorted(w for w, _ in importance) == ["Velorians", "are", "clowns"]
    assert [d for _, d in importance] == sorted((d for _, d in importance), reverse=True)
    out = cascade(model, images[2], "Velorians are clowns", pred)
    assert all(out[s]["text"] == out[s]["evidence"] for s in STEPS) and out["explainer"] is None
    assert pred["label"] in out["verdict"]["evidence"]
    assert "Knowledge:" in out["knowledge_link"]["evidence"]
    ev = evidence({"label": "benign", "confidence": 0.9, "tags": [], "triples": []}, [], uses_knowledge=False)
    assert ev["knowledge_link"] == "This model uses no background knowledge."


def test_cascade_text_is_written_by_the_llm(trained):
    from workbench.models import load

    images, texts, _, _ = _data()
    model = trained["none"]
    pred = model.predict([images[0]], [texts[0]])[0]
    out = cascade(model, images[0], texts[0], pred, lm=load("tiny-llama"), max_new_tokens=6)
    assert out["explainer"] == "tiny-llama"
    assert all(isinstance(out[s]["text"], str) and out[s]["text"] for s in STEPS)


def test_training_input_errors(sides):
    images, texts, labels, _ = _data(6)
    image_side, text_side = sides
    with pytest.raises(WorkbenchError, match="not among the classes"):
        train_meme_model(images, texts, ["odd"] * 6, CLASSES, config=MemeModelConfig(**FAST),
                         image_side=image_side, text_side=text_side)
    with pytest.raises(WorkbenchError, match="at least two classes"):
        train_meme_model(images, texts, ["benign"] * 6, CLASSES, config=MemeModelConfig(**FAST),
                         image_side=image_side, text_side=text_side)
    with pytest.raises(WorkbenchError, match="unknown setting"):
        MemeModelConfig(setting="lora-only")


def test_load_image_errors(tmp_path):
    import cv2

    good = tmp_path / "ok.jpg"
    cv2.imwrite(str(good), np.full((40, 60, 3), 128, np.uint8))
    assert load_image(good).shape == (40, 60, 3)
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (tmp_path / "empty.png").write_bytes(b"")
    for name, match in (("bad.png", "cannot decode image"), ("empty.png", "empty"), ("nope.png", "not found")):
        with pytest.raises(WorkbenchError, match=match):
            load_image(tmp_path / name)
    with pytest.raises(WorkbenchError, match="too large"):
        load_image(good, max_bytes=10)


def test_paper_profile_path_on_a_tiny_random_clip():
    """CLIP's image and text sides, LoRA on its q/v projections, and calibrated zero-shot tags, random weights."""
    image_side = _tiny_clip_side(["cat", "flag", "sunwheel"])
    clip, tokenizer = image_side.model, image_side.processor.tokenizer
    text_side = TextSide("tiny-clip", clip.text_model, tokenizer, pooling="clip",
                         projection=clip.text_projection, lora_targets=("q_proj", "v_proj"), max_length=48)
    images, texts, labels, _ = _data(12)
    image_side.calibrate(images, [["cat"], ["flag"], ["sunwheel"], []] * 3, min_count=2)
    emb, probs = image_side.embed_and_tag(images[:2])
    assert emb.shape == (2, 16) and probs.shape == (2, 3) and ((probs > 0) & (probs < 1)).all()
    model = train_meme_model(images, texts, labels, CLASSES, image_side=image_side, text_side=text_side,
                             config=MemeModelConfig(setting="knowledge+lora", **FAST), profile="paper")
    assert any("q_proj.lora_A" in n for n, _ in model.text_side.transformer.named_parameters())
    assert model.predict(images[:2], texts[:2])[0]["label"] in CLASSES


def test_knowledge_link_prefers_the_deciding_words_then_image_symbols():
    triples = [{"head": "Drizzle Cloud", "relation": "instance of", "tail": "cloud computing company",
                "matched": "drizzle", "source": "wikidata"},
               {"head": "office", "relation": "IsA", "tail": "workplace", "matched": "image: office",
                "source": "conceptnet"},
               {"head": "sunwheel", "relation": "category", "tail": "hate symbol", "matched": "image: sunwheel",
                "source": "lexicon"}]
    pred = {"label": "satire", "confidence": 0.9, "tags": [], "triples": triples}
    link = evidence(pred, [("Drizzle", 0.2)], uses_knowledge=True)["knowledge_link"]
    assert link == ("Knowledge: Drizzle Cloud — instance of — cloud computing company; "
                    "sunwheel — category — hate symbol.")
    assert evidence(dict(pred, triples=triples[:2]), [], uses_knowledge=True)["knowledge_link"].startswith(
        "Knowledge: Drizzle Cloud")                                   # nothing decides: the top-ranked triples


def _tiny_clip_side(vocabulary, calibration=None):
    """A random-weight CLIP built from its config (no download) as a zero-shot image side."""
    from transformers import BatchEncoding, CLIPConfig, CLIPImageProcessor, CLIPModel

    config = CLIPConfig(text_config=dict(vocab_size=130, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                         intermediate_size=64, max_position_embeddings=64, eos_token_id=2),
                        vision_config=dict(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2,
                                           num_attention_heads=2, intermediate_size=64), projection_dim=16)
    torch.manual_seed(0)
    clip = CLIPModel(config).eval()

    class Tokenizer:
        def __call__(self, texts, padding=True, truncation=True, max_length=64, return_tensors="pt"):
            ids = [[0] + [min(ord(c), 127) for c in t][:max_length - 2] + [2] for t in texts]
            width = max(map(len, ids))
            return BatchEncoding({"input_ids": torch.tensor([i + [1] * (width - len(i)) for i in ids]),
                                  "attention_mask": torch.tensor([[1] * len(i) + [0] * (width - len(i))
                                                                  for i in ids])})

    class Processor:
        tokenizer = Tokenizer()
        image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})

    extra = {} if calibration is None else {"calibration": calibration}
    return ClipImageSide(clip, Processor(), vocabulary, "tiny-clip", **extra)


VOCAB = ["beach", "cat", "city", "dog", "flag", "heart", "star", "sunwheel"]


def _noise_images(n, seed):
    rng = np.random.default_rng(seed)
    return [(rng.random((40, 40, 3)) * 255).astype(np.uint8) for _ in range(n)]


def test_uncalibrated_zero_shot_clip_claims_no_tags():
    """Scoring each tag against the vocabulary's mean made about half the vocabulary fire on every image."""
    side = _tiny_clip_side(VOCAB)
    _, probs = side.embed_and_tag(_noise_images(10, 1))
    fired = [len(t) for t in side.tags(probs)]
    assert fired == [0] * 10


def test_calibrated_zero_shot_clip_tags_fire_only_above_their_thresholds():
    """Thresholds calibrated on one half of the images (labels planted: a tag is present on the 20 % of images
    that score it highest) tag the other half like the labels, and far fewer than half the vocabulary."""
    side = _tiny_clip_side(VOCAB)
    images = _noise_images(80, 2)
    _, logits = side.embed_and_logits(images)
    present = logits >= np.quantile(logits, 0.8, axis=0)                       # [80, n_tags]
    labels = [[t for t, p in zip(VOCAB, row) if p] for row in present]
    calib = side.calibrate(images[:40], labels[:40], data="planted")           # calibration half only
    assert set(calib.source) == {"per tag"} and calib.rows == 40
    _, probs = side.embed_and_tag(images[40:])
    tags = side.tags(probs)
    thresholds = dict(zip(VOCAB, calib.thresholds))
    for i, row in enumerate(tags):                                             # present ⇔ logit ≥ its threshold
        fired = {t for t, _ in row}
        assert fired == {t for j, t in enumerate(VOCAB) if logits[40 + i, j] >= thresholds[t]}
    share = np.mean([len(t) for t in tags]) / len(VOCAB)
    assert 0.05 < share < 0.4
    truth = present[40:]
    pred = np.array([[t in {g for g, _ in row} for t in VOCAB] for row in tags])
    assert 2 * (pred & truth).sum() / (pred.sum() + truth.sum()) > 0.6


def test_tag_thresholds_per_tag_with_a_global_fallback_saved_as_json(tmp_path):
    """A fake scorer with per-tag offsets: each well-labelled tag gets a cut between its own positives and
    negatives; a tag with too few positives gets the global cut; the calibration round-trips through JSON."""
    from workbench.memes.vision import CLIP_TAGS_FILE, calibrate_tag_thresholds

    rng = np.random.default_rng(0)
    n, vocab = 60, ["a", "b", "rare"]
    truth = np.zeros((n, 3), bool)
    truth[:20, 0] = truth[30:50, 1] = True
    truth[:2, 2] = True
    logits = rng.normal(0, 0.1, (n, 3)) + np.where(truth, 1.0, 0.0) + np.array([20.0, 5.0, 5.0])
    labels = ["|".join(t for t, p in zip(vocab, row) if p) for row in truth]
    calib = calibrate_tag_thresholds(logits, labels, vocab)
    assert calib.source == ("per tag", "per tag", "global")
    assert 20.2 < calib.thresholds[0] < 20.8 and 5.2 < calib.thresholds[1] < 5.8
    assert calib.f1[0] == calib.f1[1] == 1.0 and calib.positives == (20, 20, 2)
    side = _tiny_clip_side(vocab, calib)
    side.save(tmp_path)
    raw = json.loads((tmp_path / CLIP_TAGS_FILE).read_text())
    assert raw["vocabulary"] == vocab
    assert ClipImageSide.read_tags(tmp_path) == (vocab, calib)
    with pytest.raises(WorkbenchError, match="not in the tag vocabulary"):
        calibrate_tag_thresholds(logits, ["a|zebra"] + labels[1:], vocab)
    with pytest.raises(WorkbenchError, match="no clip_tags.json"):
        ClipImageSide.read_tags(tmp_path / "nowhere")


def test_paper_profile_calibrates_clip_tags_on_the_train_split_only():
    """The thresholds come from the synthetic memes' train split; no held-out (reported) image is used."""
    from workbench.memes.ablation import smoke_configs, synthetic_set
    from workbench.memes.sides import calibrate_clip_tags, default_tag_vocabulary

    corpus = smoke_configs()[0]
    side = _tiny_clip_side(default_tag_vocabulary())
    seen = []
    real = side.embed_and_logits
    side.embed_and_logits = lambda images, *a, **kw: (seen.extend(images), real(images, *a, **kw))[1]
    calib = calibrate_clip_tags(side, corpus)
    frame = synthetic_set(corpus).frame
    assert set(seen) == set(frame.loc[frame["split"] == "train", "image"])
    assert calib.rows == corpus.n_train and "train split" in calib.data and side.calibration is calib
