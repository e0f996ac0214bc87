"""A model family is one registration: a toy family registered here, in the test module only (its recipe and its
generating network are defined below, nowhere in studio/), trains through the real TrainJob, appears in the
Training panel's model list, opens in the panel the family table names, and generates PNGs through the CLI.

Nothing in studio/ knows the toy family: if any layer kept its own list of families, one of these steps fails."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from PySide6.QtCore import Qt
from torch import nn

from studio.core.datasets.importer import ImportDataset
from studio.core.generation import image_model
from studio.core.generation.png_settings import read_settings
from studio.core.jobs import JobContext, run_job
from studio.core.training import TrainJob, families, runs
from studio.core.training.families import FamilySpec, Generator
from studio.core.training.recipe_base import Phase, adamw
from studio.core.training.reference import ReferenceRecipe
from studio.ui.backends.canvas import CanvasBackend
from studio.ui.backends.training import CatalogJob, TrainingBackend
from studio.ui.widgets.training.checkpoint_list import CheckpointList
from studio.ui.widgets.training.setup_card import TrainingSetup

RES, Z_DIM = 32, 8


class ToyGenerator(nn.Module):
    """(N, z_dim) latents -> (N, 3, R, R) pictures in [-1, 1]: one linear layer, nothing else."""

    def __init__(self, z_dim: int, resolution: int) -> None:
        super().__init__()
        self.resolution = resolution
        self.linear = nn.Linear(z_dim, 3 * resolution * resolution)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return torch.tanh(self.linear(z)).view(-1, 3, self.resolution, self.resolution)


def build_toy(model: dict) -> ToyGenerator:
    """The family table's build function: describe()'s dict -> the network (on any device, meta included)."""
    return ToyGenerator(int(model["z_dim"]), int(model["resolution"]))


class ToyRecipe(ReferenceRecipe):
    """The reference recipe's image data (the 32 px cache), with the toy generator learning to map fixed latents
    onto the pictures of a batch."""

    family = "toy"

    def build_models(self) -> dict[str, nn.Module]:
        return {"generator": build_toy(self.describe())}

    def build_optimizers(self, models):
        return {"generator": adamw(models["generator"].parameters(), self.config["lr"], 0.0, self.device)}

    def phases(self) -> list[Phase]:
        return [Phase("generator", self.toy_loss)]

    def ema_models(self) -> list[str]:
        return []

    def toy_loss(self, models, images: torch.Tensor):
        z = torch.randn(len(images), Z_DIM, generator=torch.Generator().manual_seed(0)).to(images.device)
        loss = F.mse_loss(models["generator"](z), images)
        return loss, {"loss": loss.detach()}

    def evaluate(self, models) -> dict[str, float]:
        return {}

    def preview(self, models, step: int, folder: Path) -> dict | None:
        return None

    def describe(self) -> dict:
        return {"kind": "toy", "resolution": RES, "z_dim": Z_DIM, "classes": [], "weights": "generator"}


TOY = FamilySpec(
    id="toy",
    title="Toy picture maker",
    short="Toy",
    description="One linear layer from a latent to a picture: the family-table test's own family.",
    kinds=("image",),
    recipe=f"{__name__}:ToyRecipe",
    preview="image",
    panel="image",
    generator=Generator(weights="generator", build=f"{__name__}:build_toy", makes="image"),
    defaults={"resolution": RES, "fit": "crop", "steps": 3, "batch_size": 4, "log_every": 1, "checkpoint_every": 3},
    presets={"fast": {}, "balanced": {}, "best": {"steps": 6}},
)


@pytest.fixture
def toy_family():
    families.register(TOY)
    yield TOY
    families.unregister("toy")
    image_model.clear_cache()


@pytest.fixture
def trained(toy_family, tmp_path) -> tuple[Path, str]:
    """A project with a picture dataset and one toy run of 3 steps: (project root, run id)."""
    rng = np.random.default_rng(0)
    drop = tmp_path / "drop"
    drop.mkdir()
    for i in range(8):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(drop / f"noise{i}.png")
    root = tmp_path / "Project"
    run_job(ImportDataset(root, "pics", [drop], kind="image", workers=1))
    job = TrainJob(root, "pics", "toy", preset="fast", cpu_threads=1)
    result = job(JobContext())
    assert result["step"] == 3 and job.run_id.endswith("-toy")
    assert [c.step for c in runs.checkpoints(job.run_folder)] == [3]
    return root, str(job.run_id)


def test_a_registered_family_is_listed_opened_and_generated_with_no_other_change(qtbot, trained, capsys):
    root, run_id = trained
    run_folder = root / "runs" / run_id

    # the Training panel's model list (its "New run" card, filled by the real catalogue job)
    catalog = CatalogJob(TrainingBackend(), root)(JobContext())
    setup = TrainingSetup()
    qtbot.addWidget(setup)
    setup.set_catalog(catalog["families"], catalog["presets"], catalog["defaults"])
    setup.set_datasets({"pics": {"kind": "image", "items": 8}})
    offered = {setup.family.itemData(i): setup.family.itemText(i) for i in range(setup.family.count())}
    assert offered["toy"] == "Toy picture maker"
    setup.select_family("toy")
    assert setup.family_hint.text() == TOY.description and setup.preset_config("best")["steps"] == 6

    # "Open in …" on its checkpoint goes to the panel the table names, and moves when the table says otherwise
    checkpoints = CheckpointList()
    qtbot.addWidget(checkpoints)
    checkpoints.set_checkpoints(TrainingBackend().checkpoints(run_folder), "toy")
    assert checkpoints.open_button.text() == "Open in canvas"
    with qtbot.waitSignal(checkpoints.open_requested) as opened:
        qtbot.mouseClick(checkpoints.open_button, Qt.MouseButton.LeftButton)
    assert opened.args[0] == "image" and Path(opened.args[1]).name == "step-000003.json"
    families.register(replace(TOY, panel="text"))
    checkpoints.set_checkpoints(TrainingBackend().checkpoints(run_folder), "toy")
    assert checkpoints.open_button.text() == "Open in writer"
    families.register(TOY)

    # the image panel lists the run (and says what it is), the writer's list does not
    listed = {m["run_id"]: m for m in CanvasBackend().list_models(root)}
    assert listed[run_id]["label"] == "Toy" and listed[run_id]["steps"] == [3]
    assert not listed[run_id]["can_encode"]  # the toy network has no encoder: no rebuild or morph offered

    # the CLI generates through it, in this process (the registration lives here)
    from studio.cli import main

    out = root / "outputs" / "toy"
    capsys.readouterr()
    code = main(["generate", "image", "--project", str(root), "--run", "latest", "--count", "3", "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    result = json.loads(printed.out)
    assert result["run_id"] == run_id and result["step"] == 3 and len(result["files"]) == 3
    for path in result["files"]:
        with Image.open(path) as picture:
            assert picture.size == (RES, RES)
        assert read_settings(Path(path))["kind"] == "toy"  # the settings that regenerate it name its family
    pixels = [np.asarray(Image.open(path)) for path in result["files"]]
    assert not np.array_equal(pixels[0], pixels[1])  # three latents, three pictures

    # a family the table sends elsewhere is refused by the image commands, in the table's words
    families.register(replace(TOY, panel="text"))
    code = main(["generate", "image", "--project", str(root), "--run", run_id, "--out", str(out)])
    makers = [s for s in families.for_panel("image") if s.generator is not None and s.generator.makes == "image"]
    accepted = families.labels(makers)  # the built-in families that make pictures from latents: "GAN, VAE or ..."
    assert code == 2 and f"not an image generator; pick a {accepted} run" in capsys.readouterr().err


def test_the_lightweight_gan_is_offered_for_training_and_opens_in_the_canvas(qtbot, tmp_path, monkeypatch):
    """A built-in family added by one registration (issue 19): a 2-step run of it is listed and opened like any."""
    from studio.core.training.image_lightweight_gan import LightweightGanRecipe

    monkeypatch.setattr(LightweightGanRecipe, "evaluate", lambda self, models: {})  # seconds, and not the point here
    spec = families.spec("lightweight_gan")
    rng = np.random.default_rng(1)
    drop = tmp_path / "drop"
    drop.mkdir()
    for i in range(8):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(drop / f"noise{i}.png")
    root = tmp_path / "Project"
    run_job(ImportDataset(root, "pics", [drop], kind="image", workers=1))
    settings = {"resolution": 32, "width": 4, "z_dim": 8, "batch_size": 4, "eval_every": 100, "sample_every": 100}
    job = TrainJob(root, "pics", spec.id, "fast", settings, steps=2, checkpoint_every=2, cpu_threads=1)
    job(JobContext())

    catalog = CatalogJob(TrainingBackend(), root)(JobContext())
    setup = TrainingSetup()
    qtbot.addWidget(setup)
    setup.set_catalog(catalog["families"], catalog["presets"], catalog["defaults"])
    setup.set_datasets({"pics": {"kind": "image", "items": 8}})
    offered = {setup.family.itemData(i): setup.family.itemText(i) for i in range(setup.family.count())}
    assert offered[spec.id] == spec.title
    setup.select_family(spec.id)
    assert setup.family_hint.text() == spec.description

    checkpoints = CheckpointList()
    qtbot.addWidget(checkpoints)
    checkpoints.set_checkpoints(TrainingBackend().checkpoints(job.run_folder), spec.id)
    assert checkpoints.open_button.text() == "Open in canvas"
    with qtbot.waitSignal(checkpoints.open_requested) as opened:
        qtbot.mouseClick(checkpoints.open_button, Qt.MouseButton.LeftButton)
    assert opened.args[0] == "image" and Path(opened.args[1]).name == "step-000002.json"
    listed = {m["run_id"]: m for m in CanvasBackend().list_models(root)}
    assert listed[job.run_id]["label"] == spec.label == "Lightweight GAN" and not listed[job.run_id]["can_encode"]
    image_model.clear_cache()
