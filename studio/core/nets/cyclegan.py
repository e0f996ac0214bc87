"""CycleGAN (Zhu et al., 2017): two ResNet generators that turn style A into style B and back, two PatchGAN
discriminators that judge each style, and the GAN losses it trains with.

The networks (the paper's, Johnson et al.'s "ResNet" generator and Isola et al.'s 70×70 PatchGAN):

* generator: a 7×7 stem, two stride-2 downsamplings, ``n_blocks`` residual blocks at a quarter of the size, two
  upsamplings and a 7×7 layer to RGB with tanh. ``width`` is the stem's channels (the paper's ngf = 64), the
  residual blocks have 4 × width. Fully convolutional, so it runs on any picture whose sides are multiples of 4;
  it is *trained* at one resolution, and the generation code keeps the picture scale it saw there.
* discriminator: stride-2 4×4 convolutions (3 of them: a 70×70 receptive field at 128-256 px; 2 at 32 px, where
  70 px would be the whole picture) and two stride-1 ones, one logit per overlapping patch. Judging patches
  rather than the whole picture is what makes it a *style* judge: texture and colour, not layout.

What differs from the 2017 code, and why:

* Upsampling is nearest-neighbour ×2 followed by a 3×3 convolution, not a transposed convolution: the latter's
  uneven overlap paints a checkerboard on flat areas (Odena et al., 2016), which flat-coloured designs show at once.
* Instance norm without learned scale (the paper's default) everywhere, and never batch norm: every picture is
  normalized by its own statistics, so a picture's output never depends on which others share its batch (the
  generation code's byte-identical promise), and training and inference behave the same (no running averages).
* The loss is LSGAN (the paper's) or hinge (the studio's GAN default, for comparison); both listed in :data:`LOSSES`.

Layout (nanoGPT's model.py): the configs, the blocks, :class:`ResnetGenerator`, :class:`PatchDiscriminator`, the two
pairs the recipe trains (:class:`CycleGenerators` with :meth:`CycleGenerators.transfer`, :class:`CycleDiscriminators`),
the losses and the build function the family table names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from studio.core.nets.config import NetConfig, require_config
from studio.core.nets.image_sizes import check_resolution

LOSSES = ("lsgan", "hinge")
DIRECTIONS = ("a2b", "b2a")  # A -> B uses the generator "a2b"; B -> A the generator "b2a"
STYLES = ("a", "b")  # the discriminator of each style
# Bounds a description read from a run folder must respect before anything is built (a stranger's config.json
# could claim any size): the presets use width 16-64 and 3-9 blocks; these leave room and stop absurd sizes.
MAX_WIDTH, MAX_BLOCKS, MAX_DISC_LAYERS = 512, 32, 6


@dataclass(kw_only=True)
class CycleGanConfig(NetConfig):
    """Both generators (they share their sizes): what a run's ``describe()`` saves and :func:`build_generators`
    reads back."""

    resolution: int  # the picture size it trained at (image_sizes.RESOLUTIONS); transfer keeps this scale
    width: int = 64  # channels of the stem (the paper's ngf); the residual blocks have 4 × width
    n_blocks: int = 9  # residual blocks (the paper: 6 at 128 px, 9 at 256 px)

    def __post_init__(self) -> None:
        self.resolution = check_resolution(self.resolution)
        if not 1 <= self.width <= MAX_WIDTH or not 1 <= self.n_blocks <= MAX_BLOCKS:
            raise ValueError(f"width must be 1 to {MAX_WIDTH} and n_blocks 1 to {MAX_BLOCKS}.")


@dataclass(kw_only=True)
class PatchDiscriminatorConfig(NetConfig):
    """Both discriminators: only training builds them (from the run's settings), so no description carries it."""

    resolution: int
    width: int = 64  # channels of the first layer (the paper's ndf), doubling per downsampling up to 8 × width
    n_layers: int = 3  # stride-2 layers: 3 is the paper's 70×70 PatchGAN

    def __post_init__(self) -> None:
        self.resolution = check_resolution(self.resolution)
        if not 1 <= self.width <= MAX_WIDTH or not 1 <= self.n_layers <= MAX_DISC_LAYERS:
            raise ValueError(f"width must be 1 to {MAX_WIDTH} and n_layers 1 to {MAX_DISC_LAYERS}.")


def disc_layers_for(resolution: int) -> int:
    """Stride-2 layers of the discriminator at ``resolution``: 3 (a 70 px patch) from 64 px up, 2 (34 px) at 32 px,
    where a 70 px patch would see the whole picture and judge layout instead of style."""
    return max(1, min(3, int(math.log2(resolution)) - 3))


def _norm(channels: int) -> nn.InstanceNorm2d:
    """Per-picture normalization without learned scale (the module docstring says why not batch norm)."""
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResidualBlock(nn.Module):
    """x + conv(relu(norm(conv(x)))), reflection-padded: (B, C, h, w) -> (B, C, h, w). Reflection rather than
    zero padding so the picture's edges do not read as a dark frame the generator learns to paint."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            _norm(channels),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            _norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """pictures (B, 3, H, W) in [-1, 1] -> pictures (B, 3, H, W) in [-1, 1]; H and W multiples of 4."""

    def __init__(self, config: CycleGanConfig) -> None:
        super().__init__()
        self.config = c = require_config(config, CycleGanConfig, "ResnetGenerator")
        w = c.width
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(3, w, 7), _norm(w), nn.ReLU(inplace=True)]
        for i in range(2):  # (B, w·2^i, s, s) -> (B, w·2^(i+1), s/2, s/2)
            layers += [nn.Conv2d(w * 2**i, w * 2 ** (i + 1), 3, 2, 1), _norm(w * 2 ** (i + 1)), nn.ReLU(inplace=True)]
        layers += [ResidualBlock(4 * w) for _ in range(c.n_blocks)]  # (B, 4w, H/4, W/4), unchanged
        for i in (2, 1):  # (B, w·2^i, s, s) -> (B, w·2^(i-1), 2s, 2s): nearest ×2, then a 3×3 convolution
            layers += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.ReflectionPad2d(1),
                nn.Conv2d(w * 2**i, w * 2 ** (i - 1), 3),
                _norm(w * 2 ** (i - 1)),
                nn.ReLU(inplace=True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(w, 3, 7), nn.Tanh()]  # (B, w, H, W) -> (B, 3, H, W)
        self.net = nn.Sequential(*layers)
        _init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """pictures (B, 3, H, W) -> one logit per patch (B, 1, h, w)."""

    def __init__(self, config: PatchDiscriminatorConfig) -> None:
        super().__init__()
        self.config = c = require_config(config, PatchDiscriminatorConfig, "PatchDiscriminator")
        w = c.width
        layers: list[nn.Module] = [nn.Conv2d(3, w, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]  # no norm on the input
        previous = w
        for i in range(1, c.n_layers):  # (B, C, s, s) -> (B, C', s/2, s/2)
            out = w * min(8, 2**i)
            layers += [nn.Conv2d(previous, out, 4, 2, 1), _norm(out), nn.LeakyReLU(0.2, inplace=True)]
            previous = out
        out = w * min(8, 2**c.n_layers)
        layers += [nn.Conv2d(previous, out, 4, 1, 1), _norm(out), nn.LeakyReLU(0.2, inplace=True)]  # s -> s - 1
        layers += [nn.Conv2d(out, 1, 4, 1, 1)]  # (B, C, s, s) -> (B, 1, s - 1, s - 1): the patch logits
        self.net = nn.Sequential(*layers)
        _init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _init_weights(module: nn.Module) -> None:
    """N(0, 0.02) convolutions and zero biases: the paper's initialization (DCGAN's)."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.normal_(layer.weight, 0.0, 0.02)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


class CycleGenerators(nn.Module):
    """The two generators as one network: what a checkpoint stores under "generators" and generation loads.

    One module rather than two so the engine trains them with one optimizer (the paper's single Adam over both),
    keeps one EMA copy, and the family table names one network that transfers both ways."""

    def __init__(self, config: CycleGanConfig) -> None:
        super().__init__()
        self.config = c = require_config(config, CycleGanConfig, "CycleGenerators")
        self.resolution = c.resolution
        self.a2b = ResnetGenerator(c)
        self.b2a = ResnetGenerator(c)

    def forward(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        """(B, 3, H, W) in [-1, 1] -> the other style, (B, 3, H, W) in [-1, 1]."""
        if direction == "a2b":
            return self.a2b(x)
        if direction == "b2a":
            return self.b2a(x)
        raise ValueError(f"Unknown direction {direction!r}: use one of {', '.join(DIRECTIONS)}.")

    @torch.no_grad()
    def transfer(self, x: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        """Pictures ``x`` (B, 3, H, W) in [-1, 1] (H, W multiples of 4) in the other style, (B, 3, H, W).

        Call ``.eval()`` first (nothing here changes with it today, but the studio's rule is that generating
        networks are used in eval mode). For pictures of another size than the trained one, the generation code
        (studio/core/generation/transfer_jobs.py) tiles or resizes them so the network sees the scale it learned."""
        return self(x, direction)


class CycleDiscriminators(nn.Module):
    """The two discriminators: "a" tells real style-A pictures from B→A outputs, "b" the other way round."""

    def __init__(self, config: PatchDiscriminatorConfig) -> None:
        super().__init__()
        self.config = require_config(config, PatchDiscriminatorConfig, "CycleDiscriminators")
        self.a = PatchDiscriminator(config)
        self.b = PatchDiscriminator(config)

    def forward(self, x: torch.Tensor, style: str) -> torch.Tensor:
        """(B, 3, H, W) -> patch logits (B, 1, h, w) of the discriminator of ``style`` ("a" or "b")."""
        if style == "a":
            return self.a(x)
        if style == "b":
            return self.b(x)
        raise ValueError(f"Unknown style {style!r}: use one of {', '.join(STYLES)}.")


# -- losses -------------------------------------------------------------------------------------------------------
def d_loss(kind: str, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """A discriminator's loss over all its patches. LSGAN (Mao et al., 2017) halves it, as the paper does, so the
    discriminator learns at half the generator's pace; hinge as in the studio's GAN."""
    real_logits, fake_logits = real_logits.float(), fake_logits.float()
    if kind == "lsgan":
        return 0.5 * (((real_logits - 1.0) ** 2).mean() + (fake_logits**2).mean())
    if kind == "hinge":
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()
    raise ValueError(f"Unknown CycleGAN loss {kind!r}: choose one of {', '.join(LOSSES)}.")


def g_loss(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """A generator's adversarial loss: its outputs should be judged real by the other style's discriminator."""
    fake_logits = fake_logits.float()
    if kind == "lsgan":
        return ((fake_logits - 1.0) ** 2).mean()
    if kind == "hinge":
        return -fake_logits.mean()
    raise ValueError(f"Unknown CycleGAN loss {kind!r}: choose one of {', '.join(LOSSES)}.")


def build_generators(model: dict) -> CycleGenerators:
    """The two generators a run's ``describe()`` dict (config.json's "model") describes, untrained."""
    return CycleGenerators(CycleGanConfig.from_dict(model))
