"""Headless training speed of the reference recipe on this machine, and the share of each step spent
fetching the batch from the dataset cache (the data path must never be the bottleneck), with all CPU
threads and with one core left free (what the window does)."""

import time

import numpy as np
import pytest
from PIL import Image

from studio.core.jobs import JobContext, run_job
from studio.core.training import TrainJob
from studio.core.training.devices import threads_beside_a_window
from studio.core.training.reference import ReferenceRecipe

pytestmark = pytest.mark.benchmark
STEPS = 400


def _project(tmp_path):
    from studio.core.datasets.importer import ImportDataset

    source = tmp_path / "drop"
    rng = np.random.default_rng(0)
    for label in ("cat", "dog"):
        (source / label).mkdir(parents=True)
        for i in range(64):
            Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(source / label / f"{i}.png")
    root = tmp_path / "Bench"
    run_job(ImportDataset(root, "pics", [source], kind="image", workers=1))
    return root


def _timed_run(root, monkeypatch, cpu_threads):
    spent = {"data": 0.0}
    real = ReferenceRecipe.load_batch

    def timed(self, positions):
        started = time.perf_counter()
        try:
            return real(self, positions)
        finally:
            spent["data"] += time.perf_counter() - started

    monkeypatch.setattr(ReferenceRecipe, "load_batch", timed)
    job = TrainJob(root, "pics", "reference", preset="balanced", steps=STEPS, cpu_threads=cpu_threads,
                   overrides={"log_every": 10, "eval_every": 100, "sample_every": 200, "checkpoint_every": 200})
    job(JobContext())  # builds the cache the first time: not timed below
    job = TrainJob(root, "pics", "reference", preset="balanced", steps=STEPS, cpu_threads=cpu_threads,
                   overrides={"log_every": 10, "eval_every": 100, "sample_every": 200, "checkpoint_every": 200})
    spent["data"] = 0.0
    started = time.perf_counter()
    job(JobContext())
    seconds = time.perf_counter() - started
    return {"steps_per_s": round(STEPS / seconds, 1), "data_share": round(spent["data"] / seconds, 4),
            "batch_fetch_ms": round(spent["data"] / STEPS * 1000, 3)}


def test_reference_training_speed_and_data_share(tmp_path, monkeypatch, record_benchmark):
    root = _project(tmp_path)
    all_threads = _timed_run(root, monkeypatch, None)
    beside_window = _timed_run(root, monkeypatch, threads_beside_a_window())
    record_benchmark("training_speed", {"recipe": "reference", "preset": "balanced", "steps": STEPS,
                                        "all_threads": all_threads,
                                        f"threads_{threads_beside_a_window()}": beside_window})
    assert all_threads["data_share"] < 0.1 and beside_window["data_share"] < 0.1
