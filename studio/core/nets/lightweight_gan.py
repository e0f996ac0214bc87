"""A lightweight GAN for small picture sets (FastGAN, Liu et al., ICLR 2021), 32 to 256 px, optionally
class-conditional.

Why a second GAN beside DCGAN (studio/core/nets/gan.py): on a few hundred pictures a DCGAN's discriminator
memorizes the training set and the generator collapses to blobs or flat textures. FastGAN keeps both networks
small and adds two things that make ~100 pictures enough:

* **Skip-layer excitation (SLE)** in the generator: a small map (say 8×8) is pooled to 4×4, squeezed to one
  gain per channel (a 4×4 convolution, a 1×1 convolution, a sigmoid) and multiplies a map several doublings
  larger. Gradients reach the early layers along a short path, and the coarse layout gates the fine textures,
  which is what lets the generator train fast and keep its pictures coherent.
* **A self-supervised discriminator**: besides telling real from fake, it rebuilds its real input from its own
  8×8 features with a small decoder, and a random quarter of the picture from the matching quarter of its
  16×16 features with a second one. Having to describe *whole* real pictures keeps its features broad, so it
  cannot win by memorizing a few details; the generator gets more useful gradients as a result.

What differs from the paper, and why:

* **SLE pairs are 8× apart** (4→32, 8→64, 16→128, 32→256 px) rather than the paper's 16× (8→128, 16→256,
  32→512 at 1024 px): at the studio's 32–256 px the paper's pairs would leave the small sizes with none.
* **No noise injection** in the generator: a picture must be a function of its latent alone, so a PNG's
  settings regenerate it exactly and a latent walk moves smoothly (studio/core/generation/image_model.py).
  In eval mode the generator is deterministic for a fixed batch shape (batch norm uses its running statistics,
  nearest-neighbour upsampling, plain convolutions).
* **Reconstruction by mean squared error**, not the paper's LPIPS perceptual distance: LPIPS needs a network
  trained on ImageNet, and the studio downloads nothing (lucidrains/lightweight-gan also uses MSE).
* **Spectral norm instead of batch norm in the discriminator**, as in the studio's DCGAN (its docstring says
  why: real and fake go through it as one batch, and gradient penalties need per-sample gradients), and no
  second, low-resolution discriminator view: at 256 px and below the main path already sees the whole picture
  within a few layers.
* **Class conditioning** as in the DCGAN: conditional batch norm in the generator, a projection term in the
  discriminator (nothing changes with one class).

Channels follow :func:`studio.core.nets.image_sizes.channels`, so ``width`` means what it means for the DCGAN
and the VAE (the channels of the largest maps, doubling as the maps halve, at most ``8 * width``).

Layout (nanoGPT's model.py): the configs, the modules, :meth:`Generator.generate`, the build function; the
losses are the DCGAN's (:func:`studio.core.nets.gan.d_loss` and ``g_loss``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from studio.core.nets.config import NetConfig, require_config
from studio.core.nets.gan import ConditionalBatchNorm
from studio.core.nets.image_sizes import channels, check_resolution

SLE_RATIO = 8  # a map excites the map this many times larger (see the module docstring)
# Output sizes whose up block has a second convolution (the paper's UpBlockComp), never the final size: as in the
# paper (at 256 px: 8, 32 and 128 are compound, 256 is not), where a full-size 3×3 convolution costs the most
COMPOUND_SIZES = (8, 32, 128)
DECODED_MAX = 128  # the decoders rebuild pictures at most this large (the paper: 128 px)
FEATURES = 8  # the discriminator's trunk ends at 8×8 maps: what the whole-picture decoder reads


@dataclass(kw_only=True)
class GeneratorConfig(NetConfig):
    """The generator: what a run's ``describe()`` saves (beside the run facts) and :func:`build_generator`
    reads back."""

    resolution: int  # pictures are (3, resolution, resolution): one of image_sizes.RESOLUTIONS
    z_dim: int = 128  # the latent's size (the paper: 256; 128 as the studio's DCGAN, half the first layer)
    width: int = 32  # channels at the largest maps (image_sizes.channels)
    num_classes: int = 0  # 0: unconditional; else conditional batch norm

    def __post_init__(self) -> None:
        self.resolution = check_resolution(self.resolution)
        if min(self.z_dim, self.width) < 1 or self.num_classes < 0:
            raise ValueError("z_dim and width must be at least 1, and num_classes 0 (no classes) or more.")


@dataclass(kw_only=True)
class DiscriminatorConfig(NetConfig):
    """The discriminator and its decoders: only training builds them (from the run's settings)."""

    resolution: int
    width: int = 32  # channels at the largest maps, as the generator's width
    num_classes: int = 0  # 0: unconditional; else a projection discriminator
    spectral_norm: bool = True  # on every layer that judges (not on the decoders, which only rebuild)

    def __post_init__(self) -> None:
        self.resolution = check_resolution(self.resolution)
        if self.width < 1 or self.num_classes < 0:
            raise ValueError("width must be at least 1, and num_classes 0 (no classes) or more.")


# -- the generator ------------------------------------------------------------------------------------------------
class UpBlock(nn.Module):
    """(B, C_in, r, r) -> (B, C_out, 2r, 2r): nearest-neighbour upsampling, a 3×3 convolution to twice the
    channels, (conditional) batch norm and a GLU, which halves them again; a compound block repeats the
    convolution, norm and GLU once more at the new size (more capacity where the paper puts it)."""

    def __init__(self, c_in: int, c_out: int, num_classes: int, compound: bool) -> None:
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(c_in, 2 * c_out, 3, 1, 1, bias=False)])
        self.norms = nn.ModuleList([ConditionalBatchNorm(2 * c_out, num_classes)])
        if compound:
            self.convs.append(nn.Conv2d(c_out, 2 * c_out, 3, 1, 1, bias=False))
            self.norms.append(ConditionalBatchNorm(2 * c_out, num_classes))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")  # (B, C_in, 2r, 2r)
        for conv, norm in zip(self.convs, self.norms, strict=True):
            x = F.glu(norm(conv(x), labels), dim=1)  # (B, 2 C_out, 2r, 2r) -> (B, C_out, 2r, 2r)
        return x


class SkipExcitation(nn.Module):
    """Skip-layer excitation: a small map (B, C_small, s, s) -> one gain in (0, 1) per channel of a larger map,
    (B, C_big, 1, 1). Pooling to 4×4 first makes it the same module whatever ``s`` is."""

    def __init__(self, c_small: int, c_big: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(c_small, c_big, 4, 1, 0, bias=False)  # (B, C_small, 4, 4) -> (B, C_big, 1, 1)
        self.excite = nn.Conv2d(c_big, c_big, 1, 1, 0, bias=False)

    def forward(self, small: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(small, 4)  # (B, C_small, 4, 4)
        return torch.sigmoid(self.excite(F.silu(self.squeeze(x))))  # the paper's Swish is SiLU


class Generator(nn.Module):
    """z (B, z_dim) [+ labels (B,)] -> images (B, 3, R, R) in [-1, 1]."""

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = c = require_config(config, GeneratorConfig, "Generator")
        # the sizes as attributes too: the generation code reads num_classes from the network, as for the DCGAN
        self.resolution, self.z_dim, self.width, self.num_classes = c.resolution, c.z_dim, c.width, c.num_classes
        R, w, k = c.resolution, c.width, c.num_classes
        self.sizes = [4 * 2**i for i in range(int(math.log2(R)) - 1)]  # 4, 8, ..., R: one map per size
        first = channels(R, w, 4)
        self.stem = nn.ConvTranspose2d(c.z_dim, 2 * first, 4, 1, 0, bias=False)  # (B, z, 1, 1) -> (B, 2C, 4, 4)
        self.stem_norm = ConditionalBatchNorm(2 * first, k)
        self.ups = nn.ModuleList(
            UpBlock(channels(R, w, r), channels(R, w, 2 * r), k, compound=2 * r in COMPOUND_SIZES and 2 * r < R)
            for r in self.sizes[:-1]
        )
        # excitations keyed by the size of the map they multiply (ModuleDict keys must be strings)
        self.excite = nn.ModuleDict(
            {
                str(SLE_RATIO * s): SkipExcitation(channels(R, w, s), channels(R, w, SLE_RATIO * s))
                for s in self.sizes
                if SLE_RATIO * s <= R
            }
        )
        self.to_rgb = nn.Conv2d(channels(R, w, R), 3, 3, 1, 1)  # (B, C, R, R) -> (B, 3, R, R)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(module.weight, 0.0, 0.02)  # FastGAN's (and DCGAN's) initialization

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes and labels is None:
            raise ValueError("This generator is class-conditional: pass a class label for every latent.")
        x = F.glu(self.stem_norm(self.stem(z[:, :, None, None]), labels), dim=1)  # (B, z) -> (B, C, 4, 4)
        maps = {4: x}  # size -> map, for the excitations that read it later
        for size, up in zip(self.sizes[1:], self.ups, strict=True):
            x = up(x, labels)  # (B, C, r, r) -> (B, C', 2r, 2r) with 2r == size
            if str(size) in self.excite:
                x = x * self.excite[str(size)](maps[size // SLE_RATIO])  # (B, C', size, size) * (B, C', 1, 1)
            maps[size] = x
        return torch.tanh(self.to_rgb(x))  # (B, 3, R, R)

    @torch.no_grad()
    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Pictures for the latents ``z`` (B, z_dim) [and ``labels`` (B,)]: (B, 3, R, R) in [-1, 1].

        Call ``.eval()`` first (batch norm then uses its running statistics, so a picture does not depend on the
        other latents of its batch). The same signature as the DCGAN's and the VAE's ``generate``."""
        return self(z, labels)


# -- the discriminator --------------------------------------------------------------------------------------------
class DownBlock(nn.Module):
    """(B, C_in, r, r) -> (B, C_out, r/2, r/2): the paper's DownBlockComp, the mean of a strided 4×4 then 3×3
    convolution path and an average-pool then 1×1 path (the second keeps a short, smooth gradient route)."""

    def __init__(self, c_in: int, c_out: int, wrap) -> None:
        super().__init__()
        self.down = wrap(nn.Conv2d(c_in, c_out, 4, 2, 1))
        self.conv = wrap(nn.Conv2d(c_out, c_out, 3, 1, 1))
        self.skip = wrap(nn.Conv2d(c_in, c_out, 1, 1, 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        main = F.leaky_relu(self.conv(F.leaky_relu(self.down(x), 0.2)), 0.2)
        skip = F.leaky_relu(self.skip(F.avg_pool2d(x, 2)), 0.2)
        return (main + skip) / 2


class Decoder(nn.Module):
    """(B, C, 8, 8) features -> (B, 3, 8·2^n, 8·2^n) pictures: n nearest-neighbour upsamplings, each followed by a
    3×3 convolution and a GLU, the channels halving (not below 8), then a 3×3 convolution to RGB. Small on
    purpose: it should only be able to rebuild a picture from features that already describe it."""

    def __init__(self, c_in: int, upsamplings: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList()
        c = c_in
        for _ in range(upsamplings):
            out = max(8, c // 2)
            self.layers.append(nn.Conv2d(c, 2 * out, 3, 1, 1))
            c = out
        self.to_rgb = nn.Conv2d(c, 3, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.layers:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")  # (B, C, 2r, 2r)
            x = F.glu(conv(x), dim=1)  # (B, 2 C', 2r, 2r) -> (B, C', 2r, 2r)
        return torch.tanh(self.to_rgb(x))


class Discriminator(nn.Module):
    """images (B, 3, R, R) [+ labels (B,)] -> logits (B,); with ``features=True`` also its 16×16 and 8×8 feature
    maps, which :class:`Decoders` rebuild the real pictures from.

    The decoders are a module of their own rather than a part of this one so that every parameter of each takes
    part in every forward pass that has gradients: the generator's phase and the gradient penalties call this
    network for logits only, and DistributedDataParallel (several GPUs under torchrun) requires each wrapped
    module's parameters to all receive gradients, or none."""

    def __init__(self, config: DiscriminatorConfig) -> None:
        super().__init__()
        self.config = c = require_config(config, DiscriminatorConfig, "Discriminator")
        self.resolution, self.width, self.num_classes = c.resolution, c.width, c.num_classes
        wrap = nn.utils.parametrizations.spectral_norm if c.spectral_norm else (lambda module: module)
        R, w = c.resolution, c.width
        blocks, r, previous = [], R, 3
        while r > FEATURES:  # (B, C, r, r) -> (B, C', r/2, r/2), down to 8×8
            out = channels(R, w, r // 2)
            blocks.append(DownBlock(previous, out, wrap))
            previous, r = out, r // 2
        self.downs = nn.ModuleList(blocks)
        self.head = wrap(nn.Conv2d(previous, previous, 3, 2, 1))  # (B, C, 8, 8) -> (B, C, 4, 4)
        self.logit = wrap(nn.Linear(previous * 16, 1))  # (B, C * 16) -> (B, 1)
        self.embed = wrap(nn.Embedding(c.num_classes, previous)) if c.num_classes else None

    def forward(
        self, x: torch.Tensor, labels: torch.Tensor | None = None, features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        maps = {}
        for down in self.downs:
            x = down(x)  # (B, 3, R, R) -> ... -> (B, C, 8, 8)
            maps[x.shape[-1]] = x
        f8 = x
        x = F.leaky_relu(self.head(x), 0.2)  # (B, C, 4, 4)
        logits = self.logit(x.flatten(1)).squeeze(1)  # (B,)
        if self.embed is not None:
            if labels is None:
                raise ValueError("This discriminator is class-conditional: pass the labels.")
            logits = logits + (self.embed(labels) * x.sum(dim=(2, 3))).sum(dim=1)  # the projection term
        return (logits, maps[2 * FEATURES], f8) if features else logits


class Decoders(nn.Module):
    """The discriminator's self-supervision: (its 16×16 and 8×8 features of real pictures, the pictures it saw, a
    quarter) -> the reconstruction loss, the mean squared error of two rebuilt pictures:

    * the whole picture at half its size, from the 8×8 features (the coarse layout);
    * one quarter of it at full detail, from the matching quarter of the 16×16 features (fine texture).

    The paper rebuilds 1024 px pictures at 128 px; half size keeps the decoders cheap at the studio's sizes (at
    32 px rebuilding at full size doubled the cost of the discriminator's step) and still asks for the layout."""

    def __init__(self, config: DiscriminatorConfig) -> None:
        super().__init__()
        c = require_config(config, DiscriminatorConfig, "Decoders")
        R, w = c.resolution, c.width
        self.whole_size = max(2 * FEATURES, min(R // 2, DECODED_MAX))
        self.part_size = min(R // 2, DECODED_MAX)
        self.whole = Decoder(channels(R, w, FEATURES), int(math.log2(self.whole_size // FEATURES)))
        self.part = Decoder(channels(R, w, 2 * FEATURES), int(math.log2(self.part_size // FEATURES)))

    def forward(self, f16: torch.Tensor, f8: torch.Tensor, pictures: torch.Tensor, quadrant: int) -> torch.Tensor:
        """``quadrant`` 0-3 (top-left, top-right, bottom-left, bottom-right) picks the quarter; the caller draws
        it, so it comes from the training's own random stream."""
        pictures = pictures.float()  # the targets in fp32 (under autocast they may be half precision)
        loss = F.mse_loss(self.whole(f8).float(), _resize(pictures, self.whole_size))
        row, col = divmod(int(quadrant), 2)
        f, p = FEATURES, pictures.shape[-1] // 2  # a quarter of the 16×16 map is 8×8; of the picture, R/2
        part = self.part(f16[:, :, row * f : (row + 1) * f, col * f : (col + 1) * f]).float()  # (B, 3, s, s)
        target = pictures[:, :, row * p : (row + 1) * p, col * p : (col + 1) * p]  # (B, 3, R/2, R/2)
        return loss + F.mse_loss(part, _resize(target, self.part_size))


def _resize(pictures: torch.Tensor, size: int) -> torch.Tensor:
    """Area-average pictures down to ``size`` (whole factors only here; a no-op at the same size)."""
    factor = pictures.shape[-1] // size
    return pictures if factor == 1 else F.avg_pool2d(pictures, factor)


def build_generator(model: dict) -> Generator:
    """The generator a run's ``describe()`` dict (config.json's "model") describes, untrained (missing keys take
    the config's defaults: :meth:`NetConfig.from_dict <studio.core.nets.config.NetConfig.from_dict>`)."""
    return Generator(GeneratorConfig.from_dict(model))
