"""Tokenizers for the language models: one small interface, a character tokenizer and a byte-level BPE.

Both round-trip ANY Unicode text exactly (``decode(encode(s)) == s`` for Chinese, emoji with skin-tone
modifiers, combining accents, CR/LF, tabs, NUL…), because a writer's text that comes back altered, even
by one normalization or one dropped character, is a bug the user sees in every generated word.

Both reserve one extra id, ``eot_id`` ("end of text"): the text cache puts it after every item so a model
learns where a text ends and generation knows when to stop. ``encode`` never produces it from text (the
literal string "<|endoftext|>" in a user's file is encoded as ordinary characters), and ``decode`` drops it.

Files are JSON (never pickle): a tokenizer travels inside a project or next to a checkpoint and must be
safe to open when received from someone else. :func:`load` reads either kind.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer as HFTokenizer
from tokenizers import decoders, models, pre_tokenizers, trainers

from studio.core.atomic import atomic_write_text

EOT = "<|endoftext|>"
FORMAT = "aigc-studio tokenizer"
_BYTES = 256
_LOOKUP_LIMIT = 0x30000  # code points below this are encoded through one numpy table (all of BMP + CJK ext.)
MAX_FILE_BYTES = 128 << 20  # a 256k-entry BPE is ~20 MB of JSON; a larger "tokenizer" is refused unread
MAX_CHARS = 0x110000  # every Unicode code point once: no character vocabulary can be larger


class Tokenizer:
    """The common interface. ``vocab_size`` counts every id the model's embedding needs (eot included)."""

    kind = "base"
    vocab_size: int
    eot_id: int

    def encode(self, text: str) -> list[int]:
        return self.encode_array(text).tolist()

    def encode_array(self, text: str) -> np.ndarray:
        """Ids as an int64 array: the fast path the text cache uses for megabytes of text."""
        raise NotImplementedError

    def decode(self, ids: Iterable[int]) -> str:
        raise NotImplementedError

    def to_json(self) -> dict:
        raise NotImplementedError

    def save(self, path: str | Path) -> Path:
        """Write the tokenizer as JSON, atomically."""
        return atomic_write_text(path, json.dumps(self.to_json(), ensure_ascii=False) + "\n")

    @staticmethod
    def load(path: str | Path) -> Tokenizer:
        return load(path)


# -- characters --------------------------------------------------------------------------------------------------
class CharTokenizer(Tokenizer):
    """One id per character seen in the training text, with a byte fallback for everything else.

    Id layout: ``0 .. n-1`` the known characters (in code-point order), ``n`` = eot, then ``n+1 .. n+256``
    the 256 byte values. A character missing from the vocabulary (one that only appears in validation
    text, or a rare one cut by ``max_chars``) is written as the ids of its UTF-8 bytes, so encoding is
    lossless. An ``<unk>`` id was the alternative, but it would make val text come back with holes and
    give the loss an impossible target; 256 extra embedding rows cost nothing by comparison.
    """

    kind = "char"

    def __init__(self, chars: list[str]) -> None:
        self.chars = list(chars)
        self.index = {c: i for i, c in enumerate(self.chars)}
        self.eot_id = len(self.chars)
        self.byte_base = self.eot_id + 1
        self.vocab_size = self.byte_base + _BYTES
        self._table = _lookup_table(self.chars)

    @classmethod
    def fit(cls, texts: Iterable[str], max_vocab: int | None = None) -> CharTokenizer:
        """Learn the characters of ``texts`` (the training split). ``max_vocab`` bounds the whole vocabulary
        (chars + eot + 256 bytes); the rarest characters beyond it use the byte fallback."""
        counts = _count_chars(texts)
        limit = None if max_vocab is None else max(0, max_vocab - 1 - _BYTES)
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return cls(sorted(c for c, _ in ranked))

    def encode_array(self, text: str) -> np.ndarray:
        """Vectorized: code points via UTF-32, one table lookup, then byte fallback only where needed."""
        if not text:
            return np.zeros(0, np.int64)
        points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
        ids = np.full(points.shape, -1, np.int64)
        small = points < _LOOKUP_LIMIT
        ids[small] = self._table[points[small]]
        unknown = np.flatnonzero(ids < 0)
        if unknown.size == 0:
            return ids
        return self._with_byte_fallback(text, ids, unknown)

    def _with_byte_fallback(self, text: str, ids: np.ndarray, unknown: np.ndarray) -> np.ndarray:
        pieces: list[np.ndarray] = []
        start = 0
        for position in unknown.tolist():
            char = text[position]
            if char in self.index:  # a known code point above the lookup table
                ids[position] = self.index[char]
                continue
            pieces.append(ids[start:position])
            pieces.append(
                np.frombuffer(char.encode("utf-8", "surrogatepass"), np.uint8).astype(np.int64) + self.byte_base
            )
            start = position + 1
        pieces.append(ids[start:])
        return np.concatenate(pieces)

    def decode(self, ids: Iterable[int]) -> str:
        """Characters as they are; runs of byte ids are joined and decoded as UTF-8 (invalid runs, which only a
        sampling model can produce, become U+FFFD instead of failing)."""
        out: list[str] = []
        pending = bytearray()
        for i in ids:
            i = int(i)
            if i >= self.byte_base:
                pending.append(i - self.byte_base)
                continue
            if pending:
                out.append(pending.decode("utf-8", "replace"))
                pending.clear()
            if i < self.eot_id:
                out.append(self.chars[i])
        if pending:
            out.append(pending.decode("utf-8", "replace"))
        return "".join(out)

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "kind": self.kind,
            "version": 1,
            "chars": self.chars,
            "eot": EOT,
            "byte_fallback": True,
            "vocab_size": self.vocab_size,
        }


def _count_chars(texts: Iterable[str]) -> Counter:
    """Character frequencies; numpy's bincount over code points is ~10× faster than Counter on megabytes."""
    totals = np.zeros(_LOOKUP_LIMIT, np.int64)
    rare: Counter[str] = Counter()
    for text in texts:
        points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
        small = points < _LOOKUP_LIMIT
        totals += np.bincount(points[small], minlength=_LOOKUP_LIMIT)
        if not small.all():
            rare.update(chr(p) for p in points[~small].tolist())
    counts = Counter({chr(p): int(totals[p]) for p in np.flatnonzero(totals).tolist()})
    counts.update(rare)
    return counts


def _lookup_table(chars: list[str]) -> np.ndarray:
    table = np.full(_LOOKUP_LIMIT, -1, np.int64)
    for i, c in enumerate(chars):
        if ord(c) < _LOOKUP_LIMIT:
            table[ord(c)] = i
    return table


# -- byte-level BPE ------------------------------------------------------------------------------------------------
class BPETokenizer(Tokenizer):
    """GPT-2-style byte-level BPE, trained and run by Hugging Face ``tokenizers`` (Rust: fast, offline).

    Byte-level means the base alphabet is the 256 byte values, so every string is encodable and decoding
    is exact; no normalizer and no prefix space are configured, because either would change the text.
    Words are ~3–4× fewer tokens than characters, so the model sees more text per context window.
    """

    kind = "bpe"

    def __init__(self, hf_tokenizer) -> None:
        self._hf = hf_tokenizer
        self.eot_id = hf_tokenizer.get_vocab_size()  # kept outside the HF vocabulary: text never produces it
        self.vocab_size = self.eot_id + 1

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int = 4096, min_frequency: int = 2) -> BPETokenizer:
        """Learn merges from ``texts`` (an iterator is fine: it is streamed). ``vocab_size`` includes the 256
        byte symbols and eot; a small corpus may end with fewer merges than asked."""

        hf = HFTokenizer(models.BPE())
        hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        hf.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=max(_BYTES + 1, int(vocab_size) - 1),
            min_frequency=min_frequency,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            special_tokens=[],
            show_progress=False,
        )
        hf.train_from_iterator(texts, trainer)
        return cls(hf)

    def encode_array(self, text: str) -> np.ndarray:
        return np.asarray(self._hf.encode(text, add_special_tokens=False).ids, dtype=np.int64)

    def encode_batch(self, texts: list[str]) -> list[np.ndarray]:
        """Many texts at once: the Rust side encodes them in parallel."""
        encodings = self._hf.encode_batch(texts, add_special_tokens=False)
        return [np.asarray(e.ids, dtype=np.int64) for e in encodings]

    def decode(self, ids: Iterable[int]) -> str:
        return self._hf.decode([int(i) for i in ids if int(i) != self.eot_id], skip_special_tokens=False)

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "kind": self.kind,
            "version": 1,
            "eot": EOT,
            "vocab_size": self.vocab_size,
            "hf": json.loads(self._hf.to_str()),
        }


# -- loading -----------------------------------------------------------------------------------------------------
def from_json(data: dict) -> Tokenizer:
    """Build a tokenizer from its JSON. The file may come from someone else: a malformed one is a plain
    ValueError, never a TypeError deep inside the lookup table."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("not an AIGC Studio tokenizer file")
    if data.get("kind") == CharTokenizer.kind:
        chars = data.get("chars")
        if (
            not isinstance(chars, list)
            or len(chars) > MAX_CHARS
            or not all(isinstance(c, str) and len(c) == 1 for c in chars)
            or len(set(chars)) != len(chars)
        ):
            raise ValueError("the character tokenizer's list of characters is damaged")
        return CharTokenizer(chars)
    if data.get("kind") == BPETokenizer.kind:
        return BPETokenizer(HFTokenizer.from_str(json.dumps(data["hf"])))
    raise ValueError(f"unknown tokenizer kind {str(data.get('kind'))[:40]!r}")


def load(path: str | Path) -> Tokenizer:
    """Read a tokenizer saved by :meth:`Tokenizer.save` (JSON only: nothing in it can execute). A file over
    :data:`MAX_FILE_BYTES` is refused before it is read (ValueError), so a hostile one cannot fill memory."""
    path = Path(path)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"the tokenizer file {path.name} is larger than {MAX_FILE_BYTES >> 20} MB")
    return from_json(json.loads(path.read_text(encoding="utf-8")))


def fit_tokenizer(kind: str, texts: Iterable[str], vocab_size: int = 4096) -> Tokenizer:
    """Fit a ``"char"`` or ``"bpe"`` tokenizer on ``texts`` (the training split only)."""
    if kind == CharTokenizer.kind:
        return CharTokenizer.fit(texts, max_vocab=vocab_size)
    if kind == BPETokenizer.kind:
        return BPETokenizer.train(texts, vocab_size=vocab_size)
    raise ValueError(f"unknown tokenizer {kind!r}: use 'char' or 'bpe'")
