"""DiffAugment-style augmentations on batches of image tensors, on any device.

Why these and why here: a GAN trained on a few hundred images over-fits its discriminator within minutes.
DiffAugment (Zhao et al., 2020) applies the *same* random, differentiable transforms to real and generated
images before the discriminator, so it cannot memorize the training set while the generator still gets
gradients through the transforms. That only works if every op is differentiable, which is why these ops:

* work on NCHW float tensors in [-1, 1] on the training device, a whole batch at once (no per-image
  Python loop, no CPU round trip);
* never modify their input in place, so autograd can flow back into the generator;
* draw all randomness from an optional ``torch.Generator``: the same seed gives the same output, which the
  dataset panel's live preview and the tests rely on.

Each random op has a deterministic twin taking explicit parameters (``translate``, ``erase``, ``hflip``),
which keeps the random part tiny and the geometry testable.

Empty pixels are 0, i.e. mid-grey in [-1, 1]: translation fills the uncovered border with 0 and cutout sets
its square to 0, exactly as the reference DiffAugment does (0 is also the mean of a normalized image, so
the holes carry no colour the discriminator could key on).

Import note: this module imports torch at load time; the UI must import it lazily (inside the preview code
path), never at app start.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

DEFAULT_POLICY = "color,translation,cutout,flip"


# -- random numbers ---------------------------------------------------------------------------------------------
def _uniform(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """(N,) uniform [0, 1) in x's dtype on x's device, drawn from ``generator`` (on its own device) if given."""
    device = generator.device if generator is not None else x.device
    return torch.rand(x.shape[0], generator=generator, device=device).to(device=x.device, dtype=x.dtype)


def _randint(x: torch.Tensor, low: int, high: int, generator: torch.Generator | None) -> torch.Tensor:
    """(N,) integers in [low, high) on x's device."""
    device = generator.device if generator is not None else x.device
    return torch.randint(low, high, (x.shape[0],), generator=generator, device=device).to(x.device)


def _per_sample(values: torch.Tensor) -> torch.Tensor:
    return values.view(-1, 1, 1, 1)


# -- colour ------------------------------------------------------------------------------------------------------
def brightness(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Add one offset in [-0.5, 0.5) per image (a quarter of the [-1, 1] range)."""
    return x + _per_sample(_uniform(x, generator) - 0.5)


def saturation(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Scale each pixel's distance from its grey (channel mean) by a factor in [0, 2)."""
    grey = x.mean(dim=1, keepdim=True)
    return (x - grey) * _per_sample(_uniform(x, generator) * 2) + grey


def contrast(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Scale each image's distance from its mean by a factor in [0.5, 1.5)."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * _per_sample(_uniform(x, generator) + 0.5) + mean


def color(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Brightness, then saturation, then contrast jitter (DiffAugment's "color")."""
    return contrast(saturation(brightness(x, generator), generator), generator)


# -- geometry ----------------------------------------------------------------------------------------------------
def translate(x: torch.Tensor, shift_x: torch.Tensor, shift_y: torch.Tensor) -> torch.Tensor:
    """Move image i right by ``shift_x[i]`` and down by ``shift_y[i]`` pixels (negative: left/up); uncovered
    pixels become 0. A gather with per-sample indices: one kernel for the batch, differentiable."""
    n, _, height, width = x.shape
    rows = torch.arange(height, device=x.device)[None, :] - shift_y.to(x.device).view(-1, 1)  # (N, H) source rows
    cols = torch.arange(width, device=x.device)[None, :] - shift_x.to(x.device).view(-1, 1)  # (N, W) source cols
    inside = ((rows >= 0) & (rows < height))[:, :, None] & ((cols >= 0) & (cols < width))[:, None, :]  # (N, H, W)
    batch = torch.arange(n, device=x.device).view(-1, 1, 1)
    moved = x[batch, :, rows.clamp(0, height - 1)[:, :, None], cols.clamp(0, width - 1)[:, None, :]]  # (N, H, W, C)
    return moved.permute(0, 3, 1, 2) * inside[:, None].to(x.dtype)


def translation(x: torch.Tensor, ratio: float = 0.125, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random shifts of up to ``ratio`` of the image size in each direction, per image."""
    limit_y, limit_x = int(x.shape[2] * ratio + 0.5), int(x.shape[3] * ratio + 0.5)
    shift_x = _randint(x, -limit_x, limit_x + 1, generator)
    shift_y = _randint(x, -limit_y, limit_y + 1, generator)
    return translate(x, shift_x, shift_y)


def erase(x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Set a ``height``×``width`` rectangle at (top, left) of each image to 0; parts outside the image are
    ignored. Multiplying by a mask (instead of assigning) keeps it out-of-place and differentiable."""
    rows = torch.arange(x.shape[2], device=x.device)[None, :]
    cols = torch.arange(x.shape[3], device=x.device)[None, :]
    top, left = top.to(x.device).view(-1, 1), left.to(x.device).view(-1, 1)
    in_rows = (rows >= top) & (rows < top + height)  # (N, H)
    in_cols = (cols >= left) & (cols < left + width)  # (N, W)
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :])  # (N, H, W)
    return x * keep[:, None].to(x.dtype)


def cutout(x: torch.Tensor, ratio: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero one square of ``ratio`` × the image size per image, centred anywhere in the image (so it may be
    partly outside, as in DiffAugment)."""
    height, width = int(x.shape[2] * ratio + 0.5), int(x.shape[3] * ratio + 0.5)
    centre_y = _randint(x, 0, x.shape[2], generator)
    centre_x = _randint(x, 0, x.shape[3], generator)
    return erase(x, centre_y - height // 2, centre_x - width // 2, height, width)


def hflip(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mirror left-right the images where ``mask`` (N,) is True."""
    return torch.where(mask.to(x.device).view(-1, 1, 1, 1), x.flip(3), x)


def flip(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2."""
    return hflip(x, _uniform(x, generator) < 0.5)


# -- policies ----------------------------------------------------------------------------------------------------
OPS: dict[str, Callable[..., torch.Tensor]] = {
    "color": color,
    "translation": translation,
    "cutout": cutout,
    "flip": flip,
}


def parse_policy(policy: str | list[str] | tuple[str, ...]) -> list[str]:
    """ "color,translation" -> ["color", "translation"]; raises ValueError naming an unknown op."""
    names = [p.strip() for p in (policy.split(",") if isinstance(policy, str) else policy) if p.strip()]
    unknown = [n for n in names if n not in OPS]
    if unknown:
        raise ValueError(f"Unknown augmentation {', '.join(unknown)}: choose from {', '.join(OPS)}.")
    return names


def augment(
    x: torch.Tensor, policy: str | list[str] = DEFAULT_POLICY, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Apply the ops of ``policy`` in order to a batch ``x`` (N, C, H, W) in [-1, 1]; returns a new tensor
    of the same shape (the input is never modified). An empty policy returns ``x`` itself."""
    for name in parse_policy(policy):
        x = OPS[name](x, generator=generator)
    return x


def preview_grid(
    images_uint8_nhwc: np.ndarray, policy: str | list[str] = DEFAULT_POLICY, seed: int = 0, n: int = 16
) -> np.ndarray:
    """``n`` augmented copies for the dataset panel's live preview: uint8 (n, H, W, 3) on the CPU.

    Images are cycled when fewer than ``n`` are given, so one picture shows ``n`` different augmentations.
    The same ``seed`` gives the same grid, so the preview only changes when the user changes the policy.
    """
    images = np.asarray(images_uint8_nhwc, dtype=np.uint8)
    if images.ndim == 3:
        images = images[None]
    if len(images) == 0 or n <= 0:
        return np.zeros((0, *images.shape[1:]), np.uint8)
    picked = images[np.arange(n) % len(images)]
    x = torch.from_numpy(np.ascontiguousarray(picked)).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    with torch.no_grad():
        y = augment(x, policy, torch.Generator().manual_seed(int(seed)))
    pixels = ((y.clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).contiguous().numpy()
