"""The P9 scorer comparison (captioning.compare): R@k on hand-computed cases, a planted-strength pair of scorers,
the comparison table, the cache scan for CLAP-family models and the named-scorer errors."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from workbench import WorkbenchError
from workbench.captioning.compare import (DELTA, cached_clap_models, compare_scorers, load_named_scorer,
                                          recall_at_k, retrieval_recall, scorer_names, strength_rows)


def test_recall_at_k_by_hand():
    sim = np.array([[0.9, 0.1, 0.5],       # ranks 0, 2, 1: relevant item 1 is third
                    [0.2, 0.8, 0.1],       # ranks 1, 0, 2: relevant item 1 is first
                    [0.5, 0.5, 0.0]])      # a tie: stable order puts 0 before 1; relevant 1 is second
    rel = np.array([[0, 1, 0], [0, 1, 0], [0, 1, 0]], bool)
    hits = recall_at_k(sim, rel, ks=(1, 2, 3))
    assert hits[1].tolist() == [0, 1, 0] and hits[2].tolist() == [0, 1, 1] and hits[3].tolist() == [1, 1, 1]
    with pytest.raises(WorkbenchError, match="same 2-D shape"):
        recall_at_k(sim, rel[:2])


class _PlantedScorer:
    """Embeds audio by the clip's label set (read from a planted tone) and text by its first word, with noise:
    ``noise`` 0 is a perfect scorer, a large ``noise`` a useless one."""

    def __init__(self, classes, noise, name):
        self.classes, self.noise, self.name = list(classes), noise, name
        self.rng = np.random.default_rng(0)
        self.models = [name]
        self.logit_scale = 10.0

    def _onehot(self, i):
        v = np.zeros(len(self.classes) + 8)
        v[i] = 1.0
        return v

    def _norm(self, x):
        x = x + self.noise * self.rng.standard_normal(x.shape)
        return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)

    def embed_audio(self, audios):
        return self._norm(np.stack([self._onehot(int(round(float(a[0])))) for a in audios]))

    def embed_text(self, texts):
        return self._norm(np.stack([self._onehot(self.classes.index(t.split()[0]) if t.split()[0] in self.classes
                                                 else len(self.classes)) for t in texts]))


@pytest.fixture()
def planted_clips(monkeypatch):
    """Four classes × three clips; "reading" a clip gives its class index (the planted signal)."""
    import workbench.media.audio as audio

    classes = ["dog", "rain", "siren", "bell"]
    rows = [{"id": f"{name}{j}", "path": f"{name}{j}.wav", "labels": [name],
             "captions": [f"{name} sound number {j}", f"{name} heard from afar"]}
            for name in classes for j in range(3)]
    monkeypatch.setattr(audio, "load_audio", lambda path, **_: _tone(path, classes))
    return classes, pd.DataFrame(rows)


def _tone(path, classes):
    return np.array([float(classes.index(str(path).removesuffix(".wav").rstrip("0123456789")))], np.float32)


def test_retrieval_tells_a_strong_scorer_from_a_weak_one(planted_clips):
    classes, clips = planted_clips
    strong = retrieval_recall(_PlantedScorer(classes, 0.0, "strong"), clips)
    weak = retrieval_recall(_PlantedScorer(classes, 3.0, "weak"), clips)
    assert strong["audio_to_text"]["R@1"] == 1.0 and strong["text_to_audio"]["R@1"] == 1.0
    assert weak["audio_to_text"]["R@1"] < 0.8
    assert strong["queries"] == {"audio": 12, "text": 24}
    lo, hi = weak["text_to_audio"]["R@1_ci"]
    assert lo <= weak["text_to_audio"]["R@1"] <= hi
    with pytest.raises(WorkbenchError, match="at least two clips"):
        retrieval_recall(_PlantedScorer(classes, 0.0, "s"), clips.head(1))


def test_compare_scorers_table_and_paired_change(planted_clips, monkeypatch):
    """Decoding is replaced by captions that name the scorer's top keyword, so the strong scorer's captions are
    right and the judge (the perfect scorer) prefers them: the table must show it with a paired interval."""
    import workbench.captioning.evaluation as evaluation

    classes, clips = planted_clips

    def fake_evaluate(captioner, clips, *, l, ablation, decoders, judge, **_):
        emb = captioner.scorer.embed_audio([_tone(p, classes) for p in clips["path"]])
        rows = []
        for n_kw in sorted(set(ablation) | {l}):
            for i, clip in clips.iterrows():
                top = classes[int(np.argmax(emb[i][:len(classes)]))] if n_kw else "something"
                rows.append({"id": clip["id"], "l": n_kw, "decoder": "magic", "caption": f"{top} sound",
                             "references": list(clip["captions"])})
        out = pd.DataFrame(rows)
        ja = judge.embed_audio([_tone(p, classes) for p in clips["path"]])
        where = {c: i for i, c in enumerate(clips["id"])}
        out["judge_score"] = np.einsum("nd,nd->n", judge.embed_text(list(out["caption"])),
                                       ja[[where[c] for c in out["id"]]])
        return {"outputs": out}

    monkeypatch.setattr(evaluation, "evaluate", fake_evaluate)
    judge = _PlantedScorer(classes, 0.0, "judge")
    result = compare_scorers({"weak": _PlantedScorer(classes, 3.0, "weak"),
                              "strong": _PlantedScorer(classes, 0.0, "strong")}, None, classes, clips,
                             judge=judge, ablation=(0, 1))
    table = pd.DataFrame(result["ablation"])
    strong1 = table[(table["scorer"] == "strong") & (table["l"] == 1)].iloc[0]
    weak1 = table[(table["scorer"] == "weak") & (table["l"] == 1)].iloc[0]
    assert strong1[DELTA]["value"] > 0 and strong1[DELTA]["ci"][0] > 0      # strong beats the first (weak) scorer
    assert weak1[DELTA]["value"] == 0
    rows = strength_rows(result, l=1)
    assert [r["scorer"] for r in rows] == ["weak", "strong"] and rows[1]["recall"] > rows[0]["recall"]
    assert rows[1]["judge"] > rows[0]["judge"]
    with pytest.raises(WorkbenchError, match="no keyword count l = 7"):
        strength_rows(result, l=7)
    from workbench.viz.captions import scorer_strength_figure

    fig = scorer_strength_figure(result)
    assert [t.name for t in fig.data] == ["l = 0 keywords", "l = 1 keywords"]
    assert list(fig.data[1].text) == ["weak", "strong"] and fig.data[1].y[1] > fig.data[1].y[0]
    with pytest.raises(WorkbenchError, match="independent judge"):
        compare_scorers({"s": judge}, None, classes, clips, judge=None)


def test_scorer_names_and_cache_scan(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    import workbench.models.sources as sources

    monkeypatch.setattr(sources, "hf_cache_dir", lambda: tmp_path)
    for repo, kind in (("laion/larger_clap_music", "clap"), ("someone/bert", "bert")):
        snap = tmp_path / f"models--{repo.replace('/', '--')}" / "snapshots" / "abc"
        snap.mkdir(parents=True)
        (snap / "config.json").write_text(json.dumps({"model_type": kind}))
    assert list(cached_clap_models()) == ["laion/larger_clap_music"]
    assert scorer_names("default") == ["tiny-clap", "tiny-clap-small"]
    assert scorer_names("paper") == ["clap-htsat-unfused", "hf:laion/larger_clap_music", "tiny-clap"]
    with pytest.raises(WorkbenchError, match="unknown audio-text scorer 'nope'.*tiny-clap, tiny-clap-small"):
        load_named_scorer("nope", profile="default")


def test_the_small_scorer_trains_on_a_few_clips_per_class(monkeypatch, tmp_path):
    """The two default scorers differ in training size alone: same configuration, the first ``per_class`` train
    clips of every class, cached under its own key."""
    import workbench.captioning.clap as clap
    from workbench.captioning.synth import SoundCorpusConfig, sound_corpus

    corpus = SoundCorpusConfig(n_per_class=4, mixtures=4, seconds=2.0)
    seen = {}

    def fake_train(manifest, config, progress=None):
        seen["rows"], seen["config"] = manifest.copy(), config
        raise WorkbenchError("stop here")

    monkeypatch.setattr(clap, "train_clap", fake_train)
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))
    config = clap.ClapConfig(epochs=3)
    with pytest.raises(WorkbenchError, match="stop here"):
        clap.small_scorer(2, corpus=corpus, config=config)
    train = sound_corpus(corpus).query("split == 'train'")
    assert len(seen["rows"]) == 2 * train["class"].nunique() and seen["config"] == config
    assert set(seen["rows"]["split"]) == {"train"} and seen["rows"].groupby("class").size().eq(2).all()
    assert clap.small_scorer_folder(2, corpus=corpus, config=config) != clap.small_scorer_folder(
        3, corpus=corpus, config=config) != clap.default_scorer_folder(corpus=corpus, config=config)
    with pytest.raises(WorkbenchError, match="at least 1"):
        clap.small_scorer(0, corpus=corpus, config=config)


def test_cli_caption_scorer_option(tmp_path, capsys):
    import soundfile as sf

    from workbench.cli.main import main

    clip = tmp_path / "clip.wav"
    sf.write(clip, 0.3 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000).astype(np.float32), 16000)
    code = main(["caption", "run", str(clip), "--scorer", "nope", "--decoder", "greedy"])
    err = capsys.readouterr().err
    assert code == 1 and "unknown audio-text scorer 'nope'" in err and "tiny-clap-small" in err
