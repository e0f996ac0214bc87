"""``sparse_vae``: the sparse VAE against the plain VAE on the same pictures with the same settings and steps, on
this CPU: reconstruction error, the average number of active latent numbers per picture, and for the sparse VAE's
8 most-used numbers how much each changes the picture.

Data: 480 generated shapes (studio/core/demo.py's ``draw_shapes``: circles, squares and triangles of six colours on
four backgrounds), trained without classes so the latent must carry the shape too, at 32 px, 64 latent numbers,
width 16, batch 32: the two runs differ only in the family (and its beta: 1 for the plain VAE, 2 for the sparse).

Measured afterwards, the same way for both, on the newest checkpoint loaded through the family table:

* reconstruction error: mean squared error per value in [-1, 1] (the training reports' ``val_recon``) and PSNR,
  on the validation pictures and on all of them, each picture rebuilt from its deterministic code;
* active numbers per picture: ``|code| > 0.1`` on that code (studio/core/nets/sparse_vae.py says why the one rule
  is fair to both models);
* the top 8 numbers: studio/core/generation/attributes.py's ``AttributeDims`` (usage, slider range, and the mean
  pixel change as a share of the full range when a number moves across its range), for both models.

A PNG beside the JSON shows originals, plain and sparse rebuilds, and the sparse VAE's 8 strips.

Steps: ``AIGC_BENCH_STEPS`` per model (default 3000, about a minute each on 2 cores); threads:
``AIGC_BENCH_THREADS`` (default 2). Run with ``pytest tests/benchmarks/test_sparse_vae.py --benchmark -s``.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.benchmark, pytest.mark.timeout(2 * 3600)]

FAMILIES = ("vae", "sparse_vae")  # the baseline first
RESOLUTION = 32
SETTINGS = {
    "resolution": RESOLUTION,
    "conditional": False,
    "z_dim": 64,
    "width": 16,
    "batch_size": 32,
    "eval_every": 500,
    "sample_every": 100_000,
    "checkpoint_every": 100_000,
    "eval_count": 128,
}
TOP = 8
STRIP = 7
SEED = 0


def _steps() -> int:
    return int(os.environ.get("AIGC_BENCH_STEPS", "3000"))


def _threads() -> int:
    return int(os.environ.get("AIGC_BENCH_THREADS", "2"))


def _project(tmp_path: Path) -> Path:
    from studio.core.datasets.image_cache import BuildImageCache
    from studio.core.datasets.importer import ImportDataset
    from studio.core.demo import draw_shapes
    from studio.core.jobs import JobContext, run_job

    draw_shapes(tmp_path / "shapes", random.Random(SEED), JobContext(), per_class=160)
    root = tmp_path / "Bench"
    run_job(ImportDataset(root, "shapes", [tmp_path / "shapes"], kind="image", workers=1))
    run_job(BuildImageCache(root / "datasets" / "shapes", resolution=RESOLUTION, workers=1))
    return root


def _train(root: Path, family: str) -> tuple[Path, dict]:
    from studio.core.jobs import JobContext
    from studio.core.training import TrainJob, families

    steps = _steps()
    warmup = min(int(families.default_config(family)["kl_warmup_steps"]), steps // 3)
    overrides = {**SETTINGS, "kl_warmup_steps": warmup, "eval_every": min(SETTINGS["eval_every"], steps)}
    job = TrainJob(root, "shapes", family, preset=None, overrides=overrides, steps=steps, cpu_threads=_threads())
    started = time.perf_counter()
    result = job(JobContext())
    assert job.run_folder is not None
    return job.run_folder, {"steps": result["step"], "wall_s": round(time.perf_counter() - started, 1)}


def _measure(folder: Path, images, val_rows: np.ndarray) -> dict:
    """Reconstruction error and active numbers of a run's newest checkpoint (the network the canvas loads)."""
    import torch

    from studio.core.generation.image_model import load_image_model
    from studio.core.nets.sparse_vae import active_mask

    model = load_image_model(folder)
    with torch.no_grad():
        code, _ = model.network.encode(images)  # the sparse VAE: the spike-gated mean; the VAE: its mean
        rebuilt = model.network.decode(code).float()
    errors = (rebuilt - images).pow(2).flatten(1).mean(1)  # per picture, per value in [-1, 1]
    active = active_mask(code).sum(1).float()

    def psnr(mse: float) -> float:  # the range is 2 (from -1 to 1)
        return round(float(10 * np.log10(4.0 / mse)), 2)

    val = float(errors[val_rows].mean()) if len(val_rows) else float("nan")
    return {
        "recon_mse_val": round(val, 5),
        "recon_mse_all": round(float(errors.mean()), 5),
        "psnr_val_db": psnr(val) if len(val_rows) else None,
        "psnr_all_db": psnr(float(errors.mean())),
        "active_dims_mean": round(float(active.mean()), 2),
        "active_dims_median": float(active.median()),
        "z_dim": model.z_dim,
        "step": model.step,
    }, rebuilt


def _to_uint8(images) -> np.ndarray:
    return ((images.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


def _picture(rows: list[np.ndarray], path: Path) -> None:
    """Rows of uint8 (n, R, R, 3) pictures as one PNG, scaled 2x."""
    from PIL import Image

    width = max(len(row) for row in rows)
    r = rows[0].shape[1]
    canvas = np.full((len(rows) * r, width * r, 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, tile in enumerate(row):
            canvas[i * r : (i + 1) * r, j * r : (j + 1) * r] = tile
    image = Image.fromarray(canvas)
    image.resize((image.width * 2, image.height * 2), Image.Resampling.NEAREST).save(path)


def test_sparse_vae(tmp_path, record_benchmark):
    import torch

    from studio.core.datasets.image_cache import ImageCache
    from studio.core.generation.attributes import AttributeDims, AttributeStrips
    from studio.core.jobs import run_job

    torch.set_num_threads(_threads())
    root = _project(tmp_path)
    cache = ImageCache.open(root / "datasets" / "shapes", RESOLUTION, "crop")
    rows = np.flatnonzero(cache.split >= 0)
    images = cache.batch(rows)
    val_rows = np.flatnonzero(cache.split[rows] == 1)
    results, rebuilt, folders = {}, {}, {}
    for family in FAMILIES:
        folder, trained = _train(root, family)
        measured, rebuilt[family] = _measure(folder, images, val_rows)
        dims = run_job(AttributeDims(folder, count=TOP, sample=512))
        results[family] = {
            **trained,
            **measured,
            "top_dims": [
                {
                    "index": d["index"],
                    "usage": round(d["usage"], 3),
                    "effect": round(d["effect"], 4),
                    "range": [round(v, 3) for v in d["range"]],
                }
                for d in dims["dims"]
            ],
            "top_dims_source": dims["source"],
        }
        folders[family] = (folder, dims)
        print(family, results[family], file=sys.stderr, flush=True)
    folder, dims = folders["sparse_vae"]
    strips = run_job(AttributeStrips(folder, dims=[d["index"] for d in dims["dims"]], steps=STRIP, base="mean"))
    shown = val_rows[:STRIP] if len(val_rows) >= STRIP else np.arange(STRIP)
    from .conftest import RESULTS

    picture = RESULTS / "sparse_vae.png"
    RESULTS.mkdir(exist_ok=True)
    _picture(
        [
            _to_uint8(images[shown]),
            _to_uint8(rebuilt["vae"][shown]),
            _to_uint8(rebuilt["sparse_vae"][shown]),
            *[strips["strips"][d["index"]] for d in dims["dims"]],
        ],
        picture,
    )
    plain, sparse = results["vae"], results["sparse_vae"]
    record_benchmark(
        "sparse_vae",
        {
            "data": f"{len(rows)} generated shapes (studio/core/demo.py), {RESOLUTION} px, no classes",
            "settings": {**SETTINGS, "steps": _steps(), "threads": _threads()},
            "plain_vae": plain,
            "sparse_vae": sparse,
            "ratios": {
                "recon_mse_val_sparse_over_plain": round(sparse["recon_mse_val"] / plain["recon_mse_val"], 3),
                "active_dims_sparse_over_plain": round(sparse["active_dims_mean"] / plain["active_dims_mean"], 3),
            },
            "picture": str(picture),
            "picture_rows": "originals, plain VAE rebuilds, sparse VAE rebuilds, then one strip per top number",
        },
    )
    assert sparse["active_dims_mean"] < plain["active_dims_mean"]
