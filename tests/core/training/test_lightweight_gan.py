"""The lightweight GAN family (FastGAN): its networks, its recipe through the real engine on generated shapes, its
resume, generation through the family table (the CLI, the canvas jobs, PNG settings that regenerate exactly) and
its place in the model suggestion. No Qt: the Training list and "Open in canvas" are in tests/ui/test_family_table.py.

One 200-step run is trained per module and shared by the tests that inspect it (~10 s on one thread)."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from training_helpers import assert_identical, final_weights, logged_steps

from studio.core.datasets.importer import ImportDataset
from studio.core.generation import image_model, model_list, png_settings
from studio.core.generation.image_jobs import ExportImages, GenerateGrid, GenerateVariations, MakeLatentWalk
from studio.core.jobs import Cancelled, JobContext, run_job
from studio.core.nets import lightweight_gan as fastgan
from studio.core.training import TrainJob, families, runs
from studio.core.training.checkpoints import complete_steps
from studio.core.training.image_lightweight_gan import LightweightGanRecipe
from studio.core.training.suggest import DatasetFacts, suggest

FAMILY = "lightweight_gan"
CLASSES = ("circles", "squares", "triangles")
THREADS = 1  # as tests/core/training/test_image_models.py: small models on a busy machine run best on one thread
SETTINGS = {
    "resolution": 32,
    "width": 8,
    "z_dim": 32,
    "batch_size": 16,
    "ema_decay": 0.95,
    "lr": 1e-3,
    "log_every": 10,
    "eval_every": 200,
    "sample_every": 200,
    "checkpoint_every": 200,
    "eval_count": 96,
}


def make_shapes(root: Path, per_class: int = 24, size: int = 40) -> Path:
    """A project with dataset "shapes": ``per_class`` pictures of each of 3 shapes, one shape of a random colour,
    place and size on a contrasting random background."""
    rng = np.random.default_rng(11)
    for label in CLASSES:
        folder = root / "drop" / label
        folder.mkdir(parents=True)
        for i in range(per_class):
            background = rng.integers(0, 256, 3)
            fill = tuple(int(v) for v in (background + rng.integers(80, 176, 3)) % 256)
            picture = Image.new("RGB", (size, size), tuple(int(v) for v in background))
            draw = ImageDraw.Draw(picture)
            r = rng.uniform(0.2, 0.35) * size
            cx, cy = rng.uniform(r, size - r, 2)
            if label == "circles":
                draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
            elif label == "squares":
                draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=fill)
            else:
                draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fill)
            picture.save(folder / f"{label}{i}.png")
    project = root / "Shapes"
    run_job(ImportDataset(project, "shapes", [root / "drop"], kind="image", workers=1))
    return project


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def shapes_template(tmp_path_factory) -> Path:
    return make_shapes(tmp_path_factory.mktemp("lw-shapes"))


@pytest.fixture
def shapes(shapes_template, tmp_path) -> Path:
    target = tmp_path / "Shapes"
    shutil.copytree(shapes_template, target)
    return target


@pytest.fixture(scope="module")
def trained(shapes_template, tmp_path_factory):
    """(job, seconds) of 200 steps on the shapes, conditional on the 3 classes."""
    root = tmp_path_factory.mktemp("lw-run")
    shutil.copytree(shapes_template, root / "Shapes")
    with pytest.MonkeyPatch.context() as patch:  # module scope: no per-test studio_home fixture here
        patch.setenv("AIGC_STUDIO_HOME", str(root / "studio-home"))
        torch.set_num_threads(THREADS)
        job = TrainJob(root / "Shapes", "shapes", FAMILY, "fast", SETTINGS, steps=200, cpu_threads=THREADS)
        started = time.perf_counter()
        job(JobContext())
        yield job, time.perf_counter() - started
    image_model.clear_cache()


def _ema_generator(run_folder: Path) -> fastgan.Generator:
    model = runs.read_config(run_folder)["model"]
    generator = fastgan.build_generator(model)
    prefix = "ema.generator."
    weights = final_weights(run_folder)
    generator.load_state_dict({k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)}, strict=True)
    return generator.eval()


# -- networks -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("resolution", [32, 64, 128, 256])
def test_networks_scale_with_the_resolution(resolution):
    G = fastgan.Generator(fastgan.GeneratorConfig(resolution=resolution, z_dim=8, width=4, num_classes=2))
    config = fastgan.DiscriminatorConfig(resolution=resolution, width=4, num_classes=2)
    D, decoders = fastgan.Discriminator(config), fastgan.Decoders(config)
    labels = torch.tensor([0, 1, 1])
    images = G(torch.randn(3, 8), labels)
    assert images.shape == (3, 3, resolution, resolution) and images.abs().max() <= 1
    assert D(images, labels).shape == (3,)
    # one up block per doubling from 4 px, one down block per halving to 8 px, an excitation 8x apart
    assert len(G.ups) == int(np.log2(resolution)) - 2 and len(D.downs) == int(np.log2(resolution)) - 3
    assert sorted(int(k) for k in G.excite) == [s for s in (32, 64, 128, 256) if s <= resolution]
    logits, f16, f8 = D(images, labels, features=True)
    assert logits.shape == (3,)
    assert f16.shape[-2:] == (16, 16) and f8.shape[-2:] == (8, 8)
    recon = decoders(f16[:2], f8[:2], images[:2], quadrant=3)
    assert recon.shape == () and float(recon.detach()) > 0
    assert decoders.whole_size == max(16, min(resolution // 2, 128)) and decoders.part_size == min(resolution // 2, 128)
    with pytest.raises(ValueError):
        fastgan.GeneratorConfig(resolution=48)


def test_the_generator_is_deterministic_for_a_fixed_batch_and_the_excitation_is_wired():
    torch.manual_seed(0)
    G = fastgan.Generator(fastgan.GeneratorConfig(resolution=32, z_dim=16, width=8)).eval()
    z = torch.randn(16, 16)
    with torch.no_grad():
        first, second = G.generate(z), G.generate(z.clone())
    assert torch.equal(first, second)  # the same latents, the same batch shape: the same bits
    with torch.no_grad():
        G.excite["32"].excite.weight.zero_()  # every gate becomes sigmoid(0) = 0.5
        gated = G.generate(z)
    assert not torch.equal(gated, first)  # the 4 px map really gates the 32 px one
    with pytest.raises(ValueError, match="class-conditional"):
        fastgan.Generator(fastgan.GeneratorConfig(resolution=32, z_dim=4, width=4, num_classes=2))(torch.randn(1, 4))


def test_the_recipe_rebuilds_the_real_pictures_only(shapes):
    """In the discriminator's phase the reconstruction loss depends on the real half of the batch alone, a quarter
    is drawn per step, and it trains the decoders and the discriminator's trunk but not its judging head."""
    config = families.resolve_config(FAMILY, "fast", {**SETTINGS, "width": 4, "batch_size": 4}, "cpu")
    LightweightGanRecipe.prepare_data(shapes / "datasets" / "shapes", config, JobContext())
    data = LightweightGanRecipe.open_data(shapes / "datasets" / "shapes", config)
    recipe = LightweightGanRecipe(config, data, torch.device("cpu"))
    torch.manual_seed(0)
    models = recipe.build_models()
    assert set(models) == {"generator", "discriminator", "decoders"}
    optimizers = recipe.build_optimizers(models)
    assert sum(len(g["params"]) for g in optimizers["discriminator"].param_groups) == len(
        [*models["discriminator"].parameters(), *models["decoders"].parameters()]
    )
    for model in models.values():
        model.eval()  # no spectral-norm power iteration, no batch statistics: two calls compare exactly
    batch = recipe.load_batch([0, 1, 2, 3])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(recipe, "_augment", lambda x: x)  # DiffAugment draws too: without it only the quarter does
        torch.manual_seed(1)
        loss, logs = recipe.discriminator_loss(models, batch)
        torch.manual_seed(1)
        patch.setattr(models["generator"], "forward", lambda z, labels=None: -torch.ones(len(z), 3, 32, 32))
        _, other = recipe.discriminator_loss(models, batch)  # other fakes, the same reals and quarter
    assert torch.equal(logs["recon"], other["recon"]) and logs["d_fake"] != other["d_fake"]
    loss.backward()
    D, decoders = models["discriminator"], models["decoders"]
    assert decoders.whole.to_rgb.weight.grad is not None and decoders.part.to_rgb.weight.grad is not None
    assert D.downs[0].down.parametrizations.weight.original.grad is not None
    recon = decoders(*D(batch[0], batch[1], features=True)[1:], batch[0], quadrant=2)
    head = D.logit.parametrizations.weight.original
    assert torch.autograd.grad(recon, head, allow_unused=True)[0] is None  # the judging head learns no rebuilding


# -- the recipe through the engine ----------------------------------------------------------------------------
@pytest.mark.slow
def test_200_steps_describe_the_generator_and_the_reconstruction_loss_falls(trained):
    job, seconds = trained
    print(f"lightweight GAN 200 steps: {seconds:.1f} s")
    model = runs.read_config(job.run_folder)["model"]
    assert model == {
        "kind": FAMILY,
        "resolution": 32,
        "z_dim": 32,
        "width": 8,
        "num_classes": 3,
        "classes": list(CLASSES),
        "weights": "generator",
        "ema": True,
    }
    weights = final_weights(job.run_folder)
    assert any(k.startswith("decoders.part.") for k in weights) and any(k.startswith("discriminator.") for k in weights)
    assert not any(k.startswith(("ema.discriminator.", "ema.decoders.")) for k in weights)  # EMA: the generator only
    _ema_generator(job.run_folder)  # the EMA generator loads strictly from describe()
    lines = runs.read_metrics(job.run_folder)
    recon = [line["recon"] for line in lines if "recon" in line]
    assert len(recon) == 20 and all(np.isfinite(recon))
    print(f"recon {np.mean(recon[:3]):.3f} -> {np.mean(recon[-3:]):.3f}")
    assert np.mean(recon[-3:]) < 0.5 * np.mean(recon[:3])
    scores = {"val_kid", "val_fid", "val_precision", "val_recall"}
    assert {"loss_d", "loss_g", "d_real", "d_fake", *scores} <= lines[-1].keys()
    assert (job.run_folder / "samples" / "step-000200.png").is_file()


@pytest.mark.slow
def test_the_quality_score_improves_over_the_untrained_generator(trained):
    job, _ = trained
    config = runs.read_config(job.run_folder)["config"]
    data = LightweightGanRecipe.open_data(job.project_root / "datasets" / "shapes", config)
    recipe = LightweightGanRecipe(config, data, torch.device("cpu"))
    torch.manual_seed(config["seed"])
    fresh = recipe.build_models()["generator"].eval()
    before = recipe.evaluate({"generator": fresh})
    after = recipe.evaluate({"generator": _ema_generator(job.run_folder)})
    print(f"val_kid {before['val_kid']:.2f} -> {after['val_kid']:.2f}")
    print(f"val_fid {before['val_fid']:.0f} -> {after['val_fid']:.0f}")
    assert after["val_kid"] < 0.5 * before["val_kid"] and after["val_fid"] < before["val_fid"]


def _stop_at(step: int) -> JobContext:
    ctx = JobContext()
    ctx._on_metrics = lambda values: ctx.cancel() if values.get("step") == step and "loss_d" in values else None
    return ctx


def test_resume_equals_straight_run(shapes):
    """10 steps + stop + resume + 10 steps == 20 straight, bit for bit: weights, EMA, the spectral norm's vectors
    and the decoders (the quarter each step rebuilds comes from the saved random stream)."""
    settings = {
        **SETTINGS,
        "width": 4,
        "batch_size": 8,
        "seed": 5,
        "log_every": 1,
        "eval_every": 10,
        "sample_every": 20,
        "checkpoint_every": 5,
        "eval_count": 16,
        "r1_gamma": 1.0,
    }
    straight = TrainJob(shapes, "shapes", FAMILY, "fast", settings, steps=20, cpu_threads=THREADS)
    straight(JobContext())
    first = TrainJob(shapes, "shapes", FAMILY, "fast", settings, steps=20, cpu_threads=THREADS)
    with pytest.raises(Cancelled):
        first(_stop_at(10))
    assert complete_steps(first.run_folder / "checkpoints")[-1] == 10
    TrainJob(shapes, "shapes", FAMILY, resume=first.run_id, cpu_threads=THREADS)(JobContext())
    weights = final_weights(first.run_folder)
    assert any(k.startswith("ema.generator.") for k in weights) and any("_u" in k for k in weights)
    assert_identical(final_weights(straight.run_folder), weights)
    assert logged_steps(first.run_folder) == list(range(1, 21))


# -- generation through the family table ----------------------------------------------------------------------
@pytest.mark.slow
def test_the_cli_and_the_canvas_jobs_generate_byte_identical_pictures(trained, tmp_path, capsys):
    import json

    from studio.cli import main

    job, _ = trained
    root = job.project_root
    args = ["generate", "image", "--project", str(root), "--run", "latest", "--count", "3", "--seed", "7"]
    outputs = []
    for name in ("a", "b"):
        capsys.readouterr()
        assert main([*args, "--class", "squares", "--out", str(tmp_path / name)]) == 0
        outputs.append(json.loads(capsys.readouterr().out)["files"])
    assert [Path(p).read_bytes() for p in outputs[0]] == [Path(p).read_bytes() for p in outputs[1]]
    assert png_settings.read_settings(Path(outputs[0][0]))["kind"] == FAMILY
    folder = job.run_folder
    grid = run_job(GenerateGrid(folder, seed=7, count=20, class_name="squares"))
    assert grid["images"].shape == (20, 32, 32, 3) and len({im.tobytes() for im in grid["images"]}) == 20
    assert np.array_equal(grid["images"][:3], np.stack([np.asarray(Image.open(p)) for p in outputs[0]]))
    variations = run_job(GenerateVariations(folder, grid["settings"][17], seed=3, count=4, strength=0.3))
    walk = run_job(MakeLatentWalk(folder, grid["settings"][:3], tmp_path / "walk.gif", frames_per_leg=4))
    images = [grid["images"][17], variations["images"][2], walk["frames"][5]]
    settings = [grid["settings"][17], variations["settings"][2], walk["frame_settings"][5]]
    files = run_job(ExportImages(images, settings, tmp_path / "out", 2, "lanczos"))["files"]
    image_model.clear_cache()  # regenerate loads the model again, as a fresh session would
    for path in files:
        stored = np.asarray(Image.open(path).convert("RGB"))
        assert np.array_equal(png_settings.regenerate(root, png_settings.read_settings(path)), stored), path
    base = grid["images"][17].astype(int)
    assert np.abs(variations["images"].astype(int) - base).mean() < np.abs(grid["images"][:4].astype(int) - base).mean()


@pytest.mark.slow
def test_the_image_panel_lists_the_run_as_a_lightweight_gan(trained):
    job, _ = trained
    entries = {entry.run_id: entry for entry in model_list.list_models(job.project_root, "image")}
    entry = entries[job.run_id]
    assert (entry.family, entry.label, entry.resolution, entry.steps) == (FAMILY, "Lightweight GAN", 32, [200])
    assert entry.classes == list(CLASSES)
    assert not image_model.cached_model(job.run_folder).can_encode  # a GAN: no rebuild or morph offered


# -- the family table's record ----------------------------------------------------------------------------------
def test_the_record_trains_at_32_px_on_a_cpu_and_128_to_256_px_on_a_gpu():
    spec = families.spec(FAMILY)
    assert spec.panel == "image" and families.panel_of(FAMILY) == "image" and spec in families.for_panel("image")
    assert families.load_recipe_class(FAMILY) is LightweightGanRecipe
    cpu = {name: families.resolve_config(FAMILY, name, device_kind="cpu")["resolution"] for name in spec.presets}
    gpu = {name: families.resolve_config(FAMILY, name, device_kind="cuda")["resolution"] for name in spec.presets}
    assert cpu == {"fast": 32, "balanced": 32, "best": 64} and gpu == {"fast": 128, "balanced": 128, "best": 256}
    assert families.resolve_config(FAMILY, "fast", {"resolution": "64"}, "cpu")["resolution"] == 64


def test_it_is_the_suggested_image_model_below_5000_pictures_and_the_dcgan_above():
    small = DatasetFacts(kind="image", items=538, classes=1, typical_side=64)
    suggestion = suggest(small)
    assert suggestion.family == FAMILY and suggestion.settings == {"resolution": 64, "conditional": False}
    assert suggestion.reasons[0] == "Image GAN for small sets (FastGAN): 538 pictures, fewer than 5,000"
    assert suggest(replace(small, items=5000)).family == "gan"  # from 5,000 on, the table's order decides again
    # the rule reads the record's field, not the id: another family for even smaller sets wins below its bound
    tiny = replace(families.spec(FAMILY), id="tiny_gan", recommended_below=100)
    table = [*families.available(), tiny]
    assert suggest(replace(small, items=99), table).family == "tiny_gan"
    assert suggest(replace(small, items=100), table).family == FAMILY
    with pytest.raises(ValueError, match="recommended_below -1"):
        families.register(replace(tiny, recommended_below=-1))


@pytest.mark.slow
def test_a_starter_model_keeps_the_ema_generator_and_draws_the_same_pictures(trained, tmp_path):
    from studio.core.generation.image_model import LatentSource, load_image_model
    from studio.core.generation.starter import export_starter

    job, _ = trained
    card = export_starter(job.run_folder, tmp_path / "starter-shapes-fastgan", {"data": "generated shapes"})
    assert (card["kind"], card["weights"], card["trained_steps"]) == (FAMILY, "EMA", 200)
    kept = final_weights(tmp_path / "starter-shapes-fastgan")
    assert kept and all(k.startswith("ema.generator.") for k in kept)  # no discriminator, no decoders
    starter, run = load_image_model(tmp_path / "starter-shapes-fastgan"), load_image_model(job.run_folder)
    assert np.array_equal(starter.render(LatentSource(7), range(3), 1), run.render(LatentSource(7), range(3), 1))
