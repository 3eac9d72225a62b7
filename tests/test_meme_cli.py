"""`workbench meme train|eval|classify` (P5) on the smoke synthetic memes and a Hateful Memes fixture tree."""
import json

import cv2
import numpy as np
import pytest

from workbench.cli.main import main


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("meme-model")
    assert main(["meme", "train", "--data", "synthetic", "--smoke", "--settings", "none,knowledge+lora",
                 "--out", str(out)]) == 0
    return out


def _picture(path, seed=0):
    rng = np.random.default_rng(seed)
    img = (rng.random((90, 120, 3)) * 255).astype(np.uint8)
    cv2.circle(img, (60, 45), 20, (0, 0, 255), -1)
    cv2.imwrite(str(path), img)
    return path


def test_classify_any_png_or_jpeg(model_dir, tmp_path, capsys):
    for name in ("photo.jpg", "drawing.png"):
        path = _picture(tmp_path / name)
        code = main(["meme", "classify", str(path), "--text", "Sorrenians are vermin", "--model", str(model_dir),
                     "--no-llm", "--json"])
        assert code == 0
        out = json.loads(capsys.readouterr().out)
        assert {"label", "confidence", "triples", "explanation"} <= set(out)
        assert out["label"] in ("benign", "satire", "abusive") and 0 < out["confidence"] <= 1
        assert any(t["head"] == "vermin" for t in out["triples"])
        assert [s for s in ("visual_cue", "textual_cue", "knowledge_link", "verdict") if s in out["explanation"]] \
            == ["visual_cue", "textual_cue", "knowledge_link", "verdict"]
    assert main(["meme", "classify", str(tmp_path / "photo.jpg"), "--text", "hello there", "--model", str(model_dir),
                 "--setting", "none", "--no-llm"]) == 0
    text = capsys.readouterr().out
    assert "label:" in text and "explanation:" in text and "This model uses no background knowledge" in text


def test_classify_rejects_corrupt_and_empty_files(tmp_path, capsys):
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    (tmp_path / "empty.png").write_bytes(b"")
    for name in ("broken.jpg", "empty.png", "absent.png"):
        assert main(["meme", "classify", str(tmp_path / name), "--text", "x"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and name in err


def _hateful_memes(root, n=30):
    (root / "img").mkdir(parents=True)
    lines = {"train": [], "dev": []}
    for i in range(n):
        label = i % 2
        text = f"{'they are vermin, send them back' if label else 'lovely day at the park with friends'} {i}"
        _picture(root / "img" / f"{10000 + i}.png", seed=i)
        split = "dev" if i % 5 == 0 else "train"
        lines[split].append(json.dumps({"id": 10000 + i, "img": f"img/{10000 + i}.png", "label": label, "text": text}))
    for split, rows in lines.items():
        (root / f"{split}.jsonl").write_text("\n".join(rows) + "\n")
    # the test split of the public release has no labels
    (root / "test.jsonl").write_text(json.dumps({"id": 10000, "img": "img/10000.png", "text": "x"}) + "\n")


def test_eval_runs_the_ablation_on_a_hateful_memes_tree(tmp_path, capsys):
    _hateful_memes(tmp_path / "hm")
    out = tmp_path / "run"
    assert main(["meme", "eval", "--data", str(tmp_path / "hm"), "--format", "hateful_memes", "--smoke",
                 "--settings", "none,knowledge", "--n-boot", "50", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "6 memes (hateful_memes)" in printed and "knowledge vs none" in printed
    report = json.loads((out / "report.json").read_text())
    assert report["classes"] == ["not_hateful", "hateful"] and set(report["confusion"]) == {"none", "knowledge"}
    assert report["flip_groups"] == [] or all(f["groups"] == 0 for f in report["flip_groups"])
    import pandas as pd

    metrics = pd.read_csv(out / "metrics.csv")
    assert list(metrics["setting"]) == ["none", "knowledge"]
    assert ((metrics["macro_f1_lo"] <= metrics["macro_f1"]) & (metrics["macro_f1"] <= metrics["macro_f1_hi"])).all()
    assert len(pd.read_parquet(out / "predictions.parquet")) == 12


def test_eval_of_saved_models_checks_classes(model_dir, tmp_path, capsys):
    assert main(["meme", "eval", "--data", "synthetic", "--smoke", "--model", str(model_dir), "--n-boot", "50"]) == 0
    printed = capsys.readouterr().out
    assert "knowledge+lora vs none" in printed and "knowledge+lora: flip groups all right" in printed
    _hateful_memes(tmp_path / "hm", n=10)
    assert main(["meme", "eval", "--data", str(tmp_path / "hm"), "--model", str(model_dir)]) == 1
    assert "predicts" in capsys.readouterr().err


def test_classify_with_a_full_conceptnet_dump(model_dir, tmp_path, capsys):
    import gzip

    dump = tmp_path / "conceptnet-assertions.csv.gz"
    with gzip.open(dump, "wt", encoding="utf-8") as f:
        f.write("\t".join(["/a/[x]", "/r/IsA", "/c/en/zorblat/n", "/c/en/vermin", json.dumps({"weight": 2.0})]) + "\n")
    image = _picture(tmp_path / "m.png")
    assert main(["meme", "classify", str(image), "--text", "the zorblat again", "--model", str(model_dir),
                 "--conceptnet", str(dump), "--no-llm", "--json"]) == 0
    triples = json.loads(capsys.readouterr().out)["triples"]
    assert any({"head": "zorblat", "relation": "IsA", "tail": "vermin"}.items() <= t.items() for t in triples)
    # the dump replaced the bundled edges (lexicon triples from the image tags may still be there)
    assert all(t["head"] == "zorblat" for t in triples if t["source"] == "conceptnet")
