"""The audio-text scorer (P9): the distilled text tower, contrastive training, keywords, save/load."""
import numpy as np
import pytest

from workbench import WorkbenchError
from workbench.captioning.clap import ClapConfig, load_scorer, save_scorer, train_clap
from workbench.captioning.scorer import MAGIC_SCALE, keyword_scores, top_keywords
from workbench.captioning.synth import SoundCorpusConfig, load_vocabulary, sound_corpus
from workbench.captioning.text_student import StudentText, distillation_texts, text_features
from workbench.media.audio_encoders import CNNConfig
from workbench.media.audio import load_audio

SMALL = ClapConfig(audio=CNNConfig(channels=(8, 16, 32), dim=64, max_seconds=2.0), dim=64, epochs=30)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    corpus = sound_corpus(SoundCorpusConfig(n_per_class=8, mixtures=4, seconds=2.0, seed=7),
                          root=tmp_path_factory.mktemp("sounds"))
    scorer, history = train_clap(corpus[corpus["split"] == "train"], SMALL)
    return corpus, scorer, history


def test_features_are_hashed_normalised_and_memoised():
    x = text_features(["A siren wails", "", "a SIREN wails!"])
    assert x.shape[0] == 3 and x[1].nnz == 0
    np.testing.assert_allclose((x[0].multiply(x[0])).sum(), 1.0, rtol=1e-5)
    assert (x[0] != x[2]).nnz == 0                                   # case and punctuation do not matter


def test_student_learns_a_linear_map_and_generalises_to_prefixes():
    rng = np.random.default_rng(0)
    texts = distillation_texts(["a dog barks loudly in the yard", "rain falls on a tin roof"], ["Dog", "Rain"])
    assert "a dog barks" in texts and "This is a sound of dog." in texts
    target = np.asarray(text_features(texts) @ rng.normal(size=(text_features(["x"]).shape[1], 8)))
    student = StudentText.fit(texts, target, ridge=1e-6)
    out = student.encode(texts)
    cos = (out * (target / np.linalg.norm(target, axis=1, keepdims=True))).sum(1)
    assert cos.min() > 0.99                                          # an exactly linear target is recovered


def test_training_aligns_clips_with_their_words(trained):
    corpus, scorer, history = trained
    assert history[-1] < 0.6 * history[0]
    held = corpus[corpus["split"] == "eval"]
    emb = scorer.embed_audio([load_audio(p) for p in held["path"]])
    assert emb.shape == (len(held), SMALL.dim) and np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-4)
    vocab = load_vocabulary()
    sims = keyword_scores(scorer, emb, vocab)
    hits = [bool(set(vocab[j] for j in np.argsort(-sims[i])[:3]) & set(labels))
            for i, labels in enumerate(held["labels"])]
    chance = 3 * np.mean([len(ls) for ls in held["labels"]]) / len(vocab)
    assert np.mean(hits) >= 0.8 and chance < 0.1                  # held-out clips, 194-word vocabulary (issue: ≥ 80 %)
    own = [scorer.similarity(emb[i:i + 1], scorer.embed_text(list(c)))[0].mean()
           for i, c in enumerate(held["captions"])]
    other = [scorer.similarity(emb[i:i + 1], scorer.embed_text(list(held["captions"].iloc[(i + 1) % len(held)])))[0]
             .mean() for i in range(len(held)) if held["class"].iloc[(i + 1) % len(held)] != held["class"].iloc[i]]
    assert np.mean(own) > np.mean(other)
    logits = scorer.text_logits(emb[0], ["a siren", "rain"])
    np.testing.assert_allclose(logits, MAGIC_SCALE * scorer.embed_text(["a siren", "rain"]) @ emb[0], rtol=1e-5)
    top = top_keywords(scorer, emb[0], vocab, l=3)
    assert [t["keyword"] for t in top] == [vocab[j] for j in np.argsort(-sims[0], kind="stable")[:3]]
    assert top_keywords(scorer, emb[0], vocab, l=0) == []
    with pytest.raises(WorkbenchError, match="≥ 0"):
        top_keywords(scorer, emb[0], vocab, l=-1)


def test_save_and_load_round_trip(trained, tmp_path):
    corpus, scorer, _ = trained
    save_scorer(scorer, tmp_path / "clap")
    again = load_scorer(tmp_path / "clap")
    audio = [load_audio(corpus["path"].iloc[0])]
    np.testing.assert_allclose(again.embed_audio(audio), scorer.embed_audio(audio), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(again.embed_text(["wind blows"]), scorer.embed_text(["wind blows"]), rtol=1e-5,
                               atol=1e-6)
    assert again.name == scorer.name
    assert {p.name for p in (tmp_path / "clap").iterdir()} == {"clap.json", "clap.safetensors", "student.json",
                                                               "student.safetensors"}
    with pytest.raises(WorkbenchError, match="no clap.json"):
        load_scorer(tmp_path)
    (tmp_path / "clap" / "student.json").unlink()                   # an older layout is refused, never misread
    with pytest.raises(WorkbenchError, match="student.json"):
        load_scorer(tmp_path / "clap")
    with pytest.raises(WorkbenchError, match="at least two clips"):
        train_clap(corpus.head(1), SMALL)


def test_hf_clap_scorer_on_a_tiny_random_clap():
    """The paper profile's scorer (a transformers ClapModel, LAION-CLAP layout) on a tiny random-weight model built
    from the same architecture config; a stand-in processor pairs its feature extractor with a character tokenizer."""
    import torch
    from transformers import BatchFeature, ClapConfig as HFClapConfig, ClapFeatureExtractor, ClapModel

    from workbench.captioning.clap import HFClapScorer

    config = HFClapConfig(text_config=dict(vocab_size=130, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                           intermediate_size=64, max_position_embeddings=64),
                          audio_config=dict(spec_size=256, window_size=8, num_mel_bins=64, patch_stride=(4, 4),
                                            patch_embeds_hidden_size=16, depths=[1, 1], num_attention_heads=[2, 2],
                                            hidden_size=32, enable_fusion=False), projection_dim=16)
    torch.manual_seed(0)
    model = ClapModel(config)
    features = ClapFeatureExtractor(feature_size=64, sampling_rate=48000, hop_length=480, max_length_s=2,
                                    truncation="rand_trunc", padding="repeatpad")

    class Processor:
        feature_extractor = features

        def __call__(self, audio=None, text=None, sampling_rate=None, return_tensors="pt", padding=True):
            if audio is not None:
                return features(audio, sampling_rate=sampling_rate, return_tensors=return_tensors)
            ids = [[0] + [min(ord(c), 127) for c in t][:40] + [2] for t in text]
            width = max(map(len, ids))
            return BatchFeature({"input_ids": torch.tensor([i + [1] * (width - len(i)) for i in ids]),
                                 "attention_mask": torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i in ids])})

    scorer = HFClapScorer(model, Processor(), "tiny-clap")
    assert scorer.rate == 48000
    rng = np.random.default_rng(0)
    audio = scorer.embed_audio([rng.normal(size=16000).astype(np.float32) * 0.1,
                                np.sin(np.linspace(0, 800, 16000)).astype(np.float32) * 0.3])
    text = scorer.embed_text(["a siren wails", "rain"])
    assert audio.shape == (2, 16) and text.shape == (2, 16)
    assert np.allclose(np.linalg.norm(audio, axis=1), 1, atol=1e-5) and not np.allclose(audio[0], audio[1])
    np.testing.assert_allclose(scorer.text_logits(audio[0], ["a siren wails", "rain"]), MAGIC_SCALE * text @ audio[0],
                               rtol=1e-4, atol=1e-5)
