"""What a user meets when training goes wrong: a NaN loss rolls back and retries with a lower learning rate
(then gives up in plain words), running out of GPU memory halves the micro-batch without changing the
effective batch, and a full disk stops the run with the previous checkpoint intact."""

import errno

import pytest
import torch
from training_helpers import FAST, assert_identical, final_weights, logged_steps

from studio.core.jobs import JobContext, JobError
from studio.core.training import TrainJob, checkpoints, runs
from studio.core.training.callbacks import DiskFull
from studio.core.training.checkpoints import complete_steps
from studio.core.training.schedule import lr_factor


def collecting_context():
    events = []
    ctx = JobContext(on_metrics=lambda values: events.append(values["event"]) if "event" in values else None)
    return ctx, events


def test_a_nan_loss_rolls_back_lowers_the_learning_rate_and_the_run_completes(project, poisoned):
    poisoned.nan_calls = {7}  # one loss call per step: step 7's loss is NaN, once
    ctx, events = collecting_context()
    job = TrainJob(project, "pics", "poisoned", preset="fast", overrides=FAST, steps=20)
    result = job(ctx)

    assert result["step"] == 20 and result["status"] == "finished"
    assert (
        "The loss became NaN at step 7; the studio went back to step 5 and lowered the learning rate to "
        "0.001 (retry 1 of 3)."
    ) in events
    assert logged_steps(job.run_folder) == list(range(1, 21))  # steps 6-7 were logged again, not twice
    lines = {line["step"]: line for line in runs.read_metrics(job.run_folder)}
    assert lines[8]["lr"] == pytest.approx(2e-3 * 0.5 * lr_factor(7, 20, 3, 0.1), rel=1e-12)
    state = torch.load(job.run_folder / "checkpoints" / "step-000020.state.pt", weights_only=True)
    assert state["schedule"]["scale"] == 0.5 and state["engine"]["nan_retries"] == 1
    assert all(torch.isfinite(w).all() for w in final_weights(job.run_folder).values())


def test_a_loss_that_stays_nan_stops_the_run_with_an_explanation(project, poisoned):
    poisoned.nan_from = 3  # from the third loss call on, every loss is NaN
    ctx, events = collecting_context()
    job = TrainJob(project, "pics", "poisoned", preset="fast", overrides=FAST, steps=20)
    with pytest.raises(JobError, match="NaN at step 1 again after 3 retries with lower learning rates"):
        job(ctx)
    assert [e for e in events if "NaN" in e] == [
        "The loss became NaN at step 3; the studio went back to step 0 and lowered the learning rate to 0.001 "
        "(retry 1 of 3).",
        "The loss became NaN at step 1; the studio went back to step 0 and lowered the learning rate to 0.0005 "
        "(retry 2 of 3).",
        "The loss became NaN at step 1; the studio went back to step 0 and lowered the learning rate to 0.00025 "
        "(retry 3 of 3).",
    ]
    status = runs.read_status(job.run_folder)
    assert status["state"] == "failed" and "lower learning rate" in status["message"]


def test_out_of_memory_halves_the_micro_batch_and_keeps_the_effective_batch(project, poisoned):
    poisoned.oom_above = 4  # a "GPU" that holds 4 pictures at a time, not 8
    ctx, events = collecting_context()
    job = TrainJob(project, "pics", "poisoned", preset="fast", overrides=FAST, steps=12)
    assert job(ctx)["step"] == 12
    assert events[0] == (
        "The GPU ran out of memory at step 1; the studio now processes 4 items at a time in 2 "
        "parts, so each step still learns from 8 items."
    )
    state = torch.load(job.run_folder / "checkpoints" / "step-000012.state.pt", weights_only=True)
    assert state["engine"]["micro_batch"] == 4

    planned = TrainJob(project, "pics", "reference", preset="fast", overrides={**FAST, "micro_batch": 4}, steps=12)
    planned(JobContext())
    assert_identical(final_weights(planned.run_folder), final_weights(job.run_folder))


def test_out_of_memory_in_a_later_phase_does_not_repeat_the_phases_already_done(project, poisoned):
    poisoned.two_phases, poisoned.oom_above = True, 4  # the first phase fits; the second runs out of memory
    job = TrainJob(project, "pics", "poisoned", preset="fast", overrides=FAST, steps=6)
    assert job(JobContext())["step"] == 6
    assert poisoned.first_phase_items == 6 * 8  # each step's first phase learned from its 8 items once
    adam_steps = {int(state["step"]) for state in job.engine.optimizers["autoencoder"].state.values()}
    assert adam_steps == {2 * 6}  # two optimizer steps per training step, none repeated


def test_a_full_disk_stops_cleanly_and_keeps_the_previous_checkpoint(project, monkeypatch):
    real_write = checkpoints.atomic_write_with

    def full_disk_at_step_10(path, write, durable=True):
        if "step-000010" in str(path) and str(path).endswith(".state.pt"):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_write(path, write, durable)

    monkeypatch.setattr(checkpoints, "atomic_write_with", full_disk_at_step_10)
    job = TrainJob(project, "pics", "reference", preset="fast", overrides=FAST, steps=20)
    with pytest.raises(DiskFull, match=r"disk is full.*step 10 could not be saved.*step 5 is intact"):
        job(JobContext())

    folder = job.run_folder / "checkpoints"
    assert complete_steps(folder) == [5]
    assert not list(folder.glob("step-000010*")) and not list(folder.glob(".*.tmp"))
    snap = checkpoints.read(folder / "step-000005.json")
    assert snap.step == 5 and snap.state["step"] == 5
    status = runs.read_status(job.run_folder)
    assert status["state"] == "stopped" and "disk" in status["message"]
    assert max(logged_steps(job.run_folder)) == 10

    monkeypatch.setattr(checkpoints, "atomic_write_with", real_write)  # space freed: the run resumes
    assert TrainJob(project, "pics", "reference", resume=job.run_id)(JobContext())["step"] == 20
