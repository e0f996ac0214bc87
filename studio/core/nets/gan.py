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
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

RESOLUTIONS = (32, 64, 128, 256)
LOSSES = ("nonsaturating", "hinge", "wgan-gp")


def check_resolution(resolution: int) -> int:
    if resolution not in RESOLUTIONS:
        raise ValueError(f"The resolution must be one of {', '.join(map(str, RESOLUTIONS))} px, not {resolution}.")
    return int(resolution)


def channels(resolution: int, width: int, r: int) -> int:
    """Channels of the feature map at spatial size ``r`` in a network for ``resolution`` px."""
    return width * min(8, max(1, resolution // (2 * r)))


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
        x = self.norm(x)
        if not self.num_classes:
            return x
        return x * self.gain(labels)[:, :, None, None] + self.bias(labels)[:, :, None, None]


class Generator(nn.Module):
    """z (B, z_dim) [+ labels (B,)] -> images (B, 3, R, R) in [-1, 1]."""

    def __init__(self, resolution: int, z_dim: int = 128, width: int = 64, num_classes: int = 0) -> None:
        super().__init__()
        self.resolution, self.z_dim = check_resolution(resolution), z_dim
        self.width, self.num_classes = width, num_classes
        sizes = [4 * 2**i for i in range(int(math.log2(resolution)) - 2)]  # 4, 8, ..., R/2
        first = channels(resolution, width, 4)
        self.stem = nn.ConvTranspose2d(z_dim, first, 4, 1, 0, bias=False)  # (B, z, 1, 1) -> (B, C, 4, 4)
        self.norms = nn.ModuleList([ConditionalBatchNorm(first, num_classes)])
        self.ups = nn.ModuleList()
        for r in sizes[:-1]:
            out = channels(resolution, width, 2 * r)
            self.ups.append(nn.ConvTranspose2d(channels(resolution, width, r), out, 4, 2, 1, bias=False))
            self.norms.append(ConditionalBatchNorm(out, num_classes))
        self.to_rgb = nn.ConvTranspose2d(channels(resolution, width, sizes[-1]), 3, 4, 2, 1)  # R/2 -> R
        for module in self.modules():
            if isinstance(module, nn.ConvTranspose2d):
                nn.init.normal_(module.weight, 0.0, 0.02)  # DCGAN's initialization

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes and labels is None:
            raise ValueError("This generator is class-conditional: pass a class label for every latent.")
        x = F.relu(self.norms[0](self.stem(z[:, :, None, None]), labels))
        for up, norm in zip(self.ups, self.norms[1:], strict=True):
            x = F.relu(norm(up(x), labels))
        return torch.tanh(self.to_rgb(x))


class Discriminator(nn.Module):
    """images (B, 3, R, R) [+ labels (B,)] -> logits (B,); projection discriminator with classes."""

    def __init__(self, resolution: int, width: int = 64, num_classes: int = 0, spectral_norm: bool = True) -> None:
        super().__init__()
        self.resolution, self.width, self.num_classes = check_resolution(resolution), width, num_classes
        wrap = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda module: module)
        layers, r, previous = [], resolution, 3
        while r > 4:
            out = channels(resolution, width, r // 2)
            layers.append(wrap(nn.Conv2d(previous, out, 4, 2, 1)))
            previous, r = out, r // 2
        self.downs = nn.ModuleList(layers)
        self.head = wrap(nn.Linear(previous * 16, 1))  # DCGAN's final 4x4 convolution, as a linear layer
        self.embed = wrap(nn.Embedding(num_classes, previous)) if num_classes else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        for down in self.downs:
            x = F.leaky_relu(down(x), 0.2)
        logits = self.head(x.flatten(1)).squeeze(1)
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
    """The generator a run's ``describe()`` dict (config.json's "model") describes, untrained."""
    return Generator(
        int(model["resolution"]), int(model["z_dim"]), int(model["width"]), int(model.get("num_classes", 0))
    )
