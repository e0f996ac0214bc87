"""The demo project a first launch opens, generated here so nothing is downloaded.

It holds small source folders the user can drag onto the Dataset panel straight away: drawn shapes in
three class folders, a file of product copy, and a few synthetic voice-like clips. Everything is made from
a fixed seed, so every machine gets the same demo.
"""

from __future__ import annotations

import io
import math
import random
from pathlib import Path

import numpy as np
import soundfile

from studio.core.atomic import atomic_write_bytes, atomic_write_text
from studio.core.datasets.importer import ImportDataset
from studio.core.jobs import JobContext
from studio.core.project import Project, open_or_create_project, open_project, update_project

DEMO_NAME = "Demo Project"
SOURCES = "demo-data"
IMAGES_PER_CLASS = 24
CLIPS = 6

_PALETTE = [(91, 91, 214), (236, 112, 99), (72, 187, 120), (246, 173, 85), (66, 153, 225), (159, 122, 234)]
_BACKGROUNDS = [(250, 248, 243), (236, 240, 247), (34, 38, 58), (255, 255, 255)]

_PRODUCTS = [
    "ceramic mug",
    "linen tote bag",
    "desk lamp",
    "notebook",
    "wool scarf",
    "water bottle",
    "poster print",
    "phone case",
    "candle",
    "sketchbook",
]
_QUALITIES = ["hand-finished", "minimal", "bold", "soft-touch", "recycled", "limited-edition", "everyday"]
_BENEFITS = [
    "made to last",
    "designed in small batches",
    "for slow mornings",
    "that travels well",
    "with a colour that pops",
    "kind to the planet",
    "that makes a great gift",
]
_CALLS = ["Order today.", "Find yours in the shop.", "Made for you.", "Now back in stock.", "Treat yourself."]


class MakeDemoProject:
    """Job: create (or reopen) the demo project under ``parent`` and fill in its demo sources."""

    title = "Preparing the demo project"

    def __init__(self, parent: str | Path, seed: int = 7) -> None:
        self.root = Path(parent) / DEMO_NAME
        self.seed = seed

    def __call__(self, ctx: JobContext) -> Project:
        project = open_or_create_project(self.root, DEMO_NAME)
        sources = project.root / SOURCES
        rng = random.Random(self.seed)
        ctx.progress(0.0, "Drawing demo images")
        draw_shapes(sources / "shapes", rng, ctx)
        ctx.progress(0.2, "Writing demo copy")
        _write_copy(sources / "copy.txt", rng)
        ctx.progress(0.3, "Synthesizing demo clips")
        _write_clips(sources / "voice", rng, ctx)
        demo = {"sources": SOURCES, "seed": self.seed}
        project = update_project(project.root, lambda fresh: fresh.extra.__setitem__("demo", demo))
        self._import_datasets(project, ctx)
        ctx.progress(1.0, "Demo project ready")
        return open_project(project.root)

    @staticmethod
    def _import_datasets(project: Project, ctx: JobContext) -> None:
        """Import the demo sources as three datasets, so every panel has something on a first launch."""

        sources = project.root / SOURCES
        plan = [
            ("shapes", sources / "shapes", "image"),
            ("copy", sources / "copy.txt", "text"),
            ("voice", sources / "voice", "audio"),
        ]
        for step, (name, source, kind) in enumerate(plan):
            if name in project.datasets:
                continue
            ctx.progress(0.4 + 0.2 * step, f"Importing the demo {kind} dataset")
            ImportDataset(project.root, name, [source], kind=kind, workers=1)(ctx)


def draw_shapes(folder: Path, rng: random.Random, ctx: JobContext, per_class: int = IMAGES_PER_CLASS) -> None:
    """``per_class`` pictures of each shape in class folders: the demo's, and the starter GAN's training set
    (packaging/make_starter_models.py draws more of them), drawn from scratch so their licence is ours."""
    from PIL import Image, ImageDraw  # lazy: keeps app start-up light

    for shape in ("circle", "square", "triangle"):
        for index in range(per_class):
            ctx.check()
            target = folder / shape / f"{shape}_{index:03d}.png"
            if target.exists():
                continue
            size = 96
            image = Image.new("RGB", (size, size), rng.choice(_BACKGROUNDS))
            draw = ImageDraw.Draw(image)
            colour = rng.choice(_PALETTE)
            radius = rng.randint(18, 36)
            cx, cy = rng.randint(radius, size - radius), rng.randint(radius, size - radius)
            if shape == "circle":
                draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=colour)
            elif shape == "square":
                draw.rectangle([cx - radius, cy - radius, cx + radius, cy + radius], fill=colour)
            else:
                angle = rng.uniform(0, 2 * math.pi)
                points = [
                    (
                        cx + radius * math.cos(angle + k * 2 * math.pi / 3),
                        cy + radius * math.sin(angle + k * 2 * math.pi / 3),
                    )
                    for k in range(3)
                ]
                draw.polygon(points, fill=colour)
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            atomic_write_bytes(target, buffer.getvalue())


def _write_copy(target: Path, rng: random.Random) -> None:
    if target.exists():
        return
    lines = []
    for _ in range(200):
        product = rng.choice(_PRODUCTS)
        lines.append(f"Our {rng.choice(_QUALITIES)} {product}, {rng.choice(_BENEFITS)}. {rng.choice(_CALLS)}")
    atomic_write_text(target, "\n".join(lines) + "\n")


def _write_clips(folder: Path, rng: random.Random, ctx: JobContext) -> None:
    """Short vowel-like tones (a pitch glide with harmonics), enough to exercise the audio import."""

    rate = 22050
    for index in range(CLIPS):
        ctx.check()
        target = folder / f"clip_{index:02d}.wav"
        if target.exists():
            continue
        seconds = rng.uniform(1.0, 2.0)
        t = np.arange(int(seconds * rate)) / rate
        f0 = rng.uniform(110, 220) * (1 + 0.15 * np.sin(2 * np.pi * 0.7 * t))
        phase = 2 * np.pi * np.cumsum(f0) / rate
        wave = sum(np.sin(k * phase) / k for k in range(1, 6))
        envelope = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.08)
        signal = (0.3 * wave * envelope).astype(np.float32)
        buffer = io.BytesIO()
        soundfile.write(buffer, signal, rate, format="WAV", subtype="PCM_16")
        atomic_write_bytes(target, buffer.getvalue())
