import json
import os

import numpy as np
import pytest
import soundfile as sf

from workbench import WorkbenchError
from workbench.deepfake.datasets import (COLUMNS, FORMATS, detect_format, load_asvspoof2019_la, load_dataset,
                                         load_decro, load_dfdc, load_fakeavceleb, load_folder)


def _flac(path, seconds=0.05):
    path.parent.mkdir(parents=True, exist_ok=True)
    noise = np.random.default_rng(len(str(path))).uniform(-0.3, 0.3, int(16000 * seconds)).astype(np.float32)
    sf.write(path, noise, 16000)
    return path


def _blob(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00not-decoded-by-loaders")
    return path


def _check_common(frame):
    assert list(frame.columns[: len(COLUMNS)]) == COLUMNS
    assert frame["y"].dtype == np.int64
    assert set(frame["label"]) <= {"bonafide", "spoof"}
    assert (frame["y"] == (frame["label"] == "bonafide").astype(int)).all()
    assert all(os.path.isabs(p) and os.path.isfile(p) for p in frame["path"])
    assert frame["id"].is_unique


# ------------------------------------------------------------------------------------------ ASVspoof 2019 LA

ASV_LINES = {
    "train": ["LA_0079 LA_T_1138215 - - bonafide", "LA_0079 LA_T_1271820 - A01 spoof",
              "LA_0080 LA_T_1553451 - A06 spoof"],
    "dev": ["LA_0069 LA_D_1047731 - - bonafide", "LA_0069 LA_D_1105538 - A02 spoof"],
    "eval": ["LA_0039 LA_E_2834763 - A11 spoof", "LA_0014 LA_E_8877452 - - bonafide"],
}
PROTOS = {"train": "ASVspoof2019.LA.cm.train.trn.txt", "dev": "ASVspoof2019.LA.cm.dev.trl.txt",
          "eval": "ASVspoof2019.LA.cm.eval.trl.txt"}


@pytest.fixture
def asv_root(tmp_path):
    la = tmp_path / "LA"
    protos = la / "ASVspoof2019_LA_cm_protocols"
    protos.mkdir(parents=True)
    for split, lines in ASV_LINES.items():
        (protos / PROTOS[split]).write_text("\n".join(lines) + "\n")
        for line in lines:
            _flac(la / f"ASVspoof2019_LA_{split}" / "flac" / f"{line.split()[1]}.flac")
    return tmp_path


def test_asvspoof_rows_labels_splits_attacks(asv_root):
    frame = load_asvspoof2019_la(asv_root)
    _check_common(frame)
    assert len(frame) == 7
    row = frame.set_index("id").loc["LA_T_1271820"]
    assert (row["label"], row["y"], row["attack"], row["split"], row["speaker"]) == ("spoof", 0, "A01", "train",
                                                                                       "LA_0079")
    assert row["path"].endswith(os.path.join("LA", "ASVspoof2019_LA_train", "flac", "LA_T_1271820.flac"))
    bona = frame.set_index("id").loc["LA_T_1138215"]
    assert (bona["label"], bona["y"], bona["attack"]) == ("bonafide", 1, "")
    assert frame["split"].value_counts().to_dict() == {"train": 3, "dev": 2, "eval": 2}
    assert set(frame["modality"]) == {"audio"} and set(frame["source"]) == {"ASVspoof2019-LA"}
    assert set(frame["language"]) == {"en"}
    assert sorted(frame["attack"].unique()) == ["", "A01", "A02", "A06", "A11"]


def test_asvspoof_split_choice_and_la_root(asv_root):
    dev = load_asvspoof2019_la(asv_root / "LA", splits="dev")
    assert dev["id"].tolist() == ["LA_D_1047731", "LA_D_1105538"]
    with pytest.raises(WorkbenchError, match="unknown split"):
        load_asvspoof2019_la(asv_root, splits=("test",))


@pytest.mark.parametrize("bad, message", [
    ("LA_0079 LA_T_9999999 - A01", r"line 2: expected 5 fields .* found 4"),
    ("LA_0079 LA_T_9999999 - A01 fake", r"line 2: label must be 'bonafide' or 'spoof', not 'fake'"),
])
def test_asvspoof_malformed_line(asv_root, bad, message):
    proto = asv_root / "LA" / "ASVspoof2019_LA_cm_protocols" / PROTOS["train"]
    lines = ASV_LINES["train"]
    proto.write_text("\n".join([lines[0], bad, *lines[1:]]) + "\n")
    with pytest.raises(WorkbenchError, match=r"ASVspoof2019\.LA\.cm\.train\.trn\.txt: " + message):
        load_asvspoof2019_la(asv_root)


def test_asvspoof_missing_audio(asv_root):
    (asv_root / "LA" / "ASVspoof2019_LA_dev" / "flac" / "LA_D_1105538.flac").unlink()
    with pytest.raises(WorkbenchError, match=r"1 of 7 listed media file\(s\) are missing, e.g. .*LA_D_1105538"
                                             r"\.flac; pass missing='skip'"):
        load_asvspoof2019_la(asv_root)
    with pytest.warns(UserWarning, match=r"dropped 1 of 7 row\(s\)"):
        frame = load_asvspoof2019_la(asv_root, missing="skip")
    assert len(frame) == 6 and "LA_D_1105538" not in set(frame["id"])
    with pytest.raises(WorkbenchError, match="missing must be"):
        load_asvspoof2019_la(asv_root, missing="ignore")


def test_asvspoof_missing_protocol_and_folder(asv_root, tmp_path):
    (asv_root / "LA" / "ASVspoof2019_LA_cm_protocols" / PROTOS["eval"]).unlink()
    with pytest.raises(WorkbenchError, match=r"ASVspoof2019\.LA\.cm\.eval\.trl\.txt: no such file"):
        load_asvspoof2019_la(asv_root)
    assert len(load_asvspoof2019_la(asv_root, splits=("train", "dev"))) == 5
    other = tmp_path / "elsewhere"
    other.mkdir()
    with pytest.raises(WorkbenchError, match="not an ASVspoof 2019 LA folder"):
        load_asvspoof2019_la(other)


# ---------------------------------------------------------------------------------------------------- DECRO


def test_decro_full_layout(tmp_path):
    for lang in ("en", "ch"):
        for split in ("train", "dev", "eval"):
            _flac(tmp_path / lang / split / "bonafide" / f"{lang}_{split}_real_0001.flac")
            _flac(tmp_path / lang / split / "spoof" / f"{lang}_{split}_fake_0001.flac")
    _flac(tmp_path / "en" / "train" / "spoof" / "more" / "nested.flac")
    frame = load_decro(tmp_path)
    _check_common(frame)
    assert len(frame) == 13
    assert frame["language"].value_counts().to_dict() == {"en": 7, "zh": 6}
    assert set(frame["subset"]) == {"en", "ch"} and set(frame["source"]) == {"DECRO"}
    row = frame.set_index("id").loc["ch/dev/spoof/ch_dev_fake_0001"]
    assert (row["label"], row["y"], row["split"], row["language"]) == ("spoof", 0, "dev", "zh")
    assert frame[frame["label"] == "bonafide"]["y"].eq(1).all()
    assert len(load_decro(tmp_path, languages="en", splits=("eval",))) == 2


def test_decro_partial_and_empty(tmp_path):
    _flac(tmp_path / "en" / "train" / "bonafide" / "a.wav")
    with pytest.warns(UserWarning, match="DECRO folder"):
        frame = load_decro(tmp_path)
    assert frame["id"].tolist() == ["en/train/bonafide/a"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(WorkbenchError, match="no DECRO audio found"):
        load_decro(empty)
    with pytest.raises(WorkbenchError, match="unknown DECRO language"):
        load_decro(tmp_path, languages=("fr",))


# ---------------------------------------------------------------------------------------------- FakeAVCeleb

FAV_ROWS = [  # source,target1,target2,method,category,type,race,gender,path
    ("id00076", "-", "-", "real", "A", "RealVideo-RealAudio", "African", "men", "00109.mp4"),
    ("id00076", "-", "-", "rtvc", "B", "RealVideo-FakeAudio", "African", "men", "00109_fake.mp4"),
    ("id00032", "id00098", "-", "faceswap", "C", "FakeVideo-RealAudio", "Asian (South)", "women",
     "00028_id00098_faceswap.mp4"),
    ("id00032", "id00098", "-", "fsgan-wav2lip", "D", "FakeVideo-FakeAudio", "Asian (South)", "women",
     "00028_id00098_wavtolip.mp4"),
]
FAV_HEADER = "source,target1,target2,method,category,type,race,gender,path"


def _fav_files(root):
    for r in FAV_ROWS:
        _blob(root / r[5] / r[6] / r[7] / r[0] / r[8])


def test_fakeavceleb_with_unnamed_index_column(tmp_path):
    _fav_files(tmp_path)
    lines = ["," + FAV_HEADER] + [f"{i}," + ",".join(r) for i, r in enumerate(FAV_ROWS)]
    (tmp_path / "meta_data.csv").write_text("\n".join(lines) + "\n")
    frame = load_fakeavceleb(tmp_path)
    _check_common(frame)
    assert frame["label"].tolist() == ["bonafide", "spoof", "spoof", "spoof"]
    assert frame["y"].tolist() == [1, 0, 0, 0]
    assert frame["video_y"].tolist() == [1, 1, 0, 0]
    assert frame["audio_y"].tolist() == [1, 0, 1, 0]
    assert frame["attack"].tolist() == ["", "rtvc", "faceswap", "fsgan-wav2lip"]
    assert frame["speaker"].tolist() == ["id00076", "id00076", "id00032", "id00032"]
    assert set(frame["modality"]) == {"audiovisual"} and set(frame["split"]) == {"all"}
    assert set(frame["source"]) == {"FakeAVCeleb"}
    assert frame["id"][0] == "RealVideo-RealAudio/African/men/id00076/00109"
    assert "Unnamed: 0" not in frame.columns
    assert frame["path"][2].endswith(os.path.join("FakeVideo-RealAudio", "Asian (South)", "women", "id00032",
                                                  "00028_id00098_faceswap.mp4"))


@pytest.mark.parametrize("header_suffix", [",", ""])
def test_fakeavceleb_public_csv_with_trailing_folder_column(tmp_path, header_suffix):
    _fav_files(tmp_path)
    lines = [FAV_HEADER + header_suffix] + [",".join(r) + f",FakeAVCeleb/{r[5]}/{r[6]}/{r[7]}/{r[0]}"
                                            for r in FAV_ROWS]
    (tmp_path / "meta_data.csv").write_text("\n".join(lines) + "\n")
    frame = load_fakeavceleb(tmp_path)
    assert frame["y"].tolist() == [1, 0, 0, 0]
    assert frame["race"].tolist() == ["African", "African", "Asian (South)", "Asian (South)"]


def test_fakeavceleb_missing_and_bad_type(tmp_path):
    _fav_files(tmp_path)
    (tmp_path / "RealVideo-FakeAudio" / "African" / "men" / "id00076" / "00109_fake.mp4").unlink()
    meta = tmp_path / "meta_data.csv"
    meta.write_text("\n".join([FAV_HEADER] + [",".join(r) for r in FAV_ROWS]) + "\n")
    with pytest.raises(WorkbenchError, match=r"meta_data\.csv: 1 of 4 listed media file\(s\) are missing"):
        load_fakeavceleb(tmp_path)
    with pytest.warns(UserWarning, match="dropped 1 of 4"):
        assert len(load_fakeavceleb(tmp_path, missing="skip")) == 3
    bad = list(FAV_ROWS[0])
    bad[5] = "RealVideo-RealAudio-v2"
    meta.write_text("\n".join([FAV_HEADER, ",".join(FAV_ROWS[1]), ",".join(bad)]) + "\n")
    with pytest.raises(WorkbenchError, match=r"1 row\(s\) with a 'type' other than .* \(lines 3\)"):
        load_fakeavceleb(tmp_path)
    meta.write_text("source,method,path\nid00076,real,00109.mp4\n")
    with pytest.raises(WorkbenchError, match="missing column"):
        load_fakeavceleb(tmp_path)


# ----------------------------------------------------------------------------------------------------- DFDC


def test_dfdc_parts(tmp_path):
    parts = {
        "dfdc_train_part_0": {"aaqaifqrwn.mp4": {"label": "FAKE", "split": "train", "original": "vudstovrck.mp4"},
                              "vudstovrck.mp4": {"label": "REAL", "split": "train", "original": None}},
        "dfdc_train_part_1": {"abarnvbtwb.mp4": {"label": "REAL", "split": "train", "original": None}},
    }
    for part, meta in parts.items():
        (tmp_path / part).mkdir()
        (tmp_path / part / "metadata.json").write_text(json.dumps(meta))
        for clip in meta:
            _blob(tmp_path / part / clip)
    frame = load_dfdc(tmp_path)
    _check_common(frame)
    by_id = frame.set_index("id")
    assert by_id.loc["aaqaifqrwn", "label"] == "spoof" and by_id.loc["aaqaifqrwn", "y"] == 0
    assert by_id.loc["aaqaifqrwn", "original"] == "vudstovrck.mp4"
    assert by_id.loc["vudstovrck", "y"] == 1 and by_id.loc["vudstovrck", "original"] == ""
    assert by_id.loc["abarnvbtwb", "part"] == "dfdc_train_part_1"
    assert set(frame["split"]) == {"train"} and set(frame["modality"]) == {"video"}
    assert set(frame["source"]) == {"DFDC"}
    # a single part folder given directly works too
    assert len(load_dfdc(tmp_path / "dfdc_train_part_0")) == 2


def test_dfdc_errors(tmp_path):
    with pytest.raises(WorkbenchError, match="no metadata.json"):
        load_dfdc(tmp_path)
    (tmp_path / "metadata.json").write_text(json.dumps({"x.mp4": {"label": "MAYBE"}}))
    with pytest.raises(WorkbenchError, match=r"entry 'x.mp4': label must be 'FAKE' or 'REAL'"):
        load_dfdc(tmp_path)
    (tmp_path / "metadata.json").write_text("{not json")
    with pytest.raises(WorkbenchError, match="not valid JSON"):
        load_dfdc(tmp_path)
    (tmp_path / "metadata.json").write_text(json.dumps({"x.mp4": {"label": "REAL"}}))
    with pytest.raises(WorkbenchError, match=r"1 of 1 listed media file\(s\) are missing"):
        load_dfdc(tmp_path)


# ------------------------------------------------------------------------------------------- generic folder


def test_folder_mixed_media(tmp_path):
    root = tmp_path / "mine"
    _flac(root / "real" / "a.flac")
    _blob(root / "real" / "train" / "b.mp4")
    _blob(root / "Fake" / "test" / "deep" / "c.wav")
    _blob(root / "Fake" / "notes.txt")
    with pytest.warns(UserWarning, match="skipped 1 file"):
        frame = load_folder(root)
    _check_common(frame)
    by_id = frame.set_index("id")
    assert by_id.loc["real/a", ["label", "y", "modality", "split"]].tolist() == ["bonafide", 1, "audio", "all"]
    assert by_id.loc["real/train/b", ["modality", "split"]].tolist() == ["video", "train"]
    assert by_id.loc["Fake/test/deep/c", ["label", "y", "split"]].tolist() == ["spoof", 0, "test"]
    assert set(frame["source"]) == {"mine"}
    with pytest.warns(UserWarning, match="skipped 1 file"):
        assert set(load_folder(root, name="custom")["source"]) == {"custom"}


def test_folder_bonafide_spoof_and_errors(tmp_path):
    _flac(tmp_path / "bonafide" / "x.wav")
    _flac(tmp_path / "spoof" / "y.wav")
    assert load_folder(tmp_path)["label"].tolist() == ["bonafide", "spoof"]
    other = tmp_path / "other"
    _flac(other / "clips" / "z.wav")
    with pytest.raises(WorkbenchError, match=r"expected subfolders real/ \(or bonafide/\)"):
        load_folder(other)
    one = tmp_path / "one"
    _flac(one / "real" / "z.wav")
    with pytest.warns(UserWarning, match="the other class is absent"):
        assert len(load_folder(one)) == 1


# -------------------------------------------------------------------------------------------------- dispatch


def test_load_dataset_dispatch(tmp_path, asv_root):
    assert len(load_dataset(asv_root, "asvspoof2019la", splits=("eval",))) == 2
    assert set(FORMATS) == {"asvspoof2019la", "decro", "fakeavceleb", "dfdc", "folder", "manifest"}
    with pytest.raises(WorkbenchError, match="unknown deepfake dataset format 'celebdf'; use auto or one of "
                                             "asvspoof2019la, decro, fakeavceleb, dfdc, folder, manifest"):
        load_dataset(asv_root, "celebdf")
    assert detect_format(asv_root) == "asvspoof2019la" and len(load_dataset(asv_root)) > 2
    with pytest.raises(WorkbenchError, match="no such folder"):
        load_dataset(tmp_path / "absent", "folder")
