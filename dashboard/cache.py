"""Every ``st.cache_*`` wrapper of the dashboard, in one place; the views import what they need from here.

Models are loaded only through ``st.cache_resource``; frames, clips and small tables through ``st.cache_data``.
A model is loaded from the folder an artifact names (or the zoo); when that folder is missing, the loader raises a
``WorkbenchError`` saying what is missing and how to build it; nothing here trains. Views never call
``workbench.models.load`` directly.
"""
from __future__ import annotations

import json

import streamlit as st

# ------------------------------------------------------------------------------------------------ zoo and registry


@st.cache_resource(show_spinner=False)
def startup() -> int:
    """Once per server process: the upload folders emptied (files left by an earlier run); how many were removed."""
    from dashboard.uploads import clear_uploads

    return clear_uploads()


@st.cache_resource(show_spinner="Loading model…")
def model(name: str):
    """A model handle from the zoo, loaded once per server process."""
    from workbench.models import load

    return load(name)


@st.cache_data(show_spinner=False)
def models_table(profile: str | None = None):
    """The model zoo with availability, as a DataFrame."""
    import pandas as pd

    from workbench.models import availability, list_specs

    rows = []
    for spec in list_specs(profile=profile):
        state = availability(spec)
        rows.append({"name": spec.name, "role": spec.role, "profile": spec.profile, "params_m": spec.params_m,
                     "size": spec.size_label, "source": spec.source, "available": state.available,
                     "prepared": state.prepared, "detail": state.detail, "description": spec.description,
                     "gated": spec.gated})
    return pd.DataFrame(rows)


def artifacts_fingerprint(profile: str) -> tuple:
    """(seed store, paper, name, meta.json mtime) of every built artifact of ``profile``, the extra seeds' stores
    included: changes when anything is rebuilt."""
    from workbench.io import ArtifactStore, seed_stores

    main = ArtifactStore()
    stores = {None: main, **seed_stores(main)}
    return tuple((seed, paper, name, (store.path(paper, name, profile) / "meta.json").stat().st_mtime_ns)
                 for seed, store in stores.items() for _, paper, name in store.list(profile=profile))


@st.cache_data(show_spinner="Reading the claims ledger…")
def claims_ledger(profile: str, fingerprint: tuple):
    """The claims ledger of ``profile`` (``workbench.claims.ledger_frame``); ``fingerprint`` (from
    ``artifacts_fingerprint``) makes a rebuilt artifact show at once."""
    from workbench.claims import ledger_frame

    return ledger_frame(profile=profile)


@st.cache_data(show_spinner=False)
def environment() -> dict:
    """Profile, device and model names for the banner."""
    from workbench.profiles import active_profile, pick_device

    profile = active_profile()
    return {"profile": profile.name, "device": pick_device(), "models": profile.model_names()}


@st.cache_data(show_spinner=False)
def similarity(model_name: str, a: str, b: str) -> float:
    enc = model(model_name)
    vecs = enc.encode([a, b])
    return float(vecs[0] @ vecs[1])


@st.cache_data(show_spinner=False, max_entries=64)
def completion(model_name: str, prompt: str, max_new_tokens: int) -> str:
    from workbench.llm import generate

    return generate(model(model_name), prompt, max_new_tokens=max_new_tokens)


@st.cache_data(show_spinner=False)
def taxonomy_table():
    from workbench.taxonomy import taxonomy_frame

    return taxonomy_frame()


# ------------------------------------------------------------------------------------------------ artifacts


@st.cache_data(show_spinner=False, max_entries=32)
def _artifact_frame(path: str, stamp: str):
    from workbench.io import load_frame

    return load_frame(path)


@st.cache_data(show_spinner=False, max_entries=32)
def _artifact_records(path: str, stamp: str):
    from workbench.io import load_records

    return load_records(path)


def _artifact(paper: str, name: str, profile: str, loader):
    """(data, meta) of an artifact, or (None, None) when it is not built; re-read when its meta.json changes."""
    from workbench.io import ArtifactError, ArtifactStore, read_meta

    path = ArtifactStore().path(paper, name, profile)
    try:
        meta = read_meta(path)
    except ArtifactError:
        return None, None
    return loader(str(path), meta.created_at), meta


def artifact_frame(paper: str, name: str, profile: str):
    """A frame artifact and its meta, or (None, None) when it is not built."""
    return _artifact(paper, name, profile, _artifact_frame)


def artifact_records(paper: str, name: str, profile: str):
    """A records artifact and its meta, or (None, None) when it is not built."""
    return _artifact(paper, name, profile, _artifact_records)


@st.cache_resource(show_spinner=False, max_entries=4)
def tensors(path: str, stamp: str) -> dict:
    """A tensors artifact (e.g. P8's steering vectors), re-read when ``stamp`` changes."""
    from workbench.io import load_tensors

    return load_tensors(path)


# ------------------------------------------------------------------------------------------------ media files


@st.cache_data(show_spinner=False, max_entries=16)
def audio_file(path: str, stamp: str, sr: int, max_seconds: float | None):
    """An audio file decoded to mono at ``sr`` Hz, at most ``max_seconds`` long."""
    from workbench.media.audio import load_audio

    return load_audio(path, sr=sr, max_seconds=max_seconds)


@st.cache_data(show_spinner=False, max_entries=16)
def mel(audio_key: str, sr: int, hop: int, _audio):
    """The log-mel spectrogram of ``_audio`` (cached by ``audio_key``)."""
    from workbench.media.features import log_mel

    return log_mel(_audio, sr=sr, hop=hop)


@st.cache_data(show_spinner=False, max_entries=16)
def media_preview(path: str, stamp: str, *, sr: int, hop: int, frames: int, size: int, max_seconds: float) -> dict:
    """What a clip looks and sounds like: audio (and its log-mel) or ``frames`` sampled frames (and the audio
    track, or in ``track`` why there is none)."""
    from workbench import WorkbenchError
    from workbench.media.audio import extract_audio_track, load_audio
    from workbench.media.features import log_mel
    from workbench.media.files import media_kind
    from workbench.media.video import sample_video

    out = {"kind": media_kind(path), "audio": None, "mel": None, "frames": None, "track": ""}
    if out["kind"] == "audio":
        out["audio"] = load_audio(path, sr=sr, max_seconds=max_seconds)
    else:
        sample = sample_video(path, n=frames, size=size)
        out["frames"], out["indices"], out["fps"] = sample.frames, sample.indices, sample.fps
        try:
            out["audio"] = extract_audio_track(path, sr=sr, max_seconds=max_seconds)
        except WorkbenchError as exc:
            out["track"] = str(exc)
    if out["audio"] is not None:
        out["mel"] = log_mel(out["audio"], sr=sr, hop=hop)
    return out


@st.cache_data(show_spinner=False, max_entries=32)
def image(path: str, stamp: str):
    """An image file as an RGB array (a GIF's first frame)."""
    from workbench.media.image import load_image

    return load_image(path)


# ------------------------------------------------------------------------------------------------ P6 deepfake


@st.cache_resource(show_spinner="Loading the deepfake model…", max_entries=2)
def deepfake_model(folder: str, stamp: str):
    """The deepfake model saved in ``folder`` (the one a ``deepfake_eval`` artifact names); never trained here."""
    from pathlib import Path

    from workbench import WorkbenchError
    from workbench.deepfake.model import DeepfakeModel

    if not (Path(folder) / "model.json").is_file():
        raise WorkbenchError(f"the deepfake model this artifact was evaluated with is not on disk ({folder}); "
                             f"`workbench build P6 --force` first")
    return DeepfakeModel.load(folder)


@st.cache_data(show_spinner=False, max_entries=64)
def deepfake_score(folder: str, stamp: str, path: str, file_stamp: str, reasoning: bool, reasoner: str | None,
                   _model, _lm) -> dict:
    """``_model`` (of ``folder``) scores the file at ``path``, with ``_lm`` (named ``reasoner``) as the reasoner."""
    return _model.score_file(path, lm=_lm, reasoning=reasoning)


# ------------------------------------------------------------------------------------------------ P9 captions


def scorer_key(config: dict) -> str:
    """The part of a ``caption_eval`` artifact's config that names its audio-text model, as a cache key."""
    return json.dumps({"corpus": config.get("corpus"), "clap": config.get("clap"), "smoke": config.get("smoke")},
                      sort_keys=True, default=str)


@st.cache_resource(show_spinner="Loading the audio-text model…", max_entries=2)
def caption_scorer(key: str, profile: str):
    """The audio-text model a ``caption_eval`` artifact was built with (``scorer_key`` of its config); a
    ``WorkbenchError`` saying how to build it when it is not on disk."""
    from workbench.captioning.artifacts import scorer_from_meta

    return scorer_from_meta(json.loads(key), profile)


@st.cache_resource(show_spinner="Embedding the keyword vocabulary…", max_entries=2)
def captioner(key: str, profile: str, lm_name: str, _scorer, _lm):
    """A captioner of the scorer ``key`` and the caption LM ``lm_name`` over the keyword vocabulary."""
    from workbench.captioning.captioner import Captioner
    from workbench.captioning.synth import load_vocabulary

    return Captioner(_scorer, _lm, load_vocabulary())


@st.cache_data(show_spinner=False, max_entries=32)
def caption(audio_key: str, key: str, profile: str, lm_name: str, l: int, k: int, alpha: float, beta: float,
            max_new_tokens: int, _captioner, _audio) -> dict:
    """The captions of ``_audio`` (cached by ``audio_key`` and the settings)."""
    return _captioner.caption(_audio, l=l, k=k, alpha=alpha, beta=beta, max_new_tokens=max_new_tokens)


@st.cache_data(show_spinner="Rendering the sound…", max_entries=32)
def generated_sound(class_name: str, variant: str | None, seed: int):
    """A synthetic sound of ``class_name`` (the captioning capability's renderer, its default length and rate)."""
    from workbench.captioning.synth import render

    return render(class_name, seed, variant=variant)


@st.cache_data(show_spinner="Finding the evaluation clips…", max_entries=4)
def sound_clip_paths(corpus_key: str) -> dict[str, str]:
    """Clip id → audio path of the synthetic sound corpus of ``corpus_key`` (its config as JSON; made again if
    missing: the corpus is rendered, nothing is trained)."""
    from workbench.captioning.synth import SoundCorpusConfig, sound_corpus

    corpus = json.loads(corpus_key)
    corpus["classes"] = tuple(corpus.get("classes", ()))
    manifest = sound_corpus(SoundCorpusConfig(**corpus))
    return {str(i): str(p) for i, p in zip(manifest["id"], manifest["path"])}


# ------------------------------------------------------------------------------------------------ P5 memes


def meme_models_key(config: dict, profile: str) -> str:
    """The corpus, tagger and model configurations of a ``meme_eval`` artifact (and its profile) as one key."""
    return json.dumps({"corpus": config.get("corpus"), "tagger": config.get("tagger"), "model": config.get("model"),
                       "smoke": config.get("smoke"), "profile": profile}, sort_keys=True, default=str)


def meme_configs(config: dict):
    """(``MemeCorpusConfig``, ``TaggerConfig``, ``MemeModelConfig``) a ``meme_eval`` artifact was built with."""
    from workbench.memes.model import MemeModelConfig
    from workbench.memes.synth import MemeCorpusConfig
    from workbench.memes.vision import TaggerConfig

    return (MemeCorpusConfig(**(config.get("corpus") or {})), TaggerConfig.from_dict(config.get("tagger") or {}),
            MemeModelConfig(**(config.get("model") or {})))


@st.cache_resource(show_spinner="Loading the meme models…", max_entries=2)
def meme_models(key: str) -> dict:
    """Setting → model, as the ``meme_eval`` artifact of ``key`` (``meme_models_key``) was built with; loaded from
    the models cache, never trained: a ``WorkbenchError`` says how to build them when they are not on disk."""
    from workbench import WorkbenchError
    from workbench.memes.model import SETTINGS
    from workbench.memes.ablation import default_models_folder, folder_name, load_models

    meta = json.loads(key)
    corpus, tagger, config = meme_configs(meta)
    root = default_models_folder(corpus=corpus, tagger=tagger, config=config, profile=meta["profile"])
    missing = [s for s in SETTINGS if not (root / folder_name(s) / "model.json").is_file()]
    if missing:
        build = "workbench build P5 --force" + (" --smoke" if meta.get("smoke") else "")
        raise WorkbenchError(f"the meme models this artifact was evaluated with are not on disk ({root}; missing: "
                             f"{', '.join(missing)}); `{build}` first")
    return load_models(root)


@st.cache_data(show_spinner=False, max_entries=64)
def meme_prediction(image_key: str, text: str, setting: str, key: str, _model, _image) -> dict:
    """``_model``'s prediction for one meme (cached by ``image_key``, its text, the setting and the models key)."""
    return _model.predict([_image], [text])[0]


@st.cache_data(show_spinner=False, max_entries=64)
def meme_cascade(image_key: str, text: str, setting: str, key: str, explainer: str | None, _model, _image,
                 _prediction, _lm) -> dict:
    """The explanation cascade of one prediction, its sentences by ``_lm`` (named ``explainer``) when given."""
    from workbench.memes.explain import cascade

    return cascade(_model, _image, text, _prediction, lm=_lm)
