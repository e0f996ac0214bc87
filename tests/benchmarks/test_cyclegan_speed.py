"""Style transfer (CycleGAN) speed on this machine: training steps per second and transferred pictures per second at
64 and 128 px, with the sizes the family's "balanced" preset uses on this device (the CPU preset's narrower network
on a CPU, the GPU preset's on a GPU), on a GPU when one is present.

Training is timed as the engine runs it (both phases, the optimizers, the data path), without evaluations, previews
or checkpoints; transfer is timed as the canvas and the CLI run it (:class:`TransferImages`: pictures of the trained
size, one tile each, then a 4 × larger picture in tiles), after a warm-up call. Weights are barely trained: speed
does not depend on what a model learned.

Opt-in (``--benchmark``); the amount of work comes from the environment so a quick check stays quick:
``AIGC_BENCH_CYCLEGAN_STEPS`` (timed training steps, default 20), ``AIGC_BENCH_CYCLEGAN_PICTURES`` (pictures
transferred, default 32) and ``AIGC_BENCH_CYCLEGAN_SIZES`` (default "64,128")."""

import os
import statistics
import time

import numpy as np
import pytest
import torch

from studio.core.jobs import JobContext, run_job
from studio.core.training import TrainJob, families, runs
from studio.core.training.devices import resolve_device
from studio.core.training.engine import Engine
from studio.core.training.image_cyclegan import CycleGanRecipe

from .benchmark_helpers import two_styles

pytestmark = pytest.mark.benchmark
STEPS = int(os.environ.get("AIGC_BENCH_CYCLEGAN_STEPS", "20"))
PICTURES = int(os.environ.get("AIGC_BENCH_CYCLEGAN_PICTURES", "32"))
SIZES = tuple(int(s) for s in os.environ.get("AIGC_BENCH_CYCLEGAN_SIZES", "64,128").split(","))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _train_speed(project, config: dict, device: torch.device) -> dict:
    """Seconds per engine step (median of STEPS timed steps after two warm-up steps)."""
    folder = project / "datasets" / "flat"
    recipe = CycleGanRecipe(config, CycleGanRecipe.open_data(folder, config), device)
    engine = Engine(recipe, {**config, "compile": False}, device, JobContext())
    for _ in range(2):
        engine.train_step()
    times = []
    for _ in range(STEPS):
        _sync(device)
        started = time.perf_counter()
        engine.train_step()
        _sync(device)
        times.append(time.perf_counter() - started)
    step_s = statistics.median(times)
    return {"train_steps_per_s": round(1 / step_s, 3), "train_pictures_per_s": round(config["batch_size"] / step_s, 2)}


def _transfer_speed(run_folder, resolution: int, device: str) -> dict:
    """Pictures per second through TransferImages: trained-size pictures, and one picture 4 × larger, tiled."""
    from studio.core.generation.transfer_jobs import TransferImages, clear_cache

    rng = np.random.default_rng(1)
    pictures = [rng.integers(0, 256, (resolution, resolution, 3), dtype=np.uint8) for _ in range(PICTURES)]
    large = rng.integers(0, 256, (4 * resolution, 4 * resolution, 3), dtype=np.uint8)
    clear_cache()
    run_job(TransferImages(run_folder, None, images=pictures[:2], device=device))  # load and warm up
    started = time.perf_counter()
    run_job(TransferImages(run_folder, None, images=pictures, device=device))
    plain_s = time.perf_counter() - started
    started = time.perf_counter()
    tiled = run_job(TransferImages(run_folder, None, images=[large], tile=True, device=device))
    tiled_s = time.perf_counter() - started
    clear_cache()
    return {
        "transfer_pictures_per_s": round(PICTURES / plain_s, 2),
        f"tiled_{4 * resolution}px_pictures_per_s": round(1 / tiled_s, 3),
        f"tiled_{4 * resolution}px_tiles": tiled["settings"][0]["tiles"],
    }


def test_cyclegan_training_and_transfer_speed(tmp_path, record_benchmark, monkeypatch):
    monkeypatch.setenv("AIGC_STUDIO_HOME", str(tmp_path / "home"))
    project = two_styles(tmp_path)
    info = resolve_device(None)
    device = torch.device(info.id)
    results = {}
    for resolution in SIZES:
        overrides = {"resolution": resolution, "dataset_b": "outline", "log_every": 1}
        overrides.update({"eval_every": 1000, "sample_every": 1000, "checkpoint_every": 2, "eval_count": 16})
        config = families.resolve_config("cyclegan", "balanced", overrides, info.kind)
        # a short real run first: it builds both caches and leaves a checkpoint to transfer with
        job = TrainJob(project, "flat", "cyclegan", preset="balanced", overrides=overrides, steps=2, device=info.id)
        job(JobContext())
        assert runs.checkpoints(job.run_folder)
        sizes = {key: config[key] for key in ("width", "n_blocks", "disc_width", "batch_size")}
        results[str(resolution)] = {
            **sizes,
            **_train_speed(project, config, device),
            **_transfer_speed(job.run_folder, resolution, info.id),
        }
    record_benchmark(
        "cyclegan_speed",
        {
            "device": info.name,
            "device_kind": info.kind,
            "torch_threads": torch.get_num_threads(),
            "preset": "balanced",
            "timed_steps": STEPS,
            "transferred_pictures": PICTURES,
            "load_average_1_5_15_min": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
            "sizes": results,
        },
    )
    assert all(r["train_steps_per_s"] > 0 and r["transfer_pictures_per_s"] > 0 for r in results.values())
