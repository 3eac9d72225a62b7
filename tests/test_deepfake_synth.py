import numpy as np
import pytest
import soundfile as sf

from workbench import WorkbenchError
from workbench.deepfake.synth import speech as synth
from workbench.deepfake.synth.speech import AudioCorpusConfig, audio_corpus, griffin_lim, pitch_roundtrip
from workbench.media import files as media_files
from workbench.media import speech as tts
from workbench.media.speech import speak


def test_speech_and_the_two_artefacts():
    audio = speak("Hello there, this is a test.", voice="en-gb", rate=170)
    assert audio.dtype == np.float32 and 0.5 * synth.SR < len(audio) < 4 * synth.SR and np.abs(audio).max() > 0.05
    for spoof in (griffin_lim(audio), pitch_roundtrip(audio)):
        assert spoof.shape == audio.shape and np.abs(spoof).max() == pytest.approx(np.abs(audio).max(), rel=1e-4)
        assert np.corrcoef(spoof, audio)[0, 1] < 0.99          # really altered, not a copy


def test_corpus_is_balanced_split_by_sentence_and_cached(tmp_path, monkeypatch):
    config = AudioCorpusConfig(n_bonafide=3, n_spoof=4, seed=1)
    manifest = audio_corpus(config, root=tmp_path)
    assert (manifest["label"] == "bonafide").sum() == 3 and (manifest["label"] == "spoof").sum() == 4
    assert set(manifest[manifest["y"] == 0]["attack"]) == set(synth.ATTACKS)
    assert not set(manifest[manifest["split"] == "eval"]["sentence"]) & set(
        manifest[manifest["split"] == "train"]["sentence"])
    audio, sr = sf.read(manifest["path"].iloc[0])
    assert sr == synth.SR and audio.ndim == 1
    monkeypatch.setattr(tts, "speak", lambda *a, **k: (_ for _ in ()).throw(AssertionError("re-rendered")))
    again = audio_corpus(config, root=tmp_path)                 # from the cache, nothing re-rendered
    assert list(again["id"]) == list(manifest["id"])
    assert len(list(tmp_path.iterdir())) == 1                    # no temporary folder left behind


def test_errors(tmp_path, monkeypatch):
    with pytest.raises(WorkbenchError, match="unknown attack"):
        audio_corpus(AudioCorpusConfig(attacks=("tts",)), root=tmp_path)
    monkeypatch.setattr(media_files.shutil, "which", lambda name: None)
    with pytest.raises(WorkbenchError, match="espeak-ng is not installed"):
        audio_corpus(AudioCorpusConfig(n_bonafide=1, n_spoof=1), root=tmp_path)
