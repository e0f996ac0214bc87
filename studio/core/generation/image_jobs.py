"""Jobs the Image canvas runs in a worker thread (and the CLI and tests run directly).

Each job is a callable ``job(ctx) -> dict`` (see studio/core/jobs.py): it calls ``ctx.check()`` between
chunks of 16 images, so Cancel takes effect within one chunk (under 0.1 s for the balanced 64 px GAN on one
core of a 2-core CPU), reports ``ctx.progress(fraction, message)``, and returns plain values: uint8 NumPy
arrays (N, R, R, 3), float32 latents and JSON-ready settings dicts (one per image, what
:func:`png_settings.save_png` embeds). Never a tensor, never a Qt object.

Loaded models are kept in a small cache (image_model.cached_model; studio/core/generation/run_models.py says why
and how).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from studio.core import words
from studio.core.generation.animation import save_gif, walk
from studio.core.generation.image_model import (
    ImageModel,
    LatentSource,
    cached_model,
    check_seed,
    settings_json,
    source_from_settings,
)
from studio.core.generation.png_settings import (
    check_scale,
    model_for_settings,
    point_latent,
    read_settings,
    regenerate,
    save_png,
)
from studio.core.jobs import JobContext, JobError

MAX_COUNT = 1024  # a grid of 1,024 images at 256 px is 200 MB of uint8 pixels


def image_settings(model: ImageModel, source: str, class_index: int | None, truncation: float, **extra) -> dict:
    """The settings of one generated image (see png_settings for the keys)."""
    return {
        "source": source,
        **model.describe(),
        "class": model.classes[class_index] if class_index is not None else None,
        "class_index": class_index,
        "truncation": float(truncation),
        "device": model.device,
        **extra,
    }


def check_count(count: Any, what: str = "images") -> int:
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or not 1 <= int(count) <= MAX_COUNT:
        raise JobError(f"The number of {what} must be a whole number from 1 to {MAX_COUNT:,}, not {count!r}.")
    return int(count)


def check_truncation(truncation: Any) -> float:
    try:
        value = float(truncation)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 < value <= 2.0:
        raise JobError(f"Truncation must be above 0 and at most 2 (1 = none), not {truncation!r}.")
    return value


def _loading(ctx: JobContext, run_folder, step, device) -> ImageModel:
    ctx.progress(0.0, "Loading the model…")
    model = cached_model(run_folder, step, device)
    ctx.check()
    return model


def _rendering(ctx: JobContext, message: str):
    return lambda fraction: ctx.progress(0.05 + 0.95 * fraction, message)


class GenerateGrid:
    """Images ``start .. start+count-1`` of ``seed``: {"images", "latents", "settings", "run_id", "step", "kind",
    "classes", "class", "seed", "count"}."""

    title = "Generate images"
    kind = "generate"

    def __init__(
        self,
        run_folder: str | Path,
        step: int | None = None,
        seed: int = 0,
        count: int = 16,
        class_name: str | int | None = None,
        truncation: float = 1.0,
        device: str = "cpu",
        start: int = 0,
    ) -> None:
        self.run_folder, self.step, self.seed, self.count = Path(run_folder), step, seed, count
        self.class_name, self.truncation, self.device, self.start = class_name, truncation, device, int(start)

    def __call__(self, ctx: JobContext) -> dict:
        seed, count, truncation = check_seed(self.seed), check_count(self.count), check_truncation(self.truncation)
        model = _loading(ctx, self.run_folder, self.step, self.device)
        class_index = model.class_index(self.class_name)
        indices = list(range(self.start, self.start + count))
        images = model.render(
            LatentSource(seed),
            indices,
            class_index,
            truncation,
            ctx.check,
            _rendering(ctx, f"Generating {words.count(count, 'image')}…"),
        )
        settings = [image_settings(model, "grid", class_index, truncation, seed=seed, latent_index=i) for i in indices]
        return {
            "images": images,
            "latents": model.latents(seed, count, self.start),
            "settings": settings,
            **_model_fields(model),
            "class": settings[0]["class"],
            "seed": seed,
            "count": count,
        }


class GenerateVariations:
    """``count`` nearby versions of one image (``base``: that image's settings, from a grid, a variation or a
    PNG), same class and truncation: {"images", "latents", "settings", ...}."""

    title = "Generate variations"
    kind = "generate"

    def __init__(
        self,
        run_folder: str | Path,
        base: dict,
        seed: int = 0,
        count: int = 8,
        strength: float = 0.3,
        step: int | None = None,
        device: str = "cpu",
    ) -> None:
        self.run_folder, self.base, self.seed = Path(run_folder), dict(base), seed
        self.count, self.strength = count, strength
        self.step = step if step is not None else base.get("step")
        self.device = device

    def __call__(self, ctx: JobContext) -> dict:
        seed, count = check_seed(self.seed), check_count(self.count, "variations")
        try:
            strength = float(self.strength)
        except (TypeError, ValueError):
            strength = float("nan")
        if not 0.0 < strength <= 4.0:
            raise JobError(f"The variation strength must be above 0 and at most 4, not {self.strength!r}.")
        if self.base.get("source", "grid") not in ("grid", "variation"):
            raise JobError(
                "Variations can be made of generated images (a grid image or a variation); pick one of those."
            )
        model = _loading(ctx, self.run_folder, self.step, self.device)
        class_index = self.base.get("class_index")
        class_index = model.class_index(int(class_index)) if class_index is not None else model.class_index(None)
        truncation = check_truncation(self.base.get("truncation", 1.0))
        chain = list(self.base.get("variations") or [])
        base_fields = {"seed": self.base.get("seed"), "latent_index": self.base.get("latent_index")}
        first = {**base_fields, "variations": [*chain, {"seed": seed, "strength": strength, "index": 0}]}
        source, _ = source_from_settings(first)
        images = model.render(
            source,
            range(count),
            class_index,
            truncation,
            ctx.check,
            _rendering(ctx, f"Generating {words.count(count, 'variation')}…"),
        )
        settings = [
            image_settings(
                model,
                "variation",
                class_index,
                truncation,
                **base_fields,
                variations=[*chain, {"seed": seed, "strength": strength, "index": k}],
            )
            for k in range(count)
        ]
        return {
            "images": images,
            "latents": source.latents_at(model.z_dim, range(count)),
            "settings": settings,
            **_model_fields(model),
            "class": settings[0]["class"],
            "seed": seed,
            "count": count,
        }


class MakeLatentWalk:
    """A looping GIF that walks through 2+ generated images (``points``: their settings): {"path", "frames"
    (uint8 (F, R, R, 3)), "count", "fps", "settings" (the walk, also stored in the GIF's comment),
    "frame_settings" (one per frame, for exporting a frame as a PNG that regenerates)}.

    ``out_path=None`` renders the frames only ("path" is None): the canvas previews a walk first and writes the
    GIF when the user exports it, at the size (``scale``) and frames per step they choose then. The same points
    and settings render the same frames, so the exported GIF is the walk that was previewed."""

    title = "Make a latent walk"
    kind = "generate"

    def __init__(
        self,
        run_folder: str | Path,
        points: Sequence[dict],
        out_path: str | Path | None,
        frames_per_leg: int = 12,
        easing: str = "smooth",
        loop: bool = True,
        fps: float = 12.0,
        scale: int = 1,
        resample: str = "nearest",
        step: int | None = None,
        device: str = "cpu",
    ) -> None:
        self.run_folder, self.points = Path(run_folder), [dict(p) for p in points]
        self.out_path = Path(out_path) if out_path is not None else None
        self.frames_per_leg, self.easing, self.loop, self.fps = frames_per_leg, easing, loop, fps
        self.scale, self.resample, self.device = scale, resample, device
        self.step = step if step is not None else (self.points[0].get("step") if self.points else None)

    def __call__(self, ctx: JobContext) -> dict:
        if len(self.points) < 2:
            raise JobError("A latent walk needs at least two images; pick two or more.")
        if any(p.get("source", "grid") not in ("grid", "variation") for p in self.points):
            raise JobError("A latent walk goes through generated images (grid images or variations).")
        check_scale(self.scale)
        classes = {p.get("class_index") for p in self.points}
        if len(classes) > 1:
            names = sorted({str(p.get("class")) for p in self.points})
            raise JobError(
                f"A latent walk stays within one class, but these images are of {', '.join(names)}; "
                f"pick images of the same class."
            )
        model = _loading(ctx, self.run_folder, self.step, self.device)
        class_index = classes.pop()
        class_index = model.class_index(int(class_index)) if class_index is not None else model.class_index(None)
        truncation = check_truncation(self.points[0].get("truncation", 1.0))
        points = [
            {k: p.get(k) for k in ("seed", "latent_index", "variations") if p.get(k) is not None} for p in self.points
        ]
        latents = walk(np.stack([point_latent(model, p) for p in points]), self.frames_per_leg, self.easing, self.loop)
        frames = model.render(
            LatentSource(frames=latents),
            range(len(latents)),
            class_index,
            truncation,
            ctx.check,
            _rendering(ctx, f"Rendering {words.count(len(latents), 'frame')}…"),
        )
        settings = image_settings(
            model,
            "walk",
            class_index,
            truncation,
            walk={
                "points": points,
                "frames_per_leg": int(self.frames_per_leg),
                "easing": self.easing,
                "loop": bool(self.loop),
            },
        )
        path = None
        if self.out_path is not None:
            ctx.check()
            ctx.progress(0.98, "Writing the GIF…")
            path = str(
                save_gif(frames, self.out_path, self.fps, self.scale, self.resample, comment=settings_json(settings))
            )
        return {
            "path": path,
            "frames": frames,
            "count": len(frames),
            "fps": float(self.fps),
            "settings": settings,
            "frame_settings": [{**settings, "frame": j} for j in range(len(frames))],
        }


class ExportImages:
    """PNG files with settings embedded: {"files": [paths]}. Names default to :func:`default_name`; the same
    images and settings always give byte-identical files."""

    title = "Export images"
    kind = "export"

    def __init__(
        self,
        images: np.ndarray | Sequence[np.ndarray],
        settings: Sequence[dict],
        out_dir: str | Path,
        scale: int = 1,
        resample: str = "nearest",
        names: Sequence[str] | None = None,
    ) -> None:
        self.images, self.settings, self.out_dir = images, list(settings), Path(out_dir)
        self.scale, self.resample, self.names = scale, resample, list(names) if names is not None else None

    def __call__(self, ctx: JobContext) -> dict:
        check_scale(self.scale)
        if len(self.images) != len(self.settings) or (self.names is not None and len(self.names) != len(self.images)):
            raise JobError("Each exported image needs its own settings (and name); the lists differ in length.")
        files = []
        for i, (pixels, settings) in enumerate(zip(self.images, self.settings, strict=True)):
            ctx.check()
            name = self.names[i] if self.names is not None else default_name(settings, self.scale)
            files.append(str(save_png(self.out_dir / name, np.asarray(pixels), settings, self.scale, self.resample)))
            ctx.progress((i + 1) / len(self.settings), f"Exported {i + 1} of {len(self.settings)}")
        return {"files": files}


class ReconstructImages:
    """VAE: your pictures (paths or uint8 arrays, any size; the files are only read) and their reconstructions:
    {"originals", "images", "latents", "settings"}."""

    title = "Reconstruct pictures"
    kind = "generate"

    def __init__(
        self,
        run_folder: str | Path,
        images: Sequence[Any],
        class_name: str | int | None = None,
        step: int | None = None,
        device: str = "cpu",
    ) -> None:
        self.run_folder, self.inputs, self.class_name, self.step, self.device = (
            Path(run_folder),
            list(images),
            class_name,
            step,
            device,
        )

    def __call__(self, ctx: JobContext) -> dict:
        if not self.inputs:
            raise JobError("Drop one or more pictures to reconstruct.")
        model = _loading(ctx, self.run_folder, self.step, self.device)
        model.require_encoder("reconstruct pictures")  # the same sentence everywhere
        class_index = model.class_index(self.class_name)
        originals = model.prepare(self.inputs)
        ctx.check()
        latents = model.encode(originals, class_index, ctx.check)
        ctx.progress(0.5, "Reconstructing…")
        images = model.generate(latents, class_index, 1.0, ctx.check)
        settings = [
            image_settings(model, "reconstruction", class_index, 1.0, input=_input_name(item, i))
            for i, item in enumerate(self.inputs)
        ]
        return {
            "originals": originals,
            "images": images,
            "latents": latents,
            "settings": settings,
            **_model_fields(model),
        }


class Morph:
    """VAE: a walk between the latents of two pictures (A -> B, and back when ``loop``), optionally written as a
    GIF: {"originals" (2, R, R, 3), "frames" (F, R, R, 3), "path" (or None), "settings", "frame_settings"}."""

    title = "Morph pictures"
    kind = "generate"

    def __init__(
        self,
        run_folder: str | Path,
        image_a: Any,
        image_b: Any,
        frames_per_leg: int = 16,
        easing: str = "smooth",
        loop: bool = False,
        class_name: str | int | None = None,
        out_path: str | Path | None = None,
        fps: float = 12.0,
        scale: int = 1,
        resample: str = "nearest",
        step: int | None = None,
        device: str = "cpu",
    ) -> None:
        self.run_folder, self.pair, self.frames_per_leg, self.easing, self.loop = (
            Path(run_folder),
            [image_a, image_b],
            frames_per_leg,
            easing,
            loop,
        )
        self.class_name, self.out_path, self.fps, self.scale, self.resample = class_name, out_path, fps, scale, resample
        self.step, self.device = step, device

    def __call__(self, ctx: JobContext) -> dict:
        model = _loading(ctx, self.run_folder, self.step, self.device)
        model.require_encoder("morph between pictures")
        class_index = model.class_index(self.class_name)
        originals = model.prepare(self.pair)
        latents = walk(model.encode(originals, class_index, ctx.check), self.frames_per_leg, self.easing, self.loop)
        frames = model.generate(latents, class_index, 1.0, ctx.check)
        settings = image_settings(
            model,
            "morph",
            class_index,
            1.0,
            inputs=[_input_name(x, i) for i, x in enumerate(self.pair)],
            frames_per_leg=int(self.frames_per_leg),
            easing=self.easing,
            loop=bool(self.loop),
        )
        path = None
        if self.out_path is not None:
            ctx.check()
            path = str(
                save_gif(frames, self.out_path, self.fps, self.scale, self.resample, comment=settings_json(settings))
            )
        return {
            "originals": originals,
            "frames": frames,
            "path": path,
            "count": len(frames),
            "settings": settings,
            "frame_settings": [{**settings, "frame": j} for j in range(len(frames))],
        }


class OpenPng:
    """ "Open PNG": read an exported PNG's settings and regenerate it from them (the file is only read):
    {"settings", "image" (uint8 (R, R, 3), native size, for the canvas), "pixels" (as exported, upscaled
    like the file), "identical" (the regenerated pixels equal the file's), "run_folder", "run_id", "step"}."""

    title = "Open PNG"
    kind = "generate"

    def __init__(self, project_root: str | Path, path: str | Path, device: str = "cpu") -> None:
        self.project_root, self.path, self.device = Path(project_root), Path(path), device

    def __call__(self, ctx: JobContext) -> dict:
        ctx.progress(0.0, "Reading the settings…")
        settings = read_settings(self.path)
        model = model_for_settings(self.project_root, settings, self.device)
        ctx.check()
        ctx.progress(0.3, "Regenerating…")
        image = regenerate(self.project_root, settings, native=True, model=model)
        pixels = regenerate(self.project_root, settings, model=model)
        with Image.open(self.path) as stored:
            identical = np.array_equal(np.asarray(stored.convert("RGB")), pixels)
        return {
            "settings": settings,
            "image": image,
            "pixels": pixels,
            "identical": identical,
            "run_folder": str(model.folder),
            "run_id": model.run_id,
            "step": model.step,
        }


def _model_fields(model: ImageModel) -> dict:
    return {"run_id": model.run_id, "step": model.step, "kind": model.kind, "classes": list(model.classes)}


def _input_name(item: Any, i: int) -> str:
    return Path(item).name if isinstance(item, (str, Path)) else f"picture {i + 1}"


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe(text: Any) -> str:
    return _UNSAFE.sub("_", str(text)).strip("._") or "x"


def counted(index: Any) -> str:
    """A zero-based index as people count it, two digits at least: 0 → "01", 2 → "03", 99 → "100".

    Why one-based: the canvas says "image 3" for latent index 2, so the file must say 03 too; the padding keeps
    a grid's files in order in a file browser (up to 99)."""
    try:
        return f"{int(index) + 1:02d}"
    except (TypeError, ValueError):
        return _safe(index)


def default_name(settings: dict, scale: int = 1) -> str:
    """A file name that says what the image is and differs whenever the image does, numbered as the canvas
    numbers its images (one-based): image 8 of seed 42 is ``<run>-s42-08.png``; also
    ``<run>-cat-s42-08-t0.7-v3x0.3-02.png`` (its variation 2), ``<run>-walk-12.png`` (frame 12),
    ``<run>-recon-photo.png``."""
    run = _safe(settings.get("run_id", "image"))
    source = settings.get("source", "grid")
    parts = [run]
    if settings.get("class") is not None:
        parts.append(_safe(settings["class"]))
    if source in ("grid", "variation"):
        parts += [f"s{settings.get('seed')}", counted(settings.get("latent_index"))]
        if float(settings.get("truncation", 1.0)) != 1.0:
            parts.append(f"t{float(settings['truncation']):g}")
        parts += [
            f"v{v['seed']}x{float(v['strength']):g}-{counted(v['index'])}" for v in settings.get("variations") or []
        ]
    elif source == "walk":
        parts += ["walk", counted(settings.get("frame", 0))]
    elif source == "reconstruction":
        parts += ["recon", _safe(Path(str(settings.get("input", "picture"))).stem)]
    else:
        parts += [_safe(source), counted(settings.get("frame", 0))]
    if scale and int(scale) > 1:
        parts.append(f"x{int(scale)}")
    return "-".join(parts) + ".png"
