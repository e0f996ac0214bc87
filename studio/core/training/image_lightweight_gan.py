"""Family "lightweight_gan": FastGAN (studio/core/nets/lightweight_gan.py) on the image cache, 32 to 256 px, the
image model for small picture sets (a few dozen to a few thousand pictures).

It is the DCGAN family's recipe (studio/core/training/image_gan.py) with FastGAN's networks and one more term:
the same two phases per step, DiffAugment on real and fake pictures, spectral norm, the hinge loss, EMA, the
quality scores and previews, and the same fixed-seed latents for evaluation and previews. What it adds is the
discriminator's **reconstruction loss**: in the discriminator phase its decoders rebuild the (augmented) real
pictures from its 8×8 features and a random quarter of them from its 16×16 features, and the mean squared error
is added to its loss (weight 1, as in the paper and lucidrains/lightweight-gan). It is logged as ``recon``: a
falling ``recon`` says the discriminator's features describe the pictures, which is what keeps it from
memorizing them.

Why the reconstruction sees the augmented pictures: the discriminator only ever sees augmented pictures, and its
decoders explain what it saw (lucidrains/lightweight-gan does the same); rebuilding un-augmented ones would ask it
to undo cutout and translation.

Random streams, as in the DCGAN recipe: the latents, DiffAugment and the quarter the part decoder rebuilds are
all drawn from torch's global generators, which the engine seeds and saves in every checkpoint, so a resumed run
draws exactly what the uninterrupted one would have.
"""

from __future__ import annotations

import torch
from torch import nn

from studio.core.nets import gan
from studio.core.nets import lightweight_gan as fastgan
from studio.core.training.image_gan import GanRecipe
from studio.core.training.recipe_base import adamw

RECON_WEIGHT = 1.0  # the reconstruction loss's weight in the discriminator's loss (the paper's)


class LightweightGanRecipe(GanRecipe):
    """The DCGAN recipe with FastGAN's generator and self-supervised discriminator (see the module docstring).
    Evaluation (KID, FID, precision, recall of the EMA generator), previews and sampling are the DCGAN's."""

    family = "lightweight_gan"
    metric = "val_kid"
    weights_name = "generator"

    # The DCGAN recipe's methods with FastGAN's configs: the same fields, other networks (hence the overrides' types)
    def net_config(self) -> fastgan.GeneratorConfig:  # type: ignore[override]
        c = self.config
        return fastgan.GeneratorConfig(
            resolution=int(c["resolution"]), z_dim=int(c["z_dim"]), width=int(c["width"]), num_classes=self.num_classes
        )

    def discriminator_config(self) -> fastgan.DiscriminatorConfig:  # type: ignore[override]
        c = self.config
        return fastgan.DiscriminatorConfig(
            resolution=int(c["resolution"]),
            width=int(c["width"]),
            num_classes=self.num_classes,
            spectral_norm=bool(c["spectral_norm"]),
        )

    def build_models(self) -> dict[str, nn.Module]:
        """The generator, the discriminator and its decoders (a model of their own: see
        :class:`~studio.core.nets.lightweight_gan.Discriminator`), each saved under its name in checkpoints."""
        return {
            "generator": fastgan.Generator(self.net_config()),
            "discriminator": fastgan.Discriminator(self.discriminator_config()),
            "decoders": fastgan.Decoders(self.discriminator_config()),
        }

    def build_optimizers(self, models):
        """The DCGAN's two optimizers; the discriminator's also steps its decoders (they learn in its phase)."""
        c = self.config
        betas = (float(c["adam_beta1"]), float(c["adam_beta2"]))
        judge = [*models["discriminator"].parameters(), *models["decoders"].parameters()]
        return {
            "discriminator": adamw(judge, c["lr"], c["weight_decay"], self.device, betas),
            "generator": adamw(models["generator"].parameters(), c["lr"], c["weight_decay"], self.device, betas),
        }

    def discriminator_loss(self, models, batch):
        """The DCGAN recipe's discriminator phase (real and fresh fakes through DiffAugment and the discriminator
        as one batch, the same penalties) plus the reconstruction of the real half."""
        real, labels = batch
        G, D, decoders = models["generator"], models["discriminator"], models["decoders"]
        count = real.shape[0]
        z = torch.randn(count, self.z_dim, device=real.device)
        with torch.no_grad():
            fake = G(z, labels)
        seen = self._augment(torch.cat([real, fake.to(real.dtype)]))
        both = None if labels is None else torch.cat([labels, labels])
        logits, f16, f8 = D(seen, both, features=True)
        quadrant = int(torch.randint(4, ()))  # the CPU generator: the same draw on every device
        recon = decoders(f16[:count], f8[:count], seen[:count], quadrant)  # the real half only
        real_logits, fake_logits = logits.split(count)
        adversarial = gan.d_loss(self.loss_kind, real_logits, fake_logits)
        loss = adversarial + RECON_WEIGHT * recon
        logs = {
            "loss_d": adversarial.detach(),
            "recon": recon.detach(),
            "d_real": real_logits.detach().float().mean(),
            "d_fake": fake_logits.detach().float().mean(),
        }
        return self._with_penalties(D, real, seen, labels, loss, logs), logs
