"""Clear what an interrupted import left in a dataset folder, before the next import writes there.

An import writes each normalized item under ``items/`` first and records it in ``manifest.json`` at the end
(the manifest is the index: an item it does not list does not exist for the studio). An import that is
killed (``kill -9``, a power cut, the app force-quit) therefore leaves item files that no manifest lists,
possibly tens of thousands, and perhaps one ``.<name>.XXXX.tmp`` of an atomic write that never finished.
Nothing else ever removes them, so the next import of that dataset does, under the dataset's import lock
(so no other import can be writing there at the same time):

* **orphan items**: files in ``items/`` named the way the importer names items (``<id>.<suffix>``, the id
  all digits) whose id is not below the manifest's next free id. Every id below it belongs to an entry (or
  was skipped by one), and the one-click fixes write their new versions as ``<id>-v<N>.<suffix>`` for ids
  that exist, so neither a live entry's file, nor an undo's older version, nor a fix being applied right now
  in the app can match.
* **temporary files** of atomic writes (``.<name>.XXXX.tmp``): those of an importer item (``<name>`` an
  item name as above) at once, since only imports write them and we hold the import lock; any other one
  in the dataset folder or in ``items/`` once it is older than :data:`TEMP_GRACE_S`: an atomic write lasts
  milliseconds, so an older one belongs to a writer that died, while a fresh one may be a fix's write in
  progress in the app (a ``-v2`` item, ``manifest.json``), and is left alone.

Only the dataset's own folder and its ``items/`` folder are listed; symbolic links are never followed or
removed, and a folder that is itself a link is not swept (a hostile project could point ``items`` at a
folder of the user's pictures). The originals a dataset was imported from are never anywhere near.
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path

from studio.core.datasets.manifest import ITEMS, Manifest

log = logging.getLogger(__name__)

TEMP_GRACE_S = 60.0
_ITEM_NAME = re.compile(r"([0-9]{1,18})\.[A-Za-z0-9]{1,8}")  # what the importer writes: f"{id:06d}{suffix}"


def sweep_dataset(manifest: Manifest, now: float | None = None) -> dict[str, int]:
    """Remove orphan items and stale temporary files of ``manifest``'s dataset; returns how many of each.

    Call it with the dataset's import lock held and ``manifest`` freshly loaded. Never raises for a file it
    cannot remove (it is logged and left): cleaning up must not stop the import that follows.
    """
    now = time.time() if now is None else now
    folder = Path(manifest.folder)
    first_free = manifest.next_id()
    removed = {"orphans": 0, "temporary": 0}
    for place in (folder, folder / ITEMS):
        for entry in _listing(place):
            target = _temporary_target(entry.name)
            if target is not None:
                if _ITEM_NAME.fullmatch(target) or now - entry.stat(follow_symlinks=False).st_mtime >= TEMP_GRACE_S:
                    removed["temporary"] += _remove(entry)
            elif place != folder and _is_orphan(entry.name, first_free):
                removed["orphans"] += _remove(entry)
    if any(removed.values()):
        log.info("swept %s: %d orphan items, %d temporary files", folder, removed["orphans"], removed["temporary"])
    return removed


def _listing(place: Path) -> list[os.DirEntry]:
    """The plain files directly in ``place``; nothing when it is missing or is itself a symbolic link."""
    try:
        if place.is_symlink() or not place.is_dir():
            return []
        with os.scandir(place) as entries:
            return [e for e in entries if e.is_file(follow_symlinks=False)]
    except OSError:
        return []


def _temporary_target(name: str) -> str | None:
    """For a temporary file of ``studio.core.atomic`` (``mkstemp(prefix=".<name>.", suffix=".tmp")``, whose
    random part has no dot) the ``<name>`` it was to become; None for any other file."""
    if not (name.startswith(".") and name.endswith(".tmp")):
        return None
    return name[1:-4].rpartition(".")[0]


def _is_orphan(name: str, first_free: int) -> bool:
    match = _ITEM_NAME.fullmatch(name)
    return match is not None and int(match.group(1)) >= first_free


def _remove(entry: os.DirEntry) -> int:
    try:
        os.unlink(entry.path)
    except FileNotFoundError:
        return 0
    except OSError as exc:
        log.warning("could not remove %s: %s", entry.path, exc)
        return 0
    return 1
