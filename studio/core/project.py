"""The project folder: everything a user makes, in one folder they can zip and move.

Layout (see ARCHITECTURE.md)::

    MyProject/
      project.json       name, schema_version, created, datasets, runs
      datasets/<name>/   manifest.json, items/, cache/
      runs/<run-id>/     config.json, metrics.jsonl, checkpoints/, samples/
      outputs/           what the user generated and exported

``project.json`` is always written atomically. Older schema versions are migrated on open (in memory; the
file is rewritten on the next save); a project written by a newer studio, or with a format version that is no
version at all, is refused with a clear message rather than being silently damaged.

Several processes write ``project.json`` (an import, a finishing training run, the app's window), so every
change of an existing project goes through :func:`update_project`: take the project's lock
(``.project.lock`` in the project folder, see :mod:`studio.core.locks`), read the file again, apply the change,
write it atomically, let go. A change made from a copy read earlier would silently drop what others recorded
meanwhile (two imports: the second dataset vanished).

A project can be marked read-only in this process (:func:`set_read_only`: a second app window on a project
another window has open); every write of ``project.json`` from this process is then refused in one sentence.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from studio import __version__
from studio.core.atomic import atomic_write_json
from studio.core.jobs import JobError
from studio.core.locks import LockHeld, ProcessLock

PROJECT_FILE = "project.json"
PROJECT_LOCK = ".project.lock"  # held while project.json is read, changed and written (a moment)
WINDOW_LOCK = ".window.lock"  # held by the app process that has the project open for changing
LOCK_WAIT_S = 30.0  # an update waits this long for another writer (each holds the lock for milliseconds)
SCHEMA_VERSION = 1
SUBFOLDERS = ("datasets", "runs", "outputs")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _migrate_0_to_1(data: dict) -> dict:
    """Schema 0 (pre-release) had no ``runs`` list and kept datasets as a list of names."""
    datasets = data.get("datasets", {})
    if isinstance(datasets, list):
        datasets = {name: {} for name in datasets}
    data["datasets"] = datasets
    data.setdefault("runs", [])
    return data


# Each entry upgrades a project.json dict from version N to N + 1.
MIGRATIONS: dict[int, Callable[[dict], dict]] = {0: _migrate_0_to_1}


def schema_version_of(data: dict, file: Path | str = PROJECT_FILE) -> int:
    """The file's format version; a value that is no whole number from 0 up is refused in one sentence
    (``int()`` would have turned 1.5 into 1 and "abc" into a bare ValueError)."""
    version = data.get("schema_version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise JobError(
            f"The project file {file} has an unusable format version ({json.dumps(version)}): it "
            f"should be a whole number from 0 to {SCHEMA_VERSION}. The folder was not changed."
        )
    return version


def migrate(data: dict, file: Path | str = PROJECT_FILE) -> dict:
    version = schema_version_of(data, file)
    if version > SCHEMA_VERSION:
        raise JobError(
            f"This project was saved by a newer version of AIGC Studio (format {version}). "
            "Update the studio to open it; the project was not changed."
        )
    while version < SCHEMA_VERSION:
        data = MIGRATIONS[version](data)
        version += 1
        data["schema_version"] = version
    return data


@dataclass
class Project:
    """An open project. Mutate the fields, then call :meth:`save`."""

    root: Path
    name: str
    created: str = field(default_factory=_now)
    schema_version: int = SCHEMA_VERSION
    datasets: dict[str, Any] = field(default_factory=dict)
    runs: list[Any] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # keys written by newer minor versions, kept as-is

    @property
    def file(self) -> Path:
        return self.root / PROJECT_FILE

    def folder(self, name: str) -> Path:
        return self.root / name

    def to_dict(self) -> dict:
        return {
            **self.extra,
            "name": self.name,
            "schema_version": self.schema_version,
            "created": self.created,
            "app_version": __version__,
            "datasets": self.datasets,
            "runs": self.runs,
        }

    def save(self) -> None:
        """Write this object as project.json, replacing what is there. For a project others may change at the
        same time, use :func:`update_project` instead (it re-reads under the lock first)."""
        check_writable(self.root)
        atomic_write_json(self.file, self.to_dict())


_KNOWN_KEYS = {"name", "schema_version", "created", "app_version", "datasets", "runs"}


def is_project(folder: str | Path) -> bool:
    return (Path(folder) / PROJECT_FILE).is_file()


def create_project(root: str | Path, name: str | None = None) -> Project:
    """Make a new project folder (the folder may exist but must not already hold a project)."""
    root = Path(root).expanduser().resolve()
    if is_project(root):
        raise JobError(f"There is already a project in {root}. Open it instead, or choose another folder.")
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root):
        if is_project(root):  # made by another process since the check above
            raise JobError(f"There is already a project in {root}. Open it instead, or choose another folder.")
        return _create(root, name)


def _create(root: Path, name: str | None) -> Project:
    for sub in SUBFOLDERS:
        (root / sub).mkdir(exist_ok=True)
    project = Project(root=root, name=name or root.name)
    project.save()
    return project


def open_project(root: str | Path) -> Project:
    """Open and, when needed, migrate a project. Raises :class:`JobError` with a plain message if unusable."""
    root = Path(root).expanduser().resolve()
    file = root / PROJECT_FILE
    if not file.is_file():
        raise JobError(f"{root} is not an AIGC Studio project (it has no {PROJECT_FILE}).")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JobError(f"The project file {file} cannot be read ({exc}). The folder was not changed.") from exc
    if not isinstance(data, dict):
        raise JobError(f"The project file {file} is not in the expected format. The folder was not changed.")
    data = migrate(data, file)
    datasets, runs = data.get("datasets") or {}, data.get("runs") or []
    if not isinstance(datasets, dict) or not isinstance(runs, list):
        wrong = "datasets" if not isinstance(datasets, dict) else "runs"
        raise JobError(
            f"The project file {file} is not in the expected format (its “{wrong}” entry is "
            f"{type(datasets if wrong == 'datasets' else runs).__name__}, not a "
            f"{'table' if wrong == 'datasets' else 'list'}). The folder was not changed."
        )
    if not is_read_only(root):
        for sub in SUBFOLDERS:
            (root / sub).mkdir(exist_ok=True)
    return Project(
        root=root,
        name=str(data.get("name") or root.name),
        created=str(data.get("created") or _now()),
        schema_version=int(data["schema_version"]),
        datasets=dict(datasets),
        runs=list(runs),
        extra={k: v for k, v in data.items() if k not in _KNOWN_KEYS},
    )


def open_or_create_project(root: str | Path, name: str | None = None) -> Project:
    """Open the project, or make it when the folder holds none; for jobs about to write into it (the importer),
    so a project open read-only in this process is refused here, before anything is written. Two processes
    doing this at once for a new folder both get the same project (the creation happens under its lock)."""
    root = Path(root).expanduser().resolve()
    check_writable(root)
    if is_project(root):
        return open_project(root)
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root):
        return open_project(root) if is_project(root) else _create(root, name)


# -- changing a project several processes share --------------------------------------------------------------
def update_project(root: str | Path, change: Callable[[Project], Any]) -> Project:
    """Apply ``change`` to the project as it is on disk now, under the project's lock, and save it.

    ``change`` gets a freshly read :class:`Project` and mutates it (``p.datasets[name] = info``); it runs while
    the lock is held, so it must be quick and must not wait for another process. Returns the saved project.
    Every writer of an existing project.json uses this: the importer, a new training run, the Dataset panel and
    the demo; two of them finishing at once both get recorded.
    """
    root = Path(root).expanduser().resolve()
    check_writable(root)
    with _locked(root):
        project = open_project(root)
        change(project)
        project.save()
    return project


class _locked:
    """The project's lock around a read-modify-write of project.json (a plain sentence when it stays taken)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lock = ProcessLock(root / PROJECT_LOCK, record_owner=False)

    def __enter__(self) -> None:
        try:
            self.lock.acquire(wait_s=LOCK_WAIT_S)
        except LockHeld:
            raise JobError(
                f"Another program has kept {self.root / PROJECT_FILE} locked for over "
                f"{LOCK_WAIT_S:.0f} s, so the change was not saved. Try again in a moment."
            ) from None

    def __exit__(self, *exc) -> None:
        self.lock.release()


# -- read-only projects (a second app window) ------------------------------------------------------------------
_read_only: set[Path] = set()


def set_read_only(root: str | Path, read_only: bool) -> None:
    """Mark (or unmark) a project as read-only for this whole process: project.json writes from it are refused."""
    key = Path(root).expanduser().resolve()
    if read_only:
        _read_only.add(key)
    else:
        _read_only.discard(key)


def is_read_only(root: str | Path) -> bool:
    return Path(root).expanduser().resolve() in _read_only if _read_only else False


def check_writable(root: str | Path) -> None:
    """Raise the read-only sentence when ``root`` is open read-only in this process."""
    if is_read_only(root):
        raise JobError(
            f"The project {Path(root).name} is open read-only in this window, because another "
            "AIGC Studio window is working on it, so nothing was changed; close the other window and "
            "open the project again here to change it."
        )
