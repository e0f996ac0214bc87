"""Images: turn one source file into a clean RGB item, or say in plain words why it cannot be used.

Pipeline for one file: open lazily and check the pixel count against the decompression-bomb limit
*before* decoding; decode fully (this is what catches truncated files); apply EXIF orientation; flatten
transparency onto the chosen background; convert CMYK / 16-bit / palette / grayscale to RGB; hash the
decoded pixels (exact duplicates whatever the container) and compute a perceptual hash (near-duplicates).

A plain RGB JPEG or PNG that needs none of that keeps its original bytes as the stored item: re-encoding
would cost more time than the whole check and could only lose quality.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import PurePosixPath

import numpy as np
from PIL import Image, ImageOps

from studio.core.datasets.base import FIXED, OK, ImportOptions, Normalized

SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})
_PASSTHROUGH_FORMATS = {"JPEG": ".jpg", "PNG": ".png"}
_ORIENTATION = 0x0112  # EXIF tag
_HASH_SIDE = 32  # pHash works on a 32×32 grayscale image …
_HASH_KEEP = 8  # … and keeps the 8×8 lowest DCT frequencies


def normalize(data: bytes, name: str, options: ImportOptions) -> Normalized:
    if not data:
        return Normalized.skipped("empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _normalize(data, options)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return Normalized.skipped(_too_large(options))
    except Image.UnidentifiedImageError:
        return Normalized.skipped("not an image file (the contents are not a picture)")
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        text = str(exc).lower()
        if "truncated" in text or "broken data stream" in text or "unexpected end" in text or isinstance(exc, EOFError):
            return Normalized.skipped("truncated or damaged image")
        return Normalized.skipped(f"damaged image ({exc})")


def _normalize(data: bytes, options: ImportOptions) -> Normalized:
    image = Image.open(io.BytesIO(data))
    width, height = image.size
    if width * height > options.max_image_pixels:
        return Normalized.skipped(_too_large(options))
    source_format, source_mode = image.format or "?", image.mode
    image.load()  # full decode: raises on truncated or corrupt data
    fixes: list[str] = []
    if image.getexif().get(_ORIENTATION, 1) not in (0, 1):
        image = ImageOps.exif_transpose(image)
        fixes.append("EXIF orientation applied")
    image, converted = _to_rgb(image, options.background)
    fixes.extend(converted)
    width, height = image.size
    digest = hashlib.sha256(f"{width}x{height}:".encode())
    digest.update(image.tobytes())  # decoded pixels: the same picture in any container hashes the same
    dedupe_key = digest.hexdigest()
    meta = {"width": width, "height": height, "format": source_format, "mode": source_mode,
            "phash": phash(image)}
    flags = [f"smaller than {options.resolution} px"] if min(width, height) < options.resolution else []
    longest = max(width, height)
    if not fixes and source_format in _PASSTHROUGH_FORMATS and longest <= options.max_item_side:
        return Normalized(OK, flags=flags, payload=data, suffix=_PASSTHROUGH_FORMATS[source_format],
                          dedupe_key=dedupe_key, meta=meta)
    if longest > options.max_item_side:
        scale = options.max_item_side / longest
        image = image.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.LANCZOS)
        fixes.append(f"downscaled from {width}×{height}")
    elif not fixes:
        fixes.append("converted to PNG")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return Normalized(FIXED, fixes=fixes, flags=flags, payload=buffer.getvalue(), suffix=".png",
                      dedupe_key=dedupe_key, meta=meta)


def _too_large(options: ImportOptions) -> str:
    """One reason for every oversized picture, so the report groups them (a decompression-bomb guard)."""
    return f"image too large (over {options.max_image_pixels // 1_000_000} million pixels)"


def _to_rgb(image: Image.Image, background: tuple[int, int, int]) -> tuple[Image.Image, list[str]]:
    """RGB on the chosen background, with the conversion named for the health report."""
    mode = image.mode
    if mode == "RGB":
        return image, []
    has_alpha = mode in ("RGBA", "LA", "RGBa", "La", "PA") or (mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", image.size, tuple(background))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat, ["transparency flattened onto background"]
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        top = array.max() if array.max() > 255 else 255.0
        eight = Image.fromarray(np.clip(array / max(top, 1) * 255, 0, 255).astype(np.uint8), "L")
        return eight.convert("RGB"), ["16-bit converted to 8-bit RGB"]
    names = {"CMYK": "CMYK", "P": "palette", "L": "grayscale", "1": "black-and-white", "YCbCr": "YCbCr",
             "LAB": "Lab", "HSV": "HSV", "F": "floating-point"}
    return image.convert("RGB"), [f"{names.get(mode, mode)} converted to RGB"]


# -- perceptual hash and near-duplicates ----------------------------------------------------------------------
def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    matrix = np.cos(np.pi * (2 * x + 1) * k / (2 * n)) * np.sqrt(2 / n)
    matrix[0] /= np.sqrt(2)
    return matrix


_DCT = _dct_matrix(_HASH_SIDE)


def phash(image: Image.Image) -> str:
    """64-bit DCT perceptual hash (16 hex digits): similar pictures differ in few bits."""
    # Shrink first (reducing_gap lets Pillow box-reduce in one fast pass), then go grayscale.
    small = image.resize((_HASH_SIDE, _HASH_SIDE), Image.Resampling.BILINEAR, reducing_gap=2.0).convert("L")
    coefficients = _DCT @ np.asarray(small, dtype=np.float64) @ _DCT.T
    low = coefficients[:_HASH_KEEP, :_HASH_KEEP].flatten()
    bits = low > np.median(low[1:])
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"


def hamming(a_hex: str, b_hex: str) -> int:
    return bin(int(a_hex, 16) ^ int(b_hex, 16)).count("1")


def find_near_duplicates(phashes: list[tuple[str, str]], max_distance: int) -> list[tuple[str, str, int]]:
    """(later_id, earlier_id, distance) for each item within ``max_distance`` bits of an earlier one.

    Multi-index hashing: split the 64 bits into ``max_distance + 1`` segments; two hashes that differ in
    at most ``max_distance`` bits agree exactly on at least one segment (pigeonhole), so only items sharing
    a segment value are compared. 20,000 hashes take well under a second instead of 2×10⁸ comparisons.
    """
    values = [int(h, 16) for _, h in phashes]
    segments = max(1, max_distance + 1)
    bounds = [round(64 * k / segments) for k in range(segments + 1)]
    best: dict[int, tuple[int, int]] = {}  # later index -> (distance, earlier index)
    first_with_value: dict[int, int] = {}
    unique: list[int] = []
    for index, value in enumerate(values):
        if value in first_with_value:
            best[index] = (0, first_with_value[value])
        else:
            first_with_value[value] = index
            unique.append(index)
    for lo, hi in zip(bounds, bounds[1:]):
        mask = (1 << (hi - lo)) - 1
        buckets: dict[int, list[int]] = {}
        for index in unique:
            value = values[index]
            bucket = buckets.setdefault((value >> lo) & mask, [])
            for earlier in bucket:
                distance = (value ^ values[earlier]).bit_count()
                if distance <= max_distance and (index not in best or (distance, earlier) < best[index]):
                    best[index] = (distance, earlier)
            bucket.append(index)
    ids = [item for item, _ in phashes]
    return [(ids[later], ids[earlier], distance) for later, (distance, earlier) in sorted(best.items())]


# -- labels and statistics -------------------------------------------------------------------------------------------
def label_from_path(relative_path: str) -> str | None:
    """Class label = the folder the file sits in (None for a file dropped on its own)."""
    parent = PurePosixPath(relative_path).parent
    return parent.name if parent.name else None


_RESOLUTION_BUCKETS = ((64, "<64"), (128, "64–127"), (256, "128–255"), (512, "256–511"), (1024, "512–1023"))


def image_stats(metas: list[dict]) -> dict:
    resolution: dict[str, int] = {}
    aspect = {"portrait": 0, "square": 0, "landscape": 0}
    for meta in metas:
        short = min(meta["width"], meta["height"])
        bucket = next((name for limit, name in _RESOLUTION_BUCKETS if short < limit), "≥1024")
        resolution[bucket] = resolution.get(bucket, 0) + 1
        ratio = meta["width"] / meta["height"]
        aspect["square" if abs(ratio - 1) <= 0.05 else "landscape" if ratio > 1 else "portrait"] += 1
    return {"count": len(metas), "resolution": resolution, "aspect": aspect}
