"""Small helpers shared by the training tests (a module with a unique name: several test folders have a conftest)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file

from studio.core.datasets.importer import ImportDataset
from studio.core.jobs import run_job
from studio.core.training import runs
from studio.core.training.recipe_base import Phase
from studio.core.training.reference import ReferenceRecipe


def final_weights(run_folder: Path) -> dict[str, torch.Tensor]:
    """The weights of the run's newest checkpoint."""
    return load_file(str(runs.checkpoints(run_folder)[-1].path_weights))


def assert_identical(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    different = [key for key in a if not torch.equal(a[key], b[key])]
    assert different == []


def logged_steps(run_folder: Path) -> list[int]:
    return [line["step"] for line in runs.read_metrics(run_folder)]


STUDIO = (sys.executable, "-m", "studio")  # the CLI, as a user's shell runs it


def train_args(project: Path) -> tuple[str, ...]:
    """``train --project P --dataset pics --model reference``: the run every CLI test starts, before its own flags."""
    return ("train", "--project", str(project), "--dataset", "pics", "--model", "reference")


# small, fast settings: every test overrides only what it is about
FAST = {
    "batch_size": 8,
    "width": 4,
    "latent_channels": 4,
    "warmup_steps": 3,
    "log_every": 1,
    "eval_every": 5,
    "sample_every": 10,
    "checkpoint_every": 5,
    "keep_last": 2,
}


def make_project(root: Path) -> Path:
    rng = np.random.default_rng(0)
    source = root / "drop"
    for label in ("circles", "squares"):
        for i in range(12):
            pixels = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
            folder = source / label
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(folder / f"{label}{i}.png")
    project = root / "Project"
    run_job(ImportDataset(project, "pics", [source], kind="image", workers=1))
    return project


class PoisonedRecipe(ReferenceRecipe):
    """The reference recipe with injected failures, set per test on the class:
    ``nan_calls`` (1-based loss calls whose loss is NaN), ``nan_from`` (every call from then on) and
    ``oom_above`` (raise torch.OutOfMemoryError for micro-batches with more items than this) and
    ``val_losses`` (validation values to report, in order, instead of measuring); ``two_phases`` puts a
    healthy phase first (as a GAN's discriminator step precedes its generator step), counting the items
    it learned from in ``first_phase_items``."""

    family = "poisoned"
    nan_calls: ClassVar[set] = set()
    nan_from: int | None = None
    oom_above: int | None = None
    val_losses: ClassVar[list] = []  # when set, evaluations report these values in turn
    two_phases = False
    first_phase_items = 0

    def __init__(self, config, data, device) -> None:
        super().__init__(config, data, device)
        self.calls = 0

    def phases(self):
        poisoned = [Phase("autoencoder", self.poisoned_loss)]
        return [Phase("autoencoder", self.healthy_loss), *poisoned] if self.two_phases else poisoned

    def healthy_loss(self, models, images):
        type(self).first_phase_items += len(images)
        return self.reconstruction_loss(models, images)

    def poisoned_loss(self, models, images):
        self.calls += 1
        if self.oom_above is not None and len(images) > self.oom_above:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (simulated)")
        loss, _logs = self.reconstruction_loss(models, images)
        if self.calls in self.nan_calls or (self.nan_from is not None and self.calls >= self.nan_from):
            loss = loss * float("nan")
        return loss, {"loss": loss.detach()}

    def evaluate(self, models):
        if self.val_losses:
            return {"val_loss": self.val_losses.pop(0)}
        return super().evaluate(models)
