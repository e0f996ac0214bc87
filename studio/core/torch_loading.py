"""Import PyTorch from a worker thread without freezing the window.

Importing torch maps and initialises its native libraries (libtorch_cpu, libtorch_cuda and, with the PyPI
wheel, the CUDA libraries it needs even on a machine without a GPU: ~1 GB of code). Python's import machinery
holds the GIL while the dynamic loader does that, so the window's event loop, which needs the GIL to paint,
stopped for 250-800 ms although the import ran on a worker thread. ``ctypes`` releases the GIL around
``dlopen``: loading the same libraries through it first leaves ``import torch`` only Python to run, which
hands the GIL back every few milliseconds (measured on the 2-core test machine with a 10 ms timer probe:
worst stall 255-312 ms importing torch plainly, 18-48 ms after the preload).

Only Linux wheels are handled (the ``.so`` layout); elsewhere, and for any library not where a wheel puts it,
the preload does nothing and ``import torch`` loads everything itself, as before.

The second pause was Python's own: importing torch, and torch._dynamo with the first optimizer, creates a few
hundred thousand objects, and the cyclic garbage collector scanned all of them (a full collection, with the
GIL held) twice per import: 16-48 ms for torch, 84-108 ms for torch._dynamo. :func:`collection_paused` holds
the collector off while such imports run and then freezes what they created (``gc.freeze``: module-level
objects that live as long as the process), so no later collection scans them again — also the ones that came
every few seconds while a run trained beside the window.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib.util
import logging
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)

# (package, path inside it, load globally): torch's own loader opens libtorch_global_deps with RTLD_GLOBAL (it
# carries the CUDA libraries' symbols for the rest) and the others as a plain dlopen; the order is theirs.
_NATIVE_LIBRARIES = (
    ("torch", "lib/libtorch_global_deps.so", True),
    ("torch", "lib/libtorch_cuda.so", False),
    ("torch", "lib/libtorch.so", False),
    ("torch", "lib/libtorch_python.so", False),
    ("triton", "_C/libtriton.so", False),  # the first optimizer imports torch._dynamo, which imports triton
)


_pause_lock = threading.Lock()
_pauses = 0  # collection_paused blocks running now, in any thread
_was_enabled = True  # the collector's state when the first of them began


def import_torch() -> ModuleType:
    """``import torch``, its native libraries loaded first with the GIL released and the garbage collector held
    off while its Python runs (see the module docstring)."""
    if "torch" in sys.modules:
        return sys.modules["torch"]
    with collection_paused():
        preload_native_libraries()
        import torch

    return torch


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """Run a block of heavy imports with the cyclic garbage collector off, then freeze what exists (see the
    module docstring). Blocks may overlap across threads: the collector comes back when the last one ends."""
    global _pauses, _was_enabled
    with _pause_lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0:
                gc.freeze()
                if _was_enabled:
                    gc.enable()


def preload_native_libraries() -> list[Path]:
    """Load the wheels' native libraries through ``ctypes`` (which releases the GIL); the paths loaded."""
    if not sys.platform.startswith("linux"):
        return []
    loaded = []
    for package, inside, as_global in _NATIVE_LIBRARIES:
        path = _package_file(package, inside)
        if path is None:
            continue
        try:
            ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL if as_global else ctypes.RTLD_LOCAL)
        except OSError as exc:  # torch's own import will load it, or say what is wrong
            log.info("Could not preload %s (%s); import torch loads it itself", path, exc)
            continue
        loaded.append(path)
    return loaded


def _package_file(package: str, inside: str) -> Path | None:
    """A file inside an installed package, found without importing the package."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / inside
    return path if path.is_file() else None
