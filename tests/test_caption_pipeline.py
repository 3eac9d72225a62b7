"""Captioning end to end (P9) with a small scorer and a tiny LM: keywords → prompt → three decoders → metrics; the
caption-set loaders; the CLI."""
import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from workbench import WorkbenchError
from workbench.captioning.captioner import Captioner
from workbench.captioning.clap import ClapConfig, default_scorer
from workbench.captioning.evaluation import evaluate, load_caption_set
from workbench.captioning.synth import SoundCorpusConfig, load_vocabulary, render, sound_corpus
from workbench.media.audio_encoders import CNNConfig

CORPUS = SoundCorpusConfig(n_per_class=4, mixtures=4, seconds=2.0)
CLAP = ClapConfig(audio=CNNConfig(channels=(8, 16, 32), dim=64, max_seconds=2.0), dim=64, epochs=15)


@pytest.fixture(scope="module")
def captioner():
    from workbench.models import load

    return Captioner(default_scorer(corpus=CORPUS, config=CLAP), load("tiny-llama"), load_vocabulary())


def test_caption_one_clip_with_every_decoder(captioner):
    audio = render("siren", 1, seconds=2.0)
    out = captioner.caption(audio, l=2, k=5, max_new_tokens=6)
    assert [kw["keyword"] for kw in out["keywords"]] == [kw["keyword"] for kw in captioner.keywords(
        captioner.scorer.embed_audio([audio])[0], 2)]
    assert out["keywords"][0]["score"] >= out["keywords"][1]["score"]
    assert out["keywords"][0]["keyword"].lower() in out["prompt"].lower()
    assert set(out["captions"]) == {"greedy", "contrastive", "magic"}
    assert all(isinstance(t, str) for t in out["captions"].values())
    assert all(-1.0 <= s <= 1.0 for s in out["audio_scores"].values())
    assert "Objects" not in captioner.caption(audio, l=0, decoders=("greedy",), max_new_tokens=2)["prompt"]
    with pytest.raises(WorkbenchError, match="unknown decoder"):
        captioner.caption(audio, decoders=("beam",))


def test_evaluation_reports_metrics_audio_scores_and_the_ablation(captioner):
    clips = sound_corpus(CORPUS).query("split == 'eval'").head(3)
    result = evaluate(captioner, clips, l=1, ablation=(0, 2), k=4, max_new_tokens=5)
    assert list(result["metrics"]["decoder"]) == ["greedy", "contrastive", "magic"]
    assert {"BLEU-1", "ROUGE-L", "CIDEr-D", "NLG mean", "audio–caption cosine"} <= set(result["metrics"].columns)
    assert list(result["ablation"]["l"]) == [0, 1, 2]
    assert set(result["not_computed"]) == {"SPICE", "SPIDEr"}
    out = result["outputs"]
    assert len(out) == 3 * 3 + 3 * 2 and (out[out["l"] == 0]["keywords"].map(len) == 0).all()


def test_evaluation_with_an_independent_judge(captioner):
    from workbench.captioning.clap import judge_scorer
    from workbench.captioning.evaluation import GUIDE_COSINE, JUDGE_SCORE

    judge = judge_scorer(corpus=CORPUS, config=CLAP)
    assert judge.name != captioner.scorer.name and judge.models[-1] == "minilm-l6"
    clips = sound_corpus(CORPUS).query("split == 'eval'").head(2)
    result = evaluate(captioner, clips, l=1, ablation=(), decoders=("greedy", "magic"), k=4, max_new_tokens=4,
                      judge=judge)
    assert {JUDGE_SCORE, GUIDE_COSINE} <= set(result["metrics"].columns) and result["judge"] == judge.name
    assert result["outputs"]["judge_score"].between(-1.001, 1.001).all()
    assert f"{judge.name} (judge)" in result["models"]


def test_caption_sets_in_their_layouts(tmp_path):
    sf.write(tmp_path / "a.wav", render("rain", 0, seconds=1.0), 16000)
    (tmp_path / "sub").mkdir()
    sf.write(tmp_path / "sub" / "b.wav", render("wind", 0, seconds=1.0), 16000)
    clotho = tmp_path / "clotho"
    clotho.mkdir()
    (clotho / "a.wav").write_bytes((tmp_path / "a.wav").read_bytes())
    pd.DataFrame([{"file_name": "a.wav", **{f"caption_{i}": f"rain falls {i}" for i in range(1, 6)}}]).to_csv(
        clotho / "captions.csv", index=False)
    frame = load_caption_set(clotho)
    assert len(frame) == 1 and len(frame["captions"][0]) == 5
    pd.DataFrame({"file": ["a.wav", "a.wav", "b.wav"], "caption": ["rain", "rain falls", "wind blows"]}).to_csv(
        tmp_path / "set.csv", index=False)
    frame = load_caption_set(tmp_path)
    assert dict(zip(frame["id"], frame["captions"].map(len))) == {"a": 2, "b": 1}   # b found below the folder
    js = tmp_path / "js"
    js.mkdir()
    (js / "a.wav").write_bytes((tmp_path / "a.wav").read_bytes())
    (js / "set.json").write_text(json.dumps({"data": [{"audio": "a.wav", "caption": "rain"}]}))
    assert load_caption_set(js)["captions"][0] == ["rain"]
    (js / "set.json").write_text(json.dumps([{"audio": "zzz.wav", "captions": ["x"]}]))
    with pytest.raises(WorkbenchError, match="missing, e.g. zzz.wav"):
        load_caption_set(js)
    (js / "set.json").write_text("{broken")
    with pytest.raises(WorkbenchError, match="not valid JSON"):
        load_caption_set(js)
    with pytest.raises(WorkbenchError, match="no manifest.parquet, CSV or JSON"):
        load_caption_set(tmp_path / "sub")


def test_cli_caption_json_and_bad_files(captioner, tmp_path, monkeypatch, capsys):
    import workbench.cli.caption as cli
    from workbench.cli.main import main

    monkeypatch.setattr(cli, "_captioner", lambda vocabulary, scorer=None: captioner)
    sf.write(tmp_path / "siren.wav", render("siren", 3, seconds=2.0), 16000)
    assert main(["caption", str(tmp_path / "siren.wav"), "--json", "--k", "4", "--max-new-tokens", "4"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"keywords", "prompt", "captions"} and len(out["keywords"]) == 2
    assert set(out["keywords"][0]) == {"keyword", "score"} and set(out["captions"]) == {"greedy", "contrastive",
                                                                                         "magic"}
    sf.write(tmp_path / "quiet.wav", np.zeros(16000, np.float32), 16000)
    assert main(["caption", str(tmp_path / "quiet.wav")]) == 2
    assert "silent" in capsys.readouterr().err
    (tmp_path / "bad.wav").write_bytes(b"RIFF....WAVEjunk")
    assert main(["caption", str(tmp_path / "bad.wav")]) == 2
    assert "bad.wav" in capsys.readouterr().err
    assert main(["caption-eval", "--data", str(tmp_path), "--limit", "1"]) == 1      # no captions file: one line
    assert "no manifest.parquet" in capsys.readouterr().err
