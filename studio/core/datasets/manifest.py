"""``datasets/<name>/manifest.json``: the record of every source file a dataset was given.

Each entry says where a file came from, its content hash, what the studio made of it (ok / fixed /
skipped with a reason / duplicate of another entry), the normalized copy under ``items/``, flags worth a
look, its class label and its split. Users' one-click fixes only *exclude* entries, recorded as
operations that can be undone; nothing under ``items/`` is deleted by them.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from studio.core.atomic import atomic_write_json
from studio.core.datasets.base import DUPLICATE, FIXED, KINDS, OK, SKIPPED
from studio.core.jobs import JobError
from studio.core.safe_paths import PathGuard

MANIFEST = "manifest.json"
ITEMS = "items"
CACHE = "cache"
MANIFEST_SCHEMA = 1
TRANSCRIPT = "transcript"  # status of files used as transcripts (metadata.csv, .lab/.txt sidecars)
OUTSIDE_REASON = "its item path points outside the dataset folder"
_TEXT_FIELDS = ("label", "transcript", "split", "source", "origin")  # fields that must be text where present
MAX_MANIFEST_BYTES = 1 << 30  # 1 GiB: ~2 million entries; a larger index is refused before it is parsed


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Manifest:
    folder: Path
    name: str
    kind: str
    created: str = field(default_factory=_now)
    entries: list[dict] = field(default_factory=list)
    split: dict = field(default_factory=lambda: {"val_percent": 10, "seed": 0})
    history: list[dict] = field(default_factory=list)  # undoable operations, newest last
    options: dict = field(default_factory=dict)
    refused: list[dict] = field(default_factory=list, compare=False)  # {"id", "reason"}: refused since loading
    # What undo reverted since the last new operation, newest last: each item is the operation and the entries
    # (and options) as they were just before it was undone, so redo puts that state back. Kept for this session
    # only (as a text editor's redo is); a new operation clears it.
    undone: list[dict] = field(default_factory=list, compare=False)
    _paths: PathGuard | None = field(default=None, init=False, repr=False, compare=False)

    # -- persistence -----------------------------------------------------------------------------------
    @classmethod
    def load(cls, folder: Path) -> Manifest:
        """Read ``manifest.json``, treating it as a file someone may have sent (see :meth:`_guard`).

        Where the file as a whole is unusable (not JSON, not an index, entries that are not entries) this is
        one plain :class:`JobError`; a single entry whose item path leaves the dataset folder is refused (see
        :meth:`_guard`) and the rest of the dataset opens as usual.
        """
        file = folder / MANIFEST
        try:
            if file.stat().st_size > MAX_MANIFEST_BYTES:
                raise JobError(f"The dataset index {file} is larger than 1 GB, so it is not opened.")
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise JobError(f"The dataset index {file} cannot be read ({exc}).") from exc
        problem = _structure_problem(data)
        if problem:
            raise JobError(f"The dataset index {file} is damaged ({problem}): import the dataset again.")
        if int(data.get("schema_version", 1)) > MANIFEST_SCHEMA:
            raise JobError(f"The dataset {folder.name} was saved by a newer AIGC Studio; update to open it.")
        entries = [{**e, "id": str(e["id"])} for e in data.get("entries", [])]
        manifest = cls(
            folder=folder,
            name=data["name"],
            kind=data["kind"],
            created=str(data.get("created", _now())),
            entries=entries,
            split=_dict(data.get("split"), {"val_percent": 10, "seed": 0}),
            history=[op for op in _list(data.get("history")) if _is_operation(op)],
            options=_dict(data.get("options"), {}),
        )
        manifest._guard(manifest.entries)
        return manifest

    def save(self) -> None:
        atomic_write_json(
            self.folder / MANIFEST,
            {
                "schema_version": MANIFEST_SCHEMA,
                "name": self.name,
                "kind": self.kind,
                "created": self.created,
                "updated": _now(),
                "split": self.split,
                "options": self.options,
                "history": self.history,
                "entries": self.entries,
            },
        )

    # -- paths read from the file -------------------------------------------------------------------------
    def _guard(self, entries: list[dict]) -> None:
        """Refuse every entry whose ``item`` would be read from outside the dataset folder.

        The manifest may come from someone else, and ``item`` is the one path in it that the studio opens (the
        caches, the fixes and the panels' previews all read ``folder / item``). An ``item`` that climbs out with
        ``..``, is absolute, or names a symlink that points outside turns the entry into a skipped one with
        :data:`OUTSIDE_REASON`: it is listed with that reason wherever skipped files are, it is never usable, and
        its ``item`` is moved to ``refused_item`` so that no reader of the entries can open it by mistake.
        Refusing here, once, rather than at every reader keeps the panels (which read ``item`` directly) safe too.
        """
        guard = self.paths()
        for entry in entries:
            for key in _TEXT_FIELDS:  # a hand-edited label or transcript that is not text would crash a sort later
                if key in entry and not isinstance(entry[key], str):
                    entry.pop(key)
            if "item" in entry and guard.check(entry["item"], bulk=True) is None:
                entry["refused_item"] = str(entry.pop("item"))[:1000]
                entry.update(status=SKIPPED, reason=OUTSIDE_REASON)
                entry.pop("split", None)
                self.refused.append({"id": entry["id"], "reason": OUTSIDE_REASON})

    def paths(self) -> PathGuard:
        """The guard every path read from this manifest goes through (one per manifest: it caches folders)."""
        if self._paths is None:
            self._paths = PathGuard(self.folder)
        return self._paths

    def item_path(self, entry: dict) -> Path:
        """The file of ``entry``'s item, checked again at the moment it is opened (a symlink may have been put
        there since loading). A JobError in plain words when it points outside."""
        resolved = self.paths().resolve(entry.get("item"))
        if resolved is None:
            raise JobError(
                f"The item of entry {entry.get('id')} in the dataset {self.name} points outside the "
                "dataset folder, so it is not read."
            )
        return resolved

    # -- lookups ---------------------------------------------------------------------------------------------
    def next_id(self) -> int:
        """One past the largest numeric id. Ids the studio writes are numbers; an id edited by hand into anything
        else (``../x``) is ignored here rather than stopping the next import."""
        numbers = (int(e["id"]) for e in self.entries if re.fullmatch(r"[0-9]{1,18}", str(e.get("id", ""))))
        return 1 + max(numbers, default=0)

    def by_id(self) -> dict[str, dict]:
        return {e["id"]: e for e in self.entries}

    def usable(self) -> list[dict]:
        """Entries a model trains on: ok or fixed, and not excluded by the user."""
        return [e for e in self.entries if e["status"] in (OK, FIXED) and not e.get("excluded")]

    # -- one-click fixes with undo -------------------------------------------------------------------------
    def exclude(self, ids: list[str], action: str) -> int:
        """Exclude entries (kept on disk) as one undoable operation. Returns how many changed."""
        index = self.by_id()
        changed = [i for i in ids if i in index and not index[i].get("excluded")]
        for i in changed:
            index[i]["excluded"] = action
        if changed:
            self._record({"action": action, "op": "exclude", "ids": changed, "at": _now()})
        return len(changed)

    def include(self, ids: list[str], action: str = "include") -> int:
        index = self.by_id()
        changed = [i for i in ids if i in index and index[i].get("excluded")]
        previous = {i: index[i]["excluded"] for i in changed}
        for i in changed:
            index[i].pop("excluded", None)
        if changed:
            self._record({"action": action, "op": "include", "ids": changed, "previous": previous, "at": _now()})
        return len(changed)

    def replace(self, updated: dict[str, dict], action: str, options: dict | None = None) -> int:
        """Swap whole entries (a re-import with another encoding, trimmed audio) as one undoable operation.
        The old item files stay on disk, so undo just points back at them.

        ``options`` changes the dataset's recorded choices in the same operation (the transparency fix records
        the dataset's new transparency and background with the items it changed), and undo restores them too.
        Returns how many entries changed; a change of options alone is still recorded."""
        index = self.by_id()
        previous = {i: index[i] for i in updated if i in index}
        new_options = {**self.options, **(options or {})}
        if not previous and new_options == self.options:
            return 0
        self.entries = [updated.get(e["id"], e) if e["id"] in previous else e for e in self.entries]
        op = {"action": action, "op": "replace", "ids": list(previous), "previous": previous, "at": _now()}
        if new_options != self.options:
            op["options"] = self.options
            self.options = new_options
        self._record(op)
        return len(previous)

    def _record(self, op: dict) -> None:
        """Add a new operation to the history; what was undone before it can no longer be redone."""
        self.history.append(op)
        self.undone.clear()

    def undo(self) -> str | None:
        """Revert the newest operation; returns its name (None when there is nothing to undo)."""
        if not self.history:
            return None
        op = self.history.pop()
        index = self.by_id()
        after = {i: copy.deepcopy(index[i]) for i in op["ids"] if i in index}
        self.undone.append({"op": op, "entries": after, "options": copy.deepcopy(self.options)})
        if op["op"] == "replace":
            restored = {
                i: {**e, "id": i}
                for i, e in op["previous"].items()
                if isinstance(e, dict) and isinstance(e.get("status"), str)
            }
            self._guard(list(restored.values()))  # a hostile history must not bring back an item outside
            self.entries = [restored.get(e["id"], e) for e in self.entries]
            if isinstance(op.get("options"), dict):
                self.options = op["options"]
            return op["action"]
        for i in op["ids"]:
            if i not in index:
                continue
            if op["op"] == "exclude":
                index[i].pop("excluded", None)
            else:
                index[i]["excluded"] = op.get("previous", {}).get(i, "excluded")
        return op["action"]

    def redo(self) -> str | None:
        """Apply again the operation :meth:`undo` reverted last; returns its name (None when there is none).

        The entries come back exactly as they were before the undo, so the operation's own record is valid
        again and goes back on the history, where the next undo reverts it as the first time."""
        if not self.undone:
            return None
        record = self.undone.pop()
        after = record["entries"]
        self.entries = [copy.deepcopy(after[e["id"]]) if e["id"] in after else e for e in self.entries]
        self.options = record["options"]
        self.history.append(record["op"])
        return record["op"]["action"]

    def duplicate_ids(self) -> list[str]:
        return [e["id"] for e in self.entries if e["status"] == DUPLICATE]

    def flagged_ids(self) -> list[str]:
        return [e["id"] for e in self.usable() if e.get("flags")]


def _structure_problem(data: object) -> str | None:
    """What makes a parsed manifest unusable as a whole, in a few words, or None when its shape is right."""
    if not isinstance(data, dict):
        return "it is not a dataset index"
    if not isinstance(data.get("name"), str) or data.get("kind") not in KINDS:
        return "its name or kind is missing"
    try:
        int(data.get("schema_version", 1))
    except (TypeError, ValueError):
        return "its version is not a number"
    entries = data.get("entries", [])
    if not isinstance(entries, list):
        return "its entries are not a list"
    for number, entry in enumerate(entries, start=1):
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("id"), (str, int))
            or not isinstance(entry.get("status"), str)
        ):
            return f"entry {number} has no id or status"
    return None


def _dict(value: object, default: dict) -> dict:
    return value if isinstance(value, dict) else default


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _is_operation(op: object) -> bool:
    """An undo record :meth:`Manifest.undo` can apply; others (hand-edited, damaged) are dropped at load."""
    return (
        isinstance(op, dict)
        and op.get("op") in ("exclude", "include", "replace")
        and isinstance(op.get("ids"), list)
        and all(isinstance(i, str) for i in op["ids"])
        and isinstance(op.get("previous", {}), dict)
        and isinstance(op.get("options", {}), dict)
        and isinstance(op.get("action"), str)
    )


def report(entries: list[dict]) -> dict:
    """The import report: every file accounted for.

    ``total`` counts every file found in the sources. Transcript files (``metadata.csv``, ``.lab`` and
    ``.txt`` sidecars of audio clips) are counted under ``transcripts``, not as clips, so
    ``ok + fixed + skipped + duplicates + transcripts == total``.
    """
    status = Counter(e["status"] for e in entries)
    reasons = Counter(e["reason"] for e in entries if e["status"] == SKIPPED and e.get("reason"))
    flags = Counter(_flag_family(f) for e in entries if e["status"] in (OK, FIXED) for f in e.get("flags", []))
    return {
        "total": len(entries),
        "ok": status[OK],
        "fixed": status[FIXED],
        "skipped": status[SKIPPED],
        "duplicates": status[DUPLICATE],
        "transcripts": status[TRANSCRIPT],
        "reasons": dict(reasons.most_common()),
        "flags": dict(flags.most_common()),
        "excluded": sum(1 for e in entries if e.get("excluded")),
    }


def _flag_family(flag: str) -> str:
    """Group flags that carry details under one name for the counts: "too short (0.2 s)" -> "too short",
    "near-duplicate of a.png" -> "near-duplicate", "4 duplicate paragraphs" -> "duplicate paragraphs"."""
    family = flag.split(" (")[0].split(" of ")[0].split(":")[0]
    return re.sub(r"^\d+\s+", "", family).strip()
