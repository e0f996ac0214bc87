"""The reference family's tiny convolutional autoencoder (studio/core/training/reference.py): 32 px pictures in,
the same pictures out through an 8×8 bottleneck.

It exists to prove the whole training path in seconds on a CPU, so it is as small as a real network gets:
two stride-2 convolutions and a 1×1 one down, mirrored by a 1×1 and two transposed convolutions up, GELU
between. It generates nothing (the bottleneck is not a distribution to sample), so it has no ``generate``;
:meth:`TinyAutoencoder.forward` is a reconstruction. Like every net here it takes its config,
``TinyAutoencoder(AutoencoderConfig(width=16))``, with keyword-only fields (studio/core/nets/config.py says why).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from studio.core.nets.config import NetConfig, require_config


@dataclass(kw_only=True)
class AutoencoderConfig(NetConfig):
    width: int = 16  # channels after the first convolution (the second has twice as many)
    latent_channels: int = 8  # channels of the (B, latent_channels, 8, 8) bottleneck

    def __post_init__(self) -> None:
        if min(self.width, self.latent_channels) < 1:
            raise ValueError("width and latent_channels must be at least 1.")


class TinyAutoencoder(nn.Module):
    """(B, 3, 32, 32) in [-1, 1] -> code (B, latent, 8, 8) -> (B, 3, 32, 32) in [-1, 1]."""

    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__()
        self.config = c = require_config(config, AutoencoderConfig, "TinyAutoencoder")
        width = c.width
        self.encoder = nn.Sequential(
            nn.Conv2d(3, width, 4, stride=2, padding=1),
            nn.GELU(),  # (B, w, 16, 16)
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1),
            nn.GELU(),  # (B, 2w, 8, 8)
            nn.Conv2d(2 * width, c.latent_channels, 1),  # (B, latent, 8, 8): the bottleneck
        )
        self.decoder = nn.Sequential(
            nn.Conv2d(c.latent_channels, 2 * width, 1),
            nn.GELU(),  # (B, 2w, 8, 8)
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1),
            nn.GELU(),  # (B, w, 16, 16)
            nn.ConvTranspose2d(width, 3, 4, stride=2, padding=1),  # (B, 3, 32, 32)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.decoder(self.encoder(x)))
