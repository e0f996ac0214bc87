"""One-click fixes on an imported dataset. Each is one undoable manifest operation; originals are never
touched and earlier item files are kept, so Undo is exact.

* ``remove_near_duplicates`` / ``drop_flagged``: exclude entries (they stay listed, greyed out).
* ``trim_silence``: re-trim audio items (for clips imported with trimming off, or trimmed too gently).
* ``reimport``: normalize one source again with other options, e.g. the text encoding the user picked
  when the detector guessed wrong.
"""

from __future__ import annotations

import copy
import io
from pathlib import Path

from studio.core.atomic import atomic_write_bytes
from studio.core.datasets.base import SKIPPED, ImportOptions
from studio.core.datasets.manifest import ITEMS, Manifest
from studio.core.jobs import JobContext, JobError

NEAR_DUPLICATE = "near-duplicate"


def near_duplicate_ids(manifest: Manifest) -> list[str]:
    """Usable entries flagged as near-duplicates of an earlier picture (the earlier one is kept)."""
    return [e["id"] for e in manifest.usable()
            if any(str(f).startswith(NEAR_DUPLICATE) for f in e.get("flags") or [])]


def remove_near_duplicates(manifest: Manifest) -> int:
    return manifest.exclude(near_duplicate_ids(manifest), "remove near-duplicates")


def drop_flagged(manifest: Manifest) -> int:
    return manifest.exclude(manifest.flagged_ids(), "drop flagged")


def trim_silence(manifest: Manifest, ids: list[str] | None = None, ctx: JobContext | None = None) -> int:
    """Trim leading/trailing silence of audio items; returns how many clips got shorter.

    Trimmed clips get new item files (the old ones stay for Undo). ``ctx`` reports progress and can cancel;
    a cancelled run leaves the manifest as it was.
    """
    import numpy as np
    import soundfile

    from studio.core.datasets import audio

    if manifest.kind != "audio":
        raise JobError("Trimming silence applies to audio datasets only.")
    ctx = ctx or JobContext()
    chosen = [e for e in manifest.usable() if ids is None or e["id"] in ids]
    updated = {}
    for done, entry in enumerate(chosen):
        ctx.check()
        ctx.progress(done / max(len(chosen), 1), f"Clip {done + 1:,} of {len(chosen):,}")
        try:
            samples, rate = soundfile.read(io.BytesIO((manifest.folder / entry["item"]).read_bytes()),
                                           dtype="float32")
        except (OSError, RuntimeError) as exc:
            raise JobError(f"The clip {entry['source']} could not be read again ({exc}). "
                           "Re-import the dataset, then trim.") from exc
        start, stop = audio.silent_edges(samples, rate)
        if stop - start >= len(samples) or stop <= start:
            continue
        new = copy.deepcopy(entry)
        new["item"] = _next_item_name(manifest, entry)
        atomic_write_bytes(manifest.folder / new["item"], audio.encode_wav(np.asarray(samples[start:stop]), rate))
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
    """Normalize one entry's original again with ``options``; returns the new entry."""
    from studio.core.datasets.importer import KIND_MODULES

    entry = manifest.by_id().get(entry_id)
    if entry is None:
        raise JobError(f"Item {entry_id} is not in the dataset {manifest.name}.")
    data = read_origin(entry["origin"])
    result = KIND_MODULES[manifest.kind].normalize(data, Path(entry["source"]).name, options)
    new = copy.deepcopy(entry)
    new.update(status=result.status, fixes=result.fixes, flags=result.flags, meta=result.meta,
               dedupe_key=result.dedupe_key)
    new.pop("reason", None)
    if result.status == SKIPPED:
        new["reason"] = result.reason
        new.pop("item", None)
    else:
        new["item"] = _next_item_name(manifest, entry, result.suffix)
        atomic_write_bytes(manifest.folder / new["item"], result.payload or b"")
    manifest.replace({entry_id: new}, "re-import")
    return new


def read_origin(origin: str) -> bytes:
    """The bytes of an entry's original: a file path, or ``archive.zip!member``."""
    import zipfile

    if "!" in origin and not Path(origin).exists():
        archive, member = origin.split("!", 1)
        try:
            with zipfile.ZipFile(archive) as zf:
                return zf.read(member)
        except (OSError, KeyError, zipfile.BadZipFile) as exc:
            raise JobError(f"The original {origin} can no longer be read ({exc}).") from exc
    try:
        return Path(origin).read_bytes()
    except OSError as exc:
        raise JobError(f"The original {origin} can no longer be read ({exc.strerror}). Was it moved?") from exc


def _next_item_name(manifest: Manifest, entry: dict, suffix: str | None = None) -> str:
    suffix = suffix or Path(entry.get("item", ".bin")).suffix
    for version in range(2, 10_000):
        name = f"{ITEMS}/{entry['id']}-v{version}{suffix}"
        if not (manifest.folder / name).exists():
            return name
    raise JobError("Too many versions of one item.")
