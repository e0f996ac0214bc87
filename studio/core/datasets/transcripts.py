"""Editable transcripts: type or fix what a clip of an audio dataset says.

At import a clip's transcript comes from ``metadata.csv`` or a ``.txt``/``.lab`` sidecar beside it
(:func:`studio.core.datasets.audio.transcript_for`) and is stored in the dataset's manifest entry; clips without
one are flagged "no transcript". An edit changes that entry only, the dataset's own copy: the user's
``metadata.csv`` and sidecars beside their recordings are never written (the studio never changes originals).

An edit is one undoable manifest operation (a ``replace`` of the clip's entry, the same record the trim and
re-import fixes leave), so ``Manifest.undo`` brings the earlier transcript back exactly, flag included.

Training sees the edit through the audio cache's fingerprint, which covers every usable clip's transcript
(:func:`studio.core.datasets.cache_common.manifest_fingerprint`): the cache is stale after an edit, and the next
build (``dataset cache``, or the one every training run starts with) re-derives the phonemes. It rebuilds only
those, not the mel frames and samples (see :class:`studio.core.datasets.audio_cache.BuildAudioCache`), because
an edit changes the text and nothing else.
"""

from __future__ import annotations

import copy
import unicodedata
from pathlib import Path, PurePosixPath

from studio.core.datasets import audio
from studio.core.datasets.base import AUDIO, FIXED, OK
from studio.core.datasets.importer import IMPORT_LOCK
from studio.core.datasets.manifest import Manifest
from studio.core.jobs import JobError
from studio.core.locks import LockHeld, ProcessLock

EDIT_ACTION = "edit transcript"
# A clip is at most a few tens of seconds (longer ones are flagged "too long"); LJSpeech's longest line is under
# 200 characters. 2,000 leaves room for any real clip and keeps a paste of a whole document out of the manifest.
MAX_TRANSCRIPT_CHARS = 2000
LOCK_WAIT_S = 5.0  # an import holding the dataset usually finishes its manifest write in well under that


def clean_transcript(text: str) -> str:
    """The transcript as it is stored: whitespace (line breaks, tabs) collapsed to single spaces, as the importer
    stores a sidecar's text, and control characters and lone surrogates (which UTF-8 cannot store) made spaces.
    Format characters stay: the zero-width non-joiner is part of how Persian is spelled. A plain refusal when it
    is too long."""
    kept = "".join(" " if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in str(text))
    cleaned = " ".join(unicodedata.normalize("NFC", kept).split())
    if len(cleaned) > MAX_TRANSCRIPT_CHARS:
        raise JobError(
            f"A transcript can be at most {MAX_TRANSCRIPT_CHARS:,} characters; this one has {len(cleaned):,}. "
            "Split the recording into shorter clips."
        )
    return cleaned


def is_clip(entry: dict) -> bool:
    """An entry whose transcript can be edited: a clip the studio imported (ok or fixed; excluded ones too, since
    they may come back with Undo), with its item file."""
    return entry.get("status") in (OK, FIXED) and bool(entry.get("item"))


def find_clip(manifest: Manifest, item: str) -> dict:
    """The clip ``item`` names: its item id as the manifest knows it, else its source path, file name or file
    name without the extension ("LJ001-0001", as metadata.csv writes it) when exactly one clip has it.

    Raises a plain :class:`JobError` when nothing matches, when several clips share the name (it lists their ids,
    to use instead), or when the entry is no clip (a skipped file, a duplicate, a transcript file).
    """
    item = str(item).strip()
    entry = manifest.by_id().get(item)
    if entry is None:
        clips = [e for e in manifest.entries if is_clip(e)]
        for key in (_source, _file_name, _stem):
            matches = [e for e in clips if key(e) == item]
            if len(matches) > 1:
                ids = ", ".join(e["id"] for e in matches[:5]) + (", …" if len(matches) > 5 else "")
                raise JobError(
                    f"{len(matches)} clips of the dataset “{manifest.name}” are called “{item}”; "
                    f"give the item id of the one you mean ({ids})."
                )
            if matches:
                return matches[0]
        raise JobError(f"There is no clip “{item}” in the dataset “{manifest.name}”.")
    if not is_clip(entry):
        why = entry.get("reason") or str(entry.get("status"))
        raise JobError(
            f"Item {item} of the dataset “{manifest.name}” is no usable clip ({why}), so it has no transcript."
        )
    return entry


def _source(entry: dict) -> str:
    return str(entry.get("source", "")).replace("\\", "/")


def _file_name(entry: dict) -> str:
    return PurePosixPath(_source(entry)).name


def _stem(entry: dict) -> str:
    return PurePosixPath(_source(entry)).stem


def set_transcript(manifest: Manifest, item: str, text: str | None) -> bool:
    """Set the transcript of the clip ``item`` names (see :func:`find_clip`) to ``text``; empty text or None
    clears it. One undoable operation named :data:`EDIT_ACTION`; returns False (and records nothing) when the
    transcript already reads so. The caller saves the manifest.

    The "no transcript" flag follows the text: it goes with a transcript and comes back when one is cleared, so
    the health report, "Drop flagged" and the clip list agree with what training will read.
    """
    if manifest.kind != AUDIO:
        raise JobError(f"The dataset “{manifest.name}” holds {manifest.kind} files; only voice clips have transcripts.")
    entry = find_clip(manifest, item)
    cleaned = clean_transcript(text or "")
    if cleaned == (entry.get("transcript") or ""):
        return False
    new = copy.deepcopy(entry)
    flags = [f for f in new.get("flags") or [] if f != audio.NO_TRANSCRIPT]
    if cleaned:
        new["transcript"] = cleaned
    else:
        new.pop("transcript", None)
        flags.append(audio.NO_TRANSCRIPT)
    if flags:
        new["flags"] = flags
    else:
        new.pop("flags", None)
    manifest.replace({entry["id"]: new}, EDIT_ACTION)
    return True


def edit_transcript(dataset_folder: str | Path, item: str, text: str | None) -> dict:
    """Headless edit (``aigc-studio dataset transcript``): load the manifest, set the transcript, save.

    Holds the dataset's import lock while it reads and writes the manifest, so an import running meanwhile (in
    the window or another shell) neither loses this edit nor has its new clips overwritten by it.
    Result: ``{"dataset", "item", "clip", "transcript", "changed", "without_transcript"}``.
    """
    folder = Path(dataset_folder)
    if not (folder / "manifest.json").is_file():
        raise JobError(f"There is no dataset “{folder.name}” in {folder.parent.parent}.")
    try:
        lock = ProcessLock(folder / IMPORT_LOCK).acquire(wait_s=LOCK_WAIT_S)
    except LockHeld as exc:
        who = exc.owner.describe() if exc.owner else "another process"
        raise JobError(
            f"An import into the dataset “{folder.name}” is running ({who}); edit the transcript when it has finished."
        ) from None
    try:
        manifest = Manifest.load(folder)
        entry_id = find_clip(manifest, item)["id"] if manifest.kind == AUDIO else item
        changed = set_transcript(manifest, entry_id, text)
        if changed:
            manifest.save()
    finally:
        lock.release()
    entry = manifest.by_id()[entry_id]
    return {
        "dataset": manifest.name,
        "item": entry_id,
        "clip": entry.get("source"),
        "transcript": entry.get("transcript"),
        "changed": changed,
        "without_transcript": missing_transcripts(manifest),
    }


def missing_transcripts(manifest: Manifest) -> int:
    """How many clips a model trains on have no transcript (they teach the sound, not the words)."""
    return sum(1 for e in manifest.usable() if is_clip(e) and not e.get("transcript"))
