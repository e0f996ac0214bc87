"""Image cache throughput: 2,000 generated 1024×768 JPEGs imported, then decoded into a 64×64 uint8 cache.

Records images/s for the import, the cache build and both together, the speed-up of draft (reduced-size
JPEG) decoding over a naive full decode on the same files, and peak memory. Target: ≥ 200 images/s for the
cache build on 2 cores.
"""

import random
import resource
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from PIL import Image, ImageDraw

pytestmark = pytest.mark.benchmark
COUNT = 2000
BASELINE_SAMPLE = 200  # images timed single-process for the naive-vs-draft ratio


def _draw(args):
    folder, index = args
    rng = random.Random(index)
    image = Image.new("RGB", (1024, 768), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(1024), rng.randrange(768)
        draw.ellipse(
            [x, y, x + rng.randrange(40, 300), y + rng.randrange(40, 300)],
            fill=tuple(rng.randrange(256) for _ in range(3)),
        )
    noise = np.random.default_rng(index).integers(0, 40, (768 // 8, 1024 // 8, 3), dtype=np.uint8)
    image = Image.blend(image, Image.fromarray(noise).resize((1024, 768)), 0.15)  # some texture for the codec
    image.save(f"{folder}/photo_{index:05d}.jpg", quality=85)


def _naive_square(path: str, resolution: int) -> np.ndarray:
    """The baseline: full-size decode, crop, resize (what a per-epoch loader without draft would do)."""
    with Image.open(path) as image:
        image = image.convert("RGB")
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        return np.asarray(
            image.crop((left, top, left + side, top + side)).resize((resolution, resolution), Image.Resampling.LANCZOS)
        )


def _rate(count: int, seconds: float) -> float:
    return round(count / max(seconds, 1e-9), 1)


def test_import_and_build_a_64px_cache_of_2000_jpegs(tmp_path, record_benchmark):
    from studio.core.datasets.image_cache import BuildImageCache, ImageCache, load_square
    from studio.core.datasets.importer import ImportDataset, dataset_folder
    from studio.core.datasets.manifest import Manifest
    from studio.core.jobs import run_job

    folder = tmp_path / "photos"
    folder.mkdir()
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_draw, [(str(folder), i) for i in range(COUNT)], chunksize=32))

    started = time.perf_counter()
    report = run_job(ImportDataset(tmp_path / "P", "bench", [folder], kind="image"))
    import_s = time.perf_counter() - started
    dataset = dataset_folder(tmp_path / "P", "bench")

    started = time.perf_counter()
    result = run_job(BuildImageCache(dataset, resolution=64, fit="crop"))
    cache_s = time.perf_counter() - started
    cache = ImageCache.open(dataset, 64, "crop")
    assert len(cache) == report["ok"] + report["fixed"] == COUNT and result["unreadable"] == 0

    items = [str(dataset / e["item"]) for e in Manifest.load(dataset).usable()[:BASELINE_SAMPLE]]
    started = time.perf_counter()
    for path in items:
        _naive_square(path, 64)
    naive_s = time.perf_counter() - started
    started = time.perf_counter()
    for path in items:
        load_square(path, 64, "crop")
    draft_s = time.perf_counter() - started

    peak_main_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    record_benchmark(
        "image_cache",
        {
            "images": COUNT,
            "source": "1024x768 JPEG q85",
            "resolution": 64,
            "import_s": round(import_s, 2),
            "import_images_per_s": _rate(COUNT, import_s),
            "cache_s": round(cache_s, 2),
            "cache_images_per_s": _rate(COUNT, cache_s),
            "import_plus_cache_images_per_s": _rate(COUNT, import_s + cache_s),
            "single_process_naive_images_per_s": _rate(len(items), naive_s),
            "single_process_draft_images_per_s": _rate(len(items), draft_s),
            "draft_speedup": round(naive_s / max(draft_s, 1e-9), 2),
            "peak_rss_mb_main": round(peak_main_mb, 1),
            "peak_rss_mb_largest_child": round(peak_child_mb, 1),
            "cache_file_mb": round(cache.images.nbytes / 1e6, 1),
        },
    )
    assert COUNT / cache_s >= 200
