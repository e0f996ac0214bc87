"""Every picture format Pillow opens is a picture the studio imports, under the same hostile-file guards.

Each picture is written here by Pillow, a few dozen pixels wide; the import runs end to end in one process.
"""

from __future__ import annotations

import io
import random
import struct

import numpy as np
import pytest
from PIL import Image, features

from studio.core.datasets import drops, images
from studio.core.datasets.base import FIXED, SKIPPED, ImportOptions
from studio.core.datasets.importer import ImportDataset, kind_of_suffix
from studio.core.datasets.manifest import Manifest
from studio.core.jobs import run_job

HAS_JPEG_2000 = features.check("jpg_2000")
# (suffix, Pillow format, mode written), all lossless: Pillow's JPEG 2000 encoder is reversible by default
CASES = [
    ("tga", "TGA", "RGB"),
    ("pcx", "PCX", "RGB"),
    ("pgm", "PPM", "L"),
    ("ppm", "PPM", "RGB"),
    ("pbm", "PPM", "1"),
    ("ico", "ICO", "RGBA"),
    ("jp2", "JPEG2000", "RGB"),
]
WRITABLE = [case for case in CASES if case[1] != "JPEG2000" or HAS_JPEG_2000]
FORMATS = [
    pytest.param(*case, marks=pytest.mark.skipif(case not in WRITABLE, reason="this Pillow has no OpenJPEG"))
    for case in CASES
]


def picture(mode: str, size=(32, 32), seed=0) -> Image.Image:
    """Noise (every pixel differs from its neighbours, so a lossy or shifted copy would show); square for ICO."""
    rng = np.random.default_rng(seed)
    rgb = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    return rgb.convert(mode)


def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def expected_rgb(image: Image.Image) -> np.ndarray:
    """The source's pixels as the importer stores them (transparency on white; none here is transparent)."""
    return np.asarray(image.convert("RGB"))


@pytest.mark.parametrize("suffix,fmt,mode", FORMATS)
def test_each_format_is_a_picture_with_its_exact_pixels(suffix, fmt, mode):
    source = picture(mode)
    result = images.normalize(encode(source, fmt), f"x.{suffix}", images_options())
    assert result.status == FIXED, result.reason
    assert result.meta["format"] == fmt and (result.meta["width"], result.meta["height"]) == source.size
    stored = Image.open(io.BytesIO(result.payload))
    assert stored.format == "PNG" and stored.mode == "RGB"
    assert np.array_equal(np.asarray(stored), expected_rgb(source))


def images_options() -> ImportOptions:
    return ImportOptions(resolution=16)


def test_a_folder_of_every_format_imports_as_usable_items(tmp_path):
    drop = tmp_path / "formats"
    drop.mkdir()
    written = []
    for i, (suffix, fmt, mode) in enumerate(WRITABLE):
        (drop / f"{i}.{suffix}").write_bytes(encode(picture(mode, seed=i), fmt))
        written.append(f"{i}.{suffix}")
    assert drops.guess_kind([drop]) == "image"  # the drop overlay sees pictures, as the importer does

    result = run_job(ImportDataset(tmp_path / "P", "formats", [drop], workers=1))

    manifest = Manifest.load(tmp_path / "P" / "datasets" / "formats")
    by_source = {e["source"].split("/")[-1]: e for e in manifest.entries}
    assert sorted(by_source) == sorted(written)
    assert {name: e["status"] for name, e in by_source.items()} == dict.fromkeys(written, "fixed")
    assert result["fixed"] == len(written) and result["skipped"] == 0
    for entry in manifest.usable():
        assert Image.open(manifest.folder / entry["item"]).mode == "RGB"


def test_one_list_of_suffixes_for_importer_and_drops():
    for suffix in (".tga", ".pcx", ".pgm", ".ppm", ".pbm", ".pnm", ".ico", ".dds", ".psd", ".mpo", ".jpg", ".png"):
        assert suffix in images.SUFFIXES and kind_of_suffix(suffix) == "image", suffix
    if HAS_JPEG_2000:
        assert {".jp2", ".j2k"} <= images.SUFFIXES
    # Not pictures a designer means, or not decodable here: PostScript (Ghostscript), PDF (Pillow only writes
    # it), video, Windows metafiles and scientific data (stub plugins), astronomy.
    for suffix in (".eps", ".ps", ".pdf", ".mpg", ".wmf", ".emf", ".h5", ".grib", ".bufr", ".fits", ".iim"):
        assert suffix not in images.SUFFIXES and kind_of_suffix(suffix) is None, suffix
    for fmt in ("EPS", "PDF", "MPEG", "WMF", "HDF5", "FITS"):
        assert fmt not in images.picture_formats()


def tga_header(width: int, height: int) -> bytes:
    """An uncompressed 24-bit TGA header claiming width × height pixels, with a few bytes of pixels."""
    return struct.pack("<BBBHHBHHHHBB", 0, 0, 2, 0, 0, 0, 0, 0, width, height, 24, 0) + b"\x00" * 64


@pytest.mark.parametrize(
    "data,name",
    [
        (tga_header(65_535, 65_535), "bomb.tga"),  # Pillow's own decompression-bomb error
        (tga_header(9_000, 8_000), "big.tga"),  # only the studio's 64-megapixel limit
        (b"P5\n100000 100000\n255\n" + b"\x00" * 64, "bomb.pgm"),
        (b"P6\n9000 8000\n255\n" + b"\x00" * 64, "big.ppm"),
    ],
)
def test_the_decompression_bomb_guard_covers_the_new_formats(data, name):
    result = images.normalize(data, name, ImportOptions())
    assert result.status == SKIPPED and result.reason.startswith("image too large"), result.reason
    assert "×" in result.reason  # the size the header claims is named


def test_the_decode_budget_covers_the_new_formats():
    data = encode(picture("RGB", (200, 200)), "TGA")
    result = images.normalize(data, "x.tga", ImportOptions(max_decode_bytes=100_000))
    assert result.status == SKIPPED and result.reason.startswith("image too large to decode safely")


def test_random_bytes_pass_for_a_tga_only_when_named_like_one():
    """TGA has no signature: bytes that happen to fit its header are tried only for a ``.tga`` name."""
    rng = random.Random(5)
    header = struct.pack("<BBBHHBHHHHBB", 0, 0, 2, 0, 0, 0, 0, 0, 8, 8, 24, 0)
    data = header + rng.randbytes(8 * 8 * 3)
    assert images.normalize(data, "noise.png", ImportOptions()).reason == images.NOT_AN_IMAGE
    assert images.normalize(data, "noise.tga", ImportOptions()).status == FIXED


def test_a_layered_psd_is_not_called_an_animation():
    """A PSD's first frame is the flattened picture (its layers follow): nothing to report as dropped frames."""

    class Layered:
        format = "PSD"
        is_animated = True

    assert images._is_animated(Layered()) is False  # type: ignore[arg-type]
