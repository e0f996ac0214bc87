"""A convolutional VAE (Kingma & Welling, 2014), 32 to 256 px, optionally class-conditional.

The encoder halves the picture with 4×4 stride-2 convolutions down to 4×4 and maps it to the mean and
log-variance of a ``z_dim`` Gaussian; the decoder mirrors it with transposed convolutions. Channels follow
the same rule as the GAN (``width * min(8, R / 2r)`` at spatial size r), so ``width`` means the same thing
in both families. No batch norm: reconstructions and samples then do not depend on which other pictures
share the batch, and train and eval modes compute the same function.

Conditioning (a conditional VAE, Sohn et al., 2015): a learned class embedding is concatenated to the
encoder's features before the latent head and to z before the decoder, so the latent is free to encode
everything *but* the class, and the same z decoded with another label gives "the same picture" in that class.

Layout (nanoGPT's model.py): :class:`VaeConfig`, :class:`ConvVAE` with ``encode`` / ``decode`` (differentiable,
what training uses) and ``@torch.no_grad()`` :meth:`~ConvVAE.generate` / :meth:`~ConvVAE.sample` (what
sampling uses). The network takes its config (``ConvVAE(VaeConfig(resolution=64))``), as every net here does:
studio/core/nets/config.py says why, and how old descriptions load.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from studio.core.nets.config import NetConfig, require_config
from studio.core.nets.image_sizes import channels, check_resolution


@dataclass(kw_only=True)
class VaeConfig(NetConfig):
    resolution: int  # pictures are (3, resolution, resolution): one of image_sizes.RESOLUTIONS
    z_dim: int = 64  # the latent's size
    width: int = 32  # channels at the largest feature maps (image_sizes.channels), as the GAN's width
    num_classes: int = 0  # 0: unconditional; else a class embedding of ``width`` values (a conditional VAE)

    def __post_init__(self) -> None:
        self.resolution = check_resolution(self.resolution)
        if min(self.z_dim, self.width) < 1 or self.num_classes < 0:
            raise ValueError("z_dim and width must be at least 1, and num_classes 0 (no classes) or more.")


class ConvVAE(nn.Module):
    """pictures (B, 3, R, R) in [-1, 1] [+ labels (B,)] -> (reconstruction (B, 3, R, R), mu, logvar (B, z_dim))."""

    def __init__(self, config: VaeConfig) -> None:
        super().__init__()
        self.config = c = require_config(config, VaeConfig, "ConvVAE")
        # the sizes as attributes too, as before the config (the generation code reads num_classes from the network)
        self.resolution, self.z_dim, self.width, self.num_classes = c.resolution, c.z_dim, c.width, c.num_classes
        R, w = c.resolution, c.width
        embed = w if c.num_classes else 0
        self.embed = nn.Embedding(c.num_classes, w) if c.num_classes else None
        downs, r, previous = [], R, 3
        while r > 4:  # (B, C, r, r) -> (B, C', r/2, r/2)
            out = channels(R, w, r // 2)
            downs.append(nn.Conv2d(previous, out, 4, 2, 1))
            previous, r = out, r // 2
        self.downs = nn.ModuleList(downs)
        self.bottom = previous  # channels of the 4x4 map
        self.to_latent = nn.Linear(previous * 16 + embed, 2 * c.z_dim)  # -> (mu, logvar)
        self.from_latent = nn.Linear(c.z_dim + embed, previous * 16)
        ups = []
        while r < R // 2:  # (B, C, r, r) -> (B, C', 2r, 2r)
            out = channels(R, w, 2 * r)
            ups.append(nn.ConvTranspose2d(previous, out, 4, 2, 1))
            previous, r = out, 2 * r
        self.ups = nn.ModuleList(ups)
        self.to_rgb = nn.ConvTranspose2d(previous, 3, 4, 2, 1)  # R/2 -> R

    def _label_features(self, labels: torch.Tensor | None, like: torch.Tensor) -> list[torch.Tensor]:
        """[] without classes, else [(B, width)]: what encode and decode concatenate to their features."""
        if self.embed is None:
            return []
        if labels is None:
            raise ValueError("This VAE is class-conditional: pass a class label for every picture.")
        return [self.embed(labels).to(like.dtype)]

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, R, R) in [-1, 1] -> (mu, logvar), each (B, z_dim)."""
        for down in self.downs:
            x = F.silu(down(x))  # (B, 3, R, R) -> ... -> (B, C, 4, 4)
        h = torch.cat([x.flatten(1), *self._label_features(labels, x)], dim=1)  # (B, C * 16 [+ width])
        mu, logvar = self.to_latent(h).chunk(2, dim=1)
        return mu, logvar.clamp(-30.0, 20.0)  # exp() stays finite even in fp16 early in training

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, z_dim) -> (B, 3, R, R) in [-1, 1]."""
        h = torch.cat([z, *self._label_features(labels, z)], dim=1)  # (B, z_dim [+ width])
        x = F.silu(self.from_latent(h)).view(-1, self.bottom, 4, 4)  # (B, C, 4, 4)
        for up in self.ups:
            x = F.silu(up(x))  # (B, C, r, r) -> (B, C', 2r, 2r)
        return torch.tanh(self.to_rgb(x))  # (B, 3, R, R)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None):
        """(reconstruction, mu, logvar). Training mode decodes a sample of q(z|x) (the reparameterization
        trick, noise from torch's global generator, which the engine seeds and checkpoints); eval mode
        decodes the mean, so a reconstruction is deterministic."""
        mu, logvar = self.encode(x, labels)  # (B, z_dim) each
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
        return self.decode(z, labels), mu, logvar

    @torch.no_grad()
    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Pictures for the latents ``z`` (B, z_dim) [and ``labels`` (B,)]: (B, 3, R, R) in [-1, 1]. The decoder
        without gradients, with the signature of :meth:`Generator.generate <studio.core.nets.gan.Generator.generate>`,
        so either image network renders a latent the same way."""
        return self.decode(z, labels)

    @torch.no_grad()
    def sample(
        self, count: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``count`` new pictures from the prior N(0, I): (count, 3, R, R) in [-1, 1]. The latents are drawn on
        ``generator``'s device (the CPU when None), so a seeded CPU generator gives the same pictures whatever
        device the network is on."""
        where = generator.device if generator is not None else torch.device("cpu")
        z = torch.randn(count, self.config.z_dim, generator=generator, device=where)  # (count, z_dim)
        weight = self.to_rgb.weight
        return self.generate(z.to(device=weight.device, dtype=weight.dtype), labels)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) per sample, summed over the latent dimensions: (B,)."""
    mu, logvar = mu.float(), logvar.float()
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


def build_vae(model: dict) -> ConvVAE:
    """The VAE a run's ``describe()`` dict (config.json's "model") describes, untrained (old dicts too:
    :meth:`NetConfig.from_dict <studio.core.nets.config.NetConfig.from_dict>`)."""
    return ConvVAE(VaeConfig.from_dict(model))
