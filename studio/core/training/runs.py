"""Run folders: ``<project>/runs/<run-id>/`` with config.json, status.json, metrics.jsonl, checkpoints/, samples/
(and meta.json once the user names the run).

No torch here: the Training panel lists runs, reads curves and finds interrupted runs at start-up.

Interrupted runs: status.json says "running" or "paused" while its process is gone (its pid is not alive
on this host) or its heartbeat is older than :data:`STALE_AFTER_S` (another host, or a hung process). The
engine refreshes the heartbeat every few seconds, also while paused, so a live run is never mistaken for one.

One process trains a run at a time: it holds the run's lock (``.run.lock`` in the run folder, see
:mod:`studio.core.locks`) from before it touches the folder until it ends, so a second ``train --resume`` of
the same run is refused with the holder's pid and host instead of both writing metrics and checkpoints.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from studio.core.atomic import atomic_write_json, atomic_write_text
from studio.core.jobs import JobError
from studio.core.locks import ProcessLock, pid_alive
from studio.core.untrusted import read_json

RUNS = "runs"
RUN_LOCK = ".run.lock"
RUN_META = "meta.json"  # what the user says about the run (its name); see set_run_name
META_CAP = 64 * 1024  # a name is at most NAME_LIMIT characters: meta.json is well under 1 KB
NAME_LIMIT = 80
STALE_AFTER_S = 60.0
ACTIVE = ("running", "paused")
_CHECKPOINT = re.compile(r"^step-(\d+)\.json$")


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    folder: Path
    family: str
    dataset: str
    state: str
    step: int
    total_steps: int
    created: str
    interrupted: bool
    name: str = ""  # the user's name for the run (meta.json); "" when it has none


@dataclass(frozen=True)
class CheckpointInfo:
    step: int
    path_json: Path
    path_weights: Path
    metrics: dict
    best: bool
    created: str = ""  # when it was saved (ISO 8601, from its .json); "" when the record does not say


# -- creating --------------------------------------------------------------------------------------------------
def new_run_id(family: str, when: float | None = None) -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(when)) + f"-{family}"


def create_run_folder(project_root: str | Path, family: str, config_record: dict) -> tuple[str, Path]:
    """Make ``runs/<id>/`` (mkdir is the atomic claim: two runs started in the same second get -2, -3)
    and write config.json; returns (run id, folder)."""
    runs = Path(project_root) / RUNS
    runs.mkdir(parents=True, exist_ok=True)
    base = new_run_id(family)
    for attempt in range(1, 1000):
        run_id = base if attempt == 1 else f"{base}-{attempt}"
        try:
            (runs / run_id).mkdir()
        except FileExistsError:
            continue
        folder = runs / run_id
        for sub in ("checkpoints", "samples"):
            (folder / sub).mkdir()
        atomic_write_json(folder / "config.json", {**config_record, "run_id": run_id, "schema": 1})
        return run_id, folder
    raise RuntimeError(f"Could not make a new run folder in {runs}.")


def write_status(folder: Path, **fields) -> dict:
    """Merge ``fields`` into status.json (atomically) with a fresh heartbeat, pid and host."""
    status = read_status(folder)
    status.update(fields)
    status.update({"pid": os.getpid(), "host": socket.gethostname(), "heartbeat": time.time()})
    atomic_write_json(Path(folder) / "status.json", status)
    return status


def read_status(folder: Path) -> dict:
    try:
        data = json.loads((Path(folder) / "status.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_config(folder: Path) -> dict:
    """config.json of a run, refused unread above :data:`studio.core.untrusted.CONFIG_CAP` (a run folder may
    have come from someone else); OSError and ValueError propagate for a missing or damaged file."""

    return read_json(Path(folder) / "config.json", what="the run")


# -- metrics ---------------------------------------------------------------------------------------------------
class MetricsLog:
    """Appends one JSON line per logged step, flushed at once so a kill loses at most the current line."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / "metrics.jsonl"

    def truncate_after(self, step: int) -> None:
        """Drop lines with ``step`` beyond a resumed checkpoint's (and any torn last line): no duplicates."""
        if not self.path.is_file():
            return
        kept = [line for line in _json_lines(self.path) if int(line.get("step", 0)) <= step]
        text = "".join(json.dumps(line, allow_nan=False) + "\n" for line in kept)
        atomic_write_text(self.path, text)

    def append(self, values: dict) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(_finite(values), allow_nan=False) + "\n")
            handle.flush()


def _finite(values: dict) -> dict:
    """NaN/inf are not JSON: write them as null."""
    return {
        k: (None if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))) else v)
        for k, v in values.items()
    }


def _json_lines(path: Path) -> list[dict]:
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        try:
            value = json.loads(raw)
        except ValueError:
            continue  # a line torn by a kill mid-write
        if isinstance(value, dict) and "step" in value:
            lines.append(value)
    return lines


def read_metrics(run_folder: str | Path) -> list[dict]:
    path = Path(run_folder) / "metrics.jsonl"
    return _json_lines(path) if path.is_file() else []


def export_metrics_csv(run_folder: str | Path, path: str | Path) -> Path:
    """All logged values as CSV (one column per key, in first-seen order; blank where a step lacks one)."""
    rows = read_metrics(run_folder)
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write_text(path, buffer.getvalue())


# -- listing ---------------------------------------------------------------------------------------------------
def is_checkpoint_record(path: Path) -> bool:
    return bool(_CHECKPOINT.match(Path(path).name))


def checkpoint_records(run_folder: str | Path) -> list[Path]:
    """Every checkpoint record (``checkpoints/step-N.json``) of the run, newest first, readable or not: what
    a resume tries in turn (no torch here, so a refusal before training stays quick). Weights and state
    written without their .json are a save cut short, not a checkpoint."""
    folder = Path(run_folder) / "checkpoints"
    found = [
        (int(m.group(1)), path)
        for path in (folder.glob("step-*.json") if folder.is_dir() else ())
        if (m := _CHECKPOINT.match(path.name))
    ]
    return [path for _step, path in sorted(found, reverse=True)]


def checkpoints(run_folder: str | Path) -> list[CheckpointInfo]:
    """Complete checkpoints (the .json and the weights exist), ascending by step."""
    folder = Path(run_folder) / "checkpoints"
    found = []
    for path in folder.glob("step-*.json") if folder.is_dir() else ():
        match = _CHECKPOINT.match(path.name)
        weights = path.with_suffix(".safetensors")
        if not match or not weights.is_file():
            continue
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        created = meta.get("created")
        found.append(
            CheckpointInfo(
                int(match.group(1)),
                path,
                weights,
                dict(meta.get("metrics") or {}),
                bool(meta.get("best")),
                created if isinstance(created, str) else "",
            )
        )
    return sorted(found, key=lambda c: c.step)


_PREVIEW = re.compile(r"^step-(\d+)\.(png|txt|wav)$")


def previews(run_folder: str | Path, limit: int = 200) -> list[dict]:
    """The previews a run wrote to samples/, ascending by step, as the engine reported them: ``{"step",
    "kind", "path"}`` (+ ``"image"`` for audio: the alignment or spectrogram picture written beside the WAV),
    so a past run's Samples tab shows what its live one did. Only the newest ``limit`` are listed."""
    folder = Path(run_folder) / "samples"
    by_step: dict[int, dict[str, Path]] = {}
    for path in folder.iterdir() if folder.is_dir() else ():
        match = _PREVIEW.match(path.name)
        if match:
            by_step.setdefault(int(match.group(1)), {})[match.group(2)] = path
    found = []
    for step in sorted(by_step)[-limit:]:
        files = by_step[step]
        if "wav" in files:
            entry = {"step": step, "kind": "audio", "path": str(files["wav"])}
            if "png" in files:
                entry["image"] = str(files["png"])
        elif "txt" in files:
            entry = {"step": step, "kind": "text", "path": str(files["txt"])}
        else:
            entry = {"step": step, "kind": "image", "path": str(files["png"])}
        found.append(entry)
    return found


def run_lock(folder: str | Path):
    """The lock a process holds while it trains the run in ``folder`` (not taken yet: call ``acquire``)."""

    return ProcessLock(Path(folder) / RUN_LOCK)


def is_run_id(value: str) -> bool:
    """A plain folder name under runs/ (no separators, no "." or ".."): a run id read from a command line or
    a file can then never name a folder outside the project."""
    return bool(value) and value not in (".", "..") and not any(c in value for c in "/\\:\0")


def is_interrupted(status: dict, now: float | None = None) -> bool:
    if status.get("state") not in ACTIVE:
        return False
    now = time.time() if now is None else now
    if now - float(status.get("heartbeat") or 0) > STALE_AFTER_S:
        return True
    same_host = status.get("host") == socket.gethostname()
    return same_host and not pid_alive(int(status.get("pid") or 0))


def run_info(folder: Path) -> RunInfo | None:
    """The run's summary, or None for a folder that is no readable run: a missing, damaged, oversized or
    ill-typed config.json or status.json (a run folder may have come from someone else) is skipped, so one bad
    folder never stops the Training panel from listing the others."""

    try:
        config = read_config(folder)
        status = read_status(folder)
        settings = config.get("config") or {}
        return RunInfo(
            run_id=folder.name,
            folder=folder,
            family=str(config.get("family", "")),
            dataset=str(config.get("dataset", "")),
            state=str(status.get("state", "stopped")),
            step=int(status.get("step") or 0),
            total_steps=int(status.get("total_steps") or settings.get("steps", 0)),
            created=str(config.get("created", "")),
            interrupted=is_interrupted(status),
            name=read_run_name(folder),
        )
    except (OSError, ValueError, TypeError, AttributeError, JobError):
        return None


def clean_run_name(name: str) -> str:
    """``name`` as one short line: control characters and runs of spaces become one space, and at most
    :data:`NAME_LIMIT` characters stay (a name read from a received folder cannot stretch or break a list row)."""
    text = "".join(" " if (ord(c) < 32 or ord(c) == 127) else c for c in str(name))
    return " ".join(text.split())[:NAME_LIMIT].strip()


def read_run_name(folder: str | Path) -> str:
    """The user's name for the run (meta.json), "" when it has none or the file is unreadable: the run is then
    listed by its date and model, as before it was named."""
    try:
        meta = read_json(Path(folder) / RUN_META, cap=META_CAP, what="the run's name")
    except (OSError, ValueError, JobError):
        return ""
    return clean_run_name(meta.get("name") or "") if isinstance(meta, dict) else ""


def set_run_name(folder: str | Path, name: str) -> str:
    """Name the run in ``folder`` (an empty name removes it); returns the name as stored.

    The name lives in its own small file, meta.json, not in config.json (the run's recipe, which a resume reads)
    or status.json (rewritten every few seconds by the process that trains the run, which would race with a
    rename). The folder keeps its id, so ``--run <id>``, ``--resume <id>`` and every path into it still work.
    Written atomically, under :func:`update_run_meta`'s lock; other keys of meta.json are kept."""
    cleaned = clean_run_name(name)

    def rename(meta: dict) -> None:
        if cleaned:
            meta["name"] = cleaned
        else:
            meta.pop("name", None)

    update_run_meta(folder, rename)
    return cleaned


META_LOCK = ".meta.lock"


def update_run_meta(folder: str | Path, change) -> dict:
    """Read meta.json, apply ``change`` (a function editing the dict in place) and write it back atomically,
    under a short lock: two windows (or a window and the CLI) choosing a checkpoint or naming the run at once
    each keep the other's keys instead of the later write dropping them. Returns the dict as written."""
    folder = Path(folder)
    lock = ProcessLock(folder / META_LOCK, record_owner=False).acquire(wait_s=5.0)
    try:
        try:
            meta = read_json(folder / RUN_META, cap=META_CAP, what="the run's notes")
        except (OSError, ValueError, JobError):
            meta = {}
        meta = dict(meta) if isinstance(meta, dict) else {}
        change(meta)
        atomic_write_json(folder / RUN_META, meta)
        return meta
    finally:
        lock.release()


def set_chosen_step(folder: str | Path, step: int | None) -> int | None:
    """Make the checkpoint at ``step`` the run's chosen one ("Use this checkpoint" on the comparison board):
    the creation panels' pickers and the CLI's generate and export commands default to it instead of the newest.
    None forgets the choice. Stored in meta.json beside the run's name (other keys kept), not in config.json
    (the recipe a resume reads) or status.json (rewritten by the training process). Returns what is stored."""
    folder = Path(folder)
    if step is not None:
        step = int(step)
        steps = {int(m.group(1)) for path in checkpoint_records(folder) if (m := _CHECKPOINT.match(path.name))}
        if step not in steps:
            raise JobError(f"The run {folder.name} has no checkpoint at step {step:,}; pick one from its list.")

    def change(meta: dict) -> None:
        if step is None:
            meta.pop("chosen_step", None)
        else:
            meta["chosen_step"] = step

    update_run_meta(folder, change)
    return step


def chosen_step(folder: str | Path) -> int | None:
    """The step the user chose for the run (:func:`set_chosen_step`), or None: none chosen, the file unreadable,
    or a value that is no step (meta.json may come from someone else). Whether that checkpoint still exists is
    the caller's check (it may have been pruned)."""
    try:
        meta = read_json(Path(folder) / RUN_META, cap=META_CAP, what="the run's notes")
    except (OSError, ValueError, JobError):
        return None
    value = meta.get("chosen_step") if isinstance(meta, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def marked_steps(folder: str | Path) -> list[int]:
    """The steps the user marked best on the comparison board (meta.json "marked_steps"), ascending; [] when none
    or unreadable. Marks are the user's judgement, beside the engine's own "best" (lowest validation loss)."""
    try:
        meta = read_json(Path(folder) / RUN_META, cap=META_CAP, what="the run's notes")
    except (OSError, ValueError, JobError):
        return []
    values = meta.get("marked_steps") if isinstance(meta, dict) else None
    if not isinstance(values, list):
        return []
    return sorted({v for v in values if isinstance(v, int) and not isinstance(v, bool) and v >= 0})


def set_marked(folder: str | Path, step: int, on: bool) -> list[int]:
    """Mark (or unmark) the checkpoint at ``step`` as one of the run's best; returns the marked steps."""
    step = int(step)

    def change(meta: dict) -> None:
        values = meta.get("marked_steps")
        values = values if isinstance(values, list) else []
        kept = {v for v in values if isinstance(v, int) and not isinstance(v, bool) and v >= 0}
        kept = (kept | {step}) if on else (kept - {step})
        if kept:
            meta["marked_steps"] = sorted(kept)
        else:
            meta.pop("marked_steps", None)

    return list(update_run_meta(folder, change).get("marked_steps") or [])


def list_runs(project_root: str | Path) -> list[RunInfo]:
    """Every readable run of the project, newest first (by creation time, then id)."""
    runs = Path(project_root) / RUNS
    infos = (
        [info for folder in runs.iterdir() if folder.is_dir() and (info := run_info(folder))] if runs.is_dir() else []
    )
    return sorted(infos, key=lambda r: (r.created, r.run_id), reverse=True)


def interrupted_runs(project_root: str | Path) -> list[RunInfo]:
    return [run for run in list_runs(project_root) if run.interrupted]


def created_now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")
