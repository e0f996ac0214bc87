"""Image kind: formats, orientation, transparency, colour modes, hostile files, hashes, labels and statistics.

Every picture is made here with Pillow, a few dozen pixels wide, so the whole file runs in about a second.
"""

from __future__ import annotations

import io
import random
import struct
import subprocess
import sys
import time
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile, ImageOps

from studio.core.datasets import images
from studio.core.datasets.base import FIXED, OK, SKIPPED, ImportOptions

OPTIONS = ImportOptions()
RED, GREEN, BLUE, YELLOW = (230, 20, 20), (20, 200, 20), (20, 20, 230), (240, 220, 20)


# -- helpers ---------------------------------------------------------------------------------------------------------
def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def quadrants(size=(120, 80)) -> Image.Image:
    """Red, green / blue, yellow quadrants: where each colour ends up shows how the picture was turned."""
    w, h = size
    array = np.zeros((h, w, 3), np.uint8)
    array[: h // 2, : w // 2], array[: h // 2, w // 2 :] = RED, GREEN
    array[h // 2 :, : w // 2], array[h // 2 :, w // 2 :] = BLUE, YELLOW
    return Image.fromarray(array)


def scene(size=(256, 256), seed=0) -> Image.Image:
    """A smooth picture with structure at several scales (what perceptual hashes are made for)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : size[1], 0 : size[0]] / max(size)
    channels = []
    for _ in range(3):
        fx, fy, phase = rng.uniform(1, 6), rng.uniform(1, 6), rng.uniform(0, 6)
        channels.append(127 + 120 * np.sin(2 * np.pi * (fx * x + fy * y) + phase))
    return Image.fromarray(np.stack(channels, -1).astype(np.uint8))


def stored(result) -> np.ndarray:
    """The stored copy's pixels (and that it is an RGB picture at all)."""
    image = Image.open(io.BytesIO(result.payload))
    assert image.mode == "RGB"
    return np.asarray(image)


def colour_at(array: np.ndarray, y: int, x: int, expected, tolerance=40) -> bool:
    return bool(np.all(np.abs(array[y, x].astype(int) - np.array(expected)) <= tolerance))


def png_header(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims ``width`` × ``height`` RGB pixels (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


# -- formats and the stored copy -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fmt,status,suffix,fix,exact",
    [
        ("JPEG", OK, ".jpg", None, False),
        ("PNG", OK, ".png", None, True),
        ("WEBP", FIXED, ".png", "converted to PNG", True),
        ("BMP", FIXED, ".png", "converted to PNG", True),
        ("GIF", FIXED, ".png", "palette converted to RGB", True),  # 4 colours survive the palette exactly
        ("TIFF", FIXED, ".png", "converted to PNG", True),
    ],
)
def test_every_format_round_trips_to_an_rgb_item(fmt, status, suffix, fix, exact):
    source = quadrants()
    extra = {"lossless": True} if fmt == "WEBP" else {}
    result = images.normalize(encode(source, fmt, **extra), f"x.{fmt.lower()}", OPTIONS)
    assert (result.status, result.suffix, result.reason) == (status, suffix, None)
    assert result.fixes == ([fix] if fix else [])
    pixels = stored(result)
    assert pixels.shape == (80, 120, 3)
    if exact:
        assert np.array_equal(pixels, np.asarray(source))
    else:
        assert colour_at(pixels, 5, 5, RED) and colour_at(pixels, 75, 115, YELLOW)
    assert result.meta["width"] == 120 and result.meta["height"] == 80 and result.meta["format"] == fmt


def test_clean_jpeg_and_png_are_stored_as_their_original_bytes():
    for fmt, suffix in (("JPEG", ".jpg"), ("PNG", ".png")):
        data = encode(quadrants(), fmt)
        result = images.normalize(data, "x", OPTIONS)
        assert result.status == OK and result.fixes == [] and result.suffix == suffix
        assert result.payload is data  # passed through: not even copied
        assert result.meta["mode"] == "RGB"


def test_big_images_are_downscaled_with_the_original_size_in_meta():
    big = images.normalize(encode(quadrants((2048, 1024)), "PNG"), "b.png", OPTIONS)
    assert big.status == FIXED and big.fixes == ["downscaled from 2048×1024"] and big.suffix == ".png"
    pixels = stored(big)
    assert pixels.shape == (512, 1024, 3) and colour_at(pixels, 10, 10, RED, 0)
    assert (big.meta["width"], big.meta["height"]) == (2048, 1024)
    photo = images.normalize(encode(quadrants((300, 200)), "JPEG"), "p.jpg", ImportOptions(max_item_side=150))
    assert photo.status == FIXED and photo.fixes == ["downscaled from 300×200"]
    assert stored(photo).shape == (100, 150, 3)


def test_small_images_are_flagged_against_the_chosen_resolution():
    assert images.normalize(encode(quadrants((40, 30)), "PNG"), "s.png", OPTIONS).flags == ["smaller than 64 px"]
    assert images.normalize(encode(quadrants((64, 64)), "PNG"), "s.png", OPTIONS).flags == []
    options = ImportOptions(resolution=128)
    assert images.normalize(encode(quadrants((200, 100)), "PNG"), "s.png", options).flags == ["smaller than 128 px"]


def test_animated_gif_keeps_its_first_frame():
    frames = [Image.new("RGB", (32, 32), RED), Image.new("RGB", (32, 32), BLUE)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    result = images.normalize(data, "a.gif", OPTIONS)
    assert result.status == FIXED and "first frame of an animation kept" in result.fixes
    assert colour_at(stored(result), 16, 16, RED, 0)


# -- orientation -----------------------------------------------------------------------------------------------------
def with_orientation(image: Image.Image, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "JPEG", exif=exif, quality=95)


def test_exif_rotated_jpeg_comes_out_standing_up():
    result = images.normalize(with_orientation(quadrants((120, 80)), 6), "r.jpg", OPTIONS)  # 6 = turn 90° clockwise
    assert result.status == FIXED and result.fixes == ["EXIF orientation applied"] and result.suffix == ".png"
    pixels = stored(result)
    assert pixels.shape == (120, 80, 3)  # portrait now
    assert (result.meta["width"], result.meta["height"]) == (80, 120)
    # Turned clockwise, the left column becomes the top row: blue top-left, red top-right, yellow, green below.
    assert colour_at(pixels, 5, 5, BLUE) and colour_at(pixels, 5, 75, RED)
    assert colour_at(pixels, 115, 5, YELLOW) and colour_at(pixels, 115, 75, GREEN)


@pytest.mark.parametrize("orientation", [2, 3, 4, 5, 7, 8])
def test_every_exif_orientation_matches_pillows_reference(orientation):
    data = with_orientation(quadrants((60, 40)), orientation)
    result = images.normalize(data, "r.jpg", OPTIONS)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    assert result.fixes == ["EXIF orientation applied"]
    assert np.array_equal(stored(result), expected)


def test_orientation_1_is_no_fix_and_keeps_the_original_bytes():
    data = with_orientation(quadrants(), 1)
    result = images.normalize(data, "r.jpg", OPTIONS)
    assert result.status == OK and result.payload is data


# -- transparency ----------------------------------------------------------------------------------------------------
def test_rgba_transparency_is_flattened_onto_the_chosen_background():
    rgba = Image.new("RGBA", (70, 70), (0, 0, 0, 0))
    rgba.paste((0, 255, 0, 255), (0, 0, 35, 70))
    rgba.paste((0, 0, 255, 128), (0, 60, 70, 70))  # half-transparent blue strip at the bottom
    result = images.normalize(encode(rgba, "PNG"), "a.png", ImportOptions(background=(255, 0, 0)))
    assert result.status == FIXED and result.fixes == ["transparency flattened onto #FF0000"]  # the colour named
    pixels = stored(result)
    assert tuple(pixels[30, 60]) == (255, 0, 0)  # transparent: the red background
    assert tuple(pixels[30, 10]) == (0, 255, 0)  # opaque: unchanged
    assert abs(int(pixels[65, 10, 0]) - 127) <= 2 and abs(int(pixels[65, 10, 2]) - 128) <= 2  # half and half
    assert result.meta["mode"] == "RGBA"


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_transparency_is_flattened(fmt):
    palette = Image.new("P", (20, 20), 0)
    palette.putpalette([0, 0, 0, 0, 200, 0] + [0] * 762)
    palette.paste(1, (0, 0, 10, 20))
    data = encode(palette, fmt, transparency=0)
    result = images.normalize(data, f"p.{fmt.lower()}", ImportOptions(background=(10, 20, 30)))
    assert result.fixes == ["transparency flattened onto #0A141E"]
    pixels = stored(result)
    assert tuple(pixels[5, 15]) == (10, 20, 30) and tuple(pixels[5, 5]) == (0, 200, 0)


def test_rgb_png_with_a_transparent_colour_key_is_flattened():
    image = quadrants((40, 40))
    result = images.normalize(encode(image, "PNG", transparency=GREEN), "k.png", ImportOptions(background=(0, 0, 0)))
    assert result.status == FIXED and result.fixes == ["transparency flattened onto black"]
    pixels = stored(result)
    assert tuple(pixels[5, 35]) == (0, 0, 0) and tuple(pixels[5, 5]) == RED


def test_grayscale_with_alpha_and_opaque_rgba():
    la = Image.new("LA", (10, 10), (0, 128))
    flat = images.normalize(encode(la, "PNG"), "la.png", OPTIONS)
    assert flat.fixes == ["transparency flattened onto white"] and abs(int(stored(flat)[5, 5, 0]) - 127) <= 1
    opaque = images.normalize(encode(quadrants().convert("RGBA"), "PNG"), "o.png", OPTIONS)
    assert opaque.status == FIXED and opaque.fixes == ["RGBA converted to RGB"]  # nothing was see-through
    assert np.array_equal(stored(opaque), np.asarray(quadrants()))


def test_background_given_as_a_json_list_works():
    rgba = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    result = images.normalize(encode(rgba, "PNG"), "a.png", ImportOptions(background=[0, 0, 255]))
    assert tuple(stored(result)[4, 4]) == (0, 0, 255)


# -- colour modes ----------------------------------------------------------------------------------------------------
def test_cmyk_jpeg_converts_to_rgb():
    result = images.normalize(encode(quadrants().convert("CMYK"), "JPEG"), "c.jpg", OPTIONS)
    assert result.status == FIXED and result.fixes == ["CMYK converted to RGB"] and result.meta["mode"] == "CMYK"
    pixels = stored(result)
    assert colour_at(pixels, 5, 5, RED) and colour_at(pixels, 75, 5, BLUE)


def test_sixteen_bit_png_maps_its_full_range_to_eight_bits():
    values = np.array([[0, 65535, 32896, 257]], dtype=np.uint16).repeat(4, axis=0)
    result = images.normalize(encode(Image.fromarray(values), "PNG"), "d.png", OPTIONS)
    assert result.status == FIXED and result.fixes == ["16-bit grayscale converted to RGB"]
    assert result.meta["mode"] == "I;16"
    assert stored(result)[0].tolist() == [[0, 0, 0], [255, 255, 255], [128, 128, 128], [1, 1, 1]]


def test_sixteen_bit_tiff_converts():
    values = (np.arange(80 * 120).reshape(80, 120) * 6).astype(np.uint16)
    result = images.normalize(encode(Image.fromarray(values), "TIFF"), "d.tif", OPTIONS)
    assert result.fixes == ["16-bit grayscale converted to RGB"]
    assert stored(result)[-1, -1, 0] == round(int(values[-1, -1]) / 257)


def test_thirty_two_bit_integer_pixels_in_eight_bit_range_are_kept():
    image, fixes = images.to_rgb(Image.fromarray(np.array([[0, 100, 255]], np.int32)), (255, 255, 255))
    assert image.mode == "RGB" and np.asarray(image)[0, :, 0].tolist() == [0, 100, 255]
    assert fixes == ["16-bit grayscale converted to RGB"]


@pytest.mark.parametrize(
    "mode,fix",
    [("P", "palette converted to RGB"), ("L", "grayscale converted to RGB"), ("1", "black-and-white converted to RGB")],
)
def test_palette_grayscale_and_bilevel_convert_exactly(mode, fix):
    source = quadrants().convert(mode)
    result = images.normalize(encode(source, "PNG"), "m.png", OPTIONS)
    assert result.status == FIXED and result.fixes == [fix] and result.meta["mode"] == mode
    assert np.array_equal(stored(result), np.asarray(source.convert("RGB")))


# -- files that cannot be used ---------------------------------------------------------------------------------------
def test_unusable_files_are_skipped_with_plain_reasons():
    png = encode(scene((200, 150)), "PNG")
    jpeg = encode(scene((400, 300)), "JPEG")
    cases = [
        (b"", "empty file"),
        (jpeg[: len(jpeg) // 2], images.DAMAGED),
        (png[: len(png) // 2], images.DAMAGED),
        (random.Random(3).randbytes(4096), images.NOT_AN_IMAGE),
        (b"just some text, named .png", images.NOT_AN_IMAGE),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", images.NOT_AN_IMAGE),  # never sent to Ghostscript
    ]
    for data, reason in cases:
        result = images.normalize(data, "x.png", OPTIONS)
        assert (result.status, result.reason, result.payload) == (SKIPPED, reason, None), (reason, result.reason)


@pytest.mark.parametrize("width,height", [(100_000, 100_000), (10_000, 10_000), (9_000, 8_000)])
def test_decompression_bombs_are_refused_from_the_header_alone(width, height):
    """100,000² trips Pillow's error, 10,000² its warning, 9,000 × 8,000 only our 64-megapixel limit."""
    filters = list(warnings.filters)
    started = time.perf_counter()
    result = images.normalize(png_header(width, height), "bomb.png", OPTIONS)
    assert time.perf_counter() - started < 1.0  # nothing was decoded: 30 GB of pixels would take minutes
    assert result.status == SKIPPED and result.reason == f"image too large: {width}×{height} pixels"
    assert warnings.filters == filters and ImageFile.LOAD_TRUNCATED_IMAGES is False  # no global state left behind


def test_the_pixel_limit_is_the_users_choice():
    result = images.normalize(encode(quadrants((120, 80)), "PNG"), "x.png", ImportOptions(max_image_pixels=5000))
    assert result.status == SKIPPED and result.reason == "image too large: 120×80 pixels"


def test_damaged_bytes_never_raise():
    rng = random.Random(7)
    sources = [encode(scene((48, 40)), fmt) for fmt in ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP")]
    for _ in range(300):
        data = bytearray(rng.choice(sources))
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        data = bytes(data[: rng.randint(1, len(data))]) if rng.random() < 0.5 else bytes(data)
        result = images.normalize(data, "fuzz.png", OPTIONS)
        assert result.status in (OK, FIXED, SKIPPED)
        assert (result.status == SKIPPED) == (result.payload is None) == (result.reason is not None)


# -- exact and near duplicates ---------------------------------------------------------------------------------------
def test_same_pixels_in_different_containers_share_a_dedupe_key():
    image = scene((90, 60))
    png = images.normalize(encode(image, "PNG"), "a.png", OPTIONS)
    bmp = images.normalize(encode(image, "BMP"), "b.bmp", OPTIONS)
    flipped = images.normalize(encode(image.transpose(Image.Transpose.FLIP_LEFT_RIGHT), "PNG"), "c.png", OPTIONS)
    assert png.dedupe_key == bmp.dedupe_key != flipped.dedupe_key
    assert (
        png.dedupe_key.startswith("xxh3:") and len(png.dedupe_key) == 5 + 32 and png.meta["phash"] == bmp.meta["phash"]
    )


def test_dedupe_key_includes_the_size():
    row = Image.fromarray(np.arange(36, dtype=np.uint8).reshape(1, 12, 3))
    column = Image.fromarray(np.arange(36, dtype=np.uint8).reshape(12, 1, 3))  # the same bytes, another shape
    assert row.tobytes() == column.tobytes()
    assert images.pixel_key(row) != images.pixel_key(column)


def test_dedupe_key_is_taken_before_downscaling():
    big = scene((1200, 600))
    a = images.normalize(encode(big, "PNG", compress_level=1), "a.png", OPTIONS)
    b = images.normalize(a.payload, "b.png", OPTIONS)
    assert "downscaled from 1200×600" in a.fixes and b.status == OK and a.dedupe_key != b.dedupe_key


def test_dedupe_key_bands_hash_like_the_whole_picture():
    import xxhash

    image = scene((1200, 1100)).convert("RGB")  # 256 KB bands: hashed in 16, the last one shorter
    whole = xxhash.xxh3_128_hexdigest(f"RGB {image.width}x{image.height}:".encode() + image.tobytes())
    assert images.pixel_key(image) == "xxh3:" + whole


def test_perceptual_hash_sees_near_duplicates_and_tells_pictures_apart():
    image = scene((256, 256), seed=1)
    brighter = Image.eval(image, lambda v: min(255, v + 12)).resize((200, 200), Image.Resampling.BILINEAR)
    recompressed = Image.open(io.BytesIO(encode(image, "JPEG", quality=60)))
    original = images.phash(image)
    assert len(original) == 16 and int(original, 16) >= 0
    assert images.hamming(original, images.phash(brighter)) <= 4
    assert images.hamming(original, images.phash(recompressed)) <= 4
    for seed in (2, 3, 4):
        assert images.hamming(original, images.phash(scene((256, 256), seed=seed))) > 10
    noise = Image.fromarray(np.random.default_rng(5).integers(0, 255, (256, 256, 3), dtype=np.uint8))
    assert images.hamming(original, images.phash(noise)) > 10


def test_hamming_counts_differing_bits():
    assert images.hamming("0000000000000000", "ffffffffffffffff") == 64
    assert images.hamming("00000000000000f0", "00000000000000ff") == 4
    assert images.hamming("8000000000000001", "8000000000000001") == 0


def brute_force(phashes, max_distance):
    found = []
    for i, (later, a) in enumerate(phashes):
        best = min(((images.hamming(a, b), j) for j, (_, b) in enumerate(phashes[:i])), default=None)
        if best and best[0] <= max_distance:
            found.append((later, phashes[best[1]][0], best[0]))
    return found


def test_near_duplicates_match_a_brute_force_search_on_clustered_hashes():
    rng = random.Random(1)
    centres = [rng.getrandbits(64) for _ in range(6)]  # clusters, like a folder of similar logos
    phashes = []
    for i in range(400):
        value = rng.choice(centres)
        for _ in range(rng.randint(0, 7)):
            value ^= 1 << rng.randrange(64)
        phashes.append((f"id{i}", f"{value:016x}"))
    expected = brute_force(phashes, 4)
    assert len(expected) > 100  # the clusters really do give many near pairs
    assert images.find_near_duplicates(phashes, 4, block=64) == expected
    assert images.find_near_duplicates(phashes, 4) == expected


def test_near_duplicates_report_the_closest_then_earliest_earlier_item():
    phashes = [
        ("a", "00000000000000ff"),
        ("b", "00000000000000ff"),
        ("c", "00000000000000f0"),
        ("d", "00000000000000fe"),
        ("e", "ffffffffffffffff"),
    ]
    assert images.find_near_duplicates(phashes, 4) == [("b", "a", 0), ("c", "a", 4), ("d", "a", 1)]
    assert images.find_near_duplicates(phashes, 0) == [("b", "a", 0)]
    assert images.find_near_duplicates([("x", None), ("y", "zz"), ("a", "ff"), ("b", "ff")], 0) == [("b", "a", 0)]
    assert images.find_near_duplicates([], 4) == [] and images.find_near_duplicates(phashes[:1], 4) == []


def test_near_duplicate_search_handles_20000_hashes_quickly():
    rng = random.Random(0)
    hashes = [(str(i), f"{rng.getrandbits(64):016x}") for i in range(20_000)]
    planted = {19_999: (42, 0b101), 15_000: (7, 0b1111), 12_345: (12_000, 0), 11_111: (3, 0b11111)}
    for later, (earlier, flips) in planted.items():
        hashes[later] = (f"planted{later}", f"{int(hashes[earlier][1], 16) ^ flips:016x}")
    started = time.perf_counter()
    found = images.find_near_duplicates(hashes, 4)
    assert time.perf_counter() - started < 3.0
    assert ("planted19999", "42", 2) in found and ("planted15000", "7", 4) in found
    assert ("planted12345", "12000", 0) in found
    assert not any(later == "planted11111" for later, _, _ in found)  # 5 bits away: not near enough
    assert len(found) == len({later for later, _, _ in found})  # each later item once


# -- labels and statistics -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path,label",
    [
        ("logos/round/a.png", "round"),
        ("cats/a.png", "cats"),
        ("a.png", None),
        ("drop\\dogs\\b.jpg", "dogs"),
        ("x.zip/inside/c.png", "inside"),
    ],
)
def test_label_is_the_folder_the_file_sits_in(path, label):
    assert images.label_from_path(path) == label


def test_image_stats_buckets_shorter_sides_and_aspects():
    sizes = [
        (63, 500),
        (64, 64),
        (127, 200),
        (128, 128),
        (300, 256),
        (1023, 2000),
        (1024, 1024),
        (4000, 3000),
        (1000, 1049),
        (1000, 1051),
    ]
    stats = images.image_stats([{"width": w, "height": h} for w, h in sizes] + [{"width": 0, "height": 5}, {}])
    assert stats["count"] == 10
    assert stats["resolution"] == {"<64": 1, "64–127": 2, "128–255": 1, "256–511": 1, "512–1023": 3, "≥1024": 2}
    assert list(stats["resolution"]) == ["<64", "64–127", "128–255", "256–511", "512–1023", "≥1024"]
    assert stats["aspect"] == {"portrait": 4, "square": 4, "landscape": 2}
    assert images.image_stats([]) == {
        "count": 0,
        "resolution": dict.fromkeys(stats["resolution"], 0),
        "aspect": {"portrait": 0, "square": 0, "landscape": 0},
    }


# -- contract ---------------------------------------------------------------------------------------------------------
def test_suffixes_and_no_qt_or_torch_import():
    assert {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"} <= images.SUFFIXES  # and more
    code = (
        "import sys, studio.core.datasets.images; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'torch')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
