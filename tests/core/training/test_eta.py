"""The training ETA (callbacks.Reporter): seconds per *training* step, evaluations priced apart, nothing while
paused, and one figure in both places the UI reads it (the metrics row's ``eta_s``, the progress line's
"<duration> left")."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import ClassVar

import pytest
from training_helpers import FAST

from studio.core.durations import format_duration
from studio.core.jobs import JobContext
from studio.core.training import TrainJob, families
from studio.core.training.estimation import times_due
from studio.core.training.reference import ReferenceRecipe

STEP_SLEEP_S = 0.02  # every training step takes at least this long
EVAL_SLEEP_S = 0.5  # every evaluation at least this long: 25 steps' worth


class SlowRecipe(ReferenceRecipe):
    """The reference recipe with a known floor under each step and each evaluation; ``eval_seconds`` records
    how long each evaluation really took."""

    family = "slow"
    eval_seconds: ClassVar[list[float]] = []

    def reconstruction_loss(self, models, images):
        time.sleep(STEP_SLEEP_S)
        return ReferenceRecipe.reconstruction_loss(models, images)

    def evaluate(self, models):
        started = time.perf_counter()
        time.sleep(EVAL_SLEEP_S)
        values = super().evaluate(models)
        type(self).eval_seconds.append(time.perf_counter() - started)
        return values


@pytest.fixture
def slow():
    families.register(replace(families.spec("reference"), id="slow", recipe="test_eta:SlowRecipe"))
    SlowRecipe.eval_seconds = []
    yield SlowRecipe
    families.unregister("slow")


class Recorder:
    """Every report in order: ("metrics", row, paused) and ("progress", message, paused)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object, bool]] = []
        self.ctx = JobContext(on_progress=self.progress, on_metrics=self.metrics)
        self.on_row = None

    def progress(self, _fraction: float, message: str) -> None:
        self.events.append(("progress", message, self.ctx.paused))

    def metrics(self, row: dict) -> None:
        self.events.append(("metrics", row, self.ctx.paused))
        if self.on_row is not None:
            self.on_row(row)

    def rows(self) -> list[dict]:
        return [row for kind, row, _ in self.events if kind == "metrics" and "loss" in row]  # type: ignore[operator]


def test_times_due_counts_the_scheduled_times_after_a_step_and_the_last_one():
    assert times_due(6, 20, 5) == 3  # 10, 15, 20
    assert times_due(5, 23, 5) == 4  # 10, 15, 20 and the last step, 23
    assert times_due(0, 3, 10) == 1  # only the last
    assert times_due(20, 20, 5) == 0


def test_the_eta_counts_training_steps_and_prices_the_evaluations_left_apart(project, slow):
    recorder = Recorder()
    settings = {**FAST, "eval_every": 5, "sample_every": 100, "checkpoint_every": 100, "log_every": 1}
    TrainJob(project, "pics", "slow", preset="fast", overrides=settings, steps=20)(recorder.ctx)

    rows = {row["step"]: row for row in recorder.rows()}
    assert all(row["total_steps"] == 20 for row in rows.values())
    eval_s = slow.eval_seconds[0]
    assert eval_s >= EVAL_SLEEP_S
    for step in (6, 7, 8, 9):  # after the first evaluation; 10, 15 and 20 are still to come
        steps_left, evals_left = 20 - step, 3
        train_part = rows[step]["eta_s"] - evals_left * eval_s
        # each step costs at least its sleep; had the evaluation been spread over the steps around it (the old
        # ETA) it would add EVAL_SLEEP_S / 5 = 0.1 s to every step left, more than this bound allows (0.08 s of
        # margin per step for a busy machine)
        assert steps_left * STEP_SLEEP_S * 0.9 <= train_part <= steps_left * (STEP_SLEEP_S + 0.08) + 0.1, step
    # no evaluation measured yet: none priced (the four to come would add 4 × EVAL_SLEEP_S = 2 s); the steps' own
    # part has the same busy-machine margin as above
    assert rows[4]["eta_s"] <= 16 * (STEP_SLEEP_S + 0.08) + 0.1 < 4 * EVAL_SLEEP_S
    assert rows[20]["eta_s"] == 0.0


def test_no_time_left_is_reported_while_paused(project, slow):
    recorder = Recorder()
    settings = {**FAST, "eval_every": 100, "sample_every": 100, "checkpoint_every": 100, "log_every": 1}
    job = TrainJob(project, "pics", "slow", preset="fast", overrides=settings, steps=8)

    def pause_at_three(row):
        if row.get("step") == 3 and "loss" in row:
            recorder.ctx.pause()
            threading.Timer(0.3, recorder.ctx.resume).start()

    recorder.on_row = pause_at_three
    assert job(recorder.ctx)["step"] == 8

    while_paused = [(kind, value) for kind, value, paused in recorder.events if paused]
    messages = [value for kind, value in while_paused if kind == "progress"]
    assert messages, "a paused run sends a progress line without the time"
    assert all(isinstance(m, str) and m.startswith("Step 3 of 8 · loss ") and "left" not in m for m in messages)
    assert all("eta_s" not in value for kind, value in while_paused if kind == "metrics")  # type: ignore[operator]
    assert any("event" in value for kind, value in while_paused if kind == "metrics")  # the pause's checkpoint
    after = [value for kind, value, paused in recorder.events if kind == "progress" and not paused]
    assert after[-1].startswith("Step 8 of 8") and after[-1].endswith(" left")  # type: ignore[union-attr]
    assert {row["step"] for row in recorder.rows() if "eta_s" in row} == {1, 2, 3, 4, 5, 6, 7, 8}


def test_the_metrics_eta_and_the_progress_line_say_the_same_time(project, slow):
    recorder = Recorder()
    settings = {**FAST, "eval_every": 4, "sample_every": 100, "checkpoint_every": 100, "log_every": 1}
    TrainJob(project, "pics", "slow", preset="fast", overrides=settings, steps=12)(recorder.ctx)

    pairs = []
    row = None
    for kind, value, _paused in recorder.events:
        if kind == "metrics" and "eta_s" in value:  # type: ignore[operator]
            row = value
        elif kind == "progress" and row is not None:
            pairs.append((row["step"], row["eta_s"], value))  # type: ignore[index]
            row = None
    assert [step for step, _, _ in pairs] == list(range(1, 13))
    for step, eta_s, message in pairs:
        assert isinstance(eta_s, float)
        assert message.startswith(f"Step {step} of 12 · loss ")
        assert message.endswith(f" · {format_duration(eta_s)} left"), (step, eta_s, message)
    assert any(eta_s >= 1.0 for _, eta_s, _ in pairs)  # evaluations priced in: whole seconds, not just "0 s"
