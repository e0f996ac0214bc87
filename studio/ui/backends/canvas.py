"""The Image canvas's adapter to ``studio.core.generation`` (:class:`~studio.ui.backends.contracts.CanvasContract`),
and the small jobs that use it off the GUI thread.

Why an adapter: loading a model imports torch (1–2 s) and running one takes real time, so nothing here imports
the generation core's jobs at module level; every method that may touch them is called inside a job the panel
starts through the window's registry, on the job's own thread. The panel only ever sees plain dicts, paths and
numpy ``uint8`` arrays ``(N, R, R, 3)``, which it turns into QImages itself (cheap, on the GUI thread).

The work itself is the core's jobs (``studio.core.generation.image_jobs``: GenerateGrid, GenerateVariations,
MakeLatentWalk, ExportImages, ReconstructImages, Morph), ``png_settings.regenerate`` and the model list
(``model_list``: which runs the family table sends to the image panel); this module only gives them the canvas's
titles and reshapes their results. The settings dict each picture carries is what the PNG export embeds and what
"Open PNG…" reads back and regenerates (the core renders in canonical chunks, so the pixels are identical on the
same machine). Tests hand the panel a fake with the same contract (coloured squares from the seed).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image

from studio.core import words
from studio.core.generation import model_list
from studio.core.generation.image_jobs import (
    ExportImages,
    GenerateGrid,
    GenerateVariations,
    MakeLatentWalk,
    Morph,
    OpenPng,
    ReconstructImages,
)
from studio.core.generation.image_model import cached_model
from studio.core.generation.png_settings import read_settings, regenerate
from studio.core.jobs import JobContext, JobError
from studio.core.training.devices import threads_beside_a_window, torch_threads
from studio.ui.backends.contracts import CanvasContract, ModelInfo

PANEL = "image"


class CanvasBackend:
    """The real generation core. Every ``*_job`` returns a job wrapping one of ``studio.core.generation.image_jobs``
    (which imports torch when it runs, on the job's thread); :meth:`list_models` reads only JSON files."""

    device = "cpu"  # CPU pixels are the reproducible ones: "Open PNG" regenerates them exactly

    def available(self) -> bool:
        try:
            return importlib.util.find_spec("studio.core.generation.image_jobs") is not None
        except (ImportError, ValueError):
            return False

    # -- listing (no torch) -------------------------------------------------------------------------------
    def list_models(self, project_root: Path | None) -> list[ModelInfo]:
        """Image runs of the project (newest first), then the starter models shipped in models/."""
        return [ModelInfo(**entry.as_dict()) for entry in model_list.list_models(project_root, PANEL)]

    # -- jobs -----------------------------------------------------------------------------------------------------
    def grid_job(self, folder: str, step: int | None, seed: int, count: int, truncation: float, class_name: str | None):
        """Job → {"images": uint8 (count, R, R, 3), "settings": [one dict per image], ...}."""

        return CoreJob(
            f"Generating {words.count(count, 'image')}",
            GenerateGrid(
                folder, step, seed=seed, count=count, class_name=class_name, truncation=truncation, device=self.device
            ),
        )

    def variations_job(self, folder: str, step: int | None, settings: dict, strength: float, count: int, seed: int):
        """Job → like grid_job: the image itself first, then ``count - 1`` variations of it."""
        return VariationsJob(folder, step, settings, strength, count, seed, self.device)

    def walk_job(
        self,
        folder: str,
        step: int | None,
        settings: list[dict],
        frames_per_step: int,
        easing: str,
        loop: bool,
        fps: int,
        gif_path: Path | None,
        scale: int = 1,
        resample: str = "nearest",
    ):
        """Job → {"frames": uint8 (F, R, R, 3), "gif": the GIF written (None when ``gif_path`` is None: the
        canvas's preview), "fps"}. The export passes a path and the size the user chose (``scale`` times the
        model's pixels, ``resample`` as the PNG export); the same walk renders the same frames either way."""

        job = MakeLatentWalk(
            folder,
            settings,
            gif_path,
            frames_per_leg=frames_per_step,
            easing=easing,
            loop=loop,
            fps=fps,
            scale=scale,
            resample=resample,
            step=step,
            device=self.device,
        )
        title = "Making a latent walk" if gif_path is None else "Exporting the walk as a GIF"
        return CoreJob(title, job, lambda r: {**r, "gif": r["path"], "fps": fps})

    def export_job(self, items: list[tuple[np.ndarray, dict]], folder: Path, scale: int, resample: str):
        """Job → the PNG paths written, settings embedded (native size or upscaled ``scale`` times)."""

        job = ExportImages(
            [pixels for pixels, _ in items], [settings for _, settings in items], folder, scale=scale, resample=resample
        )
        return CoreJob("Exporting PNG files", job, lambda r: list(r["files"]))

    def reconstruct_job(self, folder: str, step: int | None, paths: list[Path]):
        """Job (a model that can encode) → {"originals", "reconstructions": uint8 (N, R, R, 3), "names"}."""

        job = ReconstructImages(folder, [Path(p) for p in paths], step=step, device=self.device)
        return CoreJob(
            "Reconstructing with the VAE",
            job,
            lambda r: {**r, "reconstructions": r["images"], "names": [Path(p).name for p in paths]},
        )

    def morph_job(
        self, folder: str, step: int | None, path_a: Path, path_b: Path, frames: int, fps: int, gif_path: Path
    ):
        """Job (a model that can encode) → {"originals": uint8 (2, R, R, 3), "frames" (A → B → A), "gif", "fps",
        "names"}."""

        job = Morph(
            folder,
            Path(path_a),
            Path(path_b),
            frames_per_leg=max(1, frames // 2),
            loop=True,
            out_path=gif_path,
            fps=fps,
            step=step,
            device=self.device,
        )
        return CoreJob(
            "Morphing between two pictures",
            job,
            lambda r: {**r, "gif": r["path"], "fps": fps, "names": [Path(path_a).name, Path(path_b).name]},
        )

    def read_png_settings(self, path: Path) -> dict:
        """The settings embedded in a studio PNG (a plain JobError when it has none)."""

        return dict(read_settings(Path(path)))

    def regenerate_job(self, project_root: Path | None, path: Path):
        """Job → {"settings", "original" (the file's pixels), "regenerated" (made again, upscaled like the file),
        "identical": bool, "path"}."""

        if project_root is None:
            raise JobError("Open the project the picture was made in first: its run makes the picture again.")

        def adapt(result: dict) -> dict:
            with Image.open(path) as stored:
                original = np.asarray(stored.convert("RGB"), np.uint8)
            return {
                "settings": result["settings"],
                "original": original,
                "regenerated": result["pixels"],
                "identical": bool(result["identical"]),
                "path": str(path),
            }

        return CoreJob("Regenerating from a PNG", OpenPng(project_root, path, device=self.device), adapt)


class CoreJob:
    """A generation-core job under the canvas's own title, its result reshaped for the panel (``adapt``)."""

    kind = "task"

    def __init__(self, title: str, job, adapt=None) -> None:
        self.title, self.job, self.adapt = title, job, adapt

    def __call__(self, ctx: JobContext):
        with torch_threads(threads_beside_a_window()):  # a core stays with the window
            result = self.job(ctx)
        return self.adapt(result) if self.adapt is not None else result


class VariationsJob:
    """Job: the image itself followed by ``count - 1`` variations of it, so the grid shows what they vary from.

    The core makes the variations (each one's settings extend the image's chain, so a variation of a variation
    is still one settings dict that "Open PNG" replays); the image itself is re-rendered from its settings."""

    kind = "task"
    title = "Making variations"

    def __init__(self, folder, step, settings, strength, count, seed, device) -> None:
        self.folder, self.step, self.settings = folder, step, dict(settings)
        self.strength, self.count, self.seed, self.device = float(strength), int(count), int(seed), device

    def __call__(self, ctx: JobContext) -> dict:
        with torch_threads(threads_beside_a_window()):  # a core stays with the window
            result = GenerateVariations(
                self.folder,
                self.settings,
                seed=self.seed,
                count=self.count - 1,
                strength=self.strength,
                step=self.step,
                device=self.device,
            )(ctx)
            model = cached_model(self.folder, self.step, self.device)
            base = {k: v for k, v in self.settings.items() if k not in ("scale", "resample")}
            itself = regenerate(None, base, native=True, model=model)
        return {
            "images": np.concatenate([itself[None], np.asarray(result["images"])]),
            "settings": [base, *result["settings"]],
        }


class ModelsJob:
    """Job: the image models the canvas can use (project runs and starter models), and whether the generation
    core is installed at all."""

    kind = "task"
    title = "Listing image models"

    def __init__(self, backend: CanvasContract, root: Path | None) -> None:
        self.backend, self.root = backend, root

    def __call__(self, ctx: JobContext) -> dict:
        return {"available": bool(self.backend.available()), "models": list(self.backend.list_models(self.root))}
