"""Ends a "Best model in N minutes" run on time (see :mod:`studio.core.training.planning`)."""

from __future__ import annotations

import time

from studio.core.training.callbacks import Callback


class Deadline(Callback):
    """Stops the run once the time since the job started, plus one last evaluation, preview and save, would pass
    the budget. A stop is a final step for the other callbacks, so they then make those last ones and keep the best
    checkpoint; this one is placed first so they see the stop in the same step. The plan's step count normally
    ends the run first: this is the guarantee when the machine gets slower than it was when the costs were
    measured."""

    def __init__(self, budget_s: float, started: float, reserve_s: float) -> None:
        self.budget_s, self.started, self.reserve_s = budget_s, started, reserve_s

    def on_step_end(self, engine) -> None:
        if engine.stop_reason is not None or engine.state.step >= engine.total_steps:
            return
        if time.monotonic() - self.started + self.reserve_s >= self.budget_s:
            engine.stop_reason = (
                f"The time budget of {self.budget_s / 60:g} min is reached, so training stopped at step "
                f"{engine.state.step:,}; the best checkpoint is kept."
            )
            engine.event(engine.stop_reason)
