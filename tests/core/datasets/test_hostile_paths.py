"""Paths read from a manifest stay inside the dataset folder (issue 14, point 4).

Every hostile input is made here: a secret file next to the project (a text with a marker, a picture of one
odd colour, a loud tone), manifests whose ``item`` climbs out with ``..``, names it absolutely or reaches it
through a symlink, and an ``id`` that climbs out when a fix makes a file name from it.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from studio.core.datasets.audio_cache import AudioCache, BuildAudioCache
from studio.core.datasets.base import SKIPPED, ImportOptions
from studio.core.datasets.fixes import reimport, trim_silence
from studio.core.datasets.image_cache import BuildImageCache, ImageCache
from studio.core.datasets.importer import ImportDataset, dataset_folder, dataset_report
from studio.core.datasets.manifest import OUTSIDE_REASON, Manifest
from studio.core.datasets.text_cache import BuildTextCache, TextCache
from studio.core.jobs import JobError, run_job
from studio.core.safe_paths import PathGuard, inside, resolve_inside, safe_name

MARKER = "QZXJ-SECRET-MARKER-7731"  # upper-case letters the datasets below never contain
SECRET_COLOUR = (13, 201, 77)


# -- helpers ------------------------------------------------------------------------------------------------------
def _wav_bytes(seconds: float, freq: float, rate: int = 22050, silence: float = 0.0, amplitude=0.3) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    tone = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    pad = np.zeros(int(silence * rate), np.float32)
    buffer = io.BytesIO()
    soundfile.write(buffer, np.concatenate([pad, tone, pad]), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _secrets(root: Path) -> dict[str, Path]:
    """Files beside the project that no dataset may ever read."""
    root.mkdir(parents=True, exist_ok=True)
    text = root / "secret.txt"
    text.write_text(f"{MARKER}\n" * 50, encoding="utf-8")
    picture = root / "secret.png"
    Image.new("RGB", (64, 64), SECRET_COLOUR).save(picture)
    clip = root / "secret.wav"
    clip.write_bytes(_wav_bytes(3.0, 1234.0, amplitude=0.9))
    return {"text": text, "image": picture, "audio": clip}


def _hostile_entries(folder: Path, secret: Path, link_name: str) -> list[dict]:
    """Three ways out: ``..`` steps, an absolute path, and a symlink inside items/ that points outside."""
    climb = os.path.relpath(secret, folder)
    assert climb.startswith("..")
    link = folder / "items" / link_name
    link.symlink_to(secret)
    base = {"source": "evil", "origin": str(secret), "status": "ok", "split": "train", "sha256": "0"}
    return [
        {**base, "id": "900001", "item": climb},
        {**base, "id": "900002", "item": str(secret)},
        {**base, "id": "900003", "item": f"items/{link_name}"},
    ]


def _add_entries(folder: Path, entries: list[dict]) -> None:
    """Edit manifest.json as a hostile sender would: by hand, not through the Manifest class."""
    data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    data["entries"].extend(entries)
    (folder / "manifest.json").write_text(json.dumps(data), encoding="utf-8")


def _all_cache_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted((folder / "cache").rglob("*")) if p.is_file())


def _assert_refused(folder: Path, ids: list[str]) -> None:
    manifest = Manifest.load(folder)
    by_id = manifest.by_id()
    for entry_id in ids:
        entry = by_id[entry_id]
        assert entry["status"] == SKIPPED and entry["reason"] == OUTSIDE_REASON and "item" not in entry
    assert sorted(r["id"] for r in manifest.refused) == sorted(ids)
    assert not {e["id"] for e in manifest.usable()} & set(ids)
    assert dataset_report(folder.parent.parent, folder.name)["reasons"][OUTSIDE_REASON] == len(ids)


@pytest.fixture
def secrets(tmp_path) -> dict[str, Path]:
    return _secrets(tmp_path / "outside")


# -- the helper itself ----------------------------------------------------------------------------------------------
def test_inside_keeps_paths_in_their_folder(tmp_path):
    root = tmp_path / "root"
    (root / "items").mkdir(parents=True)
    (root / "items" / "a.txt").write_text("a")
    (tmp_path / "secret").write_text("s")
    (root / "items" / "out").symlink_to(tmp_path / "secret")
    (root / "items" / "in").symlink_to(root / "items" / "a.txt")
    assert resolve_inside(root, "items/a.txt") == (root / "items" / "a.txt").resolve()
    assert resolve_inside(root, "items/in") == (root / "items" / "a.txt").resolve()  # a link that stays inside
    assert resolve_inside(root, "items/missing.txt") is not None  # missing is "unreadable" later, not "outside"
    for bad in (
        "../secret",
        "items/../../secret",
        str(tmp_path / "secret"),
        "items/out",
        "",
        ".",
        "items/..",
        "a\x00b",
        None,
        7,
        ["items/a.txt"],
    ):
        assert resolve_inside(root, bad) is None, bad
    with pytest.raises(JobError, match="outside"):
        inside(root, "../secret", "The checkpoint")
    guard = PathGuard(root)
    for bulk in (False, True):  # one lstat per file, or one listing per folder (a whole manifest at load)
        assert [
            guard.check(p, bulk=bulk) is None
            for p in ("items/a.txt", "items/out", "items/in", "../x", "items/../../secret")
        ] == [False, True, False, True, True]


def test_safe_name_never_makes_a_path():
    for raw in (
        "../../../../etc/passwd",
        "..",
        ".",
        "",
        "a/b\\c",
        "con",
        "NUL.txt",
        "x" * 500,
        "\x00\n",
        "名前 with spaces",
        ".hidden",
        12,
    ):
        name = safe_name(raw)
        assert name and name not in (".", "..") and not name.startswith(".")
        assert "/" not in name and "\\" not in name and len(name) <= 64
        assert all(c.isascii() and (c.isalnum() or c in "-_.") for c in name)
        assert name.split(".")[0].upper() not in ("CON", "NUL", "PRN", "AUX")
    assert safe_name("000123") == "000123"


# -- caches never read outside ----------------------------------------------------------------------------------------
def test_text_cache_never_reads_outside_the_dataset(tmp_path, secrets):
    source = tmp_path / "texts"
    source.mkdir()
    for i in range(4):
        (source / f"t{i}.txt").write_text(f"line {i} of a small lower-case text.\n" * 5, encoding="utf-8")
    run_job(ImportDataset(tmp_path / "P", "copy", [source], kind="text", workers=1))
    folder = dataset_folder(tmp_path / "P", "copy")
    hostile = _hostile_entries(folder, secrets["text"], "link.txt")
    _add_entries(folder, hostile)

    result = run_job(BuildTextCache(folder, "char"))
    cache = TextCache.open(folder, "char")
    streamed = cache.tokenizer.decode(cache.train.tolist()) + cache.tokenizer.decode(cache.val.tolist())
    assert "line 0 of a small" in streamed
    assert "Q" not in streamed and MARKER.encode() not in _all_cache_bytes(folder)
    assert "Q" not in cache.tokenizer.chars  # the secret did not even reach the vocabulary
    assert result["refused"] == 3
    _assert_refused(folder, [e["id"] for e in hostile])


def test_image_cache_never_reads_outside_the_dataset(tmp_path, secrets):
    source = tmp_path / "pics"
    source.mkdir()
    for i in range(4):
        Image.new("RGB", (48, 48), (10 * i, 0, 200)).save(source / f"p{i}.png")
    run_job(ImportDataset(tmp_path / "P", "pics", [source], kind="image", workers=1))
    folder = dataset_folder(tmp_path / "P", "pics")
    hostile = _hostile_entries(folder, secrets["image"], "link.png")
    _add_entries(folder, hostile)

    result = run_job(BuildImageCache(folder, 32))
    cache = ImageCache.open(folder, 32)
    assert len(cache) == 4 and result["count"] == 4 and result["refused"] == 3
    pixels = np.asarray(cache.images).reshape(-1, 3)
    assert not (pixels == np.array(SECRET_COLOUR, np.uint8)).all(axis=1).any()
    assert not {e["id"] for e in hostile} & set(cache.ids)
    _assert_refused(folder, [e["id"] for e in hostile])


def test_audio_cache_never_reads_outside_the_dataset(tmp_path, secrets):
    source = tmp_path / "voice"
    source.mkdir()
    for i in range(2):
        (source / f"c{i}.wav").write_bytes(_wav_bytes(0.8, 220.0 * (i + 1)))
    run_job(ImportDataset(tmp_path / "P", "voice", [source], kind="audio", workers=1))
    folder = dataset_folder(tmp_path / "P", "voice")
    legit = sum(soundfile.info(str(folder / e["item"])).frames for e in Manifest.load(folder).usable())
    hostile = _hostile_entries(folder, secrets["audio"], "link.wav")
    _add_entries(folder, hostile)

    result = run_job(BuildAudioCache(folder))
    cache = AudioCache.open(folder)
    assert len(cache) == 2 and result["clips"] == 2 and result["refused"] == 3
    assert len(cache.audio) == legit  # not one sample of the 3 s secret clip
    assert not {e["id"] for e in hostile} & set(cache.info["ids"])
    _assert_refused(folder, [e["id"] for e in hostile])


def test_undo_cannot_bring_back_an_item_outside(tmp_path, secrets):
    """A hostile history: undoing a 'replace' would point an entry at the secret."""
    source = tmp_path / "texts"
    source.mkdir()
    (source / "a.txt").write_text("just lower-case words here.\n" * 5, encoding="utf-8")
    run_job(ImportDataset(tmp_path / "P", "copy", [source], kind="text", workers=1))
    folder = dataset_folder(tmp_path / "P", "copy")
    data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    entry = data["entries"][0]
    evil = {**entry, "item": os.path.relpath(secrets["text"], folder)}
    data["history"].append(
        {"action": "trim silence", "op": "replace", "ids": [entry["id"]], "previous": {entry["id"]: evil}}
    )
    (folder / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    manifest = Manifest.load(folder)
    assert manifest.undo() == "trim silence"
    restored = manifest.by_id()[entry["id"]]
    assert restored["status"] == SKIPPED and "item" not in restored and not manifest.usable()


# -- fixes never write outside -------------------------------------------------------------------------------------
def _files_outside(tmp_path: Path, project: Path) -> set[Path]:
    return {p for p in tmp_path.rglob("*") if p.is_file() and project not in p.parents}


def test_trim_silence_with_a_climbing_id_writes_only_inside(tmp_path):
    source = tmp_path / "voice"
    source.mkdir()
    (source / "a.wav").write_bytes(_wav_bytes(1.0, 330.0, silence=1.0))
    run_job(
        ImportDataset(
            tmp_path / "P", "voice", [source], kind="audio", workers=1, options=ImportOptions(trim_silence=False)
        )
    )
    folder = dataset_folder(tmp_path / "P", "voice")
    data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    usable = [e for e in data["entries"] if e["status"] in ("ok", "fixed")]
    usable[0]["id"] = "../../../../escaped"
    (folder / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    before = _files_outside(tmp_path, tmp_path / "P")

    manifest = Manifest.load(folder)
    assert trim_silence(manifest) == 1
    new = manifest.by_id()["../../../../escaped"]
    written = (folder / new["item"]).resolve()
    assert written.is_file() and written.parent == (folder / "items").resolve()
    assert "/" not in Path(new["item"]).name and ".." not in new["item"]
    assert _files_outside(tmp_path, tmp_path / "P") == before
    assert all(tmp_path / "P" in p.parents for p in tmp_path.rglob("escaped*"))


def test_reimport_refuses_an_origin_that_is_not_the_imported_file(tmp_path, secrets):
    """``origin`` points outside by design (the user's original), so it is only re-read when its content is
    still the file that was imported: a manifest cannot point it at any other file."""
    source = tmp_path / "texts"
    source.mkdir()
    (source / "a.txt").write_text("plain lower-case words.\n" * 5, encoding="utf-8")
    run_job(ImportDataset(tmp_path / "P", "copy", [source], kind="text", workers=1))
    folder = dataset_folder(tmp_path / "P", "copy")
    manifest = Manifest.load(folder)
    entry = manifest.usable()[0]
    entry["origin"] = str(secrets["text"])
    with pytest.raises(JobError, match="no longer the file"):
        reimport(manifest, entry["id"], ImportOptions(text_encoding="utf-8"))
    assert MARKER.encode() not in b"".join(p.read_bytes() for p in (folder / "items").iterdir())


# -- a manifest nobody can use ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "content",
    [
        "[1, 2, 3]",
        '{"name": "x", "kind": "image", "entries": "not a list"}',
        '{"name": "x", "kind": "virus", "entries": []}',
        '{"name": "x", "kind": "text", "entries": [42]}',
        '{"name": "x", "kind": "text", "entries": [{"status": "ok"}]}',
        '{"name": "x", "kind": "text", "schema_version": "new", "entries": []}',
    ],
)
def test_an_unusable_manifest_is_one_plain_sentence(tmp_path, content):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "manifest.json").write_text(content, encoding="utf-8")
    with pytest.raises(JobError) as caught:
        Manifest.load(folder)
    message = str(caught.value)
    assert message.count(". ") == 0 and message.endswith(".") and "manifest.json" in message


def test_next_id_ignores_hand_made_ids(tmp_path):
    manifest = Manifest(
        folder=tmp_path,
        name="x",
        kind="text",
        entries=[{"id": "../../x", "status": "ok"}, {"id": "000007", "status": "ok"}],
    )
    assert manifest.next_id() == 8
