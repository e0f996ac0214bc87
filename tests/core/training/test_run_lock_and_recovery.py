"""One process trains a run at a time, a resume stays inside its project, and a damaged newest checkpoint is
stepped over in plain words.

- two ``train --resume RUN`` started together: one trains, the other exits 2 naming the first (pid, host) and
  how to stop it; metrics.jsonl has every step once;
- a run lock left by a killed process is taken over (and said so);
- ``--resume`` with a checkpoint of another project, a run id with "..", or a run folder symlinked out of the
  project is refused, and the other project is not touched;
- a damaged newest checkpoint (cut short, garbage, unreadable record, a pickle payload, weights of another
  shape) makes the resume go back to the previous one, naming the damaged file; a pickle payload is "contains
  code", never PyTorch's weights_only advice.
"""

import io
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from safetensors.torch import save_file
from training_helpers import FAST, STUDIO, logged_steps, train_args

from studio.core.jobs import JobContext, JobError
from studio.core.training import TrainJob, runs
from studio.core.training.checkpoints import complete_steps
from studio.core.training.families import ConfigError

SETTINGS = {**FAST, "seed": 5, "keep_last": 10, "eval_every": 100, "sample_every": 1000}
CLI_SETS = ["--set", "log_every=1", "--set", "checkpoint_every=20"]


def _trained(project, steps: int = 15) -> TrainJob:
    job = TrainJob(project, "pics", "reference", preset="fast", overrides=SETTINGS, steps=steps)
    job(JobContext())
    return job


def _events() -> tuple[JobContext, list[str]]:
    events: list[str] = []
    return JobContext(on_metrics=lambda v: events.append(str(v["event"])) if "event" in v else None), events


def _cli(*args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "studio", "train", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# -- one trainer per run --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_two_resumes_of_one_run_at_once_one_trains_the_other_refuses(project):
    job = _trained(project, steps=10)
    resume = [
        "--project",
        str(project),
        "--dataset",
        "pics",
        "--model",
        "reference",
        "--resume",
        job.run_id,
        "--steps",
        "100000",
        *CLI_SETS,
    ]
    first, second = _cli(*resume), _cli(*resume)  # started together, as two terminals a second apart
    try:
        _wait_for(lambda: first.poll() is not None or second.poll() is not None, timeout=120)
        refused, winner = (first, second) if first.poll() is not None else (second, first)
        out, err = refused.communicate(timeout=30)
        assert refused.returncode == 2 and out == "", err
        host = socket.gethostname()
        assert (
            f"The run {job.run_id} is being trained right now by process {winner.pid} on {host} "
            "(aigc-studio train" in err
        )
        assert f"kill {winner.pid}" in err and "press Stop in the studio's Training panel" in err
        assert len(err.strip().splitlines()) == 1  # one sentence, no traceback
        assert winner.poll() is None  # the first one goes on training
        _wait_for(lambda: max(logged_steps(job.run_folder)) >= 60, timeout=120)
        winner.send_signal(signal.SIGINT)  # Ctrl+C: a checkpoint is saved and the run stops
        winner.communicate(timeout=60)
        assert winner.returncode == 130
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.kill()
                process.communicate()
    steps = logged_steps(job.run_folder)
    assert steps == list(range(1, max(steps) + 1))  # every step once: nothing written twice
    assert not (job.run_folder / runs.RUN_LOCK).with_name(".run.lock.json").exists()  # let go at the end


def test_a_run_in_use_is_refused_by_the_job_and_by_the_cli_at_once(project):
    """What the Training panel meets (the job fails with the sentence) and the CLI (exit 2, before torch)."""
    job = _trained(project, steps=5)
    lock = runs.run_lock(job.run_folder).acquire()  # "another process": the owner record names this one
    try:
        with pytest.raises(ConfigError, match=f"is being trained right now by process {os.getpid()} on "):
            TrainJob(project, "pics", "reference", resume=job.run_id, steps=10)(JobContext())
        done = subprocess.run(
            [
                *STUDIO,
                *train_args(project),
                "--resume",
                "latest",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2 and f"by process {os.getpid()} on {socket.gethostname()}" in done.stderr
        assert done.stdout == ""
    finally:
        lock.release()
    assert logged_steps(job.run_folder) == list(range(1, 6))  # the refused attempts wrote nothing


def test_a_run_lock_left_by_a_killed_process_is_taken_over(project):
    job = _trained(project, steps=5)
    code = textwrap.dedent(f"""
        import time
        from studio.core.training import runs
        lock = runs.run_lock({str(job.run_folder)!r}).acquire()
        print("locked", flush=True)
        time.sleep(120)
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "locked"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    child.stdout.close()

    ctx, events = _events()
    result = TrainJob(project, "pics", "reference", resume=job.run_id, steps=8)(ctx)
    assert result["step"] == 8
    assert (
        f"The run was left locked by process {child.pid} on {socket.gethostname()}, which has ended; this "
        "process took it over." in events
    )
    assert logged_steps(job.run_folder) == list(range(1, 9))


def test_a_project_open_read_only_in_this_process_is_not_trained(project):
    from studio.core.project import set_read_only

    set_read_only(project, True)
    try:
        with pytest.raises(ConfigError, match="open read-only in this window"):
            TrainJob(project, "pics", "reference", preset="fast", steps=3)(JobContext())
    finally:
        set_read_only(project, False)
    assert not (project / "runs").exists() or list((project / "runs").iterdir()) == []


# -- resumes stay inside the project ----------------------------------------------------------------------------------
def test_resume_refuses_checkpoints_and_runs_outside_the_project(project, tmp_path):
    import shutil

    other = tmp_path / "Other"
    shutil.copytree(project, other)
    theirs = _trained(other, steps=10)
    before = (logged_steps(theirs.run_folder), complete_steps(theirs.run_folder / "checkpoints"))
    record = theirs.run_folder / "checkpoints" / "step-000005.json"

    done = subprocess.run(
        [
            *STUDIO,
            *train_args(project),
            "--resume",
            str(record),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert (
        f"{record} is not inside this project's runs folder ({project / 'runs'}), so it was not resumed" in done.stderr
    )
    (project / "runs" / "elsewhere").symlink_to(theirs.run_folder, target_is_directory=True)
    for value, message in (
        (f"../../Other/runs/{theirs.run_id}", "is not a run id"),
        ("elsewhere", "is not inside this project's runs folder"),
        ("runs/elsewhere/checkpoints/step-000005.json", "is not inside this project's runs"),
        (str(project / "runs"), "is not a run id"),
    ):
        with pytest.raises(ConfigError, match=message):
            TrainJob(project, "pics", "reference", resume=value).validate()
    assert (logged_steps(theirs.run_folder), complete_steps(theirs.run_folder / "checkpoints")) == before


def test_a_checkpoint_path_inside_the_project_is_still_accepted(project):
    job = _trained(project, steps=10)
    relative = f"runs/{job.run_id}/checkpoints/step-000005.json"  # relative to the project
    folder, record = TrainJob(project, "pics", "reference", resume=relative).resume_point()
    assert folder == job.run_folder and record == job.run_folder / "checkpoints" / "step-000005.json"


# -- damaged checkpoints ----------------------------------------------------------------------------------------------
class _Payload:
    """What a planted .state.pt carries: unpickling it would run a shell command (it never does here)."""

    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _cut(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _pickle_payload(path, marker) -> None:
    buffer = io.BytesIO()
    torch.save(
        {"step": 15, "optimizers": {}, "schedule": {}, "sampler": {}, "rng": {}, "engine": _Payload(marker)}, buffer
    )
    path.write_bytes(buffer.getvalue())


def _huge_header(path) -> None:
    """A header length of 5 MiB in a file long enough to hold it (sparse): refused before it is read."""
    with open(path, "wb") as handle:
        handle.write((5 << 20).to_bytes(8, "little"))
        handle.truncate(8 + (5 << 20) + 16)


def _other_shapes(path) -> None:
    save_file({"autoencoder.nothing": torch.zeros(3, 3)}, str(path))


DAMAGE = {
    "weights cut short": (".safetensors", _cut, "is cut short or is not a weights file"),
    "weights of garbage": (
        ".safetensors",
        lambda p: p.write_bytes(b"\xff" * 8 + os.urandom(4000)),
        "is cut short or is not a weights file",
    ),
    "weights header over the cap": (
        ".safetensors",
        _huge_header,
        "was not read: its safetensors header is 5,242,880 bytes, over the limit of "
        "4,194,304 (the studio's largest checkpoints have headers under 100 KB)",
    ),
    "weights of another model": (".safetensors", _other_shapes, "does not fit this run's model"),
    "state cut short": (".state.pt", _cut, "is cut short or is not a training-state file"),
    "state of garbage": (
        ".state.pt",
        # 0xFF is no pickle opcode: without it, random bytes now and then read as a pickle that names a Python
        # callable before failing, and the (also right) "contains code" message came instead (seen once in CI)
        lambda p: p.write_bytes(b"\xff" * 8 + os.urandom(3000)),
        "is cut short or is not a training-state file",
    ),
    "record not json": (
        ".json",
        lambda p: p.write_text('{"step": 15, '),
        "cannot be read: it is cut short or not a checkpoint record",
    ),
}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_a_damaged_newest_checkpoint_is_stepped_over_in_plain_words(project, kind):
    suffix, damage, reason = DAMAGE[kind]
    job = _trained(project, steps=15)
    damaged = job.run_folder / "checkpoints" / f"step-000015{suffix}"
    damage(damaged)

    ctx, events = _events()
    result = TrainJob(project, "pics", "reference", resume=job.run_id, steps=20)(ctx)
    assert result["step"] == 20
    assert f"The checkpoint at step 15 is damaged ({damaged.name} {reason}); resumed from step 10." in events
    assert "Resumed from step 10." in events
    assert logged_steps(job.run_folder) == list(range(1, 21))  # steps 11-15 redone once, none twice
    assert complete_steps(job.run_folder / "checkpoints") == [5, 10, 15, 20]  # 15 written again, intact


def test_a_pickle_payload_in_the_state_file_is_refused_as_code_and_never_run(project, tmp_path):
    job = _trained(project, steps=15)
    marker = tmp_path / "payload-ran"
    state = job.run_folder / "checkpoints" / "step-000015.state.pt"
    _pickle_payload(state, marker)

    done = subprocess.run(
        [
            *STUDIO,
            *train_args(project),
            "--resume",
            job.run_id,
            "--steps",
            "20",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (
        "The checkpoint at step 15 is damaged (step-000015.state.pt contains code (it refers to Python "
        "functions or classes), so it was not opened); resumed from step 10."
    ) in done.stderr
    assert "weights_only" not in done.stderr and "Re-running" not in done.stderr
    assert not marker.exists()
    assert logged_steps(job.run_folder) == list(range(1, 21))

    # the same file asked for by its path: refused, no fallback, no torch text
    _pickle_payload(state := job.run_folder / "checkpoints" / "step-000020.state.pt", marker)
    with pytest.raises(JobError) as refused:
        TrainJob(project, "pics", "reference", resume=str(state.with_suffix("").with_suffix(".json")))(JobContext())
    message = str(refused.value)
    assert message.startswith("The checkpoint at step 20 is damaged (step-000020.state.pt contains code")
    assert "choose an earlier checkpoint" in message and "weights_only" not in message
    assert not marker.exists()


def test_a_run_whose_every_checkpoint_is_damaged_says_so(project):
    job = _trained(project, steps=10)
    for path in (job.run_folder / "checkpoints").glob("*.safetensors"):
        _cut(path)
    with pytest.raises(
        JobError,
        match=f"Every checkpoint of the run {job.run_id} is damaged \\(the newest: "
        "step-000010.safetensors is cut short",
    ):
        TrainJob(project, "pics", "reference", resume=job.run_id, steps=20)(JobContext())


def test_resuming_a_received_run_whose_sizes_are_absurd_is_refused_before_anything_is_built(project):
    """A run folder someone sent, whose config.json says n_layer 2000: refused by validate (the CLI's exit 2),
    not built into a network that exhausts memory."""
    import json

    job = _trained(project, steps=5)
    record_path = job.run_folder / "config.json"
    record = json.loads(record_path.read_text(encoding="utf-8"))
    record["family"] = "gpt"
    record["config"] = {**record["config"], "n_layer": 2000, "n_embd": 512}
    record_path.write_text(json.dumps(record), encoding="utf-8")
    resume = TrainJob(project, "pics", "reference", resume=job.run_id)
    with pytest.raises(ConfigError, match="n_layer"):
        resume.validate()
    record_path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="damaged"):
        resume.validate()
