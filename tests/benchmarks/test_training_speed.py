"""Headless training speed of the reference recipe on this machine, and the share of each step spent
fetching the batch from the dataset cache (the data path must never be the bottleneck), with all CPU
threads and with one core left free (what the window does)."""

import time

import pytest

from studio.core.jobs import JobContext
from studio.core.training import TrainJob
from studio.core.training.devices import threads_beside_a_window
from studio.core.training.reference import ReferenceRecipe

from .benchmark_helpers import time_batch_loading

pytestmark = pytest.mark.benchmark
STEPS = 400


def _timed_run(root, monkeypatch, cpu_threads):
    spent = time_batch_loading(monkeypatch, ReferenceRecipe)
    job = TrainJob(
        root,
        "pics",
        "reference",
        preset="balanced",
        steps=STEPS,
        cpu_threads=cpu_threads,
        overrides={"log_every": 10, "eval_every": 100, "sample_every": 200, "checkpoint_every": 200},
    )
    job(JobContext())  # builds the cache the first time: not timed below
    job = TrainJob(
        root,
        "pics",
        "reference",
        preset="balanced",
        steps=STEPS,
        cpu_threads=cpu_threads,
        overrides={"log_every": 10, "eval_every": 100, "sample_every": 200, "checkpoint_every": 200},
    )
    spent["data"] = 0.0
    started = time.perf_counter()
    job(JobContext())
    seconds = time.perf_counter() - started
    return {
        "steps_per_s": round(STEPS / seconds, 1),
        "data_share": round(spent["data"] / seconds, 4),
        "batch_fetch_ms": round(spent["data"] / STEPS * 1000, 3),
    }


def test_reference_training_speed_and_data_share(picture_project, monkeypatch, record_benchmark):
    root = picture_project
    all_threads = _timed_run(root, monkeypatch, None)
    beside_window = _timed_run(root, monkeypatch, threads_beside_a_window())
    record_benchmark(
        "training_speed",
        {
            "recipe": "reference",
            "preset": "balanced",
            "steps": STEPS,
            "all_threads": all_threads,
            f"threads_{threads_beside_a_window()}": beside_window,
        },
    )
    assert all_threads["data_share"] < 0.1 and beside_window["data_share"] < 0.1
