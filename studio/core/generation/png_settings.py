"""PNG files that remember how they were made, and regenerate their exact pixels from that.

Each exported PNG carries its settings twice, as text chunks: one chunk ``aigc-studio`` holding all of them
as canonical JSON (sorted keys: the part :func:`read_settings` trusts, with types intact), and one chunk
per setting (``run_id``, ``step``, ``seed``, ``latent_index``, ``class``, ``truncation``, ``scale`` ...) so
any PNG viewer or ``exiftool`` shows them. Non-Latin text (a class named 猫) goes into iTXt (UTF-8) chunks.

Same settings and pixels -> byte-identical files: there is no timestamp chunk (Pillow writes none unless
asked), the chunk order is fixed, and the encoder options are fixed (zlib level 6, no ``optimize``).

The settings of one image (all plain JSON values)::

    app, schema            "AIGC Studio", 1: marks a PNG as ours
    source                 "grid" | "variation" | "walk" | "reconstruction" | "morph"
    run_id, step, kind, resolution     the model: run folder name, checkpoint step, "gan"/"vae", px
    seed, latent_index     grid latent ``latent_index`` of ``seed`` (see image_model.LatentSource)
    variations             [{"seed", "strength", "index"}, ...] for variations (of variations)
    walk, frame            {"points": [settings...], "frames_per_leg", "easing", "loop"}, frame number
    class, class_index     class name and index (null without classes); truncation (1.0 = none)
    device                 where it was computed ("cpu" pixels are the reproducible ones)
    scale, resample        the export's upscale factor and filter ("nearest" | "lanczos"), set by save_png
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError
from PIL.PngImagePlugin import PngInfo

from studio.core.atomic import atomic_write_bytes
from studio.core.generation.animation import MAX_WALK_FRAMES
from studio.core.generation.animation import walk as make_walk
from studio.core.generation.image_model import (
    ImageModel,
    LatentSource,
    cached_model,
    resolve_run,
    settings_json,
    source_from_settings,
)
from studio.core.generation.upscale import check_scale, upscale
from studio.core.jobs import JobError

KEY = "aigc-studio"
APP = "AIGC Studio"
SCHEMA = 1
REGENERABLE = ("grid", "variation", "walk")


def _chunk_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


def encode_png(pixels: np.ndarray, settings: dict, scale: int = 1, resample: str = "nearest") -> tuple[bytes, dict]:
    """(PNG bytes, the settings embedded) for uint8 (H, W, 3) ``pixels``: see the module docstring."""

    pixels = np.asarray(pixels)
    if pixels.ndim != 3 or pixels.shape[-1] != 3 or pixels.dtype != np.uint8:
        raise JobError("Only RGB images of 8-bit pixels can be exported as PNG.")
    embedded = {**settings, "app": APP, "schema": SCHEMA, "scale": check_scale(scale), "resample": resample}
    picture = upscale(Image.fromarray(pixels), scale, resample)
    info = PngInfo()
    info.add_text(KEY, settings_json(embedded))
    for key in sorted(embedded):
        if key not in ("app", "schema") and embedded[key] is not None:
            info.add_text(key[:79], _chunk_text(embedded[key]))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", pnginfo=info, compress_level=6, optimize=False)
    return buffer.getvalue(), embedded


def save_png(path: str | Path, pixels: np.ndarray, settings: dict, scale: int = 1, resample: str = "nearest") -> Path:
    """Write ``pixels`` (upscaled ``scale`` times) with ``settings`` embedded, atomically."""
    data, _ = encode_png(pixels, settings, scale, resample)
    return atomic_write_bytes(path, data)


def read_settings(path: str | Path) -> dict:
    """The settings embedded in a PNG this studio exported. The file is only read."""

    path = Path(path)
    try:
        with Image.open(path) as image:
            kind = image.format
            text = dict(getattr(image, "text", {}) or {}) if kind == "PNG" else {}
    except FileNotFoundError as exc:
        raise JobError(f"There is no file {path}.") from exc
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise JobError(f"{path.name} is not a picture that can be read; open a PNG exported by AIGC Studio.") from exc
    if kind != "PNG":
        raise JobError(
            f"{path.name} is a {kind or 'non-PNG'} file; only PNGs exported by AIGC Studio carry the "
            f"settings that regenerate an image."
        )
    if KEY not in text:
        raise JobError(
            f"{path.name} has no AIGC Studio settings: it was not exported by the studio, or an editor "
            f"removed them. Open a PNG exported from the Image canvas or by “aigc-studio generate image”."
        )
    try:
        settings = json.loads(text[KEY])
    except ValueError as exc:
        raise JobError(f"The settings in {path.name} are damaged and cannot be read; export the image again.") from exc
    if not isinstance(settings, dict) or settings.get("app") != APP or not isinstance(settings.get("schema"), int):
        raise JobError(f"The settings in {path.name} are not AIGC Studio settings; export the image again.")
    if settings["schema"] > SCHEMA:
        raise JobError(f"{path.name} was exported by a newer AIGC Studio; update the studio to regenerate it.")
    return settings


def model_for_settings(project_root: str | Path, settings: dict, device: str = "cpu") -> ImageModel:
    """The (cached) model the settings name: the same run and checkpoint step, or a plain error."""
    run_id, step = settings.get("run_id"), settings.get("step")
    if not isinstance(run_id, str) or not run_id or not isinstance(step, int):
        raise JobError(
            "These settings do not name the model and checkpoint that made the image; export it again from AIGC Studio."
        )
    try:
        folder = resolve_run(project_root, run_id)
    except JobError as exc:
        raise JobError(
            f"The image was made by the run {run_id}, which is not in the project {Path(project_root)}; "
            f"open the project it was made in (or copy that run folder into its runs folder)."
        ) from exc
    return cached_model(folder, step, device)


def regenerate(
    project_root: str | Path, settings: dict, device: str = "cpu", native: bool = False, model: ImageModel | None = None
) -> np.ndarray:
    """uint8 (H, W, 3): the exact pixels of the PNG these settings came from (upscaled like it, unless
    ``native``). The same checkpoint re-renders the same canonical chunk (see image_model), so this is the
    identical image on the machine that made it (tested); computed elsewhere (another CPU type, a GPU) a few
    pixels may differ by a level, because other conv kernels round differently."""
    source_kind = settings.get("source", "grid")
    if source_kind not in REGENERABLE:
        raise JobError(
            f"This image is a {source_kind} of one of your pictures; open that picture with the same "
            f"VAE to make it again (only generated images regenerate from their settings)."
        )
    model = model or model_for_settings(project_root, settings, device)
    for key, have in (("kind", model.kind), ("resolution", model.resolution)):
        if key in settings and settings[key] != have:
            raise JobError(
                f"The run {model.run_id} no longer matches these settings (its {key} is {have}, the "
                f"image says {settings[key]}); the image cannot be regenerated from it."
            )
    class_index = settings.get("class_index")
    if class_index is not None:
        class_index = model.class_index(int(class_index))
    truncation = float(settings.get("truncation", 1.0))
    if source_kind == "walk":
        source, index = walk_source(model, settings.get("walk") or {}), int(settings.get("frame", 0))
    else:
        source, index = source_from_settings(settings)
    pixels = model.render(source, [index], class_index, truncation)[0]
    if native:
        return pixels

    picture = upscale(
        Image.fromarray(pixels), check_scale(settings.get("scale", 1)), str(settings.get("resample", "nearest"))
    )
    return np.asarray(picture, np.uint8)


def walk_source(model: ImageModel, walk: dict) -> LatentSource:
    """The frames of a walk described in settings (its points are image settings) as a finite source."""
    try:
        if not isinstance(walk["points"], list) or not 2 <= len(walk["points"]) <= MAX_WALK_FRAMES:
            raise ValueError("a walk visits 2 to MAX_WALK_FRAMES images")  # bounded before any latent is made
        points = [point_latent(model, point) for point in walk["points"]]
        frames = make_walk(
            np.stack(points),
            int(walk["frames_per_leg"]),
            str(walk.get("easing", "smooth")),
            bool(walk.get("loop", True)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise JobError("The latent walk described in these settings is incomplete; export it again.") from exc
    return LatentSource(frames=frames)


def point_latent(model: ImageModel, settings: dict) -> np.ndarray:
    """The latent (z_dim,) of the image ``settings`` describe (grid image or variation)."""
    source, index = source_from_settings(settings)
    return source.latents_at(model.z_dim, [index])[0]
