"""The QThread runner: signal order, cancel, failures, throttling, and the one-training-per-device rule."""

import threading
import time

import pytest

from studio.core.jobs import JobError
from studio.core.smoke import TinyFit, WaitForCancel
from studio.workers.registry import DeviceBusyError, JobRegistry
from studio.workers.runner import JobRunner


def _run(qtbot, job, **kwargs) -> JobRunner:
    runner = JobRunner(job, **kwargs)
    with qtbot.waitSignal(runner.finished, timeout=30000):
        runner.start()
    runner.wait(5000)
    return runner


def test_signals_arrive_in_order_for_a_real_training_job(qtbot):
    runner = JobRunner(TinyFit(steps=10))
    events, progress, batches = [], [], []
    for name in ("started", "progress", "metrics", "succeeded", "failed", "cancelled", "finished"):
        getattr(runner, name).connect(lambda *args, name=name: events.append(name))
    runner.progress.connect(lambda f, m: progress.append(f))  # test-side recorders, GUI thread
    runner.metrics.connect(batches.append)
    with qtbot.waitSignals([runner.started, runner.succeeded, runner.finished], order="strict", timeout=30000):
        runner.start()
    runner.wait(5000)
    assert events[0] == "started" and events[-2:] == ["succeeded", "finished"]
    assert set(events[1:-2]) == {"progress", "metrics"}  # reports only between started and the outcome
    assert runner.state == "succeeded"
    assert runner.result["loss_end"] < runner.result["loss_start"]
    assert progress[-1] == 1.0
    assert [m["step"] for batch in batches for m in batch] == list(range(1, 11))  # no metric lost


def test_a_raising_job_fails_with_a_plain_message_and_the_next_job_runs(qtbot):
    def broken(ctx):
        raise ValueError("the tensor had the wrong shape")

    failed = []
    runner = JobRunner(broken, title="Import")
    runner.failed.connect(failed.append)
    with qtbot.waitSignals([runner.started, runner.failed, runner.finished], order="strict", timeout=10000):
        runner.start()
    assert runner.state == "failed"
    assert failed[0].startswith("Import stopped because of an unexpected problem: the tensor had the wrong shape.")
    assert "Details:" in failed[0]

    next_runner = _run(qtbot, TinyFit(steps=3))
    assert next_runner.state == "succeeded"


def test_job_errors_reach_the_user_verbatim(qtbot):
    def picky(ctx):
        raise JobError("Pick at least 10 images.")

    runner = _run(qtbot, picky)
    assert runner.error.startswith("Pick at least 10 images.")


def test_cancel_stops_a_running_job_within_one_second(qtbot):
    runner = JobRunner(WaitForCancel(timeout_s=30))
    with qtbot.waitSignal(runner.started, timeout=5000):
        runner.start()
    asked = time.monotonic()
    with qtbot.waitSignals([runner.cancelled, runner.finished], order="strict", timeout=1000):
        runner.cancel()
    assert time.monotonic() - asked < 1.0
    assert runner.state == "cancelled"
    assert runner.wait(1000)


def test_pause_holds_the_job_and_resume_lets_it_finish(qtbot):
    steps = []

    def counting(ctx):
        for i in range(200):
            ctx.check()
            steps.append(i)
            time.sleep(0.002)
        return len(steps)

    runner = JobRunner(counting)
    with qtbot.waitSignal(runner.started, timeout=5000):
        runner.start()
    runner.pause()
    time.sleep(0.1)
    frozen = len(steps)
    time.sleep(0.2)
    assert len(steps) == frozen and runner.paused
    with qtbot.waitSignal(runner.succeeded, timeout=10000):
        runner.resume()
    assert runner.result == 200


def test_reports_held_back_by_the_throttle_arrive_while_the_job_is_paused(qtbot):
    def pausing(ctx):
        for step in range(1, 6):  # five reports within one throttle interval: the last ones are held back
            ctx.metrics({"step": step})
            ctx.progress(step / 10, f"step {step}")
        ctx.pause()
        ctx.check()  # waits here until resumed
        return "done"

    runner = JobRunner(pausing)
    steps, messages = [], []
    runner.metrics.connect(lambda batch: steps.extend(m["step"] for m in batch))
    runner.progress.connect(lambda fraction, message: messages.append(message))
    runner.start()
    qtbot.waitUntil(lambda: runner.paused and steps == [1, 2, 3, 4, 5], timeout=5000)
    assert messages[-1] == "step 5"  # the monitor shows where the job paused, not a step before
    with qtbot.waitSignal(runner.succeeded, timeout=5000):
        runner.resume()


def test_progress_from_a_flat_out_job_is_throttled(qtbot):
    def chatty(ctx):
        end = time.monotonic() + 1.0
        n = 0
        while time.monotonic() < end:
            n += 1
            ctx.progress(min(n / 1e6, 1.0), f"report {n}")
            ctx.metrics({"step": n})
            ctx.check()
        return n

    runner = JobRunner(chatty)
    progress_signals, metric_signals, metrics = [], [], []
    runner.progress.connect(lambda f, m: progress_signals.append(m))
    runner.metrics.connect(lambda batch: (metric_signals.append(1), metrics.extend(batch)))
    with qtbot.waitSignal(runner.finished, timeout=10000):
        runner.start()
    reports = runner.result
    assert reports > 1000  # the job really reported far more often than the GUI hears
    assert len(progress_signals) <= 25
    assert len(metric_signals) <= 25
    assert len(metrics) == reports  # batched, not dropped
    assert progress_signals[-1] == f"report {reports}"  # the final state is always delivered


def test_registry_allows_one_training_per_device_and_shuts_down(qtbot):
    registry = JobRegistry()
    first = registry.start(WaitForCancel(), kind="training", device="cpu")
    with pytest.raises(DeviceBusyError, match="already training on cpu"):
        registry.start(WaitForCancel(), kind="training", device="cpu")
    other = registry.start(WaitForCancel(), kind="training", device="cuda:1")
    generation = registry.start(WaitForCancel(), kind="task", device="cpu")
    assert registry.training_running() and len(registry.running()) == 3
    assert registry.shutdown(timeout_s=5)
    assert {first.state, other.state, generation.state} == {"cancelled"}
    assert not registry.training_running()


def test_workers_live_on_their_own_threads(qtbot):
    seen = {}

    def where(ctx):
        seen["thread"] = threading.current_thread()
        return None

    _run(qtbot, where)
    assert seen["thread"] is not threading.main_thread()


def test_dropping_the_registry_while_a_job_runs_is_safe(qtbot):
    """Qt aborts the whole app if a running QThread is destroyed: the registry must never own that."""
    import gc

    registry = JobRegistry()
    runner = registry.start(WaitForCancel(timeout_s=0.5))
    del registry
    gc.collect()
    with qtbot.waitSignal(runner.finished, timeout=5000):
        pass
    assert runner.wait(2000) and runner.state == "succeeded"
