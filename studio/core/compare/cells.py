"""The board's cell cache: ``runs/<run-id>/board/<key>/`` holds one rendered cell (``cell.png``, ``cell.txt`` or
``cell.wav``) and its record ``cell.json``, written last (a cell exists only when its record does, as a
checkpoint exists only when its .json does).

The key is the SHA-256 of everything that decides the cell: the checkpoint weights' *content* hash, the run's
model description and the other files its loader reads (a text model's tokenizer), the row's settings (seed,
prompt and sampling settings, sentence), the device and :data:`CELL_VERSION`. Content, not the file name or the
step: a run resumed from an earlier step rewrites ``step-000400.safetensors`` with other weights, and its old
cells must not be shown for the new ones. Reopening a board with the same settings finds every cell and loads
no model.

Hashing a checkpoint costs a read of the whole file (tens of MB for a big GAN), so content hashes are memoized
in ``board/hashes.json`` by (file, size, modification time in ns): a file rewritten in place changes its size
or time and is hashed again.

A run folder may have come from someone else (ARCHITECTURE.md): every path here is resolved inside the project
(:func:`studio.core.safe_paths.inside`, so a ``board`` that is a symlink out of the project is refused), records
and texts are read size-capped, and the file names are the board's own, never read from a record.

Cache writes are not fsynced: a cell torn by a crash is simply rendered again.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable
from pathlib import Path

from studio.core.atomic import atomic_write_bytes
from studio.core.compare.renderers import Rendered
from studio.core.jobs import JobError
from studio.core.safe_paths import inside
from studio.core.training import runs
from studio.core.untrusted import read_json

CELL_VERSION = 1  # raise when a renderer changes what it draws: every cached cell is then rendered again
BOARD = "board"
HASHES = "hashes.json"
RECORD = "cell.json"
FILES = {"image": "cell.png", "text": "cell.txt", "audio": "cell.wav"}
RECORD_CAP = 64 * 1024
HASHES_CAP = 4 * 2**20  # ~200 bytes per memoized file
TEXT_CAP = 1 * 2**20  # a 120-token text is well under 1 KB
FILE_CAP = 256 * 2**20  # a cell: a PNG of a 1024 px picture, a WAV of a sentence capped at 300 s of audio
HASH_CHUNK = 4 * 2**20  # hashing reads this much between two cancel checks
MAX_SECONDS = 3600.0


def relative_folder(run_id: str, key: str = "") -> str:
    """The project-relative folder of a run's board cache (of one cell when ``key`` is given)."""
    return f"{runs.RUNS}/{run_id}/{BOARD}" + (f"/{key}" if key else "")


def canonical(value: object) -> bytes:
    """Sorted-key, compact JSON: the same value always gives the same bytes (a hash's input)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def cell_key(inputs: dict, modality: str, row_settings: dict, device: str) -> str:
    """The key of one cell: SHA-256 of its checkpoint's ``inputs`` (content hashes) and its settings."""
    payload = {
        "version": CELL_VERSION,
        "modality": modality,
        "inputs": inputs,
        "row": row_settings,
        "device": str(device),
    }
    return hashlib.sha256(canonical(payload)).hexdigest()


# -- content hashes, memoized ----------------------------------------------------------------------------------------
class HashMemo:
    """Content hashes of one run's files, memoized by (size, mtime_ns) in ``board/hashes.json``."""

    def __init__(self, project_root: Path, run_id: str) -> None:
        self.project_root, self.run_id = Path(project_root), run_id
        self.path = inside(project_root, f"{relative_folder(run_id)}/{HASHES}", "The board's cache")
        self._entries = self._load()
        self._changed = False

    def _load(self) -> dict[str, dict]:
        try:
            data = read_json(self.path, HASHES_CAP, "the board's hash list")
        except (OSError, ValueError, JobError):
            return {}  # missing or damaged: everything is hashed again
        if not isinstance(data, dict):
            return {}
        return {str(name): entry for name, entry in data.items() if _valid_entry(entry)}

    def digest(self, relative: str, check: Callable[[], None] | None = None) -> str:
        """SHA-256 of the run's file ``relative`` (to its folder), from the memo when its size and time match."""
        path = inside(self.project_root, f"{runs.RUNS}/{self.run_id}/{relative}", "A file of the run")
        try:
            stat = path.stat()
        except OSError as exc:
            raise JobError(
                f"The file {relative} of the run {self.run_id} disappeared while the board was being made; try again."
            ) from exc
        entry = self._entries.get(relative)
        if entry and entry["size"] == stat.st_size and entry["mtime_ns"] == stat.st_mtime_ns:
            return str(entry["sha256"])
        digest = _hash_file(path, check)
        self._entries[relative] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
        self._changed = True
        return digest

    def save(self) -> None:
        """Write the memo when something was hashed (a cache: a failure to write costs a re-hash, no more)."""
        if not self._changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.path, canonical(self._entries), durable=False)
            self._changed = False
        except OSError:
            pass


def _valid_entry(entry: object) -> bool:
    if not isinstance(entry, dict):
        return False
    digest = entry.get("sha256")
    numbers = [entry.get("size"), entry.get("mtime_ns")]
    return (
        isinstance(digest, str)
        and len(digest) == 64
        and all(c in "0123456789abcdef" for c in digest)
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in numbers)
    )


def _hash_file(path: Path, check: Callable[[], None] | None) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(HASH_CHUNK):
                digest.update(chunk)
                if check is not None:
                    check()
    except OSError as exc:
        reason = exc.strerror or exc
        raise JobError(f"The file {path.name} cannot be read ({reason}); pick another checkpoint.") from exc
    return digest.hexdigest()


# -- cells -----------------------------------------------------------------------------------------------------------
def read_cell(project_root: Path, run_id: str, key: str, modality: str) -> dict | None:
    """The cached cell ``key`` of the run as the board shows it (``{"file", "text" | "seconds"}``), or None when it
    is missing, torn or damaged (it is then rendered again)."""
    folder = relative_folder(run_id, key)
    try:
        record = read_json(inside(project_root, f"{folder}/{RECORD}"), RECORD_CAP, "a board cell")
        path = inside(project_root, f"{folder}/{FILES[modality]}")
        size = path.stat().st_size if path.is_file() else -1
    except (OSError, ValueError, JobError):
        return None
    smallest = 0 if modality == "text" else 1  # a model may end a text at once: an empty text is a cell
    if not isinstance(record, dict) or record.get("key") != key or not smallest <= size <= FILE_CAP:
        return None
    cell: dict = {"file": f"{folder}/{FILES[modality]}"}
    if modality == "text":
        if size > TEXT_CAP:
            return None
        try:
            cell["text"] = path.read_bytes().decode("utf-8", "replace")
        except OSError:
            return None
    elif modality == "audio":
        seconds = record.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= MAX_SECONDS:
            return None
        cell["seconds"] = float(seconds)
    return cell


def write_cell(project_root: Path, run_id: str, key: str, modality: str, rendered: Rendered, about: dict) -> dict:
    """Store a rendered cell (its file, then its record with ``about``: run, step, row) and return it as the
    board shows it."""
    folder = relative_folder(run_id, key)
    path = inside(project_root, f"{folder}/{FILES[modality]}", "The board's cache")
    record_path = inside(project_root, f"{folder}/{RECORD}", "The board's cache")
    data = rendered.data
    path.parent.mkdir(parents=True, exist_ok=True)
    record: dict = {"key": key, "version": CELL_VERSION, **about}
    if rendered.seconds is not None and math.isfinite(rendered.seconds):
        record["seconds"] = float(rendered.seconds)
    atomic_write_bytes(path, data, durable=False)
    atomic_write_bytes(record_path, canonical(record), durable=False)
    cell: dict = {"file": f"{folder}/{FILES[modality]}"}
    if modality == "text":
        cell["text"] = rendered.text if rendered.text is not None else data.decode("utf-8", "replace")
    elif modality == "audio":
        cell["seconds"] = float(record.get("seconds", 0.0))
    return cell


def file_size(project_root: Path, relative: str) -> int:
    """Size of a project-relative file (-1 when missing): what the HTML export checks before it reads one."""
    try:
        return os.path.getsize(inside(project_root, relative))
    except (OSError, JobError):
        return -1
