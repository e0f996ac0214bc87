"""Import end to end: every file accounted for, hostile input handled, originals untouched."""

import hashlib
import io
import json
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from studio.cli import main as cli
from studio.core.datasets.importer import ImportDataset, dataset_report, sort_by_kind
from studio.core.datasets.manifest import Manifest
from studio.core.datasets.sources import iter_sources
from studio.core.datasets.split import assign_split
from studio.core.jobs import Cancelled, JobContext, JobError, run_job


def png_bytes(colour=(200, 40, 40), size=(80, 80), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(colour=(10, 120, 200), size=(96, 72)) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, colour)
    image.paste((255, 255, 255), (10, 10, 40, 40))
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def wav_bytes(seconds=1.0, rate=22050, freq=220.0) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    buffer = io.BytesIO()
    soundfile.write(
        buffer, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate, format="WAV", subtype="PCM_16"
    )
    return buffer.getvalue()


def huge_png_header() -> bytes:
    """A valid PNG signature and IHDR claiming 100000×100000 pixels, with a tiny IDAT."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")
    )


@pytest.fixture
def hostile(tmp_path) -> Path:
    """The corpus from the issue: every kind of broken, odd or hostile file."""
    root = tmp_path / "drop"
    (root / "cats").mkdir(parents=True)
    (root / "dogs").mkdir()
    (root / "cats" / "good.png").write_bytes(png_bytes())
    (root / "dogs" / "good.jpg").write_bytes(jpeg_bytes())
    (root / "cats" / "same_again.png").write_bytes(png_bytes())  # exact duplicate of cats/good.png
    full = jpeg_bytes((90, 90, 90))
    (root / "truncated.jpg").write_bytes(full[: len(full) // 2])
    full_png = png_bytes((1, 2, 3), (64, 64))
    (root / "truncated.png").write_bytes(full_png[: len(full_png) - 30])
    (root / "zero.png").write_bytes(b"")
    (root / "random.png").write_bytes(os.urandom(2048))
    (root / "bomb.png").write_bytes(huge_png_header())
    (root / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt " + os.urandom(40))
    zero_wav = io.BytesIO()
    soundfile.write(zero_wav, np.zeros(0, dtype=np.float32), 22050, format="WAV", subtype="PCM_16")
    (root / "zero_length.wav").write_bytes(zero_wav.getvalue())
    (root / "latin1.txt").write_bytes("Grüße aus Köln, naïve café crème.\n".encode("latin-1"))
    (root / "chinese_gb.txt").write_bytes("我们的产品设计简洁，品质优良，深受顾客喜爱。\n".encode("gb18030"))
    (root / "utf16.txt").write_bytes("Hello with a BOM\n".encode("utf-16"))
    with zipfile.ZipFile(root / "evil.zip", "w") as zf:
        zf.writestr("../evil.png", png_bytes((0, 255, 0)))
        zf.writestr("/abs/evil.png", png_bytes((0, 0, 255)))
        zf.writestr("inside/fine.png", png_bytes((255, 255, 0), (70, 70)))
    os.symlink(root / "loop_b", root / "loop_a")
    os.symlink(root / "loop_a", root / "loop_b")
    os.symlink("/etc/hostname", root / "outside_link.png")
    os.symlink(root, root / "cats" / "folder_loop")
    return root


def snapshot(folder: Path) -> dict:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def test_hostile_corpus_imports_with_a_reason_for_every_file(hostile, tmp_path):
    before = snapshot(hostile)
    project = tmp_path / "Project"
    result = run_job(ImportDataset(project, "pets", [hostile], kind="image"))
    assert snapshot(hostile) == before  # the originals' bytes are unchanged

    manifest = Manifest.load(project / "datasets" / "pets")
    by_source = {e["source"]: e for e in manifest.entries}
    assert result["total"] == len(manifest.entries)
    assert result["total"] == (
        result["ok"] + result["fixed"] + result["skipped"] + result["duplicates"] + result["transcripts"]
    )
    assert all(e["status"] != "skipped" or e.get("reason") for e in manifest.entries)

    def reason(rel):
        return by_source[f"drop/{rel}"].get("reason", "")

    assert by_source["drop/cats/good.png"]["status"] in ("ok", "fixed")
    assert by_source["drop/cats/good.png"]["label"] == "cats"
    assert by_source["drop/dogs/good.jpg"]["label"] == "dogs"
    dup = by_source["drop/cats/same_again.png"]
    assert dup["status"] == "duplicate" and dup["duplicate_of"] == by_source["drop/cats/good.png"]["id"]
    assert "truncated" in reason("truncated.jpg") and "truncated" in reason("truncated.png")
    assert reason("zero.png") == "empty file"
    assert "not an image" in reason("random.png")
    assert "too large" in reason("bomb.png")
    assert "audio file" in reason("broken.wav") and "audio file" in reason("zero_length.wav")
    assert "text file" in reason("latin1.txt")
    assert reason("evil.zip/../evil.png") == "unsafe path in archive (refused)"
    assert reason("evil.zip//abs/evil.png") == "unsafe path in archive (refused)"
    assert by_source["drop/evil.zip/inside/fine.png"]["status"] in ("ok", "fixed")
    assert "looping" in reason("loop_a") and "looping" in reason("loop_b")
    assert "outside the dropped folder" in reason("outside_link.png")
    assert "not followed" in reason("cats/folder_loop")
    assert not (project / "datasets" / "pets" / "evil.png").exists()
    assert not (tmp_path / "evil.png").exists()
    for entry in manifest.usable():
        assert (manifest.folder / entry["item"]).is_file()


def test_reimporting_the_same_files_adds_nothing(tmp_path):
    drop = tmp_path / "logos"
    drop.mkdir()
    for i in range(3):
        (drop / f"{i}.png").write_bytes(png_bytes((i * 60, 10, 10)))
    project = tmp_path / "P"
    first = run_job(ImportDataset(project, "logos", [drop]))
    second = run_job(ImportDataset(project, "logos", [drop]))
    assert first["ok"] + first["fixed"] == 3 and first["duplicates"] == 0
    assert second["duplicates"] == 3 and second["ok"] + second["fixed"] == 0
    assert len(list((project / "datasets" / "logos" / "items").iterdir())) == 3
    assert dataset_report(project, "logos")["total"] == 6


def test_a_mixed_drop_is_split_by_kind(tmp_path):
    drop = tmp_path / "mixed"
    drop.mkdir()
    for i in range(3):
        (drop / f"{i}.png").write_bytes(png_bytes((i * 60, 90, 10)))
    (drop / "copy.txt").write_text("Our minimal desk lamp, made to last.\n", encoding="utf-8")
    (drop / "voice.wav").write_bytes(wav_bytes())
    result = run_job(ImportDataset(tmp_path / "P", "brand", [drop]))
    assert result["ok"] + result["fixed"] == 3
    assert set(result["split_into"]) == {"brand-text", "brand-audio"}
    assert result["split_into"]["brand-text"]["total"] == 1
    project = json.loads((tmp_path / "P" / "project.json").read_text())
    assert {k: v["kind"] for k, v in project["datasets"].items()} == {
        "brand": "image",
        "brand-text": "text",
        "brand-audio": "audio",
    }


def test_ljspeech_folder_flags_clips_without_transcripts(tmp_path):
    drop = tmp_path / "LJ"
    (drop / "wavs").mkdir(parents=True)
    for i in range(4):
        (drop / "wavs" / f"LJ001-000{i}.wav").write_bytes(wav_bytes(1.0, freq=200 + 40 * i))
    (drop / "metadata.csv").write_text(
        "LJ001-0000|Hello there.|Hello there.\nLJ001-0001|Second clip.\n", encoding="utf-8"
    )
    (drop / "wavs" / "LJ001-0002.lab").write_text("From a sidecar file.", encoding="utf-8")
    result = run_job(ImportDataset(tmp_path / "P", "voice", [drop], kind="audio"))
    assert result["transcripts"] == 2 and result["total"] == 6
    manifest = Manifest.load(tmp_path / "P" / "datasets" / "voice")
    clips = {Path(e["source"]).stem: e for e in manifest.usable()}
    assert clips["LJ001-0000"]["transcript"] == "Hello there."
    assert clips["LJ001-0001"]["transcript"] == "Second clip."
    assert clips["LJ001-0002"]["transcript"] == "From a sidecar file."
    assert "no transcript" in clips["LJ001-0003"]["flags"]
    assert "transcript" not in clips["LJ001-0003"]
    assert result["flags"].get("no transcript") == 1


def test_split_is_seeded_and_stratified(tmp_path):
    drop = tmp_path / "shapes"
    for label in ("a", "b"):
        (drop / label).mkdir(parents=True)
        for i in range(20):
            (drop / label / f"{i}.png").write_bytes(png_bytes((i * 12, 100 if label == "a" else 200, 7)))
    run_job(ImportDataset(tmp_path / "P", "shapes", [drop]))
    manifest = Manifest.load(tmp_path / "P" / "datasets" / "shapes")
    counts = assign_split(manifest, val_percent=20, seed=3)
    assert counts == {"train": 32, "val": 8}
    for label in ("a", "b"):
        assert sum(1 for e in manifest.usable() if e["label"] == label and e["split"] == "val") == 4
    first = {e["id"]: e["split"] for e in manifest.usable()}
    assign_split(manifest, seed=3)
    assert first == {e["id"]: e["split"] for e in manifest.usable()}
    assign_split(manifest, seed=4)
    assert first != {e["id"]: e["split"] for e in manifest.usable()}


def test_exclude_and_undo(tmp_path):
    drop = tmp_path / "d"
    drop.mkdir()
    for i in range(4):
        (drop / f"{i}.png").write_bytes(png_bytes((i * 50, 0, 0), (32, 32)))  # small: flagged at 64 px
    run_job(ImportDataset(tmp_path / "P", "d", [drop]))
    manifest = Manifest.load(tmp_path / "P" / "datasets" / "d")
    flagged = manifest.flagged_ids()
    assert len(flagged) == 4
    assert manifest.exclude(flagged, "drop flagged") == 4
    assert manifest.usable() == []
    assert manifest.undo() == "drop flagged"
    assert len(manifest.usable()) == 4
    assert manifest.undo() is None


def test_redo_reapplies_each_kind_of_operation_and_a_new_one_ends_it(tmp_path):
    drop = tmp_path / "d"
    drop.mkdir()
    for i in range(4):
        (drop / f"{i}.png").write_bytes(png_bytes((i * 50, 0, 0), (32, 32)))
    run_job(ImportDataset(tmp_path / "P", "d", [drop]))
    manifest = Manifest.load(tmp_path / "P" / "datasets" / "d")
    first, second = manifest.entries[0]["id"], manifest.entries[1]["id"]
    start, start_options = json.loads(json.dumps(manifest.entries)), dict(manifest.options)
    manifest.exclude([first], "exclude")
    manifest.replace({second: {**manifest.by_id()[second], "label": "renamed"}}, "relabel", options={"bg": "black"})
    done = json.loads(json.dumps(manifest.entries))
    assert manifest.redo() is None  # nothing undone yet

    assert [manifest.undo(), manifest.undo()] == ["relabel", "exclude"]
    assert manifest.entries == start and manifest.options == start_options
    assert [manifest.redo(), manifest.redo()] == ["exclude", "relabel"]
    assert manifest.entries == done and manifest.options["bg"] == "black"
    assert manifest.redo() is None

    assert manifest.undo() == "relabel"  # a redone operation undoes as the first time
    assert manifest.by_id()[second].get("label") != "renamed" and manifest.options == start_options
    manifest.include([first])  # a new operation: "relabel" can no longer come back
    assert manifest.redo() is None and manifest.by_id()[first].get("excluded") is None


def test_cancel_keeps_what_was_imported(tmp_path):
    drop = tmp_path / "many"
    drop.mkdir()
    for i in range(20):
        (drop / f"{i}.png").write_bytes(png_bytes((i * 10, 5, 5)))
    ctx = JobContext()
    calls = {"n": 0}
    real_check = ctx.check

    def check():
        calls["n"] += 1
        if calls["n"] > 25:
            ctx.cancel()
        real_check()

    ctx.check = check
    with pytest.raises(Cancelled):
        run_job(ImportDataset(tmp_path / "P", "many", [drop], workers=1), ctx)
    manifest = Manifest.load(tmp_path / "P" / "datasets" / "many")
    assert 0 < len(manifest.entries) < 20
    assert all((manifest.folder / e["item"]).is_file() for e in manifest.usable())


def test_process_pool_gives_the_same_result_as_one_process(tmp_path):
    drop = tmp_path / "pool"
    drop.mkdir()
    for i in range(60):
        (drop / f"{i:02d}.jpg").write_bytes(jpeg_bytes((i * 4, 255 - i * 4, 30)))
    one = run_job(ImportDataset(tmp_path / "A", "d", [drop], workers=1))
    two = run_job(ImportDataset(tmp_path / "B", "d", [drop], workers=2))
    assert one == two
    a = Manifest.load(tmp_path / "A" / "datasets" / "d").entries
    b = Manifest.load(tmp_path / "B" / "datasets" / "d").entries
    assert [e["sha256"] for e in a] == [e["sha256"] for e in b]


def test_nothing_usable_gives_a_plain_error(tmp_path):
    drop = tmp_path / "junk"
    drop.mkdir()
    (drop / "notes.docx").write_bytes(b"PK")
    with pytest.raises(JobError, match="No images, text or audio"):
        run_job(ImportDataset(tmp_path / "P", "junk", [drop]))


def test_sources_walk_keeps_zip_members_lazy(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("x/1.png", png_bytes())
        zf.writestr("nested.zip", b"PK")
    found = {s.rel: s for s in iter_sources([archive])}
    assert found["a.zip/x/1.png"].read() == png_bytes()
    assert "archive inside an archive" in found["a.zip/nested.zip"].problem
    assert sort_by_kind(list(found.values()))["image"][0].rel == "a.zip/x/1.png"


def test_cli_import_and_report(tmp_path, capsys):
    drop = tmp_path / "d"
    drop.mkdir()
    (drop / "a.png").write_bytes(png_bytes())
    (drop / "b.png").write_bytes(b"")
    project = tmp_path / "CLI Project"
    assert cli(["dataset", "import", "--project", str(project), "--name", "logos", "--kind", "image", str(drop)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {k: report[k] for k in ("total", "ok", "fixed", "skipped", "duplicates")} == {
        "total": 2,
        "ok": report["ok"],
        "fixed": report["fixed"],
        "skipped": 1,
        "duplicates": 0,
    }
    assert report["ok"] + report["fixed"] == 1 and report["reasons"] == {"empty file": 1}
    assert cli(["dataset", "report", "--project", str(project), "--name", "logos"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 2
    assert cli(["dataset", "report", "--project", str(project), "--name", "nope"]) == 1
    assert "no dataset" in capsys.readouterr().err
    assert cli(["dataset", "cache", "--project", str(project), "--name", "logos", "--resolution", "32"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["count"] == 1 and summary["path"].endswith("images_32_crop.u8")
