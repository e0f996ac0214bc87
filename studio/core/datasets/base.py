"""Types shared by every dataset kind.

A kind module (``images``, ``text``, ``audio``) exposes::

    SUFFIXES: frozenset[str]                       # lower-case file suffixes it claims, e.g. {".png", ".jpg"}
    def normalize(data: bytes, name: str, options: ImportOptions) -> Normalized

``normalize`` never raises for bad input: a broken, hostile or unsupported file comes back as
``Normalized(status=SKIPPED, reason="...")`` with a reason a designer understands. It must not touch the
file system: the importer writes what it returns, so originals are never modified.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OK = "ok"
FIXED = "fixed"  # usable after a change the studio made (converted, rotated, resampled, re-encoded text…)
SKIPPED = "skipped"  # not usable; ``reason`` says why
DUPLICATE = "duplicate"  # same content as another item (set by the importer, not by kind modules)

IMAGE, TEXT, AUDIO = "image", "text", "audio"
KINDS = (IMAGE, TEXT, AUDIO)


@dataclass
class ImportOptions:
    """Choices the user makes before or during import (the panel and the CLI fill these)."""

    resolution: int = 64  # images smaller than this (shorter side) are flagged
    background: tuple[int, int, int] = (255, 255, 255)  # transparent pixels are composited onto this
    max_image_pixels: int = 64_000_000  # decompression-bomb guard (width × height)
    # What decoding one file may cost, estimated from its header before any pixel or sample is decoded: the
    # file's bytes + the decoded picture or signal + the copies the clean-up makes (see images.decode_estimate,
    # audio.decode_estimate). A file over it is refused with its estimate. With a pool worker's own ~50 MB
    # (numpy, Pillow, libsndfile; it never loads torch) this keeps every worker under about 1 GB, whatever it reads.
    max_decode_bytes: int = 800_000_000
    max_item_side: int = 1024  # normalized copies are downscaled to this longer side
    near_duplicate_distance: int = 4  # perceptual-hash Hamming distance that counts as a near-duplicate
    text_encoding: str | None = None  # None = detect; else force, e.g. "gb18030"
    csv_column: str | None = None  # which column of a .csv holds the text (None = the first text-like one)
    jsonl_field: str | None = None  # which field of a .jsonl record holds the text (None = "text" or first str)
    sample_rate: int = 22050  # project audio rate: clips are resampled to it
    min_clip_s: float = 0.5
    max_clip_s: float = 20.0
    trim_silence: bool = True
    target_loudness_dbfs: float = -20.0  # RMS loudness clips are normalized to


def format_bytes(n: float) -> str:
    """'344 KB', '301 MB', '1.1 GB': sizes in reasons a person reads (decimal units, like file managers)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            value = n / scale
            return f"{value:.1f} {unit}" if value < 10 and unit == "GB" else f"{value:.0f} {unit}"
    return f"{int(n)} bytes"


@dataclass
class Normalized:
    """What a kind module made of one source file."""

    status: str  # OK, FIXED or SKIPPED
    reason: str | None = None  # why it was skipped, in plain words ("truncated image", "not really an image")
    fixes: list[str] = field(default_factory=list)  # what was changed ("EXIF orientation applied", …)
    flags: list[str] = field(default_factory=list)  # kept, but worth a look ("smaller than 64 px", "clipping")
    payload: bytes | None = None  # the normalized copy to store under items/ (None when skipped)
    suffix: str = ""  # suffix of the stored copy, e.g. ".png", ".txt", ".wav"
    dedupe_key: str | None = None  # equal keys mean exact duplicates (hash of decoded pixels / text / samples)
    meta: dict = field(default_factory=dict)  # kind-specific facts: width, height, phash, encoding, duration…

    @classmethod
    def skipped(cls, reason: str) -> Normalized:
        return cls(status=SKIPPED, reason=reason)
