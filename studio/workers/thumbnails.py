"""Small, lazy background loads for views: thumbnails, waveforms, augmentation previews.

Views with thousands of rows must not decode anything until a row is actually on screen, and must never
decode on the GUI thread. A :class:`BackgroundLoader` takes a plain function ``load(payload) -> result``
and runs it on a private :class:`QThreadPool`:

* ``request(key, payload)`` queues work; the *newest* request runs first (LIFO), because when the user
  scrolls, the rows asked for last are the ones on screen now. The queue is bounded: the oldest waiting
  requests are forgotten, and a view simply asks again if such a row comes back into view.
* Only a few loads are in flight at once, so a fast scroll through 20,000 items never floods the pool.
* Results are kept in an LRU cache bounded by a cost budget (bytes for images); failures are cached too
  (as :data:`FAILED`), so a broken file is not decoded again on every repaint.
* ``ready(key, result)`` is emitted in the GUI thread (queued from the pool thread through a relay object).

Why not the JobRegistry: these loads are tiny, numerous and disposable (a thumbnail for a row that scrolled
away is not worth a status-bar entry, a cancel button or an activity-log line). Heavy work (imports,
caches, training) stays a Job.

Shutdown: the relay has no Qt parent; the loader and every task hold a Python reference to it, so a task
that finishes after its loader was deleted emits into a live relay whose connection Qt already removed.
The pool is the loader's child, and ``QThreadPool``'s destructor waits for running tasks.

torch work (``python_threads=True``): a QThreadPool thread is a native thread that runs many tasks, and
PySide acquires and releases a fresh Python thread state around each one. pybind11 (inside torch) caches
the thread state per native thread, so the *second* torch task on a reused pool thread crashes the process
(seen with PySide6 6.12 + torch 2.11: a segfault in ``tstate_delete_common`` from
``pybind11::gil_scoped_acquire``). Loads that call torch therefore run on plain Python threads, one per
task, whose thread state lives as long as the thread. (A JobRunner's QThread runs one job and ends, so jobs
are not affected.)
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QSize, Qt, QThread, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage, QImageReader

FAILED = object()  # cached result of a load that raised: shown as "could not be read", never retried


class _Relay(QObject):
    """Lives in the GUI thread; pool threads emit on it, so the loader's slot runs queued in the GUI thread."""

    done = Signal(int, object, object, str)  # generation, key, result, error


class _Task(QRunnable):
    def __init__(self, relay: _Relay, generation: int, key: Hashable, load: Callable[[Any], Any], payload: Any) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._relay, self._generation, self._key = relay, generation, key
        self._load, self._payload = load, payload

    def run(self) -> None:
        try:
            result, error = self._load(self._payload), ""
        except Exception as exc:  # noqa: BLE001 - a broken file costs its own thumbnail, nothing more
            result, error = None, str(exc) or type(exc).__name__
        with contextlib.suppress(RuntimeError):  # the loader is gone (window closing): nobody needs the result
            self._relay.done.emit(self._generation, self._key, result, error)


class BackgroundLoader(QObject):
    """Cache-backed lazy loads on a private thread pool. All methods are for the GUI thread."""

    ready = Signal(object, object)  # key, result (FAILED when the load raised)

    def __init__(
        self,
        load: Callable[[Any], Any],
        *,
        threads: int | None = None,
        max_queue: int = 256,
        budget: int = 512,
        cost: Callable[[Any], int] | None = None,
        python_threads: bool = False,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads or max(1, min(4, QThread.idealThreadCount() - 1)))
        self._python_threads = python_threads  # one plain Python thread per task: for torch (see above)
        self._threads: set[threading.Thread] = set()
        self._relay = _Relay()  # no parent: see the module docstring
        self._relay.done.connect(self._on_done)
        self._load = load
        self._max_in_flight = self._pool.maxThreadCount() * (1 if python_threads else 2)
        self._max_queue = max_queue
        self._budget = budget
        self._cost = cost or (lambda _result: 1)
        self._generation = 0
        self._cache: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()  # key -> (result, cost)
        self._spent = 0
        self._queue: OrderedDict[Hashable, Any] = OrderedDict()  # waiting: key -> payload, newest last
        self._in_flight: set[Hashable] = set()
        self.errors: dict[Hashable, str] = {}

    # -- asking -------------------------------------------------------------------------------------------
    def cached(self, key: Hashable) -> Any | None:
        """The result if it is ready (marked most recently used), else None."""
        hit = self._cache.get(key)
        if hit is None:
            return None
        self._cache.move_to_end(key)
        return hit[0]

    def get(self, key: Hashable, payload: Any) -> Any | None:
        """The cached result, or None after queueing a load of ``payload`` for ``key``."""
        result = self.cached(key)
        if result is None:
            self.request(key, payload)
        return result

    def request(self, key: Hashable, payload: Any) -> None:
        if key in self._cache or key in self._in_flight:
            return
        self._queue.pop(key, None)
        self._queue[key] = payload  # (re)asked: now the newest
        while len(self._queue) > self._max_queue:
            self._queue.popitem(last=False)  # scrolled away long ago; asked again if shown again
        self._pump()

    def pending(self) -> int:
        return len(self._queue) + len(self._in_flight)

    def clear(self) -> None:
        """Forget results and waiting requests; results of loads still running are dropped on arrival."""
        self._generation += 1
        self._queue.clear()
        self._in_flight.clear()
        self._cache.clear()
        self._spent = 0
        self.errors.clear()

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Drop waiting work and wait for running loads (used when the owner goes away)."""
        self._queue.clear()
        self._pool.clear()
        self._pool.waitForDone(timeout_ms)
        for thread in list(self._threads):
            thread.join(timeout_ms / 1000)

    # -- internals -----------------------------------------------------------------------------------------
    def _pump(self) -> None:
        while self._queue and len(self._in_flight) < self._max_in_flight:
            key, payload = self._queue.popitem(last=True)  # newest first
            self._in_flight.add(key)
            task = _Task(self._relay, self._generation, key, self._load, payload)
            if self._python_threads:
                thread = threading.Thread(
                    target=self._run_on_python_thread, args=(task,), daemon=True, name="studio-loader"
                )
                self._threads.add(thread)
                thread.start()
            else:
                self._pool.start(task)

    def _run_on_python_thread(self, task: _Task) -> None:
        try:
            task.run()
        finally:
            self._threads.discard(threading.current_thread())

    @Slot(int, object, object, str)
    def _on_done(self, generation: int, key: Hashable, result: Any, error: str) -> None:
        if generation != self._generation:
            return
        self._in_flight.discard(key)
        if error:
            self.errors[key] = error
            result = FAILED
        cost = 1 if result is FAILED else max(1, int(self._cost(result)))
        self._cache[key] = (result, cost)
        self._spent += cost
        while self._spent > self._budget and len(self._cache) > 1:
            _old, (_result, old_cost) = self._cache.popitem(last=False)
            self._spent -= old_cost
        self._pump()
        self.ready.emit(key, result)


# -- thumbnails ----------------------------------------------------------------------------------------------
def load_thumbnail(payload: tuple[str, int]) -> QImage:
    """Decode ``path`` scaled to fit ``side``×``side`` (runs on a pool thread: QImage is reentrant).

    JPEGs are scaled inside the decoder (2× the target, then smoothed down); other formats are decoded
    whole and scaled smoothly. Dataset items are at most 1024 px, so either way this takes milliseconds.
    """
    path, side = payload
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    size = reader.size()
    jpeg = bytes(reader.format()).lower() in (b"jpg", b"jpeg")
    if size.isValid() and jpeg and max(size.width(), size.height()) > 2 * side:
        reader.setScaledSize(size.scaled(QSize(2 * side, 2 * side), Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        raise OSError(reader.errorString() or "not a readable image")
    if max(image.width(), image.height()) > side:
        image = image.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    return image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)


def image_bytes(image: Any) -> int:
    return image.sizeInBytes() if isinstance(image, QImage) else 1


class ThumbnailLoader(BackgroundLoader):
    """Thumbnails keyed by (path, side), kept within ~``budget_mb`` of decoded pixels."""

    def __init__(self, budget_mb: int = 96, parent: QObject | None = None) -> None:
        super().__init__(load_thumbnail, budget=budget_mb << 20, cost=image_bytes, max_queue=384, parent=parent)


# -- warm-up ---------------------------------------------------------------------------------------------------
class _ImportTask(QRunnable):
    def __init__(self, modules: tuple[str, ...]) -> None:
        super().__init__()
        self._modules = modules

    def run(self) -> None:
        for name in self._modules:
            with contextlib.suppress(Exception):  # the real import later reports the problem
                importlib.import_module(name)


def warm_up_imports(*modules: str) -> None:
    """Import modules (numpy, PIL behind a core module) on a pool thread, so the first drop does not stall
    the GUI thread for the ~0.2 s these imports cost. Python's per-module import locks make this safe."""
    QThreadPool.globalInstance().start(_ImportTask(modules))
