"""Phoneme timing from espeak-ng's own synthesizer (its phoneme events), for drawing the synthetic talking heads'
mouths from the text rather than from the sound (P6).

Used by deepfake.synth.faces (``viseme_track``) and through it deepfake.synth.video.

``phoneme_timing(text, voice, rate, pitch)`` → ``[(start_s, phoneme), …]``: espeak-ng's library
(``libespeak-ng.so.1``, the same engine as the ``espeak-ng`` executable that renders the corpus's speech) is asked
to synthesise the text with the same voice (by name, else by language, as the executable picks it), rate and
pitch, and its phoneme events (``espeakEVENT_PHONEME``, with
the audio position in ms) are kept; the samples are discarded. None when the library cannot be loaded (then the
caller falls back to a syllable model of the text). ``openness(phoneme)`` is the viseme's mouth opening in [0, 1]
[ours: open vowels a/A/O/0 1.0, mid vowels 0.75, close vowels i/u 0.5, bilabials p/b/m 0, labiodentals f/v 0.1,
other consonants 0.25, pauses 0]. These timings are the synthesizer's linguistic schedule — never the RMS envelope
the lip-sync cue measures.
"""
from __future__ import annotations

import ctypes
import functools
import threading

_LOCK = threading.Lock()
_EVENT_PHONEME, _EVENT_END = 7, 0
_RATE, _PITCH = 1, 3
_SYNCHRONOUS, _PHONEME_EVENTS, _POS_CHARACTER = 2, 1, 1


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8)]


class _Voice(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("languages", ctypes.c_char_p), ("identifier", ctypes.c_char_p),
                ("gender", ctypes.c_ubyte), ("age", ctypes.c_ubyte), ("variant", ctypes.c_ubyte),
                ("xx1", ctypes.c_ubyte), ("score", ctypes.c_int), ("spare", ctypes.c_void_p)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@functools.lru_cache(maxsize=1)
def _engine():
    try:
        lib = ctypes.CDLL("libespeak-ng.so.1")
    except OSError:
        return None
    collected: list[tuple[float, str]] = []

    def on_audio(wav, n, events):
        i = 0
        while events[i].type != _EVENT_END:
            e = events[i]
            if e.type == _EVENT_PHONEME:
                collected.append((e.audio_position / 1000.0, bytes(e.id).split(b"\0")[0].decode("ascii", "replace")))
            i += 1
        return 0

    callback = _CALLBACK(on_audio)
    if lib.espeak_Initialize(_SYNCHRONOUS, 0, None, _PHONEME_EVENTS) <= 0:
        return None
    lib.espeak_SetSynthCallback(callback)
    return lib, callback, collected


def phoneme_timing(text: str, *, voice: str, rate: int, pitch: int) -> list[tuple[float, str]] | None:
    """``[(start in seconds, phoneme), …]`` of ``text`` as espeak-ng schedules it, or None without the library."""
    engine = _engine()
    if engine is None:
        return None
    lib, _, collected = engine
    raw = text.encode("utf-8") + b"\0"
    with _LOCK:
        collected.clear()
        if lib.espeak_SetVoiceByName(voice.encode("ascii")) != 0:       # as the executable does: by language
            wanted = _Voice(languages=voice.encode("ascii"))
            if lib.espeak_SetVoiceByProperties(ctypes.byref(wanted)) != 0:
                return None
        lib.espeak_SetParameter(_RATE, int(rate), 0)
        lib.espeak_SetParameter(_PITCH, int(pitch), 0)
        lib.espeak_Synth(raw, len(raw), 0, _POS_CHARACTER, 0, 0, None, None)
        lib.espeak_Synchronize()
        out = list(collected)
    return out or None


def openness(phoneme: str) -> float:
    """The mouth opening of a phoneme's viseme, in [0, 1] (see the module docstring)."""
    p = phoneme.strip("',%=")
    if not p or p.startswith("_"):
        return 0.0
    head = p[0]
    if head in "aA0O" or p.startswith("aI") or p.startswith("aU"):
        return 1.0
    if head in "eE@3Vo":
        return 0.75
    if head in "iIuUy":
        return 0.5
    if head in "pbm":
        return 0.0
    if head in "fv":
        return 0.1
    return 0.25


__all__ = ["openness", "phoneme_timing"]
