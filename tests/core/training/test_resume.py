"""Checkpoints and resume: 20 steps straight equal 10 + stop + resume + 10 bit for bit (weights, EMA,
optimizer, schedule, sampler and RNG all restored); checkpoint files load safely; no duplicated log lines."""

import json

import pytest
import torch
from training_helpers import FAST, assert_identical, final_weights, logged_steps

from studio.core.jobs import Cancelled, JobContext
from studio.core.training import TrainJob, runs
from studio.core.training.checkpoints import complete_steps

SETTINGS = {**FAST, "ema": True, "seed": 3}


def stop_at(step: int) -> JobContext:
    """A context that asks for a stop once ``step`` was logged (the engine stops at the next boundary)."""
    ctx = JobContext()
    ctx._on_metrics = lambda values: ctx.cancel() if values.get("step") == step and "loss" in values else None
    return ctx


def test_twenty_steps_straight_equal_ten_plus_resume_plus_ten(project):
    straight = TrainJob(project, "pics", "reference", preset="fast", overrides=SETTINGS, steps=20)
    straight(JobContext())

    first = TrainJob(project, "pics", "reference", preset="fast", overrides=SETTINGS, steps=20)
    with pytest.raises(Cancelled):
        first(stop_at(10))
    assert runs.read_status(first.run_folder)["state"] == "stopped"
    assert max(logged_steps(first.run_folder)) == 10
    assert complete_steps(first.run_folder / "checkpoints")[-1] == 10

    resumed = TrainJob(project, "pics", "reference", resume=first.run_id)
    result = resumed(JobContext())

    assert resumed.run_id == first.run_id and result["step"] == 20 and result["status"] == "finished"
    weights = final_weights(first.run_folder)
    assert any(key.startswith("ema.autoencoder.") for key in weights)
    assert_identical(final_weights(straight.run_folder), weights)
    assert logged_steps(first.run_folder) == list(range(1, 21))  # every step once, none twice


def test_resume_latest_drops_log_lines_after_the_checkpoint(project):
    """A kill after step 12 leaves log lines 11-12 beyond the step-10 checkpoint: they are replaced."""
    job = TrainJob(
        project, "pics", "reference", preset="fast", overrides={**SETTINGS, "checkpoint_every": 10}, steps=20
    )
    with pytest.raises(Cancelled):
        job(stop_at(12))
    folder = job.run_folder
    for step in (11, 12):  # simulate the kill: remove the stop's own checkpoint at 12
        for path in (folder / "checkpoints").glob(f"step-{step:06d}.*"):
            path.unlink()
    assert max(logged_steps(folder)) == 12

    TrainJob(project, "pics", "reference", resume="latest", steps=20)(JobContext())
    steps = logged_steps(folder)
    assert steps == list(range(1, 21))


def test_checkpoint_files_load_safely_and_only_the_last_k_plus_best_stay(project):
    job = TrainJob(project, "pics", "reference", preset="fast", overrides={**SETTINGS, "keep_last": 2}, steps=25)
    result = job(JobContext())
    folder = job.run_folder / "checkpoints"
    saved = runs.checkpoints(job.run_folder)
    best = [c.step for c in saved if c.best]
    assert len(best) == 1
    assert {c.step for c in saved} == {20, 25} | set(best)
    assert result["best_checkpoint"].endswith(f"step-{best[0]:06d}.json")

    record = json.loads((folder / "step-000025.json").read_text())
    assert record["step"] == 25 and record["family"] == "reference" and record["dataset"] == "pics"
    assert record["config"]["steps"] == 25 and "val_loss" in record["metrics"]
    state = torch.load(folder / "step-000025.state.pt", weights_only=True)
    assert state["step"] == 25 and state["sampler"]["epoch"] >= 1
    assert set(state["rng"]) >= {"python", "numpy", "torch"}
    assert "exp_avg" in state["optimizers"]["autoencoder"]["state"][0]
    assert not list(folder.glob("*.tmp"))

    config = json.loads((job.run_folder / "config.json").read_text())
    assert config["run_id"] == job.run_id and config["family"] == "reference" and config["schema"] == 1
    assert config["config"]["keep_last"] == 2 and config["seed"] == 3
    line = runs.read_metrics(job.run_folder)[-1]
    assert {"step", "time_s", "epoch", "lr", "items_per_s", "loss", "val_loss"} <= line.keys()


def test_resume_from_an_earlier_checkpoint_redoes_the_rest_of_the_run(project):
    job = TrainJob(project, "pics", "reference", preset="fast", overrides={**SETTINGS, "keep_last": 10}, steps=15)
    job(JobContext())
    before = final_weights(job.run_folder)
    folder = job.run_folder / "checkpoints"

    again = TrainJob(project, "pics", "reference", resume=str(folder / "step-000005.json"))
    events = []
    ctx = stop_at(7)
    ctx._on_metrics, stop = (lambda v: events.append(v["event"]) if "event" in v else stop(v)), ctx._on_metrics
    with pytest.raises(Cancelled):
        again(ctx)
    assert again.run_id == job.run_id and "Resumed from step 5." in events
    assert complete_steps(folder) == [5, 7]  # the abandoned checkpoints 10 and 15 are gone
    assert logged_steps(job.run_folder) == list(range(1, 8))

    TrainJob(project, "pics", "reference", resume="latest")(JobContext())
    assert complete_steps(folder) == [5, 7, 10, 15]
    assert_identical(before, final_weights(job.run_folder))  # the same steps, done again, give the same weights
    assert logged_steps(job.run_folder) == list(range(1, 16))
