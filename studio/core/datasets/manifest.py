"""``datasets/<name>/manifest.json``: the record of every source file a dataset was given.

Each entry says where a file came from, its content hash, what the studio made of it (ok / fixed /
skipped with a reason / duplicate of another entry), the normalized copy under ``items/``, flags worth a
look, its class label and its split. Users' one-click fixes only *exclude* entries, recorded as
operations that can be undone; nothing under ``items/`` is deleted by them.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from studio.core.atomic import atomic_write_json
from studio.core.datasets.base import DUPLICATE, FIXED, OK, SKIPPED
from studio.core.jobs import JobError

MANIFEST = "manifest.json"
ITEMS = "items"
CACHE = "cache"
MANIFEST_SCHEMA = 1
TRANSCRIPT = "transcript"  # status of files used as transcripts (metadata.csv, .lab/.txt sidecars)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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

    # -- persistence -----------------------------------------------------------------------------------
    @classmethod
    def load(cls, folder: Path) -> "Manifest":
        file = folder / MANIFEST
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise JobError(f"The dataset index {file} cannot be read ({exc}).") from exc
        if int(data.get("schema_version", 1)) > MANIFEST_SCHEMA:
            raise JobError(f"The dataset {folder.name} was saved by a newer AIGC Studio; update to open it.")
        return cls(folder=folder, name=data["name"], kind=data["kind"], created=data.get("created", _now()),
                   entries=data.get("entries", []), split=data.get("split", {"val_percent": 10, "seed": 0}),
                   history=data.get("history", []), options=data.get("options", {}))

    def save(self) -> None:
        atomic_write_json(self.folder / MANIFEST, {
            "schema_version": MANIFEST_SCHEMA, "name": self.name, "kind": self.kind, "created": self.created,
            "updated": _now(), "split": self.split, "options": self.options, "history": self.history,
            "entries": self.entries,
        })

    # -- lookups ---------------------------------------------------------------------------------------------
    def next_id(self) -> int:
        return 1 + max((int(e["id"]) for e in self.entries), default=0)

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
            self.history.append({"action": action, "op": "exclude", "ids": changed, "at": _now()})
        return len(changed)

    def include(self, ids: list[str], action: str = "include") -> int:
        index = self.by_id()
        changed = [i for i in ids if i in index and index[i].get("excluded")]
        previous = {i: index[i]["excluded"] for i in changed}
        for i in changed:
            index[i].pop("excluded", None)
        if changed:
            self.history.append({"action": action, "op": "include", "ids": changed, "previous": previous,
                                 "at": _now()})
        return len(changed)

    def replace(self, updated: dict[str, dict], action: str) -> int:
        """Swap whole entries (a re-import with another encoding, trimmed audio) as one undoable operation.
        The old item files stay on disk, so undo just points back at them."""
        index = self.by_id()
        previous = {i: index[i] for i in updated if i in index}
        if not previous:
            return 0
        self.entries = [updated.get(e["id"], e) if e["id"] in previous else e for e in self.entries]
        self.history.append({"action": action, "op": "replace", "ids": list(previous), "previous": previous,
                             "at": _now()})
        return len(previous)

    def undo(self) -> str | None:
        """Revert the newest operation; returns its name (None when there is nothing to undo)."""
        if not self.history:
            return None
        op = self.history.pop()
        if op["op"] == "replace":
            self.entries = [op["previous"].get(e["id"], e) for e in self.entries]
            return op["action"]
        index = self.by_id()
        for i in op["ids"]:
            if i not in index:
                continue
            if op["op"] == "exclude":
                index[i].pop("excluded", None)
            else:
                index[i]["excluded"] = op.get("previous", {}).get(i, "excluded")
        return op["action"]

    def duplicate_ids(self) -> list[str]:
        return [e["id"] for e in self.entries if e["status"] == DUPLICATE]

    def flagged_ids(self) -> list[str]:
        return [e["id"] for e in self.usable() if e.get("flags")]


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
