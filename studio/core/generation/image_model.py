"""A trained image model (any family the family table sends to the image panel: a GAN's generator, a VAE) loaded
for sampling: latents in, uint8 pixels out.

Determinism is the point of this module: a PNG's settings must regenerate its exact pixels, and the CLI must
write byte-identical files for the same arguments. Three choices make that hold:

* **Latent i of seed s** is drawn from its own random stream, seeded by ``(seed, i)`` through NumPy's
  ``SeedSequence`` (stable across platforms and NumPy versions), so it never depends on how many latents were
  asked for, or on any global random state.
* **Fixed-shape batches.** Conv kernels pick different code paths (and summation orders) for different
  batch sizes: on a 2-core x86 CPU, DCGAN outputs computed one at a time differ from the same outputs
  computed 64 at a time in the last float bits (measured: up to 4e-8), and a value that sits on a rounding
  boundary then lands on the other uint8 level. So the network only ever
  sees batches of exactly :data:`CHUNK` rows, and latent sources (:class:`LatentSource`) always render
  *whole canonical chunks*: image i of a grid is computed together with latents ``16*(i//16) ... +15`` of the
  same seed, whatever the grid size. :func:`regenerate <studio.core.generation.png_settings.regenerate>`
  replays the very same chunk, so identity holds by construction, not by luck.
* **Truncation scales the latent toward the prior's mean** (zero): ``z' = t * z``. We chose this over
  BigGAN-style resampling of components with ``|z| > t`` because ``t = 1`` is then exactly the untouched
  model, the image changes smoothly while the user drags the slider (resampling makes it jump whenever ``t``
  crosses a component), and it applies to any latent: variations, walks and VAE encodings alike.

The user's picture files are only read. Loading is safe against files received from others: weights come
from safetensors (no code runs), and config.json is plain JSON.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from studio.core.datasets import image_cache
from studio.core.generation.run_models import ModelCache, load_generator, read_run_config, resolve_run_folder
from studio.core.jobs import JobError
from studio.core.training import families

log = logging.getLogger(__name__)

PANEL = "image"  # the families whose models this module loads: those the family table sends to the image panel
CHUNK = 16  # rows per network call: fixed (see the module docstring); 16 is as fast as 64 on a 2-core CPU
MAX_SEED = 2**63 - 1
_LATENT_STREAM, _VARIATION_STREAM = 0, 1  # distinct streams: variation noise of seed s is not latent s


# -- latents (pure NumPy, exact) ----------------------------------------------------------------------------------
def _normal(seed: int, index: int, stream: int, size: int) -> np.ndarray:
    """Standard normal vector of ``size`` float32 from the stream ``(seed, index, stream)``."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), int(index), stream])))
    return rng.standard_normal(size, dtype=np.float32)


def _norm(vector: np.ndarray) -> float:
    """Euclidean norm by NumPy's own pairwise sum (not BLAS, whose kernels differ between CPUs)."""
    return float(np.sqrt(np.sum(vector * vector)))


def check_seed(seed: int) -> int:
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or not 0 <= int(seed) <= MAX_SEED:
        raise JobError(f"The seed must be a whole number from 0 to {MAX_SEED:,}, not {seed!r}.")
    return int(seed)


def sample_latents(seed: int, indices: Sequence[int], z_dim: int) -> np.ndarray:
    """(len(indices), z_dim) float32: latent i of seed s, each from its own stream."""
    seed = check_seed(seed)
    return (
        np.stack([_normal(seed, i, _LATENT_STREAM, z_dim) for i in indices])
        if len(indices)
        else np.zeros((0, z_dim), np.float32)
    )


def vary(latent: np.ndarray, seed: int, strength: float, indices: Sequence[int]) -> np.ndarray:
    """Nearby latents: ``latent + strength * noise_k``, rescaled to the norm of ``latent``.

    Why rescale: a Gaussian latent lives near the sphere of radius sqrt(z_dim); adding noise pushes it
    outward (the norm grows by sqrt(1 + strength²)), which a GAN renders as over-saturated, less typical
    images. Keeping the norm keeps variations as "typical" as their base."""
    seed = check_seed(seed)
    base = np.asarray(latent, np.float32).reshape(-1)
    norm = _norm(base.astype(np.float64))
    out = []
    for k in indices:
        moved = base.astype(np.float64) + float(strength) * _normal(seed, k, _VARIATION_STREAM, base.size)
        length = _norm(moved)
        out.append(moved * (norm / length) if length > 0 else moved)
    return np.asarray(out, np.float32).reshape(len(out), base.size)


def class_index(classes: Sequence[str], run_id: str, name_or_index: str | int | None) -> int | None:
    """Resolve a class by name or index. None on a conditional model means the first class (the CLI and the
    canvas show which was used); an unknown name is a plain error that lists the classes."""
    if not classes:
        if name_or_index not in (None, ""):
            raise JobError(f"The model {run_id} was trained without classes, so no class can be chosen.")
        return None
    if name_or_index in (None, ""):
        return 0
    if isinstance(name_or_index, (int, np.integer)) and not isinstance(name_or_index, bool):
        if 0 <= int(name_or_index) < len(classes):
            return int(name_or_index)
    elif str(name_or_index) in classes:
        return list(classes).index(str(name_or_index))
    elif str(name_or_index).isdigit() and int(str(name_or_index)) < len(classes):
        return int(str(name_or_index))
    raise JobError(f"The model {run_id} has no class “{name_or_index}”; its classes are: {', '.join(classes)}.")


@dataclass(frozen=True, eq=False)
class LatentSource:
    """An infinite, indexable family of latents that renders in canonical chunks.

    Item i of a source is always the same latent, and so are its chunk mates (the other items of chunk
    ``i // CHUNK``): that is what makes replay exact. The families:

    * a grid: ``LatentSource(seed)``; item i is latent i of ``seed``;
    * variations: ``LatentSource(seed, base, variation)``; ``base = (latent_index, (seed, strength, index),
      ...)`` walks from grid latent ``latent_index`` through earlier variation picks to the base latent, and
      item k is variation k of that base with ``variation = (seed, strength)``;
    * a finite list (a walk's frames): ``LatentSource(frames=array)``; chunks past its end are zero-padded.
    """

    seed: int = 0
    base: tuple = ()
    variation: tuple | None = None
    frames: Any = None  # np.ndarray (F, z_dim) or None

    def latents_at(self, z_dim: int, indices: Sequence[int]) -> np.ndarray:
        indices = list(indices)
        if self.frames is not None:
            frames = np.asarray(self.frames, np.float32).reshape(-1, z_dim)
            out = np.zeros((len(indices), z_dim), np.float32)
            for row, i in enumerate(indices):
                if 0 <= i < len(frames):
                    out[row] = frames[i]
            return out
        if self.variation is None:
            return sample_latents(self.seed, indices, z_dim)
        return vary(self.base_latent(z_dim), self.variation[0], self.variation[1], indices)

    def base_latent(self, z_dim: int) -> np.ndarray:
        latent = sample_latents(self.seed, [self.base[0]], z_dim)[0]
        for v_seed, v_strength, index in self.base[1:]:
            latent = vary(latent, v_seed, v_strength, [index])[0]
        return latent


def source_from_settings(settings: dict) -> tuple[LatentSource, int]:
    """(source, index) that renders the image ``settings`` describe: a grid image (``seed``, ``latent_index``)
    or a variation (plus ``variations``: a list of {"seed", "strength", "index"}, one per "variations of
    this image" step, the first applied to grid latent ``latent_index``)."""
    try:
        seed, index = int(settings["seed"]), int(settings["latent_index"])
        chain = [(int(v["seed"]), float(v["strength"]), int(v["index"])) for v in settings.get("variations") or []]
    except (KeyError, TypeError, ValueError) as exc:
        raise JobError(
            "These settings do not say which latent made the image (the seed or latent index is "
            "missing or unreadable); export the image again from AIGC Studio."
        ) from exc
    if not chain:
        return LatentSource(seed), index
    return LatentSource(seed, (index, *chain[:-1]), chain[-1][:2]), chain[-1][2]


# -- the model ----------------------------------------------------------------------------------------------------
@dataclass
class ImageModel:
    """A loaded image generator in eval mode, with everything needed to describe what it made.

    ``sample`` and ``encoder`` are the family table's :class:`~studio.core.training.families.Generator` entry
    points: the method that maps (latents, labels) to pictures, and the one that maps pictures to latents
    ("" when the family has none: only such a model can rebuild or morph pictures)."""

    kind: str  # the family id (describe()'s "kind")
    resolution: int
    z_dim: int
    classes: list[str]
    step: int
    run_id: str
    folder: Path
    device: str
    network: Any = field(repr=False)  # torch.nn.Module
    fit: str = "crop"
    ema: bool = False
    sample: str = "forward"
    encoder: str = ""

    @property
    def conditional(self) -> bool:
        return bool(self.classes)

    @property
    def can_encode(self) -> bool:
        return bool(self.encoder)

    # -- latents ---------------------------------------------------------------------------------------------
    def latents(self, seed: int, count: int, start: int = 0) -> np.ndarray:
        """(count, z_dim) float32: latents ``start .. start+count-1`` of ``seed`` (latent i never depends on count)."""
        return sample_latents(seed, range(start, start + int(count)), self.z_dim)

    def variations(self, latent: np.ndarray, seed: int, strength: float, count: int, start: int = 0) -> np.ndarray:
        """(count, z_dim): nearby latents (see :func:`vary`); ``strength`` 0.1 is subtle, 1.0 is far."""
        return vary(latent, seed, strength, range(start, start + int(count)))

    def class_index(self, name_or_index: str | int | None) -> int | None:
        """See :func:`class_index`."""
        return class_index(self.classes, self.run_id, name_or_index)

    # -- rendering ---------------------------------------------------------------------------------------------
    def generate(
        self,
        latents: np.ndarray,
        class_index: int | None = None,
        truncation: float = 1.0,
        check: Callable[[], None] | None = None,
    ) -> np.ndarray:
        """(N, z_dim) latents -> uint8 (N, R, R, 3), in zero-padded chunks of :data:`CHUNK` rows.

        For pixels that can be replayed exactly, render through :meth:`render` (canonical chunks)."""
        latents = np.asarray(latents, np.float32).reshape(-1, self.z_dim)
        out = np.empty((len(latents), self.resolution, self.resolution, 3), np.uint8)
        for start in range(0, len(latents), CHUNK):
            if check is not None:
                check()
            rows = latents[start : start + CHUNK]
            padded = np.zeros((CHUNK, self.z_dim), np.float32)
            padded[: len(rows)] = rows
            out[start : start + len(rows)] = self._run_chunk(padded, class_index, truncation)[: len(rows)]
        return out

    def render(
        self,
        source: LatentSource,
        indices: Sequence[int],
        class_index: int | None = None,
        truncation: float = 1.0,
        check: Callable[[], None] | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> np.ndarray:
        """uint8 (len(indices), R, R, 3): items ``indices`` of ``source``, each computed inside its canonical
        chunk, so any subset (one image, a grid of 9 or of 64) gives the same pixels for the same item."""
        indices = [int(i) for i in indices]
        out = np.empty((len(indices), self.resolution, self.resolution, 3), np.uint8)
        chunks = sorted({i // CHUNK for i in indices})
        for done, chunk in enumerate(chunks):
            if check is not None:
                check()
            rows = source.latents_at(self.z_dim, range(chunk * CHUNK, (chunk + 1) * CHUNK))
            pixels = self._run_chunk(rows, class_index, truncation)
            for position, i in enumerate(indices):
                if i // CHUNK == chunk:
                    out[position] = pixels[i % CHUNK]
            if progress is not None:
                progress((done + 1) / len(chunks))
        return out

    def _run_chunk(self, latents: np.ndarray, class_index: int | None, truncation: float) -> np.ndarray:
        import torch

        label = 0 if class_index is None else int(class_index)  # a conditional model asked for no class: class 0
        with torch.inference_mode():
            z = torch.from_numpy(np.ascontiguousarray(latents, np.float32)).to(self.device) * float(truncation)
            labels = (
                None if not self.conditional else torch.full((len(z),), label, dtype=torch.long, device=self.device)
            )
            images = getattr(self.network, self.sample)(z, labels)  # (CHUNK, 3, R, R) in [-1, 1]
            return to_uint8(images)

    # -- models with an encoder (a VAE) -------------------------------------------------------------------------
    def prepare(self, images: Sequence[Any]) -> np.ndarray:
        """Any pictures (paths, uint8 arrays of any size, PIL images) -> uint8 (N, R, R, 3) the way the
        training cache made them: RGB (transparency on white), centre-cropped or padded as the run's "fit"."""
        return (
            np.stack([prepare_image(image, self.resolution, self.fit) for image in images])
            if len(images)
            else np.zeros((0, self.resolution, self.resolution, 3), np.uint8)
        )

    def encode(
        self,
        images: Sequence[Any] | np.ndarray,
        class_index: int | None = None,
        check: Callable[[], None] | None = None,
    ) -> np.ndarray:
        """Models with an encoder (a VAE) only: pictures -> (N, z_dim) float32 latents, the posterior *mean*
        (deterministic: the same picture always gives the same latent; a sample would add noise the user did not
        ask for)."""
        import torch

        self.require_encoder("encode pictures")
        encode = getattr(self.network, self.encoder)
        pixels = (
            images
            if isinstance(images, np.ndarray)
            and images.ndim == 4
            and images.shape[1:] == (self.resolution, self.resolution, 3)
            and images.dtype == np.uint8
            else self.prepare(list(images))
        )
        label = 0 if class_index is None else int(class_index)  # a conditional model asked for no class: class 0
        out = np.empty((len(pixels), self.z_dim), np.float32)
        for start in range(0, len(pixels), CHUNK):
            if check is not None:
                check()
            rows = pixels[start : start + CHUNK]
            padded = np.zeros((CHUNK, *rows.shape[1:]), np.uint8)
            padded[: len(rows)] = rows
            with torch.inference_mode():
                x = torch.from_numpy(padded).to(self.device).permute(0, 3, 1, 2).float() / 127.5 - 1.0
                labels = (
                    None if not self.conditional else torch.full((CHUNK,), label, dtype=torch.long, device=self.device)
                )
                mu, _ = encode(x, labels)
            out[start : start + len(rows)] = mu.float().cpu().numpy()[: len(rows)]
        return out

    def reconstruct(
        self,
        images: Sequence[Any] | np.ndarray,
        class_index: int | None = None,
        check: Callable[[], None] | None = None,
    ) -> np.ndarray:
        """Models with an encoder only: pictures -> their reconstructions, uint8 (N, R, R, 3)."""
        return self.generate(self.encode(images, class_index, check), class_index, 1.0, check)

    def require_encoder(self, what: str) -> None:
        """A plain refusal when this model has no encoder (the message names the families that have one)."""
        if not self.can_encode:
            encoders = families.labels(s for s in image_families() if s.generator and s.generator.encode)
            found = families.find(self.kind)
            this = found.label if found is not None else self.kind.upper()
            raise JobError(f"Only a {encoders} can {what}; {self.run_id} is a {this}. Pick a {encoders} run.")

    def describe(self) -> dict:
        """The model part of an image's settings."""
        return {"run_id": self.run_id, "step": self.step, "kind": self.kind, "resolution": self.resolution}


def to_uint8(images) -> np.ndarray:
    """(B, 3, R, R) float in [-1, 1] (torch) -> (B, R, R, 3) uint8 on the CPU, rounded half away from zero
    the same way as the training previews."""
    import torch

    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def prepare_image(image: Any, resolution: int, fit: str = "crop") -> np.ndarray:
    """One picture (path, PIL image, or uint8 array (H, W[, 3|4])) -> uint8 (R, R, 3)."""

    if isinstance(image, (str, Path)):
        try:
            return image_cache.load_square(image, resolution, fit)
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            raise JobError(
                f"Could not read the picture {Path(image).name}: it is damaged or not a picture format the studio "
                "opens (PNG, JPEG, WebP, TIFF, TGA, PSD and the other formats the Dataset panel imports)."
            ) from exc
    if isinstance(image, np.ndarray):
        array = image
        if array.dtype != np.uint8:
            raise JobError("Pictures given as arrays must hold 8-bit values (uint8).")
        if array.ndim == 3 and array.shape == (resolution, resolution, 3):
            return array
        image = Image.fromarray(array)
    picture = image_cache._to_rgb(image, (255, 255, 255))  # the exact conversion the cache applies
    square = (
        image_cache._crop_square(picture, resolution)
        if fit == "crop"
        else image_cache._pad_square(picture, resolution, (255, 255, 255))
    )
    return np.asarray(square, np.uint8)


# -- finding and loading ------------------------------------------------------------------------------------------
def image_families() -> list[families.FamilySpec]:
    """The families whose models this module loads: those the image panel opens whose network makes pictures from
    latents (``Generator.makes == "image"``). The panel also lists style-transfer models, which turn pictures into
    pictures and load through studio/core/generation/transfer_jobs.py instead."""
    found = families.for_panel(PANEL)
    return [spec for spec in found if spec.generator is not None and spec.generator.makes == "image"]


def read_model_config(run_folder: Path) -> dict:
    """config.json of a run (or of a starter model laid out like one), checked to be an image model."""
    return read_run_config(run_folder, image_families(), "an image generator")


def resolve_run(project_root: str | Path, run: str) -> Path:
    """The folder of run ``run`` in the project, a starter model of that name in models/, or for "latest" the
    newest image-model run that has a checkpoint."""
    return resolve_run_folder(project_root, run, read_model_config, image_families())


def load_image_model(run_folder: str | Path, step: int | None = None, device: str = "cpu") -> ImageModel:
    """Load an image generator from a run folder (newest checkpoint when ``step`` is None).

    EMA weights are preferred when the checkpoint has them: the EMA generator is what the previews and the
    quality score use, and it is visibly smoother than the raw weights of the same step."""
    run_folder = Path(run_folder)
    config = read_model_config(run_folder)
    model = config["model"]
    run_id = str(config.get("run_id") or run_folder.name)
    (network, loaded_step, ema, _), generator = load_generator(run_folder, step, model, "sampled", run_id)
    network.to(device)
    num_classes = int(getattr(network, "num_classes", 0) or 0)  # what the weights were trained with
    names = [str(c) for c in model.get("classes") or []][:num_classes]
    classes = names + [f"class {i}" for i in range(len(names), num_classes)]
    fit = str((config.get("config") or {}).get("fit", "crop"))
    log.info("loaded %s step %d (%s weights) on %s", run_id, loaded_step, "EMA" if ema else "raw", device)
    return ImageModel(
        kind=model["kind"],
        resolution=int(model["resolution"]),
        z_dim=int(model["z_dim"]),
        classes=classes,
        step=loaded_step,
        run_id=run_id,
        folder=run_folder,
        device=str(device),
        network=network,
        fit=fit if fit in ("crop", "pad") else "crop",
        ema=ema,
        sample=generator.sample,
        encoder=generator.encode,
    )


# Loaded models are kept in a small cache (run_models.ModelCache says why and how), shared by the canvas jobs
# (image_jobs.py) and "Open PNG" (png_settings.model_for_settings), which both sit above this module.
CACHE_SIZE = 2
_models = ModelCache(read_model_config, load_image_model, CACHE_SIZE)


def cached_model(run_folder: str | Path, step: int | None = None, device: str = "cpu") -> ImageModel:
    """The model at ``step`` (newest when None) of a run, loaded once and then served from the cache."""
    return _models.get(run_folder, step, device)


def clear_cache() -> None:
    """Forget every loaded model (tests; a run deleted from the project)."""
    _models.clear()


def settings_json(settings: dict) -> str:
    """Canonical JSON of settings (sorted keys, no spaces): the same settings always give the same text."""
    return json.dumps(settings, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
