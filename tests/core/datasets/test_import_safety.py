"""Imports that cannot half-happen (issue 14, point 5): odd names, a full disk, a killed import, bombs, and
files whose decoding would need more memory than a worker may use. Every hostile input is made here."""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile
from PIL import Image

from studio.cli import main as cli
from studio.core.datasets import audio, images, importer, sources, text
from studio.core.datasets.base import ImportOptions
from studio.core.datasets.drops import import_summary
from studio.core.datasets.importer import ImportDataset
from studio.core.datasets.manifest import Manifest
from studio.core.datasets.sources import NON_UTF8_NAME, ExpansionBudget, iter_sources
from studio.core.datasets.sweep import TEMP_GRACE_S
from studio.core.jobs import JobError, run_job

REPO = Path(__file__).resolve().parents[3]
LINUX = sys.platform.startswith("linux")


# -- helpers -------------------------------------------------------------------------------------------------------
def png_bytes(colour=(200, 40, 40), size=(80, 80)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def noise_png(seed: int, size: int = 64) -> bytes:
    buffer = io.BytesIO()
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def items_of(project: Path, name: str) -> set[str]:
    folder = project / "datasets" / name / "items"
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def assert_consistent(project: Path, name: str) -> Manifest:
    """No entry points at a missing file, no file is unlisted, no temporary file is left."""
    manifest = Manifest.load(project / "datasets" / name)
    listed = {Path(e["item"]).name for e in manifest.entries if e.get("item")}
    for entry in manifest.entries:
        if entry["status"] in ("ok", "fixed"):
            assert entry.get("item") and (manifest.folder / entry["item"]).is_file(), entry
    assert items_of(project, name) == listed
    assert not [p for p in manifest.folder.rglob("*.tmp")]
    return manifest


MEASURE = """
import json, resource, sys
from pathlib import Path
from studio.core.datasets import {module}
from studio.core.datasets.base import ImportOptions
from studio.core.datasets.drops import import_summary
data = Path(sys.argv[1]).read_bytes()
options = ImportOptions(**json.loads(sys.argv[2]))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = {module}.normalize(data, Path(sys.argv[1]).name, options)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"growth_mib": (after - before) / 1024, "peak_mib": after / 1024, "status": result.status,
                  "reason": result.reason, "fixes": result.fixes, "meta": result.meta,
                  "torch": "torch" in sys.modules}}))
"""


def measure_normalize(module: str, path: Path, **options) -> dict:
    """Normalize ``path`` in a fresh process; how much its peak RSS grew (MiB) beyond holding the file."""
    out = subprocess.run(
        [sys.executable, "-c", MEASURE.format(module=module), str(path), json.dumps(options)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- 1. a file name that is not valid UTF-8 ------------------------------------------------------------------------
def bad_utf8_zip(path: Path) -> None:
    """A zip whose entry name is flagged UTF-8 but is not (b"\\xff\\xfe"): zipfile cannot even list it."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ébc.png", png_bytes((1, 1, 1)))  # non-ASCII: written with the UTF-8 flag
    path.write_bytes(path.read_bytes().replace("é".encode(), b"\xff\xfe"))


@pytest.mark.skipif(not LINUX, reason="only Linux file systems accept names that are not UTF-8")
def test_a_non_utf8_file_name_is_imported_under_an_escaped_name_beside_a_normal_file(tmp_path, capsys):
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "normal.png").write_bytes(png_bytes((10, 200, 10)))
    raw = os.fsencode(drop)
    with open(os.path.join(raw, b"bad\xff\xfe.png"), "wb") as handle:
        handle.write(png_bytes((200, 10, 10)))
    os.mkdir(os.path.join(raw, b"sub\xff"))
    with open(os.path.join(raw, b"sub\xff", b"inner.png"), "wb") as handle:
        handle.write(png_bytes((10, 10, 200)))
    bad_utf8_zip(drop / "odd.zip")

    project = tmp_path / "P"
    result = run_job(ImportDataset(project, "pics", [drop], kind="image"))

    manifest_bytes = (project / "datasets" / "pics" / "manifest.json").read_bytes()
    manifest = json.loads(manifest_bytes.decode("utf-8"))  # strict UTF-8: no surrogate reached the file
    by_source = {e["source"]: e for e in manifest["entries"]}
    assert by_source["drop/normal.png"]["status"] in ("ok", "fixed")
    odd = by_source["drop/bad%FF%FE.png"]
    assert odd["status"] in ("ok", "fixed") and odd["note"] == NON_UTF8_NAME
    assert (project / "datasets" / "pics" / odd["item"]).is_file()
    inner = by_source["drop/sub%FF/inner.png"]
    assert inner["label"] == "sub%FF" and inner["status"] in ("ok", "fixed")
    assert "not a readable zip archive" in by_source["drop/odd.zip"]["reason"]
    assert result["ok"] + result["fixed"] == 3 and result["skipped"] == 1
    assert_consistent(project, "pics")
    # the CLI's report is valid JSON too
    assert cli(["dataset", "import", "--project", str(tmp_path / "Q"), "--name", "pics", str(drop)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] + report["fixed"] == 3


# -- 2. a full disk ------------------------------------------------------------------------------------------------
def distinct_drop(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(count):
        (folder / f"{i:03d}.png").write_bytes(png_bytes((i * 20 % 256, 100, 50)))
    return folder


def fail_after(monkeypatch, writes_that_succeed: int) -> dict:
    """Item writes raise ENOSPC after ``writes_that_succeed`` of them, as a full disk does."""
    real = importer.atomic_write_bytes
    calls = {"n": 0}

    def write(path, data, durable=True):
        calls["n"] += 1
        if calls["n"] > writes_that_succeed:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data, durable=durable)

    monkeypatch.setattr(importer, "atomic_write_bytes", write)
    return calls


def test_a_full_disk_stops_the_import_with_a_plain_sentence_and_a_consistent_manifest(tmp_path, monkeypatch):
    drop = distinct_drop(tmp_path / "drop", 8)
    project = tmp_path / "P"
    fail_after(monkeypatch, 3)
    with pytest.raises(JobError) as info:
        run_job(ImportDataset(project, "d", [drop], workers=1))
    message = str(info.value)
    assert "full" in message and "free some space" in message and "\n" not in message
    manifest = assert_consistent(project, "d")
    assert len(manifest.usable()) == 3  # the three written before the disk filled, each with its file

    monkeypatch.undo()  # space was freed: the next import adds the rest
    result = run_job(ImportDataset(project, "d", [drop], workers=1))
    assert result["ok"] + result["fixed"] == 5 and result["duplicates"] == 3
    assert len(assert_consistent(project, "d").usable()) == 8


def test_when_even_the_index_cannot_be_saved_nothing_is_recorded_and_the_next_import_sweeps(tmp_path, monkeypatch):
    drop = distinct_drop(tmp_path / "drop", 6)
    project = tmp_path / "P"
    fail_after(monkeypatch, 4)

    def disk_full(self):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Manifest, "save", disk_full)
    with pytest.raises(JobError, match="nothing from this import was recorded"):
        run_job(ImportDataset(project, "d", [drop], workers=1))
    assert not (project / "datasets" / "d" / "manifest.json").exists()
    assert len(items_of(project, "d")) == 4  # orphans: no index lists them

    monkeypatch.undo()
    result = run_job(ImportDataset(project, "d", [drop], workers=1))
    assert result["swept"] == {"orphans": 4, "temporary": 0}
    assert result["ok"] + result["fixed"] == 6
    assert len(assert_consistent(project, "d").usable()) == 6


def _mount_tmpfs(folder: Path, size: str) -> bool:
    if not LINUX or os.geteuid() != 0 or not shutil.which("mount"):
        return False
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, check=False
    )
    return done.returncode == 0


def test_a_real_full_disk_on_a_small_tmpfs(tmp_path):
    """The same on a real file system that fills up (needs root to mount; CI without it skips)."""
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "1536k"):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        drop = tmp_path / "drop"
        drop.mkdir()
        for i in range(60):
            (drop / f"{i:02d}.png").write_bytes(noise_png(i))  # ~12 KB each, stored as they are
        project = disk / "P"
        run_job(ImportDataset(project, "warmup", [drop / "00.png"], workers=1))  # project.json exists
        filler = disk / "filler.bin"
        filler.write_bytes(b"\0" * (1024 * 1024))  # leaves ~0.4 MB: the 60 items (0.75 MB) cannot all fit
        with pytest.raises(JobError, match="full"):
            run_job(ImportDataset(project, "d", [drop], workers=1))
        if (project / "datasets" / "d" / "manifest.json").exists():
            assert_consistent(project, "d")
        filler.unlink()
        result = run_job(ImportDataset(project, "d", [drop], workers=1))
        assert len(assert_consistent(project, "d").usable()) == 60
        assert result["ok"] + result["fixed"] + result["duplicates"] == 60
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, check=False)


# -- 3. a killed import --------------------------------------------------------------------------------------------
def _process_table() -> dict[int, tuple[int, str, int]]:
    """pid -> (parent pid, state, start time) from /proc."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(name)] = (int(fields[1]), fields[0], int(fields[19]))
    return table


def _descendants(pid: int) -> dict[int, int]:
    """Every process below ``pid``: pid -> start time (to tell a reused pid apart)."""
    table, found, frontier = _process_table(), {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, _state, start) in table.items():
            if ppid == parent and child not in found:
                found[child] = start
                frontier.append(child)
    return found


def _still_alive(processes: dict[int, int]) -> list[int]:
    table = _process_table()
    return [
        pid
        for pid, start in processes.items()
        if pid in table and table[pid][2] == start and table[pid][1] not in ("Z", "X")
    ]


@pytest.mark.slow
@pytest.mark.skipif(not LINUX, reason="follows the process tree through /proc")
def test_a_killed_import_leaves_no_process_behind_and_the_next_import_sweeps_its_files(tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4000):  # BMPs: each is decoded, hashed and re-encoded as PNG (~4 s of import here)
        Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(drop / f"{i:04d}.bmp")
    project = tmp_path / "P"
    items = project / "datasets" / "d" / "items"
    importing = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "studio",
            "dataset",
            "import",
            "--project",
            str(project),
            "--name",
            "d",
            "--workers",
            "2",
            str(drop),
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90
        children: dict[int, int] = {}
        while time.monotonic() < deadline and importing.poll() is None:
            children = _descendants(importing.pid)
            if len(children) >= 3 and items.is_dir() and len(os.listdir(items)) >= 20:
                break  # mid-import: the fork server, its workers and written items all exist
            time.sleep(0.02)
        assert importing.poll() is None, importing.stderr.read().decode()
        assert not (project / "datasets" / "d" / "manifest.json").exists()
        children = {**children, **_descendants(importing.pid)}
        os.kill(importing.pid, signal.SIGKILL)
        importing.wait(timeout=10)
    finally:
        if importing.poll() is None:
            importing.kill()
    deadline = time.monotonic() + 5
    while _still_alive(children) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = _still_alive(children)
    for pid in alive:  # do not leave them running if the assertion fails
        os.kill(pid, signal.SIGKILL)
    assert alive == [], f"{len(alive)} of {len(children)} processes of the killed import still run after 5 s"

    orphans = {name for name in os.listdir(items) if not name.startswith(".")}
    cut_short = {name for name in os.listdir(items) if name.endswith(".tmp")}  # the write kill -9 interrupted
    assert len(orphans) >= 20
    stale = items / ".000007-v2.png.a1b2c3.tmp"  # a one-click fix's write that died a while ago
    stale.write_bytes(b"half")
    old = time.time() - TEMP_GRACE_S - 5
    os.utime(stale, (old, old))
    fresh = items / ".000008-v2.png.d4e5f6.tmp"  # a fix writing right now in the app: left alone
    fresh.write_bytes(b"busy")
    outside = tmp_path / "000900.png"  # a user's file that only a link in items/ points at
    outside.write_bytes(b"precious")
    (items / "000900.png").symlink_to(outside)
    originals = sorted(p.name for p in drop.iterdir())

    result = run_job(ImportDataset(project, "d", [drop / "0000.bmp"], workers=1))
    assert result["swept"] == {"orphans": len(orphans), "temporary": len(cut_short) + 1}
    assert not stale.exists() and fresh.exists()
    assert outside.read_bytes() == b"precious" and (items / "000900.png").is_symlink()
    assert sorted(p.name for p in drop.iterdir()) == originals
    fresh.unlink()
    (items / "000900.png").unlink()
    assert len(assert_consistent(project, "d").usable()) == 1


# -- 4. archives: bombs and the total budget ----------------------------------------------------------------------
def zip_of_zeros(path: Path, entries: dict[str, int]) -> Path:
    """Entries of zeros (deflate squeezes them ~1000×): a bomb that stays small on disk."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, size in entries.items():
            with zf.open(name, "w", force_zip64=size > (1 << 30)) as handle:
                block = b"\0" * min(size, 1 << 20)
                for start in range(0, size, len(block)):
                    handle.write(block[: size - start])
    return path


@pytest.fixture
def bomb(tmp_path) -> Path:
    return zip_of_zeros(tmp_path / "bomb.zip", {"pixels.png": 80 << 20})  # 84 MB from ~80 KB


def test_a_zip_bomb_without_kind_is_named_as_refused(bomb, tmp_path, capsys):
    assert bomb.stat().st_size < 200_000
    with pytest.raises(JobError) as info:
        run_job(ImportDataset(tmp_path / "P", "d", [bomb]))
    assert "bomb.zip" in str(info.value) and "zip bomb" in str(info.value)
    assert "No images, text or audio" not in str(info.value)
    assert cli(["dataset", "import", "--project", str(tmp_path / "Q"), "--name", "d", str(bomb)]) == 1
    err = capsys.readouterr().err
    assert "bomb.zip" in err and "zip bomb" in err


def test_a_zip_bomb_with_kind_is_reported_as_refused(bomb, tmp_path):
    result = run_job(ImportDataset(tmp_path / "P", "d", [bomb], kind="image"))
    assert result["refused"] == [{"source": "bomb.zip", "reason": result["refused"][0]["reason"]}]
    assert "zip bomb" in result["refused"][0]["reason"] and "84 MB" in result["refused"][0]["reason"]
    assert result["total"] == 1 and result["skipped"] == 1


def test_a_zip_bomb_beside_good_files_is_reported_and_the_rest_imported(bomb, tmp_path):
    (tmp_path / "good.png").write_bytes(png_bytes())
    result = run_job(ImportDataset(tmp_path / "P", "d", [tmp_path / "good.png", bomb]))
    assert result["ok"] + result["fixed"] == 1
    assert [r["source"] for r in result["refused"]] == ["bomb.zip"]
    assert "Refused for safety (see the report): bomb.zip." in import_summary("d", result)  # the panel's line


def test_many_small_entries_over_the_archive_ratio_are_refused_as_a_whole(tmp_path):
    archive = zip_of_zeros(tmp_path / "many.zip", {f"f{i:03d}.txt": 1 << 20 for i in range(300)})
    assert archive.stat().st_size < 400_000  # 300 entries of exactly 1 MiB: each under the per-entry check
    found = list(iter_sources([archive]))
    assert len(found) == 1 and found[0].refused and "zip bomb" in found[0].problem
    assert "315 MB" in found[0].problem
    result = run_job(ImportDataset(tmp_path / "P", "d", [archive], kind="text"))
    assert result["total"] == 1 and result["refused"][0]["source"] == "many.zip"


def incompressible_zip(path: Path, size: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("data.txt", os.urandom(size))
    return path


def test_archives_of_one_drop_share_an_absolute_budget_and_the_free_disk(tmp_path, monkeypatch):
    first = incompressible_zip(tmp_path / "first.zip", 2_000_000)
    second = incompressible_zip(tmp_path / "second.zip", 2_000_000)
    found = {s.rel: s for s in iter_sources([first, second], ExpansionBudget(limit=3_000_000))}
    assert found["first.zip/data.txt"].problem is None
    assert found["second.zip"].refused and "more than the 3 MB one import accepts" in found["second.zip"].problem

    found = {s.rel: s for s in iter_sources([first], ExpansionBudget(free_disk=1_000_000))}
    assert found["first.zip"].refused and "only 1 MB are free" in found["first.zip"].problem

    # the import checks the disk the project is on
    monkeypatch.setattr(sources.shutil, "disk_usage", lambda _place: SimpleNamespace(total=10**9, used=0, free=10**6))
    result = run_job(ImportDataset(tmp_path / "P", "d", [first], kind="text"))
    assert "free on the project's disk" in result["refused"][0]["reason"]


# -- 5. decoding memory bounded per worker ------------------------------------------------------------------------
def float_tiff_header(width: int, height: int) -> bytes:
    """A TIFF that says: width × height 32-bit float pixels; it holds 16 bytes of them."""
    tags = [
        (256, 4, width),
        (257, 4, height),
        (258, 3, 32),
        (259, 3, 1),
        (262, 3, 1),
        (273, 4, 0),
        (277, 3, 1),
        (278, 4, height),
        (279, 4, width * height * 4),
        (339, 3, 3),
    ]
    data_offset = 8 + 2 + 12 * len(tags) + 4
    ifd = struct.pack("<H", len(tags)) + b"".join(
        struct.pack("<HHII", tag, kind, 1, data_offset if tag == 273 else value) for tag, kind, value in tags
    )
    return b"II*\0" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + b"\0" * 16


def sixteen_bit_png_header(width: int, height: int) -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "header, mode", [(float_tiff_header(8000, 8000), "F"), (sixteen_bit_png_header(8000, 8000), "I;16")]
)
def test_a_deep_image_over_the_decode_budget_is_refused_from_its_header(header, mode):
    assert Image.open(io.BytesIO(header)).mode == mode
    budget = ImportOptions(max_decode_bytes=200_000_000)
    result = images.normalize(header, "deep", budget)
    assert result.status == "skipped"
    assert "too large to decode safely" in result.reason and "8000×8000" in result.reason
    assert "megapixels" in result.reason
    # Under the default budget the same header is decoded (and found truncated): the refusal above came first.
    assert images.normalize(header, "deep", ImportOptions()).reason == images.DAMAGED


@pytest.mark.skipif(not LINUX, reason="reads peak memory from getrusage in KiB")
def test_refusing_from_the_header_costs_no_memory(tmp_path):
    path = tmp_path / "deep.tif"
    path.write_bytes(float_tiff_header(8000, 8000))
    measured = measure_normalize("images", path, max_decode_bytes=200_000_000)
    assert "too large to decode safely" in measured["reason"]
    assert measured["growth_mib"] < 20  # decoding would have allocated 256 MB for the pixels alone


@pytest.mark.skipif(not LINUX, reason="reads peak memory from getrusage in KiB")
def test_a_sixteen_bit_picture_is_converted_in_bounded_memory(tmp_path):
    """4000×4000 16-bit grayscale: the whole-picture float64 conversion took ~8 bytes × 4 copies per pixel
    (520 MB here, 2.1 GB at 64 MP); band-wise it is the 8-bit result plus the RGB copy."""
    path = tmp_path / "deep.png"
    ramp = (np.arange(4000, dtype=np.uint16) * 16)[None, :].repeat(4000, 0)
    Image.fromarray(ramp).save(path)
    opened = Image.open(path)
    assert opened.mode == "I;16"
    estimate = images.decode_estimate(opened, path.stat().st_size)
    measured = measure_normalize("images", path)
    assert measured["status"] == "fixed" and "16-bit grayscale converted to RGB" in measured["fixes"]
    assert measured["growth_mib"] < estimate / 2**20 + 16
    assert measured["growth_mib"] < 150


def long_flac(path: Path, seconds: float, rate: int) -> Path:
    """A tone with a little noise, written block by block (never whole in memory)."""
    rng = np.random.default_rng(0)
    with soundfile.SoundFile(path, "w", rate, 1, format="FLAC", subtype="PCM_16") as handle:
        total, block = int(seconds * rate), 1 << 20
        for start in range(0, total, block):
            t = np.arange(start, min(total, start + block)) / rate
            handle.write((0.3 * np.sin(2 * np.pi * 440.0 * t) + 0.003 * rng.standard_normal(len(t))).astype(np.float32))
    return path


@pytest.mark.slow
@pytest.mark.skipif(not LINUX, reason="reads peak memory from getrusage in KiB")
def test_a_long_high_rate_recording_is_resampled_in_bounded_memory(tmp_path):
    """40 s at 384 kHz (15 M samples): decoding it whole, then resampling it whole with torch, grew a process
    by ~900 MB (2.7 GB for 10 minutes); streaming it grows it by the 22.05 kHz clip and one chunk."""
    path = long_flac(tmp_path / "long.flac", 40.0, 384_000)
    measured = measure_normalize("audio", path)
    assert measured["status"] == "fixed" and "resampled from 384000 Hz" in measured["fixes"]
    assert measured["meta"]["duration_s"] == pytest.approx(40.0, abs=0.01)
    assert measured["growth_mib"] < 100
    assert not measured["torch"]  # an import worker does not load torch (~490 MB) to resample


def test_an_audio_file_over_the_decode_budget_is_refused_from_its_header():
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(48000 * 10, np.float32), 48000, format="WAV", subtype="PCM_16")
    result = audio.normalize(buffer.getvalue(), "long.wav", ImportOptions(max_decode_bytes=2_000_000))
    assert result.status == "skipped" and "too large to decode safely" in result.reason
    assert audio.normalize(buffer.getvalue(), "long.wav", ImportOptions()).status != "skipped"


def test_a_text_file_over_the_decode_budget_is_refused_before_decoding():
    data = ("我们的产品设计简洁，品质优良。\n" * 20_000).encode("utf-8")  # 0.9 MB, ~9 MB to read
    result = text.normalize(data, "big.txt", ImportOptions(max_decode_bytes=2_000_000))
    assert result.status == "skipped" and "too large to read safely" in result.reason
    assert "split it into files under" in result.reason
    assert text.normalize(data, "big.txt", ImportOptions()).status != "skipped"


@pytest.mark.skipif(not LINUX, reason="reads peak memory from getrusage in KiB")
def test_a_large_text_is_read_within_its_estimate(tmp_path):
    """Counting CJK characters with findall and words with split() made lists of millions of small strings
    (25 bytes of memory per byte of a Chinese text); the estimate the budget is checked against must hold."""
    path = tmp_path / "big.txt"
    path.write_text("我们的产品设计简洁，品质优良。\n" * 240_000 + "😀\n", encoding="utf-8")  # 11 MB, 4-byte characters
    measured = measure_normalize("text", path)
    assert measured["status"] in ("ok", "fixed")
    assert measured["growth_mib"] * 2**20 + path.stat().st_size < text.decode_estimate(path.read_bytes())


def test_the_numpy_sinc_kernel_matches_torchaudio():
    torch = pytest.importorskip("torch")
    functional = pytest.importorskip("torchaudio.functional")
    x = np.random.default_rng(3).standard_normal(3 * 48000 + 7).astype(np.float32) * 0.3
    for orig, new in ((48000, 22050), (44100, 22050), (8000, 22050), (22050, 16000)):
        signal_in = x[:orig]  # one second at each rate
        expected = functional.resample(
            torch.from_numpy(signal_in),
            orig,
            new,
            lowpass_filter_width=16,
            rolloff=0.95,
            resampling_method="sinc_interp_kaiser",
            beta=8.6,
        ).numpy()
        got = audio._resample_sinc(signal_in, orig, new)
        assert got.shape == expected.shape
        assert np.max(np.abs(got - expected)) < 3e-5  # float32 rounding: under one 16-bit step


@pytest.mark.parametrize("orig", [384_000, 48_000, 44_099])
def test_streaming_resampling_matches_resampling_the_whole_signal(orig):
    """Fed in odd-sized blocks across many chunks: the sinc path gives exactly the whole-signal result, the
    FFT path (odd ratios) one within a few 16-bit steps on full-band noise."""
    n = 6 * (1 << 21) // 5 if orig == 384_000 else 700_000
    t = np.arange(n) / orig
    x = (0.4 * np.sin(2 * np.pi * 440.0 * t) + 0.05 * np.random.default_rng(1).standard_normal(n)).astype(np.float32)
    stream = audio.StreamResampler(orig, 22050)
    for start in range(0, n, 99_991):
        stream.feed(x[start : start + 99_991])
    got = stream.finish()
    up, down = stream.up, stream.down
    if stream.sinc:
        expected = audio._resample_sinc(x, orig, 22050)
        assert np.max(np.abs(got - expected)) < 1e-6
    else:  # whole-signal FFT on a grid of whole blocks (what the stream keeps exact)
        padded = np.concatenate([x, np.zeros(-n % down, np.float32)])
        pad = -(-max(64, n // 16) // down) * down
        expected = audio._resample_fft(padded, orig, 22050, pad=pad)[: round(n * up / down)]
        assert np.max(np.abs(got - expected)) < 8 / 32768
    assert len(got) == len(expected)
