"""Family "vae": a convolutional VAE (studio/core/nets/vae.py) on the image cache, 32 to 256 px.

The loss per picture is reconstruction error plus ``beta`` times the KL divergence of the latent from the
standard normal, both *per pixel value* (the KL, summed over the latent, is divided by 3·R·R) so one
``beta`` means the same thing at every resolution. Read as an ELBO, the mean squared error per value with
beta = 1 is a Gaussian decoder of variance 1/2; a smaller beta gives sharper reconstructions and a less
regular latent space (worse random samples), a larger one the opposite.

KL warm-up: the KL weight rises linearly from 0 to ``beta`` over ``kl_warmup_steps`` so the encoder first
learns to use the latent before the prior pulls it in (otherwise the KL term can win early and the
decoder learns to ignore z). The recipe is never told the step, so the warm-up reads the number of
updates from the optimizer's own state (Adam's per-parameter ``step``). Why that counter rather than one
the recipe or the loss keeps: it advances exactly once per engine step (not once per micro-batch, and not
again when a step is retried after running out of memory), it is saved in every checkpoint and restored on
resume, and a NaN rollback rewinds it with the weights — so a resumed run weights the KL exactly as the
uninterrupted one. It stays a tensor on the optimizer's device, so reading it never waits for the GPU.

Validation reports the loss with the full ``beta`` (not the warm-up weight), so values stay comparable
over the whole run and early stopping is not fooled by the warm-up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from studio.core.jobs import JobError
from studio.core.nets import vae
from studio.core.quality import quality_scores
from studio.core.training.image_gan import ImageRecipe
from studio.core.training.recipe_base import Phase, adamw

EVAL_SEED = 1234  # prior samples every evaluation scores
PREVIEW_SEED = 4321  # prior samples every preview shows


class VaeRecipe(ImageRecipe):
    family = "vae"
    metric = "val_loss"
    weights_name = "vae"

    def __init__(self, config: dict, data, device: torch.device) -> None:
        super().__init__(config, data, device)
        self.values_per_picture = 3 * int(config["resolution"]) ** 2
        self.optimizer: torch.optim.Optimizer | None = None

    @classmethod
    def check_settings(cls, config: dict) -> None:
        super().check_settings(config)
        if config["beta"] < 0 or config["kl_warmup_steps"] < 0:
            raise JobError("beta and kl_warmup_steps must be 0 or more.")

    def net_config(self) -> vae.VaeConfig:
        c = self.config
        return vae.VaeConfig(
            resolution=int(c["resolution"]), z_dim=int(c["z_dim"]), width=int(c["width"]), num_classes=self.num_classes
        )

    def build_models(self) -> dict[str, nn.Module]:
        return {"vae": vae.ConvVAE(self.net_config())}

    def build_optimizers(self, models):
        self.optimizer = adamw(models["vae"].parameters(), self.config["lr"], self.config["weight_decay"], self.device)
        return {"vae": self.optimizer}

    def phases(self) -> list[Phase]:
        return [Phase("vae", self.vae_loss)]

    def ema_models(self) -> list[str]:
        return ["vae"]

    def kl_weight(self) -> torch.Tensor | float:
        """beta × min(1, updates so far / kl_warmup_steps); see the module docstring for the counter."""
        beta, warmup = float(self.config["beta"]), int(self.config["kl_warmup_steps"])
        if warmup <= 0:
            return beta
        if self.optimizer is None:
            return 0.0  # no optimizer yet: step 0 of the warm-up
        first = self.optimizer.param_groups[0]["params"][0]
        state = self.optimizer.state.get(first)
        if not state or "step" not in state:
            return 0.0  # no update yet: step 0 of the warm-up
        return (state["step"].float() / warmup).clamp(max=1.0) * beta

    def vae_loss(self, models, batch):
        images, labels = batch
        recon, mu, logvar = models["vae"](images, labels)
        reconstruction = F.mse_loss(recon.float(), images.float())
        kl = vae.kl_divergence(mu, logvar).mean() / self.values_per_picture
        weight = self.kl_weight()
        if isinstance(weight, torch.Tensor):
            weight = weight.to(kl.device)
        loss = reconstruction + weight * kl
        return loss, {
            "loss": loss.detach(),
            "recon": reconstruction.detach(),
            "kl": kl.detach(),
            "kl_weight": torch.as_tensor(weight).detach(),
        }

    # -- reports ------------------------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, models) -> dict[str, float]:
        """Reconstruction and KL per value on the validation pictures (the mean latent is decoded), and the
        quality score of prior samples against the reference pictures."""
        if len(self.val_items) == 0:
            return {}
        model = models["vae"]
        recon_sum = kl_sum = 0.0
        count = 0
        for start in range(0, len(self.val_items), 256):
            rows = self.val_items[start : start + 256]
            images, labels = self.data.batch(rows, device=self.device), self._labels_of(rows)
            recon, mu, logvar = model(images, labels)
            recon_sum += float(F.mse_loss(recon.float(), images.float(), reduction="sum"))
            kl_sum += float(vae.kl_divergence(mu, logvar).sum())
            count += len(rows)
        val_recon = recon_sum / (count * self.values_per_picture)
        val_kl = kl_sum / (count * self.values_per_picture)
        values = {"val_loss": val_recon + float(self.config["beta"]) * val_kl, "val_recon": val_recon, "val_kl": val_kl}
        rows = self.reference_rows()
        if len(rows) >= 2:
            z = self.fixed_latents(EVAL_SEED, len(rows), int(self.config["z_dim"]), self.device)
            samples = self._decode(model, z, self._labels_of(rows))
            scores = quality_scores(self.data.batch(rows, device=self.device), samples)
            values.update({f"val_{name}": float(value) for name, value in scores.items()})
        return values

    @torch.no_grad()
    def _decode(self, model: vae.ConvVAE, z: torch.Tensor, labels: torch.Tensor | None, batch: int = 64):
        pieces = []
        for start in range(0, len(z), batch):
            pieces.append(
                model.decode(
                    z[start : start + batch], None if labels is None else labels[start : start + batch]
                ).float()
            )
        return torch.cat(pieces)

    @torch.no_grad()
    def preview(self, models, step: int, folder: Path) -> dict | None:
        """Originals (validation first) over their reconstructions, then a row of prior samples from fixed
        latents (cycling through the classes when the model is conditional)."""
        model = models["vae"]
        count = int(self.config["preview_count"])
        picks = np.concatenate([self.val_items, self.train_items])[:count]
        images, labels = self.data.batch(picks, device=self.device), self._labels_of(picks)
        recon = model(images, labels)[0].float()
        z = self.fixed_latents(PREVIEW_SEED, count, int(self.config["z_dim"]), self.device)
        sample_labels = (torch.arange(count, device=self.device) % self.num_classes) if self.num_classes else None
        samples = self._decode(model, z, sample_labels)
        path = self.write_grid([images, recon, samples], folder, step)
        return {
            "path": str(path),
            "caption": f"Step {step:,}: originals (top), reconstructions (middle), random samples (bottom)",
        }
