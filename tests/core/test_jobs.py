import threading
import time

import pytest

from studio.core.jobs import Cancelled, JobContext, job_title, run_job


def test_default_context_runs_a_job_without_any_callbacks():
    def job(ctx):
        ctx.progress(0.5, "half")
        ctx.metrics({"step": 1, "loss": 1.0})
        ctx.preview("text")
        ctx.check()
        return 42

    assert run_job(job) == 42


def test_reports_reach_callbacks_and_progress_is_clamped():
    seen = []
    ctx = JobContext(
        on_progress=lambda f, m: seen.append(("p", f, m)),
        on_metrics=lambda d: seen.append(("m", d)),
        on_preview=lambda o: seen.append(("v", o)),
    )
    ctx.progress(1.7, "over")
    ctx.progress(-1, "under")
    ctx.metrics({"loss": 2.0})
    ctx.preview([1, 2])
    assert seen == [("p", 1.0, "over"), ("p", 0.0, "under"), ("m", {"loss": 2.0}), ("v", [1, 2])]


def test_check_raises_after_cancel():
    ctx = JobContext()
    ctx.check()
    ctx.cancel()
    assert ctx.cancelled
    with pytest.raises(Cancelled):
        ctx.check()


def test_pause_blocks_check_until_resume():
    ctx = JobContext()
    ctx.pause()
    passed = threading.Event()

    def worker():
        ctx.check()
        passed.set()

    thread = threading.Thread(target=worker)
    thread.start()
    time.sleep(0.2)
    assert not passed.is_set(), "check() returned while paused"
    ctx.resume()
    thread.join(2)
    assert passed.is_set()


def test_cancel_wakes_a_paused_job():
    ctx = JobContext()
    ctx.pause()
    outcome = []

    def worker():
        try:
            ctx.check()
            outcome.append("returned")
        except Cancelled:
            outcome.append("cancelled")

    thread = threading.Thread(target=worker)
    thread.start()
    time.sleep(0.1)
    ctx.cancel()
    thread.join(2)
    assert outcome == ["cancelled"]


def test_job_title_prefers_attribute_then_name():
    class Fancy:
        title = "Training a GAN"

        def __call__(self, ctx):
            return None

    def import_images(ctx):
        return None

    assert job_title(Fancy()) == "Training a GAN"
    assert job_title(import_images) == "Import images"
