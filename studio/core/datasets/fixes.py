"""One-click fixes on an imported dataset. Each is one undoable manifest operation; originals are never
touched and earlier item files are kept, so Undo is exact.

* ``remove_near_duplicates`` / ``drop_flagged``: exclude entries (they stay listed, greyed out).
* ``trim_silence``: re-trim audio items (for clips imported with trimming off, or trimmed too gently).
* ``reimport``: normalize one source again with other options, e.g. the text encoding the user picked
  when the detector guessed wrong.

The manifest may come from someone else, so every path these fixes read comes from
:meth:`Manifest.item_path` (it stays inside the dataset folder), every file they write is named by
:func:`_next_item_name` (a sanitized id, checked to land under ``items/``), and an original is only re-read
when it is still the very file that was imported (its content hash matches the entry's).
"""

from __future__ import annotations

import copy
import hashlib
import io
import re
import stat
import zipfile
from pathlib import Path, PurePath

import numpy as np
import soundfile

from studio.core.atomic import atomic_write_bytes
from studio.core.datasets import audio
from studio.core.datasets.base import SKIPPED, ImportOptions
from studio.core.datasets.importer import KIND_MODULES
from studio.core.datasets.manifest import ITEMS, Manifest
from studio.core.datasets.sources import MAX_FILE_BYTES
from studio.core.jobs import JobContext, JobError
from studio.core.safe_paths import safe_name

NEAR_DUPLICATE = "near-duplicate"


def near_duplicate_ids(manifest: Manifest) -> list[str]:
    """Usable entries flagged as near-duplicates of an earlier picture (the earlier one is kept)."""
    return [e["id"] for e in manifest.usable() if any(str(f).startswith(NEAR_DUPLICATE) for f in e.get("flags") or [])]


def remove_near_duplicates(manifest: Manifest) -> int:
    return manifest.exclude(near_duplicate_ids(manifest), "remove near-duplicates")


def drop_flagged(manifest: Manifest) -> int:
    return manifest.exclude(manifest.flagged_ids(), "drop flagged")


def trim_silence(manifest: Manifest, ids: list[str] | None = None, ctx: JobContext | None = None) -> int:
    """Trim leading/trailing silence of audio items; returns how many clips got shorter.

    Trimmed clips get new item files (the old ones stay for Undo). ``ctx`` reports progress and can cancel;
    a cancelled run leaves the manifest as it was.
    """

    if manifest.kind != "audio":
        raise JobError("Trimming silence applies to audio datasets only.")
    ctx = ctx or JobContext()
    chosen = [e for e in manifest.usable() if ids is None or e["id"] in ids]
    updated = {}
    for done, entry in enumerate(chosen):
        ctx.check()
        ctx.progress(done / max(len(chosen), 1), f"Clip {done + 1:,} of {len(chosen):,}")
        try:
            samples, rate = soundfile.read(io.BytesIO(manifest.item_path(entry).read_bytes()), dtype="float32")
        except (OSError, RuntimeError) as exc:
            raise JobError(
                f"The clip {entry['source']} could not be read again ({exc}). Re-import the dataset, then trim."
            ) from exc
        start, stop = audio.silent_edges(samples, rate)
        if stop - start >= len(samples) or stop <= start:
            continue
        new = copy.deepcopy(entry)
        new["item"] = _next_item_name(manifest, entry, ".wav")  # encode_wav writes WAV whatever the old suffix
        atomic_write_bytes(manifest.item_path(new), audio.encode_wav(np.asarray(samples[start:stop]), rate))
        cut = (len(samples) - (stop - start)) / rate
        new.setdefault("fixes", []).append(f"silence trimmed ({cut:.1f} s)")
        new.setdefault("meta", {})["duration_s"] = round((stop - start) / rate, 3)
        updated[entry["id"]] = new
    ctx.check()
    return manifest.replace(updated, "trim silence")


class TrimSilence:
    """The trim-silence fix as a job: reads every clip, so it runs off the GUI thread. Result: ``{"trimmed": N}``."""

    title = "Trimming silence"

    def __init__(self, dataset_folder: str | Path) -> None:
        self.folder = Path(dataset_folder)

    def __call__(self, ctx: JobContext) -> dict:
        manifest = Manifest.load(self.folder)
        trimmed = trim_silence(manifest, ctx=ctx)
        if trimmed:
            manifest.save()
        return {"trimmed": trimmed}


def reimport(manifest: Manifest, entry_id: str, options: ImportOptions) -> dict:
    """Normalize one entry's original again with ``options``; returns the new entry.

    The file's own flags are measured again; the flags the import gave it by comparing it with the rest of the
    dataset (near-duplicate of another item) still hold, so they stay: the near-duplicate review keeps the pair."""

    entry = manifest.by_id().get(entry_id)
    if entry is None:
        raise JobError(f"Item {entry_id} is not in the dataset {manifest.name}.")
    data = read_origin(str(entry.get("origin", "")), entry.get("size"))
    if entry.get("sha256") != hashlib.sha256(data).hexdigest():
        raise _not_the_original(entry.get("origin"))
    result = KIND_MODULES[manifest.kind].normalize(data, Path(entry["source"]).name, options)
    new = copy.deepcopy(entry)
    dataset_flags = [f for f in entry.get("flags") or [] if str(f).startswith(NEAR_DUPLICATE)]
    flags = list(result.flags) + [f for f in dataset_flags if f not in result.flags]
    new.update(status=result.status, fixes=result.fixes, flags=flags, meta=result.meta, dedupe_key=result.dedupe_key)
    new.pop("reason", None)
    if result.status == SKIPPED:
        new["reason"] = result.reason
        new.pop("item", None)
    else:
        new["item"] = _next_item_name(manifest, entry, result.suffix)
        atomic_write_bytes(manifest.item_path(new), result.payload or b"")
    manifest.replace({entry_id: new}, "re-import")
    return new


def read_origin(origin: str, size: int | None = None) -> bytes:
    """The bytes of an entry's original: a file path, or ``archive.zip!member``.

    ``origin`` lies outside the project by design (it is the user's own file), so it cannot be kept inside;
    instead nothing but the imported file itself is read: a regular file (never a device, FIFO or folder) of the
    ``size`` recorded at import, and the caller compares the content hash. A manifest pointing ``origin`` at
    ``/dev/zero`` or someone's key file therefore reads nothing, or at most a file of the very size and hash it
    already names.
    """

    limit = size if isinstance(size, int) and 0 <= size <= MAX_FILE_BYTES else MAX_FILE_BYTES
    if "!" in origin and not Path(origin).exists():
        archive, member = origin.split("!", 1)
        try:
            if not stat.S_ISREG(Path(archive).stat().st_mode):
                raise _not_the_original(origin)
            with zipfile.ZipFile(archive) as zf, zf.open(member) as handle:
                data = handle.read(limit + 1)
        except (OSError, KeyError, RuntimeError, ValueError, zipfile.BadZipFile) as exc:
            raise JobError(f"The original {origin} can no longer be read ({exc}).") from exc
    else:
        try:
            info = Path(origin).stat()
            if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
                raise _not_the_original(origin)
            with open(origin, "rb") as handle:
                data = handle.read(limit + 1)
        except OSError as exc:
            raise JobError(f"The original {origin} can no longer be read ({exc.strerror}): was it moved?") from exc
    if len(data) > limit or (size is not None and len(data) != size):
        raise _not_the_original(origin)
    return data


def _not_the_original(origin: object) -> JobError:
    return JobError(
        f"The original {origin} is no longer the file that was imported (its content changed, or the "
        "dataset index points elsewhere), so it is not re-read."
    )


def _next_item_name(manifest: Manifest, entry: dict, suffix: str | None = None) -> str:
    """``items/<id>-v<N><suffix>``, the first version not on disk yet.

    The id and the suffix come from the manifest, which may have been edited by someone else: the id is made
    a plain file name (``../../x`` becomes ``x``) and a suffix that is not a short alphanumeric extension
    becomes ``.bin``, so the name always lands in ``items/`` (``item_path`` checks it again before writing).
    """
    suffix = suffix or PurePath(str(entry.get("item") or entry.get("refused_item") or ".bin")).suffix
    if not re.fullmatch(r"\.[A-Za-z0-9]{1,10}", suffix):
        suffix = ".bin"
    stem = safe_name(entry["id"])
    for version in range(2, 10_000):
        name = f"{ITEMS}/{stem}-v{version}{suffix}"
        if not (manifest.folder / name).exists():
            return name
    raise JobError("Too many versions of one item.")
