"""Guards against Qt-binding defects the studio cannot work around in its own code.

PySide6 6.12.0 drops a reference to Python's ``True`` on every signal-to-slot call; after a few thousand
calls (a 2,000-file import, minutes of a 20 Hz training monitor) the interpreter aborts with
"bool_dealloc". pyproject.toml excludes that release; this test fails on any binding that does it again.
"""

import sys

from PySide6.QtCore import QObject, Qt, Signal, Slot


class _Source(QObject):
    ping = Signal(float, str)


class _Sink(QObject):
    calls = 0

    @Slot(float, str)
    def on_ping(self, _fraction: float, _message: str) -> None:
        self.calls += 1


def test_signal_delivery_keeps_reference_counts_intact(qapp):
    source, sink = _Source(), _Sink()
    source.ping.connect(sink.on_ping, Qt.ConnectionType.QueuedConnection)
    before = sys.getrefcount(True)
    for _ in range(500):
        source.ping.emit(0.5, "working")
    qapp.processEvents()
    assert sink.calls == 500
    assert sys.getrefcount(True) > before - 50  # a leaking binding loses one per call: 500
