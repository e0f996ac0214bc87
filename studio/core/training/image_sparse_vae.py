"""Family "sparse_vae": the sparse VAE (studio/core/nets/sparse_vae.py) on the image cache, 32 to 256 px.

It is the plain VAE's recipe (studio/core/training/image_vae.py) with the spike-and-slab prior in place of the
standard normal one; everything else is inherited on purpose, so the two families stay comparable on the same
data: the same networks' blocks, reconstruction as a mean squared error per pixel value, the KL warm-up read from
the optimizer's step counter (resumes weight the KL exactly as an uninterrupted run), the previews and the quality
score.

Validation reports ``val_recon`` with exactly the plain VAE's definition (mean squared error per value of the
validation pictures rebuilt from their deterministic code), so the Training panel shows the two families'
"Reconstruction" side by side, and ``val_active_dims``: the average number of latent numbers in use per
picture (:func:`studio.core.nets.sparse_vae.active_mask`, the rule a plain VAE is measured by too). Training
logs the same count per batch as ``active``.

Two choices differ from the plain VAE, both measured on generated shapes (90 pictures, 32 latent numbers, 1,000
steps on a CPU; active numbers per picture and validation reconstruction error, the plain VAE keeping 30 of 32 in
use at 0.106):

* **The KL is priced per 32 px picture** — divided by 3,072 values (:data:`KL_REFERENCE_VALUES`) whatever the
  resolution, where the plain VAE divides by 3·R·R. How many numbers a picture needs depends on what it shows,
  not on how many pixels show it; priced per value, switching a number on got 4× cheaper at 64 px than at 32 px
  and the same settings kept 20 of 32 numbers in use at 64 px instead of 8. Reconstruction stays a mean per
  value, so ``val_recon`` is still the plain VAE's.
* **beta is 2** (the plain VAE's is 1): at 1 the codes kept 12 of 32 numbers in use (reconstruction 0.119), at
  2 about 8 (0.140), at 4 about 7 (0.143): 2 buys most of the sparsity for little extra blur.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from studio.core.jobs import JobError
from studio.core.nets import sparse_vae
from studio.core.quality import quality_scores
from studio.core.training.image_vae import EVAL_SEED, VaeRecipe

KL_REFERENCE_VALUES = 3 * 32 * 32  # the KL is divided by the values of a 32 px picture (module docstring)


class SparseVaeRecipe(VaeRecipe):
    family = "sparse_vae"
    metric = "val_loss"
    weights_name = "vae"  # the same network name in checkpoints as the plain VAE's: "vae.*" (and "ema.vae.*")

    @classmethod
    def check_settings(cls, config: dict) -> None:
        super().check_settings(config)
        if not 0.0 < float(config["prior_active"]) < 1.0:
            raise JobError("The share of numbers in use (prior_active) must be above 0 and below 1, e.g. 0.1.")

    def net_config(self) -> sparse_vae.SparseVaeConfig:
        c = self.config
        return sparse_vae.SparseVaeConfig(
            resolution=int(c["resolution"]),
            z_dim=int(c["z_dim"]),
            width=int(c["width"]),
            num_classes=self.num_classes,
            prior_active=float(c["prior_active"]),
        )

    def build_models(self) -> dict:
        return {"vae": sparse_vae.SparseVAE(self.net_config())}

    def vae_loss(self, models, batch):
        images, labels = batch
        recon, mu, logvar, logits = models["vae"](images, labels)
        reconstruction = F.mse_loss(recon.float(), images.float())
        kl = sparse_vae.spike_slab_kl(mu, logvar, logits, float(self.config["prior_active"])).mean()
        kl = kl / KL_REFERENCE_VALUES
        weight = self.kl_weight()
        if isinstance(weight, torch.Tensor):
            weight = weight.to(kl.device)
        loss = reconstruction + weight * kl
        active = sparse_vae.active_mask(sparse_vae.SparseVAE.code(mu, logits)).sum(dim=1).float().mean()
        return loss, {
            "loss": loss.detach(),
            "recon": reconstruction.detach(),
            "kl": kl.detach(),
            "kl_weight": torch.as_tensor(weight).detach(),
            "active": active.detach(),
        }

    # -- reports ------------------------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, models) -> dict[str, float]:
        """The plain VAE's values (reconstruction and KL per value, the loss with the full beta, the quality of
        prior samples) and the average number of active latent numbers per validation picture."""
        if len(self.val_items) == 0:
            return {}
        model = models["vae"]
        prior_active = float(self.config["prior_active"])
        recon_sum = kl_sum = active_sum = 0.0
        count = 0
        for start in range(0, len(self.val_items), 256):
            rows = self.val_items[start : start + 256]
            images, labels = self.data.batch(rows, device=self.device), self._labels_of(rows)
            recon, mu, logvar, logits = model(images, labels)  # eval mode: the deterministic code is decoded
            recon_sum += float(F.mse_loss(recon.float(), images.float(), reduction="sum"))
            kl_sum += float(sparse_vae.spike_slab_kl(mu, logvar, logits, prior_active).sum())
            active_sum += float(sparse_vae.active_mask(model.code(mu, logits)).sum())
            count += len(rows)
        val_recon = recon_sum / (count * self.values_per_picture)
        val_kl = kl_sum / (count * KL_REFERENCE_VALUES)
        values = {
            "val_loss": val_recon + float(self.config["beta"]) * val_kl,
            "val_recon": val_recon,
            "val_kl": val_kl,
            "val_active_dims": active_sum / count,
        }
        rows = self.reference_rows()
        if len(rows) >= 2:
            noise = self.fixed_latents(EVAL_SEED, len(rows), int(self.config["z_dim"]), self.device)
            samples = self._decode(model, noise, self._labels_of(rows))
            scores = quality_scores(self.data.batch(rows, device=self.device), samples)
            values.update({f"val_{name}": float(value) for name, value in scores.items()})
        return values

    @torch.no_grad()
    def _decode(self, model, z: torch.Tensor, labels: torch.Tensor | None, batch: int = 64):
        """Prior samples for standard-normal ``z``: the noise becomes spike-and-slab codes first (the plain
        VAE's previews and quality score then run unchanged)."""
        return super()._decode(model, model.code_from_noise(z), labels, batch)
