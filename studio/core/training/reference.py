"""Family "reference": a tiny convolutional autoencoder (studio/core/nets/autoencoder.py) on the 32 px image cache.

It exists to prove the whole path — cache, engine, checkpoints, resume, DDP, the panel — in seconds on a
CPU, and it is the model the tests and the self-test train. Reconstruction is a real task with a real
validation loss, so curves, early stopping and "best checkpoint" all behave as they will for big models.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from studio.core.atomic import atomic_write_bytes
from studio.core.datasets.image_cache import BuildImageCache, ImageCache
from studio.core.jobs import JobError, run_job
from studio.core.nets.autoencoder import AutoencoderConfig, TinyAutoencoder
from studio.core.training.recipe_base import Phase, Recipe, adamw

PRELOAD_LIMIT_BYTES = 2 << 30  # 2 GiB of uint8 pixels (~170,000 pictures at 64 px) fit beside any model


class ReferenceRecipe(Recipe):
    family = "reference"

    def __init__(self, config: dict, data, device: torch.device) -> None:
        super().__init__(config, data, device)
        self.train_items = np.asarray(data.train_indices, np.int64)  # cache rows of the training split
        self.val_items = np.asarray(data.val_indices, np.int64)
        if len(self.train_items) == 0:
            raise JobError("The dataset has no training pictures (all are in the validation split or unreadable).")
        if device.type == "cuda" and data.images.nbytes <= PRELOAD_LIMIT_BYTES:
            data.preload(device)  # uint8 pixels live on the GPU: a batch is an index, no host work per step

    @classmethod
    def prepare_data(cls, dataset_folder: Path, config: dict, ctx) -> None:
        run_job(BuildImageCache(dataset_folder, config["resolution"], config["fit"]), ctx)

    @classmethod
    def open_data(cls, dataset_folder: Path, config: dict) -> ImageCache:
        return ImageCache.open(dataset_folder, config["resolution"], config["fit"])

    def build_models(self) -> dict[str, nn.Module]:
        config = AutoencoderConfig(width=self.config["width"], latent_channels=self.config["latent_channels"])
        return {"autoencoder": TinyAutoencoder(config)}

    def build_optimizers(self, models):
        return {
            "autoencoder": adamw(
                models["autoencoder"].parameters(), self.config["lr"], self.config["weight_decay"], self.device
            )
        }

    def phases(self) -> list[Phase]:
        return [Phase("autoencoder", self.reconstruction_loss)]

    def ema_models(self) -> list[str]:
        return ["autoencoder"]

    @staticmethod
    def reconstruction_loss(models, images: torch.Tensor):
        loss = F.mse_loss(models["autoencoder"](images), images)  # images: (B, 3, 32, 32)
        return loss, {"loss": loss.detach()}

    def train_size(self) -> int:
        return len(self.train_items)

    def load_batch(self, positions) -> torch.Tensor:
        """uint8 rows of the memmap, gathered by one fancy index, converted to float on the device."""
        return self.data.batch(self.train_items[np.asarray(positions)], device=self.device)

    @torch.no_grad()
    def evaluate(self, models) -> dict[str, float]:
        if len(self.val_items) == 0:
            return {}
        total, count = 0.0, 0
        for start in range(0, len(self.val_items), 256):
            images = self.data.batch(self.val_items[start : start + 256], device=self.device)
            total += float(F.mse_loss(models["autoencoder"](images), images, reduction="sum"))
            count += images.numel()
        return {"val_loss": total / count}

    @torch.no_grad()
    def preview(self, models, step: int, folder: Path) -> dict | None:
        """A PNG grid: originals on the top row, their reconstructions below. Validation items come first
        (the model never trained on them), topped up with training items when there are too few."""

        picks = np.concatenate([self.val_items, self.train_items])[: self.config["preview_count"]]
        images = self.data.batch(picks, device=self.device)  # (n, 3, 32, 32)
        rebuilt = models["autoencoder"](images)
        grid = torch.cat([torch.cat(list(images), dim=2), torch.cat(list(rebuilt), dim=2)], dim=1)  # (3, 64, 32n)
        pixels = ((grid.float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"step-{step:06d}.png"
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        atomic_write_bytes(path, buffer.getvalue(), durable=False)
        return {"path": str(path), "caption": f"Step {step:,}: originals (top) and reconstructions (bottom)"}
