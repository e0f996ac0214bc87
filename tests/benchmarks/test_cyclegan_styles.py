"""Style transfer (CycleGAN) as a designer would judge it: train on two styles the code draws (filled orange shapes on
cream → outlined cyan shapes on navy) for a wall-clock budget, then transfer held-out pictures both ways.

Writes ``benchmark-results/cyclegan_styles.json`` (the run's size and steps, the colour-histogram distance of the
transferred pictures to each style, the A→B→A reconstruction error against a random pairing) and
``cyclegan_styles.png``: rows A, A→B, B, B→A (the README's picture).

Opt-in (``--benchmark``). Budget: ``AIGC_BENCH_MINUTES`` (default 10), threads ``AIGC_BENCH_THREADS`` (default 2),
resolution ``AIGC_BENCH_RESOLUTION`` (default 64)."""

import os
import time

import numpy as np
import pytest
import torch
from PIL import Image

from studio.core.jobs import JobContext, run_job
from studio.core.training import TrainJob, runs

from .benchmark_helpers import two_styles
from .conftest import RESULTS

pytestmark = [pytest.mark.benchmark, pytest.mark.timeout(3 * 3600)]
SHOWN = 8  # pictures per row of the PNG
BINS = 8  # per channel, for the colour histograms


def _minutes() -> float:
    return float(os.environ.get("AIGC_BENCH_MINUTES", "10"))


def _histogram(pixels: np.ndarray) -> np.ndarray:
    """The joint RGB histogram of uint8 pictures (N, H, W, 3), normalised to 1."""
    codes = (pixels // (256 // BINS)).reshape(-1, 3).astype(np.int64)
    counts = np.bincount(codes[:, 0] * BINS * BINS + codes[:, 1] * BINS + codes[:, 2], minlength=BINS**3)
    return counts / counts.sum()


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    """Total variation between two pictures sets' colour histograms: 0 same colours, 1 none shared."""
    return round(0.5 * float(np.abs(_histogram(a) - _histogram(b)).sum()), 4)


def _held_out(project, style: str, count: int) -> list:
    """The last ``count`` pictures of a style's dataset folder, as the user dropped them (not the cache)."""
    files = sorted((project.parent / "drop" / style).glob("*.png"), key=lambda p: int(p.stem))[-count:]
    return [np.asarray(Image.open(f).convert("RGB")) for f in files]


def _transfer(run_folder, direction: str, pictures: list) -> np.ndarray:
    from studio.core.generation.transfer_jobs import TransferImages

    return np.stack(run_job(TransferImages(run_folder, direction=direction, images=pictures))["images"])


def _resized(pictures, side: int) -> np.ndarray:
    return np.stack([np.asarray(Image.fromarray(p).resize((side, side), Image.Resampling.LANCZOS)) for p in pictures])


def test_cyclegan_styles(tmp_path, record_benchmark, monkeypatch):
    monkeypatch.setenv("AIGC_STUDIO_HOME", str(tmp_path / "home"))
    torch.set_num_threads(int(os.environ.get("AIGC_BENCH_THREADS", "2")))
    resolution = int(os.environ.get("AIGC_BENCH_RESOLUTION", "64"))
    project = two_styles(tmp_path, count=120, size=resolution * 2, seed=1)
    job = TrainJob(
        project,
        "flat",
        "cyclegan",
        preset=None,
        overrides={"resolution": resolution, "dataset_b": "outline"},
        budget_minutes=_minutes(),
    )
    started = time.perf_counter()
    result = job(JobContext())
    wall = time.perf_counter() - started
    config = runs.read_config(job.run_folder)["config"]

    a, b = _held_out(project, "flat", SHOWN), _held_out(project, "outline", SHOWN)
    a2b, b2a = _transfer(job.run_folder, "a2b", a), _transfer(job.run_folder, "b2a", b)
    back = _transfer(job.run_folder, "b2a", list(a2b))
    a_small, b_small = _resized(a, a2b.shape[1]), _resized(b, b2a.shape[1])
    shuffled = np.roll(a_small, 1, axis=0)  # each picture against another picture of style A: chance
    values = {
        "minutes": _minutes(),
        "wall_s": round(wall, 1),
        "steps": result["step"],
        "size": {k: config[k] for k in ("resolution", "width", "n_blocks", "batch_size")},
        "style_distance": {
            "a_to_b_output_vs_b": _distance(a2b, b_small),
            "a_to_b_output_vs_a": _distance(a2b, a_small),
            "b_to_a_output_vs_a": _distance(b2a, a_small),
            "b_to_a_output_vs_b": _distance(b2a, b_small),
        },
        "a_b_a_error": {
            "reconstruction": round(float(np.abs(back.astype(float) - a_small).mean()), 2),
            "random_pairing": round(float(np.abs(shuffled.astype(float) - a_small).mean()), 2),
        },
        "threads": torch.get_num_threads(),
    }
    rows = [a_small, a2b, b_small, b2a]
    side = a2b.shape[1]
    sheet = Image.new("RGB", (SHOWN * (side + 4) + 4, len(rows) * (side + 4) + 4), (255, 255, 255))
    for r, row in enumerate(rows):
        for c, picture in enumerate(row):
            sheet.paste(Image.fromarray(picture), (4 + c * (side + 4), 4 + r * (side + 4)))
    RESULTS.mkdir(exist_ok=True)
    sheet.save(RESULTS / "cyclegan_styles.png")
    values["png"] = str(RESULTS / "cyclegan_styles.png")
    record_benchmark("cyclegan_styles", values)
    distance = values["style_distance"]
    assert distance["a_to_b_output_vs_b"] < distance["a_to_b_output_vs_a"]
