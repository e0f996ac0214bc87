"""Types shared by every dataset kind.

A kind module (``images``, ``text``, ``audio``) exposes::

    SUFFIXES: frozenset[str]                       # lower-case file suffixes it claims, e.g. {".png", ".jpg"}
    def normalize(data: bytes, name: str, options: ImportOptions) -> Normalized

``normalize`` never raises for bad input: a broken, hostile or unsupported file comes back as
``Normalized(status=SKIPPED, reason="...")`` with a reason a designer understands. It must not touch the
file system: the importer writes what it returns, so originals are never modified.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

OK = "ok"
FIXED = "fixed"  # usable after a change the studio made (converted, rotated, resampled, re-encoded text…)
SKIPPED = "skipped"  # not usable; ``reason`` says why
DUPLICATE = "duplicate"  # same content as another item (set by the importer, not by kind modules)

IMAGE, TEXT, AUDIO = "image", "text", "audio"
KINDS = (IMAGE, TEXT, AUDIO)

# What becomes of a picture's transparency (``ImportOptions.transparency``, recorded in the manifest's options):
FLATTEN = "flatten"  # composited onto ``background`` at import: the stored item is RGB
KEEP_ALPHA = "keep"  # the stored item keeps its alpha (RGBA PNG); the image cache composites onto ``background``
TRANSPARENCY_CHOICES = (FLATTEN, KEEP_ALPHA)
WHITE, BLACK = (255, 255, 255), (0, 0, 0)


@dataclass
class ImportOptions:
    """Choices the user makes before or during import (the panel and the CLI fill these)."""

    resolution: int = 64  # images smaller than this (shorter side) are flagged
    background: tuple[int, int, int] = WHITE  # transparent pixels are composited onto this (at import or cache time)
    transparency: str = FLATTEN  # FLATTEN onto ``background`` at import, or KEEP_ALPHA in the stored items
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

    def following(self, recorded: object) -> ImportOptions:
        """These options with a dataset's recorded transparency choice (its manifest's ``options``): files added
        to a dataset are treated as the ones already in it, whatever the defaults say. A new dataset (nothing
        recorded) takes these options as they are."""
        if not isinstance(recorded, dict) or not {"transparency", "background"} & recorded.keys():
            return self
        transparency, background = recorded_transparency(recorded)
        return replace(self, transparency=transparency, background=background)


def clamp_colour(value: object, default: tuple[int, int, int] = WHITE) -> tuple[int, int, int]:
    """An RGB triple from options that travelled through JSON (a list) or a hand-edited manifest: anything that
    is not three numbers becomes ``default``, numbers are clamped to 0–255."""
    try:
        r, g, b = (min(255, max(0, int(c))) for c in list(value)[:3])  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return default
    return r, g, b


def colour_name(colour: object) -> str:
    """ "white", "black" or "#RRGGBB": how fixes, reports and buttons name a background colour."""
    rgb = clamp_colour(colour)
    return {WHITE: "white", BLACK: "black"}.get(rgb, "#{:02X}{:02X}{:02X}".format(*rgb))


def parse_transparency(text: str) -> tuple[str, tuple[int, int, int]]:
    """ "keep", "white", "black" or "#RRGGBB" (a command line's words) as (transparency, background).

    Raises ValueError with a sentence a person can act on."""
    word = str(text).strip().lower()
    if word in ("keep", "kept"):
        return KEEP_ALPHA, WHITE
    named = {"white": WHITE, "black": BLACK}
    if word in named:
        return FLATTEN, named[word]
    hexa = word.removeprefix("#")
    if len(hexa) == 6 and all(c in "0123456789abcdef" for c in hexa):
        return FLATTEN, (int(hexa[0:2], 16), int(hexa[2:4], 16), int(hexa[4:6], 16))
    raise ValueError(f"“{text}” is not a transparency choice: use keep, white, black or a colour like #336699.")


def recorded_transparency(options: object) -> tuple[str, tuple[int, int, int]]:
    """A dataset's transparency choice from its manifest's ``options`` (which may have been edited by hand):
    (FLATTEN or KEEP_ALPHA, background). A dataset imported before the choice existed flattened onto its
    ``background``, so that is what a missing choice means."""
    options = options if isinstance(options, dict) else {}
    mode = options.get("transparency")
    return (mode if mode in TRANSPARENCY_CHOICES else FLATTEN), clamp_colour(options.get("background"))


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
