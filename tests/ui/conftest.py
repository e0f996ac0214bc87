import pytest

from studio.app import create_application


@pytest.fixture(scope="session")
def qapp_args():
    return ["aigc-studio-tests"]


@pytest.fixture
def studio_app(qapp):
    """The QApplication configured as the real app is (style sheet, names, icon)."""
    return create_application()


class StallProbe:
    """Measures how long the GUI event loop is blocked: a 10 ms QTimer whose late firings are stalls."""

    def __init__(self, interval_ms: int = 10) -> None:
        import time

        from PySide6.QtCore import QTimer

        self._clock = time.perf_counter
        self.interval = interval_ms / 1000
        self.worst = 0.0
        self.ticks = 0
        self._last = None
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = self._clock()
        if self._last is not None:
            self.worst = max(self.worst, now - self._last - self.interval)
        self._last = now
        self.ticks += 1

    def start(self) -> "StallProbe":
        self._last = None
        self._timer.start()
        return self

    def stop(self) -> float:
        self._timer.stop()
        return self.worst


@pytest.fixture
def stall_probe(qapp):
    probe = StallProbe()
    yield probe
    probe.stop()
