"""A process pool for the import whose workers die with the process that started them.

Why this exists: ``kill -9`` of an import (or of the app while it imports) used to leave the pool's
workers running for as long as the machine stayed up. The import uses the ``forkserver`` start method (the
app has threads, and forking a threaded process is unsafe), so each worker's *parent* is the fork server,
not the importing process, and each worker holds the write end of the fork server's own "alive" pipe: the
fork server therefore never sees its client die, and the workers wait on their task queue forever. Neither
``os.getppid()`` polling nor Linux's ``prctl(PR_SET_PDEATHSIG)`` can see the importing process die in that
arrangement (both watch the fork server, which stays alive).

What works is a **lifeline**: a one-way pipe whose write end only the importing process holds (Python
makes pipe ends non-inheritable, and the worker gets only the read end). Each worker starts a daemon
thread that blocks reading it. The kernel closes every file descriptor of a process however it dies, so
when the importer is killed the read returns EOF at once and the thread ends the worker with
``os._exit``. No polling, no timer, and the same on Linux, macOS and Windows (where the pipe is a named
pipe handle and the read fails with a broken pipe instead). Once the workers are gone the fork server sees
EOF on its "alive" pipe and exits too, and the resource tracker after it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

LIFELINE_EXIT_CODE = 75  # what a worker exits with when its importer died (EX_TEMPFAIL: nothing to report to)


def _start_method() -> str:
    return "forkserver" if os.name == "posix" else "spawn"


@contextlib.contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A ``ProcessPoolExecutor`` of ``workers`` processes tied to this process by a lifeline.

    On leaving the block the pool is shut down (cancelling queued tasks and waiting for running ones, so
    a cancelled import stops promptly), then the lifeline is closed.
    """
    context = multiprocessing.get_context(_start_method())
    keep, give = context.Pipe(duplex=False)  # keep: the read end (given to workers); give: our write end
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_started, initargs=(keep,))
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        give.close()
        keep.close()


def _worker_started(lifeline) -> None:
    """Pool initializer (runs in each worker): end this worker when the importing process is gone."""
    threading.Thread(target=_watch_lifeline, args=(lifeline,), name="import-lifeline", daemon=True).start()


def _watch_lifeline(lifeline) -> None:
    try:
        while True:
            lifeline.recv_bytes()  # nothing is ever sent: this blocks until the write end closes
    except (EOFError, OSError):
        pass
    os._exit(LIFELINE_EXIT_CODE)  # not sys.exit: the main thread may be deep in a decode; nothing to flush
