"""``aigc-studio train`` as a user (or a script) runs it: exit codes, the run id, a SIGKILL mid-run that the
next start detects, and ``--resume latest`` finishing the requested steps with a clean metrics log."""

import json
import signal
import subprocess
import time

import pytest
from training_helpers import STUDIO, logged_steps, train_args

from studio.core.training import runs
from studio.core.training.checkpoints import complete_steps

FAST_SETS = [
    "--set",
    "batch_size=8",
    "--set",
    "width=4",
    "--set",
    "latent_channels=4",
    "--set",
    "log_every=1",
    "--set",
    "eval_every=10",
    "--set",
    "sample_every=50",
]


def studio(*args, timeout=60):
    return subprocess.run([*STUDIO, *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_train_prints_the_run_id_and_refuses_unusable_arguments_with_exit_2(project):
    done = studio(
        *train_args(project),
        "--preset",
        "fast",
        "--steps",
        "12",
        "--checkpoint-every",
        "6",
        *FAST_SETS,
    )
    assert done.returncode == 0, done.stderr
    run_id, result = done.stdout.splitlines()
    assert json.loads(result)["run_id"] == run_id and json.loads(result)["step"] == 12
    folder = project / "runs" / run_id
    assert logged_steps(folder) == list(range(1, 13)) and complete_steps(folder / "checkpoints") == [6, 12]
    assert "Step 12 of 12" in done.stderr  # the progress line
    assert run_id in json.loads((project / "project.json").read_text())["runs"]

    base = train_args(project)
    for extra, message in (
        (["--set", "lr=fast"], "lr must be a number"),
        (["--set", "nosuch=1"], "“nosuch” is not a setting of reference"),
        (["--set", "lr"], "--set takes key=value"),
        (["--steps", "0"], "--steps must be at least 1"),
        (["--preset", "huge"], "There is no preset “huge”"),
        (["--resume", "no-such-run"], "There is no run “no-such-run”"),
    ):
        refused = studio(*base, *extra)
        assert refused.returncode == 2 and message in refused.stderr, (extra, refused.stderr)
        assert refused.stdout == ""
    wrong = studio("train", "--project", str(project), "--dataset", "nope", "--model", "nope")
    assert wrong.returncode == 2 and wrong.stderr.strip()


@pytest.mark.slow
def test_a_killed_run_is_detected_and_resume_latest_finishes_it(project):
    command = [
        *STUDIO,
        *train_args(project),
        "--preset",
        "fast",
        "--steps",
        "100000",
        "--checkpoint-every",
        "20",
        *FAST_SETS,
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        run_id = process.stdout.readline().strip()
        folder = project / "runs" / run_id
        deadline = time.monotonic() + 60
        while len(complete_steps(folder / "checkpoints")) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=30)  # reaped: its pid is really gone
        process.stdout.close()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    last = complete_steps(folder / "checkpoints")[-1]
    assert last >= 40

    interrupted = runs.interrupted_runs(project)
    assert [run.run_id for run in interrupted] == [run_id]
    assert runs.read_status(folder)["state"] == "running"  # what the dead process left behind

    target = last + 15
    resumed = studio(
        *train_args(project),
        "--resume",
        "latest",
        "--steps",
        str(target),
    )
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.splitlines()[0] == run_id
    assert f"Resumed from step {last:,}." in resumed.stderr  # said in plain words, not only done
    assert json.loads(resumed.stdout.splitlines()[1])["step"] == target
    steps = logged_steps(folder)
    assert steps == list(range(1, target + 1))  # lines past the checkpoint were dropped, none duplicated
    assert runs.read_status(folder)["state"] == "finished" and runs.interrupted_runs(project) == []


def test_estimate_prints_one_json_line_and_a_repeat_reads_the_cache(project, studio_home):
    args = ("estimate", "--project", str(project), "--dataset", "pics", "--model", "reference", "--preset", "fast")
    env_args = (*args, "--set", "width=4", "--set", "batch_size=8", "--device", "cpu")
    first = studio(*env_args, timeout=120)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.strip().splitlines()
    assert len(lines) == 1
    estimate = json.loads(lines[0])
    assert {"seconds", "memory_bytes", "steps"} <= set(estimate)
    assert estimate["seconds"] > 0 and estimate["memory_bytes"] > 0 and estimate["steps"] == estimate["config"]["steps"]
    assert estimate["seconds"] <= 5 * 60  # the Fast preset's cap
    again = studio(*env_args, "--set", "steps=50", timeout=120)
    assert json.loads(again.stdout)["step_seconds"] == estimate["step_seconds"]  # measured once, then arithmetic
    assert json.loads(again.stdout)["steps"] == 50


def test_estimate_and_train_pick_the_model_that_suits_the_dataset(project):
    done = studio(
        "estimate",
        "--project",
        str(project),
        "--dataset",
        "pics",
        "--preset",
        "fast",
        "--set",
        "steps=5",
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert "No --model given: lightweight_gan" in done.stderr  # 24 pictures: the GAN for small sets
    config = json.loads(done.stdout)["config"]
    assert config["resolution"] == 32  # the noise pictures are 40 px: a 64 px GAN would blow them up
    assert config["conditional"] is True  # two class folders


def test_a_budget_cannot_resume_and_must_be_positive(project):
    base = train_args(project)
    done = studio(*base, "--budget-minutes", "0")
    assert done.returncode == 2 and "budget" in done.stderr
    done = studio(*base, "--budget-minutes", "5", "--resume", "latest")
    assert done.returncode == 2 and "budget" in done.stderr
