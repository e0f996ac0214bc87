"""What the Dataset panel guesses about a drop before importing it (names only, no file contents)."""

import zipfile

from studio.core.datasets.drops import default_dataset_name, guess_kind, import_summary


def test_the_majority_kind_wins_and_transcripts_count_for_their_clips(tmp_path):
    voice = tmp_path / "voice"
    voice.mkdir()
    for i in range(3):
        (voice / f"clip{i}.wav").write_bytes(b"")
        (voice / f"clip{i}.txt").write_text("hello")  # sidecar transcripts: not a text dataset
    (voice / "metadata.csv").write_text("clip0|hello")
    assert guess_kind([voice]) == "audio"
    assert default_dataset_name([voice], "audio") == "voice"


def test_zip_indexes_are_read_without_extracting(tmp_path):
    archive = tmp_path / "Moodboard: spring?.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(4):
            zf.writestr(f"pics/{i}.jpg", b"not read")
        zf.writestr("notes.md", "# notes")
    assert guess_kind([archive]) == "image"
    assert default_dataset_name([archive], "image") == "Moodboard- spring-"  # no characters a folder cannot hold


def test_unknown_files_give_no_kind_and_loose_files_a_plain_name(tmp_path):
    (tmp_path / "a.xyz").write_bytes(b"?")
    assert guess_kind([tmp_path / "a.xyz"]) is None
    assert default_dataset_name([tmp_path / "a.xyz", tmp_path / "b.xyz"], "text") == "copy"


def test_the_import_summary_is_one_plain_sentence():
    text = import_summary(
        "shapes", {"total": 12, "ok": 8, "fixed": 1, "skipped": 2, "duplicates": 1, "split_into": {"shapes-text": 3}}
    )
    assert text.startswith("Imported 12 files into “shapes”: 9 ready to use (1 fixed), 2 skipped, 1 duplicate.")
    assert "the text files to “shapes-text”" in text
