"""The sparse VAE family: its spike-and-slab prior and noise map, training through the real engine on generated
shapes (studio/core/demo.py's drawing), resume, byte-identical generation, sparser codes than the plain VAE's on
the same data, and the canvas's VAE features through the family table.

The sparse and plain runs are trained once per module (300 steps each, ~6 s apiece on one thread)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from training_helpers import assert_identical, final_weights, logged_steps

from studio.core.datasets.importer import ImportDataset
from studio.core.demo import draw_shapes
from studio.core.generation import image_model, model_list
from studio.core.generation.image_jobs import Morph, ReconstructImages
from studio.core.jobs import Cancelled, JobContext, run_job
from studio.core.nets import sparse_vae
from studio.core.nets.sparse_vae import SparseVAE, SparseVaeConfig, code_to_noise, noise_to_code
from studio.core.training import TrainJob, families, runs
from studio.core.training.checkpoints import complete_steps
from studio.core.training.image_sparse_vae import SparseVaeRecipe

THREADS = 1  # small models gain little from a second thread on a shared 2-core machine (test_image_models.py)
STEPS = 300
Z_DIM = 32
SETTINGS = {
    "resolution": 32,
    "width": 16,
    "z_dim": Z_DIM,
    "batch_size": 16,
    "kl_warmup_steps": 50,
    "lr": 3e-3,
    "log_every": 10,
    "eval_every": 50,
    "sample_every": 1000,
    "checkpoint_every": 1000,
    "eval_count": 32,
}


def make_shapes(root: Path, per_class: int = 30) -> Path:
    """A project whose dataset "shapes" holds the demo's drawn circles, squares and triangles (3 class folders)."""
    draw_shapes(root / "drop", random.Random(3), JobContext(), per_class=per_class)
    project = root / "Shapes"
    run_job(ImportDataset(project, "shapes", [root / "drop"], kind="image", workers=1))
    return project


def train(project: Path, family: str, settings: dict, steps: int, ctx: JobContext | None = None) -> TrainJob:
    job = TrainJob(project, "shapes", family, preset="fast", overrides=settings, steps=steps, cpu_threads=THREADS)
    job(ctx or JobContext())
    return job


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def shapes_template(tmp_path_factory) -> Path:
    return make_shapes(tmp_path_factory.mktemp("sparse-shapes"))


@pytest.fixture(scope="module")
def trained(shapes_template, tmp_path_factory) -> dict[str, TrainJob]:
    """One sparse and one plain VAE run, same data and settings (the plain VAE with its own beta)."""
    root = tmp_path_factory.mktemp("sparse-runs")
    project = root / "Shapes"
    shutil.copytree(shapes_template, project)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIGC_STUDIO_HOME", str(root / "studio-home"))
        before = torch.get_num_threads()
        torch.set_num_threads(THREADS)
        try:
            return {family: train(project, family, SETTINGS, STEPS) for family in ("sparse_vae", "vae")}
        finally:
            torch.set_num_threads(before)
            image_model.clear_cache()


def _codes(job: TrainJob) -> np.ndarray:
    """Every picture's deterministic code under the run's final weights (the decoder's input in eval mode)."""
    model = image_model.load_image_model(job.run_folder)
    config = runs.read_config(job.run_folder)["config"]
    recipe = families.load_recipe_class(model.kind)
    data = recipe.open_data(job.project_root / "datasets" / "shapes", config)
    images = data.batch(np.arange(len(data)))
    labels = torch.as_tensor(np.maximum(np.asarray(data.labels), 0)) if model.conditional else None
    with torch.no_grad():
        code, _ = model.network.encode(images, labels)  # the sparse VAE: spike-gated mean; the VAE: its mean
    return code.numpy()


# -- the prior and the noise map --------------------------------------------------------------------------------------
def test_noise_maps_onto_the_spike_and_slab_prior_and_back():
    noise = torch.randn(200_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    code = noise_to_code(noise, 0.1)
    active = code != 0
    assert abs(float(active.double().mean()) - 0.1) < 0.005  # the slab's share is α
    assert abs(float(code[active].std()) - 1.0) < 0.02 and abs(float(code[active].mean())) < 0.02  # slab N(0, 1)
    assert torch.equal(code.sign(), torch.where(active, noise.sign(), 0.0))  # the sign follows the noise
    back = code_to_noise(code, 0.1)
    assert torch.allclose(noise_to_code(back, 0.1), code, atol=1e-9)
    edge = sparse_vae.dead_zone(0.1)
    near = noise_to_code(torch.tensor([edge - 1e-6, edge + 1e-6, 3.0, 4.0], dtype=torch.float64), 0.1)
    assert near[0] == 0 and 0 < near[1] < 1e-4 and 0 < near[2] < near[3]  # continuous at the edge, monotone


def test_kl_prefers_spikes_off_and_the_network_reuses_the_vae_blocks():
    mu, logvar = torch.zeros(1, 4), torch.zeros(1, 4)
    off, on = torch.full((1, 4), -8.0), torch.full((1, 4), 8.0)
    kl_off = sparse_vae.spike_slab_kl(mu, logvar, off, 0.1)
    kl_on = sparse_vae.spike_slab_kl(mu, logvar, on, 0.1)
    assert float(kl_off) < 0.5 < float(kl_on)  # a number switched on costs about log(1/α) nats
    assert float(kl_on) == pytest.approx(4 * np.log(1 / 0.1), rel=0.01)
    net = SparseVAE(SparseVaeConfig(resolution=32, z_dim=8, width=4, prior_active=0.2))
    plain = {name for name, _ in net.named_parameters()} - {"to_spike.weight", "to_spike.bias"}
    from studio.core.nets.vae import ConvVAE, VaeConfig

    assert plain == {name for name, _ in ConvVAE(VaeConfig(resolution=32, z_dim=8, width=4)).named_parameters()}
    net.eval()
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    code, _ = net.encode(x)
    noise, _ = net.encode_noise(x)
    assert torch.allclose(net.code_from_noise(noise), code, atol=1e-5)
    assert torch.allclose(net.decode_noise(noise), net(x)[0], atol=1e-5)  # the canvas's path = eval forward
    with pytest.raises(ValueError, match="prior_active"):
        SparseVaeConfig(resolution=32, prior_active=1.0)


# -- training ---------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_training_lowers_the_loss_and_reports_reconstruction_next_to_the_plain_vae(trained):
    job = trained["sparse_vae"]
    losses = [line["loss"] for line in runs.read_metrics(job.run_folder) if "loss" in line]
    assert len(losses) == STEPS // 10
    assert np.mean(losses[-3:]) < 0.75 * np.mean(losses[:3])
    evaluations = [line for line in runs.read_metrics(job.run_folder) if "val_recon" in line]
    assert [line["step"] for line in evaluations] == list(range(50, STEPS + 1, 50))
    assert evaluations[-1]["val_recon"] < evaluations[0]["val_recon"]
    assert {"val_loss", "val_kl", "val_active_dims", "val_kid"} <= evaluations[-1].keys()
    plain = [line for line in runs.read_metrics(trained["vae"].run_folder) if "val_recon" in line]
    assert plain[-1]["step"] == evaluations[-1]["step"]  # the same metric, at the same steps: comparable
    model = runs.read_config(job.run_folder)["model"]
    assert model["kind"] == "sparse_vae" and model["prior_active"] == 0.1 and model["weights"] == "vae"
    sparse_vae.build_sparse_vae(model).load_state_dict(
        {k[4:]: v for k, v in final_weights(job.run_folder).items() if k.startswith("vae.")}, strict=True
    )


@pytest.mark.slow
def test_codes_are_sparse_and_sparser_than_the_plain_vaes(trained):
    """ "Active" is |code| > 0.1 for both models, on the code each decoder reads in eval mode (nets/sparse_vae.py
    says why that rule is fair to both)."""
    sparse = sparse_vae.active_mask(torch.from_numpy(_codes(trained["sparse_vae"]))).sum(1).float().mean()
    plain = sparse_vae.active_mask(torch.from_numpy(_codes(trained["vae"]))).sum(1).float().mean()
    print(f"active numbers per picture: sparse {float(sparse):.1f}, plain {float(plain):.1f} of {Z_DIM}")
    assert 0 < float(sparse) <= Z_DIM / 4  # well below the latent size
    assert float(sparse) < float(plain) / 2
    reported = [line for line in runs.read_metrics(trained["sparse_vae"].run_folder) if "val_active_dims" in line]
    assert 0 < reported[-1]["val_active_dims"] <= Z_DIM / 4


def _stop_at(step: int) -> JobContext:
    ctx = JobContext()
    ctx._on_metrics = lambda values: ctx.cancel() if values.get("step") == step and "loss" in values else None
    return ctx


def test_resume_equals_straight_run(shapes_template, tmp_path):
    """10 steps + stop + resume + 10 steps == 20 straight, bit for bit, with the KL still warming up and the
    relaxed spikes' noise drawn from the engine's checkpointed generator."""
    project = tmp_path / "Shapes"
    shutil.copytree(shapes_template, project)
    settings = {
        **SETTINGS,
        "width": 8,
        "batch_size": 8,
        "seed": 5,
        "log_every": 1,
        "eval_every": 10,
        "checkpoint_every": 5,
        "eval_count": 16,
        "kl_warmup_steps": 15,
        "ema": True,
    }
    straight = train(project, "sparse_vae", settings, 20)
    first = TrainJob(project, "shapes", "sparse_vae", preset="fast", overrides=settings, steps=20, cpu_threads=THREADS)
    with pytest.raises(Cancelled):
        first(_stop_at(10))
    assert complete_steps(first.run_folder / "checkpoints")[-1] == 10
    TrainJob(project, "shapes", "sparse_vae", resume=first.run_id, cpu_threads=THREADS)(JobContext())
    weights = final_weights(first.run_folder)
    assert any(k.startswith("ema.vae.to_spike") for k in weights)
    assert_identical(final_weights(straight.run_folder), weights)
    assert logged_steps(first.run_folder) == list(range(1, 21))
    resumed = [(line["kl_weight"], line["active"]) for line in runs.read_metrics(first.run_folder)]
    assert resumed == [(line["kl_weight"], line["active"]) for line in runs.read_metrics(straight.run_folder)]
    assert resumed[9][0] < 2.0 and resumed[-1][0] == 2.0  # still warming up at the resume (beta 2)


def test_bad_sparsity_settings_are_refused():
    config = families.resolve_config("sparse_vae", "fast", {"prior_active": 1.5}, device_kind="cpu")
    from studio.core.jobs import JobError

    with pytest.raises(JobError, match="prior_active"):
        SparseVaeRecipe.check_settings(config)


# -- generation and the canvas through the family table ---------------------------------------------------------------
@pytest.mark.slow
def test_generate_image_is_byte_identical_for_the_same_seed(trained, tmp_path, capsys):
    from studio.cli import main

    job = trained["sparse_vae"]
    files = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        args = ["generate", "image", "--project", str(job.project_root), "--run", job.run_id, "--count", "3"]
        capsys.readouterr()
        assert main([*args, "--seed", str(seed), "--out", str(tmp_path / name)]) == 0
        files[name] = [Path(path).read_bytes() for path in json.loads(capsys.readouterr().out)["files"]]
    assert files["a"] == files["b"] and len(files["a"]) == 3
    assert files["a"] != files["c"]


@pytest.mark.slow
def test_listed_for_training_and_opened_by_the_canvas_with_its_vae_features(trained):
    from studio.ui.backends.training import CatalogJob, TrainingBackend  # Qt-free adapter: the Training list

    job = trained["sparse_vae"]
    catalog = CatalogJob(TrainingBackend(), None)(JobContext())
    listed = {entry["family"]: entry for entry in catalog["families"]}
    assert listed["sparse_vae"]["title"] == families.spec("sparse_vae").title
    assert "image" in listed["sparse_vae"]["kinds"] and catalog["presets"]["sparse_vae"]
    assert families.panel_of(runs.read_config(job.run_folder)["model"]["kind"]) == "image"  # "Open in canvas"
    entry = {e.run_id: e for e in model_list.list_models(job.project_root, "image")}[job.run_id]
    assert entry.label == "Sparse VAE" and entry.can_encode
    data = SparseVaeRecipe.open_data(
        job.project_root / "datasets" / "shapes", runs.read_config(job.run_folder)["config"]
    )
    pictures = np.asarray(data.images[[0, len(data) - 1]])  # a circle and a triangle
    rebuilt = run_job(ReconstructImages(job.run_folder, list(pictures), class_name=0))
    error = np.abs(rebuilt["images"].astype(int) - pictures.astype(int)).mean()
    assert error < np.abs(pictures[::-1].astype(int) - pictures.astype(int)).mean()  # closer than another picture
    morph = run_job(Morph(job.run_folder, pictures[0], pictures[1], frames_per_leg=4, class_name=0))
    assert morph["frames"].shape == (5, 32, 32, 3)
    start = np.abs(morph["frames"][0].astype(int) - rebuilt["images"][0].astype(int)).max()
    assert start <= 1  # a morph starts at the rebuilt picture
