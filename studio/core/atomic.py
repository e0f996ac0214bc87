"""Atomic file writes: a crash or a full disk never leaves a half-written file behind.

Each write goes to a temporary file in the same folder, is flushed and fsync'ed, then renamed over the
target with ``os.replace`` (atomic on POSIX and Windows). If anything fails before the rename, the previous
file is untouched and the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO


def _process_umask() -> int:
    """The umask, read once at import (setting and restoring it later could race with other threads)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_NEW_FILE_MODE = 0o666 & ~_process_umask()


def atomic_write_bytes(path: str | os.PathLike, data: bytes, durable: bool = True) -> Path:
    """Write ``data`` to ``path`` all-or-nothing.

    ``durable=False`` skips the fsyncs: still never half-written, but a power cut may lose the file. Use it
    for bulk files (thousands of dataset items) that an index written durably afterwards points to.
    """
    return atomic_write_with(path, lambda handle: handle.write(data), durable)


def atomic_write_with(path: str | os.PathLike, write: Callable[[BinaryIO], object], durable: bool = True) -> Path:
    """Like :func:`atomic_write_bytes`, with ``write(handle)`` streaming the content into the temporary file:
    a large file (a checkpoint's optimizer state) is never held in memory a second time as bytes."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would (or the mode of the file
        # it replaces), so exports are readable by the user's other apps and shared folders as usual.
        try:
            mode = target.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = _NEW_FILE_MODE
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    if durable:
        _fsync_dir(target.parent)
    return target


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows has no directory handles to sync."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
