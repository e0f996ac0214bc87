"""Attribute sliders: the latent numbers of an image model that mean something, what each does, and editing a
picture one number at a time. The core of the Image canvas's sliders (no Qt; jobs as in image_jobs.py).

Made for the sparse VAE (studio/core/nets/sparse_vae.py), where each picture uses only a few numbers of its
*code* and a number most pictures leave at 0 tends to control one thing. It works with any image model: a
network without a sparse code (a plain VAE, a GAN) has code = latent, and then every number is "used".

Two spaces, kept apart on purpose:

* the **latent** is what the rest of the canvas holds (image_model.py: drawn from N(0, I), varied, walked,
  encoded); jobs here take and return latents, so an edited picture can go on to variations or a walk;
* the **code** is what the sliders show: the numbers the decoder reads (``network.code_from_noise``; the
  identity for networks without one). A slider value is a code value.

Moving one slider changes only that number: an edit copies the latent and replaces the edited numbers alone,
each through the network's element-wise map, so the other numbers of the latent — and therefore of the code —
stay bit for bit what they were.

Which numbers, and their ranges, come from the run's own dataset: up to ``sample`` of its cached pictures are
encoded. "usage" is the share of those pictures in which a number is active (``|code| > 0.1``,
:data:`studio.core.nets.sparse_vae.ACTIVE_THRESHOLD`, the rule the training reports use), "range" spans the
values the pictures give it (2nd to 98th percentile, always including 0, "off"), and "effect" is how much the
picture changes, as a share of the full pixel range, when the number moves from one end of its range to the
other on a few of those pictures. When the dataset's cache is gone (a starter model, a moved run, a model
without an encoder) the model's own random pictures stand in, and the result says so (``"source": "prior"``
and a ``"note"``); their usage is the prior's chance and says nothing, so the numbers are then ranked by effect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from studio.core import words
from studio.core.datasets.image_cache import ImageCache
from studio.core.generation.image_model import ImageModel, cached_model, check_seed, read_model_config
from studio.core.jobs import JobContext, JobError
from studio.core.safe_paths import resolve_inside
from studio.core.training import runs

DEFAULT_COUNT = 12  # sliders offered: the canvas shows 8 to 12
MAX_COUNT = 64
MAX_SAMPLE = 4096  # pictures encoded to learn the numbers' usage and ranges
MAX_STEPS = 32  # pictures per strip
EFFECT_BASES = 8  # pictures each number is moved on to measure its effect
PRIOR_SEED = 0  # the random pictures that stand in for a missing dataset
PRIOR_RANGE = (-2.0, 2.0)  # a number no picture uses: two standard deviations of the prior's slab
LOW_QUANTILE, HIGH_QUANTILE = 0.02, 0.98
BASES = ("mean", "typical")  # the strips' named bases (AttributeStrips)


# -- codes and latents ------------------------------------------------------------------------------------------------
def has_sparse_code(model: ImageModel) -> bool:
    """Whether the model's network has a sparse code apart from its latent (a sparse VAE): the canvas's cue to
    offer attribute sliders."""
    return callable(getattr(model.network, "code_from_noise", None))


def _convert(model: ImageModel, values: np.ndarray, method: str) -> np.ndarray:
    values = np.ascontiguousarray(np.asarray(values, np.float32).reshape(-1, model.z_dim))
    convert = getattr(model.network, method, None)
    if not callable(convert):
        return values.copy()
    import torch

    with torch.inference_mode():
        return convert(torch.from_numpy(values)).float().numpy()


def codes_of(model: ImageModel, latents: np.ndarray) -> np.ndarray:
    """(N, z_dim) canvas latents -> (N, z_dim) float32 codes (a copy of the latents for a network without codes)."""
    return _convert(model, latents, "code_from_noise")


def latents_of(model: ImageModel, codes: np.ndarray) -> np.ndarray:
    """(N, z_dim) codes -> the canvas latents whose codes they are (the inverse of :func:`codes_of`)."""
    return _convert(model, codes, "noise_from_code")


def active_threshold() -> float:
    from studio.core.nets.sparse_vae import ACTIVE_THRESHOLD

    return ACTIVE_THRESHOLD


def active_counts(codes: np.ndarray) -> np.ndarray:
    """(N,) int: how many numbers of each code are active (the training reports' rule)."""
    codes = np.asarray(codes, np.float32)
    return (np.abs(codes.reshape(len(codes), -1)) > active_threshold()).sum(axis=1)


def sparsity_text(active: int, total: int) -> str:
    """ "5 of 64 dimensions active": what the canvas says beside the sliders."""
    return f"{words.of(int(active), int(total), 'dimension')} active"


def sparsity(code: np.ndarray) -> dict:
    """{"active": 5, "total": 64, "text": "5 of 64 dimensions active"} for one code (z_dim,)."""
    code = np.asarray(code, np.float32).reshape(1, -1)
    active = int(active_counts(code)[0])
    return {"active": active, "total": code.shape[1], "text": sparsity_text(active, code.shape[1])}


def edit_latent(model: ImageModel, latent: np.ndarray, values: Mapping[int, float]) -> np.ndarray:
    """A copy of ``latent`` (z_dim,) whose code holds ``values`` ({number: code value}) and is otherwise unchanged:
    only the edited numbers of the latent are replaced, so the others stay bit for bit (module docstring)."""
    latent = np.asarray(latent, np.float32).reshape(-1).copy()
    values = check_values(values, model.z_dim)
    if values:
        wanted = np.zeros((1, model.z_dim), np.float32)
        for dim, value in values.items():
            wanted[0, dim] = value
        mapped = latents_of(model, wanted)[0]
        for dim in values:
            latent[dim] = mapped[dim]
    return latent


# -- checks -----------------------------------------------------------------------------------------------------------
def check_dim(dim: Any, z_dim: int) -> int:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer, str)) or not str(dim).strip().isdigit():
        raise JobError(f"A slider must name a latent number from 0 to {z_dim - 1}, not {dim!r}.")
    index = int(dim)
    if not 0 <= index < z_dim:
        raise JobError(f"This model's latent has {words.count(z_dim, 'number')}: pick 0 to {z_dim - 1}, not {index}.")
    return index


def check_values(values: Mapping[Any, Any] | None, z_dim: int) -> dict[int, float]:
    """{number: value} with whole numbers in range and finite values (a code beyond ±8 is clipped by the net)."""
    checked: dict[int, float] = {}
    for dim, value in dict(values or {}).items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if not np.isfinite(number):
            raise JobError(f"The value for slider {dim} must be a number, not {value!r}.")
        checked[check_dim(dim, z_dim)] = number
    return checked


def check_count(count: Any, what: str, high: int) -> int:
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or not 1 <= int(count) <= high:
        raise JobError(f"The number of {what} must be a whole number from 1 to {high:,}, not {count!r}.")
    return int(count)


# -- what the pictures do with each number ----------------------------------------------------------------------------
@dataclass
class CodeSample:
    """Latents and codes of the pictures the statistics come from, and where they came from."""

    latents: np.ndarray  # (N, z_dim) canvas latents
    codes: np.ndarray  # (N, z_dim)
    labels: np.ndarray | None  # (N,) class index per picture for a conditional model, else None
    source: str  # "dataset" | "prior"
    note: str  # why the prior stood in ("" for the dataset)


def dataset_cache(model: ImageModel) -> tuple[ImageCache | None, str]:
    """The image cache the model's run trained on, at its resolution, or (None, why not in words). The dataset's
    name comes from the run's config.json, which may come from someone else: it must name a folder inside the
    project's datasets folder."""
    folder = Path(model.folder)
    if folder.parent.name != runs.RUNS:
        return None, "it is not a run of a project (a starter model), so its training pictures are not here"
    name = (read_model_config(folder) or {}).get("dataset")
    datasets = folder.parent.parent / "datasets"
    where = resolve_inside(datasets, name) if isinstance(name, str) and name else None
    if where is None:
        return None, "its run does not name a dataset of this project"
    try:
        cache = ImageCache.open(where, model.resolution, model.fit, verify=False)
    except (JobError, OSError, ValueError, KeyError, TypeError):
        return None, f"the dataset “{name}” has no prepared {model.resolution} px pictures any more"
    if cache.images.ndim != 4 or cache.images.shape[1:] != (model.resolution, model.resolution, 3):
        return None, f"the dataset “{name}” has no prepared {model.resolution} px pictures any more"
    return cache, ""


def _dataset_sample(model: ImageModel, cache: ImageCache, count: int, ctx: JobContext) -> CodeSample | None:
    """Up to ``count`` of the cache's pictures, evenly spread, encoded (each with its own class)."""
    rows = np.flatnonzero(np.asarray(cache.split) >= 0)
    labels_all = np.asarray(cache.labels, np.int64)
    if model.conditional:
        rows = rows[(labels_all[rows] >= 0) & (labels_all[rows] < len(model.classes))]
    if len(rows) == 0:
        return None
    rows = np.unique(rows[np.linspace(0, len(rows) - 1, min(count, len(rows))).round().astype(np.int64)])
    pixels = np.asarray(cache.images[rows], np.uint8)
    labels = labels_all[rows] if model.conditional else None
    latents = np.empty((len(rows), model.z_dim), np.float32)
    groups = np.unique(labels) if labels is not None else [None]
    for group in groups:
        where = np.arange(len(rows)) if group is None else np.flatnonzero(labels == group)
        latents[where] = model.encode(pixels[where], None if group is None else int(group), ctx.check)
    return CodeSample(latents, codes_of(model, latents), labels, "dataset", "")


def code_sample(model: ImageModel, count: int, class_index: int | None, ctx: JobContext) -> CodeSample:
    """The dataset's pictures when the model can encode them and its cache is there, else the model's own
    random pictures (latents of seed :data:`PRIOR_SEED`), with a note saying why."""
    why = "the model cannot encode pictures"
    if model.can_encode:
        cache, why = dataset_cache(model)
        if cache is not None:
            sample = _dataset_sample(model, cache, count, ctx)
            if sample is not None:
                return sample
            why = "its dataset has no usable pictures"
    latents = model.latents(check_seed(PRIOR_SEED), count)
    labels = None if class_index is None else np.full(count, class_index, np.int64)
    note = (
        f"The sliders come from {words.count(count, 'random picture')} of the model itself, because {why}: their "
        "order says what changes pictures most, not what your pictures use."
    )
    return CodeSample(latents, codes_of(model, latents), labels, "prior", note)


def usage(codes: np.ndarray) -> np.ndarray:
    """(z_dim,) the share of codes in which each number is active."""
    codes = np.asarray(codes, np.float32)
    return (np.abs(codes) > active_threshold()).mean(axis=0) if len(codes) else np.zeros(codes.shape[1])


def value_range(values: np.ndarray) -> tuple[float, float]:
    """A slider's range for one number: the 2nd to 98th percentile of the values its pictures give it when it is
    active, widened to include 0 ("off"); :data:`PRIOR_RANGE` for a number fewer than 2 pictures use."""
    values = np.asarray(values, np.float64)
    used = values[np.abs(values) > active_threshold()]
    if len(used) < 2:
        return PRIOR_RANGE
    low, high = np.quantile(used, [LOW_QUANTILE, HIGH_QUANTILE])
    return float(min(low, 0.0)), float(max(high, 0.0))


def typical_index(sample: CodeSample) -> int:
    """The picture of the sample whose code is nearest the average code: a real picture that shows what most
    pictures share (the average code itself is no picture's: averaging numbers that are mostly 0 blurs them all)."""
    distances = np.square(sample.codes - sample.codes.mean(axis=0, keepdims=True)).sum(axis=1)
    return int(np.argmin(distances))


def _bases(sample: CodeSample, class_index: int | None, count: int) -> np.ndarray:
    """The latents each number is moved on: the sample's first pictures of the class being drawn."""
    latents = sample.latents
    if sample.labels is not None and class_index is not None and np.any(sample.labels == class_index):
        latents = latents[sample.labels == class_index]
    return latents[:count]


def effects(
    model: ImageModel,
    bases: np.ndarray,
    ranges: Mapping[int, tuple[float, float]],
    class_index: int | None,
    ctx: JobContext,
    done: float = 0.5,
) -> dict[int, float]:
    """{number: mean absolute pixel change as a share of 255} when each number moves across its range on
    ``bases``."""
    found: dict[int, float] = {}
    for i, (dim, (low, high)) in enumerate(ranges.items()):
        ctx.check()
        moved = [np.stack([edit_latent(model, base, {dim: value}) for base in bases]) for value in (low, high)]
        pictures = model.generate(np.concatenate(moved), class_index, 1.0, ctx.check).astype(np.int16)
        change = np.abs(pictures[: len(bases)] - pictures[len(bases) :]).mean() / 255.0
        found[dim] = float(change)
        ctx.progress(done + (1.0 - done) * (i + 1) / max(1, len(ranges)), "Measuring what each slider does…")
    return found


def _loading(ctx: JobContext, run_folder, step, device) -> ImageModel:
    ctx.progress(0.0, "Loading the model…")
    model = cached_model(run_folder, step, device)
    ctx.check()
    return model


def _model_fields(model: ImageModel) -> dict:
    return {**model.describe(), "z_dim": model.z_dim, "sparse": has_sparse_code(model)}


def _picture_or_latent(model: ImageModel, item: Any, class_index: int | None, ctx: JobContext) -> np.ndarray:
    """A canvas latent (float array of z_dim numbers) as it is, or a picture (path, PIL image, uint8 array) encoded."""
    if isinstance(item, np.ndarray) and item.dtype != np.uint8:
        latent = np.asarray(item, np.float32).reshape(-1)
        if latent.size != model.z_dim or not np.all(np.isfinite(latent)):
            raise JobError(f"A latent of this model holds {words.count(model.z_dim, 'finite number')}.")
        return latent
    model.require_encoder("edit a dropped picture with sliders")
    return model.encode(model.prepare([item]), class_index, ctx.check)[0]


# -- jobs -------------------------------------------------------------------------------------------------------------
class AttributeDims:
    """Job: the model's most-used latent numbers, for the sliders.

    Returns {"dims": [{"index", "usage", "effect", "range": [lo, hi]}, ...] (most-used first, up to ``count``),
    "source": "dataset" | "prior", "note" (why the prior stood in, else ""), "pictures" (how many were encoded),
    "active_mean" (average active numbers per picture), "sparsity" ("6 of 64 dimensions active" on average),
    "mean_code" (z_dim,) and "mean_latent" (z_dim,) (the sample's average code and its latent: the "mean"
    base of the strips), "typical_code" and "typical_latent" (z_dim,) (the picture nearest that average: the
    "typical" base), "class_index", "run_id", "step", "kind", "resolution", "z_dim", "sparse"}."""

    title = "Finding the attribute sliders"
    kind = "generate"

    def __init__(
        self,
        run_folder: str | Path,
        step: int | None = None,
        device: str = "cpu",
        sample: int = 256,
        count: int = DEFAULT_COUNT,
        class_name: str | int | None = None,
    ) -> None:
        self.run_folder, self.step, self.device = Path(run_folder), step, device
        self.sample, self.count, self.class_name = sample, count, class_name

    def __call__(self, ctx: JobContext) -> dict:
        sample_size = check_count(self.sample, "pictures to study", MAX_SAMPLE)
        count = check_count(self.count, "sliders", MAX_COUNT)
        model = _loading(ctx, self.run_folder, self.step, self.device)
        class_index = model.class_index(self.class_name)
        ctx.progress(0.05, "Reading what each latent number does…")
        sample = code_sample(model, sample_size, class_index, ctx)
        used = usage(sample.codes)
        order = np.argsort(-used, kind="stable")
        ranges = {int(d): value_range(sample.codes[:, d]) for d in range(model.z_dim)}
        bases = _bases(sample, class_index, EFFECT_BASES)
        if sample.source == "prior":  # usage is the prior's chance: rank every number by what it does instead
            moved = effects(model, bases, ranges, class_index, ctx)
            order = np.array(sorted(range(model.z_dim), key=lambda d: (-moved[d], d)))[:count]
        else:
            order = order[:count]
            moved = effects(model, bases, {int(d): ranges[int(d)] for d in order}, class_index, ctx)
        dims = [
            {"index": int(d), "usage": float(used[d]), "effect": moved[int(d)], "range": list(ranges[int(d)])}
            for d in order
        ]
        mean_code = sample.codes.mean(axis=0).astype(np.float32)
        typical = sample.latents[typical_index(sample)]
        active_mean = float(active_counts(sample.codes).mean()) if len(sample.codes) else 0.0
        ctx.progress(1.0, "Sliders ready")
        return {
            "dims": dims,
            "source": sample.source,
            "note": sample.note,
            "pictures": len(sample.codes),
            "active_mean": active_mean,
            "sparsity": f"{words.of(round(active_mean, 1), model.z_dim, 'dimension')} active on average",
            "mean_code": mean_code,
            "mean_latent": latents_of(model, mean_code)[0],
            "typical_latent": typical,
            "typical_code": codes_of(model, typical)[0],
            "class_index": class_index,
            **_model_fields(model),
        }


class AttributeStrips:
    """Job: for each of ``dims``, ``steps`` pictures of one base with that number moved across its range.

    ``base`` is "mean" (the average code of the dataset's pictures, see :class:`AttributeDims`), "typical" (the
    dataset's picture nearest that average: a real picture, usually the clearer strip), a canvas latent (float
    array of z_dim numbers) or a picture to encode. ``ranges`` ({number: (lo, hi)}, e.g. from
    AttributeDims' "dims") saves studying the dataset again; missing ranges are studied. Returns {"strips":
    {number: uint8 (steps, R, R, 3)}, "values": {number: [steps code values]}, "base_latent" (z_dim,),
    "base_code" (z_dim,), "run_id", "step", "kind", "resolution", "z_dim", "sparse"}."""

    title = "Drawing the attribute strips"
    kind = "generate"

    def __init__(
        self,
        run_folder: str | Path,
        step: int | None = None,
        dims: Sequence[int] = (),
        steps: int = 7,
        base: Any = "mean",
        device: str = "cpu",
        ranges: Mapping[int, Sequence[float]] | None = None,
        class_name: str | int | None = None,
        sample: int = 256,
    ) -> None:
        self.run_folder, self.step, self.dims, self.steps, self.base = Path(run_folder), step, list(dims), steps, base
        self.device, self.ranges, self.class_name, self.sample = device, dict(ranges or {}), class_name, sample

    def __call__(self, ctx: JobContext) -> dict:
        steps = check_count(self.steps, "pictures per strip", MAX_STEPS)
        if not self.dims:
            raise JobError("Pick at least one slider to draw its strip.")
        model = _loading(ctx, self.run_folder, self.step, self.device)
        dims = list(dict.fromkeys(check_dim(d, model.z_dim) for d in self.dims))
        class_index = model.class_index(self.class_name)
        ranges = {check_dim(d, model.z_dim): _checked_range(r) for d, r in self.ranges.items()}
        sample = None
        named = self.base if isinstance(self.base, str) and self.base in BASES else None
        if any(d not in ranges for d in dims) or named is not None:
            sample = code_sample(model, check_count(self.sample, "pictures to study", MAX_SAMPLE), class_index, ctx)
            ranges = {**{d: value_range(sample.codes[:, d]) for d in dims}, **ranges}
        if named is not None:
            assert sample is not None
            if named == "mean":
                base = latents_of(model, sample.codes.mean(axis=0, keepdims=True))[0]
            else:
                base = sample.latents[typical_index(sample)]
        else:
            base = _picture_or_latent(model, self.base, class_index, ctx)
        strips, values = {}, {}
        for i, dim in enumerate(dims):
            ctx.check()
            low, high = ranges[dim]
            row = [float(v) for v in np.linspace(low, high, steps)]
            latents = np.stack([edit_latent(model, base, {dim: value}) for value in row])
            strips[dim] = model.generate(latents, class_index, 1.0, ctx.check)
            values[dim] = row
            ctx.progress(0.3 + 0.7 * (i + 1) / len(dims), f"Drawing strip {i + 1} of {len(dims)}…")
        return {
            "strips": strips,
            "values": values,
            "base_latent": base,
            "base_code": codes_of(model, base)[0],
            **_model_fields(model),
        }


def _checked_range(values: Any) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in values)
    except (TypeError, ValueError):
        raise JobError("A slider's range is two numbers, low and high.") from None
    if not (np.isfinite(low) and np.isfinite(high)) or low > high:
        raise JobError(f"A slider's range must go from a lower to a higher number, not {low} to {high}.")
    return low, high


class EditAttributes:
    """Job: a picture with some code numbers set, the rest left exactly as they were.

    ``latent`` is a canvas latent (float array of z_dim numbers) or a picture to encode (path, PIL image, uint8
    array); ``values`` is {number: code value} (slider positions). Returns {"image": uint8 (R, R, 3), "latent"
    (z_dim,) (the edited canvas latent: use it for variations and walks), "code" (z_dim,), "active" (count),
    "sparsity" ("5 of 64 dimensions active"), "values" ({number: the code value now held}), "class_index",
    "run_id", "step", "kind", "resolution", "z_dim", "sparse"}."""

    title = "Editing with sliders"
    kind = "generate"

    def __init__(
        self,
        run_folder: str | Path,
        step: int | None = None,
        latent: Any = None,
        values: Mapping[int, float] | None = None,
        device: str = "cpu",
        class_name: str | int | None = None,
    ) -> None:
        self.run_folder, self.step, self.latent, self.values = Path(run_folder), step, latent, dict(values or {})
        self.device, self.class_name = device, class_name

    def __call__(self, ctx: JobContext) -> dict:
        if self.latent is None:
            raise JobError("Generate or drop a picture first, then move a slider to edit it.")
        model = _loading(ctx, self.run_folder, self.step, self.device)
        class_index = model.class_index(self.class_name)
        values = check_values(self.values, model.z_dim)
        latent = edit_latent(model, _picture_or_latent(model, self.latent, class_index, ctx), values)
        ctx.progress(0.5, "Drawing the edited picture…")
        image = model.generate(latent[None], class_index, 1.0, ctx.check)[0]
        code = codes_of(model, latent)[0]
        counted = sparsity(code)
        return {
            "image": image,
            "latent": latent,
            "code": code,
            "active": counted["active"],
            "sparsity": counted["text"],
            "values": {dim: float(code[dim]) for dim in values},
            "class_index": class_index,
            **_model_fields(model),
        }
