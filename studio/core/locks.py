"""Locks on what several processes share: ``project.json``, a run being trained, a project open in a window.

Why operating-system locks, taken through the ``filelock`` library:

- The kernel drops such a lock the moment its process ends, however it ends (``kill -9``, a crash, a closed
  laptop lid that never comes back). A lock left by a killed process therefore never blocks anyone: the next
  process simply gets it. Lock *files* with a pid inside (the other common design) need guessing whether
  that pid is still the same program, and break on another host.
- ``filelock`` takes them the same way on every platform the studio ships on (``flock`` on Linux and macOS,
  ``LockFileEx`` on Windows), is well kept (pip, virtualenv, huggingface_hub and torch depend on it), and torch
  already installs it, so it adds nothing to an install. On a file system without ``flock`` (some network
  shares) it falls back to a lock file of its own rather than failing.
- ``fcntl`` alone would do on POSIX only; Windows would need a second implementation of our own.

The locks are advisory: they keep the studio's own writers from trampling each other (two imports, an import
and a finishing run, two trainings of one run), not other programs.

Who holds a lock: an OS lock does not say. So the holder writes ``<lock file>.json`` (pid, host, program,
since) right after taking it and removes it when it lets go; a process that is refused reads it to name the
holder ("process 4242 on studio-pc"). A record left behind by a killed process names a pid that has ended;
the next holder overwrites it and can say that it took the lock over (:attr:`ProcessLock.taken_over`).
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

from studio.core.atomic import atomic_write_bytes
from studio.core.jobs import JobError

_program: str | None = None


def set_program(text: str) -> None:
    """Name this process in lock records, e.g. "the AIGC Studio app" or "aigc-studio train" (the app and the
    CLI set it at start; a refused user reads it)."""
    global _program
    _program = text


def program() -> str:
    if _program:
        return _program
    args = [Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python", *sys.argv[1:3]]
    return " ".join(a for a in args if a)


@dataclass(frozen=True)
class Owner:
    """Who holds (or last held) a lock, as its holder wrote it down."""

    pid: int
    host: str
    program: str
    since: float

    @classmethod
    def me(cls) -> Owner:
        return cls(os.getpid(), socket.gethostname(), program(), time.time())

    def is_me(self) -> bool:
        return self.pid == os.getpid() and self.host == socket.gethostname()

    def ended(self) -> bool:
        """True when this owner's process is known to be gone (only knowable on this host)."""
        return self.host == socket.gethostname() and not pid_alive(self.pid)

    def describe(self) -> str:
        """ "process 4242 on studio-pc (aigc-studio train, since 14:02)"."""
        since = time.strftime("%H:%M", time.localtime(self.since)) if self.since else ""
        what = ", ".join(part for part in (self.program, f"since {since}" if since else "") if part)
        return f"process {self.pid} on {self.host}" + (f" ({what})" if what else "")

    def how_to_stop(self) -> str:
        """The command that ends this process, in the words of this platform."""
        return f"taskkill /PID {self.pid}" if os.name == "nt" else f"kill {self.pid}"


class LockHeld(JobError):
    """Another process (or another part of this one) holds the lock; ``owner`` names it when it said."""

    def __init__(self, path: Path, owner: Owner | None) -> None:
        who = owner.describe() if owner else "another process"
        super().__init__(f"{path} is locked by {who}.")
        self.path, self.owner = path, owner


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate the process on Windows
        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        ctypes.windll.kernel32.CloseHandle(handle)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


class ProcessLock:
    """One exclusive lock file, held by this process until :meth:`release` (or until it ends).

    Two ``ProcessLock`` objects on one path exclude each other also inside one process (each opens its own
    descriptor), so threads of one process are kept apart too. Not reentrant through the same object.
    """

    def __init__(self, path: str | os.PathLike, record_owner: bool = True) -> None:
        from filelock import FileLock  # lazy: app start-up imports only what the window needs

        self.path = Path(path)
        self.record_owner = record_owner
        self.taken_over: Owner | None = None  # the ended process whose lock this one took over
        # thread_local=False: the holder may let go from another thread than the one that took it
        self._lock = FileLock(str(self.path), thread_local=False)
        self._held = False

    @property
    def owner_file(self) -> Path:
        return self.path.with_name(self.path.name + ".json")

    @property
    def held(self) -> bool:
        return self._held

    def acquire(self, wait_s: float = 0.0) -> ProcessLock:
        """Take the lock, waiting up to ``wait_s`` seconds; raises :class:`LockHeld` naming the holder."""
        from filelock import Timeout

        if self._held:
            raise RuntimeError(f"{self.path} is already held by this lock object.")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=max(0.0, wait_s))
        except Timeout:
            raise LockHeld(self.path, self._holder()) from None
        self._held = True
        if self.record_owner:
            try:
                self._record()
            except BaseException:
                self.release()
                raise
        return self

    def release(self) -> None:
        if not self._held:
            return
        try:
            if self.record_owner:
                self.owner_file.unlink(missing_ok=True)  # first: a record never outlives its lock on purpose
        finally:
            self._held = False
            self._lock.release()

    def read_owner(self) -> Owner | None:
        """The record of the current (or last, if it was killed) holder; None when there is none."""
        try:
            data = json.loads(self.owner_file.read_text(encoding="utf-8"))
            return Owner(
                int(data["pid"]), str(data["host"]), str(data.get("program", "")), float(data.get("since") or 0)
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _record(self) -> None:
        previous = self.read_owner()
        if previous is not None and not previous.is_me():
            self.taken_over = previous  # it held the lock and never let go: it was killed or crashed
        record = json.dumps(asdict(Owner.me())).encode("utf-8")
        atomic_write_bytes(self.owner_file, record, durable=False)

    def _holder(self) -> Owner | None:
        """Who holds the lock now. The holder writes its record a moment after taking the lock, so a
        missing record, or one naming an ended process, is read again for up to a second."""
        deadline = time.monotonic() + 1.0
        while True:
            owner = self.read_owner()
            fresh = owner is not None and not owner.ended()
            if fresh or time.monotonic() > deadline or not self.record_owner:
                return owner if fresh else None
            time.sleep(0.05)

    def __enter__(self) -> ProcessLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


class SharedHold:
    """A lock held once per process for everyone in it who asks (refcounted), e.g. "this project is open in
    a window of this app": a second window of the same process shares it, a second process is refused."""

    _holds: ClassVar[dict[str, list]] = {}  # resolved path -> [ProcessLock, count]
    _guard = threading.Lock()

    def __init__(self, path: str | os.PathLike) -> None:
        self.key = str(Path(path).resolve())
        self._released = False
        with self._guard:
            entry = self._holds.get(self.key)
            if entry is None:
                lock = ProcessLock(self.key).acquire()  # LockHeld propagates: nothing is registered
                entry = self._holds[self.key] = [lock, 0]
            entry[1] += 1

    def release(self) -> None:
        with self._guard:
            if self._released:
                return
            self._released = True
            entry = self._holds.get(self.key)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] <= 0:
                del self._holds[self.key]
                entry[0].release()
