"""The text cache: the dataset's documents tokenized once into nanoGPT-style flat token files.

Layout: ``cache/text-<kind>-<vocab>/`` with tokenizer.json, train.bin, val.bin and cache.json (the sidecar);
consistency and damage checks are :mod:`studio.core.datasets.cache_common`'s.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from studio.core import words
from studio.core.datasets.base import TEXT
from studio.core.datasets.cache_common import (
    CACHE_SCHEMA,
    _announce_damage,
    _announce_refused,
    _cache_state,
    _Damaged,
    _flush,
    _load_manifest,
    _load_tokenizer,
    _open_array,
    _read_sidecar,
    _require_current,
    _staged,
    cache_root,
    manifest_fingerprint,
    token_dtype,
)
from studio.core.datasets.manifest import Manifest
from studio.core.datasets.tokenizers import fit_tokenizer
from studio.core.jobs import JobContext, JobError

if TYPE_CHECKING:  # imported when a cache is built or read, not when the studio starts
    from studio.core.datasets.tokenizers import Tokenizer

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
        ctx.progress(1.0, f"{words.count(n_train + n_val, 'token')} ready for training")
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
