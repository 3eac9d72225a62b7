"""Drawing the synthetic talking heads of the audio-visual deepfake corpus (P6), and forging their faces.

Used by deepfake.synth.video (which renders, forges and writes the clips) and the lip-sync tests.

Drawing [ours]. Each clip gets an *identity*: skin tone, face ellipse size and aspect, eye size and spacing, mouth
width, hair colour and style (short, long, bun, bald), background colour with a vertical gradient and mild
low-frequency texture, and a small head bob and sway (sinusoids of a few pixels / degrees). ``draw_head(identity, t,
mouth, blink)`` draws one RGB frame at time ``t`` with the mouth open by ``mouth`` ∈ [0, 1] and the eyes shut by
``blink`` ∈ [0, 1]. The mouth follows the *text*, not the sound (``viseme_track``) [ours]: espeak-ng's own phoneme
schedule for the sentence, voice, rate and pitch (``synth.visemes.phoneme_timing``, the synthesizer's phoneme
events) gives each phoneme's start; each phoneme holds its viseme's opening (``visemes.openness``) times a random
factor (0.7–1.0) until the next one, with every boundary jittered by ``JITTER_S``. Without the espeak-ng library a
syllable model of the text stands in (vowel groups sharing the spoken time, modelled from the clip's length and the
rate: espeak-ng's trailing pause is about ``TAIL_WPM / rate`` seconds). The track is then smoothed by its own
asymmetric attack/release filter and given a little frame noise. The lip-sync cue (``sync.audio_envelope``, the RMS
per frame) is never used to draw the mouth, so the cue measures how well two independently made signals agree — not
a copy of itself. ``mouth_track`` (the old envelope-driven mouth) is kept for tests of the sync cue only. Eyes blink
for 0.15 s once every 2–4.5 s (period and phase per identity). A clip lasts as long as its speech, cut down to whole
frames (never padded).

Self-Blended Images (Shiohara & Yamasaki, CVPR 2022) [ours: the ranges]: ``self_blend(frame, mask, params)``
replaces the face with a blend of a transformed copy of the same frame. The source is the frame after colour
jitter (contrast 0.9–1.1, brightness ±12, per-channel shift ±10), a slight Gaussian blur or an unsharp-mask
sharpening, and an affine warp about the face centre (scale 0.92–1.08, translation up to ±4 % of the frame side);
the mask (``face_mask``) is the face ellipse deformed by a random affine (scale 0.95–1.05 per axis, shift up to
±2 % of the side) and a smooth random elastic field (up to 2 % of the side), Gaussian-blurred (σ 1–2.5 % of the
side), times a blend ratio drawn from [0.5, 1]. ``random_sbi_params`` draws one parameter set per clip.
"""
from __future__ import annotations

import math

import numpy as np

from workbench import WorkbenchError
from workbench.deepfake.sync import audio_envelope

SR = 16000
HAIR_STYLES = ("short", "long", "bun", "bald")
BLINK_S = 0.15
_SKIN = ((255, 224, 196), (241, 194, 156), (224, 172, 128), (198, 134, 96), (160, 105, 72), (120, 80, 56))
_HAIR = ((30, 24, 20), (80, 52, 30), (150, 100, 50), (220, 190, 120), (140, 140, 140), (170, 60, 30))


# ------------------------------------------------------------------------------------------------- drawing


def random_identity(rng: np.random.Generator, size: int = 96) -> dict:
    """A cartoon identity (JSON-serialisable dict) for ``draw_head``, drawn from ``rng``."""
    jitter = rng.integers(-12, 13, 3)
    skin = np.clip(np.array(_SKIN[int(rng.integers(len(_SKIN)))]) + jitter, 0, 255)
    return {
        "size": int(size),
        "skin": [int(v) for v in skin],
        "face_w": float(rng.uniform(0.22, 0.28)),          # half-axes as fractions of the frame side
        "face_h": float(rng.uniform(0.30, 0.36)),
        "eye_r": float(rng.uniform(0.13, 0.19)),           # eye half-width as a fraction of the face half-width
        "eye_dx": float(rng.uniform(0.36, 0.48)),          # eye offset from the centre, same unit
        "mouth_w": float(rng.uniform(0.30, 0.42)),
        "hair": [int(v) for v in _HAIR[int(rng.integers(len(_HAIR)))]],
        "hair_style": str(rng.choice(HAIR_STYLES)),
        "background": [int(v) for v in rng.integers(40, 220, 3)],
        "gradient": float(rng.uniform(-40, 40)),
        "texture": float(rng.uniform(3, 10)),
        "texture_seed": int(rng.integers(2**31)),
        "bob_px": float(rng.uniform(0.5, 1.5)) * size / 96,
        "bob_hz": float(rng.uniform(0.3, 0.8)),
        "sway_px": float(rng.uniform(0.5, 1.5)) * size / 96,
        "sway_hz": float(rng.uniform(0.2, 0.6)),
        "tilt_deg": float(rng.uniform(0, 4)),
        "phase": [float(v) for v in rng.uniform(0, 2 * np.pi, 3)],
        "blink_period": float(rng.uniform(2.0, 4.5)),
        "blink_phase": float(rng.uniform(0, 4.5)),
    }


def head_pose(identity: dict, t: float) -> tuple[float, float, float, float, float]:
    """(centre x, centre y, half-width, half-height, tilt in degrees) of the face at time ``t``."""
    s = identity["size"]
    ph = identity["phase"]
    cx = s / 2 + identity["sway_px"] * math.sin(2 * math.pi * identity["sway_hz"] * t + ph[0])
    cy = 0.47 * s + identity["bob_px"] * math.sin(2 * math.pi * identity["bob_hz"] * t + ph[1])
    tilt = identity["tilt_deg"] * math.sin(2 * math.pi * identity["sway_hz"] * 0.7 * t + ph[2])
    return cx, cy, identity["face_w"] * s, identity["face_h"] * s, tilt


def blink_at(identity: dict, t: float) -> float:
    """1.0 while the eyes are shut (``BLINK_S`` once per blink period), else 0.0."""
    return 1.0 if (t + identity["blink_phase"]) % identity["blink_period"] < BLINK_S else 0.0


def _background(identity: dict) -> np.ndarray:
    import cv2

    s = identity["size"]
    rng = np.random.default_rng(identity["texture_seed"])
    noise = cv2.resize(rng.standard_normal((6, 6)).astype(np.float32), (s, s), interpolation=cv2.INTER_CUBIC)
    ramp = np.linspace(-0.5, 0.5, s, dtype=np.float32)[:, None] * identity["gradient"]
    img = np.array(identity["background"], np.float32)[None, None, :] + (ramp + identity["texture"] * noise)[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


_SHIFT = 4                    # OpenCV fixed-point bits: sub-pixel positions for smooth motion
_ONE = 1 << _SHIFT


def _pt(x: float, y: float) -> tuple[int, int]:
    return round(x * _ONE), round(y * _ONE)


def _ellipse(img, centre, axes, angle, colour, start=0, end=360):
    import cv2

    cv2.ellipse(img, _pt(*centre), _pt(max(axes[0], 0.5), max(axes[1], 0.5)), angle, start, end,
                tuple(int(c) for c in colour), -1, cv2.LINE_AA, _SHIFT)


def draw_head(identity: dict, t: float, mouth: float, blink: float = 0.0) -> np.ndarray:
    """uint8 ``[size, size, 3]`` RGB: the identity's head at time ``t``, mouth open by ``mouth`` ∈ [0, 1]."""
    import cv2

    img = _background(identity)
    cx, cy, ax, ay, tilt = head_pose(identity, t)
    rad = math.radians(tilt)
    cos, sin = math.cos(rad), math.sin(rad)

    def at(dx: float, dy: float) -> tuple[float, float]:     # a point of the face frame, rotated by the tilt
        return cx + dx * cos - dy * sin, cy + dx * sin + dy * cos

    skin = np.array(identity["skin"], float)
    hair = identity["hair"]
    style = identity["hair_style"]
    if style == "long":
        _ellipse(img, at(0, 0.25 * ay), (1.2 * ax, 1.15 * ay), tilt, hair)
    neck_w = 0.45 * ax
    neck = np.array([at(-neck_w, 0.6 * ay), at(neck_w, 0.6 * ay), at(neck_w, 2 * ay), at(-neck_w, 2 * ay)])
    cv2.fillPoly(img, [np.round(neck * _ONE).astype(np.int32)], tuple(int(c) for c in skin * 0.85), cv2.LINE_AA,
                 _SHIFT)
    _ellipse(img, (cx, cy), (ax, ay), tilt, skin)
    if style != "bald":
        _ellipse(img, at(0, -0.45 * ay), (1.04 * ax, 0.62 * ay), tilt, hair, 180, 360)
    if style == "bun":
        _ellipse(img, at(0, -1.08 * ay), (0.35 * ax, 0.3 * ax), tilt, hair)

    er = identity["eye_r"] * ax
    openness = max(0.0, 1.0 - float(blink))
    for side in (-1, 1):
        ex, ey = at(side * identity["eye_dx"] * ax, -0.12 * ay)
        _ellipse(img, at(side * identity["eye_dx"] * ax, -0.12 * ay - 1.5 * er), (1.1 * er, 0.25 * er), tilt, hair)
        if openness > 0.3:
            _ellipse(img, (ex, ey), (er, 0.75 * er * openness), tilt, (250, 250, 250))
            _ellipse(img, (ex, ey), (0.5 * er, 0.5 * er * min(1.0, openness)), 0, (35, 30, 40))
        else:
            _ellipse(img, (ex, ey), (er, 0.12 * er + 0.5), tilt, skin * 0.55)
    _ellipse(img, at(0, 0.16 * ay), (0.1 * ax, 0.07 * ay), tilt, skin * 0.8)

    m = float(np.clip(mouth, 0.0, 1.0))
    mw = identity["mouth_w"] * ax
    lips = (skin * 0.55 + np.array([180, 40, 50]) * 0.45)
    mouth_centre = at(0, 0.52 * ay)
    opening = m * 0.2 * ay
    _ellipse(img, mouth_centre, (mw, 0.06 * ay + 0.6 * opening), tilt, lips)
    if opening > 0.3:
        _ellipse(img, mouth_centre, (0.82 * mw, opening), tilt, (40, 12, 18))
    else:
        _ellipse(img, mouth_centre, (0.85 * mw, 0.5), tilt, (70, 25, 30))
    return img


def face_mask(identity: dict, t: float) -> np.ndarray:
    """float32 ``[size, size]``: 1 inside the face ellipse at time ``t``, 0 outside."""
    import cv2

    s = identity["size"]
    cx, cy, ax, ay, tilt = head_pose(identity, t)
    mask = np.zeros((s, s), np.uint8)
    cv2.ellipse(mask, _pt(cx, cy), _pt(ax, ay), tilt, 0, 360, 1, -1, cv2.LINE_8, _SHIFT)
    return mask.astype(np.float32)


# ------------------------------------------------------------------------------------------ self-blending


def random_sbi_params(rng: np.random.Generator, size: int = 96) -> dict:
    """One clip's Self-Blended-Image transform (see the module docstring for the ranges)."""
    sharpen = bool(rng.random() < 0.5)
    return {
        "scale": float(rng.uniform(0.92, 1.08)),
        "dx": float(rng.uniform(-0.04, 0.04) * size),
        "dy": float(rng.uniform(-0.04, 0.04) * size),
        "contrast": float(rng.uniform(0.9, 1.1)),
        "brightness": float(rng.uniform(-12, 12)),
        "colour": [float(v) for v in rng.uniform(-10, 10, 3)],
        "filter": "sharpen" if sharpen else "blur",
        "filter_sigma": float(rng.uniform(0.6, 1.2)),
        "sharpen_amount": float(rng.uniform(0.5, 1.5)),
        "mask_scale": [float(v) for v in rng.uniform(0.95, 1.05, 2)],
        "mask_shift": [float(v) for v in rng.uniform(-0.02, 0.02, 2) * size],
        "elastic": float(rng.uniform(0.0, 0.02) * size),
        "elastic_seed": int(rng.integers(2**31)),
        "mask_blur": float(rng.uniform(0.01, 0.025) * size),
        "ratio": float(rng.uniform(0.5, 1.0)),
    }


def sbi_reach(params: dict, size: int) -> int:
    """Pixels beyond the face mask that ``self_blend`` may change in a ``size``-pixel frame (a bound)."""
    scale = max(abs(v - 1) for v in params["mask_scale"])
    return int(math.ceil(scale * size * math.sqrt(2) + math.hypot(*params["mask_shift"]) + params["elastic"] * 1.5
                         + 3 * params["mask_blur"] + 3))


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    k = 2 * int(math.ceil(3 * sigma)) + 1
    return cv2.GaussianBlur(img, (k, k), sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)


def self_blend(frame: np.ndarray, mask: np.ndarray, params: dict) -> np.ndarray:
    """``frame`` with its masked face blended with a transformed copy of itself (Self-Blended Images).

    Pixels farther than ``sbi_reach(params)`` from the mask are returned unchanged."""
    import cv2

    frame = np.asarray(frame)
    mask = np.asarray(mask, np.float32)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3 or mask.shape != frame.shape[:2]:
        raise WorkbenchError(f"self_blend needs a uint8 [H, W, 3] frame and an [H, W] mask, got {frame.shape} "
                             f"{frame.dtype} and {mask.shape}")
    h, w = mask.shape
    if mask.sum() <= 0:
        return frame.copy()
    ys, xs = np.nonzero(mask > 0)
    cx, cy = float(xs.mean()), float(ys.mean())

    f = frame.astype(np.float32)
    src = f * params["contrast"] + params["brightness"] + np.array(params["colour"], np.float32)
    src = np.clip(src, 0, 255)
    if params["filter"] == "blur":
        src = _blur(src, params["filter_sigma"])
    else:
        src = np.clip(src + params["sharpen_amount"] * (src - _blur(src, params["filter_sigma"])), 0, 255)
    warp = cv2.getRotationMatrix2D((cx, cy), 0.0, params["scale"])
    warp[:, 2] += (params["dx"], params["dy"])
    src = cv2.warpAffine(src, warp, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)

    sx, sy = params["mask_scale"]
    affine = np.array([[sx, 0, (1 - sx) * cx + params["mask_shift"][0]],
                       [0, sy, (1 - sy) * cy + params["mask_shift"][1]]], np.float32)
    m = cv2.warpAffine(mask, affine, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if params["elastic"] > 0:
        rng = np.random.default_rng(params["elastic_seed"])
        field = [cv2.resize(rng.uniform(-1, 1, (4, 4)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
                 for _ in range(2)]
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        m = cv2.remap(m, gx + params["elastic"] * np.clip(field[0], -1, 1),
                      gy + params["elastic"] * np.clip(field[1], -1, 1), cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    m = _blur(m, params["mask_blur"]) * params["ratio"]
    m = np.clip(m, 0, 1)[..., None]
    out = f * (1 - m) + src * m
    return np.where(m > 0, np.clip(np.round(out), 0, 255), f).astype(np.uint8)


# ------------------------------------------------------------------------------------------------- audio


def mouth_track(audio: np.ndarray, fps: float, n_frames: int, sr: int = SR) -> np.ndarray:
    """float ``[n_frames]`` in [0, 1]: mouth opening following the speech's RMS envelope (tests of the sync cue
    only; the corpus draws the mouth from the text with ``viseme_track``)."""
    env = audio_envelope(audio, sr, fps, n_frames)
    env = np.convolve(np.pad(env, 1, mode="edge"), [0.25, 0.5, 0.25], mode="valid")
    peak = env.max()
    if peak <= 0:
        return np.zeros(n_frames)
    return np.clip((env / peak - 0.05) / 0.95, 0.0, 1.0)


TAIL_WPM = 60.0            # espeak-ng's trailing pause ≈ TAIL_WPM / rate seconds [ours: measured on its voices]
JITTER_S = 0.03            # syllable timing jitter (standard deviation)
_VOWEL_OPEN = {"a": 1.0, "o": 0.9, "e": 0.75, "i": 0.55, "u": 0.6, "y": 0.55}


def syllables(text: str) -> list[tuple[str, float]]:
    """``(kind, weight)`` units of ``text``: ``("v", openness)`` per syllable (vowel group), ``("pause", w)`` after
    punctuation (w in syllable lengths) and ``("gap", 0.3)`` between words."""
    import re

    units: list[tuple[str, float]] = []
    for word in re.findall(r"[A-Za-z']+|[,.;:!?]", text):
        if word in ",;:":
            units.append(("pause", 1.5))
            continue
        if word in ".!?":
            units.append(("pause", 1.0))
            continue
        groups = re.findall(r"[aeiouy]+", word.lower()) or ["e"]
        if len(groups) > 1 and word.lower().endswith("e") and groups[-1] == "e":
            groups = groups[:-1]                                  # a silent final e
        units += [("v", _VOWEL_OPEN.get(g[0], 0.7)) for g in groups]
        units.append(("gap", 0.3))
    return units


def _syllable_targets(text: str, t: np.ndarray, duration: float, rate: int, rng) -> np.ndarray:
    units = syllables(text)
    spoken = max(0.2 * duration, duration - TAIL_WPM / max(rate, 1))
    total = sum(w if kind != "v" else 1.0 for kind, w in units) or 1.0
    target = np.zeros(len(t))
    clock = 0.0
    for kind, w in units:
        span = (1.0 if kind == "v" else w) * spoken / total
        if kind == "v":
            centre = clock + span / 2 + rng.normal(0, JITTER_S)
            width = 0.8 * span
            height = w * rng.uniform(0.7, 1.0)
            inside = np.abs(t - centre) < width / 2
            target[inside] = np.maximum(target[inside],
                                        height * 0.5 * (1 + np.cos(2 * np.pi * (t[inside] - centre) / width)))
        clock += span
    return target


def _phoneme_targets(timing, t: np.ndarray, rng) -> np.ndarray:
    from workbench.deepfake.synth.visemes import openness

    starts = np.array([s for s, _ in timing]) + rng.normal(0, JITTER_S, len(timing))
    starts = np.maximum.accumulate(np.maximum(starts, 0.0))
    heights = np.array([openness(p) for _, p in timing]) * rng.uniform(0.7, 1.0, len(timing))
    idx = np.searchsorted(starts, t, side="right") - 1
    return np.where(idx >= 0, heights[np.clip(idx, 0, None)], 0.0)


def viseme_track(text: str, n_frames: int, fps: float, *, rate: int, rng: np.random.Generator,
                 voice: str | None = None, pitch: int = 50) -> np.ndarray:
    """float ``[n_frames]`` in [0, 1]: mouth opening drawn from ``text`` as espeak-ng schedules its phonemes for
    ``voice``, ``rate`` and ``pitch`` (the syllable model when ``voice`` is None or the library is missing; see the
    module docstring); ``rng`` draws the openings' heights, the timing jitter and the frame noise."""
    from workbench.deepfake.synth.visemes import phoneme_timing

    n_frames = int(n_frames)
    if n_frames < 1:
        raise WorkbenchError(f"n_frames must be positive, not {n_frames!r}")
    t = np.arange(n_frames) / fps + 0.5 / fps
    timing = phoneme_timing(text, voice=voice, rate=rate, pitch=pitch) if voice else None
    target = (_phoneme_targets(timing, t, rng) if timing else
              _syllable_targets(text, t, n_frames / fps, rate, rng))
    out = np.zeros(n_frames)                   # attack/release smoothing: opens faster than it closes
    level = 0.0
    for k, v in enumerate(target):
        level += (0.7 if v > level else 0.45) * (v - level)
        out[k] = level
    out += rng.normal(0, 0.03, n_frames)
    return np.clip(out, 0.0, 1.0)


__all__ = ["blink_at", "draw_head", "face_mask", "head_pose", "mouth_track", "random_identity",
           "random_sbi_params", "sbi_reach", "self_blend", "syllables", "viseme_track"]
