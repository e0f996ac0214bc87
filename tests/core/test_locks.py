"""Locks on shared files (studio/core/locks.py): exclusive between processes and between threads of one
process, the holder named in a refusal, a lock of a killed process taken over, and a project's window lock
shared by the windows of one process."""

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from studio.core.locks import LockHeld, ProcessLock, SharedHold


def _hold_in_child(path):
    """A child process that takes the lock at ``path``, says "locked", then waits (to be killed)."""
    code = textwrap.dedent(f"""
        import sys, time
        from studio.core.locks import ProcessLock, set_program
        set_program("lock test child")
        lock = ProcessLock({str(path)!r}).acquire()  # kept: a collected lock lets go
        print("locked", flush=True)
        time.sleep(120)
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "locked"
    return child


def test_a_lock_excludes_a_second_holder_and_names_the_first(tmp_path):
    first = ProcessLock(tmp_path / ".run.lock").acquire()
    with pytest.raises(LockHeld) as refused:
        ProcessLock(tmp_path / ".run.lock").acquire()
    owner = refused.value.owner
    assert owner is not None and owner.pid == os.getpid() and owner.host == socket.gethostname()
    assert f"process {os.getpid()} on {socket.gethostname()}" in str(refused.value)
    first.release()
    assert not (tmp_path / ".run.lock.json").exists()  # the record goes with the lock
    ProcessLock(tmp_path / ".run.lock").acquire().release()  # free again


def test_threads_of_one_process_are_kept_apart(tmp_path):
    """Each ProcessLock has its own descriptor: a read-modify-write from two threads never interleaves."""
    counter = tmp_path / "counter.txt"
    counter.write_text("0")

    def bump():
        for _ in range(20):
            lock = ProcessLock(tmp_path / ".lock", record_owner=False).acquire(wait_s=30)
            try:
                value = int(counter.read_text())
                time.sleep(0.001)  # widen the window a lost update needs
                counter.write_text(str(value + 1))
            finally:
                lock.release()

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter.read_text() == "80"


def test_another_process_holding_the_lock_is_named(tmp_path):
    child = _hold_in_child(tmp_path / ".run.lock")
    try:
        with pytest.raises(LockHeld) as refused:
            ProcessLock(tmp_path / ".run.lock").acquire(wait_s=0.2)
        assert refused.value.owner.pid == child.pid
        assert refused.value.owner.program == "lock test child"
        assert f"process {child.pid} on {socket.gethostname()} (lock test child" in str(refused.value)
    finally:
        child.kill()
        child.wait(timeout=30)
        child.stdout.close()


def test_the_lock_of_a_killed_process_is_taken_over(tmp_path):
    child = _hold_in_child(tmp_path / ".run.lock")
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    child.stdout.close()
    assert (tmp_path / ".run.lock.json").exists()  # the dead holder's record stays behind
    lock = ProcessLock(tmp_path / ".run.lock").acquire()  # no wait needed: the kernel let go of it
    assert lock.taken_over is not None and lock.taken_over.pid == child.pid
    assert lock.read_owner().pid == os.getpid()
    lock.release()


def test_a_window_lock_is_shared_inside_a_process_and_refused_to_another(tmp_path):
    path = tmp_path / ".window.lock"
    first, second = SharedHold(path), SharedHold(path)  # two windows of one app process
    with pytest.raises(LockHeld):
        ProcessLock(path).acquire()  # what another process meets
    first.release()
    with pytest.raises(LockHeld):
        ProcessLock(path).acquire()  # still held for the second window
    second.release()
    second.release()  # releasing twice is harmless
    ProcessLock(path).acquire().release()
