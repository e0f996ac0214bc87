"""What the training caches under ``<dataset>/cache/`` share: build once, then every epoch reads flat arrays.

One module per modality builds and opens its cache (:mod:`~studio.core.datasets.image_cache`,
:mod:`~studio.core.datasets.text_cache`, :mod:`~studio.core.datasets.audio_cache`); this one holds what all
three need: the manifest fingerprint, the sidecar that commits a cache, the staged multi-file write, and the
damage checks (:func:`cache_problem` answers for a sidecar of any kind, so it knows every layout).

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
import os
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from studio.core import words
from studio.core.atomic import atomic_write_json
from studio.core.datasets import phonemes, tokenizers
from studio.core.datasets.base import AUDIO, IMAGE, TEXT
from studio.core.datasets.manifest import CACHE, OUTSIDE_REASON, Manifest
from studio.core.jobs import JobContext, JobError

if TYPE_CHECKING:  # imported when a text cache is checked, not when the studio starts
    from studio.core.datasets.tokenizers import Tokenizer

CACHE_SCHEMA = 1
TRAIN_SPLIT, VAL_SPLIT, UNREADABLE = 0, 1, -1


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
        ctx.progress(1.0, f"{words.count(count, 'item')} left out: {OUTSIDE_REASON}")
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

    try:
        tokenizer = tokenizers.load(folder / "tokenizer.json")
    except Exception:  # noqa: BLE001 - OSError, ValueError, KeyError, the HF parser's own errors
        raise _Damaged("its tokenizer.json cannot be used") from None
    if tokenizer.vocab_size != vocab:
        raise _Damaged("its tokenizer.json does not match its token files")
    return tokenizer


def _check_audio(folder: Path, stem: str, info: dict) -> None:
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

    def commit(self, sidecar: Path, info: dict, keep: tuple[str, ...] = ()) -> None:
        """Move the staged files into place behind the sidecar; ``keep`` names data files of the cache already
        there that this build did not replace (a transcript edit rewrites the phonemes, not the mel frames)."""
        try:
            sidecar.unlink(missing_ok=True)
            for target, tmp in self.files.items():
                os.replace(tmp, target)
        except PermissionError as exc:  # Windows: an open memory map locks the old file
            raise JobError(
                f"The training cache is in use (a training run has it open): stop it, then try again ({exc.filename})."
            ) from exc
        info = {**info, "files": sorted({target.name for target in self.files} | set(keep))}
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


def _open_array(path: Path, dtype, shape: tuple[int, ...]) -> np.ndarray:
    """A read-only memory map (np.memmap cannot map an empty file, so empty arrays are plain arrays)."""
    if math.prod(shape) == 0:
        return np.zeros(shape, dtype)
    return np.memmap(path, dtype=dtype, mode="r", shape=shape)


def _split_codes(entries: list[dict]) -> np.ndarray:
    return np.array([VAL_SPLIT if e.get("split") == "val" else TRAIN_SPLIT for e in entries], np.int8)


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 halves the file and the memory bandwidth while every id fits (nanoGPT's choice)."""
    return np.dtype(np.uint16) if vocab_size <= 1 << 16 else np.dtype(np.uint32)
