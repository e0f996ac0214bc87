"""Image checks: formats, orientation, transparency, colour modes, hostile files, hashes."""

import io
import random
import time

import numpy as np
import pytest
from PIL import Image

from studio.core.datasets import images
from studio.core.datasets.base import FIXED, OK, SKIPPED, ImportOptions

OPTIONS = ImportOptions()


def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def picture(size=(120, 80)) -> Image.Image:
    rng = np.random.default_rng(1)
    array = np.zeros((size[1], size[0], 3), np.uint8)
    array[:, : size[0] // 2] = (220, 30, 30)
    array[:, size[0] // 2:] = (30, 30, 220)
    array[10:20, 10:20] = rng.integers(0, 255, (10, 10, 3))
    return Image.fromarray(array)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF"])
def test_every_format_becomes_an_rgb_item(fmt):
    result = images.normalize(encode(picture(), fmt), f"x.{fmt.lower()}", OPTIONS)
    assert result.status in (OK, FIXED), result.reason
    stored = Image.open(io.BytesIO(result.payload))
    assert stored.mode == "RGB" and stored.size == (120, 80)
    assert result.meta["width"] == 120 and result.meta["format"] == fmt


def test_clean_jpeg_and_png_keep_their_original_bytes():
    for fmt, suffix in (("JPEG", ".jpg"), ("PNG", ".png")):
        data = encode(picture(), fmt)
        result = images.normalize(data, "x", OPTIONS)
        assert result.status == OK and result.payload == data and result.suffix == suffix


def test_exif_orientation_is_applied():
    image = picture((120, 80))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise when shown
    result = images.normalize(encode(image, "JPEG", exif=exif, quality=95), "r.jpg", OPTIONS)
    assert result.status == FIXED and "EXIF orientation applied" in result.fixes
    stored = np.asarray(Image.open(io.BytesIO(result.payload)))
    assert stored.shape[:2] == (120, 80)  # now portrait
    assert stored[5, 40, 0] > 150 and stored[-5, 40, 2] > 150  # red half on top after the turn


def test_transparency_is_flattened_onto_the_background():
    rgba = Image.new("RGBA", (70, 70), (0, 0, 0, 0))
    rgba.paste((0, 255, 0, 255), (0, 0, 35, 70))
    options = ImportOptions(background=(255, 0, 0))
    result = images.normalize(encode(rgba, "PNG"), "a.png", options)
    stored = np.asarray(Image.open(io.BytesIO(result.payload)))
    assert "transparency flattened onto background" in result.fixes
    assert tuple(stored[35, 60]) == (255, 0, 0) and tuple(stored[35, 10]) == (0, 255, 0)


@pytest.mark.parametrize("mode,fix", [("CMYK", "CMYK converted to RGB"), ("L", "grayscale converted to RGB"),
                                      ("P", "palette converted to RGB"), ("I;16", "16-bit converted to 8-bit RGB")])
def test_colour_modes_convert_to_rgb(mode, fix):
    source = picture().convert(mode) if mode != "I;16" else Image.fromarray(
        (np.arange(80 * 120).reshape(80, 120) * 6).astype(np.uint16))
    fmt = "JPEG" if mode == "CMYK" else ("TIFF" if mode == "I;16" else "PNG")
    result = images.normalize(encode(source, fmt), "m", OPTIONS)
    assert result.status == FIXED and fix in result.fixes
    assert Image.open(io.BytesIO(result.payload)).mode == "RGB"


def test_hostile_files_are_skipped_quickly_with_reasons():
    png = encode(picture(), "PNG")
    jpeg = encode(picture((400, 300)), "JPEG")
    cases = {
        b"": "empty file",
        jpeg[: len(jpeg) // 2]: "truncated",
        png[:-40]: "truncated",
        random.Random(3).randbytes(4096): "not an image",
    }
    for data, reason in cases.items():
        result = images.normalize(data, "x.png", OPTIONS)
        assert result.status == SKIPPED and reason in result.reason, (reason, result.reason)
    started = time.perf_counter()
    bomb = images.normalize(_png_header(100000, 100000), "bomb.png", OPTIONS)
    assert bomb.status == SKIPPED and bomb.reason == "image too large (over 64 million pixels)"
    assert time.perf_counter() - started < 1.0


def _png_header(width: int, height: int) -> bytes:
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def test_big_images_are_downscaled_and_small_ones_flagged():
    big = images.normalize(encode(picture((2048, 1024)), "PNG"), "b.png", OPTIONS)
    assert big.status == FIXED and "downscaled from 2048×1024" in big.fixes
    assert Image.open(io.BytesIO(big.payload)).size == (1024, 512)
    small = images.normalize(encode(picture((40, 30)), "PNG"), "s.png", OPTIONS)
    assert small.flags == ["smaller than 64 px"]


def test_same_pixels_in_different_containers_share_a_dedupe_key():
    image = picture()
    a = images.normalize(encode(image, "PNG"), "a.png", OPTIONS)
    b = images.normalize(encode(image, "BMP"), "b.bmp", OPTIONS)
    c = images.normalize(encode(image.transpose(Image.Transpose.FLIP_LEFT_RIGHT), "PNG"), "c.png", OPTIONS)
    assert a.dedupe_key == b.dedupe_key != c.dedupe_key


def test_perceptual_hash_sees_near_duplicates():
    image = picture((256, 256))
    brighter = Image.eval(image, lambda v: min(255, v + 12)).resize((200, 200))
    other = Image.fromarray(np.random.default_rng(5).integers(0, 255, (256, 256, 3), dtype=np.uint8))
    assert images.hamming(images.phash(image), images.phash(brighter)) <= 4
    assert images.hamming(images.phash(image), images.phash(other)) > 10


def test_near_duplicate_search_scales_to_20000_items():
    rng = random.Random(0)
    hashes = [(str(i), f"{rng.getrandbits(64):016x}") for i in range(20000)]
    hashes[15000] = ("planted", f"{int(hashes[42][1], 16) ^ 0b101:016x}")  # 2 bits from item 42
    started = time.perf_counter()
    found = images.find_near_duplicates(hashes, 4)
    assert time.perf_counter() - started < 3
    assert ("planted", "42", 2) in found
    assert all(later != "planted" or earlier == "42" for later, earlier, _ in found)
    assert images.find_near_duplicates([("a", "00000000000000ff"), ("b", "00000000000000ff"),
                                        ("c", "00000000000000f0")], 4) == [("b", "a", 0), ("c", "a", 4)]


def test_labels_and_stats():
    assert images.label_from_path("logos/round/a.png") == "round"
    assert images.label_from_path("a.png") is None
    stats = images.image_stats([{"width": 100, "height": 100}, {"width": 1200, "height": 800},
                                {"width": 300, "height": 600}])
    assert stats["aspect"] == {"portrait": 1, "square": 1, "landscape": 1}
    assert stats["resolution"] == {"64–127": 1, "512–1023": 1, "256–511": 1}
