"""Quitting while jobs run: every job is stopped and has ended before the window goes, and the window keeps
painting meanwhile (it waited on the job threads with the event loop stopped, frozen for as long as the slowest
job took to stop: a training run writing its last checkpoint)."""

from __future__ import annotations

import threading
import time

import numpy as np
from PIL import Image
from window_helpers import open_active_window

from studio.core.jobs import Cancelled, JobContext
from studio.core.project import create_project
from studio.workers.registry import TRAINING

CHECKPOINT_S = 2.0  # how long the stand-in training run takes to stop after it is cancelled


class SlowToStopTraining:
    """A training run as the window sees it: runs until cancelled, then spends CHECKPOINT_S writing its last
    checkpoint (sleeping, as file writes do: without the GIL) before it ends."""

    title = "Training “pics”"
    kind = TRAINING

    def __init__(self) -> None:
        self.running = threading.Event()
        self.saved = False

    def __call__(self, ctx: JobContext) -> None:
        self.running.set()
        try:
            while True:
                ctx.check()
                time.sleep(0.01)
        except Cancelled:
            time.sleep(CHECKPOINT_S)
            self.saved = True
            raise


def _pictures(folder, n: int):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(folder / f"{i:03}.png")
    return folder


def _wait_models(qtbot, panel) -> None:
    qtbot.waitUntil(lambda: panel.models is not None and panel.models_slot.runner is None, timeout=30000)


def test_quitting_with_every_kind_of_job_running_stops_them_all_and_never_freezes(
    qtbot, studio_app, tmp_path, stall_probe
):
    window = open_active_window(qtbot)
    window.confirm_quit_while_training = lambda: True
    window.set_project(create_project(tmp_path / "Busy"))
    dataset, canvas, writer = window.panels["dataset"], window.panels["image"], window.panels["text"]
    _wait_models(qtbot, canvas)
    _wait_models(qtbot, writer)

    window.show_panel("image")  # pictures from the starter image model, many of them
    model = canvas.controls.model
    model.setCurrentIndex(next(i for i in range(model.count()) if "starter-shapes" in model.itemText(i)))
    canvas.controls.set_count(64)
    canvas.generate()
    window.show_panel("text")  # a long text from the starter writer, streaming
    assert writer.controls.select("starter-shakespeare")
    writer.controls.max_tokens.setValue(writer.controls.max_tokens.maximum())
    writer.prompt.setPlainText("To be")
    writer.generate()
    window.show_panel("dataset")  # an import big enough to use the process pool
    importing = dataset.import_paths([_pictures(tmp_path / "drop", 200)], name="pics")
    training = SlowToStopTraining()
    window.registry.start(training)
    qtbot.waitUntil(training.running.is_set, timeout=5000)
    runners = window.registry.running()
    assert importing in runners and len(runners) >= 4  # import, training, pictures, text (and any estimate)

    said: list[str] = []
    window.statusBar().messageChanged.connect(said.append)
    stall_probe.start()
    started = time.perf_counter()
    window.close()
    seconds = time.perf_counter() - started
    worst = stall_probe.stop()
    print(f"\nquit with {len(runners)} jobs: closed after {seconds:.2f} s, worst window pause {worst * 1000:.0f} ms")

    assert not window.isVisible()
    assert training.saved and seconds >= CHECKPOINT_S  # the window waited for the checkpoint…
    assert worst < CHECKPOINT_S / 2  # …painting all the while: a blocking wait froze it for the whole 2 s
    assert stall_probe.ticks > seconds / stall_probe.interval / 4  # its 10 ms timer kept firing (2 in a blocked wait)
    assert any(text.startswith("Stopping") and "jobs before closing" in text for text in said)
    assert window.registry.running() == []
    assert all(runner.state in ("cancelled", "succeeded") for runner in runners)
    assert all(runner.wait(0) for runner in runners)  # every thread has ended: nothing outlives the window
