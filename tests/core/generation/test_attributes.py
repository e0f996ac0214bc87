"""Attribute sliders (studio/core/generation/attributes.py) on a sparse VAE trained here for a few seconds on drawn
shapes: which numbers are offered and in what order, their strips, and that moving one slider changes the picture
and leaves every other number of the code exactly as it was. Also the fallbacks: no dataset (the model's own
random pictures stand in, and the result says so), a run naming a dataset outside its project, a plain VAE."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from studio.core.datasets.image_cache import ImageCache
from studio.core.datasets.importer import ImportDataset
from studio.core.demo import draw_shapes
from studio.core.generation import attributes, image_model
from studio.core.generation.attributes import AttributeDims, AttributeStrips, EditAttributes
from studio.core.jobs import JobContext, JobError, run_job
from studio.core.training import TrainJob

Z_DIM = 16
SETTINGS = {
    "resolution": 32,
    "width": 8,
    "z_dim": Z_DIM,
    "batch_size": 16,
    "kl_warmup_steps": 40,
    "lr": 3e-3,
    "log_every": 50,
    "eval_every": 1000,
    "sample_every": 1000,
    "checkpoint_every": 1000,
    "eval_count": 16,
}


@pytest.fixture(scope="module")
def sparse_run(tmp_path_factory) -> Path:
    """A project with a drawn-shapes dataset and a 300-step sparse VAE run on it: the run folder."""
    root = tmp_path_factory.mktemp("attributes")
    draw_shapes(root / "drop", random.Random(5), JobContext(), per_class=16)
    project = root / "Shapes"
    run_job(ImportDataset(project, "shapes", [root / "drop"], kind="image", workers=1))
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AIGC_STUDIO_HOME", str(root / "studio-home"))
            job = TrainJob(project, "shapes", "sparse_vae", preset="fast", overrides=SETTINGS, steps=300, cpu_threads=1)
            job(JobContext())
    finally:
        torch.set_num_threads(before)
    return job.run_folder


def _cache(run: Path) -> ImageCache:
    """The run's dataset cache (32 px, 3 classes of 16 pictures)."""
    return ImageCache.open(run.parent.parent / "datasets" / "shapes", 32, "crop")


@pytest.fixture
def run(sparse_run, tmp_path) -> Path:
    """A fresh copy of the project (a test may remove its dataset), and an empty model cache."""
    project = tmp_path / "Shapes"
    shutil.copytree(sparse_run.parent.parent, project)
    image_model.clear_cache()
    yield project / "runs" / sparse_run.name
    image_model.clear_cache()


def test_the_most_used_numbers_come_first_with_their_range_and_effect(run):
    found = run_job(AttributeDims(run, count=8, sample=256))
    assert found["source"] == "dataset" and found["note"] == "" and found["pictures"] == 48
    assert found["sparse"] and found["z_dim"] == Z_DIM and found["kind"] == "sparse_vae"
    dims = found["dims"]
    assert len(dims) == 8 and len({d["index"] for d in dims}) == 8
    usages = [d["usage"] for d in dims]
    assert usages == sorted(usages, reverse=True) and 0 < usages[0] <= 1
    cache = _cache(run)  # every picture encoded with its own class: the listed numbers are the most used
    model = image_model.cached_model(run)
    latents = np.concatenate([model.encode(cache.images[cache.labels == c], int(c)) for c in range(3)])
    used = attributes.usage(attributes.codes_of(model, latents))
    listed = [d["index"] for d in dims]
    assert min(used[listed]) >= max(np.delete(used, listed))
    assert usages == pytest.approx(sorted(used, reverse=True)[:8])
    for d in dims:
        low, high = d["range"]
        assert low <= 0.0 <= high and high > low
    assert dims[0]["effect"] > 0.01  # the most-used number visibly changes pictures (share of the pixel range)
    assert found["active_mean"] < Z_DIM / 2
    assert found["sparsity"].endswith(f"of {Z_DIM} dimensions active on average")


def test_moving_one_slider_changes_the_picture_and_no_other_number(run):
    model = image_model.cached_model(run)
    dims = run_job(AttributeDims(run, count=4))["dims"]
    top, (low, high) = dims[0]["index"], dims[0]["range"]
    picture = np.asarray(_cache(run).images[0])
    before = run_job(EditAttributes(run, latent=picture, values={}, class_name=0))
    assert before["image"].shape == (32, 32, 3) and before["latent"].shape == (Z_DIM,)
    assert before["sparsity"] == f"{before['active']} of {Z_DIM} dimensions active"
    assert before["active"] == int((np.abs(before["code"]) > 0.1).sum()) < Z_DIM
    target = high if abs(high - before["code"][top]) > abs(low - before["code"][top]) else low
    after = run_job(EditAttributes(run, latent=before["latent"], values={top: target}, class_name=0))
    others = np.arange(Z_DIM) != top
    assert np.array_equal(after["code"][others], before["code"][others])  # bit for bit
    assert np.array_equal(after["latent"][others], before["latent"][others])
    assert after["code"][top] == pytest.approx(target, abs=1e-4) and after["values"][top] == after["code"][top]
    assert np.abs(after["image"].astype(int) - before["image"].astype(int)).mean() > 1.0
    again = run_job(EditAttributes(run, latent=before["latent"], values={str(top): target}, class_name=0))
    assert np.array_equal(again["image"], after["image"])  # the same edit draws the same pixels
    unchanged = model.generate(before["latent"][None], 0)[0]
    assert np.array_equal(unchanged, before["image"])  # no values: the picture the canvas would draw


def test_strips_move_one_number_across_its_range(run):
    dims = run_job(AttributeDims(run, count=3))["dims"]
    ranges = {d["index"]: d["range"] for d in dims}
    strips = run_job(AttributeStrips(run, dims=list(ranges), steps=5, ranges=ranges))
    for d in dims:
        strip = strips["strips"][d["index"]]
        assert strip.shape == (5, 32, 32, 3) and strip.dtype == np.uint8
        assert strips["values"][d["index"]] == pytest.approx(list(np.linspace(*d["range"], 5)))
    top = strips["strips"][dims[0]["index"]]
    assert np.abs(top[0].astype(int) - top[-1].astype(int)).mean() > 1.0
    base = strips["base_latent"]
    on_a_latent = run_job(AttributeStrips(run, dims=[dims[0]["index"]], steps=3, base=base, ranges=ranges))
    assert np.array_equal(on_a_latent["strips"][dims[0]["index"]][[0, 2]], top[[0, -1]])  # same base, same ends
    typical = run_job(AttributeStrips(run, dims=[dims[0]["index"]], steps=3, base="typical", ranges=ranges))
    found = run_job(AttributeDims(run, count=1))
    assert np.array_equal(typical["base_latent"], found["typical_latent"])  # a real picture of the dataset
    assert np.array_equal(typical["base_code"], found["typical_code"])


def test_without_the_dataset_the_models_own_pictures_stand_in_and_say_so(run):
    shutil.rmtree(run.parent.parent / "datasets")
    found = run_job(AttributeDims(run, count=5, sample=32))
    assert found["source"] == "prior" and "random pictures of the model itself" in found["note"]
    effects = [d["effect"] for d in found["dims"]]
    assert effects == sorted(effects, reverse=True) and len(effects) == 5  # ranked by what they do
    config_path = run / "config.json"
    config = json.loads(config_path.read_text())
    config["dataset"] = "../../../outside"  # a received run may name anything: it is not followed out
    config_path.write_text(json.dumps(config))
    image_model.clear_cache()
    found = run_job(AttributeDims(run, count=2, sample=16))
    assert found["source"] == "prior" and "does not name a dataset of this project" in found["note"]


def test_bad_sliders_are_refused_in_plain_words(run):
    with pytest.raises(JobError, match="pick 0 to 15, not 16"):
        run_job(EditAttributes(run, latent=np.zeros(Z_DIM, np.float32), values={16: 1.0}))
    with pytest.raises(JobError, match="must be a number"):
        run_job(EditAttributes(run, latent=np.zeros(Z_DIM, np.float32), values={0: float("nan")}))
    with pytest.raises(JobError, match="holds 16 finite numbers"):
        run_job(EditAttributes(run, latent=np.zeros(3, np.float32), values={0: 1.0}))
    with pytest.raises(JobError, match="Pick at least one slider"):
        run_job(AttributeStrips(run, dims=[]))


def test_a_network_without_a_sparse_code_edits_its_latent_directly(project):
    """A plain VAE (the generation tests' hand-made run): code = latent, and the prior stands in for its dataset."""
    vae_run = project / "runs" / "20260101-000002-vae"
    model = image_model.cached_model(vae_run)
    assert not attributes.has_sparse_code(model)
    latent = model.latents(3, 1)[0]
    assert np.array_equal(attributes.codes_of(model, latent)[0], latent)
    edited = run_job(EditAttributes(vae_run, latent=latent, values={2: 1.5}))
    assert edited["code"][2] == np.float32(1.5) and np.array_equal(np.delete(edited["code"], 2), np.delete(latent, 2))
    assert not edited["sparse"]
    assert attributes.sparsity(np.array([0.0, 0.5, -0.2, 0.05]))["text"] == "2 of 4 dimensions active"
