"""The project folder: everything a user makes, in one folder they can zip and move.

Layout (see ARCHITECTURE.md)::

    MyProject/
      project.json       name, schema_version, created, datasets, runs
      datasets/<name>/   manifest.json, items/, cache/
      runs/<run-id>/     config.json, metrics.jsonl, checkpoints/, samples/
      outputs/           what the user generated and exported

``project.json`` is always written atomically. Older schema versions are migrated on open (in memory; the
file is rewritten on the next save); a project written by a newer studio is refused with a clear message
rather than being silently damaged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from studio import __version__
from studio.core.atomic import atomic_write_json
from studio.core.jobs import JobError

PROJECT_FILE = "project.json"
SCHEMA_VERSION = 1
SUBFOLDERS = ("datasets", "runs", "outputs")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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


def migrate(data: dict) -> dict:
    version = int(data.get("schema_version", 0))
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
    data = migrate(data)
    for sub in SUBFOLDERS:
        (root / sub).mkdir(exist_ok=True)
    return Project(
        root=root,
        name=str(data.get("name") or root.name),
        created=str(data.get("created") or _now()),
        schema_version=int(data["schema_version"]),
        datasets=dict(data.get("datasets") or {}),
        runs=list(data.get("runs") or []),
        extra={k: v for k, v in data.items() if k not in _KNOWN_KEYS},
    )


def open_or_create_project(root: str | Path, name: str | None = None) -> Project:
    return open_project(root) if is_project(root) else create_project(root, name)
