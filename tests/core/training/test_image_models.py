"""The image GAN and VAE families: their networks, losses and recipes, trained through the real engine on a
small synthetic *class* dataset (coloured circles, squares and triangles on coloured backgrounds).

The two 200-step runs are trained once per module and shared by the tests that inspect them."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from training_helpers import assert_identical, final_weights, logged_steps

from studio.core.datasets.importer import ImportDataset
from studio.core.jobs import Cancelled, JobContext, JobError, run_job
from studio.core.nets import gan, vae
from studio.core.training import TrainJob, families, runs
from studio.core.training.checkpoints import complete_steps
from studio.core.training.image_gan import GanRecipe
from studio.core.training.image_vae import VaeRecipe

CLASSES = ("circles", "squares", "triangles")
# one torch thread: these small models gain little from two, and on a busy machine (tests run in parallel)
# two threads spin-waiting on each other made a 9 s run take 30-70 s
THREADS = 1
# 32 px, small widths, batch 16: each 200-step run takes seconds on a 2-core CPU
GAN_SETTINGS = {
    "resolution": 32,
    "width": 16,
    "z_dim": 32,
    "batch_size": 16,
    "ema_decay": 0.95,
    "lr": 1e-3,
    "log_every": 20,
    "eval_every": 200,
    "sample_every": 200,
    "checkpoint_every": 200,
    "eval_count": 96,
}
VAE_SETTINGS = {
    "resolution": 32,
    "width": 32,
    "z_dim": 16,
    "batch_size": 16,
    "kl_warmup_steps": 100,
    "lr": 3e-3,
    "log_every": 20,
    "eval_every": 20,
    "sample_every": 200,
    "checkpoint_every": 200,
    "eval_count": 96,
}


def make_shapes_project(root: Path, per_class: int = 30, size: int = 48) -> Path:
    """``per_class`` pictures of each of 3 classes: one shape of a random colour, position and size on a
    random background colour (the shape always contrasts with it)."""
    rng = np.random.default_rng(7)
    source = root / "drop"
    for label in CLASSES:
        folder = source / label
        folder.mkdir(parents=True)
        for i in range(per_class):
            background = rng.integers(0, 256, 3)
            colour = (background + rng.integers(80, 176, 3)) % 256
            picture = Image.new("RGB", (size, size), tuple(int(v) for v in background))
            draw = ImageDraw.Draw(picture)
            radius = rng.uniform(0.2, 0.35) * size
            cx, cy = rng.uniform(radius, size - radius, 2)
            box = (cx - radius, cy - radius, cx + radius, cy + radius)
            fill = tuple(int(v) for v in colour)
            if label == "circles":
                draw.ellipse(box, fill=fill)
            elif label == "squares":
                draw.rectangle(box, fill=fill)
            else:
                draw.polygon([(cx, cy - radius), (cx - radius, cy + radius), (cx + radius, cy + radius)], fill=fill)
            picture.save(folder / f"{label}{i}.png")
    project = root / "Shapes"
    run_job(ImportDataset(project, "shapes", [source], kind="image", workers=1))
    return project


@pytest.fixture(autouse=True)
def one_thread():
    """Recipe-level tests (evaluations, losses) run on one torch thread too, for the reason THREADS gives."""
    before = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def shapes_template(tmp_path_factory) -> Path:
    return make_shapes_project(tmp_path_factory.mktemp("shapes"))


@pytest.fixture
def shapes(shapes_template, tmp_path) -> Path:
    """A fresh copy of the shapes project (cache not built)."""
    target = tmp_path / "Shapes"
    shutil.copytree(shapes_template, target)
    return target


def _train_once(root: Path, family: str, settings: dict) -> tuple[TrainJob, float]:
    with pytest.MonkeyPatch.context() as patch:  # module scope: no per-test studio_home fixture here
        patch.setenv("AIGC_STUDIO_HOME", str(root / "studio-home"))
        project = root / "Shapes"
        config = families.resolve_config(family, "fast", settings)
        families.load_recipe_class(family).prepare_data(project / "datasets" / "shapes", config, JobContext())
        job = TrainJob(project, "shapes", family, preset="fast", overrides=settings, steps=200, cpu_threads=THREADS)
        started = time.perf_counter()
        job(JobContext())
        return job, time.perf_counter() - started


@pytest.fixture(scope="module")
def gan_run(shapes_template, tmp_path_factory):
    root = tmp_path_factory.mktemp("gan-run")
    shutil.copytree(shapes_template, root / "Shapes")
    return _train_once(root, "gan", GAN_SETTINGS)


@pytest.fixture(scope="module")
def vae_run(shapes_template, tmp_path_factory):
    root = tmp_path_factory.mktemp("vae-run")
    shutil.copytree(shapes_template, root / "Shapes")
    return _train_once(root, "vae", VAE_SETTINGS)


def _open_recipe(recipe_class, job: TrainJob):
    config = runs.read_config(job.run_folder)["config"]
    data = recipe_class.open_data(job.project_root / "datasets" / "shapes", config)
    return recipe_class(config, data, torch.device("cpu")), config


# -- networks -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("resolution", [32, 64, 128, 256])
def test_networks_scale_with_the_resolution(resolution):
    blocks = int(np.log2(resolution)) - 2
    G = gan.Generator(gan.GeneratorConfig(resolution=resolution, z_dim=8, width=4, num_classes=2))
    D = gan.Discriminator(gan.DiscriminatorConfig(resolution=resolution, width=4, num_classes=2))
    V = vae.ConvVAE(vae.VaeConfig(resolution=resolution, z_dim=8, width=4, num_classes=2))
    labels = torch.tensor([0, 1])
    images = G(torch.randn(2, 8), labels)
    assert images.shape == (2, 3, resolution, resolution) and images.abs().max() <= 1
    assert D(images, labels).shape == (2,)
    assert len(G.ups) + 1 == blocks and len(D.downs) == blocks
    recon, mu, logvar = V(images, labels)
    assert recon.shape == images.shape and mu.shape == logvar.shape == (2, 8)
    with pytest.raises(ValueError):
        gan.GeneratorConfig(resolution=48)


def test_dcgan_sizes_at_64_px():
    """Width 64 at 64 px is DCGAN's 512-256-128-64 generator."""
    G, D = gan.Generator(gan.GeneratorConfig(resolution=64)), gan.Discriminator(gan.DiscriminatorConfig(resolution=64))
    assert [m.out_channels for m in [G.stem, *G.ups]] == [512, 256, 128, 64]
    assert sum(p.numel() for p in G.parameters()) == 3_806_083
    assert sum(p.numel() for p in D.parameters()) == 2_764_737


def test_losses_and_penalties():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.5])
    assert float(gan.d_loss("hinge", real, fake)) == pytest.approx(0.25 + 0.75)
    assert float(gan.g_loss("hinge", fake)) == pytest.approx(0.75)
    assert float(gan.d_loss("nonsaturating", real, fake)) == pytest.approx(
        float(torch.nn.functional.softplus(-real).mean() + torch.nn.functional.softplus(fake).mean())
    )
    assert float(gan.d_loss("wgan-gp", real, fake)) == pytest.approx(-0.75 - 1.25 + 1e-3 * (4.25 / 2))
    with pytest.raises(ValueError):
        gan.d_loss("lsgan", real, fake)

    class Linear(torch.nn.Module):  # D(x) = <w, x>: its input gradient is w everywhere
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.full((1, 3, 4, 4), 0.5))

        def forward(self, x, labels=None):
            return (x * self.w).flatten(1).sum(1)

    D, x = Linear(), torch.randn(5, 3, 4, 4)
    assert float(gan.r1_penalty(D, x).detach()) == pytest.approx(48 * 0.25)  # |w|²: 48 values of 0.5²
    penalty = gan.gradient_penalty(D, x, torch.randn(5, 3, 4, 4)).detach()
    assert float(penalty) == pytest.approx((48**0.5 * 0.5 - 1) ** 2)


def test_diffaugment_sees_real_and_fake_batches(shapes, monkeypatch):
    """The discriminator phase augments real + fake (2B pictures), the generator phase the fakes (B)."""
    from studio.core.training import image_gan

    config = families.resolve_config("gan", "fast", {**GAN_SETTINGS, "batch_size": 4})
    GanRecipe.prepare_data(shapes / "datasets" / "shapes", config, JobContext())
    recipe = GanRecipe(config, GanRecipe.open_data(shapes / "datasets" / "shapes", config), torch.device("cpu"))
    models = recipe.build_models()
    seen = []
    real_augment = image_gan.augment
    monkeypatch.setattr(
        image_gan, "augment", lambda x, policy: seen.append((len(x), policy)) or real_augment(x, policy)
    )
    batch = recipe.load_batch([0, 1, 2, 3])
    assert batch[0].shape == (4, 3, 32, 32)
    assert batch[1].tolist() == recipe.labels[recipe.train_items[:4]].tolist()
    recipe.discriminator_loss(models, batch)[0].backward()
    recipe.generator_loss(models, batch)[0].backward()
    assert seen == [(8, "color,translation,cutout"), (4, "color,translation,cutout")]
    assert models["generator"].stem.weight.grad is not None  # DiffAugment is differentiable


# -- recipes through the engine -------------------------------------------------------------------------------
@pytest.mark.slow
def test_gan_trains_200_steps_and_describes_its_generator(gan_run):
    job, seconds = gan_run
    print(f"GAN 200 steps: {seconds:.1f} s")  # ~9 s on one thread
    record = runs.read_config(job.run_folder)
    model = record["model"]
    assert model == {
        "kind": "gan",
        "resolution": 32,
        "z_dim": 32,
        "width": 16,
        "num_classes": 3,
        "classes": list(CLASSES),
        "weights": "generator",
        "ema": True,
    }
    weights = final_weights(job.run_folder)
    ema = {k[len("ema.generator.") :]: v for k, v in weights.items() if k.startswith("ema.generator.")}
    generator = gan.build_generator(model)
    generator.load_state_dict(ema, strict=True)
    assert any(k.startswith("discriminator.") for k in weights) and not any(k.startswith("ema.discr") for k in weights)
    line = runs.read_metrics(job.run_folder)[-1]
    assert (
        line["step"] == 200
        and {"loss_d", "loss_g", "d_real", "d_fake", "val_kid", "val_fid", "val_precision", "val_recall"} <= line.keys()
    )
    assert all(np.isfinite(line[k]) for k in ("loss_d", "loss_g", "val_kid"))
    assert (job.run_folder / "samples" / "step-000200.png").is_file()


@pytest.mark.slow
def test_gan_quality_improves_over_the_fresh_generator(gan_run):
    """val_kid of the trained EMA generator beats the freshly built one on the same fixed latents."""
    job, _ = gan_run
    recipe, config = _open_recipe(GanRecipe, job)
    torch.manual_seed(config["seed"])
    fresh = recipe.build_models()["generator"].eval()
    trained = gan.build_generator(recipe.describe())
    trained.load_state_dict(
        {
            k[len("ema.generator.") :]: v
            for k, v in final_weights(job.run_folder).items()
            if k.startswith("ema.generator.")
        }
    )
    before = recipe.evaluate({"generator": fresh})
    after = recipe.evaluate({"generator": trained.eval()})
    print(
        f"val_kid {before['val_kid']:.4f} -> {after['val_kid']:.4f}, "
        f"val_fid {before['val_fid']:.1f} -> {after['val_fid']:.1f}"
    )
    assert after["val_kid"] < before["val_kid"] * 0.5
    assert recipe.evaluate({"generator": trained}) == after  # fixed seeds: repeatable


@pytest.mark.slow
def test_class_labels_change_what_the_models_make(gan_run, vae_run):
    """Same latent, different class: different pictures (conditional batch norm / label embedding wired)."""
    for (job, _), build, prefix in ((gan_run, gan.build_generator, "ema.generator."), (vae_run, vae.build_vae, "vae.")):
        model = runs.read_config(job.run_folder)["model"]
        net = build(model).eval()
        net.load_state_dict(
            {k[len(prefix) :]: v for k, v in final_weights(job.run_folder).items() if k.startswith(prefix)}
        )
        z = torch.randn(8, model["z_dim"], generator=torch.Generator().manual_seed(0))
        make = net if model["kind"] == "gan" else net.decode
        with torch.no_grad():
            pictures = [make(z, torch.full((8,), c, dtype=torch.long)) for c in range(3)]
        for a in range(3):
            for b in range(a + 1, 3):
                assert (pictures[a] - pictures[b]).abs().mean() > 0.01, (model["kind"], a, b)


@pytest.mark.slow
def test_vae_trains_200_steps_and_reconstruction_error_halves(vae_run):
    job, seconds = vae_run
    print(f"VAE 200 steps: {seconds:.1f} s")  # ~11 s on one thread
    evaluations = [line for line in runs.read_metrics(job.run_folder) if "val_recon" in line]
    assert [line["step"] for line in evaluations] == list(range(20, 201, 20))
    first, last = evaluations[0]["val_recon"], evaluations[-1]["val_recon"]
    print(f"val_recon {first:.4f} -> {last:.4f}")
    assert last <= first / 2
    assert {"val_loss", "val_kl", "val_kid", "kl_weight", "recon"} <= evaluations[-1].keys()
    assert evaluations[0]["kl_weight"] < 0.25 and evaluations[-1]["kl_weight"] == pytest.approx(1.0)
    model = runs.read_config(job.run_folder)["model"]
    assert model == {
        "kind": "vae",
        "resolution": 32,
        "z_dim": 16,
        "width": 32,
        "num_classes": 3,
        "classes": list(CLASSES),
        "weights": "vae",
        "ema": False,
    }
    vae.build_vae(model).load_state_dict(
        {k[4:]: v for k, v in final_weights(job.run_folder).items() if k.startswith("vae.")}, strict=True
    )
    assert (job.run_folder / "samples" / "step-000200.png").is_file()


def test_kl_warmup_follows_the_optimizer_step_counter(shapes):
    config = families.resolve_config("vae", "fast", {**VAE_SETTINGS, "kl_warmup_steps": 4, "beta": 2.0})
    VaeRecipe.prepare_data(shapes / "datasets" / "shapes", config, JobContext())
    recipe = VaeRecipe(config, VaeRecipe.open_data(shapes / "datasets" / "shapes", config), torch.device("cpu"))
    models = recipe.build_models()
    optimizer = recipe.build_optimizers(models)["vae"]
    weights = []
    for _ in range(6):
        batch = recipe.load_batch(np.arange(8))
        loss, logs = recipe.vae_loss(models, batch)
        loss, _ = recipe.vae_loss(models, batch)  # a second micro-batch in the same step: same weight
        weights.append(float(logs["kl_weight"]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert weights == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.0])


def _stop_at(step: int, key: str) -> JobContext:
    ctx = JobContext()
    ctx._on_metrics = lambda values: ctx.cancel() if values.get("step") == step and key in values else None
    return ctx


@pytest.mark.parametrize("family", ["gan", "vae"])
def test_resume_equals_straight_run(shapes, family):
    """10 steps + stop + resume + 10 steps == 20 steps straight, bit for bit: weights, EMA, the spectral
    norm's vectors, and for the VAE a KL warm-up that is still rising at the stop."""
    base = {
        **(GAN_SETTINGS if family == "gan" else VAE_SETTINGS),
        "width": 8,
        "batch_size": 8,
        "seed": 5,
        "log_every": 1,
        "eval_every": 10,
        "sample_every": 20,
        "checkpoint_every": 5,
        "eval_count": 16,
    }
    settings = {**base, "r1_gamma": 1.0} if family == "gan" else {**base, "kl_warmup_steps": 15, "ema": True}
    straight = TrainJob(shapes, "shapes", family, preset="fast", overrides=settings, steps=20, cpu_threads=THREADS)
    straight(JobContext())
    first = TrainJob(shapes, "shapes", family, preset="fast", overrides=settings, steps=20, cpu_threads=THREADS)
    with pytest.raises(Cancelled):
        first(_stop_at(10, "loss_d" if family == "gan" else "loss"))
    assert complete_steps(first.run_folder / "checkpoints")[-1] == 10
    TrainJob(shapes, "shapes", family, resume=first.run_id, cpu_threads=THREADS)(JobContext())
    weights = final_weights(first.run_folder)
    assert any(k.startswith("ema.") for k in weights)
    if family == "gan":
        assert any("_u" in k for k in weights if k.startswith("discriminator."))  # spectral norm state is saved
    assert_identical(final_weights(straight.run_folder), weights)
    assert logged_steps(first.run_folder) == list(range(1, 21))
    if family == "vae":
        kl_weights = [line["kl_weight"] for line in runs.read_metrics(first.run_folder)]
        assert kl_weights == [line["kl_weight"] for line in runs.read_metrics(straight.run_folder)]
        assert kl_weights[9] < 1.0 and kl_weights[-1] == 1.0  # still warming up at the resume


def test_time_estimate_runs_the_gan_losses_with_penalties(shapes):
    from studio.core.training import estimate

    result = estimate(
        shapes,
        "shapes",
        "gan",
        {**GAN_SETTINGS, "width": 4, "batch_size": 4, "loss": "wgan-gp", "r1_gamma": 1.0, "steps": 100},
    )
    assert result["seconds"] > 0 and result["memory_bytes"] > 0


@pytest.mark.parametrize("loss", ["nonsaturating", "wgan-gp"])
def test_other_losses_train(shapes, loss):
    """Unconditional, no spectral norm, two micro-batches per step: the other paths of the recipe."""
    job = TrainJob(
        shapes,
        "shapes",
        "gan",
        preset="fast",
        steps=3,
        cpu_threads=THREADS,
        overrides={
            **GAN_SETTINGS,
            "width": 4,
            "batch_size": 4,
            "micro_batch": 2,
            "loss": loss,
            "spectral_norm": False,
            "conditional": False,
            "eval_count": 8,
            "diffaugment": "translation,flip",
        },
    )
    result = job(JobContext())
    line = runs.read_metrics(job.run_folder)[-1]
    assert result["step"] == 3 and np.isfinite(line["loss_d"]) and np.isfinite(line["val_kid"])
    assert ("gradient_penalty" in line) == (loss == "wgan-gp")
    assert runs.read_config(job.run_folder)["model"]["classes"] == []


def test_resolution_is_a_setting_and_bad_values_are_refused(shapes):
    assert families.resolve_config("gan", "balanced", {"resolution": "32"})["resolution"] == 32
    assert families.resolve_config("vae", "fast", {"resolution": "128"})["resolution"] == 128
    for family, overrides in (
        ("gan", {"resolution": 48}),
        ("gan", {"loss": "lsgan"}),
        ("gan", {"diffaugment": "colour"}),
        ("vae", {"resolution": 100}),
    ):
        with pytest.raises(JobError) as caught:
            TrainJob(shapes, "shapes", family, preset="fast", steps=1, overrides=overrides, cpu_threads=THREADS)(
                JobContext()
            )
        assert "(it is" in str(caught.value) or "Unknown augmentation" in str(caught.value)
        assert runs.list_runs(shapes) == []  # refused before any run folder


def test_families_are_registered_for_image_datasets():
    for family in ("gan", "vae"):
        info = families.spec(family)
        assert info.kinds == ("image",) and info.description.endswith(".")
        assert set(families.presets(family)) == {"fast", "balanced", "best"}
        assert families.default_config(family)["resolution"] == 64
    defaults = families.default_config("gan")
    assert defaults["ema"] is True and defaults["loss"] == "hinge" and defaults["grad_clip"] == 0.0
