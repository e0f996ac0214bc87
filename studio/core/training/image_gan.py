"""Family "gan": a DCGAN-style GAN (studio/core/nets/gan.py) on the image cache, 32 to 256 px.

One engine step is two phases on the same batch of real pictures: the discriminator learns to tell them
from fresh generator samples, then the generator learns to fool it. Everything that keeps a GAN alive on
a few hundred pictures is on by default: DiffAugment on real *and* fake pictures before the discriminator,
spectral normalization, the hinge loss and an EMA copy of the generator, which is what previews, the
quality score and generation use (its samples are visibly smoother than the raw generator's).

Random streams: the latents are drawn inside the loss functions with ``torch.randn`` on the training
device, and DiffAugment draws from torch's global generator. The engine seeds those generators and saves
them in every checkpoint, so a resumed run draws exactly the noise the uninterrupted one would have.
Evaluation and previews use their own fixed-seed generators, so the same latents are scored and shown
every time (the user watches the same faces sharpen) and *when* they run never changes training.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from studio.core import words
from studio.core.atomic import atomic_write_bytes
from studio.core.datasets.augment import augment, parse_policy
from studio.core.datasets.image_cache import BuildImageCache, ImageCache
from studio.core.jobs import JobError, run_job
from studio.core.nets import gan
from studio.core.nets.config import NetConfig
from studio.core.nets.image_sizes import RESOLUTIONS
from studio.core.quality import quality_scores
from studio.core.training.recipe_base import Phase, Recipe, adamw

PRELOAD_LIMIT_BYTES = 2 << 30  # as reference.py: uint8 pixels up to 2 GiB live on the GPU
EVAL_SEED = 1234  # the latents every evaluation scores
PREVIEW_SEED = 4321  # the latents every preview shows
GP_WEIGHT = 10.0  # WGAN-GP's lambda (Gulrajani et al., 2017)


class ImageRecipe(Recipe):
    """What the image families share: the cache, the class labels, batches, the reference pictures for the
    quality score and PNG grids. Conditional when the dataset has two or more classes and config
    ``conditional`` is on; pictures without a class are then left out of training (there is no label to
    condition them on)."""

    preview_kind = "image"
    weights_name = ""  # the model describe() tells generation code to load

    def __init__(self, config: dict, data: ImageCache, device: torch.device) -> None:
        super().__init__(config, data, device)
        self.check_settings(config)
        conditional = bool(config.get("conditional", True)) and len(data.classes) >= 2
        self.classes = list(data.classes) if conditional else []
        self.num_classes = len(self.classes)
        train, val = np.asarray(data.train_indices, np.int64), np.asarray(data.val_indices, np.int64)
        if conditional:
            train, val = train[data.labels[train] >= 0], val[data.labels[val] >= 0]
        self.train_items, self.val_items = train, val
        if len(self.train_items) == 0:
            raise JobError("The dataset has no training pictures (all are in the validation split or unreadable).")
        self.labels = torch.from_numpy(np.maximum(np.asarray(data.labels, np.int64), 0))  # CPU, one per cache row
        if device.type == "cuda" and data.images.nbytes <= PRELOAD_LIMIT_BYTES:
            data.preload(device)
            self.labels = self.labels.to(device)

    @classmethod
    def check_settings(cls, config: dict) -> None:
        """Refuse settings this family cannot use before any cache is built (plain-language JobError)."""
        if config["resolution"] not in RESOLUTIONS:
            raise JobError(
                f"The resolution must be one of {', '.join(map(str, RESOLUTIONS))} px for this "
                f"model (it is {config['resolution']})."
            )
        if config["width"] < 1 or config["z_dim"] < 1:
            raise JobError("width and z_dim must be at least 1.")

    @classmethod
    def prepare_data(cls, dataset_folder: Path, config: dict, ctx) -> None:
        cls.check_settings(config)
        run_job(BuildImageCache(dataset_folder, config["resolution"], config["fit"]), ctx)

    @classmethod
    def open_data(cls, dataset_folder: Path, config: dict) -> ImageCache:
        return ImageCache.open(dataset_folder, config["resolution"], config["fit"])

    # -- batches ------------------------------------------------------------------------------------------
    def train_size(self) -> int:
        return len(self.train_items)

    def _labels_of(self, rows: np.ndarray) -> torch.Tensor | None:
        if not self.num_classes:
            return None
        index = torch.as_tensor(rows, device=self.labels.device)
        return self.labels[index].to(self.device, non_blocking=True)

    def load_batch(self, positions) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(images (B, 3, R, R) in [-1, 1], labels (B,) or None) on the device."""
        rows = self.train_items[np.asarray(positions)]
        return self.data.batch(rows, device=self.device), self._labels_of(rows)

    def reference_rows(self) -> np.ndarray:
        """The cache rows the quality score compares samples with: the validation pictures, topped up with
        training pictures up to ``eval_count`` (KID is noisy below ~100 pictures, and a generator's
        distribution is compared with the dataset's as a whole). Always the same rows in a run."""
        rows = np.concatenate([self.val_items, self.train_items])
        return rows[: int(self.config["eval_count"])]

    def net_config(self) -> NetConfig:
        """The generating network's config (from the run's settings and the dataset's classes): what
        :meth:`describe` saves and the family's build function reads back."""
        raise NotImplementedError

    def describe(self) -> dict:
        """The network's config (its sizes, as ``net_config().to_dict()``) between the kind and the run facts."""
        return {
            "kind": self.family,
            **self.net_config().to_dict(),
            "classes": list(self.classes),
            "weights": self.weights_name,
            "ema": bool(self.config["ema"]),
        }

    # -- pictures -----------------------------------------------------------------------------------------
    @staticmethod
    def fixed_latents(seed: int, count: int, z_dim: int, device: torch.device) -> torch.Tensor:
        """``count`` standard-normal latents from ``seed``, drawn on the CPU (identical on every device)."""
        generator = torch.Generator().manual_seed(seed)
        return torch.randn(count, z_dim, generator=generator).to(device)

    @staticmethod
    def write_grid(rows: list[torch.Tensor], folder: Path, step: int) -> Path:
        """Rows of (n, 3, R, R) images in [-1, 1] as one PNG (atomically, like every studio file)."""

        width = max(len(row) for row in rows)
        lines = []
        for row in rows:
            row = row.float().clamp(-1, 1)
            if len(row) < width:  # a short row is padded with mid-grey
                row = torch.cat([row, row.new_zeros(width - len(row), *row.shape[1:])])
            lines.append(torch.cat(list(row), dim=2))
        grid = torch.cat(lines, dim=1)
        pixels = ((grid + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"step-{step:06d}.png"
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        atomic_write_bytes(path, buffer.getvalue(), durable=False)
        return path


class GanRecipe(ImageRecipe):
    family = "gan"
    metric = "val_kid"
    weights_name = "generator"

    def __init__(self, config: dict, data: ImageCache, device: torch.device) -> None:
        super().__init__(config, data, device)
        self.loss_kind = config["loss"]
        self.policy = config["diffaugment"]
        self.z_dim = int(config["z_dim"])

    @classmethod
    def check_settings(cls, config: dict) -> None:
        super().check_settings(config)
        if config["loss"] not in gan.LOSSES:
            raise JobError(f"The GAN loss must be one of {', '.join(gan.LOSSES)} (it is “{config['loss']}”).")
        try:
            parse_policy(config["diffaugment"])
        except ValueError as exc:
            raise JobError(f"The diffaugment setting is not usable. {exc}") from None
        if config["r1_gamma"] < 0:
            raise JobError("r1_gamma must be 0 (off) or more.")

    def net_config(self) -> gan.GeneratorConfig:
        c = self.config
        return gan.GeneratorConfig(
            resolution=int(c["resolution"]), z_dim=int(c["z_dim"]), width=int(c["width"]), num_classes=self.num_classes
        )

    def discriminator_config(self) -> gan.DiscriminatorConfig:
        c = self.config
        return gan.DiscriminatorConfig(
            resolution=int(c["resolution"]),
            width=int(c["width"]),
            num_classes=self.num_classes,
            spectral_norm=bool(c["spectral_norm"]),
        )

    def build_models(self) -> dict[str, nn.Module]:
        return {
            "generator": gan.Generator(self.net_config()),
            "discriminator": gan.Discriminator(self.discriminator_config()),
        }

    def build_optimizers(self, models):
        c = self.config
        betas = (float(c["adam_beta1"]), float(c["adam_beta2"]))
        return {
            name: adamw(models[name].parameters(), c["lr"], c["weight_decay"], self.device, betas)
            for name in ("discriminator", "generator")
        }

    def phases(self) -> list[Phase]:
        return [Phase("discriminator", self.discriminator_loss), Phase("generator", self.generator_loss)]

    def ema_models(self) -> list[str]:
        return ["generator"]

    def _augment(self, images: torch.Tensor) -> torch.Tensor:
        return augment(images, self.policy) if self.policy else images

    def discriminator_loss(self, models, batch):
        """Real pictures and fresh samples (the same labels: the fakes follow the data's class mix) go
        through DiffAugment and the discriminator as one batch: one forward, and the spectral norm's power
        iteration runs once per phase instead of twice."""
        real, labels = batch
        G, D = models["generator"], models["discriminator"]
        z = torch.randn(real.shape[0], self.z_dim, device=real.device)
        with torch.no_grad():
            fake = G(z, labels)
        both = torch.cat([real, fake.to(real.dtype)])
        seen = self._augment(both)
        logits = D(seen, None if labels is None else torch.cat([labels, labels]))
        real_logits, fake_logits = logits.split(real.shape[0])
        loss = gan.d_loss(self.loss_kind, real_logits, fake_logits)
        logs = {
            "loss_d": loss.detach(),
            "d_real": real_logits.detach().float().mean(),
            "d_fake": fake_logits.detach().float().mean(),
        }
        return self._with_penalties(D, real, seen, labels, loss, logs), logs

    def _with_penalties(self, D, real, seen, labels, loss: torch.Tensor, logs: dict) -> torch.Tensor:
        """``loss`` plus the discriminator's gradient penalties the settings ask for (WGAN-GP's, R1), logged in
        ``logs``; ``seen`` is the augmented real-then-fake batch the discriminator judged."""
        real_seen, fake_seen = seen.split(real.shape[0])
        penalties = self.loss_kind == "wgan-gp" or self.config["r1_gamma"] > 0
        if penalties and torch.is_grad_enabled():  # (the time estimate runs the losses without gradients)
            with self._penalty_precision(real):
                if self.loss_kind == "wgan-gp":
                    penalty = gan.gradient_penalty(D, real_seen.float(), fake_seen.float(), labels)
                    loss = loss + GP_WEIGHT * penalty
                    logs["gradient_penalty"] = penalty.detach()
                if self.config["r1_gamma"] > 0:
                    r1 = gan.r1_penalty(D, real_seen.float(), labels)
                    loss = loss + 0.5 * float(self.config["r1_gamma"]) * r1
                    logs["r1"] = r1.detach()
        return loss

    @staticmethod
    def _penalty_precision(like: torch.Tensor):
        """Gradient penalties differentiate twice; in fp16 their squared gradients overflow, so they run in
        fp32 whatever the step's autocast (one extra discriminator pass, only when a penalty is on)."""
        return torch.autocast(like.device.type, enabled=False)

    def generator_loss(self, models, batch):
        real, labels = batch
        G, D = models["generator"], models["discriminator"]
        z = torch.randn(real.shape[0], self.z_dim, device=real.device)
        fake_logits = D(self._augment(G(z, labels)), labels)
        loss = gan.g_loss(self.loss_kind, fake_logits)
        return loss, {"loss_g": loss.detach()}

    # -- reports ------------------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(
        self, generator: nn.Module, z: torch.Tensor, labels: torch.Tensor | None, batch: int = 64
    ) -> torch.Tensor:
        """Generator outputs for ``z`` (and ``labels``) in chunks, float32."""
        pieces = []
        for start in range(0, len(z), batch):
            chunk_labels = None if labels is None else labels[start : start + batch]
            pieces.append(generator(z[start : start + batch], chunk_labels).float())
        return torch.cat(pieces)

    @torch.no_grad()
    def evaluate(self, models) -> dict[str, float]:
        """KID, FID, precision and recall of the (EMA) generator's samples against the reference pictures.
        The latents come from :data:`EVAL_SEED` and the labels are the reference pictures' own, so two
        evaluations differ only by the weights."""
        rows = self.reference_rows()
        if len(rows) < 2:
            return {}
        real = self.data.batch(rows, device=self.device)
        z = self.fixed_latents(EVAL_SEED, len(rows), self.z_dim, self.device)
        fake = self.sample(models["generator"], z, self._labels_of(rows))
        scores = quality_scores(real, fake)
        return {f"val_{name}": float(value) for name, value in scores.items()}

    @torch.no_grad()
    def preview(self, models, step: int, folder: Path) -> dict | None:
        """The same latents every time: one row per class (up to 8) with a class-conditional model, the same
        latent in each column so the class is the only difference; else 4 rows."""
        columns = int(self.config["preview_count"])
        z = self.fixed_latents(PREVIEW_SEED, columns * (1 if self.num_classes else 4), self.z_dim, self.device)
        generator = models["generator"]
        if self.num_classes:
            shown = self.classes[:8]
            rows = [
                self.sample(generator, z, torch.full((columns,), i, dtype=torch.long, device=self.device))
                for i in range(len(shown))
            ]
            caption = f"Step {step:,}: one row per class ({', '.join(shown)}), the same latents in every row"
        else:
            images = self.sample(generator, z, None)
            rows = list(images.split(columns))
            caption = f"Step {step:,}: the same {words.count(len(z), 'latent')} at every preview"
        path = self.write_grid(rows, folder, step)
        return {"path": str(path), "caption": caption}
