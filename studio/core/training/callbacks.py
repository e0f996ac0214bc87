"""What happens around the steps: evaluation and early stopping, the log, previews, checkpoints, status.

Each callback does one job and the engine calls them in list order (evaluation first, so the log line and
the "best checkpoint" decision see this step's validation values). On several processes every rank runs
the evaluator and the in-memory snapshots (so a NaN rollback lands on the same step everywhere) but only
rank 0 writes files or reports.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from studio.core.durations import format_duration
from studio.core.jobs import JobError
from studio.core.training import checkpoints
from studio.core.training.distributed import any_rank
from studio.core.training.runs import MetricsLog, write_status

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0  # runs.STALE_AFTER_S (60 s) leaves room for a slow step or a slow disk


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
    """metrics.jsonl (one line per logged step), ctx.metrics and the progress line."""

    def __init__(self, run_folder: Path | None) -> None:
        self.log = MetricsLog(run_folder) if run_folder is not None else None
        self._mark: tuple[int, float] | None = None  # (step, elapsed) at the last logged line
        self._step_s: float | None = None  # smoothed seconds per step, for the ETA

    def on_start(self, engine) -> None:
        self._mark = (engine.state.step, engine.elapsed_s)

    def on_rollback(self, engine) -> None:
        if self.log is not None:
            self.log.truncate_after(engine.state.step)
        self._mark = (engine.state.step, engine.elapsed_s)

    def on_step_end(self, engine) -> None:
        step, total = engine.state.step, engine.total_steps
        due = step % engine.config["log_every"] == 0 or engine.step_values or _is_final(engine)
        if due:
            self._write_line(engine)
        eta = self._step_s * (total - step) if self._step_s else None
        loss = engine.state.last_metrics.get("loss")
        parts = [f"Step {step:,} of {total:,}"]
        if loss is None:
            loss = next((v for k, v in engine.state.last_metrics.items() if k.startswith("loss")), None)
        if loss is not None:
            parts.append(f"loss {loss:.3f}")
        if eta is not None:
            parts.append(f"{format_duration(eta)} left")
        engine.ctx.progress(step / total, " · ".join(parts))

    def _write_line(self, engine) -> None:
        step, now = engine.state.step, engine.elapsed_s
        last_step, last_time = self._mark or (step, now)
        steps = max(1, step - last_step)
        seconds = max(1e-9, now - last_time)
        step_s = seconds / steps
        self._step_s = step_s if self._step_s is None else 0.7 * self._step_s + 0.3 * step_s
        self._mark = (step, now)
        line = {
            "step": step,
            "time_s": round(now, 3),
            "epoch": round(engine.sampler.epoch_float, 4),
            "lr": float(engine.last_logs.get("lr", 0.0)),
            "items_per_s": round(engine.sampler.global_batch / step_s, 2),
        }
        line.update({k: float(v) for k, v in engine.last_logs.items() if k != "lr"})
        line.update(engine.step_values)
        engine.state.last_metrics.update({k: v for k, v in line.items() if k.startswith(("loss", "val_"))})
        if self.log is not None:
            self.log.append(line)
        engine.ctx.metrics(
            {**line, "eta_s": round(self._step_s * (engine.total_steps - step), 1), "total_steps": engine.total_steps}
        )


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
        self.write(engine, "finished", engine.stop_reason or f"Finished {engine.state.step:,} steps")
