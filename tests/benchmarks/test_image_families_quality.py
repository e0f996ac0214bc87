"""``image_families_quality``: the lightweight GAN (FastGAN) against the DCGAN family on the same pictures and the
same wall-clock budget on this CPU, at 32 px.

Data: the Adwaita icon theme's 64 px icons (``/usr/share/icons/Adwaita/64x64``, CC BY-SA 3.0, which Debian ships;
the README's DCGAN picture was trained on them), else 480 generated shapes (studio/core/demo.py's ``draw_shapes``)
where the theme is missing. Both families train unconditionally (the icon folders are categories such as
"actions" and "status", not looks), each as "Best model in N minutes" starts it (``TrainJob(budget_minutes=N)``:
the plan picks the size and the steps for the budget, and a deadline stops the run on time).

Scored afterwards, the same way for both: the newest checkpoint's EMA generator, loaded through the family table as
the canvas and ``generate image`` load it, renders latents 0..N-1 of seed 0 for the N reference pictures (every
usable picture of the dataset, at most 1,024), and the studio's KID, FID, precision and recall compare them (its
own fixed feature network, not Inception: comparable between these two runs, not with published numbers). A PNG
shows 64 real pictures, 64 DCGAN pictures and 64 lightweight GAN pictures side by side (the same latents for both
GANs).

Budget: ``AIGC_BENCH_MINUTES`` per family (default 15: the issue's comparison); threads: ``AIGC_BENCH_THREADS``
(default 2, a desktop run). Run with ``pytest tests/benchmarks/test_image_families_quality.py --benchmark -s``.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.benchmark, pytest.mark.timeout(3 * 3600)]

ICONS = Path("/usr/share/icons/Adwaita/64x64")
FAMILIES = ("gan", "lightweight_gan")  # the baseline first
RESOLUTION = 32
MAX_REFERENCE = 1024
GRID = 8  # 8 x 8 pictures per panel of the side-by-side PNG
SEED = 0


def _minutes() -> float:
    return float(os.environ.get("AIGC_BENCH_MINUTES", "15"))


def _threads() -> int:
    return int(os.environ.get("AIGC_BENCH_THREADS", "2"))


def _dataset(tmp_path: Path) -> tuple[Path, str]:
    """The project with dataset "pictures", and what it holds in words."""
    from studio.core.datasets.image_cache import BuildImageCache
    from studio.core.datasets.importer import ImportDataset
    from studio.core.jobs import JobContext, run_job

    root = tmp_path / "Bench"
    if ICONS.is_dir():
        source, what = ICONS, f"Adwaita icons ({ICONS})"
    else:
        from studio.core.demo import draw_shapes

        source, what = tmp_path / "shapes", "generated shapes (the Adwaita icons are not on this machine)"
        draw_shapes(source, random.Random(SEED), JobContext(), per_class=160)
    run_job(ImportDataset(root, "pictures", [source], kind="image", workers=1))
    # the training cache, built once before either budget starts: neither family pays for it
    run_job(BuildImageCache(root / "datasets" / "pictures", resolution=RESOLUTION, workers=1))
    return root, what


def _train(root: Path, family: str) -> dict:
    from studio.core.jobs import JobContext
    from studio.core.training import TrainJob, runs

    job = TrainJob(
        root,
        "pictures",
        family,
        preset=None,
        overrides={"resolution": RESOLUTION, "conditional": False},
        budget_minutes=_minutes(),
        cpu_threads=_threads(),
    )
    started = time.perf_counter()
    result = job(JobContext())
    wall = time.perf_counter() - started
    assert job.run_folder is not None
    config = runs.read_config(job.run_folder)["config"]
    last = [line for line in runs.read_metrics(job.run_folder) if "val_kid" in line]
    row = {
        "run_id": job.run_id,
        "wall_s": round(wall, 1),
        "steps": result["step"],
        "planned_steps": config["steps"],
        "size": {k: config[k] for k in ("width", "z_dim", "batch_size")},
        "during_training_last": {k: last[-1][k] for k in ("val_kid", "val_fid")} if last else {},
    }
    print(family, row, file=sys.stderr, flush=True)
    return {"row": row, "folder": job.run_folder}


def _reference(root: Path):
    """uint8 (N, R, R, 3): the dataset's usable pictures as the training cache holds them (at most MAX_REFERENCE)."""
    from studio.core.datasets.image_cache import ImageCache

    cache = ImageCache.open(root / "datasets" / "pictures", RESOLUTION, "crop")
    rows = np.flatnonzero(cache.split >= 0)[:MAX_REFERENCE]  # -1: a picture the cache could not read
    return np.asarray(cache.images[rows], np.uint8)


def _to_tensor(pixels: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def _score(folder: Path, real: np.ndarray) -> tuple[dict, np.ndarray]:
    """The final scores of a run's newest EMA generator and its pictures (uint8) for latents 0..N-1 of SEED."""
    from studio.core.generation.image_model import LatentSource, load_image_model
    from studio.core.quality import quality_scores

    model = load_image_model(folder)
    fake = model.render(LatentSource(SEED), range(len(real)))
    scores = quality_scores(_to_tensor(real), _to_tensor(fake))
    return {name: round(float(value), 4) for name, value in scores.items()} | {"ema": model.ema}, fake


def _panel(pictures: np.ndarray, title: str, scale: int = 2):
    """An 8 x 8 grid of ``pictures`` (uint8 (N, R, R, 3)), scaled up ``scale`` times, under a one-line title."""
    from PIL import Image, ImageDraw

    n, r = GRID * GRID, pictures.shape[1]
    tiles = np.zeros((n, r, r, 3), np.uint8)
    tiles[: min(n, len(pictures))] = pictures[:n]
    grid = tiles.reshape(GRID, GRID, r, r, 3).transpose(0, 2, 1, 3, 4).reshape(GRID * r, GRID * r, 3)
    image = Image.fromarray(grid).resize((GRID * r * scale, GRID * r * scale), Image.Resampling.NEAREST)
    panel = Image.new("RGB", (image.width, image.height + 20), (255, 255, 255))
    panel.paste(image, (0, 20))
    ImageDraw.Draw(panel).text((4, 4), title, fill=(0, 0, 0))
    return panel


def _side_by_side(panels: list, target: Path) -> None:
    from PIL import Image

    gap = 8
    width = sum(p.width for p in panels) + gap * (len(panels) - 1)
    sheet = Image.new("RGB", (width, max(p.height for p in panels)), (255, 255, 255))
    x = 0
    for panel in panels:
        sheet.paste(panel, (x, 0))
        x += panel.width + gap
    target.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(target)


def _ratio(a: float, b: float) -> float | None:
    """a / b (below 1: the lightweight GAN's score is the lower, i.e. the better), None when b is 0."""
    return round(a / b, 4) if b else None


def test_lightweight_gan_against_dcgan_on_the_same_budget(tmp_path, record_benchmark):
    from studio.core.training import families

    from .conftest import RESULTS

    root, what = _dataset(tmp_path)
    real = _reference(root)
    rows, pictures = {}, {}
    for family in FAMILIES:
        trained = _train(root, family)
        scores, fake = _score(trained["folder"], real)
        rows[family] = {**trained["row"], "final": scores}
        pictures[family] = fake
    grid = RESULTS / "image_families_quality.png"
    shuffled = real[np.random.default_rng(SEED).permutation(len(real))]
    panels = [_panel(shuffled, f"{len(real):,} real pictures (64 of them)")]
    for family in FAMILIES:
        final = rows[family]["final"]
        title = f"{families.spec(family).title}: KID {final['kid']:.3g}, FID {final['fid']:.0f}"
        panels.append(_panel(pictures[family], title))
    _side_by_side(panels, grid)
    baseline, candidate = rows["gan"]["final"], rows["lightweight_gan"]["final"]
    record_benchmark(
        "image_families_quality",
        {
            "dataset": what,
            "pictures": int(len(real)),
            "resolution": RESOLUTION,
            "budget_minutes_per_family": _minutes(),
            "torch_threads": _threads(),
            "scored_samples": int(len(real)),
            "families": rows,
            "kid_ratio_lightweight_over_dcgan": _ratio(candidate["kid"], baseline["kid"]),
            "fid_ratio_lightweight_over_dcgan": _ratio(candidate["fid"], baseline["fid"]),
            "grid_png": str(grid),
        },
    )
    for family in FAMILIES:  # each run kept to its budget (the plan's steps or the deadline ended it)
        assert rows[family]["wall_s"] <= _minutes() * 60 * 1.15 + 30, rows[family]
        assert all(np.isfinite(rows[family]["final"][k]) for k in ("kid", "fid", "precision", "recall"))
