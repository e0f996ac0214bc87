"""The style-transfer family (CycleGAN): its networks, its recipe through the real engine on two generated styles of
the same shapes (flat orange shapes on cream, outlined cyan shapes on navy), the two ways of naming style B
(``dataset_b``, or a dataset with exactly two class folders) and the refusals, resume, the CLI, and its place in the
family table. No Qt (the canvas's handling of a transfer model is in the UI tests).

One 150-step run is trained per module and shared by the tests that inspect it (~10 s on one thread)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from training_helpers import assert_identical, final_weights, logged_steps

from studio.cli import main
from studio.core.datasets.importer import ImportDataset
from studio.core.generation import image_model, model_list, transfer_jobs
from studio.core.jobs import Cancelled, JobContext, JobError, run_job
from studio.core.nets import cyclegan
from studio.core.training import TrainJob, families, runs
from studio.core.training.checkpoints import complete_steps
from studio.core.training.image_cyclegan import CycleGanRecipe

FAMILY = "cyclegan"
THREADS = 1  # as tests/core/training/test_image_models.py: small models on a busy machine run best on one thread
STYLES = {"flat": ((245, 240, 230), (235, 110, 40)), "outline": ((20, 30, 60), (60, 210, 230))}  # background, ink
SETTINGS = {
    "resolution": 32,
    "width": 8,
    "n_blocks": 1,
    "disc_width": 8,
    "batch_size": 2,
    "lr": 2e-3,
    "log_every": 10,
    "eval_every": 150,
    "sample_every": 150,
    "checkpoint_every": 150,
    "eval_count": 16,
    "preview_count": 4,
}


def draw(style: str, rng: np.random.Generator, size: int = 40) -> Image.Image:
    """One circle or square of a random place and size, filled (``flat``) or outlined (``outline``)."""
    background, ink = STYLES[style]
    picture = Image.new("RGB", (size, size), background)
    pen = ImageDraw.Draw(picture)
    r = rng.uniform(0.18, 0.32) * size
    cx, cy = rng.uniform(r + 1, size - r - 1, 2)
    shape = pen.ellipse if rng.integers(2) else pen.rectangle
    if style == "flat":
        shape((cx - r, cy - r, cx + r, cy + r), fill=ink)
    else:
        shape((cx - r, cy - r, cx + r, cy + r), outline=ink, width=3)
    return picture


def make_styles(root: Path, count: int = 40) -> Path:
    """A project with datasets "flat" and "outline" (``count`` pictures each), "both" (the two as class folders) and
    "three" (a third class folder beside them)."""
    rng = np.random.default_rng(3)
    for style in STYLES:
        folder = root / "drop" / style
        folder.mkdir(parents=True)
        for i in range(count):
            draw(style, rng).save(folder / f"{style}{i}.png")
    third = root / "drop3" / "dots"
    third.mkdir(parents=True)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(third / f"dots{i}.png")
    project = root / "Styles"
    for name in STYLES:
        run_job(ImportDataset(project, name, [root / "drop" / name], kind="image", workers=1))
    run_job(ImportDataset(project, "both", [root / "drop" / s for s in STYLES], kind="image", workers=1))
    run_job(ImportDataset(project, "three", [*(root / "drop" / s for s in STYLES), third], kind="image", workers=1))
    return project


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def styles_template(tmp_path_factory) -> Path:
    return make_styles(tmp_path_factory.mktemp("styles"))


@pytest.fixture
def styles(styles_template, tmp_path) -> Path:
    """A fresh copy of the styles project."""
    target = tmp_path / "Styles"
    shutil.copytree(styles_template, target)
    return target


@pytest.fixture(scope="module")
def trained(styles_template, tmp_path_factory) -> TrainJob:
    """150 steps from "flat" (A) to "outline" (B) named by dataset_b."""
    root = tmp_path_factory.mktemp("trained")
    shutil.copytree(styles_template, root / "Styles")
    with pytest.MonkeyPatch.context() as patch:  # module scope: no per-test studio_home fixture here
        patch.setenv("AIGC_STUDIO_HOME", str(root / "studio-home"))
        settings = {**SETTINGS, "dataset_b": "outline"}
        job = TrainJob(root / "Styles", "flat", FAMILY, preset="fast", overrides=settings, steps=150, cpu_threads=1)
        job(JobContext())
    return job


def _pictures(folder: Path) -> np.ndarray:
    """The pictures of a drop folder as the 32 px cache makes them: uint8 (N, 32, 32, 3)."""
    return np.stack([image_model.prepare_image(p, 32) for p in sorted(folder.glob("*.png"))])


def _histogram(pixels: np.ndarray) -> np.ndarray:
    """A 4×4×4-bin colour histogram (shares of pixels): the test's own style statistic, not the recipe's."""
    bins = (pixels.reshape(-1, 3) // 64).astype(np.int64)
    counts = np.bincount((bins[:, 0] * 4 + bins[:, 1]) * 4 + bins[:, 2], minlength=64)
    return counts / counts.sum()


def _recipe(job: TrainJob) -> CycleGanRecipe:
    config = runs.read_config(job.run_folder)["config"]
    folder = job.project_root / "datasets" / "flat"
    return CycleGanRecipe(config, CycleGanRecipe.open_data(folder, config), torch.device("cpu"))


# -- networks -------------------------------------------------------------------------------------------------------
def test_generators_keep_the_picture_size_and_discriminators_judge_patches():
    config = cyclegan.CycleGanConfig(resolution=32, width=4, n_blocks=2)
    generators = cyclegan.build_generators({"kind": FAMILY, **config.to_dict(), "styles": ["a", "b"]}).eval()
    x = torch.rand(3, 3, 48, 64) * 2 - 1  # any size with sides divisible by 4: it is fully convolutional
    for direction in cyclegan.DIRECTIONS:
        y = generators.transfer(x, direction)
        assert y.shape == x.shape and float(y.abs().max()) <= 1.0
    assert not torch.equal(generators.transfer(x, "a2b"), generators.transfer(x, "b2a"))  # two generators
    judges = cyclegan.CycleDiscriminators(
        cyclegan.PatchDiscriminatorConfig(resolution=32, width=4, n_layers=cyclegan.disc_layers_for(32))
    )
    assert judges(torch.zeros(2, 3, 32, 32), "a").shape == (2, 1, 6, 6)  # one logit per overlapping patch
    assert [cyclegan.disc_layers_for(r) for r in (32, 64, 128, 256)] == [2, 3, 3, 3]
    with pytest.raises(ValueError):
        cyclegan.CycleGanConfig.from_dict({"resolution": 64, "width": 10**6})  # a stranger's config.json
    with pytest.raises(ValueError):
        generators(x, "sideways")


def test_losses_reward_the_right_side():
    real, fake = torch.ones(4, 1, 2, 2), -torch.ones(4, 1, 2, 2)
    for kind in cyclegan.LOSSES:
        assert cyclegan.d_loss(kind, real, fake) < cyclegan.d_loss(kind, fake, real)
        assert cyclegan.g_loss(kind, real) < cyclegan.g_loss(kind, fake)


# -- training -------------------------------------------------------------------------------------------------------
def test_a_trained_model_moves_pictures_to_the_other_style_and_back(trained, styles_template):
    """A → B looks like B by the colour histogram, A → B → A gives the input back far better than a random other
    A picture does, and the run's own score improved over the untrained model."""
    drop = styles_template.parent / "drop"
    flat, outline = _pictures(drop / "flat"), _pictures(drop / "outline")
    model = transfer_jobs.load_transfer_model(trained.run_folder)
    assert model.styles == ["flat", "outline"] and model.resolution == 32
    turned = model.transfer_tiles(flat, "a2b")
    to_b = np.abs(_histogram(turned) - _histogram(outline)).sum()
    to_a = np.abs(_histogram(turned) - _histogram(flat)).sum()
    assert to_b < 0.5 * to_a, (to_b, to_a)
    back = model.transfer_tiles(turned, "b2a")
    error = np.abs(back.astype(float) - flat).mean()
    chance = np.abs(np.roll(flat, 1, axis=0).astype(float) - flat).mean()  # each picture against another one
    assert error < 0.5 * chance, (error, chance)

    metrics = runs.read_metrics(trained.run_folder)
    cycle = [line["cycle"] for line in metrics if "cycle" in line]
    assert np.mean(cycle[-3:]) < 0.8 * np.mean(cycle[:3])  # the cycle loss falls
    final = [line for line in metrics if "val_loss" in line][-1]
    recipe = _recipe(trained)
    torch.manual_seed(0)
    untrained = recipe.evaluate({k: m.eval() for k, m in recipe.build_models().items()})
    assert final["val_loss"] < 0.5 * untrained["val_loss"], (final, untrained)
    assert final["val_style_distance_a2b"] < 0.3 * final["val_style_distance_start"]
    assert set(final) >= {"val_cycle_error", "val_style_distance_b2a"}


def test_the_preview_shows_a_pictures_turned_into_b_and_back(trained):
    samples = sorted((trained.run_folder / "samples").glob("step-*.png"))
    assert samples, "no preview was written"
    with Image.open(samples[-1]) as grid:
        assert grid.size == (4 * 32, 3 * 32)  # preview_count columns; rows: A, A → B, A → B → A
    description = runs.read_config(trained.run_folder)["model"]
    assert description["kind"] == FAMILY and description["styles"] == ["flat", "outline"]


def _stop_at(step: int) -> JobContext:
    ctx = JobContext()
    ctx._on_metrics = lambda values: ctx.cancel() if values.get("step") == step and "loss_d" in values else None
    return ctx


def test_two_class_folders_train_and_resume_equals_a_straight_run(styles):
    """The dataset "both" (class folders flat/ and outline/) trains with no dataset_b; 10 steps + stop + resume +
    10 steps == 20 steps straight, bit for bit (the random B pictures come from the checkpointed generator)."""
    settings = {**SETTINGS, "width": 4, "disc_width": 4, "seed": 5, "log_every": 1, "checkpoint_every": 5}
    settings.update({"eval_every": 10, "sample_every": 20, "ema": True})
    straight = TrainJob(styles, "both", FAMILY, preset="fast", overrides=settings, steps=20, cpu_threads=THREADS)
    straight(JobContext())
    first = TrainJob(styles, "both", FAMILY, preset="fast", overrides=settings, steps=20, cpu_threads=THREADS)
    with pytest.raises(Cancelled):
        first(_stop_at(10))
    assert complete_steps(first.run_folder / "checkpoints")[-1] == 10
    TrainJob(styles, "both", FAMILY, resume=first.run_id, cpu_threads=THREADS)(JobContext())
    weights = final_weights(first.run_folder)
    assert any(k.startswith("ema.generators.") for k in weights)
    assert_identical(final_weights(straight.run_folder), weights)
    assert logged_steps(first.run_folder) == list(range(1, 21))
    assert runs.read_config(first.run_folder)["model"]["styles"] == ["flat", "outline"]  # class 0 = A, class 1 = B


@pytest.mark.parametrize(
    ("dataset", "dataset_b", "words"),
    [
        ("flat", "", "1 class folder (flat)"),
        ("three", "", "3 class folders"),
        ("flat", "nowhere", "no dataset “nowhere”"),
        ("flat", "flat", "itself"),
        ("flat", "../flat", "not a dataset name"),
    ],
)
def test_anything_but_two_styles_is_refused_with_what_to_do(styles, dataset, dataset_b, words):
    config = families.resolve_config(FAMILY, "fast", {**SETTINGS, "dataset_b": dataset_b})
    with pytest.raises(JobError) as refused:
        CycleGanRecipe.prepare_data(styles / "datasets" / dataset, config, JobContext())
    assert words in str(refused.value) and "dataset_b" in str(refused.value)
    assert not list((styles / "datasets" / dataset).glob("cache/images_*"))  # refused before any cache is built


def test_dataset_b_must_hold_pictures(styles, tmp_path):
    (tmp_path / "copy.txt").write_text("Our new mug. Made to last.\n" * 20)
    run_job(ImportDataset(styles, "copy", [tmp_path / "copy.txt"], kind="text"))
    config = families.resolve_config(FAMILY, "fast", {**SETTINGS, "dataset_b": "copy"})
    with pytest.raises(JobError, match="holds text files"):
        CycleGanRecipe.prepare_data(styles / "datasets" / "flat", config, JobContext())


def test_the_cli_trains_with_set_dataset_b(styles, capsys):
    sizes = [f"{key}={SETTINGS[key]}" for key in ("resolution", "batch_size", "eval_count")]
    args = ["train", "--project", str(styles), "--dataset", "flat", "--model", FAMILY, "--preset", "fast"]
    args += ["--steps", "3", "--set", "dataset_b=outline", "--set", "width=4", "--set", "n_blocks=1"]
    for pair in sizes:
        args += ["--set", pair]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["step"] == 3 and result["run_id"].endswith("-cyclegan")
    record = runs.read_config(styles / "runs" / result["run_id"])
    assert record["config"]["dataset_b"] == "outline" and record["model"]["styles"] == ["flat", "outline"]


# -- the family table -----------------------------------------------------------------------------------------------
def test_registered_once_and_listed_as_a_transfer_model_not_a_generator(trained):
    spec = families.spec(FAMILY)
    assert spec in families.available() and spec.kinds == ("image",) and families.panel_of(FAMILY) == "image"
    assert spec.generator is not None and spec.generator.makes == "transfer"
    assert families.ids(transfer_jobs.transfer_families()) == (FAMILY,)
    assert FAMILY not in families.ids(image_model.image_families())
    for preset in families.PRESET_KEYS:  # CPU presets are smaller than the GPU ones, GPU ones at 128-256 px
        gpu, cpu = families.resolve_config(FAMILY, preset), families.resolve_config(FAMILY, preset, device_kind="cpu")
        assert 128 <= gpu["resolution"] <= 256 and cpu["width"] <= gpu["width"]
    entries = model_list.list_models(trained.project_root, "image")
    entry = next(e for e in entries if e.run_id == trained.run_id)
    assert entry.makes == "transfer" and entry.label == "CycleGAN" and entry.steps == [150]
    with pytest.raises(JobError, match="not an image generator"):  # the grid's loader refuses it in words
        image_model.read_model_config(trained.run_folder)
    with pytest.raises(JobError, match="no GAN"):  # "latest" of `generate image` never picks it
        image_model.resolve_run(trained.project_root, "latest")
