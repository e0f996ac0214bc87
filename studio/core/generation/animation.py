"""Latent walks and looping GIFs.

A walk visits K latents in order with spherical interpolation (slerp, White 2016, "Sampling Generative
Networks"): a Gaussian latent lives near a sphere, and the straight line between two such points cuts
through the sphere's low-norm interior, which a GAN renders as washed-out, atypical images mid-way. slerp
follows the sphere instead. Easing "smooth" (smoothstep, 3t² - 2t³) slows down near each chosen latent, so
the animation dwells on the images the user picked; "linear" moves at constant angular speed.

Frame layout (F frames, P = frames_per_leg): a walk through K points without loop has (K - 1) * P + 1
frames and ends exactly on the last point; a looped walk has K * P frames, its last leg heads back to the
first point, and the frame after the last would be frame 0 again, so a looping GIF shows no seam and no
doubled frame. Frame ``j * P`` is exactly point j (copied, not recomputed).
"""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
from PIL import Image

from studio.core.atomic import atomic_write_bytes
from studio.core.generation.upscale import upscale
from studio.core.jobs import JobError

EASINGS = ("smooth", "linear")
# A walk's frames are computed up front; its settings may come from a PNG someone sent (png_settings.regenerate),
# so their number is capped before anything is allocated: 4,096 frames is 5.7 minutes of GIF at 12 fps (the canvas
# offers up to 120 frames per step) and at most 64 MB of latents at the largest z_dim a run may have (4,096).
MAX_WALK_FRAMES = 4_096


def ease(t: np.ndarray | float, easing: str = "smooth"):
    if easing == "linear":
        return t
    if easing == "smooth":
        return t * t * (3.0 - 2.0 * t)
    raise JobError(f"Unknown easing “{easing}”; choose {' or '.join(EASINGS)}.")


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation from ``a`` (t=0) to ``b`` (t=1), in float64. Nearly parallel (or zero)
    vectors fall back to linear interpolation, where slerp's formula divides by ~0."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    norms = float(np.sqrt(np.sum(a * a)) * np.sqrt(np.sum(b * b)))
    if norms == 0.0:
        return (1.0 - t) * a + t * b
    omega = float(np.arccos(np.clip(np.sum(a * b) / norms, -1.0, 1.0)))
    if abs(np.sin(omega)) < 1e-6:
        return (1.0 - t) * a + t * b
    return (np.sin((1.0 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


def walk(latents: np.ndarray, frames_per_leg: int, easing: str = "smooth", loop: bool = True) -> np.ndarray:
    """(K, z) latents, K >= 2 -> (F, z) float32 frames (layout in the module docstring)."""
    points = np.asarray(latents, np.float32)
    if points.ndim != 2 or len(points) < 2:
        raise JobError("A latent walk needs at least two images; pick two or more.")
    frames_per_leg = int(frames_per_leg)
    if frames_per_leg < 1:
        raise JobError("A latent walk needs at least one frame per step between images.")
    total = len(points) * frames_per_leg if loop else (len(points) - 1) * frames_per_leg + 1
    if total > MAX_WALK_FRAMES:
        raise JobError(
            f"A latent walk of {total:,} frames is too long (the limit is {MAX_WALK_FRAMES:,}); use fewer "
            f"images or fewer frames per step."
        )
    ease(0.0, easing)  # validates the name before any work
    legs = list(zip(points, np.roll(points, -1, axis=0), strict=True)) if loop else list(itertools.pairwise(points))
    frames = []
    for a, b in legs:
        frames.append(a.copy())
        for j in range(1, frames_per_leg):
            frames.append(slerp(a, b, float(ease(j / frames_per_leg, easing))).astype(np.float32))
    if not loop:
        frames.append(points[-1].copy())
    return np.stack(frames).astype(np.float32)


def save_gif(
    frames: np.ndarray,
    path: str | Path,
    fps: float = 12.0,
    scale: int = 1,
    resample: str = "nearest",
    comment: str | None = None,
) -> Path:
    """Write uint8 (F, H, W, 3) frames as a GIF that loops forever (atomically: a crash leaves no half file).

    Each frame gets its own adaptive 256-colour palette (Pillow's default quantizer, deterministic), and the
    frame delay is rounded to GIF's 10 ms steps. Pillow merges identical consecutive frames into one longer
    frame, which keeps a dwelling walk small without changing how it plays. ``comment`` (the walk's settings)
    goes into the GIF's comment extension."""

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise JobError("A GIF needs at least one RGB frame of 8-bit pixels.")
    if not fps or fps <= 0:
        raise JobError("The frame rate must be above zero.")
    pictures = [upscale(Image.fromarray(frame), scale, resample) for frame in frames]
    duration = max(20, int(round(100.0 / fps)) * 10)  # ms; browsers treat < 20 ms as 100 ms
    buffer = io.BytesIO()
    extra = {"comment": comment.encode("utf-8")} if comment else {}
    pictures[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=pictures[1:],
        duration=duration,
        loop=0,
        optimize=False,
        **extra,
    )
    return atomic_write_bytes(path, buffer.getvalue())
