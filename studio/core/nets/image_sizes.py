"""The picture sizes the image networks (studio/core/nets/gan.py, vae.py) are built for, and their channel rule.

Torch-free on purpose: the image cache (studio/core/datasets/image_cache.py), which does not import torch when the
studio starts, must accept exactly the sizes a network can be built for, so both read this one definition.

Why powers of two from 32: the networks grow a 4×4 map by stride-2 layers (and shrink a picture to 4×4 the
same way), so a size must be 4 × a power of two; the four sizes are the ones the image families offer.
"""

from __future__ import annotations

RESOLUTIONS = (32, 64, 128, 256)


def check_resolution(resolution: int) -> int:
    """``resolution`` as an int, or ValueError when no network is built for it."""
    if resolution not in RESOLUTIONS:
        raise ValueError(f"The resolution must be one of {', '.join(map(str, RESOLUTIONS))} px, not {resolution}.")
    return int(resolution)


def channels(resolution: int, width: int, r: int) -> int:
    """Channels of the feature map at spatial size ``r`` in a network for ``resolution`` px: ``width`` at the
    largest maps, doubling with each halving of the size, at most ``8 * width`` (DCGAN's 512-256-128-64 at 64 px
    and width 64). The GAN and the VAE share the rule, so ``width`` means the same thing in both families."""
    return width * min(8, max(1, resolution // (2 * r)))
