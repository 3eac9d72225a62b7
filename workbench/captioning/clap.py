"""The audio-text models of zero-shot captioning (P9): a small CLAP trained here (default profile) or a real one.

Used by ``captioning.captioner`` (``scorer_for_profile``), ``captioning.artifacts`` (the ``caption_eval`` builder
and ``scorer_from_meta``), the P9 notebook, ``benchmarks/magic_decoding.py`` and ``scripts/device_check.py``.
Both scorers follow ``captioning.scorer.AudioTextScorer``.

**Default profile** [ours]: ``TinyClap`` — an audio tower (the log-mel CNN of ``workbench.media.audio_encoders``, 64
mel bands, 16 kHz, clips cut or padded to ``max_seconds``) and a text tower, each followed by a linear projection
into a shared ``dim``-wide space, trained with the symmetric InfoNCE loss (CLIP/CLAP) on the synthetic sound corpus
(``workbench.captioning.synth``): each clip is paired with one of its reference captions or one of its label
keywords, drawn anew every epoch; other clips with the same label set are not treated as negatives. The text tower
is MiniLM distilled into a hashed n-gram linear map (``captioning.text_student``, fast enough for MAGIC's 45
candidates per token); ``ClapConfig.text="minilm"`` trains on MiniLM itself instead.

**Independent judge** [ours, issue 18]: ``judge_scorer`` trains a second ``TinyClap`` (another seed, MiniLM itself
as text tower, the train clips captioned with the held-out phrasings) that never guides decoding; the evaluation's
audio–caption quality score is its cosine, while the guide's own cosine is reported as self-scored.

**Paper profile**: ``HFClapScorer`` wraps a transformers ``ClapModel`` + ``ClapProcessor`` from the local cache
(LAION-CLAP ``laion/clap-htsat-unfused``; any CLAP checkpoint in the transformers layout), 48 kHz input.

Persistence: ``save_scorer`` writes ``clap.safetensors`` + ``clap.json`` (configuration, name, text width) and, for
the student, ``student.safetensors`` + ``student.json`` (``io.save_weights``). ``default_scorer`` trains once per
corpus and model configuration into ``$WORKBENCH_HOME/models/clap/tiny-clap-<key>/`` (``io.build_once``); the key
includes ``SAVE_FORMAT``, so folders written in an older layout are never read, only rebuilt under a new key.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from workbench import WorkbenchError
from workbench.captioning.scorer import AudioTextScorer
from workbench.captioning.text_student import HASH_DIM, MiniLMText, StudentText, distillation_texts
from workbench.io import config_key
from workbench.media.audio_encoders import CNNConfig, LogMelCNN, logmels
from workbench.models.tensors import to_model

SR = 16000
SAVE_FORMAT = 2          # the layout save_scorer writes; part of the cache key (2: io.save_weights, student.json)


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
        return config_key(asdict(self))

    @classmethod
    def from_dict(cls, raw: dict) -> "ClapConfig":
        raw = dict(raw)
        audio = dict(raw.pop("audio"))
        audio["channels"] = tuple(audio["channels"])
        return cls(audio=CNNConfig(**audio), **raw)


class TinyClap(nn.Module):
    """Audio tower (log-mel CNN) and text projection into one shared, L2-normalised space, with a learnt scale."""

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


def train_clap(manifest, config: ClapConfig | None = None, *, vocabulary: list[str] | None = None,
               progress=None) -> tuple[ClapScorer, list[float]]:
    """Train a ``TinyClap`` on the manifest's clips (``path``, ``captions``, ``labels``); (scorer, loss per epoch)."""
    from workbench.captioning.synth import load_vocabulary
    from workbench.media.audio import load_audio

    config = config or ClapConfig()
    report = progress or (lambda f, m: None)
    rows = manifest.reset_index(drop=True)
    if len(rows) < 2:
        raise WorkbenchError("training the audio-text model needs at least two clips")
    vocabulary = vocabulary or load_vocabulary()
    minilm = MiniLMText()
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


# --------------------------------------------------------------------------------------------- persistence


def save_scorer(scorer: ClapScorer, folder) -> Path:
    """Write a trained scorer to ``folder``: the model's weights and configuration, and the student's weights."""
    from workbench.io import save_weights

    if isinstance(scorer.text_encoder, StudentText):
        save_weights(folder, "student", {"weight": scorer.text_encoder.weight},
                     {"hash_dim": HASH_DIM, "dim": scorer.text_encoder.dim})
    meta = {"config": asdict(scorer.model.config), "name": scorer.name,
            "text_dim": int(scorer.model.text_proj[0].in_features)}
    return save_weights(folder, "clap", scorer.model.state_dict(), meta)


def load_scorer(folder) -> ClapScorer:
    """The scorer ``save_scorer`` wrote to ``folder``."""
    from workbench.io import load_weights

    folder = Path(folder)
    if not (folder / "clap.json").is_file():
        raise WorkbenchError(f"{folder}: no clap.json; train the audio-text model first")
    state, meta = load_weights(folder, "clap")
    config = ClapConfig.from_dict(meta["config"])
    model = TinyClap(config, meta["text_dim"])
    model.load_state_dict(state)
    if config.text != "student":
        return ClapScorer(model, MiniLMText(), meta["name"])
    weights, student = load_weights(folder, "student", numpy=True)
    if student.get("hash_dim") != HASH_DIM:
        raise WorkbenchError(f"{folder}: the text student hashes into {student.get('hash_dim')} buckets, this "
                             f"version into {HASH_DIM}; train the audio-text model again")
    return ClapScorer(model, StudentText(weights["weight"]), meta["name"])


def default_scorer_folder(*, corpus=None, config: ClapConfig | None = None) -> Path:
    """Where ``default_scorer`` caches the scorer of these configurations (the dashboard loads it from here
    without training)."""
    from workbench.captioning.synth import SoundCorpusConfig
    from workbench.paths import models_dir

    corpus, config = corpus or SoundCorpusConfig(), config or ClapConfig()
    key = config_key({"format": SAVE_FORMAT, "corpus": asdict(corpus), "clap": asdict(config)})
    return models_dir() / "clap" / f"tiny-clap-{key}"


def default_scorer(*, corpus=None, config: ClapConfig | None = None, progress=None) -> ClapScorer:
    """The default profile's scorer, trained on the synthetic corpus's train split once and cached."""
    from workbench.captioning.synth import SoundCorpusConfig, sound_corpus
    from workbench.io import build_once

    corpus, config = corpus or SoundCorpusConfig(), config or ClapConfig()
    report = progress or (lambda f, m: None)

    def build(tmp: Path) -> None:
        manifest = sound_corpus(corpus, progress=lambda f, m: report(0.3 * f, m))
        scorer, _ = train_clap(manifest[manifest["split"] == "train"], config,
                               progress=lambda f, m: report(0.3 + 0.7 * f, m))
        save_scorer(scorer, tmp)

    return load_scorer(build_once(default_scorer_folder(corpus=corpus, config=config), build))


def judge_config(config: ClapConfig | None = None) -> ClapConfig:
    """The independent judge's configuration beside the guide's ``config``: another seed and MiniLM itself as the
    text tower (the guide uses the distilled student)."""
    from dataclasses import replace

    config = config or ClapConfig()
    return replace(config, seed=config.seed + 1000, text="minilm")


def judge_scorer_folder(*, corpus=None, config: ClapConfig | None = None) -> Path:
    """Where ``judge_scorer`` caches the judge of the guide configuration ``config``."""
    from workbench.captioning.synth import SoundCorpusConfig
    from workbench.paths import models_dir

    corpus, judge = corpus or SoundCorpusConfig(), judge_config(config)
    key = config_key({"format": SAVE_FORMAT, "role": "judge", "corpus": asdict(corpus), "clap": asdict(judge)})
    return models_dir() / "clap" / f"tiny-clap-judge-{key}"


def judge_scorer(*, corpus=None, config: ClapConfig | None = None, progress=None) -> ClapScorer:
    """The default profile's **independent judge** of caption quality [ours, issue 18]: a second ``TinyClap``
    that never guides decoding, trained once (cached) on the same train clips but captioned with the held-out
    phrasings (``synth.rephrase``), with another seed and MiniLM as its text tower (``judge_config``). It shares the
    guide's audio architecture and training audio, not its weights, text encoder or training sentences."""
    from workbench.captioning.synth import SoundCorpusConfig, sound_corpus
    from workbench.captioning.synth.corpus import rephrase
    from workbench.io import build_once

    corpus, judge = corpus or SoundCorpusConfig(), judge_config(config)
    report = progress or (lambda f, m: None)

    def build(tmp: Path) -> None:
        manifest = sound_corpus(corpus, progress=lambda f, m: report(0.3 * f, m))
        train = rephrase(manifest[manifest["split"] == "train"], "eval", seed=judge.seed)
        scorer, _ = train_clap(train, judge, progress=lambda f, m: report(0.3 + 0.7 * f, m))
        scorer.name = f"tiny-clap-judge-{judge.key()}"
        save_scorer(scorer, tmp)

    return load_scorer(build_once(judge_scorer_folder(corpus=corpus, config=config), build))


def small_scorer_folder(per_class: int, *, corpus=None, config: ClapConfig | None = None) -> Path:
    """Where ``small_scorer`` caches the guide of ``config`` trained on ``per_class`` clips per class."""
    from workbench.captioning.synth import SoundCorpusConfig
    from workbench.paths import models_dir

    corpus, config = corpus or SoundCorpusConfig(), config or ClapConfig()
    key = config_key({"format": SAVE_FORMAT, "role": "small", "per_class": int(per_class), "corpus": asdict(corpus),
                      "clap": asdict(config)})
    return models_dir() / "clap" / f"tiny-clap-small-{key}"


def small_scorer(per_class: int, *, corpus=None, config: ClapConfig | None = None, progress=None) -> ClapScorer:
    """A **weaker guide** for the scorer comparison [ours, issue 21]: the default guide's architecture, settings
    and seed, trained (once, cached) on only the first ``per_class`` train clips of each class (mixtures count as
    one class), so the two scorers differ in training size alone."""
    from workbench.captioning.synth import SoundCorpusConfig, sound_corpus
    from workbench.io import build_once

    if per_class < 1:
        raise WorkbenchError(f"per_class must be at least 1 (got {per_class})")
    corpus, config = corpus or SoundCorpusConfig(), config or ClapConfig()
    report = progress or (lambda f, m: None)

    def build(tmp: Path) -> None:
        manifest = sound_corpus(corpus, progress=lambda f, m: report(0.3 * f, m))
        train = manifest[manifest["split"] == "train"].groupby("class", sort=False).head(per_class)
        scorer, _ = train_clap(train, config, progress=lambda f, m: report(0.3 + 0.7 * f, m))
        scorer.name = f"tiny-clap-small{per_class}-{config.key()}"
        save_scorer(scorer, tmp)

    return load_scorer(build_once(small_scorer_folder(per_class, corpus=corpus, config=config), build))


# --------------------------------------------------------------------------------------------- paper profile



class HFClapScorer(AudioTextScorer):
    """A transformers ``ClapModel`` (LAION-CLAP layout) behind the scorer interface; audio at the processor's rate.

    The processor's float32 ``input_features`` are moved to the model's device and cast to its dtype
    (``models.tensors.to_model``: the paper profile loads the model in bfloat16 on CUDA); token ids, attention
    masks and ``is_longer`` keep theirs. The projected features come back as float32 before they are normalised,
    so cosines and logits are float32."""

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
        enc = to_model(self.processor(audio=waves, sampling_rate=self.rate, return_tensors="pt"), self.model)
        out = self.model.get_audio_features(**enc)
        out = getattr(out, "pooler_output", out)
        return nn.functional.normalize(out.float(), dim=-1).cpu().numpy()

    @torch.inference_mode()
    def embed_text(self, texts: list[str]) -> np.ndarray:
        enc = to_model(self.processor(text=list(texts), return_tensors="pt", padding=True), self.model)
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




__all__ = ["ClapConfig", "ClapScorer", "HFClapScorer", "SAVE_FORMAT", "TinyClap", "default_scorer",
           "default_scorer_folder", "judge_config", "judge_scorer", "judge_scorer_folder", "load_scorer",
           "save_scorer", "scorer_for_profile", "small_scorer", "small_scorer_folder", "train_clap"]
