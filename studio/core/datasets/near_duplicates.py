"""Near-duplicate pairs, judged one by one: keep the left picture, the right one, or both.

At import each picture within a few bits (perceptual hash) of an earlier one is flagged "near-duplicate of
<earlier source>" (:func:`studio.core.datasets.importer._postprocess`); "Remove near-duplicates" excludes every
flagged picture at once. Here the user decides per pair instead, with both pictures side by side:

* **Keep left** (the earlier picture) excludes the right one: the exclusion "Remove near-duplicates" makes.
* **Keep right** excludes the left one and takes the flag off the right one, which is no near-duplicate of
  anything usable any more (else "Remove near-duplicates" or "Drop flagged" would exclude it later).
* **Keep both** takes the flag off the right one: the user looked and both belong.

Each choice is one undoable manifest operation (an ``exclude``, or a ``replace`` of the entries it changes), so
Undo brings the pair back exactly; item files are never deleted.

Pairs are rebuilt from the flags, so they need no new record in the manifest: the earlier picture is the usable
entry whose source the flag names (the closest by hash when several share that name). A pair is *open* while
both pictures are usable and the right one is still flagged.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from studio.core.datasets import images
from studio.core.datasets.fixes import NEAR_DUPLICATE
from studio.core.datasets.manifest import Manifest
from studio.core.jobs import JobError

LEFT, RIGHT, BOTH = "left", "right", "both"
ACTIONS = {LEFT: "keep left of a pair", RIGHT: "keep right of a pair", BOTH: "keep both of a pair"}
_PREFIX = f"{NEAR_DUPLICATE} of "


@dataclass(frozen=True)
class Pair:
    """Two usable pictures that look almost the same: ``left`` came first, ``right`` carries the flag."""

    left: dict
    right: dict
    distance: int | None  # differing bits of their perceptual hashes (None when one has no hash)

    @property
    def ids(self) -> tuple[str, str]:
        return self.left["id"], self.right["id"]


def _is_flag(flag: object) -> bool:
    return isinstance(flag, str) and flag.startswith(_PREFIX)


def _phash(entry: dict) -> str | None:
    meta = entry.get("meta")
    value = meta.get("phash") if isinstance(meta, dict) else None
    return value if isinstance(value, str) else None


def _distance(a: dict, b: dict) -> int | None:
    first, second = _phash(a), _phash(b)
    if first is None or second is None:
        return None
    try:
        return images.hamming(first, second)
    except ValueError:  # a hash edited into something that is not hex
        return None


def pairs(manifest: Manifest) -> list[Pair]:
    """The open pairs, in manifest order of their right picture."""
    usable = manifest.usable()
    by_source: dict[str, list[dict]] = {}
    for entry in usable:
        by_source.setdefault(str(entry.get("source", "")), []).append(entry)
    found = []
    for right in usable:
        for flag in right.get("flags") or []:
            if not _is_flag(flag):
                continue
            candidates = [e for e in by_source.get(flag[len(_PREFIX) :], []) if e["id"] != right["id"]]
            if not candidates:
                continue  # the earlier picture is excluded (or gone): nothing to compare it with
            left = min(candidates, key=lambda e: (_distance(e, right) is None, _distance(e, right) or 0))
            found.append(Pair(left, right, _distance(left, right)))
            break
    return found


def find_pair(manifest: Manifest, entry_id: str) -> int | None:
    """Index in :func:`pairs` of the open pair ``entry_id`` belongs to (as either picture), or None."""
    for index, pair in enumerate(pairs(manifest)):
        if entry_id in pair.ids:
            return index
    return None


def keep(manifest: Manifest, left_id: str, right_id: str, choice: str) -> int:
    """Resolve the open pair (left_id, right_id) with ``choice`` (LEFT, RIGHT or BOTH) as one undoable operation.
    Returns how many entries changed (0 when the pair is no longer open, e.g. it was decided meanwhile)."""
    if choice not in ACTIONS:
        raise JobError(f"“{choice}” is not a choice for a pair of near-duplicates: keep left, right or both.")
    pair = next((p for p in pairs(manifest) if p.ids == (left_id, right_id)), None)
    if pair is None:
        return 0
    if choice == LEFT:
        return manifest.exclude([right_id], ACTIONS[LEFT])
    right = copy.deepcopy(pair.right)
    flags = [f for f in right.get("flags") or [] if not _is_flag(f)]
    if flags:
        right["flags"] = flags
    else:
        right.pop("flags", None)
    updated = {right_id: right}
    if choice == RIGHT:
        left = copy.deepcopy(pair.left)
        left["excluded"] = ACTIONS[RIGHT]
        updated[left_id] = left
    return manifest.replace(updated, ACTIONS[choice])
