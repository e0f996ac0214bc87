"""The Training panel's estimates, its one ETA and its data-driven defaults, driven as a user would:

* estimates run only while the panel is shown, one at a time (a new request cancels the running one), never pile
  up in the status bar, and quitting during one closes the window at once;
* each preset shows its time and memory, and the largest preset that fits 20 minutes is preselected;
* the status bar and the monitor show the same time left, and none while paused;
* an image dataset with a 32 px cache preselects the image GAN at 32 px.

The engine is the fake of test_training_panel (its contract, no torch), with estimates that block until released
and check their context as the real estimator does.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image
from test_training_panel import FakeBackend, _project, _window

from studio.core.datasets.image_cache import BuildImageCache
from studio.core.datasets.importer import ImportDataset, dataset_folder
from studio.core.jobs import JobContext, run_job
from studio.core.project import create_project, open_project
from studio.ui.backends.training import EstimateJob
from studio.ui.widgets.common.job_status import own_eta, with_eta
from studio.ui.widgets.training.setup_card import ESTIMATING, PRESELECT_LIMIT_S, RESTORED

ESTIMATE_TITLE = EstimateJob.title


SMALL_SET_GAN = "lightweight_gan"  # what the family table suggests for an image dataset of under 5,000 pictures


class SmallSetBackend(FakeBackend):
    """The fake engine with the image GAN for small sets listed too, as in the real table."""

    def families(self) -> list[dict]:
        gan = next(f for f in super().families() if f["family"] == "gan")
        return [*super().families(), {**gan, "family": SMALL_SET_GAN, "title": "Image GAN for small sets"}]

    def default_config(self, family: str) -> dict:
        return super().default_config("gan" if family == SMALL_SET_GAN else family)


class BlockingBackend(FakeBackend):
    """Estimates that take as long as the test wants (until ``release`` is set), checking ``ctx`` every 5 ms as
    the real estimator does; counts how many run at once."""

    def __init__(self, seconds_per_step: float = 0.09) -> None:
        super().__init__()
        self.seconds_per_step = seconds_per_step
        self.release = threading.Event()
        self.started = threading.Event()
        self.running = 0
        self.most_at_once = 0
        self.got_ctx = False
        self._lock = threading.Lock()

    def estimate(self, root, dataset, family, config, device, ctx: JobContext | None = None) -> dict:
        self.estimates.append(dict(config))
        self.got_ctx = self.got_ctx or ctx is not None
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        self.started.set()
        try:
            while not self.release.is_set():
                if ctx is not None:
                    ctx.check()
                time.sleep(0.005)
        finally:
            with self._lock:
                self.running -= 1
        return {"seconds": config["steps"] * self.seconds_per_step, "memory_bytes": 64 << 20, "steps": config["steps"]}


def _estimate_runners(registry) -> list:
    return [r for r in registry.running() if r.title == ESTIMATE_TITLE]


def _estimates_shown(setup) -> bool:
    return all(b.estimate_text.startswith("≈") for b in setup.preset_buttons.values())


def _window_with(qtbot, tmp_path, backend, panel_id: str = "dataset"):
    window = _window(qtbot)
    window.show_panel(panel_id)
    panel = window.panels["training"]
    panel.backend = backend
    window.set_project(_project(tmp_path))
    qtbot.waitUntil(lambda: panel.catalog is not None, timeout=5000)
    return window, panel


# -- estimates: only while shown, one at a time, cancelled at quit --------------------------------------------------
def test_estimates_wait_for_the_panel_and_stop_when_it_is_hidden(qtbot, studio_app, tmp_path):
    fake = BlockingBackend()
    window, panel = _window_with(qtbot, tmp_path, fake)  # the Dataset panel is shown: Training is hidden
    qtbot.wait(700)  # longer than the panel's 400 ms settling delay
    assert fake.estimates == [] and not _estimate_runners(window.registry)

    window.show_panel("training")
    qtbot.waitUntil(fake.started.is_set, timeout=3000)
    assert fake.got_ctx  # the job's context reaches the estimator: a cancel stops it mid-way
    runner = _estimate_runners(window.registry)[0]
    window.show_panel("dataset")
    qtbot.waitUntil(lambda: not _estimate_runners(window.registry), timeout=2000)
    assert runner.state == "cancelled"

    window.show_panel("training")  # shown again: the estimate starts again, and this time it may finish
    qtbot.waitUntil(lambda: bool(_estimate_runners(window.registry)), timeout=3000)
    fake.release.set()
    qtbot.waitUntil(lambda: _estimates_shown(panel.setup), timeout=5000)
    asked = len(fake.estimates)
    window.show_panel("dataset")
    window.show_panel("training")
    qtbot.wait(700)
    assert len(fake.estimates) == asked and _estimates_shown(panel.setup)  # known answers are not asked again
    assert fake.most_at_once == 1


def test_a_new_request_cancels_the_running_estimate_and_only_one_runs(qtbot, studio_app, tmp_path):
    fake = BlockingBackend()
    window, panel = _window_with(qtbot, tmp_path, fake, "training")
    qtbot.waitUntil(lambda: bool(_estimate_runners(window.registry)), timeout=3000)
    first = _estimate_runners(window.registry)[0]
    for batch in (8, 16, 24):  # three changes in a row, each a new request
        panel.setup.form.set_overrides({"batch_size": batch})
        panel.estimate()
        assert len(_estimate_runners(window.registry)) <= 1
        assert window.job_status.more.text() == ""  # nothing piles up in the status bar
    qtbot.waitUntil(lambda: first.state == "cancelled", timeout=2000)
    qtbot.waitUntil(lambda: bool(_estimate_runners(window.registry)), timeout=3000)
    assert len(_estimate_runners(window.registry)) == 1 and window.job_status.more.text() == ""
    assert window.job_status.label.text().startswith(ESTIMATE_TITLE)
    fake.release.set()
    qtbot.waitUntil(lambda: _estimates_shown(panel.setup), timeout=5000)
    assert fake.estimates[-1]["batch_size"] == 24  # the newest request's settings were estimated
    assert fake.most_at_once == 1


def test_quitting_during_an_estimate_closes_the_window_in_under_a_second(qtbot, studio_app, tmp_path):
    fake = BlockingBackend()  # never released: only a cancel ends it
    window, _panel = _window_with(qtbot, tmp_path, fake, "training")
    qtbot.waitUntil(fake.started.is_set, timeout=3000)  # inside the estimator, which only a cancel ends
    runner = _estimate_runners(window.registry)[0]
    started = time.perf_counter()
    window.close()
    seconds = time.perf_counter() - started
    print(f"\nwindow closed {seconds * 1000:.0f} ms after Quit during an estimate")
    assert seconds < 1.0
    assert runner.wait(0) and runner.state == "cancelled"  # its thread has ended: nothing outlives the window
    assert not window.registry.running()


# -- what the presets show and which one is preselected --------------------------------------------------------------
def test_presets_show_time_and_memory_and_the_largest_that_fits_20_minutes_is_preselected(
    qtbot, studio_app, tmp_path, panel_alone
):
    panel = panel_alone("training")
    fake = BlockingBackend(seconds_per_step=0.6)  # fast 2 min, balanced 10 min, best 40 min
    panel.backend = fake
    panel.set_project(_project(tmp_path))
    qtbot.waitUntil(lambda: panel.catalog is not None, timeout=5000)
    setup = panel.setup
    setup.select_dataset("shapes")
    setup.select_family("gan")
    assert setup.preset() == "fast"  # until estimates are known
    qtbot.waitUntil(lambda: setup.preset_buttons["fast"].estimate_text == ESTIMATING, timeout=3000)
    fake.release.set()
    qtbot.waitUntil(lambda: _estimates_shown(setup), timeout=5000)
    best = setup.preset_buttons["best"]
    assert (setup.preset_buttons["balanced"].estimate_text, best.estimate_text) == ("≈ 10 min", "≈ 40 min")
    assert best.memory_text == "64 MB" and best.memory.isVisibleTo(best)
    assert "4,000 steps" in best.toolTip() and "64 MB" in best.toolTip()
    assert best.seconds > PRESELECT_LIMIT_S >= setup.preset_buttons["balanced"].seconds
    assert setup.preset() == "balanced"  # the largest known to fit; never one known to take longer

    # the user's own click stands, even on a preset that takes longer, until the model changes
    best.click()
    asked = len(fake.estimates)
    panel.set_device_choice("cpu")  # another device: estimated again
    qtbot.waitUntil(lambda: len(fake.estimates) >= asked + 3 and _estimates_shown(setup), timeout=5000)
    assert setup.preset() == "best"
    setup.select_family("reference")
    assert setup.preset() == "fast"
    qtbot.waitUntil(lambda: _estimates_shown(setup), timeout=5000)
    assert setup.preset() == "balanced"

    # a preset restored from the last session stays unless it is known to take longer than the limit
    setup.select_preset("best", source=RESTORED)
    panel.refresh_datasets("shapes")
    qtbot.waitUntil(lambda: setup.preset() == "balanced", timeout=5000)


# -- one ETA ----------------------------------------------------------------------------------------------------------
class EtaJob:
    """A training job that, after a second, reports step 5 of 10 with 287 s left in both its metrics (eta_s) and its
    progress line (as the engine does), then waits, pausable, until released."""

    kind = "training"
    title = "Training gan on shapes"
    device = "cpu"
    run_id = None

    def __init__(self) -> None:
        self.release = threading.Event()

    def __call__(self, ctx: JobContext) -> dict:
        time.sleep(1.1)  # the status bar only extrapolates after a second: it would have added its own by now
        ctx.metrics({"step": 5, "total_steps": 10, "loss": 0.5, "eta_s": 287.0})
        ctx.progress(0.5, "Step 5 of 10 · loss 0.500 · 4 min 47 s left")
        while not self.release.is_set():
            ctx.check()  # waits here while paused
            time.sleep(0.005)
        return {"step": 10}


def test_the_status_bar_and_the_monitor_show_one_and_the_same_eta_and_none_while_paused(qtbot, studio_app, tmp_path):
    fake = FakeBackend()
    job = EtaJob()
    fake.train_job = lambda *args: job
    window, panel = _window_with(qtbot, tmp_path, fake, "training")
    status, tile = window.job_status, panel.head.tiles["eta"]
    panel.setup.select_dataset("shapes")
    panel.start()
    qtbot.waitUntil(lambda: tile.value.text() != "—" and "left" in status.label.text(), timeout=5000)
    assert status.label.text().count("left") == 1  # no second, extrapolated ETA
    assert own_eta(status.label.text()) == tile.value.text() == "4 min 47 s"

    panel.set_paused(True)
    assert tile.value.text() == "—"
    qtbot.waitUntil(lambda: status.label.text().endswith("paused"), timeout=2000)
    assert "left" not in status.label.text()
    panel.set_paused(False)
    qtbot.waitUntil(lambda: own_eta(status.label.text()) == "4 min 47 s", timeout=2000)
    job.release.set()
    qtbot.waitUntil(lambda: panel.runner is None, timeout=5000)


def test_jobs_without_their_own_eta_keep_the_status_bars_extrapolation():
    assert with_eta("12 of 40 files", 0.25, 10.0) == "12 of 40 files · 30 s left"
    assert with_eta("Step 5 of 10 · 4 min 47 s left", 0.5, 10.0) == "Step 5 of 10 · 4 min 47 s left"
    assert with_eta("Step 5 of 10 · 4 min 47 s left", 0.5, 10.0, paused=True) == "Step 5 of 10 · paused"
    assert with_eta("12 of 40 files", 0.25, 10.0, paused=True) == "12 of 40 files · paused"
    assert own_eta("3 items left to check") is None  # "left" must end the message to be its ETA


# -- defaults that follow the data --------------------------------------------------------------------------------
def _image_project(tmp_path: Path) -> Path:
    root = tmp_path / "Pictures"
    create_project(root)
    source = tmp_path / "drop"
    rng = np.random.default_rng(0)
    for label in ("cats", "dogs"):
        (source / label).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(source / label / f"{i}.png")
    run_job(ImportDataset(root, "pets", [source], kind="image", workers=1))
    run_job(BuildImageCache(dataset_folder(root, "pets"), resolution=32, workers=1))
    return root


def test_a_small_image_dataset_with_a_32px_cache_preselects_the_small_set_gan_at_32px(
    qtbot, studio_app, tmp_path, panel_alone
):
    root = _image_project(tmp_path)
    panel = panel_alone("training")
    fake = SmallSetBackend()
    panel.backend = fake
    panel.set_project(open_project(root))
    setup = panel.setup
    qtbot.waitUntil(lambda: setup.family_name() == SMALL_SET_GAN, timeout=5000)  # not the reference test model
    assert setup.resolution.currentData() == 32 and setup.form.config()["resolution"] == 32
    assert "32 px" in setup.family.toolTip()
    qtbot.waitUntil(lambda: _estimates_shown(setup), timeout=5000)
    assert fake.estimates[-1]["resolution"] == 32  # what is estimated is what will train

    panel.refresh_datasets("pets")  # as after an import or a cache build: the size stays the cache's
    qtbot.wait(100)
    assert setup.family_name() == SMALL_SET_GAN and setup.resolution.currentData() == 32

    # the user's own choice wins while the dataset stays selected
    index = setup.family.findData("reference")
    setup.family.setCurrentIndex(index)
    setup.family.activated.emit(index)
    panel.refresh_datasets("pets")
    qtbot.wait(300)
    assert setup.family_name() == "reference"
    assert panel.save_state()["chosen"] is True
