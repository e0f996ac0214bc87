"""Checkpoint files: weights (.safetensors), training state (.state.pt) and the record (.json).

``checkpoints/step-000120.safetensors`` holds every model's weights as ``<model>.<param>`` and the EMA
weights as ``ema.<model>.<param>``; safetensors cannot run code, so a checkpoint someone sent is safe to open.
``step-000120.state.pt`` holds optimizer, schedule, grad-scaler, sampler and RNG state as tensors, numbers,
lists and dicts only, so it loads with ``torch.load(path, weights_only=True)`` (no arbitrary unpickling).
``step-000120.json`` is written last: a checkpoint exists only when its .json does, so a crash or a full
disk mid-save leaves the previous checkpoint as the latest complete one.
"""

from __future__ import annotations

import errno
import io
import json
import random
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save

from studio.core.atomic import atomic_write_bytes, atomic_write_json

NAME = re.compile(r"^step-(\d+)\.json$")


def checkpoint_name(step: int) -> str:
    return f"step-{step:06d}"


@dataclass
class Snapshot:
    """One checkpoint's contents in memory (CPU tensors): what is written, and what a NaN rollback restores."""

    step: int
    weights: dict  # "<model>.<param>" / "ema.<model>.<param>" -> CPU tensor
    state: dict  # optimizers, schedule, scaler, sampler, rng, engine counters
    meta: dict  # the .json record (step, epoch, metrics, config, family, dataset, created, best)


# -- RNG state as weights_only-loadable values --------------------------------------------------------------
def capture_rng() -> dict:
    """Python, numpy and torch (+CUDA) generator states as tensors, ints, floats, lists and None."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": [version, list(internal), gauss],
             "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((int(version), tuple(int(v) for v in internal), gauss))
    numpy = state["numpy"]
    np.random.set_state(("MT19937", numpy["keys"].numpy().astype(np.uint32), numpy["pos"], numpy["has_gauss"],
                         numpy["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# -- writing --------------------------------------------------------------------------------------------------
def write(folder: Path, snapshot: Snapshot) -> Path:
    """Write the three files of ``snapshot`` (the .json last); returns the .json path.

    On any failure (typically a full disk: OSError ENOSPC) the files of this checkpoint that did get
    written are removed again, to give the space back, and the error propagates; older checkpoints are
    never touched before the new one is complete.
    """
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / checkpoint_name(snapshot.step)
    weights, state, record = (stem.with_suffix(".safetensors"), stem.with_suffix(".state.pt"),
                              stem.with_suffix(".json"))
    try:
        atomic_write_bytes(weights, save(snapshot.weights))
        buffer = io.BytesIO()
        torch.save(snapshot.state, buffer)
        atomic_write_bytes(state, buffer.getvalue())
        atomic_write_json(record, snapshot.meta)
    except BaseException:
        for path in (record, state, weights):
            path.unlink(missing_ok=True)
        raise
    return record


def mark_best(folder: Path, best_step: int) -> None:
    """Only one checkpoint carries ``"best": true``: clear it on the others (small atomic rewrites)."""
    for path in folder.glob("step-*.json"):
        match = NAME.match(path.name)
        if not match or int(match.group(1)) == best_step:
            continue
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if meta.get("best"):
            meta["best"] = False
            atomic_write_json(path, meta)


def prune(folder: Path, keep_last: int, best_step: int | None) -> list[int]:
    """Delete all but the newest ``keep_last`` complete checkpoints and the best; returns deleted steps."""
    steps = complete_steps(folder)
    keep = set(steps[-keep_last:]) | ({best_step} if best_step is not None else set())
    removed = []
    for step in steps:
        if step in keep:
            continue
        stem = folder / checkpoint_name(step)
        stem.with_suffix(".json").unlink(missing_ok=True)  # first: it stops counting before its data goes
        stem.with_suffix(".state.pt").unlink(missing_ok=True)
        stem.with_suffix(".safetensors").unlink(missing_ok=True)
        removed.append(step)
    return removed


def discard_after(folder: Path, step: int) -> list[int]:
    """Delete the checkpoints after ``step``: resuming from an earlier checkpoint abandons that future (its
    metrics lines are dropped too), and keeping them would make "latest" point at the abandoned branch."""
    removed = []
    for path in list(folder.glob("step-*.json")) if folder.is_dir() else []:
        match = NAME.match(path.name)
        if match and int(match.group(1)) > step:
            for suffix in (".json", ".state.pt", ".safetensors"):
                path.with_suffix(suffix).unlink(missing_ok=True)
            removed.append(int(match.group(1)))
    return sorted(removed)


def complete_steps(folder: Path) -> list[int]:
    """Steps of the checkpoints whose three files exist, ascending."""
    steps = []
    for path in folder.glob("step-*.json") if folder.is_dir() else ():
        match = NAME.match(path.name)
        if match and path.with_suffix(".safetensors").is_file() and path.with_suffix(".state.pt").is_file():
            steps.append(int(match.group(1)))
    return sorted(steps)


# -- reading --------------------------------------------------------------------------------------------------
def read(record: Path) -> Snapshot:
    """Load a checkpoint from its .json path (weights via safetensors, state with weights_only=True)."""
    record = Path(record)
    meta = json.loads(record.read_text(encoding="utf-8"))
    weights = load_file(str(record.with_suffix(".safetensors")))
    state = torch.load(record.with_suffix(".state.pt"), weights_only=True, map_location="cpu")
    return Snapshot(int(meta["step"]), weights, state, meta)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno == errno.ENOSPC
