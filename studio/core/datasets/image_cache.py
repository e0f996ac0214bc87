"""The image cache: every usable picture decoded, squared and resized once, into one uint8 memory map.

Layout: ``cache/images_<res>_<fit>.u8`` (N, res, res, 3), ``.npz`` (labels, split codes) and ``.json`` (the
sidecar); consistency and damage checks are :mod:`studio.core.datasets.cache_common`'s.

Transparency: a cache is RGB. Items whose transparency was kept at import (RGBA PNGs, see
:mod:`studio.core.datasets.images`) are composited here onto the dataset's background, the colour recorded in
its manifest's options (the Health tab's transparency choice sets it). The colour is one of the cache's
parameters, so choosing another one makes the cache stale and the next build (or training run) composites
again: the choice changes without importing again. Items flattened at import are RGB already; the colour
still pads the "pad" fit.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from studio.core import words
from studio.core.datasets import images
from studio.core.datasets.base import IMAGE, clamp_colour
from studio.core.datasets.cache_common import (
    CACHE_SCHEMA,
    TRAIN_SPLIT,
    UNREADABLE,
    VAL_SPLIT,
    _announce_damage,
    _announce_refused,
    _cache_state,
    _load_manifest,
    _load_npz,
    _npz_bytes,
    _open_array,
    _read_sidecar,
    _require_current,
    _split_codes,
    _staged,
    cache_root,
    manifest_fingerprint,
)
from studio.core.datasets.manifest import OUTSIDE_REASON
from studio.core.jobs import JobContext, JobError
from studio.core.nets.image_sizes import RESOLUTIONS  # the sizes the image networks are built for

if TYPE_CHECKING:  # imported when a cache is read into tensors, not when the studio starts
    import torch

FITS = ("crop", "pad")
POOL_THRESHOLD = 64  # below this many images a process pool's start-up costs more than it saves
CHUNK = 32  # images per pool task: large enough to amortize pickling, small enough for smooth progress


def _ensure_space(folder: Path, nbytes: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if nbytes > free:
        raise JobError(
            f"The training cache needs {nbytes / 1e9:.1f} GB but only {free / 1e9:.1f} GB is free on "
            "this disk: free some space or choose a smaller resolution."
        )


def _pool_context():
    """forkserver on POSIX: a fork of a process that holds Qt and torch threads can deadlock; spawn elsewhere."""
    return multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")


def _default_workers() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    return max(1, min(4, cpus))


def load_square(
    path: str | Path, resolution: int, fit: str = "crop", background: tuple[int, int, int] = (255, 255, 255)
) -> np.ndarray:
    """Decode one image file into a (res, res, 3) uint8 array: centre-cropped or padded to a square.

    JPEGs are decoded with ``Image.draft``: libjpeg scales by 1/2, 1/4 or 1/8 inside the inverse DCT, so a
    1024×768 photo for a 64 px cache is decoded as 256×192 and most of the pixel work is never done. This
    is the main speed trick of the cache build (several times faster than a full decode). We ask for at
    least twice the target size so the final LANCZOS step still has real pixels to antialias from.
    """

    with Image.open(path, formats=images.picture_formats()) as image:  # only the formats the import accepts
        _draft(image, resolution, fit)
        image = _to_rgb(image, background)
        square = _crop_square(image, resolution) if fit == "crop" else _pad_square(image, resolution, background)
    return np.asarray(square, dtype=np.uint8)


def _draft(image, resolution: int, fit: str) -> None:
    if image.format != "JPEG":
        return
    width, height = image.size
    needed = 2 * resolution  # the side that must survive the reduced decode
    scale = needed / (min(width, height) if fit == "crop" else max(width, height))
    if scale < 1:
        image.draft("RGB", (max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))))


def _to_rgb(image, background: tuple[int, int, int]):
    """RGB, transparency composited onto ``background``: items whose transparency was kept at import (RGBA),
    and hand-made datasets (any mode with alpha or a transparent colour key)."""

    if image.mode == "RGB" and "transparency" not in image.info:
        return image
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        return images.flatten_rgba(image.convert("RGBA"), clamp_colour(background))  # a list from JSON too
    return image.convert("RGB")


def _crop_square(image, resolution: int):
    """Centre square of side min(w, h), resized in one call (``box`` avoids copying the crop first).
    ``reducing_gap`` lets Pillow box-reduce large images before LANCZOS: same look, much faster."""

    width, height = image.size
    side = min(width, height)
    left, top = (width - side) / 2, (height - side) / 2
    return image.resize(
        (resolution, resolution), Image.Resampling.LANCZOS, box=(left, top, left + side, top + side), reducing_gap=3.0
    )


def _pad_square(image, resolution: int, background: tuple[int, int, int]):
    """The whole picture, longer side = res, centred on the background colour (nothing is cut off)."""

    width, height = image.size
    scale = resolution / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    canvas = Image.new("RGB", (resolution, resolution), tuple(background))
    canvas.paste(resized, ((resolution - size[0]) // 2, (resolution - size[1]) // 2))
    return canvas


def _decode_chunk(
    paths: list[str | None], resolution: int, fit: str, background: tuple[int, int, int]
) -> tuple[np.ndarray, list[str | None]]:
    """Pool task: decode a chunk of images. Returns the pixels and, per image, None or why it failed (an
    unreadable item becomes a background-coloured square marked unusable, not a failed build)."""

    out = np.empty((len(paths), resolution, resolution, 3), np.uint8)
    errors: list[str | None] = []
    for i, path in enumerate(paths):
        if path is None:  # outside the dataset folder: never opened
            out[i] = background
            errors.append(OUTSIDE_REASON)
            continue
        try:
            out[i] = load_square(path, resolution, fit, background)
            errors.append(None)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            out[i] = background
            errors.append(str(exc) or type(exc).__name__)
    return out, errors


class BuildImageCache:
    """Job: decode every usable image once into ``images_<res>_<fit>.u8``; returns a summary dict.

    Many items are decoded in a process pool (decoding is CPU-bound and holds the GIL in parts); the main
    process only copies finished chunks into the memory map, so its memory stays at a few chunks whatever
    the dataset size. A cache that is already current is kept (``force=True`` rebuilds it).
    """

    title = "Preparing images for training"

    def __init__(
        self,
        dataset_folder: str | Path,
        resolution: int = 64,
        fit: str = "crop",
        background: tuple[int, int, int] | None = None,
        workers: int | None = None,
        force: bool = False,
    ) -> None:
        if resolution not in RESOLUTIONS:
            raise JobError(f"Image cache resolution must be one of {', '.join(map(str, RESOLUTIONS))}.")
        if fit not in FITS:
            raise JobError("Image fit must be “crop” (fill the square) or “pad” (keep the whole picture).")
        self.folder = Path(dataset_folder)
        self.resolution, self.fit = resolution, fit
        self.background = background
        self.workers = workers if workers is not None else _default_workers()
        self.force = force

    def __call__(self, ctx: JobContext) -> dict:
        started = time.perf_counter()
        manifest, entries = _load_manifest(self.folder, IMAGE)
        background = _colour(self.background or manifest.options.get("background"))
        params = {"resolution": self.resolution, "fit": self.fit, "background": list(background)}
        fingerprint = manifest_fingerprint(entries)
        stem = f"images_{self.resolution}_{self.fit}"
        root = cache_root(self.folder)
        current, damage = _cache_state(root / f"{stem}.json", IMAGE, fingerprint, params)
        if not self.force and current:
            ctx.progress(1.0, "The image cache is up to date")
            return _announce_refused(
                ctx, manifest, {"path": str(root / f"{stem}.u8"), "count": len(entries), "up_to_date": True}
            )
        _announce_damage(ctx, "image", damage)
        shape = (len(entries), self.resolution, self.resolution, 3)
        _ensure_space(root, math.prod(shape))
        paths = [manifest.paths().resolve(e.get("item")) for e in entries]
        with _staged(root) as staged:
            temp = staged.temp_for(f"{stem}.u8")
            errors = self._fill(temp, shape, [None if p is None else str(p) for p in paths], background, ctx)
            split = _split_codes(entries)
            split[[i for i, e in enumerate(errors) if e]] = UNREADABLE
            classes = sorted({e["label"] for e in entries if e.get("label") is not None})
            labels = _label_indices(entries, classes)
            staged.bytes(f"{stem}.npz", _npz_bytes(labels=labels, split=split))
            info: dict[str, Any] = {
                "kind": IMAGE,
                "schema": CACHE_SCHEMA,
                "params": params,
                "fingerprint": fingerprint,
                "shape": list(shape),
                "dtype": "uint8",
                "layout": "NHWC",
                "classes": classes,
                "ids": [e["id"] for e in entries],
                "unreadable": _unreadable(entries, errors),
            }
            ctx.check()
            staged.commit(root / f"{stem}.json", info)
        seconds = time.perf_counter() - started
        ctx.progress(1.0, f"{words.count(len(entries), 'image')} ready for training")
        result = {
            "path": str(root / f"{stem}.u8"),
            "count": len(entries),
            "up_to_date": False,
            "unreadable": len(info["unreadable"]),
            "seconds": round(seconds, 3),
            "images_per_s": round(len(entries) / max(seconds, 1e-9), 1),
        }
        if damage:
            result["damaged"] = damage
        return _announce_refused(ctx, manifest, result)

    def _fill(self, temp: Path, shape: tuple, paths: list[str | None], background: tuple, ctx: JobContext) -> list:
        """Decode into a writable memmap of the temporary file; returns per-item errors (None when fine).
        ``paths`` are the items' checked paths; None marks one that points outside the dataset folder."""
        images = np.memmap(temp, dtype=np.uint8, mode="w+", shape=shape)
        errors: list[str | None] = [None] * len(paths)
        chunks = [(start, paths[start : start + CHUNK]) for start in range(0, len(paths), CHUNK)]
        args = (self.resolution, self.fit, background)
        done = 0
        for start, pixels, chunk_errors in self._decoded(chunks, args, ctx):
            images[start : start + len(pixels)] = pixels
            errors[start : start + len(pixels)] = chunk_errors
            done += len(pixels)
            ctx.progress(done / len(paths), words.of(done, len(paths), "image"))
        images.flush()
        del images
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        return errors

    def _decoded(self, chunks: list, args: tuple, ctx: JobContext) -> Iterator[tuple[int, np.ndarray, list]]:
        """(start, pixels, errors) per chunk: in a pool (any order, bounded in flight) or in this process."""
        total = sum(len(paths) for _, paths in chunks)
        if self.workers <= 1 or total < POOL_THRESHOLD:
            for start, paths in chunks:
                ctx.check()
                yield (start, *_decode_chunk(paths, *args))
            return
        with ProcessPoolExecutor(self.workers, mp_context=_pool_context()) as pool:
            try:
                yield from _pooled(pool, chunks, args, window=self.workers * 3, ctx=ctx)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise


def _pooled(
    pool: ProcessPoolExecutor, chunks: list, args: tuple, window: int, ctx: JobContext
) -> Iterator[tuple[int, np.ndarray, list]]:
    queue = iter(chunks)
    pending: dict[Future, int] = {}

    def submit() -> None:
        item = next(queue, None)
        if item is not None:
            pending[pool.submit(_decode_chunk, item[1], *args)] = item[0]

    for _ in range(window):
        submit()
    while pending:
        finished, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
        ctx.check()  # also while waiting, so a cancel is noticed within 0.2 s
        for future in finished:
            start = pending.pop(future)
            submit()
            yield (start, *future.result())


def _colour(value: object) -> tuple[int, int, int]:
    """An RGB background from the caller or the manifest's options; anything else (the manifest may have been
    edited) means white rather than a crash inside Pillow."""
    try:
        colour = tuple(int(c) for c in value)  # type: ignore[attr-defined]  # the except catches a non-iterable
    except (TypeError, ValueError, OverflowError):
        return (255, 255, 255)
    return colour if len(colour) == 3 and all(0 <= c <= 255 for c in colour) else (255, 255, 255)


def _label_indices(entries: list[dict], classes: list[str]) -> np.ndarray:
    index: dict[str | None, int] = {name: i for i, name in enumerate(classes)}
    return np.array([index.get(e.get("label"), -1) for e in entries], np.int64)


def _unreadable(entries: list[dict], errors: list) -> list[dict]:
    return [
        {"id": e["id"], "item": e.get("item"), "reason": err} for e, err in zip(entries, errors, strict=True) if err
    ]


@dataclass
class ImageCache:
    """An opened image cache. ``images`` is a read-only memmap: opening costs nothing and N processes (or
    DDP ranks) share one copy in the OS page cache."""

    folder: Path
    images: np.ndarray  # (N, res, res, 3) uint8 memmap
    labels: np.ndarray  # (N,) int64 class index, -1 = none
    split: np.ndarray  # (N,) int8: 0 train, 1 val, -1 unreadable (excluded from both)
    classes: list[str]
    ids: list[str]
    info: dict
    _device_images: torch.Tensor | None = field(default=None, repr=False)

    @classmethod
    def open(
        cls, dataset_folder: str | Path, resolution: int = 64, fit: str = "crop", verify: bool = True
    ) -> ImageCache:
        """Open a built cache; with ``verify`` raise JobError when the manifest changed since it was built."""
        folder = Path(dataset_folder)
        stem = cache_root(folder) / f"images_{resolution}_{fit}"
        info = _require_current(
            _read_sidecar(stem.with_suffix(".json"), IMAGE), stem.with_suffix(".json"), folder, verify
        )
        arrays = _load_npz(stem.with_suffix(".npz"))
        images = _open_array(stem.with_suffix(".u8"), np.uint8, tuple(info["shape"]))
        return cls(folder, images, arrays["labels"], arrays["split"], info["classes"], info["ids"], info)

    @staticmethod
    def is_current(dataset_folder: str | Path, resolution: int = 64, fit: str = "crop") -> bool:
        try:
            ImageCache.open(dataset_folder, resolution, fit, verify=True)
        except JobError:
            return False
        return True

    def __len__(self) -> int:
        return len(self.images)

    @property
    def resolution(self) -> int:
        return int(self.images.shape[1])

    @property
    def train_indices(self) -> np.ndarray:
        return np.flatnonzero(self.split == TRAIN_SPLIT)

    @property
    def val_indices(self) -> np.ndarray:
        return np.flatnonzero(self.split == VAL_SPLIT)

    def preload(self, device="cpu") -> None:
        """Copy all uint8 pixels to ``device`` once (10,000 images at 64 px are 123 MB): afterwards a batch
        is an index on the device, with no host work and no transfer per step."""
        import torch

        self._device_images = torch.from_numpy(np.array(self.images)).to(device)  # np.array: a writable copy

    def batch(self, indices, device="cpu", dtype=None, channels_last: bool = False):
        """Images ``indices`` as a float tensor in [-1, 1], NCHW, on ``device``.

        The uint8 pixels travel to the device (pinned, non_blocking: 4× fewer bytes than floats, and the
        copy overlaps the previous step's GPU work) and are converted there.
        """
        import torch

        device = torch.device(device)
        if self._device_images is not None:
            index = torch.as_tensor(indices, device=self._device_images.device).long().reshape(-1)
            pixels = self._device_images[index].to(device)
        else:
            if isinstance(indices, torch.Tensor):
                indices = indices.cpu().numpy()
            rows = np.asarray(indices, dtype=np.int64).reshape(-1)
            pixels = torch.from_numpy(np.ascontiguousarray(self.images[rows]))  # fancy index = one copy out
            if device.type == "cuda":
                pixels = pixels.pin_memory()
            pixels = pixels.to(device, non_blocking=True)
        x = pixels.permute(0, 3, 1, 2).to(dtype or torch.float32).div_(127.5).sub_(1.0)
        return x.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
