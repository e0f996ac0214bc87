"""Training-ready caches under ``<dataset>/cache/``: build once, then every epoch reads flat arrays.

Why a cache at all: decoding a 1024×768 JPEG costs milliseconds, a training step on 64×64 images costs
less than that per image on a GPU. Decoding every epoch would make data loading the bottleneck (see
ARCHITECTURE.md, performance principles), so each item is decoded, squared and resized exactly once,
here, and training reads bytes from memory-mapped files the OS keeps in its page cache.

Layout (one entry per usable manifest item, in manifest order)::

    cache/images_<res>_<fit>.u8     uint8 (N, res, res, 3): 4× smaller than float32, and the exact pixels;
    cache/images_<res>_<fit>.npz    labels (int64, -1 = no class), split (int8: 0 train, 1 val, -1 unreadable)
    cache/images_<res>_<fit>.json   the sidecar: parameters, class names, item ids, the manifest fingerprint
    cache/text-<kind>-<vocab>/      tokenizer.json, train.bin, val.bin (nanoGPT-style flat token ids), cache.json
    cache/audio-<rate>-<mels>-<hop>/  mels.f16, audio.i16, phonemes.u16, index.npz (offsets), cache.json

Consistency: every data file is written to a temporary file, fsync'ed and renamed over its target; the
JSON sidecar is the commit record. It is deleted before the data files are replaced and written (atomically)
last, so a crash or a cancel mid-way leaves either the old complete cache or no sidecar, which readers
treat as "no cache". The sidecar stores :func:`manifest_fingerprint` of the usable items; ``open`` refuses
a cache whose fingerprint no longer matches the manifest (items added, excluded, re-split or relabelled).

A cache can still be damaged afterwards (a copy cut short, a full disk on another tool's write, a project
someone sent): :func:`cache_problem` checks that the sidecar parses, that every data file has exactly the
size its shapes say (``train.bin`` = tokens × item size, the image memmap = N × H × W × C, mels = frames ×
n_mels × 2) and that the small index arrays add up. A damaged cache is rebuilt by the next build, with a
plain message, and ``open`` refuses it in one sentence instead of failing inside numpy's memmap.

Paths: items are read only through the manifest's guard (:meth:`Manifest.item_path`), so an entry whose
``item`` leaves the dataset folder was already refused when the manifest was loaded, and is never read.

No pickles anywhere: ``.npz`` files are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import multiprocessing
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from studio.core.atomic import atomic_write_json
from studio.core.datasets.base import AUDIO, IMAGE, TEXT
from studio.core.datasets.manifest import CACHE, OUTSIDE_REASON, Manifest
from studio.core.jobs import JobContext, JobError
from studio.core.nets.image_sizes import RESOLUTIONS  # the sizes the image networks are built for

if TYPE_CHECKING:  # both are imported when a cache is built or read, not when the studio starts
    import torch

    from studio.core.datasets.tokenizers import Tokenizer

CACHE_SCHEMA = 1
FITS = ("crop", "pad")
POOL_THRESHOLD = 64  # below this many images a process pool's start-up costs more than it saves
CHUNK = 32  # images per pool task: large enough to amortize pickling, small enough for smooth progress
TRAIN_SPLIT, VAL_SPLIT, UNREADABLE = 0, 1, -1


# ======================================================================================================
# shared: fingerprint, atomic multi-file commit, sidecars
# ======================================================================================================
def manifest_fingerprint(entries: list[dict]) -> str:
    """sha256 over (id, content sha256, item path, split, label, transcript) of the usable entries, in order.

    Training compares it with the cache's sidecar: any import, exclusion, re-split, relabel or transcript
    edit changes it, so a stale cache is rebuilt instead of silently training on the wrong items.
    """
    rows = [
        [e["id"], e.get("sha256"), e.get("item"), e.get("split"), e.get("label"), e.get("transcript")] for e in entries
    ]
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def cache_root(dataset_folder: str | Path) -> Path:
    return Path(dataset_folder) / CACHE


def _load_manifest(dataset_folder: Path, kind: str) -> tuple[Manifest, list[dict]]:
    manifest = Manifest.load(dataset_folder)
    if manifest.kind != kind:
        raise JobError(f"The dataset “{manifest.name}” holds {manifest.kind} files, not {kind} files.")
    entries = manifest.usable()
    if not entries:
        raise JobError(f"The dataset “{manifest.name}” has no usable {kind} items yet: import some files first.")
    return manifest, entries


def _read_sidecar(path: Path, kind: str) -> dict | None:
    """The sidecar's contents, or None when there is no complete cache of this kind and schema."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or info.get("kind") != kind or info.get("schema") != CACHE_SCHEMA:
        return None
    files = info.get("files", [])
    if not isinstance(files, list) or not all(_plain_name(name) for name in files):
        return None  # names that are not plain files of this folder: not a cache this studio wrote
    if not all((path.parent / name).is_file() for name in files):
        return None  # a data file was deleted by hand: treat the cache as absent
    return info


def _parses(sidecar: Path) -> bool:
    try:
        return isinstance(json.loads(sidecar.read_text(encoding="utf-8")), dict)
    except (OSError, ValueError):
        return False


def _plain_name(name: object) -> bool:
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and Path(name).name == name
        and "\\" not in name
        and not name.startswith(".")
    )


def _cache_state(sidecar: Path, kind: str, fingerprint: str, params: dict) -> tuple[bool, str | None]:
    """(up to date, damage): up to date only when the sidecar matches the manifest and the parameters *and*
    its files are whole; ``damage`` says what is wrong with a cache that is there but broken."""
    info = _read_sidecar(sidecar, kind)
    if info is None:
        return False, (f"{sidecar.name} cannot be read" if sidecar.is_file() and not _parses(sidecar) else None)
    damage = _damage(sidecar.parent, sidecar.stem, info)
    current = damage is None and info.get("fingerprint") == fingerprint and info.get("params") == params
    return current, damage


def _require_current(info: dict | None, sidecar: Path, dataset_folder: Path, verify: bool) -> dict:
    if info is None:
        raise JobError(f"There is no training cache at {sidecar.parent} yet: prepare the dataset first.")
    damage = _damage(sidecar.parent, sidecar.stem, info)
    if damage:
        raise JobError(
            f"The training cache at {sidecar.parent} is damaged ({damage}): prepare the dataset again to rebuild it."
        )
    if verify:
        _, entries = _load_manifest(dataset_folder, info["kind"])
        if manifest_fingerprint(entries) != info.get("fingerprint"):
            raise JobError("The dataset changed since its training cache was made: prepare it again.")
    return info


def _announce_damage(ctx: JobContext, what: str, damage: str | None) -> None:
    if damage:
        ctx.progress(0.0, f"The {what} training cache was damaged ({damage}): rebuilding it")


def _announce_refused(ctx: JobContext, manifest: Manifest, result: dict) -> dict:
    """Entries refused because their item points outside the dataset folder, said where the user looks."""
    if manifest.refused:
        count = len(manifest.refused)
        ctx.progress(1.0, f"{count} item{'s' if count != 1 else ''} left out: {OUTSIDE_REASON}")
        result.update(refused=count, refused_because=OUTSIDE_REASON)
    return result


# -- damage checks: sizes from the sidecar against the files, small index arrays that must add up ---------------
class _Damaged(Exception):
    """What is wrong with a cache, in a few words (caught by :func:`_damage`)."""


def cache_problem(sidecar: str | Path) -> str | None:
    """None when the cache this sidecar commits is whole; else what is wrong, in a few words ("train.bin is
    1,000 bytes but should be 2,000"). Also says so when there is no readable sidecar of a known kind."""
    sidecar = Path(sidecar)
    for kind in (IMAGE, TEXT, AUDIO):
        info = _read_sidecar(sidecar, kind)
        if info is not None:
            return _damage(sidecar.parent, sidecar.stem, info)
    return "there is no complete cache here"


def _damage(folder: Path, stem: str, info: dict) -> str | None:
    check = {IMAGE: _check_images, TEXT: _check_text, AUDIO: _check_audio}[info["kind"]]
    try:
        check(folder, stem, info)
    except _Damaged as exc:
        return str(exc)
    except (OSError, ValueError, TypeError, KeyError, IndexError, EOFError, OverflowError, zipfile.BadZipFile) as exc:
        return f"a file cannot be read: {type(exc).__name__}"
    return None


def _count(info: dict, key: str) -> int:
    value = info.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _Damaged(f"its index has no valid {key}")
    return value


def _expect_size(path: Path, nbytes: int) -> None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise _Damaged(f"{path.name} is missing") from None
    if size != nbytes:
        raise _Damaged(f"{path.name} is {size:,} bytes but should be {nbytes:,}")


def _check_array(name: str, array: np.ndarray, length: int, low: int, high: int) -> None:
    """``array`` has ``length`` integer values in [low, high)."""
    if array.ndim != 1 or len(array) != length or array.dtype.kind not in "iu":
        raise _Damaged(f"its {name} do not match the items")
    if length and (int(array.min()) < low or int(array.max()) >= high):
        raise _Damaged(f"its {name} are out of range")


def _check_offsets(name: str, offsets: np.ndarray, items: int, total: int) -> None:
    """N + 1 offsets from 0 to ``total`` that never go backwards."""
    _check_array(name, offsets, items + 1, 0, total + 1)
    if int(offsets[0]) != 0 or int(offsets[-1]) != total or (np.diff(offsets) < 0).any():
        raise _Damaged(f"its {name} do not add up")


def _ids(info: dict) -> list:
    ids = info.get("ids")
    if not isinstance(ids, list):
        raise _Damaged("its index has no item list")
    return ids


def _check_images(folder: Path, stem: str, info: dict) -> None:
    shape = info.get("shape")
    resolution = (info.get("params") or {}).get("resolution")
    if not (
        isinstance(shape, list)
        and len(shape) == 4
        and all(type(v) is int and v >= 0 for v in shape)
        and shape[1] == shape[2] == resolution
        and shape[3] == 3
        and shape[0] == len(_ids(info))
        and info.get("dtype") == "uint8"
        and isinstance(info.get("classes"), list)
    ):
        raise _Damaged("its index does not describe the images it holds")
    _expect_size(folder / f"{stem}.u8", math.prod(shape))
    arrays = _load_npz(folder / f"{stem}.npz")
    _check_array("labels", arrays["labels"], shape[0], -1, len(info["classes"]))
    _check_array("split codes", arrays["split"], shape[0], UNREADABLE, VAL_SPLIT + 1)


def _check_text(folder: Path, stem: str, info: dict) -> None:
    dtype = info.get("dtype")
    if dtype not in ("uint16", "uint32"):
        raise _Damaged("its index names no valid token type")
    vocab, eot = _count(info, "vocab_size"), _count(info, "eot_id")
    if token_dtype(vocab) != np.dtype(dtype) or eot >= vocab:
        raise _Damaged("its vocabulary size does not match its token type")
    itemsize = np.dtype(dtype).itemsize
    for name, key in (("train.bin", "train_tokens"), ("val.bin", "val_tokens")):
        count = _count(info, key)
        _expect_size(folder / name, count * itemsize)
        # an id past the vocabulary would index past the model's embedding (a CUDA device assert); a max over
        # the memory map reads the file at memory speed (100 M tokens in well under a second)
        if count and int(_open_array(folder / name, np.dtype(dtype), (count,)).max()) >= vocab:
            raise _Damaged(f"{name} holds token ids beyond its vocabulary")
    _load_tokenizer(folder, vocab)


def _load_tokenizer(folder: Path, vocab: int) -> Tokenizer:
    """The cache's tokenizer, which must load and have exactly the vocabulary its token files were made with.
    Both the build's up-to-date check and ``TextCache.open`` use it, so a cache one refuses the other rebuilds."""
    from studio.core.datasets import tokenizers

    try:
        tokenizer = tokenizers.load(folder / "tokenizer.json")
    except Exception:  # noqa: BLE001 - OSError, ValueError, KeyError, the HF parser's own errors
        raise _Damaged("its tokenizer.json cannot be used") from None
    if tokenizer.vocab_size != vocab:
        raise _Damaged("its tokenizer.json does not match its token files")
    return tokenizer


def _check_audio(folder: Path, stem: str, info: dict) -> None:
    from studio.core.datasets import phonemes

    n_mels = (info.get("params") or {}).get("n_mels")
    if type(n_mels) is not int or n_mels <= 0:
        raise _Damaged("its index has no valid mel size")
    frames, samples, symbols = _count(info, "frames"), _count(info, "samples"), _count(info, "phoneme_count")
    _expect_size(folder / "mels.f16", frames * n_mels * 2)
    _expect_size(folder / "audio.i16", samples * 2)
    _expect_size(folder / "phonemes.u16", symbols * 2)
    items = len(_ids(info))
    index = _load_npz(folder / "index.npz")
    _check_offsets("mel offsets", index["mel_offsets"], items, frames)
    _check_offsets("sample offsets", index["audio_offsets"], items, samples)
    _check_offsets("phoneme offsets", index["phoneme_offsets"], items, symbols)
    _check_array("split codes", index["split"], items, UNREADABLE, VAL_SPLIT + 1)
    ids = np.fromfile(folder / "phonemes.u16", dtype="<u2")  # 2 bytes a symbol: small even for hours of speech
    if ids.size and int(ids.max()) >= len(phonemes.SYMBOLS):
        raise _Damaged("its phoneme ids are out of range")


class _Staged:
    """Data files written to temporaries, committed together behind the sidecar (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: dict[Path, Path] = {}  # target -> temporary

    def temp_for(self, name: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        for leftover in self.folder.glob(f".{name}.*.tmp"):  # from a build killed by a crash or power cut
            leftover.unlink(missing_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.folder)
        os.close(fd)
        self.files[self.folder / name] = Path(tmp)
        return Path(tmp)

    def bytes(self, name: str, data: bytes) -> None:
        path = self.temp_for(name)
        with open(path, "wb") as handle:
            handle.write(data)
            _flush(handle)

    def commit(self, sidecar: Path, info: dict) -> None:
        try:
            sidecar.unlink(missing_ok=True)
            for target, tmp in self.files.items():
                os.replace(tmp, target)
        except PermissionError as exc:  # Windows: an open memory map locks the old file
            raise JobError(
                f"The training cache is in use (a training run has it open): stop it, then try again ({exc.filename})."
            ) from exc
        info = {**info, "files": sorted(target.name for target in self.files)}
        self.files.clear()
        atomic_write_json(sidecar, info)  # durable: also fsyncs the folder, which makes the renames above durable

    def discard(self) -> None:
        for tmp in self.files.values():
            tmp.unlink(missing_ok=True)
        self.files.clear()


@contextmanager
def _staged(folder: Path) -> Iterator[_Staged]:
    """Temporaries are removed on any failure or cancel; the previous cache stays as it was."""
    staged = _Staged(folder)
    try:
        yield staged
    finally:
        staged.discard()


def _flush(handle) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _npz_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds like its allow_pickle
    return buffer.getvalue()


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _ensure_space(folder: Path, nbytes: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if nbytes > free:
        raise JobError(
            f"The training cache needs {nbytes / 1e9:.1f} GB but only {free / 1e9:.1f} GB is free on "
            "this disk: free some space or choose a smaller resolution."
        )


def _open_array(path: Path, dtype, shape: tuple[int, ...]) -> np.ndarray:
    """A read-only memory map (np.memmap cannot map an empty file, so empty arrays are plain arrays)."""
    if math.prod(shape) == 0:
        return np.zeros(shape, dtype)
    return np.memmap(path, dtype=dtype, mode="r", shape=shape)


def _split_codes(entries: list[dict]) -> np.ndarray:
    return np.array([VAL_SPLIT if e.get("split") == "val" else TRAIN_SPLIT for e in entries], np.int8)


def _pool_context():
    """forkserver on POSIX: a fork of a process that holds Qt and torch threads can deadlock; spawn elsewhere."""
    return multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")


def _default_workers() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    return max(1, min(4, cpus))


# ======================================================================================================
# images
# ======================================================================================================
def load_square(
    path: str | Path, resolution: int, fit: str = "crop", background: tuple[int, int, int] = (255, 255, 255)
) -> np.ndarray:
    """Decode one image file into a (res, res, 3) uint8 array: centre-cropped or padded to a square.

    JPEGs are decoded with ``Image.draft``: libjpeg scales by 1/2, 1/4 or 1/8 inside the inverse DCT, so a
    1024×768 photo for a 64 px cache is decoded as 256×192 and most of the pixel work is never done. This
    is the main speed trick of the cache build (several times faster than a full decode). We ask for at
    least twice the target size so the final LANCZOS step still has real pixels to antialias from.
    """
    from PIL import Image

    with Image.open(path) as image:
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
    """Items are RGB after import; this covers hand-made datasets (alpha flattened onto the background)."""
    from PIL import Image

    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, tuple(background))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _crop_square(image, resolution: int):
    """Centre square of side min(w, h), resized in one call (``box`` avoids copying the crop first).
    ``reducing_gap`` lets Pillow box-reduce large images before LANCZOS: same look, much faster."""
    from PIL import Image

    width, height = image.size
    side = min(width, height)
    left, top = (width - side) / 2, (height - side) / 2
    return image.resize(
        (resolution, resolution), Image.Resampling.LANCZOS, box=(left, top, left + side, top + side), reducing_gap=3.0
    )


def _pad_square(image, resolution: int, background: tuple[int, int, int]):
    """The whole picture, longer side = res, centred on the background colour (nothing is cut off)."""
    from PIL import Image

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
    from PIL import Image

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
        ctx.progress(1.0, f"{len(entries)} images ready for training")
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
            ctx.progress(done / len(paths), f"{done} of {len(paths)} images")
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


# ======================================================================================================
# text
# ======================================================================================================
PIECE_CHARS = 1 << 20  # texts are encoded in ~1 M-character pieces: bounded memory, progress, cancel
ENCODE_BATCH_CHARS = 8 << 20


@dataclass
class _Doc:
    """One item's text, or a slice of it when the validation text is cut from the end of the training text."""

    path: Path
    start: int = 0
    stop: int | None = None

    def read(self) -> str:
        return _read_text(self.path)[self.start : self.stop]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")  # items are UTF-8 NFC after import
    except OSError as exc:
        raise JobError(
            f"The text item {path.name} cannot be read ({exc.strerror or exc}): import the dataset again."
        ) from exc


def _text_splits(manifest: Manifest, entries: list[dict], val_percent: float) -> tuple[list[_Doc], list[_Doc], bool]:
    """Training and validation documents from the manifest split.

    A dataset of one or a few files (a novel, a Shakespeare ``input.txt``) has no validation items, yet a
    language model needs validation text to show over-fitting. Then the last ``val_percent`` of the training
    text (cut at a line break) becomes validation, nanoGPT-style; the third value says this happened.
    """
    train = [_Doc(manifest.item_path(e)) for e in entries if e.get("split") != "val"]
    val = [_Doc(manifest.item_path(e)) for e in entries if e.get("split") == "val"]
    if val or not train or val_percent <= 0:
        return train, val, False
    lengths = [len(doc.read()) for doc in train]
    cut = int(sum(lengths) * (1 - max(1.0, min(50.0, val_percent)) / 100))
    for index, length in enumerate(lengths):
        if cut < length:
            text = train[index].read()
            newline = text.find("\n", cut)
            cut = newline + 1 if 0 <= newline < length - 1 else cut
            head, tail = _Doc(train[index].path, 0, cut), _Doc(train[index].path, cut)
            return train[:index] + ([head] if cut else []), [tail, *train[index + 1 :]], True
        cut -= length
    return train, [], False


def _pieces(text: str, size: int = PIECE_CHARS) -> Iterator[str]:
    """Split long text just before a line break that follows a non-space character: byte-level BPE
    pre-tokenizes the same way on both sides of such a point, so the pieces encode exactly as the whole."""
    start = 0
    while len(text) - start > size:
        cut = text.rfind("\n", start + 1, start + size)
        while cut > start and text[cut - 1].isspace():
            cut = text.rfind("\n", start + 1, cut)
        cut = cut if cut > start else start + size
        yield text[start:cut]
        start = cut
    yield text[start:]


def _doc_pieces(
    docs: list[_Doc], ctx: JobContext, span: tuple[float, float], message: str
) -> Iterator[tuple[str, bool]]:
    """(piece, last piece of its document), with progress over ``span`` and a cancel check per piece."""
    for number, doc in enumerate(docs):
        ctx.check()
        ctx.progress(span[0] + (span[1] - span[0]) * number / max(1, len(docs)), message)
        pieces = list(_pieces(doc.read()))
        for index, piece in enumerate(pieces):
            ctx.check()
            yield piece, index == len(pieces) - 1


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 halves the file and the memory bandwidth while every id fits (nanoGPT's choice)."""
    return np.dtype(np.uint16) if vocab_size <= 1 << 16 else np.dtype(np.uint32)


def text_cache_folder(dataset_folder: str | Path, tokenizer: str = "char", vocab_size: int = 4096) -> Path:
    return cache_root(dataset_folder) / f"text-{tokenizer}-{int(vocab_size)}"


class BuildTextCache:
    """Job: fit a tokenizer on the training text and write ``train.bin`` / ``val.bin`` token ids.

    Each item's ids are followed by the tokenizer's ``eot_id``, so a model learns where a text ends. The
    tokenizer sees only the training split: fitting it on validation text would leak it into the model's
    vocabulary (a character tokenizer still encodes unseen validation characters through its byte fallback).
    """

    title = "Preparing text for training"

    def __init__(
        self, dataset_folder: str | Path, tokenizer: str = "char", vocab_size: int = 4096, force: bool = False
    ) -> None:
        if tokenizer not in ("char", "bpe"):
            raise JobError("The tokenizer must be “char” (characters) or “bpe” (byte-level word pieces).")
        self.folder = Path(dataset_folder)
        self.tokenizer, self.vocab_size, self.force = tokenizer, int(vocab_size), force

    def __call__(self, ctx: JobContext) -> dict:
        from studio.core.datasets.tokenizers import fit_tokenizer

        manifest, entries = _load_manifest(self.folder, TEXT)
        target = text_cache_folder(self.folder, self.tokenizer, self.vocab_size)
        params = {"tokenizer": self.tokenizer, "vocab_size": self.vocab_size}
        fingerprint = manifest_fingerprint(entries)
        current, damage = _cache_state(target / "cache.json", TEXT, fingerprint, params)
        if not self.force and current:
            ctx.progress(1.0, "The text cache is up to date")
            return _announce_refused(ctx, manifest, {"path": str(target), "up_to_date": True})
        _announce_damage(ctx, "text", damage)
        train_docs, val_docs, held_out = _text_splits(manifest, entries, _percent(manifest.split))
        texts = (piece for piece, _ in _doc_pieces(train_docs, ctx, (0.0, 0.3), "Learning the vocabulary"))
        tokenizer = fit_tokenizer(self.tokenizer, texts, self.vocab_size)
        dtype = token_dtype(tokenizer.vocab_size)
        with _staged(target) as staged:
            tokenizer.save(staged.temp_for("tokenizer.json"))
            n_train = _write_tokens(
                staged.temp_for("train.bin"),
                tokenizer,
                dtype,
                _doc_pieces(train_docs, ctx, (0.3, 0.9), "Encoding training text"),
            )
            n_val = _write_tokens(
                staged.temp_for("val.bin"),
                tokenizer,
                dtype,
                _doc_pieces(val_docs, ctx, (0.9, 1.0), "Encoding validation text"),
            )
            info = {
                "kind": TEXT,
                "schema": CACHE_SCHEMA,
                "params": params,
                "fingerprint": fingerprint,
                "dtype": dtype.name,
                "vocab_size": tokenizer.vocab_size,
                "eot_id": tokenizer.eot_id,
                "train_tokens": n_train,
                "val_tokens": n_val,
                "val_from_training_tail": held_out,
                "ids": [e["id"] for e in entries],
            }
            ctx.check()
            staged.commit(target / "cache.json", info)
        ctx.progress(1.0, f"{n_train + n_val:,} tokens ready for training")
        result = {
            "path": str(target),
            "up_to_date": False,
            "vocab_size": tokenizer.vocab_size,
            "train_tokens": n_train,
            "val_tokens": n_val,
            "val_from_training_tail": held_out,
        }
        if damage:
            result["damaged"] = damage
        return _announce_refused(ctx, manifest, result)


def _percent(split: dict) -> float:
    """The validation share from the manifest (a hand-edited value that is not a number means the default)."""
    try:
        percent = float(split.get("val_percent", 10))
    except (TypeError, ValueError, OverflowError):
        return 10.0
    return percent if math.isfinite(percent) else 10.0


def _write_tokens(path: Path, tokenizer, dtype: np.dtype, pieces: Iterable[tuple[str, bool]]) -> int:
    """Stream the ids of ``pieces`` to ``path``; batches of pieces let the BPE encoder work in parallel."""
    count = 0
    with open(path, "wb") as handle:
        for batch in _batched(pieces, ENCODE_BATCH_CHARS):
            texts = [piece for piece, _ in batch]
            encoded = (
                tokenizer.encode_batch(texts)
                if hasattr(tokenizer, "encode_batch")
                else [tokenizer.encode_array(t) for t in texts]
            )
            for ids, (_, ends_doc) in zip(encoded, batch, strict=True):
                if ends_doc:
                    ids = np.append(ids, tokenizer.eot_id)
                handle.write(ids.astype(dtype).tobytes())
                count += len(ids)
        _flush(handle)
    return count


def _batched(pieces: Iterable[tuple[str, bool]], max_chars: int) -> Iterator[list[tuple[str, bool]]]:
    batch: list[tuple[str, bool]] = []
    size = 0
    for item in pieces:
        batch.append(item)
        size += len(item[0])
        if size >= max_chars or len(batch) >= 1024:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


@dataclass
class TextCache:
    """An opened text cache: ``train`` / ``val`` are read-only memmaps of token ids (sample random windows
    from them exactly like nanoGPT's ``get_batch``)."""

    folder: Path
    train: np.ndarray
    val: np.ndarray
    tokenizer: Tokenizer
    info: dict

    @classmethod
    def open(
        cls, dataset_folder: str | Path, tokenizer: str = "char", vocab_size: int = 4096, verify: bool = True
    ) -> TextCache:
        folder = text_cache_folder(dataset_folder, tokenizer, vocab_size)
        info = _require_current(
            _read_sidecar(folder / "cache.json", TEXT), folder / "cache.json", Path(dataset_folder), verify
        )
        dtype = np.dtype(info["dtype"])
        train = _open_array(folder / "train.bin", dtype, (int(info["train_tokens"]),))
        val = _open_array(folder / "val.bin", dtype, (int(info["val_tokens"]),))
        try:
            loaded = _load_tokenizer(folder, info["vocab_size"])
        except _Damaged as exc:
            raise JobError(
                f"The training cache at {folder} is damaged ({exc}): prepare the dataset again to rebuild it."
            ) from exc
        return cls(folder, train, val, loaded, info)

    @property
    def vocab_size(self) -> int:
        return int(self.info["vocab_size"])


# ======================================================================================================
# audio
# ======================================================================================================
MEL_FLOOR = 1e-5  # log(1e-5) ≈ -11.5: the value of digital silence in the cache
NORMALIZATION = (
    "log_mel = ln(max(mel, 1e-5)); mel = slaney-normalized slaney-scale filterbank (f_min..f_max) "
    "applied to |STFT| (power 1, magnitude) of the clip scaled to [-1, 1) by 1/32768, with a Hann "
    "window of win_length, reflect-padded by (n_fft - hop) / 2 on each side and center=False, so "
    "a clip of L samples has exactly L // hop frames. This is HiFi-GAN's convention, so a "
    "HiFi-GAN-style vocoder trained on it matches."
)


def audio_cache_folder(dataset_folder: str | Path, sample_rate: int, n_mels: int, hop_length: int) -> Path:
    return cache_root(dataset_folder) / f"audio-{sample_rate}-{n_mels}-{hop_length}"


class MelFrontEnd:
    """The log-mel transform shared by the cache, the TTS model and the vocoder (see :data:`NORMALIZATION`)."""

    def __init__(
        self,
        sample_rate: int = 22050,
        n_mels: int = 80,
        n_fft: int = 1024,
        hop_length: int = 256,
        win_length: int = 1024,
        f_min: float = 0.0,
        f_max: float | None = 8000.0,
    ) -> None:
        from studio.core.audio_stack import import_torchaudio

        torchaudio = import_torchaudio()  # a mismatched torch/torchaudio pair: one sentence, not a linker error
        self.n_fft, self.hop_length = n_fft, hop_length
        self.pad = (n_fft - hop_length) // 2
        self.transform = torchaudio.transforms.MelSpectrogram(
            sample_rate=sample_rate,
            n_fft=n_fft,
            win_length=win_length,
            hop_length=hop_length,
            f_min=f_min,
            f_max=f_max,
            n_mels=n_mels,
            power=1.0,
            center=False,
            norm="slaney",
            mel_scale="slaney",
        )

    def __call__(self, samples):
        """samples: float tensor (..., L) in [-1, 1] -> log-mel (..., n_mels, L // hop)."""
        import torch

        mode = "reflect" if samples.shape[-1] > self.pad else "constant"
        padded = torch.nn.functional.pad(samples.unsqueeze(-2), (self.pad, self.pad), mode=mode).squeeze(-2)
        if padded.shape[-1] < self.n_fft:  # a clip shorter than one hop: no frame
            return samples.new_zeros(*samples.shape[:-1], self.transform.n_mels, 0)
        return torch.log(torch.clamp(self.transform(padded), min=MEL_FLOOR))


MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 4_000, 192_000


def _sample_rate(value: object) -> int:
    """The dataset's sample rate (22050 when unset). It comes from the manifest, which may have been edited:
    a rate of 10⁹ would make every clip a gigabyte when resampled, so anything outside 4–192 kHz is refused."""
    if value is None or value == "":
        return 22050
    try:
        rate = int(value)  # type: ignore[call-overload]  # any value: the except turns a non-number into 0
    except (TypeError, ValueError, OverflowError):
        rate = 0
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise JobError(
            f"The dataset's sample rate {str(value)[:20]} Hz is outside 4,000–192,000 Hz, so its audio "
            "is not prepared: import the clips again."
        )
    return rate


def read_clip(path: Path, sample_rate: int) -> np.ndarray:
    """A mono int16 clip at ``sample_rate``: items already are (import normalizes them); hand-made datasets
    are mixed down and resampled here."""
    import soundfile

    from studio.core.datasets import audio

    try:
        samples, rate = soundfile.read(str(path), dtype="int16", always_2d=True)
    except (OSError, RuntimeError, ValueError) as exc:
        raise JobError(f"The clip {path.name} cannot be read ({exc}): import the dataset again.") from exc
    if samples.shape[1] == 1 and rate == sample_rate:
        return np.ascontiguousarray(samples[:, 0])
    mono = samples.astype(np.float32).mean(axis=1) / 32768.0
    if rate != sample_rate:
        mono = audio.resample(mono, int(rate), sample_rate)
    return audio.to_int16(mono)


class BuildAudioCache:
    """Job: log-mel frames, int16 samples and phoneme ids of every usable clip, concatenated with offsets.

    Concatenated arrays + offsets instead of one file per clip: a training batch is a few slices of one
    memmap, and a dataset of 10,000 clips is 4 files, not 30,000.
    """

    title = "Preparing audio for training"

    def __init__(
        self,
        dataset_folder: str | Path,
        n_mels: int = 80,
        sample_rate: int | None = None,
        hop_length: int = 256,
        win_length: int = 1024,
        n_fft: int = 1024,
        f_min: float = 0.0,
        f_max: float | None = 8000.0,
        language: str | None = None,
        force: bool = False,
    ) -> None:
        self.folder = Path(dataset_folder)
        self.n_mels, self.sample_rate = n_mels, sample_rate
        self.hop_length, self.win_length, self.n_fft = hop_length, win_length, n_fft
        self.f_min, self.f_max, self.language, self.force = f_min, f_max, language, force

    def _params(self, manifest: Manifest) -> dict:
        from studio.core.datasets import phonemes

        rate = _sample_rate(self.sample_rate or manifest.options.get("sample_rate"))
        return {
            "sample_rate": rate,
            "n_mels": self.n_mels,
            "n_fft": self.n_fft,
            "hop_length": self.hop_length,
            "win_length": self.win_length,
            "f_min": self.f_min,
            "f_max": self.f_max,
            "language": self.language or manifest.options.get("language") or phonemes.DEFAULT_LANGUAGE,
            "phonemizer": phonemes.phonemizer_name(),
            "symbols_version": phonemes.SYMBOLS_VERSION,
        }

    def __call__(self, ctx: JobContext) -> dict:
        manifest, entries = _load_manifest(self.folder, AUDIO)
        params = self._params(manifest)
        target = audio_cache_folder(self.folder, params["sample_rate"], self.n_mels, self.hop_length)
        fingerprint = manifest_fingerprint(entries)
        current, damage = _cache_state(target / "cache.json", AUDIO, fingerprint, params)
        if not self.force and current:
            ctx.progress(1.0, "The audio cache is up to date")
            return _announce_refused(ctx, manifest, {"path": str(target), "up_to_date": True})
        _announce_damage(ctx, "audio", damage)
        front = MelFrontEnd(
            params["sample_rate"], self.n_mels, self.n_fft, self.hop_length, self.win_length, self.f_min, self.f_max
        )
        with _staged(target) as staged:
            offsets, phoneme_strings = self._write_clips(staged, manifest, entries, params, front, ctx)
            staged.bytes(
                "index.npz",
                _npz_bytes(
                    mel_offsets=np.array(offsets["mel"], np.int64),
                    audio_offsets=np.array(offsets["audio"], np.int64),
                    phoneme_offsets=np.array(offsets["phonemes"], np.int64),
                    split=_split_codes(entries),
                ),
            )
            info = {
                "kind": AUDIO,
                "schema": CACHE_SCHEMA,
                "params": params,
                "fingerprint": fingerprint,
                "normalization": NORMALIZATION,
                "mel_floor": MEL_FLOOR,
                "frames": offsets["mel"][-1],
                "samples": offsets["audio"][-1],
                "phoneme_count": offsets["phonemes"][-1],
                "ids": [e["id"] for e in entries],
                "transcripts": [e.get("transcript") for e in entries],
                "phonemes": phoneme_strings,
            }
            ctx.check()
            staged.commit(target / "cache.json", info)
        ctx.progress(1.0, f"{len(entries)} clips ready for training")
        result = {
            "path": str(target),
            "up_to_date": False,
            "clips": len(entries),
            "frames": offsets["mel"][-1],
            "with_phonemes": sum(1 for p in phoneme_strings if p),
            "phonemizer": params["phonemizer"],
        }
        if damage:
            result["damaged"] = damage
        return _announce_refused(ctx, manifest, result)

    def _write_clips(
        self,
        staged: _Staged,
        manifest: Manifest,
        entries: list[dict],
        params: dict,
        front: MelFrontEnd,
        ctx: JobContext,
    ) -> tuple[dict[str, list[int]], list[str | None]]:
        """Stream every clip's mel frames, samples and phoneme ids to the staged files; returns the offsets
        (N + 1 each) and the phoneme strings. The files are closed before the caller commits them."""
        import torch

        offsets = {"mel": [0], "audio": [0], "phonemes": [0]}
        phoneme_strings: list[str | None] = []
        with (
            open(staged.temp_for("mels.f16"), "wb") as mels,
            open(staged.temp_for("audio.i16"), "wb") as clips,
            open(staged.temp_for("phonemes.u16"), "wb") as symbols,
            torch.inference_mode(),
        ):
            for number, entry in enumerate(entries):
                ctx.check()
                ctx.progress(number / len(entries), f"{number} of {len(entries)} clips")
                samples = read_clip(manifest.item_path(entry), params["sample_rate"])
                mel = front(torch.from_numpy(samples.astype(np.float32) / 32768.0))  # (n_mels, T)
                mels.write(mel.T.contiguous().numpy().astype(np.float16).tobytes())  # (T, n_mels) rows
                clips.write(samples.astype("<i2").tobytes())
                text, ids = _transcript_phonemes(entry.get("transcript"), params["language"])
                symbols.write(np.asarray(ids, np.uint16).tobytes())
                phoneme_strings.append(text)
                offsets["mel"].append(offsets["mel"][-1] + mel.shape[-1])
                offsets["audio"].append(offsets["audio"][-1] + len(samples))
                offsets["phonemes"].append(offsets["phonemes"][-1] + len(ids))
            for handle in (mels, clips, symbols):
                _flush(handle)
        return offsets, phoneme_strings


def _transcript_phonemes(transcript: str | None, language: str) -> tuple[str | None, list[int]]:
    from studio.core.datasets import phonemes

    if not transcript:
        return None, []
    try:
        text = phonemes.phonemize(transcript, language)
    except ValueError as exc:
        raise JobError(f"{exc} Choose another language for this dataset.") from exc
    return text, phonemes.symbols_to_ids(text)


@dataclass
class AudioCache:
    """An opened audio cache. ``mel(i)`` is (T, n_mels) float16, ``clip(i)`` int16 samples, ``phoneme_ids(i)``
    uint16 ids over :data:`studio.core.datasets.phonemes.SYMBOLS` (empty when the clip has no transcript)."""

    folder: Path
    mels: np.ndarray  # (total_frames, n_mels) float16 memmap
    audio: np.ndarray  # (total_samples,) int16 memmap
    phonemes: np.ndarray  # (total_symbols,) uint16
    mel_offsets: np.ndarray
    audio_offsets: np.ndarray
    phoneme_offsets: np.ndarray
    split: np.ndarray
    info: dict

    @classmethod
    def open(
        cls,
        dataset_folder: str | Path,
        n_mels: int = 80,
        sample_rate: int | None = None,
        hop_length: int = 256,
        verify: bool = True,
    ) -> AudioCache:
        """Open a built cache; ``sample_rate`` defaults to the dataset's (manifest options, else 22050)."""
        if sample_rate is None:
            sample_rate = _sample_rate(Manifest.load(Path(dataset_folder)).options.get("sample_rate"))
        folder = audio_cache_folder(dataset_folder, sample_rate, n_mels, hop_length)
        info = _require_current(
            _read_sidecar(folder / "cache.json", AUDIO), folder / "cache.json", Path(dataset_folder), verify
        )
        if info["params"]["n_mels"] != n_mels:  # the folder name says one size, the sidecar another
            raise JobError(
                f"The training cache at {folder} is damaged (its mel size does not match its folder): "
                "prepare the dataset again to rebuild it."
            )
        index = _load_npz(folder / "index.npz")
        return cls(
            folder,
            _open_array(folder / "mels.f16", np.float16, (int(info["frames"]), n_mels)),
            _open_array(folder / "audio.i16", np.int16, (int(info["samples"]),)),
            _open_array(folder / "phonemes.u16", np.uint16, (int(info["phoneme_count"]),)),
            index["mel_offsets"],
            index["audio_offsets"],
            index["phoneme_offsets"],
            index["split"],
            info,
        )

    def __len__(self) -> int:
        return len(self.mel_offsets) - 1

    @property
    def train_indices(self) -> np.ndarray:
        return np.flatnonzero(self.split == TRAIN_SPLIT)

    @property
    def val_indices(self) -> np.ndarray:
        return np.flatnonzero(self.split == VAL_SPLIT)

    def mel(self, i: int) -> np.ndarray:
        return self.mels[self.mel_offsets[i] : self.mel_offsets[i + 1]]

    def clip(self, i: int) -> np.ndarray:
        return self.audio[self.audio_offsets[i] : self.audio_offsets[i + 1]]

    def phoneme_ids(self, i: int) -> np.ndarray:
        return self.phonemes[self.phoneme_offsets[i] : self.phoneme_offsets[i + 1]]

    def has_transcript(self, i: int) -> bool:
        return self.phoneme_offsets[i + 1] > self.phoneme_offsets[i]
