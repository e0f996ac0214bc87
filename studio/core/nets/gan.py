"""DCGAN-style generator and discriminator, 32 to 256 px, optionally class-conditional; the GAN losses.

Shape of the networks (Radford et al., 2016): the generator turns z into a 4×4 map and doubles it with
4×4 stride-2 transposed convolutions until the resolution is reached, halving the channels as it goes; the
discriminator mirrors it with stride-2 convolutions. The number of blocks follows from the resolution
(log2(R) - 2), the channels from ``width``: at resolution r a block has ``width * min(8, R / 2r)``
channels, which is exactly DCGAN's 512-256-128-64 at 64 px and width 64 (3.6 M generator parameters,
2.8 M discriminator parameters).

What is not in the 2016 paper, and why:
* Conditioning: conditional batch norm in the generator (a per-class scale and shift after each
  normalization, initialized to the identity) and a projection discriminator (Miyato & Koyama, 2018: the
  logit gains <embed(y), features>). Both cost almost nothing and need no change when there is one class.
* The discriminator has no batch norm: real and fake go through it as one concatenated batch (one forward,
  one spectral-norm power iteration), and gradient penalties need per-sample gradients that batch
  statistics would mix.
* Spectral normalization of every discriminator layer (Miyato et al., 2018) is on by default: it bounds the
  discriminator's Lipschitz constant, the single most effective stabilizer for small-data DCGANs.

Layout (nanoGPT's model.py): the configs, the modules, :meth:`Generator.generate`, the losses. Each network
takes its config (``Generator(GeneratorConfig(resolution=64, width=32))``) rather than positional sizes: the
generator's config is what a run's ``describe()`` saves and :func:`build_generator` reads back, so the recipe
and the generation code cannot disagree about a size (studio/core/nets/config.py gives the whole rule, and how
old descriptions load).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from studio.core.nets.config import NetConfig, require_config
from studio.core.nets.image_sizes import channels, check_resolution

LOSSES = ("nonsaturating", "hinge", "wgan-gp")


@dataclass(kw_only=True)
class GeneratorConfig(NetConfig):
    """The generator: what a run's ``describe()`` saves (its fields, beside the run facts) and
    :func:`build_generator` reads back."""

    resolution: int  # pictures are (3, resolution, resolution): one of image_sizes.RESOLUTIONS
    z_dim: int = 128  # the latent's size (DCGAN: 100; the studio's presets use 128)
    width: int = 64  # channels at the largest feature maps (image_sizes.channels); DCGAN is 64
    num_classes: int = 0  # 0: unconditional; else conditional batch norm (descriptions before classes lack it)

    def __post_init__(self) -> None:
        self.resolution = check_resolution(self.resolution)
        if min(self.z_dim, self.width) < 1 or self.num_classes < 0:
            raise ValueError("z_dim and width must be at least 1, and num_classes 0 (no classes) or more.")


@dataclass(kw_only=True)
class DiscriminatorConfig(NetConfig):
    """The discriminator: only training builds it (from the run's settings), so no description carries it. Its
    own config rather than the generator's because the two share only some sizes (no z_dim here, no spectral
    norm there)."""

    resolution: int  # pictures are (3, resolution, resolution): one of image_sizes.RESOLUTIONS
    width: int = 64  # channels at the largest feature maps, as the generator's width
    num_classes: int = 0  # 0: unconditional; else a projection discriminator
    spectral_norm: bool = True  # on every layer (the module docstring says why)

    def __post_init__(self) -> None:
        self.resolution = check_resolution(self.resolution)
        if self.width < 1 or self.num_classes < 0:
            raise ValueError("width must be at least 1, and num_classes 0 (no classes) or more.")


class ConditionalBatchNorm(nn.Module):
    """Batch norm whose scale and shift depend on the class (plain affine batch norm with no classes).

    The per-class gains start at 1 and the biases at 0, so a conditional generator starts as the
    unconditional one and learns the class differences from there."""

    def __init__(self, features: int, num_classes: int = 0) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.norm = nn.BatchNorm2d(features, affine=num_classes == 0)
        if num_classes:
            self.gain = nn.Embedding(num_classes, features)
            self.bias = nn.Embedding(num_classes, features)
            nn.init.ones_(self.gain.weight)
            nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        x = self.norm(x)  # (B, C, r, r)
        if not self.num_classes:
            return x
        return x * self.gain(labels)[:, :, None, None] + self.bias(labels)[:, :, None, None]  # (B, C) per class


class Generator(nn.Module):
    """z (B, z_dim) [+ labels (B,)] -> images (B, 3, R, R) in [-1, 1]."""

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = c = require_config(config, GeneratorConfig, "Generator")
        # the sizes as attributes too, as before the config (the generation code reads num_classes from the network)
        self.resolution, self.z_dim, self.width, self.num_classes = c.resolution, c.z_dim, c.width, c.num_classes
        R, w, k = c.resolution, c.width, c.num_classes
        sizes = [4 * 2**i for i in range(int(math.log2(R)) - 2)]  # 4, 8, ..., R/2: one block per size
        first = channels(R, w, 4)
        self.stem = nn.ConvTranspose2d(c.z_dim, first, 4, 1, 0, bias=False)  # (B, z, 1, 1) -> (B, C, 4, 4)
        self.norms = nn.ModuleList([ConditionalBatchNorm(first, k)])
        self.ups = nn.ModuleList()
        for r in sizes[:-1]:  # (B, C_r, r, r) -> (B, C_2r, 2r, 2r)
            out = channels(R, w, 2 * r)
            self.ups.append(nn.ConvTranspose2d(channels(R, w, r), out, 4, 2, 1, bias=False))
            self.norms.append(ConditionalBatchNorm(out, k))
        self.to_rgb = nn.ConvTranspose2d(channels(R, w, sizes[-1]), 3, 4, 2, 1)  # R/2 -> R
        for module in self.modules():
            if isinstance(module, nn.ConvTranspose2d):
                nn.init.normal_(module.weight, 0.0, 0.02)  # DCGAN's initialization

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.config.num_classes and labels is None:
            raise ValueError("This generator is class-conditional: pass a class label for every latent.")
        x = F.relu(self.norms[0](self.stem(z[:, :, None, None]), labels))  # (B, z_dim) -> (B, C, 4, 4)
        for up, norm in zip(self.ups, self.norms[1:], strict=True):
            x = F.relu(norm(up(x), labels))  # (B, C, r, r) -> (B, C', 2r, 2r)
        return torch.tanh(self.to_rgb(x))  # (B, C, R/2, R/2) -> (B, 3, R, R)

    @torch.no_grad()
    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Pictures for the latents ``z`` (B, z_dim) [and ``labels`` (B,)]: (B, 3, R, R) in [-1, 1].

        Call ``.eval()`` first: in training mode batch norm normalizes with the batch's own statistics, so a
        picture would depend on which other latents share its batch. The same signature as
        :meth:`ConvVAE.generate <studio.core.nets.vae.ConvVAE.generate>`, so either image network renders a
        latent the same way."""
        return self(z, labels)


class Discriminator(nn.Module):
    """images (B, 3, R, R) [+ labels (B,)] -> logits (B,); projection discriminator with classes."""

    def __init__(self, config: DiscriminatorConfig) -> None:
        super().__init__()
        self.config = c = require_config(config, DiscriminatorConfig, "Discriminator")
        self.resolution, self.width, self.num_classes = c.resolution, c.width, c.num_classes  # as before the config
        wrap = nn.utils.parametrizations.spectral_norm if c.spectral_norm else (lambda module: module)
        layers, r, previous = [], c.resolution, 3
        while r > 4:  # (B, C, r, r) -> (B, C', r/2, r/2)
            out = channels(c.resolution, c.width, r // 2)
            layers.append(wrap(nn.Conv2d(previous, out, 4, 2, 1)))
            previous, r = out, r // 2
        self.downs = nn.ModuleList(layers)
        self.head = wrap(nn.Linear(previous * 16, 1))  # DCGAN's final 4x4 convolution, as a linear layer
        self.embed = wrap(nn.Embedding(c.num_classes, previous)) if c.num_classes else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        for down in self.downs:
            x = F.leaky_relu(down(x), 0.2)  # (B, 3, R, R) -> ... -> (B, C, 4, 4)
        logits = self.head(x.flatten(1)).squeeze(1)  # (B, C * 16) -> (B,)
        if self.embed is not None:
            if labels is None:
                raise ValueError("This discriminator is class-conditional: pass the labels.")
            logits = logits + (self.embed(labels) * x.sum(dim=(2, 3))).sum(dim=1)  # the projection term
        return logits


# -- losses -------------------------------------------------------------------------------------------------------
def d_loss(kind: str, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss. For "wgan-gp" add :func:`gradient_penalty` (weight 10) yourself; the
    small drift term (Karras et al., 2018) keeps the critic's outputs from wandering off."""
    real_logits, fake_logits = real_logits.float(), fake_logits.float()
    if kind == "nonsaturating":
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    if kind == "hinge":
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()
    if kind == "wgan-gp":
        return fake_logits.mean() - real_logits.mean() + 1e-3 * (real_logits**2).mean()
    raise ValueError(f"Unknown GAN loss {kind!r}: choose one of {', '.join(LOSSES)}.")


def g_loss(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    fake_logits = fake_logits.float()
    if kind == "nonsaturating":
        return F.softplus(-fake_logits).mean()
    if kind in ("hinge", "wgan-gp"):
        return -fake_logits.mean()
    raise ValueError(f"Unknown GAN loss {kind!r}: choose one of {', '.join(LOSSES)}.")


def _input_gradients(D: nn.Module, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """d D(x) / d x per sample, kept in the graph (the penalty is back-propagated into D)."""
    logits = D(x, labels)
    (grad,) = torch.autograd.grad(logits.float().sum(), x, create_graph=True)
    return grad.flatten(1).float()


def gradient_penalty(
    D: nn.Module, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None = None
) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al., 2017): (|grad D| - 1)² on random points between real and fake."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    return ((_input_gradients(D, mixed, labels).norm(dim=1) - 1.0) ** 2).mean()


def r1_penalty(D: nn.Module, real: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """R1 (Mescheder et al., 2018): |grad D(real)|², averaged over the batch; multiply by gamma / 2."""
    real = real.detach().requires_grad_(True)
    return _input_gradients(D, real, labels).pow(2).sum(dim=1).mean()


def build_generator(model: dict) -> Generator:
    """The generator a run's ``describe()`` dict (config.json's "model") describes, untrained (old dicts too:
    :meth:`NetConfig.from_dict <studio.core.nets.config.NetConfig.from_dict>`)."""
    return Generator(GeneratorConfig.from_dict(model))
