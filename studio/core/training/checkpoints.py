"""Checkpoint files: weights (.safetensors), training state (.state.pt) and the record (.json).

``checkpoints/step-000120.safetensors`` holds every model's weights as ``<model>.<param>`` and the EMA
weights as ``ema.<model>.<param>``; safetensors cannot run code, so a checkpoint someone sent is safe to open.
``step-000120.state.pt`` holds optimizer, schedule, grad-scaler, sampler and RNG state as tensors, numbers,
lists and dicts only, so it loads with ``torch.load(path, weights_only=True)`` (no arbitrary unpickling).
``step-000120.json`` is written last: a checkpoint exists only when its .json does, so a crash or a full
disk mid-save leaves the previous checkpoint as the latest complete one.

Reading: a checkpoint whose files cannot be read (cut short, overwritten with garbage, a weights header over
:data:`studio.core.untrusted.HEADER_CAP`) raises :class:`DamagedCheckpoint` naming the file in plain words, so a
resume can fall back to an earlier one. A ``.state.pt`` whose pickle names a Python function or class (what a planted
payload needs) is never opened further: it is refused as "contains code", and PyTorch's own message, which
suggests loading it with ``weights_only=False`` (running that code), is never shown.
"""

from __future__ import annotations

import errno
import io
import json
import logging
import pickle
import pickletools
import random
import re
import struct
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import numpy as np
import torch
from safetensors.torch import load_file, save

from studio.core.atomic import atomic_write_bytes, atomic_write_json, atomic_write_with
from studio.core.jobs import JobError
from studio.core.untrusted import DamagedFile, OverLimit, read_safetensors_header

log = logging.getLogger(__name__)

NAME = re.compile(r"^step-(\d+)\.json$")
STATE_KEYS = ("step", "optimizers", "schedule", "sampler", "rng", "engine")


class DamagedCheckpoint(JobError):
    """A checkpoint file cannot be used; ``step``, ``file`` (the damaged one) and ``reason`` (plain words)."""

    def __init__(self, step: int, file: Path, reason: str) -> None:
        super().__init__(f"The checkpoint at step {step:,} is damaged ({file.name} {reason}).")
        self.step, self.file, self.reason = step, Path(file), reason


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
    # the global RandomState is MT19937, whose state is the legacy tuple (numpy's stub picks the dict overload)
    legacy = cast("tuple[str, np.ndarray, int, int, float]", np.random.get_state())
    _kind, keys, pos, has_gauss, cached = legacy
    state = {
        "python": [version, list(internal), gauss],
        "numpy": {
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((int(version), tuple(int(v) for v in internal), gauss))
    numpy = state["numpy"]
    np.random.set_state(
        ("MT19937", numpy["keys"].numpy().astype(np.uint32), numpy["pos"], numpy["has_gauss"], numpy["cached_gaussian"])
    )
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
    weights, state, record = (
        stem.with_suffix(".safetensors"),
        stem.with_suffix(".state.pt"),
        stem.with_suffix(".json"),
    )
    try:
        atomic_write_bytes(weights, save(snapshot.weights))
        atomic_write_with(state, lambda handle: torch.save(snapshot.state, handle))  # streamed: no second copy
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
def step_of(record: Path) -> int:
    match = NAME.match(Path(record).name)
    return int(match.group(1)) if match else -1


def read(record: Path) -> Snapshot:
    """Load a checkpoint from its .json path (weights via safetensors, state with weights_only=True).

    Raises :class:`DamagedCheckpoint` naming the first file that cannot be used."""
    record = Path(record)
    meta = _read_record(record)
    step = int(meta["step"])
    weights = _read_weights(record.with_suffix(".safetensors"), step)
    state = _read_state(record.with_suffix(".state.pt"), step)
    return Snapshot(step, weights, state, meta)


def _read_record(record: Path) -> dict:
    step = step_of(record)
    try:
        meta = json.loads(record.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DamagedCheckpoint(step, record, "is missing") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        log.info("Unreadable checkpoint record %s: %s", record, exc)
        raise DamagedCheckpoint(step, record, "cannot be read: it is cut short or not a checkpoint record") from None
    value = meta.get("step") if isinstance(meta, dict) else None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or (step >= 0 and value != step):
        raise DamagedCheckpoint(
            step, record, f"does not describe step {step:,}" if step >= 0 else "is not a checkpoint record"
        )
    return meta


def _read_weights(path: Path, step: int) -> dict:
    """The weights, after :func:`studio.core.untrusted.read_safetensors_header` has checked the header alone
    (size cap, tensor count, offsets inside the file), so a hostile header never reaches safetensors' parser."""

    try:
        read_safetensors_header(path)
    except FileNotFoundError:
        raise DamagedCheckpoint(step, path, "is missing") from None
    except OSError as exc:
        raise DamagedCheckpoint(step, path, f"cannot be read ({exc.strerror or exc})") from None
    except OverLimit as exc:
        raise DamagedCheckpoint(step, path, f"was not read: {exc.problem}") from None
    except DamagedFile:
        raise DamagedCheckpoint(step, path, "is cut short or is not a weights file") from None
    try:
        return load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error type, and OSError/ValueError
        log.info("Unreadable checkpoint weights %s: %s", path, exc)
        raise DamagedCheckpoint(step, path, "is cut short or is not a weights file") from None


def _read_state(path: Path, step: int) -> dict:
    if not path.is_file():
        raise DamagedCheckpoint(step, path, "is missing")
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # noqa: BLE001 - torch raises UnpicklingError, RuntimeError, EOFError, ValueError...
        log.info("Unreadable training state %s: %s", path, type(exc).__name__)  # never torch's text: see above
        if pickle_names_code(path):
            raise DamagedCheckpoint(
                step, path, "contains code (it refers to Python functions or classes), so it was not opened"
            ) from None
        raise DamagedCheckpoint(step, path, "is cut short or is not a training-state file") from None
    if not isinstance(state, dict) or any(key not in state for key in STATE_KEYS):
        raise DamagedCheckpoint(step, path, "is not a training-state file of the studio")
    return state


def pickle_names_code(path: Path) -> bool:
    """True when the pickle in ``path`` (a torch zip's ``data.pkl``, or a bare pickle) refers to a function or
    class that PyTorch's weights-only loader does not allow: read with :mod:`pickletools`, which lists the
    opcodes without running any of them."""
    try:
        data = path.read_bytes()
        if zipfile.is_zipfile(io.BytesIO(data)):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = [n for n in archive.namelist() if n.endswith("data.pkl")]
                data = archive.read(names[0]) if names else b""
    except (OSError, zipfile.BadZipFile, RuntimeError, ValueError):
        return False
    allowed = _allowed_globals()
    strings: list[str] = []
    try:
        for opcode, arg, _pos in pickletools.genops(data):
            if isinstance(arg, str):
                strings = [*strings[-1:], arg]
            name = None
            if opcode.name in ("GLOBAL", "INST") and isinstance(arg, str):
                name = arg.replace(" ", ".")
            elif opcode.name == "STACK_GLOBAL" and len(strings) == 2:
                name = ".".join(strings)
            elif opcode.name in ("EXT1", "EXT2", "EXT4"):
                return True  # the copyreg extension registry: a global by number
            if name is not None and name not in allowed and not _is_storage(name):
                return True
    except (ValueError, pickle.UnpicklingError, struct.error, UnicodeDecodeError, IndexError):
        pass  # garbage after a point: what was read so far has been checked
    return False


def _allowed_globals() -> set[str]:
    try:
        from torch._weights_only_unpickler import _get_allowed_globals

        return set(_get_allowed_globals())
    except Exception:  # noqa: BLE001 - a private helper of torch: without it, allow what torch writes itself
        return {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter"}


def _is_storage(name: str) -> bool:
    module, _, attr = name.rpartition(".")
    return module == "torch" and attr.endswith("Storage")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno == errno.ENOSPC
