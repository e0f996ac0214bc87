"""What happens around the steps: evaluation and early stopping, the log, previews, checkpoints, status.

Each callback does one job and the engine calls them in list order (evaluation first, so the log line and
the "best checkpoint" decision see this step's validation values). On several processes every rank runs
the evaluator and the in-memory snapshots (so a NaN rollback lands on the same step everywhere) but only
rank 0 writes files or reports.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from pathlib import Path

from studio.core import words
from studio.core.durations import format_duration
from studio.core.jobs import JobError
from studio.core.training import checkpoints
from studio.core.training.distributed import any_rank
from studio.core.training.estimation import times_due
from studio.core.training.runs import MetricsLog, write_status

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0  # runs.STALE_AFTER_S (60 s) leaves room for a slow step or a slow disk
ETA_WINDOW_STEPS = 50  # the ETA's seconds per step: the mean of this many latest training steps


class DiskFull(JobError):
    """A checkpoint could not be written because the disk is full; the run stopped, older checkpoints intact."""


class Callback:
    def on_start(self, engine) -> None: ...
    def on_step_end(self, engine) -> None: ...
    def on_pause(self, engine) -> None: ...
    def while_paused(self, engine) -> None: ...
    def on_resume(self, engine) -> None: ...
    def on_rollback(self, engine) -> None: ...
    def on_cancel(self, engine) -> None: ...
    def on_end(self, engine) -> None: ...


def _is_final(engine) -> bool:
    return engine.state.step >= engine.total_steps or engine.stop_reason is not None


class Evaluator(Callback):
    """Validation every ``eval_every`` steps and at the end; early stopping on the recipe's metric."""

    def on_step_end(self, engine) -> None:
        step = engine.state.step
        if step % engine.config["eval_every"] and step < engine.total_steps:
            return
        values = engine.evaluate()
        engine.step_values.update(values)
        engine.state.last_metrics.update(values)
        self._early_stopping(engine, values.get(engine.recipe.metric))

    @staticmethod
    def _early_stopping(engine, value: float | None) -> None:
        if value is None:
            return
        state = engine.state
        if state.best_metric is None or value < state.best_metric:
            state.best_metric, state.evals_since_best = value, 0
            return
        state.evals_since_best += 1
        patience = engine.config["early_stopping_patience"]
        if patience and state.evals_since_best >= patience and state.step < engine.total_steps:
            name = engine.recipe.metric.replace("_", " ")
            engine.stop_reason = (
                f"The {name} has not improved for {patience} evaluations, so training stopped "
                f"early at step {state.step:,} (best {state.best_metric:.4g})."
            )
            engine.event(engine.stop_reason)


class Reporter(Callback):
    """metrics.jsonl (one line per logged step), ctx.metrics and the progress line, with the time left.

    The UI reads two things from here and shows them as one ETA: each ctx.metrics row carries ``total_steps``
    and ``eta_s`` (seconds, absent when unknown), and each progress message reads "Step N of M · loss L ·
    <duration> left" with that same ``eta_s``. While paused both leave the time out: nothing counts down.

    The time left (:meth:`eta_s`) is what the rest of the run will take:
    - the steps left times the mean seconds of the last :data:`ETA_WINDOW_STEPS` *training* steps, timed from
      one step's end to the next minus what ran beside the steps meanwhile (evaluation, previews, checkpoint
      saves, rollbacks: ``engine.side_work``), so a slow evaluation does not make every later step look slow;
      the first step of a session (warm-up: allocation, kernel selection) counts only until a second is timed;
    - plus the evaluations, previews and checkpoint saves still to come (their schedules, as the Evaluator,
      Previewer and Checkpointer follow them), each at its mean measured cost so far; none before the first
      has been measured.
    """

    def __init__(self, run_folder: Path | None) -> None:
        self.log = MetricsLog(run_folder) if run_folder is not None else None
        self._clock: tuple[float, float] | None = None  # (elapsed_s, side_work.total_s) at the last step end
        self._recent: deque[float] = deque(maxlen=ETA_WINDOW_STEPS)  # training seconds of the latest steps
        self._first_s: float | None = None  # the session's first step, used only while _recent is empty
        self._line_s, self._line_steps = 0.0, 0  # training time and steps since the last logged line (its speed)

    def on_start(self, engine) -> None:
        self._clock = self._now(engine)
        self._first_s = None
        self._recent.clear()

    def on_rollback(self, engine) -> None:
        if self.log is not None:
            self.log.truncate_after(engine.state.step)
        self._clock = self._now(engine)
        self._line_s, self._line_steps = 0.0, 0

    def on_pause(self, engine) -> None:
        engine.ctx.progress(engine.state.step / engine.total_steps, self._message(engine, None))

    def on_step_end(self, engine) -> None:
        self._time_step(engine)
        eta = None if engine.ctx.paused else self.eta_s(engine)  # a pause may come from another thread mid-step
        step, total = engine.state.step, engine.total_steps
        if step % engine.config["log_every"] == 0 or engine.step_values or _is_final(engine):
            self._write_line(engine, eta)
            if engine.ctx.paused:  # paused while the row was reported: the progress line goes without the time
                eta = None
        engine.ctx.progress(step / total, self._message(engine, eta))

    # -- time ---------------------------------------------------------------------------------------------
    @staticmethod
    def _now(engine) -> tuple[float, float]:
        return engine.elapsed_s, engine.side_work.total_s

    def _time_step(self, engine) -> None:
        """Add the step that just ended: wall time since the previous step's end, less the side work in it."""
        now = self._now(engine)
        before = self._clock or now
        seconds = max(0.0, (now[0] - before[0]) - (now[1] - before[1]))
        self._clock = now
        if self._first_s is None:
            self._first_s = seconds
        else:
            self._recent.append(seconds)
        self._line_s += seconds
        self._line_steps += 1

    @property
    def step_s(self) -> float | None:
        """Seconds per training step (the latest steps' mean), or None before the first step."""
        if self._recent:
            return sum(self._recent) / len(self._recent)
        return self._first_s

    def eta_s(self, engine) -> float | None:
        """Seconds left, rounded to 0.1 s (the value both the metrics row and the progress line show)."""
        step_s = self.step_s
        if step_s is None:
            return None
        config, step, total = engine.config, engine.state.step, engine.total_steps
        train_s = step_s * max(0, total - step)
        saves = times_due(step, total, config["checkpoint_every"])
        saves += int(train_s / (60.0 * max(float(config["checkpoint_minutes"]), 1e-3)))  # the time-based saves
        pending = {
            "evaluation": times_due(step, total, config["eval_every"]),
            "preview": times_due(step, total, config["sample_every"]),
            "checkpoint": saves,
        }
        side_s = sum(count * (engine.side_work.mean_s(kind) or 0.0) for kind, count in pending.items() if count)
        return round(train_s + side_s, 1)

    # -- reports ------------------------------------------------------------------------------------------
    @staticmethod
    def _message(engine, eta: float | None) -> str:
        """ "Step N of M · loss L · <duration> left"; without the time when ``eta`` is None."""
        parts = [f"Step {engine.state.step:,} of {engine.total_steps:,}"]
        metrics = engine.state.last_metrics
        loss = metrics.get("loss")
        if loss is None:
            loss = next((v for k, v in metrics.items() if k.startswith("loss")), None)
        if loss is not None:
            parts.append(f"loss {loss:.3f}")
        if eta is not None:
            parts.append(f"{format_duration(eta)} left")
        return " · ".join(parts)

    def _write_line(self, engine, eta: float | None) -> None:
        # the speed from training time only, so it does not dip at every evaluation
        step_s = max(1e-9, self._line_s / max(1, self._line_steps))
        line = {
            "step": engine.state.step,
            "time_s": round(engine.elapsed_s, 3),
            "epoch": round(engine.sampler.epoch_float, 4),
            "lr": float(engine.last_logs.get("lr", 0.0)),
            "items_per_s": round(engine.sampler.global_batch / step_s, 2),
        }
        line.update({k: float(v) for k, v in engine.last_logs.items() if k != "lr"})
        line.update(engine.step_values)
        engine.state.last_metrics.update({k: v for k, v in line.items() if k.startswith(("loss", "val_"))})
        self._line_s, self._line_steps = 0.0, 0
        if self.log is not None:
            self.log.append(line)
        row = {**line, "total_steps": engine.total_steps}
        if eta is not None:
            row["eta_s"] = eta
        engine.ctx.metrics(row)


class Previewer(Callback):
    """A preview every ``sample_every`` steps, on "Sample now" and at the end (files in samples/)."""

    def __init__(self, run_folder: Path) -> None:
        self.folder = run_folder / "samples"

    def on_step_end(self, engine) -> None:
        step = engine.state.step
        if step % engine.config["sample_every"] == 0 or engine.take_request("sample") or _is_final(engine):
            preview = engine.make_preview(self.folder)
            if preview:
                engine.ctx.preview({"step": step, "kind": engine.recipe.preview_kind, **preview})


class Checkpointer(Callback):
    """Checkpoints every ``checkpoint_every`` steps and ``checkpoint_minutes``, on "Save now", pause, stop and
    at the end; keeps the last ``keep_last`` plus the best. Every rank keeps the in-memory snapshot; rank 0
    writes it."""

    def __init__(self, run_folder: Path | None, is_main: bool) -> None:
        self.folder = run_folder / "checkpoints" if run_folder is not None else None
        self.is_main = is_main
        self._saved_at = time.monotonic()

    def on_step_end(self, engine) -> None:
        step = engine.state.step
        by_time = time.monotonic() - self._saved_at >= 60.0 * engine.config["checkpoint_minutes"]
        wanted = engine.take_request("checkpoint") or by_time
        wanted = any_rank(engine.dist, wanted, engine.device)  # time and requests are rank 0's to decide
        if wanted or step % engine.config["checkpoint_every"] == 0 or _is_final(engine):
            self.save(engine)

    def on_pause(self, engine) -> None:
        self.save(engine)

    def on_cancel(self, engine) -> None:
        self.save(engine)

    def save(self, engine) -> Path | None:
        """Snapshot and (rank 0) write the current step, unless that step is already the last checkpoint."""
        step = engine.state.step
        if engine.last_good is not None and engine.last_good.step == step and engine.last_checkpoint is not None:
            return engine.last_checkpoint
        with engine.side_work.timed("checkpoint"):  # the Reporter's ETA keeps it apart from the step time
            return self._save(engine, step)

    def _save(self, engine, step: int) -> Path | None:
        state = engine.state
        metric = state.last_metrics.get(engine.recipe.metric)
        best = metric is not None and (state.best_checkpoint_metric is None or metric < state.best_checkpoint_metric)
        if best:
            state.best_checkpoint_step, state.best_checkpoint_metric = step, metric
        snap = engine.snapshot()
        snap.meta["best"] = best
        record = None
        if self.is_main and self.folder is not None:
            record = self._write(engine, self.folder, snap)
            if best:
                checkpoints.mark_best(self.folder, step)
            checkpoints.prune(self.folder, engine.config["keep_last"], state.best_checkpoint_step)
            engine.event(f"Checkpoint saved at step {step:,}.")
        engine.last_good, engine.last_checkpoint = snap, record
        self._saved_at = time.monotonic()
        return record

    def _write(self, engine, folder: Path, snap) -> Path:
        try:
            return checkpoints.write(folder, snap)
        except OSError as exc:
            if not checkpoints.is_disk_full(exc):
                raise
            previous = engine.last_checkpoint
            where = (
                f"the checkpoint at step {engine.last_good.step:,} is intact"
                if previous is not None
                else "no earlier checkpoint existed"
            )
            raise DiskFull(
                f"The disk is full, so the checkpoint at step {snap.step:,} could not be saved. The "
                f"run stopped and {where}: free some space, then resume the run."
            ) from exc


class StatusWriter(Callback):
    """status.json: state changes at once, the heartbeat at least every :data:`HEARTBEAT_S` seconds."""

    def __init__(self, run_folder: Path) -> None:
        self.folder = run_folder
        self._written = 0.0

    def write(self, engine, state: str, message: str = "") -> None:
        best = engine.state.best_checkpoint_step
        last = engine.last_checkpoint
        try:
            write_status(
                self.folder,
                state=state,
                step=engine.state.step,
                total_steps=engine.total_steps,
                message=message,
                last_checkpoint=last.name[:-5] if last is not None else None,
                best_checkpoint=checkpoints.checkpoint_name(best) if best is not None else None,
            )
        except OSError as exc:  # a full disk must not hide the real error the checkpoint writer reports
            log.warning("Could not update the run status: %s", exc)
        self._written = time.monotonic()

    def on_start(self, engine) -> None:
        self.write(engine, "running", "Training")

    def on_step_end(self, engine) -> None:
        if (
            time.monotonic() - self._written >= HEARTBEAT_S
            or engine.state.step % engine.config["checkpoint_every"] == 0
        ):
            self.write(engine, "running", "Training")

    def on_pause(self, engine) -> None:
        self.write(engine, "paused", f"Paused at step {engine.state.step:,}")

    def while_paused(self, engine) -> None:
        if time.monotonic() - self._written >= HEARTBEAT_S:
            self.write(engine, "paused", f"Paused at step {engine.state.step:,}")

    def on_resume(self, engine) -> None:
        self.write(engine, "running", "Training")

    def on_cancel(self, engine) -> None:
        self.write(engine, "stopped", f"Stopped at step {engine.state.step:,}")

    def on_end(self, engine) -> None:
        self.write(engine, "finished", engine.stop_reason or f"Finished {words.count(engine.state.step, 'step')}")
