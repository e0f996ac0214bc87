"""Shared test set-up: Qt renders offscreen, and every test gets its own studio home folder, so no test
reads or writes a real user's settings, logs or projects. Benchmarks run only with ``--benchmark``."""

from __future__ import annotations

import faulthandler
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_addoption(parser):
    parser.addoption(
        "--benchmark",
        action="store_true",
        default=False,
        help="run the opt-in benchmarks in tests/benchmarks (they write JSON results)",
    )


def pytest_collection_modifyitems(config, items):
    if config.getoption("--benchmark"):
        return
    skip = pytest.mark.skip(reason="benchmark: run with --benchmark")
    for item in items:
        if "benchmark" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def studio_home(tmp_path, monkeypatch):
    home = tmp_path / "studio-home"
    monkeypatch.setenv("AIGC_STUDIO_HOME", str(home))
    return home


class StallProbe:
    """Measures how long the GUI event loop is blocked: a 10 ms QTimer whose late firings are stalls.

    To find what blocks it, set ``AIGC_STALL_DUMP=FILE``: every thread's stack is then written to FILE
    whenever the loop misses 40 ms (by faulthandler's own C thread, which needs no GIL to do it).
    """

    def __init__(self, interval_ms: int = 10) -> None:
        import time

        from PySide6.QtCore import QTimer

        dump_path = os.environ.get("AIGC_STALL_DUMP")
        self._dump_file = open(dump_path, "a") if dump_path else None  # noqa: SIM115 - open while probing
        self._clock = time.perf_counter
        self.interval = interval_ms / 1000
        self.worst = 0.0
        self.ticks = 0
        self.lates: list[float] = []  # how late each firing was, in seconds
        self._last = None
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = self._clock()
        if self._last is not None:
            late = now - self._last - self.interval
            self.worst = max(self.worst, late)
            self.lates.append(late)
            if self._dump_file is not None and late > 0.03:
                self._dump_file.write(f"=== the stall above ended after {late * 1000:.0f} ms\n\n")
        self._last = now
        self.ticks += 1
        if self._dump_file is not None:
            faulthandler.dump_traceback_later(0.04 + self.interval, file=self._dump_file)

    def start(self) -> StallProbe:
        self._last = None
        self._timer.start()
        return self

    def stop(self) -> float:
        self._timer.stop()
        if self._dump_file is not None:
            faulthandler.cancel_dump_traceback_later()
            self._dump_file.flush()
        return self.worst


@pytest.fixture
def stall_probe(qapp):
    probe = StallProbe()
    yield probe
    probe.stop()
