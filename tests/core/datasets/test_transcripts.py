"""Editable transcripts: an edit changes the dataset's own copy (undoably), reaches the audio cache training reads,
and never touches the user's recordings or their metadata.csv."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from studio.cli import main as cli
from studio.core.datasets import audio, phonemes
from studio.core.datasets.audio_cache import AudioCache, BuildAudioCache, audio_cache_folder
from studio.core.datasets.importer import ImportDataset, dataset_folder
from studio.core.datasets.manifest import Manifest
from studio.core.datasets.transcripts import (
    EDIT_ACTION,
    MAX_TRANSCRIPT_CHARS,
    clean_transcript,
    edit_transcript,
    find_clip,
    set_transcript,
)
from studio.core.jobs import JobError, run_job

METADATA = "clip0|Hello world, this is a test.\nclip1|A second line?\n"


def tone(path: Path, seconds: float, freq: float, rate: int = 22050) -> None:
    t = np.arange(int(seconds * rate)) / rate
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate, subtype="PCM_16")


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and modification time (ns)."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture
def voice(tmp_path) -> tuple[Path, Path]:
    """(the user's recordings folder, the imported dataset's folder): clip2 has no line in metadata.csv."""
    source = tmp_path / "recordings"
    source.mkdir()
    for i in range(3):
        tone(source / f"clip{i}.wav", 0.75 + 0.25 * i, 220.0 * (i + 1))
    (source / "metadata.csv").write_text(METADATA, encoding="utf-8")
    run_job(ImportDataset(tmp_path / "P", "voice", [source], kind="audio", workers=1))
    return source, dataset_folder(tmp_path / "P", "voice")


def _entry(folder: Path, name: str) -> dict:
    return next(e for e in Manifest.load(folder).entries if e.get("source", "").endswith(name))


def test_setting_a_transcript_updates_the_manifest_and_is_undoable(voice):
    source, folder = voice
    originals = snapshot(source)
    manifest = Manifest.load(folder)
    clip2 = find_clip(manifest, "clip2.wav")
    assert "transcript" not in clip2 and audio.NO_TRANSCRIPT in clip2["flags"]
    before = dict(clip2)

    assert set_transcript(manifest, clip2["id"], "  Third\nline,  typed in. ")
    manifest.save()
    edited = _entry(folder, "clip2.wav")
    assert edited["transcript"] == "Third line, typed in."
    assert audio.NO_TRANSCRIPT not in (edited.get("flags") or [])
    assert edited["id"] == clip2["id"] and edited["item"] == clip2["item"]  # the same clip, only the text differs
    assert not set_transcript(manifest, clip2["id"], "Third line, typed in.")  # unchanged: no history entry

    reloaded = Manifest.load(folder)  # the edit and its undo record survive a restart
    assert reloaded.history[-1]["action"] == EDIT_ACTION
    assert reloaded.undo() == EDIT_ACTION
    reloaded.save()
    assert _entry(folder, "clip2.wav") == before
    assert snapshot(source) == originals  # metadata.csv and the recordings beside it were never written


def test_clearing_a_transcript_brings_the_flag_back(voice):
    _source, folder = voice
    manifest = Manifest.load(folder)
    clip0 = find_clip(manifest, "clip0")
    assert clip0["transcript"] == "Hello world, this is a test."
    assert set_transcript(manifest, clip0["id"], "   ")
    cleared = manifest.by_id()[clip0["id"]]
    assert "transcript" not in cleared and cleared["flags"] == [audio.NO_TRANSCRIPT]
    assert clip0["id"] in manifest.flagged_ids()
    assert manifest.undo() == EDIT_ACTION and manifest.by_id()[clip0["id"]]["transcript"] == clip0["transcript"]


def test_an_edit_reaches_the_audio_cache_training_reads_and_rebuilds_only_the_phonemes(voice):
    source, folder = voice
    run_job(BuildAudioCache(folder))
    cache_dir = audio_cache_folder(folder, 22050, 80, 256)
    mels_before = (cache_dir / "mels.f16").stat()
    clip2 = find_clip(Manifest.load(folder), "clip2")

    result = edit_transcript(folder, "clip2.wav", "The third clip, at last.")
    assert result["changed"] and result["item"] == clip2["id"] and result["without_transcript"] == 0
    with pytest.raises(JobError, match="changed since"):  # stale: training never reads the old text
        AudioCache.open(folder)

    update = run_job(BuildAudioCache(folder))  # what every training run does first
    assert update["transcripts_only"] and update["with_phonemes"] == 3
    cache = AudioCache.open(folder)
    row = cache.info["ids"].index(clip2["id"])
    assert cache.info["transcripts"][row] == "The third clip, at last."
    assert cache.has_transcript(row)
    assert cache.phoneme_ids(row).tolist() == phonemes.phoneme_ids("The third clip, at last.")
    mels_after = (cache_dir / "mels.f16").stat()
    assert (mels_after.st_ino, mels_after.st_mtime_ns) == (mels_before.st_ino, mels_before.st_mtime_ns)

    partial = {name: (cache_dir / name).read_bytes() for name in ("mels.f16", "audio.i16", "phonemes.u16")}
    partial_info = dict(cache.info)
    del cache
    run_job(BuildAudioCache(folder, force=True))  # a full rebuild gives the very same cache
    assert partial == {name: (cache_dir / name).read_bytes() for name in partial}
    full = AudioCache.open(folder)
    for key in ("fingerprint", "phonemes", "transcripts", "phoneme_count", "frames", "files"):
        assert partial_info[key] == full.info[key], key

    edit_transcript(folder, clip2["id"], "")  # cleared: the clip teaches sound only again
    run_job(BuildAudioCache(folder))
    assert not AudioCache.open(folder).has_transcript(row)
    assert (source / "metadata.csv").read_text(encoding="utf-8") == METADATA


def test_clips_are_found_by_id_file_name_or_stem_and_unclear_names_are_refused(tmp_path):
    for part in ("a", "b"):
        (tmp_path / "src" / part).mkdir(parents=True)
        tone(tmp_path / "src" / part / "take.wav", 0.5, 300.0 if part == "a" else 500.0)
    tone(tmp_path / "src" / "a" / "solo.wav", 0.6, 700.0)
    (tmp_path / "src" / "notes.md").write_text("not audio", encoding="utf-8")
    run_job(ImportDataset(tmp_path / "P", "v", [tmp_path / "src"], kind="audio", workers=1))
    manifest = Manifest.load(dataset_folder(tmp_path / "P", "v"))
    solo = find_clip(manifest, "solo.wav")
    assert find_clip(manifest, solo["id"]) is solo and find_clip(manifest, "solo") is solo
    take = find_clip(manifest, "src/a/take.wav")  # the source path tells the two takes apart
    assert take["source"] == "src/a/take.wav"
    with pytest.raises(JobError, match=r"2 clips .* are called “take.wav”; give the item id"):
        find_clip(manifest, "take.wav")
    with pytest.raises(JobError, match="There is no clip “nothing”"):
        find_clip(manifest, "nothing")
    skipped = next(e for e in manifest.entries if e["source"].endswith("notes.md"))
    with pytest.raises(JobError, match="is no usable clip"):
        set_transcript(manifest, skipped["id"], "text")
    assert manifest.history == []


def test_transcripts_are_cleaned_and_limited():
    assert clean_transcript("Line one\r\n\tline\x00two\u200c.") == "Line one line two\u200c."
    assert clean_transcript("x" * MAX_TRANSCRIPT_CHARS) == "x" * MAX_TRANSCRIPT_CHARS
    with pytest.raises(JobError, match="at most 2,000 characters"):
        clean_transcript("x" * (MAX_TRANSCRIPT_CHARS + 1))


def test_cli_dataset_transcript(voice, tmp_path, capsys):
    source, folder = voice
    originals = snapshot(source)
    project = str(tmp_path / "P")
    args = ["dataset", "transcript", "--project", project, "--name", "voice"]
    assert cli([*args, "--item", "clip2.wav", "--text", "Typed at the shell."]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["transcript"] == "Typed at the shell." and printed["changed"] is True
    assert printed["clip"].endswith("clip2.wav") and printed["without_transcript"] == 0
    assert Manifest.load(folder).by_id()[printed["item"]]["transcript"] == "Typed at the shell."
    assert cli([*args, "--item", printed["item"], "--text", "Typed at the shell."]) == 0
    assert json.loads(capsys.readouterr().out)["changed"] is False

    assert cli([*args, "--item", "clip9", "--text", "x"]) == 1
    assert "There is no clip “clip9”" in capsys.readouterr().err
    assert cli(["dataset", "transcript", "--project", project, "--name", "nope", "--item", "1", "--text", "x"]) == 1
    assert "There is no dataset “nope”" in capsys.readouterr().err
    assert snapshot(source) == originals


def test_only_audio_datasets_have_transcripts(tmp_path, capsys):
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "a.txt").write_text("Some copy for a product page. " * 4, encoding="utf-8")
    run_job(ImportDataset(tmp_path / "P", "copy", [tmp_path / "copy"], kind="text"))
    args = ["dataset", "transcript", "--project", str(tmp_path / "P"), "--name", "copy", "--item", "a.txt"]
    assert cli([*args, "--text", "x"]) == 1
    assert "only voice clips have transcripts" in capsys.readouterr().err
