"""What the Image canvas asks of the core for its exports: file names counted as the canvas counts (one-based:
"image 3" is ``…-03.png``), and a latent walk that can be previewed without writing a file, then written at the
size the user picks, frame for frame the walk that was previewed."""

from __future__ import annotations

import numpy as np
from generation_helpers import GAN
from PIL import Image

from studio.core.generation.image_jobs import ExportImages, GenerateGrid, MakeLatentWalk, default_name
from studio.core.jobs import run_job


def test_file_names_count_from_one_like_the_canvas():
    base = {"run_id": "run", "source": "grid", "seed": 42, "truncation": 1.0}
    assert default_name({**base, "latent_index": 2}) == "run-s42-03.png"  # the canvas says "image 3"
    assert default_name({**base, "latent_index": 0}, scale=4) == "run-s42-01-x4.png"
    assert default_name({**base, "latent_index": 99}) == "run-s42-100.png"
    variation = {
        **base,
        "source": "variation",
        "latent_index": 2,
        "variations": [{"seed": 7, "strength": 0.3, "index": 4}],
    }
    assert default_name(variation) == "run-s42-03-v7x0.3-05.png"  # "variation 5" of image 3
    assert default_name({"run_id": "run", "source": "walk", "frame": 11}) == "run-walk-12.png"


def test_exported_files_are_named_as_the_grid_numbers_them(project, tmp_path):
    grid = run_job(GenerateGrid(project / "runs" / GAN, seed=3, count=3))
    files = run_job(ExportImages(grid["images"], grid["settings"], tmp_path))["files"]
    assert [f.rsplit("/", 1)[-1] for f in files] == [f"{GAN}-s3-01.png", f"{GAN}-s3-02.png", f"{GAN}-s3-03.png"]


def test_a_walk_is_previewed_without_a_file_and_exported_at_a_chosen_size(project, tmp_path):
    folder = project / "runs" / GAN
    grid = run_job(GenerateGrid(folder, seed=2, count=2))
    preview = run_job(MakeLatentWalk(folder, grid["settings"], None, frames_per_leg=3))
    assert preview["path"] is None and preview["frames"].shape == (6, 32, 32, 3)
    assert not list(tmp_path.rglob("*.gif"))  # nothing written
    out = tmp_path / "walk-x3.gif"
    exported = run_job(MakeLatentWalk(folder, grid["settings"], out, frames_per_leg=3, scale=3))
    assert exported["path"] == str(out)
    assert np.array_equal(exported["frames"], preview["frames"])  # the GIF holds the walk that was previewed
    with Image.open(out) as gif:
        assert gif.size == (96, 96) and gif.n_frames == 6
