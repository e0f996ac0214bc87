"""JobSlot: one job per purpose; a replaced job's late answers never reach the panel (real runners, real threads)."""

import time

import pytest
import shiboken6
from PySide6.QtCore import QObject, Slot

from studio.core.jobs import JobError
from studio.core.smoke import WaitForCancel
from studio.workers.job_slot import HANDLERS, JobSlot
from studio.workers.registry import DeviceBusyError, JobRegistry


class Answer:
    """Report progress, wait (deaf to cancel, like a job in one long step), then return or fail."""

    def __init__(self, value, delay_s: float = 0.05, fail: bool = False) -> None:
        self.value, self.delay_s, self.fail = value, delay_s, fail

    def __call__(self, ctx):
        ctx.progress(0.5, f"working on {self.value}")
        ctx.metrics({"value": self.value})
        ctx.preview(self.value)
        time.sleep(self.delay_s)
        if self.fail:
            raise JobError(f"{self.value} went wrong.")
        return self.value


class Panel(QObject):
    """What a panel is to the slot: a GUI-thread QObject whose methods are the handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple] = []
        self.slot = JobSlot(parent=self)

    def handlers(self) -> dict:
        return {name: getattr(self, f"on_{name}") for name in HANDLERS}

    def named(self, name: str) -> list[tuple]:
        return [e[1:] for e in self.events if e[0] == name]

    @Slot(float, str)
    def on_progress(self, fraction, message):
        self.events.append(("progress", message))

    @Slot(list)
    def on_metrics(self, batch):
        self.events.append(("metrics", *[m["value"] for m in batch]))

    @Slot(object)
    def on_preview(self, preview):
        self.events.append(("preview", preview))

    @Slot(object)
    def on_succeeded(self, result):
        self.events.append(("succeeded", result, self.slot.is_running()))

    @Slot(str)
    def on_failed(self, message):
        self.events.append(("failed", message))

    @Slot()
    def on_cancelled(self):
        self.events.append(("cancelled",))

    @Slot()
    def on_finished(self):
        self.events.append(("finished", self.slot.runner))

    @Slot(bool)
    def on_busy(self, busy):
        self.events.append(("busy", busy))


@pytest.fixture
def registry(qtbot):
    registry = JobRegistry()
    yield registry
    assert registry.shutdown(timeout_s=10)


@pytest.fixture
def panel(registry):
    panel = Panel()
    panel.slot.set_registry(registry)
    panel.slot.busy_changed.connect(panel.on_busy)
    return panel


def test_a_second_job_replaces_the_first_and_only_its_answers_arrive(qtbot, panel, registry):
    stale = panel.slot.start(Answer("stale", delay_s=0.4), **panel.handlers())
    qtbot.waitUntil(lambda: bool(panel.named("progress")), timeout=5000)  # the first job is under way
    assert panel.slot.runner is stale and registry.running() == [stale]
    panel.events.clear()

    fresh = panel.slot.start(Answer("fresh"), **panel.handlers())
    with qtbot.waitSignals([stale.finished, fresh.finished], timeout=10000):
        pass
    qtbot.wait(50)  # anything still queued from either thread is delivered by now

    assert stale.state == "succeeded"  # deaf to cancel: it answered anyway, and nobody heard it
    assert panel.named("progress") == [("working on fresh",)]
    assert panel.named("metrics") == [("fresh",)]
    assert panel.named("preview") == [("fresh",)]
    assert panel.named("succeeded") == [("fresh", False)]  # once; inside the handler the job counts as done
    assert panel.named("failed") == panel.named("cancelled") == []
    assert panel.named("finished") == [(None,)]  # idle before the finished handler runs
    assert panel.named("busy") == [(False,)]  # busy from the first start to the second job's end
    assert panel.slot.runner is None and not panel.slot.is_running()


def test_a_replaced_job_that_fails_late_stays_silent(qtbot, panel):
    stale = panel.slot.start(Answer("stale", delay_s=0.3, fail=True), failed=panel.on_failed)
    fresh = panel.slot.start(Answer("fresh"), succeeded=panel.on_succeeded, failed=panel.on_failed)
    with qtbot.waitSignals([stale.finished, fresh.finished], timeout=10000):
        pass
    qtbot.wait(50)
    assert stale.state == "failed"
    assert panel.named("failed") == []
    assert panel.named("succeeded") == [("fresh", False)]


def test_a_running_job_is_cancelled_when_replaced(qtbot, panel):
    first = panel.slot.start(WaitForCancel(timeout_s=20), cancelled=panel.on_cancelled, finished=panel.on_finished)
    panel.slot.start(Answer("second"), succeeded=panel.on_succeeded, finished=panel.on_finished)
    with qtbot.waitSignal(first.finished, timeout=5000):
        pass
    qtbot.waitUntil(lambda: bool(panel.named("finished")), timeout=5000)
    assert first.state == "cancelled"
    assert panel.named("cancelled") == []  # the first job's cancellation is not the panel's news
    assert panel.named("succeeded") == [("second", False)]
    assert panel.named("finished") == [(None,)]


def test_cancel_reaches_the_cancelled_handler_then_finished(qtbot, panel):
    runner = panel.slot.start(WaitForCancel(timeout_s=20), **panel.handlers())
    qtbot.waitUntil(lambda: bool(panel.named("progress")), timeout=5000)
    assert panel.slot.is_running()
    with qtbot.waitSignal(panel.slot.finished, timeout=5000):
        panel.slot.cancel()
    assert runner.state == "cancelled"
    names = [e[0] for e in panel.events if e[0] not in ("progress", "metrics", "preview")]
    assert names == ["busy", "cancelled", "busy", "finished"]
    assert panel.named("busy") == [(True,), (False,)]


def test_a_failing_job_reaches_failed_with_its_plain_message(qtbot, panel):
    with qtbot.waitSignal(panel.slot.finished, timeout=5000):
        panel.slot.start(Answer("The import", fail=True), **panel.handlers())
    [(message,)] = panel.named("failed")
    assert message.startswith("The import went wrong.")
    assert panel.named("succeeded") == panel.named("cancelled") == []


def test_discard_cancels_and_nothing_more_arrives(qtbot, panel):
    runner = panel.slot.start(WaitForCancel(timeout_s=20), **panel.handlers())
    qtbot.waitUntil(lambda: bool(panel.named("progress")), timeout=5000)
    panel.events.clear()
    panel.slot.discard()
    assert panel.slot.runner is None and not panel.slot.is_running()
    with qtbot.waitSignal(runner.finished, timeout=5000):
        pass
    qtbot.wait(50)
    assert runner.state == "cancelled"
    assert panel.events == [("busy", False)]


def test_a_finished_handler_may_start_the_next_job(qtbot, panel):
    class Chain(Panel):
        @Slot()
        def on_finished(self):
            super().on_finished()
            if len(self.named("finished")) == 1:
                self.slot.start(Answer("second"), succeeded=self.on_succeeded, finished=self.on_finished)

    chain = Chain()
    chain.slot.set_registry(panel.slot.registry)
    chain.slot.busy_changed.connect(chain.on_busy)
    chain.slot.start(Answer("first"), succeeded=chain.on_succeeded, finished=chain.on_finished)
    qtbot.waitUntil(lambda: len(chain.named("finished")) == 2, timeout=5000)
    assert chain.named("succeeded") == [("first", False), ("second", False)]
    assert chain.named("busy") == [(True,), (False,), (True,), (False,)]


def test_when_the_panel_is_gone_its_job_is_cancelled_and_nothing_crashes(qtbot, registry):
    panel = Panel()
    panel.slot.set_registry(registry)
    runner = panel.slot.start(WaitForCancel(timeout_s=20), **panel.handlers())
    qtbot.waitUntil(lambda: bool(panel.named("progress")), timeout=5000)
    shiboken6.delete(panel)  # the C++ panel and its slot are destroyed while the job runs
    with qtbot.waitSignal(runner.finished, timeout=5000):
        pass
    qtbot.wait(50)  # the job's last reports are delivered into nothing
    assert runner.state == "cancelled"


def test_the_registry_sees_every_job_and_its_refusal_leaves_the_slot_idle(qtbot, panel, registry):
    training = registry.start(WaitForCancel(timeout_s=20), kind="training", device="cpu")
    with pytest.raises(DeviceBusyError):
        panel.slot.start(WaitForCancel(timeout_s=20), kind="training", device="cpu", failed=panel.on_failed)
    assert panel.slot.runner is None and panel.named("busy") == []
    runner = panel.slot.start(WaitForCancel(timeout_s=20), kind="training", device="cuda:1")
    assert set(registry.running()) == {training, runner} and runner.device == "cuda:1"


def test_handlers_must_be_qobject_methods_and_known(panel):
    with pytest.raises(TypeError, match="method of a QObject"):
        panel.slot.start(Answer("x"), succeeded=lambda result: None)
    with pytest.raises(TypeError, match="unknown handlers"):
        panel.slot.start(Answer("x"), done=panel.on_succeeded)
    assert panel.slot.runner is None
    with pytest.raises(RuntimeError, match="registry"):
        JobSlot().start(Answer("x"))
