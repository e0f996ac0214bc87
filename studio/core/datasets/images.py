"""Images: turn one source file into a clean RGB item (RGBA where transparency is kept), or say in plain words why
it cannot be used.

The pipeline for one file (``normalize``), each step a small function below:

1. **Open lazily** (``Image.open`` reads only the header) and refuse a header that claims more than
   ``options.max_image_pixels`` pixels *before* any pixel is decoded: a 50 KB PNG can claim 100,000 ×
   100,000 pixels (30 GB of RGB). Pillow's own decompression-bomb error and warning are caught as a refusal
   too, with warnings turned into errors only inside this call (``warnings.catch_warnings``); so a
   ``max_image_pixels`` above Pillow's own limit (about 89 megapixels) is in effect capped at it.
   Every picture format Pillow can open is accepted (``picture_formats``: TGA, PCX, PGM, JPEG 2000, ICO,
   PSD…) except those that are not pictures a designer means or that cannot be decoded here, and only those
   formats are tried, so a hostile file named ``.png`` is never handed to a plugin such as EPS (which would
   start Ghostscript). TGA, which has no signature, is tried only for a file named like one.
   Then the memory the whole pipeline will need is **estimated from the header** (``decode_estimate``:
   the file's bytes, plus width × height × what Pillow stores per pixel in that mode and in the copies the
   steps below make) and a file over ``options.max_decode_bytes`` is refused with the estimate, again
   before decoding. Under the pixel guard a 16-bit or float picture used to take 2.1 GB: the estimate and
   the band-wise conversion below keep any picture under the budget.
2. **Decode every pixel** (``load``): this is what finds truncated and damaged files. Truncated files are
   refused, never padded: ``ImageFile.LOAD_TRUNCATED_IMAGES`` is left alone, it is global.
3. **Make it RGB**: transparency is flattened onto ``options.background`` (named in the fix: "transparency
   flattened onto white"), or, with ``options.transparency == KEEP_ALPHA``, kept: the item is an RGBA PNG and
   the image cache composites it onto the dataset's background when it is built, so that colour can still be
   changed without importing again. ``meta["transparency"]`` records which ("kept" or the colour, "#FFFFFF")
   for every picture that really has transparent pixels, so the Health tab's transparency fix finds them.
   CMYK, 16-bit, palette and grayscale pictures are converted (16-bit and 32-bit ones in bands of rows, so no
   float copy of the whole picture is made). Every change is named in ``fixes`` for the health report.
4. **Apply EXIF orientation** (read before the conversion, applied after it, so the extra copy a rotation
   makes is an 8-bit one), so a phone photo stands the way it was shot.
5. **Hash** the decoded pixels at their original size (``dedupe_key``: the same picture saved as PNG and
   as BMP is one item) and compute a 64-bit DCT perceptual hash (``meta["phash"]``: near-duplicates).
6. **Store**: a plain RGB JPEG or PNG (or an RGBA PNG whose transparency is kept) that needed no change
   keeps its *original bytes* (status OK).
   Re-encoding it would cost more time than all the checks above and could only lose quality or grow the
   file. Anything else is stored as a fast, lightly compressed RGB PNG, downscaled with Lanczos so its
   longer side is at most ``options.max_item_side`` (status FIXED).

``normalize`` never raises for bad input and never touches the file system (see ``base.py``). Its
``catch_warnings`` scope (silence Pillow's remarks on damaged files, turn its decompression-bomb warning into
an error) changes the process-wide warning filters until it returns. The importer runs ``normalize`` in
worker processes or on one job thread, where that is safe; Python's ``catch_warnings`` is not meant for
several threads at once, so do not call ``normalize`` from a thread pool.

The pure helpers at the end serve the importer and its report: ``hamming``, ``find_near_duplicates``,
``label_from_path`` and ``image_stats``.
"""

from __future__ import annotations

import functools
import io
import warnings
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import xxhash
from PIL import Image, ImageFile, features

from studio.core.datasets.base import (
    FIXED,
    KEEP_ALPHA,
    OK,
    WHITE,
    ImportOptions,
    Normalized,
    clamp_colour,
    colour_name,
    format_bytes,
)

# The JPEG opener also returns "MPO" images: JPEGs that carry extra pictures (many phone and 3-D cameras
# write those); every reader sees a JPEG, so they pass through.
_PASSTHROUGH_SUFFIX = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png"}

# Formats Pillow opens that are left out, and why. Stub plugins (WMF, HDF5, GRIB, BUFR) are left out too:
# Pillow reads their header but needs a handler the studio never installs, so no pixel could be decoded.
_LEFT_OUT = {
    "EPS": "PostScript: Pillow draws it by running Ghostscript, an outside program, on the file",
    "MPEG": "a video: Pillow reads its header but cannot decode a frame",
    "FITS": "astronomical measurements, not a picture",
    "IPTC": "a news agency's metadata record, not a picture",
}
_FIRST = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")  # tried first, in the order the studio always tried them
_CODEC = {"JPEG": "jpg", "JPEG2000": "jpg_2000", "WEBP": "webp", "AVIF": "avif"}  # a library Pillow may lack
_OPENED_AS = {"MPO": "JPEG"}  # a suffix whose format Pillow opens through another format's opener
_NAMED_ONLY = {"TGA"}  # no signature: a few header bytes decide, so random bytes could pass for one

NOT_AN_IMAGE = "not an image file (the contents are not a picture)"
FLATTENED = "transparency flattened onto"  # how every flattening fix begins: "… onto white", "… onto #336699"
KEPT = "kept"  # meta["transparency"] of a picture stored with its alpha
DAMAGED = "truncated or damaged image"

_ORIENTATION_TAG = 0x0112
# EXIF orientation value -> the transpose that makes the picture stand upright (values 2–8; 1 = upright).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}
_MODE_NAMES = {
    "RGBA": "RGBA",
    "RGBa": "RGBA",
    "LA": "grayscale",
    "La": "grayscale",
    "PA": "palette",
    "P": "palette",
    "L": "grayscale",
    "1": "black-and-white",
    "CMYK": "CMYK",
    "YCbCr": "YCbCr",
    "LAB": "Lab",
    "HSV": "HSV",
    "F": "floating-point grayscale",
    "RGB": "RGB",
    "I;16": "16-bit grayscale",
    "I;16L": "16-bit grayscale",
    "I;16B": "16-bit grayscale",
    "I;16N": "16-bit grayscale",
    "I": "32-bit grayscale",
}

_BAND_BYTES = 4 << 20  # 16/32-bit pictures are converted in float64 bands of about this size
_KEY_BAND_BYTES = 256 << 10  # pixels are hashed in bands of about this size (see pixel_key)
_RGB_PIXEL = 4  # Pillow stores an RGB pixel in 4 bytes (padded), like every other multi-band mode
# Decoders that hold their own copy of the pixels while Pillow copies them out, in bytes per pixel: libwebp an
# RGBA buffer; libavif its YUV planes (3 bytes for 8-bit 4:4:4) and an RGBA buffer; OpenJPEG about 5 bytes per
# band (its int32 planes and more). Measured: see decode_estimate.
_DECODER_BUFFER = {"WEBP": 4, "AVIF": 7}
_DECODER_BUFFER_PER_BAND = {"JPEG2000": 5}
_PNG_COMPRESS_LEVEL = 1  # zlib level 1: about 5× faster than the default 6 for a few % larger items


class _Unusable(Exception):
    """Raised inside the pipeline with the reason the user will read."""


# -- which files are pictures ---------------------------------------------------------------------------------------
@functools.cache
def picture_formats() -> tuple[str, ...]:
    """Pillow format names the studio opens, in the order they are tried.

    Derived from Pillow's registry: every format it can open (``Image.OPEN``) that has a file suffix, minus
    stub plugins, ``_LEFT_OUT`` and formats whose library this Pillow lacks (``features.check``). The usual
    six come first, as before; the rest follow in Pillow's own order.
    """
    Image.init()
    named = set(Image.registered_extensions().values())
    usable = [
        fmt
        for fmt in Image.ID
        if fmt in named
        and fmt not in _LEFT_OUT
        and not _is_stub(Image.OPEN[fmt][0])
        and (fmt not in _CODEC or features.check(_CODEC[fmt]))
    ]
    return tuple(f for f in _FIRST if f in usable) + tuple(f for f in usable if f not in _FIRST)


def _is_stub(factory: object) -> bool:
    return isinstance(factory, type) and issubclass(factory, ImageFile.StubImageFile)


@functools.cache
def picture_suffixes() -> frozenset[str]:
    """Lower-case suffixes of every format in ``picture_formats`` (".tga", ".pgm", ".jp2", ".ico", ".mpo"…).

    The one list the importer, the drop overlay and the file dialogs read (as ``SUFFIXES``)."""
    formats = set(picture_formats())
    return frozenset(
        suffix.lower()
        for suffix, fmt in Image.registered_extensions().items()
        if fmt in formats or _OPENED_AS.get(fmt) in formats
    )


def __getattr__(name: str) -> frozenset[str]:
    """``SUFFIXES`` is computed on first use: reading Pillow's registry imports all of its ~45 plugins, 35–60 ms
    (measured on this project's 2-core VM) that the window's start-up would otherwise pay for a list it needs
    only when something is dropped or imported."""
    if name == "SUFFIXES":
        return picture_suffixes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.lru_cache(maxsize=64)  # bounded: an archive's file names may carry any number of odd suffixes
def _formats_for(suffix: str) -> tuple[str, ...]:
    """The formats to try for a file with this suffix: a format without a signature only when the suffix is its own."""
    own = {fmt for s, fmt in Image.registered_extensions().items() if s.lower() == suffix}
    return tuple(f for f in picture_formats() if f not in _NAMED_ONLY or f in own)


def _suffix(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/")).suffix.lower()


# -- normalize: one file in, one Normalized out ---------------------------------------------------------------------
def normalize(data: bytes, name: str, options: ImportOptions) -> Normalized:
    """Check and clean one image file (see the module docstring). The contents decide what a file is; ``name``
    only lets a format without a signature (TGA) be tried."""
    if not data:
        return Normalized.skipped("empty file")
    with warnings.catch_warnings():
        # Pillow's remarks on damaged files ("Corrupt EXIF data") would only be noise in the log: the
        # result already says what is wrong. The decompression-bomb warning is a refusal.
        warnings.filterwarnings("ignore", category=UserWarning, module="PIL")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return _guarded(data, _formats_for(_suffix(name)), options)


def _guarded(data: bytes, formats: tuple[str, ...], options: ImportOptions) -> Normalized:
    """Run the pipeline and turn every failure into a reason a designer understands."""
    try:
        return _normalize(data, formats, options)
    except _Unusable as exc:
        return Normalized.skipped(str(exc))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return Normalized.skipped(too_large_reason(_claimed_size(data, formats)))
    except Image.UnidentifiedImageError:
        return Normalized.skipped(NOT_AN_IMAGE)
    except MemoryError:
        return Normalized.skipped("image too large to decode on this computer")
    except Exception:  # noqa: BLE001 - any decoder failure on hostile bytes means the same to the user
        return Normalized.skipped(DAMAGED)


def _normalize(data: bytes, formats: tuple[str, ...], options: ImportOptions) -> Normalized:
    """The pipeline; a clean JPEG/PNG returns ``data`` itself as the payload (no copy, no re-encode).

    Each step rebinds ``image``, so the previous picture is freed as soon as the next one exists: at most
    two full-size pictures are alive at once, which is what ``decode_estimate`` counts.
    """
    image = _open_checked(data, formats, options)
    source_format, source_mode = image.format or "?", image.mode
    fixes = ["first frame of an animation kept"] if _is_animated(image) else []
    image.load()  # every pixel: raises on truncated or damaged data
    orientation = _orientation(image)
    background = _background(options.background)
    image, converted = to_rgb(image, background, keep_alpha=options.transparency == KEEP_ALPHA)
    image, turned = _upright(image, orientation)
    fixes += turned + converted
    width, height = image.size
    meta = {"width": width, "height": height, "format": source_format, "mode": source_mode, "phash": phash(image)}
    transparency = transparency_record(image, converted, background)
    if transparency:
        meta["transparency"] = transparency
    flags = [f"smaller than {options.resolution} px"] if min(width, height) < options.resolution else []
    common: dict[str, Any] = {"flags": flags, "dedupe_key": pixel_key(image), "meta": meta}
    if not fixes and source_format in _PASSTHROUGH_SUFFIX and max(width, height) <= options.max_item_side:
        return Normalized(OK, payload=data, suffix=_PASSTHROUGH_SUFFIX[source_format], **common)
    image, resized = _fit(image, options.max_item_side)
    fixes += resized or ([] if fixes else ["converted to PNG"])
    return Normalized(FIXED, fixes=fixes, payload=encode_png(image), suffix=".png", **common)


def _open_checked(data: bytes, formats: tuple[str, ...], options: ImportOptions) -> Image.Image:
    """Open lazily (header only) and refuse a picture whose header claims too many pixels, or whose
    decoding would need more memory than ``options.max_decode_bytes``."""
    image = Image.open(io.BytesIO(data), formats=formats)
    if image.width * image.height > options.max_image_pixels:
        raise _Unusable(too_large_reason(image.size))
    estimate = decode_estimate(image, len(data))
    if estimate > options.max_decode_bytes:
        raise _Unusable(too_large_to_decode_reason(image, len(data), estimate, options.max_decode_bytes))
    return image


def _pixel_bytes(mode: str) -> int:
    """Bytes Pillow stores per pixel: 1 for L/P/1, 2 for 16-bit, 4 for 32-bit and for every multi-band mode."""
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in _ALPHA_MODES or "transparency" in image.info


def _bytes_per_pixel(image: Image.Image) -> int:
    """Peak bytes per pixel of the pipeline, from the mode alone (no pixel is decoded).

    The decoded picture stays alive while ``to_rgb`` makes its RGB copy (plus, for transparency, an RGBA
    copy and the alpha band; for 16/32-bit, an 8-bit band); after that the RGB picture and its rotated copy.
    """
    decoder = _DECODER_BUFFER.get(image.format or "", 0)
    decoder += _DECODER_BUFFER_PER_BAND.get(image.format or "", 0) * len(image.getbands())
    source = _pixel_bytes(image.mode) + decoder
    if _has_alpha(image):
        conversion = (0 if image.mode == "RGBA" else _RGB_PIXEL) + 1 + _RGB_PIXEL
    elif image.mode in _SIXTEEN_BIT_MODES or image.mode == "F":  # through an 8-bit grayscale copy
        conversion = 1 + _RGB_PIXEL
    elif image.mode == "RGB":
        conversion = 0
    else:
        conversion = _RGB_PIXEL
    return max(source + conversion, 2 * _RGB_PIXEL)


def decode_estimate(image: Image.Image, file_bytes: int) -> int:
    """Bytes the pipeline will hold at its peak for a lazily opened ``image`` read from ``file_bytes``.

    Measured growth of a fresh process normalizing 8000×8000 pictures (the file already in memory), with
    this estimate's pixel part in brackets: RGB PNG 330 MiB (488), 16-bit grayscale PNG 431 (488; 2,078
    before the band-wise conversion), 32-bit integer TIFF 559 (545; 2,210 before), RGBA PNG 552 (549; 796
    before the RGBA copy was dropped), float TIFF 555 (549), CMYK TIFF 494 (488). At 4000×4000 (pixel part of
    the estimate before the decoder buffers were counted, then now): JPEG 2000 RGB 296 MiB (122, now 290),
    grayscale 95 (122, now 153), RGBA 374 (137, now 443); 8-bit AVIF RGB 4:4:4 169 (122, now 168), 4:2:0 143,
    RGBA 195 (137, now 244); TGA, PCX, PPM, SGI, QOI RGB 83–107 (122); TGA and DDS RGBA 138 (137); 16-bit
    PGM 146 (137). Deeper AVIF pictures were not measured (Pillow cannot write them).
    """
    return file_bytes + image.width * image.height * _bytes_per_pixel(image)


def too_large_to_decode_reason(image: Image.Image, file_bytes: int, estimate: int, budget: int) -> str:
    """The reason for a picture whose decoding would cost more than the budget, with what would fit."""
    fits = max(0, budget - file_bytes) // _bytes_per_pixel(image)
    return (
        f"image too large to decode safely ({image.width}×{image.height} {_MODE_NAMES.get(image.mode, image.mode)}"
        f" pixels need about {format_bytes(estimate)} of memory); scale it down below "
        f"{max(fits // 1_000_000, 1)} megapixels"
    )


def too_large_reason(size: tuple[int, int] | None) -> str:
    """The reason for a decompression bomb (or just a huge scan), with the size its header claims."""
    return f"image too large: {size[0]}×{size[1]} pixels" if size else "image too large"


def _claimed_size(data: bytes, formats: tuple[str, ...]) -> tuple[int, int] | None:
    """The size in the header when Pillow itself refused to open the file as a decompression bomb.

    Pillow raises before it returns the image, so the size is read again by constructing the format's
    image class directly (which parses the header only). Best effort: None when that fails too.
    """
    prefix = data[:16]
    for fmt in formats:
        factory, accept = Image.OPEN.get(fmt, (None, None))
        try:
            accepted = accept is None or accept(prefix)
            if factory is not None and accepted and not isinstance(accepted, str):
                return factory(io.BytesIO(data), "").size
        except Exception:  # noqa: BLE001 - a header we cannot parse just gives the generic reason
            continue
    return None


def _is_animated(image: Image.Image) -> bool:
    """True for GIF, WebP, APNG or multi-page TIFF with more than one frame (only the first is kept).

    An MPO file is a JPEG whose extra pictures are previews or depth maps, not frames; a PSD file's first
    frame is the whole flattened picture and the others its layers: neither is animated.
    """
    if image.format in ("MPO", "PSD"):
        return False
    try:
        return bool(getattr(image, "is_animated", False))
    except Exception:  # noqa: BLE001 - a broken later frame: the first frame is still decoded and checked
        return False


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation tag (1 = upright). A tag we cannot read counts as upright: the picture is fine.

    Read from the opened file, before any conversion: a converted copy no longer carries a TIFF's tags.
    """
    try:
        return int(image.getexif().get(_ORIENTATION_TAG, 1))
    except Exception:  # noqa: BLE001 - broken EXIF must not cost the user a good picture
        return 1


def _upright(image: Image.Image, orientation: int) -> tuple[Image.Image, list[str]]:
    """Apply the EXIF orientation read by ``_orientation``."""
    if orientation not in _UPRIGHT:
        return image, []
    return image.transpose(_UPRIGHT[orientation]), ["EXIF orientation applied"]


def _background(colour: Iterable[int]) -> tuple[int, int, int]:
    """The options travel through JSON (a list) and a user may type anything: clamp to an RGB triple."""
    return clamp_colour(colour)


def transparency_record(image: Image.Image, fixes: list[str], background: tuple[int, int, int]) -> str | None:
    """``meta["transparency"]`` of a normalized picture: "kept" (stored RGBA), the colour it was flattened onto
    ("#FFFFFF"), or None for a picture without transparent pixels."""
    if image.mode == "RGBA":
        return KEPT
    if any(f.startswith(FLATTENED) for f in fixes):
        return "#{:02X}{:02X}{:02X}".format(*background)
    return None


# -- colour: everything becomes 8-bit RGB --------------------------------------------------------------------------
def to_rgb(
    image: Image.Image, background: tuple[int, int, int], keep_alpha: bool = False
) -> tuple[Image.Image, list[str]]:
    """8-bit RGB, transparency flattened onto ``background``; the fix names the conversion. With ``keep_alpha``
    a picture that has transparent pixels becomes 8-bit RGBA instead (the only mode other than RGB it returns)."""
    mode = image.mode
    if mode in _SIXTEEN_BIT_MODES:
        return _sixteen_bit_to_rgb(image), ["16-bit grayscale converted to RGB"]
    if mode in _ALPHA_MODES or "transparency" in image.info:
        return _flatten(image, background, mode, keep_alpha)
    if mode == "RGB":
        return image, []
    try:
        return image.convert("RGB"), [f"{_MODE_NAMES.get(mode, mode)} converted to RGB"]
    except ValueError:
        raise _Unusable(f"unsupported colour format ({mode})") from None


def _flatten(
    image: Image.Image, background: tuple[int, int, int], mode: str, keep_alpha: bool = False
) -> tuple[Image.Image, list[str]]:
    """Composite onto the background: the models train on RGB, and black behind a logo is rarely meant. The fix
    names the colour, so the report says what the transparent pixels became.

    A picture whose alpha is 255 everywhere only loses an unused channel, and the report says just that.
    An RGBA picture is used as it is (``convert`` would copy it whole). With ``keep_alpha`` a picture with
    transparent pixels stays (or becomes) RGBA: keeping is no change for an RGBA picture, so only a conversion
    from another mode (palette, grayscale with alpha, a transparent colour key) is named.
    """
    rgba = image if image.mode == "RGBA" else image.convert("RGBA")
    alpha = rgba.getchannel("A")
    if alpha.getextrema()[0] == 255:
        return rgba.convert("RGB"), [f"{_MODE_NAMES.get(mode, mode)} converted to RGB"]
    if keep_alpha:
        return rgba, [] if mode == "RGBA" else [f"{_MODE_NAMES.get(mode, mode)} converted to RGBA"]
    return flatten_rgba(rgba, background, alpha), [f"{FLATTENED} {colour_name(background)}"]


def flatten_rgba(rgba: Image.Image, background: tuple[int, int, int], alpha: Image.Image | None = None) -> Image.Image:
    """An RGBA picture composited onto ``background`` (RGB): the one compositing step of the import, the
    transparency fix and, through :func:`studio.core.datasets.image_cache.load_square`, the cache."""
    flat = Image.new("RGB", rgba.size, background)
    flat.paste(rgba, mask=alpha if alpha is not None else rgba.getchannel("A"))
    return flat


def _sixteen_bit_to_rgb(image: Image.Image) -> Image.Image:
    """16-bit (or 32-bit integer) grayscale to 8-bit RGB.

    I;16 uses the full 0–65535 range, so it maps linearly to 0–255. Mode "I" is ambiguous: Pillow also uses
    it for 8-bit values widened to 32 bits, so values that all fit in 0–255 are kept as they are, values
    within 0–65535 are scaled as 16-bit, and anything else is stretched from its own minimum to maximum.

    Two passes over bands of rows (minimum and maximum, then the 8-bit values): a float64 copy of the whole
    picture was 8 bytes per pixel, 2.1 GB at 64 megapixels; now only the 8-bit result is whole-size.
    """
    width, height = image.size
    rows = max(1, _BAND_BYTES // max(1, width * 8))
    bands = [(top, min(height, top + rows)) for top in range(0, height, rows)]

    def band(top: int, bottom: int) -> np.ndarray:
        return np.asarray(image.crop((0, top, width, bottom))).astype(np.float64)

    low, high = 0.0, 0.0
    if width and height:
        extremes = [(float(v.min()), float(v.max())) for v in (band(t, b) for t, b in bands)]
        low, high = min(e[0] for e in extremes), max(e[1] for e in extremes)
    gray = np.empty((height, width), np.uint8)
    for top, bottom in bands:
        values = band(top, bottom)
        if image.mode == "I" and low >= 0 and high <= 255:
            eight = values
        elif low >= 0 and high <= 65535:
            eight = values / 257.0
        else:
            eight = (values - low) / max(high - low, 1.0) * 255.0
        gray[top:bottom] = np.clip(np.rint(eight), 0, 255)
    return Image.fromarray(gray).convert("RGB")


# -- what gets stored ------------------------------------------------------------------------------------------------
def _fit(image: Image.Image, max_side: int) -> tuple[Image.Image, list[str]]:
    """Downscale so the longer side is at most ``max_side`` (Lanczos: sharp, no ringing worth noticing).

    ``reducing_gap`` lets Pillow box-reduce a very large picture by an integer factor first and run Lanczos
    on the rest: several times faster on camera-sized photos and indistinguishable at the result's size.
    """
    width, height = image.size
    longest = max(width, height)
    if longest <= max_side or max_side < 1:
        return image, []
    scale = max_side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0), [f"downscaled from {width}×{height}"]


def encode_png(image: Image.Image) -> bytes:
    """A lightly compressed PNG: import speed matters more than a few percent of disk."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=_PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def pixel_key(image: Image.Image) -> str:
    """A 128-bit hash of the size and the decoded pixels: equal keys mean the same picture in any container.

    XXH3 (not sha256): the key only has to tell pictures apart, not resist forgery, and it hashes a
    1024×768 picture in 0.07 ms instead of 1.6 ms, a fifth of the whole import's time per picture.
    The pixels are hashed in horizontal bands of about 256 KB (the hash streams, so the key is the same as
    hashing them whole). Small bands are what makes it fast: ``tobytes`` of a whole 1024×1024 picture built a
    3 MB bytes object from 64 KB pieces, and with its page faults that took 4.1 ms of CPU per picture; 256 KB
    bands take 0.84 ms (1 MB bands 0.81, 64 KB bands 1.0: measured on this project's 2-core VM, process time).
    """

    width, height = image.size
    digest = xxhash.xxh3_128(f"{image.mode} {width}x{height}:".encode())
    rows = max(1, _KEY_BAND_BYTES // max(1, width * len(image.getbands())))
    for top in range(0, height, rows):
        band = image if rows >= height else image.crop((0, top, width, min(height, top + rows)))
        digest.update(band.tobytes())
    return "xxh3:" + digest.hexdigest()


# -- perceptual hash -------------------------------------------------------------------------------------------------
_HASH_SIDE = 32  # pHash looks at a 32×32 grayscale thumbnail …
_HASH_KEEP = 8  # … and keeps its 8×8 lowest spatial frequencies: 64 bits


def _dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II matrix: ``D @ x`` is the DCT of a column, ``D @ X @ D.T`` the 2-D DCT."""
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    matrix = np.cos(np.pi * (2 * x + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    matrix[0] /= np.sqrt(2.0)
    return matrix


_DCT = _dct_matrix(_HASH_SIDE)


def phash(image: Image.Image) -> str:
    """64-bit DCT perceptual hash as 16 hex digits: brightness, resizing and recompression flip few bits.

    Bit i is set when low-frequency coefficient i (row-major in the top-left 8×8) exceeds the median of
    the 63 coefficients other than DC; DC only says how bright the picture is, and would skew the median.

    The thumbnail comes from the already decoded picture (``reducing_gap`` makes it a box reduction plus a
    small bilinear step): 0.5 ms for 1024×768. Re-opening a JPEG with ``Image.draft`` to decode it at 1/8
    scale measured 1.0 ms, since the full decode is needed anyway for the exact-duplicate key.
    """
    small = image.resize((_HASH_SIDE, _HASH_SIDE), Image.Resampling.BILINEAR, reducing_gap=2.0)
    if small.mode == "RGBA":  # kept transparency: hashed as seen on white, so keeping or flattening look alike
        small = flatten_rgba(small, WHITE)
    small = small.convert("L")
    coefficients = _DCT @ np.asarray(small, dtype=np.float64) @ _DCT.T
    low = coefficients[:_HASH_KEEP, :_HASH_KEEP].ravel()
    bits = low > np.median(low[1:])
    return np.packbits(bits).tobytes().hex()


# -- near-duplicates -------------------------------------------------------------------------------------------------
def hamming(a_hex: str, b_hex: str) -> int:
    """Number of differing bits between two hex hashes."""
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()


def _popcount_table() -> np.ndarray:
    return np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


_POPCOUNT8 = _popcount_table()


def _popcount(values: np.ndarray) -> np.ndarray:
    """Set bits per uint64 as uint8 (numpy ≥ 2 has it built in; numpy 1.26 uses a byte table)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(values)
    as_bytes = values.view(np.uint8).reshape(*values.shape, 8)
    return _POPCOUNT8[as_bytes].sum(axis=-1, dtype=np.uint8)


def _parse_hashes(phashes: list[tuple[str, str]]) -> tuple[list[str], np.ndarray]:
    """Ids and uint64 hashes; an entry whose hash is missing or not 64-bit hex is left out."""
    ids, values = [], []
    for item_id, text in phashes:
        try:
            value = int(text, 16)
        except (TypeError, ValueError):
            continue
        if 0 <= value < 1 << 64:
            ids.append(item_id)
            values.append(value)
    return ids, np.array(values, dtype=np.uint64)


def find_near_duplicates(
    phashes: list[tuple[str, str]], max_distance: int, block: int = 256
) -> list[tuple[str, str, int]]:
    """(later_id, earlier_id, distance) for each item within ``max_distance`` bits of an earlier item.

    ``phashes`` is (item_id, phash) in import order. Each later item is reported once, against its closest
    earlier item (the earliest one on a tie), in input order.

    Every pair is compared, vectorized: ``block`` later items at a time are XORed with all earlier hashes
    and the bits counted (a 256 × n uint64 scratch, 40 MB at n = 20,000). That is n²/2 comparisons, about
    0.6 s for 20,000 hashes on one core, and its cost does not depend on how the hashes cluster, unlike
    bucketing schemes that slow to a crawl on a folder of similar pictures (logos on white).
    """
    ids, values = _parse_hashes(phashes)
    if max_distance < 0 or len(values) < 2:
        return []
    later_of_block = np.triu(np.ones((block, block), dtype=bool))  # column j ≥ row i: not an earlier item
    found: list[tuple[str, str, int]] = []
    for start in range(0, len(values), block):
        stop = min(len(values), start + block)
        rows = np.arange(stop - start)
        distances = _popcount(values[start:stop, None] ^ values[None, :stop])
        distances[:, start:stop][later_of_block[: len(rows), : len(rows)]] = 255
        closest = distances.argmin(axis=1)  # argmin returns the first minimum: the earliest on a tie
        best = distances[rows, closest]
        for row in np.flatnonzero(best <= max_distance):
            found.append((ids[start + row], ids[closest[row]], int(best[row])))
    return found


# -- labels and statistics -------------------------------------------------------------------------------------------
def label_from_path(relative_path: str) -> str | None:
    """Class label = the folder the file sits in: ``logos/round/a.png`` → ``round``; None at the root.

    Designers sort pictures into folders by class, so the immediate parent is the label ("cats/", "dogs/").
    Backslashes are read as separators too, for paths written on Windows.
    """
    parent = PurePosixPath(relative_path.replace("\\", "/")).parent
    return parent.name or None


RESOLUTION_BUCKETS = (
    (64, "<64"),
    (128, "64–127"),
    (256, "128–255"),
    (512, "256–511"),
    (1024, "512–1023"),
    (None, "≥1024"),
)
SQUARE_TOLERANCE = 0.05  # within 5 % of 1:1 counts as square


def resolution_bucket(short_side: int) -> str:
    """The histogram bucket of a picture's shorter side."""
    return next(name for limit, name in RESOLUTION_BUCKETS if limit is None or short_side < limit)


def aspect_class(width: int, height: int) -> str:
    """ "portrait", "square" (longer side at most 5 % longer than the shorter) or "landscape"."""
    if max(width, height) <= min(width, height) * (1.0 + SQUARE_TOLERANCE):
        return "square"
    return "landscape" if width > height else "portrait"


def image_stats(metas: list[dict]) -> dict:
    """Count, shorter-side histogram and aspect histogram of the usable images, for the import report.

    Every bucket is present (zero or not) and in size order, so the report draws a stable chart. Metas
    without a positive width and height are not counted.
    """
    resolution = {name: 0 for _, name in RESOLUTION_BUCKETS}
    aspect = {"portrait": 0, "square": 0, "landscape": 0}
    count = 0
    for meta in metas:
        width, height = meta.get("width"), meta.get("height")
        if not isinstance(width, int) or not isinstance(height, int) or width <= 0 or height <= 0:
            continue
        count += 1
        resolution[resolution_bucket(min(width, height))] += 1
        aspect[aspect_class(width, height)] += 1
    return {"count": count, "resolution": resolution, "aspect": aspect}
