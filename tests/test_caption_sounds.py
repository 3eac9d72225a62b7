import re

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from workbench import WorkbenchError
from workbench.captioning.synth import (CLASSES, CLAUSES, VARIANTS, SoundCorpusConfig, corpus_labels,
                                        load_vocabulary, render, sound_corpus)
from workbench.captioning.synth import words as sound_words
from workbench.media import files as media_files
from workbench.media import speech as synth

TINY = SoundCorpusConfig(n_per_class=2, mixtures=2, seconds=1.0, seed=3)


def _raise(*args, **kwargs):
    raise AssertionError("re-rendered")


def test_tiny_corpus_is_complete_labelled_split_and_cached(tmp_path, monkeypatch):
    manifest = sound_corpus(TINY, root=tmp_path / "a")
    counts = manifest["class"].value_counts().to_dict()
    assert counts == {**{name: 2 for name in CLASSES}, "mixture": 2}
    assert manifest["id"].is_unique
    vocabulary = set(load_vocabulary())
    for _, row in manifest.iterrows():
        assert isinstance(row["labels"], list) and row["labels"] and set(row["labels"]) <= vocabulary
        assert 4 <= len(row["captions"]) <= 5 and len(set(row["captions"])) == len(row["captions"])
        assert all(c[0].isupper() and c.endswith(".") for c in row["captions"])
        if row["class"] != "mixture":
            assert row["sources"] == [row["class"]]
            assert row["labels"] == sound_words.LABELS[(row["class"], row["variant"])]
    mixtures = manifest[manifest["class"] == "mixture"]
    for _, row in mixtures.iterrows():                         # both sources' labels are there
        first, second = row["sources"]
        va, vb = row["variant"].split("+")
        assert first != second
        assert set(sound_words.LABELS[(first, va)] + sound_words.LABELS[(second, vb)]) == set(row["labels"])
    train, held = manifest[manifest["split"] == "train"], manifest[manifest["split"] == "eval"]
    assert len(train) and len(held) and not set(train["id"]) & set(held["id"])
    assert (manifest.groupby("class")["split"].nunique() == 2).all()     # one of each class's two clips held out
    for path in manifest["path"]:
        audio, sr = sf.read(path)
        assert sr == 16000 and audio.ndim == 1 and len(audio) == 16000
        rms_db = 20 * np.log10(np.sqrt(np.mean(audio ** 2)))                 # a random loudness, never clipped
        assert np.abs(audio).max() <= 0.96 and -41 < rms_db < -19
    assert (manifest["seconds"] == 1.0).all()

    monkeypatch.setattr(synth, "speak", _raise)
    for name in CLASSES:
        monkeypatch.setitem(CLASSES, name, _raise)
    again = sound_corpus(TINY, root=tmp_path / "a")                # from the cache, nothing re-rendered
    assert list(again["id"]) == list(manifest["id"]) and list(again["captions"]) == list(manifest["captions"])
    assert len(list((tmp_path / "a").iterdir())) == 1              # no temporary folder left behind
    monkeypatch.undo()

    twin = sound_corpus(TINY, root=tmp_path / "b")                 # same seed → the same files
    for a, b in zip(manifest["path"], twin["path"]):
        assert open(a, "rb").read() == open(b, "rb").read()
    assert list(twin["captions"]) == list(manifest["captions"])


def _power(x):
    import librosa

    return np.abs(librosa.stft(np.asarray(x, float), n_fft=1024, hop_length=256)) ** 2 + 1e-12


def _flatness(x):
    power = _power(x)
    return float(np.median(np.exp(np.log(power).mean(0)) / power.mean(0)))


def _peak_frequency_spread(x):
    power = _power(x)
    energy = power.sum(0)
    peaks = np.fft.rfftfreq(1024, 1 / 16000)[power.argmax(0)]
    return float(np.std(peaks[energy > 0.25 * energy.max()]))


def _onset_intervals(x, sr=16000):
    hop = int(0.002 * sr)
    envelope = np.abs(x[:len(x) // hop * hop]).reshape(-1, hop).max(1)
    above = envelope > 0.3 * envelope.max()
    onsets = []
    for start in np.flatnonzero(above & ~np.r_[False, above[:-1]]):
        if not onsets or start - onsets[-1] > 0.1 * sr / hop:
            onsets.append(start)
    return np.diff(onsets) * hop / sr


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_classes_are_acoustically_distinct(seed):
    clip = {name: render(name, seed, 3.0) for name in ("siren", "tone", "rain", "wind", "clock", "knock")}
    assert all(x.dtype == np.float32 and len(x) == 48000 for x in clip.values())
    assert _peak_frequency_spread(clip["siren"]) > 80                # a siren's pitch keeps moving
    assert _peak_frequency_spread(clip["tone"]) < 5                  # a tone's does not
    assert _flatness(clip["tone"]) < 0.006                            # tonal
    assert _flatness(clip["rain"]) > 0.2 and _flatness(clip["wind"]) > 0.015   # noise-like
    ticks = _onset_intervals(clip["clock"])
    assert len(ticks) >= 4 and ticks.std() / ticks.mean() < 0.03     # a clock ticks regularly


def test_render_is_deterministic_and_variants_differ():
    for name in ("rain", "engine", "speech"):
        assert np.array_equal(render(name, 5, 1.0), render(name, np.random.default_rng(5), 1.0))
        assert not np.array_equal(render(name, 5, 1.0), render(name, 6, 1.0))
    import librosa

    def median_f0(x):
        f0, _, _ = librosa.pyin(np.asarray(x, float), fmin=60, fmax=500, sr=16000, frame_length=1024)
        return float(np.nanmedian(f0))

    male, female = (render("speech", 1, 2.0, variant=v) for v in ("male", "female"))
    assert median_f0(male) < 140 < 170 < median_f0(female)            # male- and female-ish voices
    assert set(VARIANTS) == set(CLASSES) == set(k[0] for k in sound_words.LABELS) == set(k[0] for k in CLAUSES)


def test_errors(tmp_path, monkeypatch):
    with pytest.raises(WorkbenchError, match="unknown sound class 'laser'"):
        render("laser", 0)
    with pytest.raises(WorkbenchError, match="unknown variant"):
        render("siren", 0, variant="hoot")
    for bad, message in ((dict(n_per_class=0), "n_per_class"), (dict(eval_fraction=1.0), "eval_fraction"),
                         (dict(seconds=0), "seconds"), (dict(sr=1000), "sr"), (dict(mixtures=-1), "mixtures"),
                         (dict(classes=("siren", "laser")), "unknown sound class"),
                         (dict(classes=("siren",)), "two classes")):
        with pytest.raises(WorkbenchError, match=message):
            sound_corpus(SoundCorpusConfig(**bad), root=tmp_path)
    monkeypatch.setattr(media_files.shutil, "which", lambda name: None)
    with pytest.raises(WorkbenchError, match="espeak-ng is not installed"):
        sound_corpus(SoundCorpusConfig(n_per_class=1, mixtures=0, seconds=0.5), root=tmp_path)
    without_speech = SoundCorpusConfig(n_per_class=1, mixtures=0, seconds=0.5, classes=("tone", "clock"))
    assert list(sound_corpus(without_speech, root=tmp_path)["class"]) == ["tone", "clock"]


def test_bundled_vocabulary_matches_the_corpus_and_captions():
    frame = pd.read_csv(sound_words.VOCABULARY_PATH, dtype={"keyword": str}, keep_default_na=False)
    keywords = load_vocabulary()
    assert keywords == list(frame["keyword"]) and 120 <= len(keywords) <= 200 and len(set(keywords)) == len(keywords)
    assert set(frame.loc[frame["in_corpus"] == 1, "keyword"]) == corpus_labels()
    assert set(frame["in_corpus"]) == {0, 1}
    # captions never name a distractor: the words of one-word keywords not in the corpus are absent
    distractors = {k.lower() for k in frame.loc[frame["in_corpus"] == 0, "keyword"] if re.fullmatch(r"[\w-]+", k)}
    words = {w for clauses in CLAUSES.values() for c in clauses for w in re.findall(r"[a-z-]+", c.lower())}
    assert not words & distractors


def test_load_vocabulary_formats_and_errors(tmp_path):
    audioset = tmp_path / "class_labels_indices.csv"
    audioset.write_text('index,mid,display_name\n0,/m/09x0r,"Speech"\n1,/m/05zppz,"Male speech, man speaking"\n'
                        '2,/m/03m9d0z," Wind "\n')
    assert load_vocabulary(audioset) == ["Speech", "Male speech, man speaking", "Wind"]
    plain = tmp_path / "plain.csv"
    plain.write_text("keyword\nSiren\n  Rain\nNone\n")
    assert load_vocabulary(str(plain)) == ["Siren", "Rain", "None"]
    cases = {"no_column.csv": ("label\nSiren\n", "keyword"), "empty.csv": ("keyword\n", "empty"),
             "dupes.csv": ("keyword\nSiren\nRain\nSiren \n", "repeats"),
             "blank.csv": ('keyword\nSiren\n" "\n', "empty keywords")}
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(WorkbenchError, match=message):
            load_vocabulary(tmp_path / name)
    with pytest.raises(WorkbenchError, match="not found"):
        load_vocabulary(tmp_path / "missing.csv")


def test_labels_and_captions_load_from_the_data_files(tmp_path):
    assert sound_words.LABELS == sound_words.load_labels(sound_words.LABELS_PATH)
    assert sound_words.LABELS[("siren", "wail")][0] == "Siren"
    clauses, joins = sound_words.load_captions()
    assert clauses == CLAUSES and set(clauses) == set(sound_words.LABELS) and len(joins) >= 5
    assert all(len(pool) >= 5 and all(c == c.strip() and not c.endswith(".") for c in pool)
               for pool in clauses.values())
    cases = {"missing.json": (None, "not found"), "broken.json": ("{", "not valid JSON"),
             "flat.json": ('{"labels": ["Siren"]}', "expected"), "list.json": ("[]", "JSON object")}
    for name, (text, message) in cases.items():
        if text is not None:
            (tmp_path / name).write_text(text)
        with pytest.raises(WorkbenchError, match=message):
            sound_words.load_labels(tmp_path / name)
    (tmp_path / "nojoins.json").write_text('{"clauses": {"siren": {"wail": ["a siren wails"]}}}')
    with pytest.raises(WorkbenchError, match="joins"):
        sound_words.load_captions(tmp_path / "nojoins.json")
