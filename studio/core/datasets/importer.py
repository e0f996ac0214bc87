"""The import job: from what the user dropped to a dataset folder with a manifest and a report.

Pipeline: find every file (``sources``), sort each into images / text / audio / transcripts, normalize
each new file with its kind module (in a process pool when there are many: decoding is CPU-bound and
the GUI thread must stay free), drop exact duplicates, write the normalized copies under ``items/``, flag
near-duplicates and clips without transcripts, assign the train/validation split, and save
``manifest.json`` and ``project.json`` last. Originals are only ever read.

An import cannot half-happen:

* Each item file is written (atomically) *before* its manifest entry exists, so no entry ever points at a
  file that was not written. A write that fails (a full disk) stops the import with one plain sentence; the
  entries of the files written before are saved, and nothing else.
* One import at a time per dataset (a lock in the dataset folder), and each import first sweeps what a
  killed one left behind: item files no manifest lists and stale temporary files (``sweep``).
* The pool's workers die with the importing process, however it ends (``pool``), and each worker's memory is
  bounded by the kind modules' header estimates (``ImportOptions.max_decode_bytes``).
* A name that is not valid UTF-8 is imported under an escaped name (``sources.printable``), and archives
  are bounded as a whole (``sources.ExpansionBudget``); a refused archive is named in the report (``refused``)
  or, when nothing else was given, in the error.

A drop that mixes kinds is split: files of other kinds go to sibling datasets named ``<name>-<kind>``,
unless the user fixed the kind, in which case they are skipped with a reason that says so.
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict
from pathlib import Path
from typing import Any

from studio.core import words
from studio.core.atomic import atomic_write_bytes
from studio.core.datasets import audio, images, text
from studio.core.datasets.base import (
    AUDIO,
    DUPLICATE,
    FIXED,
    IMAGE,
    KINDS,
    OK,
    SKIPPED,
    TEXT,
    ImportOptions,
    Normalized,
)
from studio.core.datasets.manifest import ITEMS, TRANSCRIPT, Manifest, report
from studio.core.datasets.pool import worker_pool
from studio.core.datasets.sources import ExpansionBudget, SourceFile, iter_sources, printable
from studio.core.datasets.split import assign_split
from studio.core.datasets.sweep import sweep_dataset
from studio.core.jobs import JobContext, JobError
from studio.core.locks import LockHeld, ProcessLock
from studio.core.project import open_or_create_project, update_project

KIND_MODULES = {IMAGE: images, TEXT: text, AUDIO: audio}
POOL_THRESHOLD = 48  # below this many files a process pool costs more than it saves
MAX_BYTES_IN_FLIGHT = 256 << 20  # archive entries travel to the pool as bytes: at most this much queued at once
IMPORT_LOCK = ".import.lock"  # in the dataset folder: one import at a time per dataset
LOCK_WAIT_S = 5.0  # how long an import waits for another one into the same dataset before it refuses


def kind_of_suffix(suffix: str) -> str | None:
    for kind, module in KIND_MODULES.items():
        if suffix in module.SUFFIXES:
            return kind
    return None


def dataset_folder(project_root: Path, name: str) -> Path:
    return Path(project_root) / "datasets" / name


def check_dataset_name(name: str) -> str:
    """The name as the dataset folder and the manifest will carry it, or a plain refusal.

    A name that is not valid UTF-8 (a dropped folder's bytes, a command-line argument) is escaped as
    ``sources.printable`` escapes file names: it must be writable into the manifest and project.json."""
    name = printable(name).strip()
    if not name or name in (".", "..") or any(c in name for c in '<>:"/\\|?*') or name.startswith("."):
        raise JobError(f"“{name}” cannot be a dataset name: use letters, digits, spaces, - or _.")
    return name


class ImportDataset:
    """Job: import ``sources`` into dataset ``name`` of the project at ``project_root``; returns the report."""

    title = "Importing a dataset"

    def __init__(
        self,
        project_root: str | Path,
        name: str,
        sources: list[str | Path],
        kind: str | None = None,
        options: ImportOptions | None = None,
        workers: int | None = None,
        follow_dataset: bool = True,
    ) -> None:
        if kind is not None and kind not in KINDS:
            raise JobError(f"Unknown dataset kind “{kind}”: use image, text or audio.")
        self.project_root = Path(project_root)
        self.name = check_dataset_name(name)
        self.sources = [Path(s) for s in sources]
        self.kind = kind
        self.options = options or ImportOptions()
        # files added to an existing dataset are treated as the ones already in it (its recorded transparency
        # choice), unless the caller chose for this import (a command line's --transparency)
        self.follow_dataset = follow_dataset
        self.workers = workers if workers is not None else max(1, min(4, os.cpu_count() or 1))

    def __call__(self, ctx: JobContext) -> dict:
        ctx.progress(0.0, "Looking for files")
        found: list[SourceFile] = []
        for source in iter_sources(self.sources, ExpansionBudget.for_folder(self.project_root)):
            ctx.check()
            found.append(source)
        refused = [s for s in found if s.refused]
        project = open_or_create_project(self.project_root)
        groups = sort_by_kind(found)
        existing = _load_manifest(project.root, self.name)
        kind = self.kind or (existing.kind if existing else _majority_kind(groups, refused))
        others = [k for k in KINDS if k != kind and groups[k]]
        if self.kind is not None or not others:
            return _with_refused(self._import_kind(project, self.name, kind, groups, ctx), refused)
        # A mixed drop: this dataset takes the main kind, each other kind goes to "<name>-<kind>".
        main = {**groups, **{k: [] for k in others}}
        if kind != AUDIO:
            main[TRANSCRIPT] = []
        result = self._import_kind(project, self.name, kind, main, ctx)
        result["split_into"] = {}
        for other in others:
            sibling: dict[str, list[SourceFile]] = {k: [] for k in groups}
            sibling[other] = groups[other]
            if other == AUDIO:
                sibling[TRANSCRIPT] = groups[TRANSCRIPT]
            name = f"{self.name}-{other}"
            result["split_into"][name] = self._import_kind(project, name, other, sibling, ctx)
        ctx.progress(1.0, "Import finished")
        return _with_refused(result, refused)

    # -- one kind into one dataset -----------------------------------------------------------------------------
    def _import_kind(self, project, name: str, kind: str, groups: dict, ctx: JobContext) -> dict:
        folder = dataset_folder(project.root, name)
        lock = _take_import_lock(folder, name)
        try:
            return self._import_kind_locked(project, name, kind, groups, ctx)
        finally:
            lock.release()

    def _import_kind_locked(self, project, name: str, kind: str, groups: dict, ctx: JobContext) -> dict:
        folder = dataset_folder(project.root, name)
        manifest = _load_manifest(project.root, name) or Manifest(folder=folder, name=name, kind=kind)
        if manifest.kind != kind:
            raise JobError(
                f"The dataset “{name}” holds {manifest.kind} files; import {kind} files into another dataset."
            )
        swept = sweep_dataset(manifest)  # what a killed import left (we hold the lock: nobody else writes here)
        if self.follow_dataset:
            self.options = self.options.following(manifest.options)
        manifest.options = {**manifest.options, **_plain(asdict(self.options))}
        (folder / ITEMS).mkdir(parents=True, exist_ok=True)
        ids = iter(range(manifest.next_id(), 1 << 62))
        entries: list[dict] = []

        def add(source: SourceFile, status: str, entry_id: str | None = None, **fields) -> dict:
            entry = _entry(entry_id or new_id(), source, status, **fields)
            entries.append(entry)
            return entry

        def new_id() -> str:
            return f"{next(ids):06d}"

        for source in groups[None]:
            add(source, SKIPPED, reason=source.problem or _unsupported(source))
        for other in (k for k in KINDS if k != kind):
            for source in groups[other]:
                add(source, SKIPPED, reason=f"{other} file (this dataset holds {kind})")
        for source in groups[TRANSCRIPT]:
            if kind == AUDIO:
                add(source, TRANSCRIPT)
            else:
                add(source, SKIPPED, reason=f"transcript of an audio clip (this dataset holds {kind})")
        try:
            self._normalize_all(manifest, kind, groups[kind], add, new_id, ctx)
        finally:  # also on cancel or failure: what was imported so far is recorded, nothing is lost
            _postprocess(manifest, kind, entries, groups[TRANSCRIPT] if kind == AUDIO else [], self.options)
            manifest.entries.extend(_json_safe(entries))
            assign_split(manifest)
            _save_manifest(manifest)
            info = {"kind": kind, "items": len(manifest.usable()), "path": f"datasets/{name}"}
            project.datasets[name] = info  # re-read and saved under the project's lock: concurrent writers all count
            update_project(project.root, lambda fresh: fresh.datasets.__setitem__(name, info))
        result = {**report(entries), "stats": dataset_stats(kind, entries)}
        if any(swept.values()):
            result["swept"] = swept  # {"orphans": n, "temporary": m} left by an interrupted import
        return result

    def _normalize_all(
        self, manifest: Manifest, kind: str, sources: list[SourceFile], add, new_id, ctx: JobContext
    ) -> None:
        """Normalize ``sources`` and record each: ``add`` makes an entry, ``new_id`` reserves an id for an item
        file before its entry exists (the file is written first)."""
        known_hashes = {
            e["sha256"]: e["id"]
            for e in manifest.entries
            if e.get("sha256") and e["status"] not in (DUPLICATE, SKIPPED)
        }
        known_keys = {e["dedupe_key"]: e["id"] for e in manifest.entries if e.get("dedupe_key")}
        earlier = set(known_hashes.values())  # entries from earlier imports: a copy of one is "already imported"
        total = len(sources)
        for done, (source, outcome) in enumerate(self._normalized(kind, sources, ctx), start=1):
            ctx.check()
            if done % 8 == 0 or done == total:
                ctx.progress(done / max(1, total), words.of(done, total, "file"))
            if isinstance(outcome, str):  # the file could not be read
                add(source, SKIPPED, reason=outcome)
                continue
            sha, result = outcome
            if sha in known_hashes:
                first = known_hashes[sha]
                add(
                    source,
                    DUPLICATE,
                    sha=sha,
                    duplicate_of=first,
                    reason="already imported" if first in earlier else "identical to another file",
                )
                continue
            if result.status == SKIPPED:
                add(source, SKIPPED, sha=sha, reason=result.reason)
                continue
            if result.dedupe_key and result.dedupe_key in known_keys:
                add(
                    source,
                    DUPLICATE,
                    sha=sha,
                    duplicate_of=known_keys[result.dedupe_key],
                    reason="same content as another file",
                )
                continue
            entry_id = new_id()
            item = f"{ITEMS}/{entry_id}{result.suffix}"
            _store_item(manifest.folder, item, result.payload)  # first the file, then the entry that points at it
            entry = add(source, result.status, entry_id=entry_id, sha=sha, result=result)
            entry["item"] = item
            if kind == IMAGE:
                entry["label"] = images.label_from_path(source.rel)
            known_hashes[sha] = entry["id"]
            if result.dedupe_key:
                known_keys[result.dedupe_key] = entry["id"]

    def _normalized(self, kind: str, sources: list[SourceFile], ctx: JobContext) -> Iterator[tuple[SourceFile, Any]]:
        """(source, (sha256, Normalized)) in input order, or (source, reason) when unreadable."""
        options = self.options
        if self.workers > 1 and len(sources) >= POOL_THRESHOLD:
            with worker_pool(self.workers) as pool:  # shut down on leaving, also on cancel or failure
                yield from _ordered(pool, kind, sources, options, window=self.workers * 8)
        else:
            for source in sources:
                ctx.check()
                try:
                    what = _task_input(source)
                except (OSError, ValueError) as exc:
                    yield source, f"could not be read ({exc})"
                    continue
                yield source, _normalize_task(kind, what, source.name, options)


# -- work done in pool processes (plain functions: they must pickle) -------------------------------------------------
def _normalize_task(kind: str, what: str | bytes, name: str, options: ImportOptions) -> tuple[str, Normalized] | str:
    """Read (a path) or take (archive bytes), hash and normalize one file. Runs in a pool process."""
    try:
        data = Path(what).read_bytes() if isinstance(what, str) else what
    except OSError as exc:
        return f"could not be read ({exc.strerror or exc})"
    sha = hashlib.sha256(data).hexdigest()
    if not data:
        return sha, Normalized.skipped("empty file")
    return sha, KIND_MODULES[kind].normalize(data, name, options)


def _task_input(source: SourceFile) -> str | bytes:
    """Disk files travel as paths (the pool process reads them); archive entries as their bytes."""
    return str(source.path) if source.path is not None else source.read()


def _ordered(
    pool: ProcessPoolExecutor,
    kind: str,
    sources: list[SourceFile],
    options: ImportOptions,
    window: int,
    max_bytes: int = MAX_BYTES_IN_FLIGHT,
) -> Iterator[tuple[SourceFile, Any]]:
    """Results in input order with at most ``window`` tasks, and at most ``max_bytes`` of archive entries'
    bytes, in flight (one task always may be), so memory stays bounded however large the entries are."""
    pending: deque[tuple[SourceFile, Future, int]] = deque()
    queue = iter(sources)
    in_flight = 0

    def submit() -> bool:
        nonlocal in_flight
        source = next(queue, None)
        if source is None:
            return False
        size = 0
        try:
            what = _task_input(source)
            size = len(what) if isinstance(what, bytes) else 0
            future = pool.submit(_normalize_task, kind, what, source.name, options)
        except (OSError, ValueError) as exc:
            future = Future()
            future.set_result(f"could not be read ({exc})")
        in_flight += size
        pending.append((source, future, size))
        return True

    def fill() -> None:
        while len(pending) < window and (not pending or in_flight < max_bytes) and submit():
            pass

    fill()
    while pending:
        source, future, size = pending.popleft()
        try:
            outcome = future.result()
        except BrokenProcessPool:
            raise JobError(
                f"The import stopped: the process reading {source.rel} was ended by the system (most "
                "likely it ran out of memory); the files imported before it are kept."
            ) from None
        in_flight -= size
        yield source, outcome
        fill()


# -- sorting and post-processing ---------------------------------------------------------------------------------------
def sort_by_kind(found: list[SourceFile]) -> dict:
    """Group files: each kind, TRANSCRIPT (metadata.csv and sidecars of clips), and None (unusable)."""
    groups: dict[Any, list[SourceFile]] = {IMAGE: [], TEXT: [], AUDIO: [], TRANSCRIPT: [], None: []}
    clip_stems = {audio.clip_key(s.rel) for s in found if not s.problem and s.suffix in audio.SUFFIXES}
    for source in found:
        if source.problem:
            groups[None].append(source)
        elif (source.name.lower() in audio.TRANSCRIPT_NAMES and clip_stems) or (
            source.suffix in audio.SIDECAR_SUFFIXES and audio.clip_key(source.rel) in clip_stems
        ):
            groups[TRANSCRIPT].append(source)
        else:
            groups[kind_of_suffix(source.suffix)].append(source)
    return groups


def _majority_kind(groups: dict, refused: Sequence[SourceFile] = ()) -> str:
    counts = {k: len(groups[k]) for k in KINDS}
    if not any(counts.values()):
        if refused:  # say what was refused, not that nothing was there: a bomb must be named as such
            more = f" ({len(refused) - 1:,} more refused)" if len(refused) > 1 else ""
            raise JobError(f"Nothing was imported: {refused[0].rel}: {refused[0].problem}{more}.")
        raise JobError(
            "No images, text or audio files were found in what you gave. Supported: "
            "JPEG, PNG, WebP, BMP, GIF, TIFF; TXT, MD, CSV, JSONL; WAV, FLAC, OGG, MP3."
        )
    return max(KINDS, key=lambda k: counts[k])


def _with_refused(result: dict, refused: list[SourceFile]) -> dict:
    """Name the refused archives (and archive entries) in the report: whatever kind the user asked for, a
    refused bomb must be visible as one, not only as a count among the skipped files."""
    if refused:
        result["refused"] = [{"source": s.rel, "reason": s.problem} for s in refused[:100]]
    return result


def _take_import_lock(folder: Path, name: str) -> ProcessLock:
    """The dataset's import lock, waiting a few seconds; a plain refusal naming the other import otherwise."""
    try:
        return ProcessLock(folder / IMPORT_LOCK).acquire(wait_s=LOCK_WAIT_S)
    except LockHeld as exc:
        who = exc.owner.describe() if exc.owner else "another process"
        stop = f", or stop it with “{exc.owner.how_to_stop()}”" if exc.owner else ""
        raise JobError(
            f"Another import into the dataset “{name}” is running ({who}); wait for it to "
            f"finish{stop}, then import again."
        ) from None


def _store_item(folder: Path, item: str, payload: bytes | None) -> None:
    """Write one item atomically (never half a file); a failure stops the import with a plain sentence.

    ``durable=False``: thousands of fsyncs would dominate the import. The manifest written afterwards is what
    makes an item exist, so a process killed before it leaves only orphans, which the next import sweeps. (A
    power cut is another matter: the manifest is fsynced, the items' data may not have reached the disk.)
    """
    try:
        atomic_write_bytes(folder / item, payload or b"", durable=False)
    except OSError as exc:
        raise JobError(_write_failure(folder, exc, "the import stopped; the files imported before are kept")) from exc


def _save_manifest(manifest: Manifest) -> None:
    try:
        manifest.save()
    except OSError as exc:
        raise JobError(
            _write_failure(
                manifest.folder, exc, "the dataset index could not be saved, so nothing from this import was recorded"
            )
        ) from exc


def _write_failure(folder: Path, exc: OSError, consequence: str) -> str:
    """One sentence for a failed write: what happened, what it means, what to do."""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return f"The disk holding {folder} is full: {consequence}; free some space and import again."
    return f"Writing in {folder} failed ({exc.strerror or exc}): {consequence}; check the folder and import again."


def _json_safe(value: Any) -> Any:
    """``value`` with every string made encodable as UTF-8 (``sources.printable``): a lone surrogate that
    reached an entry by any other road must not make the whole manifest unwritable."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {_json_safe(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def _postprocess(
    manifest: Manifest, kind: str, entries: list[dict], transcripts: list[SourceFile], options: ImportOptions
) -> None:
    if kind == IMAGE:
        everything = [e for e in manifest.entries + entries if e.get("meta", {}).get("phash") and e.get("item")]
        labels = {e["id"]: e["source"] for e in everything}
        by_id = {e["id"]: e for e in entries}
        pairs = images.find_near_duplicates(
            [(e["id"], e["meta"]["phash"]) for e in everything], options.near_duplicate_distance
        )
        for later, earlier, _distance in pairs:
            if later in by_id:
                by_id[later].setdefault("flags", []).append(f"near-duplicate of {labels[earlier]}")
    elif kind == AUDIO:
        metadata, sidecars = _read_transcripts(transcripts)
        for entry in entries:
            if entry.get("item"):
                transcript = audio.transcript_for(entry["source"], metadata, sidecars)
                if transcript:
                    entry["transcript"] = transcript
                else:
                    entry.setdefault("flags", []).append(audio.NO_TRANSCRIPT)


def _read_transcripts(transcripts: list[SourceFile]) -> tuple[dict[str, str], dict[str, str]]:
    metadata: dict[str, str] = {}
    sidecars: dict[str, str] = {}
    for source in transcripts:
        try:
            data = source.read()
        except (OSError, ValueError):
            continue
        if source.name.lower() in audio.TRANSCRIPT_NAMES:
            metadata.update(audio.parse_metadata_csv(data.decode("utf-8-sig", errors="replace")))
        else:
            sidecars[audio.clip_key(source.rel)] = audio.decode_transcript(data)
    return metadata, sidecars


def _unsupported(source: SourceFile) -> str:
    return f"not a supported file type ({source.suffix or 'no extension'})"


def _entry(
    entry_id: str,
    source: SourceFile,
    status: str,
    sha: str | None = None,
    reason: str | None = None,
    duplicate_of: str | None = None,
    result: Normalized | None = None,
) -> dict:
    entry: dict[str, Any] = {
        "id": entry_id,
        "source": source.rel,
        "origin": source.origin,
        "size": source.size,
        "status": status,
    }
    if source.note:
        entry["note"] = source.note
    if sha:
        entry["sha256"] = sha
    if reason:
        entry["reason"] = reason
    if duplicate_of:
        entry["duplicate_of"] = duplicate_of
    if result is not None:
        entry.update(fixes=result.fixes, flags=list(result.flags), meta=result.meta, dedupe_key=result.dedupe_key)
    return entry


def _load_manifest(project_root: Path, name: str) -> Manifest | None:
    folder = dataset_folder(project_root, name)
    return Manifest.load(folder) if (folder / "manifest.json").is_file() else None


def _plain(options: dict) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items()}


def dataset_report(project_root: str | Path, name: str) -> dict:
    """The cumulative report of everything ever imported into a dataset (``dataset report``)."""
    folder = dataset_folder(Path(project_root), name)
    if not (folder / "manifest.json").is_file():
        raise JobError(f"There is no dataset “{name}” in {project_root}.")
    manifest = Manifest.load(folder)
    return {**report(manifest.entries), "stats": dataset_stats(manifest.kind, manifest.entries)}


def dataset_stats(kind: str, entries: list[dict]) -> dict:
    """Kind-specific statistics of the usable entries (resolutions and aspects, characters, durations)."""
    metas = [e["meta"] for e in entries if e["status"] in (OK, FIXED) and not e.get("excluded") and e.get("meta")]
    return {IMAGE: images.image_stats, TEXT: text.text_stats, AUDIO: audio.audio_stats}[kind](metas)
