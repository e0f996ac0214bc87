"""Upscaling exported pictures: the PNG export (png_settings) and the GIF writer (animation) both enlarge
pixels the same way, so the one filter choice and its limits live here, below both of them."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from studio.core.jobs import JobError

RESAMPLE = ("nearest", "lanczos")
MAX_SCALE = 16


def upscale(image, scale: int = 1, resample: str = "nearest"):
    """A PIL image enlarged ``scale`` times: "nearest" keeps hard pixels (pixel art, icons), "lanczos" is smooth."""

    scale = check_scale(scale)
    if resample not in RESAMPLE:
        raise JobError(f"Unknown upscaling filter “{resample}”; choose nearest or lanczos.")
    if scale == 1:
        return image
    method = Image.Resampling.NEAREST if resample == "nearest" else Image.Resampling.LANCZOS
    return image.resize((image.width * scale, image.height * scale), method)


def check_scale(scale: Any) -> int:
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or not 1 <= int(scale) <= MAX_SCALE:
        raise JobError(f"The upscale factor must be a whole number from 1 to {MAX_SCALE}, not {scale!r}.")
    return int(scale)
