"""Audio-text scorers for zero-shot captioning (P9): one interface, a small model trained here or a real CLAP.

Interface (``AudioTextScorer``): ``embed_audio(audios) -> [N, D]`` and ``embed_text(texts) -> [N, D]``, both
L2-normalised; ``similarity(a, t) = scale · cos`` with the model's own logit scale; ``text_logits(audio_embedding,
texts)`` = ``MAGIC_SCALE · cos`` (the audio port of MAGIC fixes the CLAP logit scale at 10) — what the decoder
calls once per step for its k candidate continuations.

**Default profile** [ours]: ``TinyClap`` — an audio tower (the log-mel CNN of ``workbench.deepfake.encoders``, 64
mel bands, 16 kHz, clips cut or padded to ``max_seconds``) and a text tower, each followed by a linear projection
into a shared ``dim``-wide space, trained with the symmetric InfoNCE loss (CLIP/CLAP) on the synthetic sound corpus
(``workbench.captioning.sounds``): each clip is paired with one of its reference captions or one of its label
keywords, drawn anew every epoch; other clips with the same label set are not treated as negatives.

The text tower is **distilled from MiniLM** (all-MiniLM-L6-v2, the sentence encoder shipped in a wheel) [ours]:
MAGIC scores k = 45 candidate continuations at every generated token, and MiniLM takes tens to hundreds of
milliseconds for 45 texts on a CPU — more than the LM step itself. The student maps hashed word uni- and bigrams
and character 3–5-grams (``HASH_DIM`` buckets, sublinear TF, L2-normalised) linearly onto MiniLM's 384-d
embedding, fitted by ridge regression (dual form) on a distillation corpus of the corpus captions, the vocabulary
keywords, keyword prompts ("This is a sound of …") and word prefixes of the captions (the partial sentences MAGIC
scores). It encodes 45 texts in about a millisecond. ``ClapConfig.text="minilm"`` trains on MiniLM itself instead.

**Paper profile**: ``HFClapScorer`` wraps a transformers ``ClapModel`` + ``ClapProcessor`` from the local cache
(LAION-CLAP ``laion/clap-htsat-unfused``; any CLAP checkpoint in the transformers layout), 48 kHz input.

Trained scorers are cached under ``$WORKBENCH_HOME/models/clap/`` keyed by the corpus and model configuration;
weights are safetensors, configuration JSON.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import uuid
import zlib
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from workbench import WorkbenchError
from workbench.deepfake.encoders import CNNConfig, LogMelCNN, logmels

SR = 16000
MAGIC_SCALE = 10.0
HASH_DIM = 2 ** 14
PROMPTS = ("This is a sound of {}.", "The sound of {}.", "{}", "A recording of {}.")


class AudioTextScorer:
    """The interface every scorer follows (see the module docstring)."""

    name: str = "scorer"
    logit_scale: float = 1.0

    def embed_audio(self, audios: list[np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def embed_text(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def similarity(self, audio_embeddings: np.ndarray, text_embeddings: np.ndarray) -> np.ndarray:
        return self.logit_scale * np.asarray(audio_embeddings) @ np.asarray(text_embeddings).T

    def text_logits(self, audio_embedding: np.ndarray, texts: list[str]) -> np.ndarray:
        """``MAGIC_SCALE`` · cos(audio, text) for each text: MAGIC's audio term, before its softmax over the k."""
        return MAGIC_SCALE * (self.embed_text(list(texts)) @ np.asarray(audio_embedding, np.float32).reshape(-1))


# --------------------------------------------------------------------------------------------- text student

_WORD = re.compile(r"[a-z0-9']+")


def _bucket(token: str) -> int:
    return zlib.crc32(token.encode()) % HASH_DIM


@lru_cache(maxsize=200_000)
def _word_buckets(word: str) -> tuple[int, ...]:
    """The word's own bucket and its character 3–5-grams' (with boundary marks), memoised: MAGIC featurises the
    same prefix words at every step."""
    padded = f"<{word}>"
    grams = [word] + [padded[j:j + n] for n in (3, 4, 5) for j in range(len(padded) - n + 1)]
    return tuple(_bucket(g) for g in grams)


def text_features(texts: list[str]):
    """Sparse [N, HASH_DIM] features (scipy CSR): hashed word uni/bigrams and char 3–5-grams, 1 + log tf, L2."""
    from scipy.sparse import csr_matrix

    rows, cols, vals = [], [], []
    for i, text in enumerate(texts):
        words = _WORD.findall(str(text).lower())
        counts: dict[int, float] = {}
        for w in words:
            for b in _word_buckets(w):
                counts[b] = counts.get(b, 0.0) + 1.0
        for a, b in zip(words, words[1:]):
            k = _bucket(f"{a} {b}")
            counts[k] = counts.get(k, 0.0) + 1.0
        if not counts:
            continue
        v = 1.0 + np.log(np.fromiter(counts.values(), float, len(counts)))
        v /= np.linalg.norm(v)
        rows += [i] * len(counts)
        cols += list(counts)
        vals += v.tolist()
    return csr_matrix((np.array(vals, np.float32), (rows, cols)), shape=(len(texts), HASH_DIM))


class StudentText:
    """Hashed n-gram features → MiniLM's embedding space (a linear map fitted by ridge regression)."""

    def __init__(self, weight: np.ndarray):
        self.weight = np.asarray(weight, np.float32)              # [HASH_DIM, 384]

    @property
    def dim(self) -> int:
        return int(self.weight.shape[1])

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.asarray(text_features(texts) @ self.weight, np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-8)

    @classmethod
    def fit(cls, texts: list[str], targets: np.ndarray, ridge: float = 0.1) -> "StudentText":
        """W = Xᵀ (X Xᵀ + λI)⁻¹ Y (the dual form: the corpus has far fewer texts than features)."""
        x = text_features(texts)
        gram = (x @ x.T).toarray().astype(np.float64)
        alpha = np.linalg.solve(gram + ridge * np.eye(len(texts)), np.asarray(targets, np.float64))
        return cls(np.asarray(x.T @ alpha, np.float32))


def distillation_texts(captions: list[str], vocabulary: list[str]) -> list[str]:
    """The texts the student learns MiniLM on: captions, their word prefixes (≥ 2 words), keywords and prompts."""
    texts = list(dict.fromkeys(captions))
    for c in list(texts):
        words = c.split()
        texts += [" ".join(words[:k]) for k in range(2, len(words))]
    for kw in vocabulary:
        texts += [p.format(kw.lower()) if "{}" in p else p for p in PROMPTS]
    return list(dict.fromkeys(t for t in texts if t.strip()))


# --------------------------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class ClapConfig:
    audio: CNNConfig = field(default_factory=lambda: CNNConfig(max_seconds=3.0))
    text: str = "student"              # "student" (distilled, fast) or "minilm"
    dim: int = 128
    epochs: int = 60
    lr: float = 2e-3
    batch_size: int = 32
    ridge: float = 0.1
    keyword_share: float = 0.4         # how often a clip is paired with one of its keywords instead of a caption
    seed: int = 0

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]

    @classmethod
    def from_dict(cls, raw: dict) -> "ClapConfig":
        raw = dict(raw)
        audio = dict(raw.pop("audio"))
        audio["channels"] = tuple(audio["channels"])
        return cls(audio=CNNConfig(**audio), **raw)


class TinyClap(nn.Module):
    def __init__(self, config: ClapConfig, text_dim: int = 384):
        super().__init__()
        self.config = config
        self.audio = LogMelCNN(config.audio)
        self.audio_proj = nn.Linear(config.audio.dim, config.dim)
        self.text_proj = nn.Sequential(nn.Linear(text_dim, config.dim), nn.GELU(), nn.Linear(config.dim, config.dim))
        self.log_scale = nn.Parameter(torch.tensor(float(np.log(1 / 0.07))))

    def audio_embed(self, mels: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.audio_proj(self.audio(mels)), dim=1)

    def text_embed(self, features: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.text_proj(features), dim=1)


class ClapScorer(AudioTextScorer):
    """A trained ``TinyClap`` with its text front end (the student or MiniLM)."""

    def __init__(self, model: TinyClap, text_encoder, name: str):
        self.model, self.text_encoder, self.name = model.eval(), text_encoder, name

    @property
    def logit_scale(self) -> float:
        return float(self.model.log_scale.detach().exp())

    @property
    def models(self) -> list[str]:
        return [self.name, "minilm-l6 (distilled)" if isinstance(self.text_encoder, StudentText) else "minilm-l6"]

    @torch.inference_mode()
    def embed_audio(self, audios: list[np.ndarray]) -> np.ndarray:
        if not len(audios):
            return np.zeros((0, self.model.config.dim), np.float32)
        return self.model.audio_embed(logmels(list(audios), self.model.config.audio)).numpy()

    @torch.inference_mode()
    def embed_text(self, texts: list[str]) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, self.model.config.dim), np.float32)
        feats = torch.tensor(self.text_encoder.encode(list(texts)), dtype=torch.float32)
        return self.model.text_embed(feats).numpy()


class _MiniLMText:
    def __init__(self):
        from workbench.models import load

        self.encoder = load("minilm-l6")

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.encoder.encode(list(texts), normalize=True), np.float32)


def train_clap(manifest, config: ClapConfig | None = None, *, vocabulary: list[str] | None = None,
               progress=None) -> tuple[ClapScorer, list[float]]:
    """Train a ``TinyClap`` on the manifest's clips (``path``, ``captions``, ``labels``); (scorer, loss per epoch)."""
    from workbench.captioning.sounds import load_vocabulary
    from workbench.deepfake.media import load_audio

    config = config or ClapConfig()
    report = progress or (lambda f, m: None)
    rows = manifest.reset_index(drop=True)
    if len(rows) < 2:
        raise WorkbenchError("training the audio-text model needs at least two clips")
    vocabulary = vocabulary or load_vocabulary()
    minilm = _MiniLMText()
    if config.text == "student":
        report(0.02, "distilling MiniLM into the fast text encoder")
        texts = distillation_texts([c for cs in rows["captions"] for c in cs], vocabulary)
        text_encoder = StudentText.fit(texts, minilm.encode(texts), ridge=config.ridge)
    elif config.text == "minilm":
        text_encoder = minilm
    else:
        raise WorkbenchError(f"unknown text tower {config.text!r}; use student or minilm")
    report(0.1, "log-mel features")
    mels = logmels([load_audio(p, sr=SR) for p in rows["path"]], config.audio)
    pairs = [list(cs) for cs in rows["captions"]]
    keywords = [list(ls) for ls in rows["labels"]]
    all_texts = list(dict.fromkeys([t for cs in pairs for t in cs] + [k for ks in keywords for k in ks]))
    text_feats = torch.tensor(text_encoder.encode(all_texts), dtype=torch.float32)
    index = {t: i for i, t in enumerate(all_texts)}
    groups = [tuple(sorted(ls)) for ls in keywords]
    same = torch.tensor([[a == b for b in groups] for a in groups])
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = TinyClap(config, text_feats.shape[1])
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    history = []
    for epoch in range(config.epochs):
        model.train()
        order = rng.permutation(len(rows))
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            idx = order[start:start + config.batch_size]
            if len(idx) < 2:
                continue
            chosen = [keywords[i][rng.integers(len(keywords[i]))] if keywords[i] and rng.random() <
                      config.keyword_share else pairs[i][rng.integers(len(pairs[i]))] for i in idx]
            a = model.audio_embed(mels[idx])
            t = model.text_embed(text_feats[[index[c] for c in chosen]])
            logits = model.log_scale.exp().clamp(max=100) * a @ t.T
            mask = same[idx][:, idx] & ~torch.eye(len(idx), dtype=torch.bool)      # same label set: not a negative
            logits = logits.masked_fill(mask, float("-inf"))
            target = torch.arange(len(idx))
            loss = (nn.functional.cross_entropy(logits, target) + nn.functional.cross_entropy(logits.T, target)) / 2
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        history.append(total / len(rows))
        report(0.15 + 0.85 * (epoch + 1) / config.epochs, f"epoch {epoch + 1}: loss {history[-1]:.3f}")
    scorer = ClapScorer(model.eval(), text_encoder, f"tiny-clap-{config.key()}")
    return scorer, history


def save_scorer(scorer: ClapScorer, folder) -> Path:
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in scorer.model.state_dict().items()}, str(folder / "clap.safetensors"))
    if isinstance(scorer.text_encoder, StudentText):
        from safetensors.numpy import save_file as save_np

        save_np({"weight": scorer.text_encoder.weight}, str(folder / "student.safetensors"))
    meta = {"config": asdict(scorer.model.config), "name": scorer.name,
            "text_dim": int(scorer.model.text_proj[0].in_features)}
    (folder / "clap.json").write_text(json.dumps(meta, indent=2) + "\n")
    return folder


def load_scorer(folder) -> ClapScorer:
    from safetensors.numpy import load_file as load_np
    from safetensors.torch import load_file

    folder = Path(folder)
    if not (folder / "clap.json").is_file():
        raise WorkbenchError(f"{folder}: no clap.json; train the audio-text model first")
    meta = json.loads((folder / "clap.json").read_text())
    config = ClapConfig.from_dict(meta["config"])
    model = TinyClap(config, meta["text_dim"])
    model.load_state_dict(load_file(str(folder / "clap.safetensors")))
    text = StudentText(load_np(str(folder / "student.safetensors"))["weight"]) if config.text == "student" \
        else _MiniLMText()
    return ClapScorer(model, text, meta["name"])


def default_scorer_folder(*, corpus=None, config: ClapConfig | None = None) -> Path:
    """Where ``default_scorer`` caches the scorer of these configurations (the dashboard loads it from here
    without training)."""
    from workbench.captioning.sounds import SoundCorpusConfig
    from workbench.paths import models_dir

    corpus, config = corpus or SoundCorpusConfig(), config or ClapConfig()
    return models_dir() / "clap" / f"tiny-clap-{corpus.key()}-{config.key()}"


def default_scorer(*, corpus=None, config: ClapConfig | None = None, progress=None) -> ClapScorer:
    """The default profile's scorer, trained on the synthetic corpus's train split once and cached."""
    from workbench.captioning.sounds import SoundCorpusConfig, sound_corpus

    corpus, config = corpus or SoundCorpusConfig(), config or ClapConfig()
    folder = default_scorer_folder(corpus=corpus, config=config)
    if not (folder / "clap.json").is_file():
        report = progress or (lambda f, m: None)
        manifest = sound_corpus(corpus, progress=lambda f, m: report(0.3 * f, m))
        scorer, _ = train_clap(manifest[manifest["split"] == "train"], config,
                               progress=lambda f, m: report(0.3 + 0.7 * f, m))
        tmp = folder.parent / f".{folder.name}.{uuid.uuid4().hex[:8]}"
        try:
            save_scorer(scorer, tmp)
            if folder.exists():
                shutil.rmtree(folder)
            tmp.rename(folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return load_scorer(folder)


# --------------------------------------------------------------------------------------------- paper profile


class HFClapScorer(AudioTextScorer):
    """A transformers ``ClapModel`` (LAION-CLAP layout) behind the scorer interface; audio at the processor's rate."""

    def __init__(self, model, processor, name: str, device: str = "cpu"):
        self.model, self.processor, self.name, self.device = model.eval(), processor, name, device
        self.rate = int(getattr(getattr(processor, "feature_extractor", processor), "sampling_rate", 48000))

    @property
    def logit_scale(self) -> float:
        return float(self.model.logit_scale_a.exp()) if hasattr(self.model, "logit_scale_a") else 1.0

    @property
    def models(self) -> list[str]:
        return [self.name]

    @torch.inference_mode()
    def embed_audio(self, audios: list[np.ndarray]) -> np.ndarray:
        import librosa

        waves = [librosa.resample(np.asarray(a, np.float32), orig_sr=SR, target_sr=self.rate) for a in audios]
        enc = self.processor(audio=waves, sampling_rate=self.rate, return_tensors="pt").to(self.device)
        out = self.model.get_audio_features(**enc)
        out = getattr(out, "pooler_output", out)
        return nn.functional.normalize(out.float(), dim=-1).cpu().numpy()

    @torch.inference_mode()
    def embed_text(self, texts: list[str]) -> np.ndarray:
        enc = self.processor(text=list(texts), return_tensors="pt", padding=True).to(self.device)
        out = self.model.get_text_features(**enc)
        out = getattr(out, "pooler_output", out)
        return nn.functional.normalize(out.float(), dim=-1).cpu().numpy()


def scorer_for_profile(profile: str | None = None, *, progress=None) -> AudioTextScorer:
    """The active profile's scorer: the default one trained here, or the ``paper`` profile's CLAP from the cache."""
    from workbench.profiles import get_profile

    prof = get_profile(profile)
    if prof.name != "paper":
        return default_scorer(progress=progress)
    from workbench.models import load

    name = prof.model_for("audio_text")
    hf = load(name)
    return HFClapScorer(hf.model, hf.processor, name, device=hf.device)


# --------------------------------------------------------------------------------------------- keywords


def keyword_scores(scorer: AudioTextScorer, audio_embeddings: np.ndarray, vocabulary: list[str],
                   *, prompt: str = "{}") -> np.ndarray:
    """[N, V] cosine of each clip with each keyword (rendered through ``prompt``)."""
    text = scorer.embed_text([prompt.format(k) for k in vocabulary])
    return np.asarray(audio_embeddings, np.float32).reshape(-1, text.shape[1]) @ text.T


def top_keywords(scorer: AudioTextScorer, audio_embedding: np.ndarray, vocabulary: list[str], l: int = 2,
                 ) -> list[dict]:
    """The ``l`` keywords most similar to one clip: [{"keyword", "score"}] by descending cosine."""
    if l < 0:
        raise WorkbenchError(f"the number of keywords must be ≥ 0, not {l}")
    sims = keyword_scores(scorer, audio_embedding, vocabulary)[0]
    order = np.argsort(-sims, kind="stable")[:l]
    return [{"keyword": vocabulary[i], "score": float(sims[i])} for i in order]


__all__ = ["AudioTextScorer", "ClapConfig", "ClapScorer", "HFClapScorer", "MAGIC_SCALE", "StudentText",
           "TinyClap", "default_scorer", "default_scorer_folder", "distillation_texts", "keyword_scores", "load_scorer", "save_scorer",
           "scorer_for_profile", "text_features", "top_keywords", "train_clap"]
