"""A convolutional VAE (Kingma & Welling, 2014), 32 to 256 px, optionally class-conditional.

The encoder halves the picture with 4×4 stride-2 convolutions down to 4×4 and maps it to the mean and
log-variance of a ``z_dim`` Gaussian; the decoder mirrors it with transposed convolutions. Channels follow
the same rule as the GAN (``width * min(8, R / 2r)`` at spatial size r), so ``width`` means the same thing
in both families. No batch norm: reconstructions and samples then do not depend on which other pictures
share the batch, and train and eval modes compute the same function.

Conditioning (a conditional VAE, Sohn et al., 2015): a learned class embedding is concatenated to the
encoder's features before the latent head and to z before the decoder, so the latent is free to encode
everything *but* the class, and the same z decoded with another label gives "the same picture" in that class.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from studio.core.nets.gan import channels, check_resolution


class ConvVAE(nn.Module):
    def __init__(self, resolution: int, z_dim: int = 64, width: int = 32, num_classes: int = 0) -> None:
        super().__init__()
        self.resolution, self.z_dim = check_resolution(resolution), z_dim
        self.width, self.num_classes = width, num_classes
        embed = width if num_classes else 0
        self.embed = nn.Embedding(num_classes, width) if num_classes else None
        downs, r, previous = [], resolution, 3
        while r > 4:
            out = channels(resolution, width, r // 2)
            downs.append(nn.Conv2d(previous, out, 4, 2, 1))
            previous, r = out, r // 2
        self.downs = nn.ModuleList(downs)
        self.bottom = previous  # channels of the 4x4 map
        self.to_latent = nn.Linear(previous * 16 + embed, 2 * z_dim)  # -> (mu, logvar)
        self.from_latent = nn.Linear(z_dim + embed, previous * 16)
        ups = []
        while r < resolution // 2:
            out = channels(resolution, width, 2 * r)
            ups.append(nn.ConvTranspose2d(previous, out, 4, 2, 1))
            previous, r = out, 2 * r
        self.ups = nn.ModuleList(ups)
        self.to_rgb = nn.ConvTranspose2d(previous, 3, 4, 2, 1)

    def _label_features(self, labels: torch.Tensor | None, like: torch.Tensor) -> list[torch.Tensor]:
        if self.embed is None:
            return []
        if labels is None:
            raise ValueError("This VAE is class-conditional: pass a class label for every picture.")
        return [self.embed(labels).to(like.dtype)]

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, R, R) in [-1, 1] -> (mu, logvar), each (B, z_dim)."""
        for down in self.downs:
            x = F.silu(down(x))
        h = torch.cat([x.flatten(1), *self._label_features(labels, x)], dim=1)
        mu, logvar = self.to_latent(h).chunk(2, dim=1)
        return mu, logvar.clamp(-30.0, 20.0)  # exp() stays finite even in fp16 early in training

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, z_dim) -> (B, 3, R, R) in [-1, 1]."""
        h = torch.cat([z, *self._label_features(labels, z)], dim=1)
        x = F.silu(self.from_latent(h)).view(-1, self.bottom, 4, 4)
        for up in self.ups:
            x = F.silu(up(x))
        return torch.tanh(self.to_rgb(x))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None):
        """(reconstruction, mu, logvar). Training mode decodes a sample of q(z|x) (the reparameterization
        trick, noise from torch's global generator, which the engine seeds and checkpoints); eval mode
        decodes the mean, so a reconstruction is deterministic."""
        mu, logvar = self.encode(x, labels)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
        return self.decode(z, labels), mu, logvar


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) per sample, summed over the latent dimensions: (B,)."""
    mu, logvar = mu.float(), logvar.float()
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


def build_vae(model: dict) -> ConvVAE:
    """The VAE a run's ``describe()`` dict (config.json's "model") describes, untrained."""
    return ConvVAE(int(model["resolution"]), int(model["z_dim"]), int(model["width"]), int(model.get("num_classes", 0)))
