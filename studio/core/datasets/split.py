"""Train/validation split: seeded, stratified by class label, stored in the manifest.

Each usable item is ranked within its class by a hash of (seed, content hash), and the first
``val_percent`` of each class go to validation. The rank depends only on the item and the seed, so
importing more files moves few existing items, and the same seed gives the same split on every machine.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

from studio.core.datasets.manifest import Manifest

TRAIN, VAL = "train", "val"


def _rank(seed: int, entry: dict) -> str:
    return hashlib.sha256(f"{seed}:{entry.get('sha256') or entry['id']}".encode()).hexdigest()


def _number(value: object, default: float, low: float, high: float) -> float:
    """A split setting read from the manifest (which may have been edited): the default when it is not a
    number, clamped to [low, high] when it is."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return default
    return default if number != number else min(high, max(low, number))


def _seed(value: object) -> int:
    """The split seed (0 when the manifest holds something that is not a whole number)."""
    try:
        return int(value)  # type: ignore[call-overload]  # any value: the except turns a non-number into 0
    except (TypeError, ValueError, OverflowError):
        return 0


def assign_split(manifest: Manifest, val_percent: float | None = None, seed: int | None = None) -> dict[str, int]:
    """(Re)assign ``split`` on every usable entry; returns counts per split."""
    if val_percent is not None:
        manifest.split["val_percent"] = float(val_percent)
    if seed is not None:
        manifest.split["seed"] = int(seed)
    percent = _number(manifest.split.get("val_percent"), 10.0, 0.0, 100.0)
    seed_value = _seed(manifest.split.get("seed"))
    for entry in manifest.entries:
        entry.pop("split", None)
    by_label: dict[str | None, list[dict]] = defaultdict(list)
    for entry in manifest.usable():
        by_label[entry.get("label")].append(entry)
    counts = {TRAIN: 0, VAL: 0}
    for members in by_label.values():
        members.sort(key=lambda e: _rank(seed_value, e))
        n_val = round(len(members) * percent / 100)
        if percent > 0 and n_val == 0 and len(members) >= 10:
            n_val = 1
        n_val = min(n_val, len(members) - 1) if len(members) > 1 else 0  # every class keeps a training item
        for index, entry in enumerate(members):
            entry["split"] = VAL if index < n_val else TRAIN
            counts[entry["split"]] += 1
    return counts
