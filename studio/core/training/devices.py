"""Which compute devices this machine has, and which one a job should use.

torch is imported inside the functions (start-up stays fast), and every probe is guarded: a machine with
no GPU, a broken driver or a CPU-only torch build simply yields the CPU.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import asdict, dataclass

from studio.core import words
from studio.core.torch_loading import import_torch

log = logging.getLogger(__name__)

AUTO = "auto"


@dataclass(frozen=True)
class DeviceInfo:
    """One device as the user sees it. ``id`` is what torch takes: ``cuda:0``, ``mps`` or ``cpu``."""

    id: str
    kind: str  # "cuda" | "mps" | "cpu"
    name: str
    total_memory: int | None = None  # bytes
    free_memory: int | None = None  # bytes

    @property
    def label(self) -> str:
        """Short text for the status bar, e.g. ``NVIDIA H100 · 79.1 GB free of 79.6 GB``."""
        if self.total_memory:
            total = self.total_memory / 1e9
            if self.free_memory is not None:
                return f"{self.name} · {self.free_memory / 1e9:.1f} GB free of {total:.1f} GB"
            return f"{self.name} · {total:.1f} GB"
        return self.name

    def to_dict(self) -> dict:
        return asdict(self)


def _cpu_info() -> DeviceInfo:
    threads = os.cpu_count() or 1
    return DeviceInfo(id="cpu", kind="cpu", name=f"CPU ({words.count(threads, 'thread')})")


_window_thread_limit: int | None = None  # Preferences ▸ CPU threads; None: all cores but one


def set_window_thread_limit(count: int | None) -> None:
    """The user's choice of CPU threads for jobs started from the window (None: the default, all cores but one).

    A plain module value rather than a setting read here: core never reads the app's settings file, and the
    window sets it at start-up and whenever Preferences change it, so the next job started picks it up.
    """
    global _window_thread_limit
    _window_thread_limit = int(count) if count else None


def default_threads_beside_a_window() -> int:
    """All cores but one (see :func:`threads_beside_a_window` for why)."""
    return max(1, (os.cpu_count() or 1) - 1)


def threads_beside_a_window() -> int:
    """CPU threads a job should use while a window shares the machine: the user's choice in Preferences,
    else all cores but one; never more than the machine has (a settings file from a bigger machine).

    Measured on a 2-core machine (tests/benchmarks/test_training_gui.py, reference recipe flat out): with
    both cores training, the window's event loop ran up to 36 ms late (p99 26 ms) at 32 steps/s; with one
    core left to it, at most 23 ms (p99 11 ms, median 0.16 ms) at 51-54 steps/s, because the GUI thread
    and the OpenMP workers no longer take the same cores from each other.
    """
    if _window_thread_limit is None:
        return default_threads_beside_a_window()
    return max(1, min(_window_thread_limit, os.cpu_count() or 1))


@contextlib.contextmanager
def torch_threads(count: int | None):
    """Run a block with ``count`` torch CPU threads (None: leave as is), then restore the previous number.

    GUI jobs (training, the canvas's generation) use :func:`threads_beside_a_window`: with another process
    holding a core, two torch threads were 4-5× slower than one for a 64-picture grid, and the window
    needs a core of its own anyway.
    """
    if not count:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def list_devices() -> list[DeviceInfo]:
    """All usable devices, best first: CUDA GPUs (by free memory), then Apple MPS, then the CPU."""
    devices: list[DeviceInfo] = []
    try:
        torch = import_torch()  # the first torch import of the app: without stalling the window
    except Exception as exc:  # noqa: BLE001 - torch missing or broken: the studio still opens and says so
        log.warning("PyTorch could not be imported (%s); only the CPU is listed.", exc)
        return [_cpu_info()]
    try:
        if torch.cuda.is_available():
            gpus = []
            for index in range(torch.cuda.device_count()):
                props = torch.cuda.get_device_properties(index)
                try:
                    free, total = torch.cuda.mem_get_info(index)
                except Exception:  # noqa: BLE001 - some drivers refuse this query; total memory still comes from props
                    free, total = None, props.total_memory
                gpus.append(
                    DeviceInfo(f"cuda:{index}", "cuda", props.name, int(total), None if free is None else int(free))
                )
            devices.extend(sorted(gpus, key=lambda d: -(d.free_memory or d.total_memory or 0)))
    except Exception as exc:  # noqa: BLE001 - a broken driver or CUDA runtime costs the GPU, not the studio
        log.warning("CUDA is installed but could not be used (%s); falling back.", exc)
    try:
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            devices.append(DeviceInfo("mps", "mps", "Apple GPU (Metal)"))
    except Exception as exc:  # noqa: BLE001 - a failing MPS query costs the Apple GPU, not the studio
        log.warning("Apple MPS could not be queried (%s).", exc)
    devices.append(_cpu_info())
    return devices


def best_device(devices: list[DeviceInfo] | None = None) -> DeviceInfo:
    return (devices if devices is not None else list_devices())[0]


def resolve_device(choice: str | None, devices: list[DeviceInfo] | None = None) -> DeviceInfo:
    """Map a user's choice (``auto``, ``cpu``, ``cuda``, ``cuda:1``, ``mps``) to a present device.

    A choice that is not present (a settings file from another machine, an unplugged eGPU) falls back to
    the best device with a warning, instead of failing the job.
    """
    devices = devices if devices is not None else list_devices()
    if not choice or choice == AUTO:
        return devices[0]
    wanted = "cuda:0" if choice == "cuda" else choice
    for device in devices:
        if device.id == wanted:
            return device
    log.warning("Device %r is not available here; using %s instead.", choice, devices[0].id)
    return devices[0]


class DetectDevices:
    """Job: probe devices off the GUI thread (importing torch and CUDA takes a second or more)."""

    title = "Detecting devices"

    def __call__(self, ctx) -> list[DeviceInfo]:
        ctx.progress(0.0, "Looking for GPUs")
        return list_devices()
