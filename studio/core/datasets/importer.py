"""The import job: from what the user dropped to a dataset folder with a manifest and a report.

Pipeline: find every file (``sources``), sort each into images / text / audio / transcripts, normalize
each new file with its kind module (in a process pool when there are many: decoding is CPU-bound and
the GUI thread must stay free), drop exact duplicates, write the normalized copies under ``items/``, flag
near-duplicates and clips without transcripts, assign the train/validation split, and save
``manifest.json`` and ``project.json`` last. Originals are only ever read.

A drop that mixes kinds is split: files of other kinds go to sibling datasets named ``<name>-<kind>``,
unless the user fixed the kind, in which case they are skipped with a reason that says so.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterator

from studio.core.atomic import atomic_write_bytes
from studio.core.datasets import audio, images, text
from studio.core.datasets.base import (AUDIO, DUPLICATE, FIXED, IMAGE, KINDS, OK, SKIPPED, TEXT, ImportOptions,
                                       Normalized)
from studio.core.datasets.manifest import ITEMS, TRANSCRIPT, Manifest, report
from studio.core.datasets.sources import SourceFile, iter_sources
from studio.core.datasets.split import assign_split
from studio.core.jobs import JobContext, JobError
from studio.core.project import open_or_create_project

KIND_MODULES = {IMAGE: images, TEXT: text, AUDIO: audio}
POOL_THRESHOLD = 48  # below this many files a process pool costs more than it saves


def kind_of_suffix(suffix: str) -> str | None:
    for kind, module in KIND_MODULES.items():
        if suffix in module.SUFFIXES:
            return kind
    return None


def dataset_folder(project_root: Path, name: str) -> Path:
    return Path(project_root) / "datasets" / name


def check_dataset_name(name: str) -> str:
    name = name.strip()
    if not name or name in (".", "..") or any(c in name for c in '<>:"/\\|?*') or name.startswith("."):
        raise JobError(f"“{name}” cannot be a dataset name: use letters, digits, spaces, - or _.")
    return name


class ImportDataset:
    """Job: import ``sources`` into dataset ``name`` of the project at ``project_root``; returns the report."""

    title = "Importing a dataset"

    def __init__(self, project_root: str | Path, name: str, sources: list[str | Path], kind: str | None = None,
                 options: ImportOptions | None = None, workers: int | None = None) -> None:
        if kind is not None and kind not in KINDS:
            raise JobError(f"Unknown dataset kind “{kind}”: use image, text or audio.")
        self.project_root = Path(project_root)
        self.name = check_dataset_name(name)
        self.sources = [Path(s) for s in sources]
        self.kind = kind
        self.options = options or ImportOptions()
        self.workers = workers if workers is not None else max(1, min(4, os.cpu_count() or 1))

    def __call__(self, ctx: JobContext) -> dict:
        ctx.progress(0.0, "Looking for files")
        found: list[SourceFile] = []
        for source in iter_sources(self.sources):
            ctx.check()
            found.append(source)
        project = open_or_create_project(self.project_root)
        groups = sort_by_kind(found)
        existing = _load_manifest(project.root, self.name)
        kind = self.kind or (existing.kind if existing else _majority_kind(groups))
        others = [k for k in KINDS if k != kind and groups[k]]
        if self.kind is not None or not others:
            return self._import_kind(project, self.name, kind, groups, ctx)
        # A mixed drop: this dataset takes the main kind, each other kind goes to "<name>-<kind>".
        main = {**groups, **{k: [] for k in others}}
        if kind != AUDIO:
            main[TRANSCRIPT] = []
        result = self._import_kind(project, self.name, kind, main, ctx)
        result["split_into"] = {}
        for other in others:
            sibling = {k: [] for k in groups}
            sibling[other] = groups[other]
            if other == AUDIO:
                sibling[TRANSCRIPT] = groups[TRANSCRIPT]
            name = f"{self.name}-{other}"
            result["split_into"][name] = self._import_kind(project, name, other, sibling, ctx)
        ctx.progress(1.0, "Import finished")
        return result

    # -- one kind into one dataset -----------------------------------------------------------------------------
    def _import_kind(self, project, name: str, kind: str, groups: dict, ctx: JobContext) -> dict:
        folder = dataset_folder(project.root, name)
        manifest = _load_manifest(project.root, name) or Manifest(folder=folder, name=name, kind=kind)
        if manifest.kind != kind:
            raise JobError(f"The dataset “{name}” holds {manifest.kind} files; import {kind} files into "
                           "another dataset.")
        manifest.options = {**manifest.options, **_plain(asdict(self.options))}
        (folder / ITEMS).mkdir(parents=True, exist_ok=True)
        ids = iter(range(manifest.next_id(), 1 << 62))
        entries: list[dict] = []

        def add(source: SourceFile, status: str, **fields) -> dict:
            entry = _entry(f"{next(ids):06d}", source, status, **fields)
            entries.append(entry)
            return entry

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
            self._normalize_all(manifest, kind, groups[kind], add, ctx)
        finally:  # also on cancel or failure: what was imported so far is recorded, nothing is lost
            _postprocess(manifest, kind, entries, groups[TRANSCRIPT] if kind == AUDIO else [], self.options)
            manifest.entries.extend(entries)
            assign_split(manifest)
            manifest.save()
            project.datasets[name] = {"kind": kind, "items": len(manifest.usable()), "path": f"datasets/{name}"}
            project.save()
        return {**report(entries), "stats": dataset_stats(kind, entries)}

    def _normalize_all(self, manifest: Manifest, kind: str, sources: list[SourceFile], add, ctx: JobContext) -> None:
        known_hashes = {e["sha256"]: e["id"] for e in manifest.entries
                        if e.get("sha256") and e["status"] not in (DUPLICATE, SKIPPED)}
        known_keys = {e["dedupe_key"]: e["id"] for e in manifest.entries if e.get("dedupe_key")}
        earlier = set(known_hashes.values())  # entries from earlier imports: a copy of one is "already imported"
        total = len(sources)
        for done, (source, outcome) in enumerate(self._normalized(kind, sources, ctx), start=1):
            ctx.check()
            if done % 8 == 0 or done == total:
                ctx.progress(done / max(1, total), f"{done} of {total} files")
            if isinstance(outcome, str):  # the file could not be read
                add(source, SKIPPED, reason=outcome)
                continue
            sha, result = outcome
            if sha in known_hashes:
                first = known_hashes[sha]
                add(source, DUPLICATE, sha=sha, duplicate_of=first,
                    reason="already imported" if first in earlier else "identical to another file")
                continue
            if result.status == SKIPPED:
                add(source, SKIPPED, sha=sha, reason=result.reason)
                continue
            if result.dedupe_key and result.dedupe_key in known_keys:
                add(source, DUPLICATE, sha=sha, duplicate_of=known_keys[result.dedupe_key],
                    reason="same content as another file")
                continue
            entry = add(source, result.status, sha=sha, result=result)
            entry["item"] = f"{ITEMS}/{entry['id']}{result.suffix}"
            atomic_write_bytes(manifest.folder / entry["item"], result.payload or b"", durable=False)
            if kind == IMAGE:
                entry["label"] = images.label_from_path(source.rel)
            known_hashes[sha] = entry["id"]
            if result.dedupe_key:
                known_keys[result.dedupe_key] = entry["id"]

    def _normalized(self, kind: str, sources: list[SourceFile], ctx: JobContext) -> Iterator[tuple[SourceFile, Any]]:
        """(source, (sha256, Normalized)) in input order, or (source, reason) when unreadable."""
        options = self.options
        if self.workers > 1 and len(sources) >= POOL_THRESHOLD:
            context = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
            with ProcessPoolExecutor(self.workers, mp_context=context) as pool:
                try:
                    yield from _ordered(pool, kind, sources, options, window=self.workers * 8)
                except BaseException:
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
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


def _ordered(pool: ProcessPoolExecutor, kind: str, sources: list[SourceFile], options: ImportOptions,
             window: int) -> Iterator[tuple[SourceFile, Any]]:
    """Results in input order with at most ``window`` tasks in flight (bounded memory for archives)."""
    pending: deque[tuple[SourceFile, Future]] = deque()
    queue = iter(sources)

    def submit() -> None:
        source = next(queue, None)
        if source is None:
            return
        try:
            future = pool.submit(_normalize_task, kind, _task_input(source), source.name, options)
        except (OSError, ValueError) as exc:
            future = Future()
            future.set_result(f"could not be read ({exc})")
        pending.append((source, future))

    for _ in range(window):
        submit()
    while pending:
        source, future = pending.popleft()
        yield source, future.result()
        submit()


# -- sorting and post-processing ---------------------------------------------------------------------------------------
def sort_by_kind(found: list[SourceFile]) -> dict:
    """Group files: each kind, TRANSCRIPT (metadata.csv and sidecars of clips), and None (unusable)."""
    groups: dict[Any, list[SourceFile]] = {IMAGE: [], TEXT: [], AUDIO: [], TRANSCRIPT: [], None: []}
    clip_stems = {audio.clip_key(s.rel) for s in found if not s.problem and s.suffix in audio.SUFFIXES}
    for source in found:
        if source.problem:
            groups[None].append(source)
        elif source.name.lower() in audio.TRANSCRIPT_NAMES and clip_stems:
            groups[TRANSCRIPT].append(source)
        elif source.suffix in audio.SIDECAR_SUFFIXES and audio.clip_key(source.rel) in clip_stems:
            groups[TRANSCRIPT].append(source)
        else:
            groups[kind_of_suffix(source.suffix)].append(source)
    return groups


def _majority_kind(groups: dict) -> str:
    counts = {k: len(groups[k]) for k in KINDS}
    if not any(counts.values()):
        raise JobError("No images, text or audio files were found in what you gave. Supported: "
                       "JPEG, PNG, WebP, BMP, GIF, TIFF; TXT, MD, CSV, JSONL; WAV, FLAC, OGG, MP3.")
    return max(KINDS, key=lambda k: counts[k])


def _postprocess(manifest: Manifest, kind: str, entries: list[dict], transcripts: list[SourceFile],
                 options: ImportOptions) -> None:
    if kind == IMAGE:
        everything = [e for e in manifest.entries + entries if e.get("meta", {}).get("phash") and e.get("item")]
        labels = {e["id"]: e["source"] for e in everything}
        by_id = {e["id"]: e for e in entries}
        pairs = images.find_near_duplicates([(e["id"], e["meta"]["phash"]) for e in everything],
                                            options.near_duplicate_distance)
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


def _entry(entry_id: str, source: SourceFile, status: str, sha: str | None = None, reason: str | None = None,
           duplicate_of: str | None = None, result: Normalized | None = None) -> dict:
    entry: dict[str, Any] = {"id": entry_id, "source": source.rel, "origin": source.origin, "size": source.size,
                             "status": status}
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

