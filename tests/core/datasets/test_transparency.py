"""Transparency: kept or flattened onto white, black or a chosen colour, at import and as an undoable fix; the
choice is in the manifest (per dataset and per picture) and the image cache composites kept pictures onto it."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from studio.core.datasets import images
from studio.core.datasets.base import FLATTEN, KEEP_ALPHA, ImportOptions, parse_transparency
from studio.core.datasets.image_cache import BuildImageCache, ImageCache
from studio.core.datasets.importer import ImportDataset
from studio.core.datasets.manifest import Manifest
from studio.core.datasets.transparency import SetTransparency, set_transparency
from studio.core.jobs import run_job

TEAL = (0, 128, 128)
ORANGE = (230, 120, 20)


def logo() -> Image.Image:
    """64×64: the left half fully transparent, the right half opaque orange."""
    rgba = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    rgba.paste((*ORANGE, 255), (32, 0, 64, 64))
    return rgba


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def item_pixels(manifest: Manifest, entry: dict) -> np.ndarray:
    with Image.open(manifest.item_path(entry)) as image:
        return np.asarray(image.copy())


def cached_pixels(folder) -> np.ndarray:
    """The logo's 32×32 square in the image cache (built, or rebuilt when the manifest changed)."""
    run_job(BuildImageCache(folder, resolution=32, workers=1))
    cache = ImageCache.open(folder, 32)
    logo_id = logo_entry(Manifest.load(folder))["id"]
    return np.asarray(cache.images[cache.ids.index(logo_id)])


@pytest.fixture
def drop(tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "logo.png").write_bytes(png(logo()))
    (folder / "photo.png").write_bytes(png(Image.new("RGB", (64, 64), (40, 90, 160))))  # nothing see-through
    return folder


def imported(tmp_path, drop, **options) -> Manifest:
    run_job(ImportDataset(tmp_path / "P", "icons", [drop], workers=1, options=ImportOptions(**options)))
    return Manifest.load(tmp_path / "P" / "datasets" / "icons")


def logo_entry(manifest: Manifest) -> dict:
    return next(e for e in manifest.entries if e["source"].endswith("logo.png"))


# -- at import --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "colour", "fix"),
    [
        ({}, (255, 255, 255), "transparency flattened onto white"),
        ({"background": (0, 0, 0)}, (0, 0, 0), "transparency flattened onto black"),
        ({"background": TEAL}, TEAL, "transparency flattened onto #008080"),
    ],
)
def test_flattening_at_import_uses_and_names_the_chosen_colour(tmp_path, drop, options, colour, fix):
    manifest = imported(tmp_path, drop, **options)
    entry = logo_entry(manifest)
    pixels = item_pixels(manifest, entry)
    assert pixels.shape == (64, 64, 3)  # stored RGB
    assert tuple(pixels[10, 5]) == colour and tuple(pixels[10, 50]) == ORANGE
    assert entry["fixes"] == [fix] and entry["meta"]["transparency"] == "#{:02X}{:02X}{:02X}".format(*colour)
    assert manifest.options["transparency"] == FLATTEN and manifest.options["background"] == list(colour)
    photo = next(e for e in manifest.entries if e["source"].endswith("photo.png"))
    assert "transparency" not in photo["meta"]  # only pictures with see-through pixels carry the record


def test_kept_transparency_is_stored_rgba_and_the_cache_composites_it(tmp_path, drop):
    source = (drop / "logo.png").read_bytes()
    manifest = imported(tmp_path, drop, transparency=KEEP_ALPHA, background=(0, 0, 0))
    entry = logo_entry(manifest)
    pixels = item_pixels(manifest, entry)
    assert pixels.shape == (64, 64, 4) and pixels[10, 5, 3] == 0 and tuple(pixels[10, 50]) == (*ORANGE, 255)
    assert entry["status"] == "ok" and entry["meta"]["transparency"] == "kept"  # the original bytes, untouched
    assert manifest.options["transparency"] == KEEP_ALPHA
    cache = cached_pixels(manifest.folder)  # composited at cache time, onto the dataset's colour
    assert tuple(cache[16, 2]) == (0, 0, 0) and tuple(cache[16, 29]) == ORANGE
    assert (drop / "logo.png").read_bytes() == source


def test_normalize_keeps_a_palette_pictures_transparency_as_rgba():
    palette = Image.new("P", (20, 20), 0)
    palette.putpalette([0, 0, 0, 0, 200, 0] + [0] * 762)
    palette.paste(1, (0, 0, 10, 20))
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG", transparency=0)
    result = images.normalize(buffer.getvalue(), "p.png", ImportOptions(transparency=KEEP_ALPHA))
    stored = np.asarray(Image.open(io.BytesIO(result.payload)))
    assert result.fixes == ["palette converted to RGBA"] and stored.shape == (20, 20, 4)
    assert stored[5, 15, 3] == 0 and tuple(stored[5, 5]) == (0, 200, 0, 255)
    assert result.meta["transparency"] == "kept"


# -- as a fix ---------------------------------------------------------------------------------------------------
def test_kept_pictures_flatten_onto_black_without_their_originals_and_undo_restores(tmp_path, drop):
    manifest = imported(tmp_path, drop, transparency=KEEP_ALPHA)
    before = logo_entry(manifest)
    assert tuple(cached_pixels(manifest.folder)[16, 2]) == (255, 255, 255)
    (drop / "logo.png").unlink()  # kept pixels are enough: the original is not needed

    outcome = set_transparency(manifest, FLATTEN, (0, 0, 0))
    manifest.save()
    assert (outcome.changed, outcome.unchanged, outcome.failed) == (1, 0, [])
    after = logo_entry(manifest)
    pixels = item_pixels(manifest, after)
    assert pixels.shape == (64, 64, 3) and tuple(pixels[10, 5]) == (0, 0, 0) and tuple(pixels[10, 50]) == ORANGE
    assert after["fixes"] == ["transparency flattened onto black"] and after["meta"]["transparency"] == "#000000"
    assert manifest.options["transparency"] == FLATTEN and manifest.options["background"] == [0, 0, 0]
    assert tuple(cached_pixels(manifest.folder)[16, 2]) == (0, 0, 0)  # the cache saw the change
    assert (manifest.folder / before["item"]).is_file()  # the earlier item stays for Undo

    assert manifest.undo() == "flatten onto black"
    manifest.save()
    assert logo_entry(manifest) == before and manifest.options["transparency"] == KEEP_ALPHA
    assert manifest.options["background"] == [255, 255, 255]
    assert item_pixels(manifest, logo_entry(manifest))[10, 5, 3] == 0
    assert tuple(cached_pixels(manifest.folder)[16, 2]) == (255, 255, 255)


def test_flattened_pictures_are_read_again_to_keep_or_change_their_colour(tmp_path, drop):
    source = (drop / "logo.png").read_bytes()
    manifest = imported(tmp_path, drop)  # the default: onto white
    result = run_job(SetTransparency(manifest.folder, KEEP_ALPHA))
    assert result["changed"] == 1 and result["action"] == "keep transparency"
    manifest = Manifest.load(manifest.folder)  # the job saved it
    kept = logo_entry(manifest)
    assert item_pixels(manifest, kept)[10, 5, 3] == 0 and kept["meta"]["transparency"] == "kept"
    assert manifest.options["transparency"] == KEEP_ALPHA and manifest.history[-1]["action"] == "keep transparency"

    set_transparency(manifest, FLATTEN, TEAL)  # from the kept item this time
    assert tuple(item_pixels(manifest, logo_entry(manifest))[10, 5]) == TEAL
    assert (drop / "logo.png").read_bytes() == source  # originals are only read
    assert manifest.undo() == "flatten onto #008080" and logo_entry(manifest) == kept


def test_a_moved_original_is_named_and_its_picture_left_as_it_was(tmp_path, drop):
    manifest = imported(tmp_path, drop)
    before = logo_entry(manifest)
    (drop / "logo.png").rename(tmp_path / "elsewhere.png")
    outcome = set_transparency(manifest, KEEP_ALPHA)
    assert outcome.changed == 0 and [f["source"] for f in outcome.failed] == ["drop/logo.png"]
    assert "moved" in outcome.failed[0]["reason"] and logo_entry(manifest) == before
    assert manifest.options["transparency"] == KEEP_ALPHA  # the choice still holds for files imported later


def test_later_imports_follow_the_datasets_choice(tmp_path, drop):
    manifest = imported(tmp_path, drop, transparency=KEEP_ALPHA, background=(0, 0, 0))
    more = tmp_path / "more"
    more.mkdir()
    (more / "second.png").write_bytes(png(logo().transpose(Image.Transpose.FLIP_TOP_BOTTOM).rotate(90)))
    options = ImportOptions().following(manifest.options)
    assert (options.transparency, options.background) == (KEEP_ALPHA, (0, 0, 0))
    assert ImportOptions(transparency=KEEP_ALPHA).following({}).transparency == KEEP_ALPHA  # a new dataset
    run_job(ImportDataset(tmp_path / "P", "icons", [more], workers=1, options=options))
    second = next(e for e in Manifest.load(manifest.folder).entries if e["source"].endswith("second.png"))
    assert second["meta"]["transparency"] == "kept"


def test_the_choice_reads_from_plain_words():
    assert parse_transparency("keep") == (KEEP_ALPHA, (255, 255, 255))
    assert parse_transparency("Black") == (FLATTEN, (0, 0, 0))
    assert parse_transparency("#336699") == (FLATTEN, (0x33, 0x66, 0x99))
    with pytest.raises(ValueError, match="not a transparency choice"):
        parse_transparency("mauve-ish")


def test_the_source_files_hash_is_what_the_manifest_says(tmp_path, drop):
    """The fix re-reads an original only while it is the very file imported (size and content hash)."""
    manifest = imported(tmp_path, drop)
    (drop / "logo.png").write_bytes(png(logo().rotate(90)))  # changed since the import
    outcome = set_transparency(manifest, KEEP_ALPHA)
    assert outcome.changed == 0 and outcome.failed and logo_entry(manifest)["meta"]["transparency"] == "#FFFFFF"
    assert hashlib.sha256((drop / "logo.png").read_bytes()).hexdigest() != logo_entry(manifest)["sha256"]


def test_a_dataset_imported_before_the_choice_existed_can_still_keep_its_transparency(tmp_path, drop):
    manifest = imported(tmp_path, drop)
    entry = logo_entry(manifest)
    entry["meta"].pop("transparency")  # as the studio wrote it before: an unnamed background
    entry["fixes"] = ["transparency flattened onto background"]
    manifest.options.pop("transparency")
    outcome = set_transparency(manifest, KEEP_ALPHA)
    assert outcome.changed == 1 and item_pixels(manifest, logo_entry(manifest))[10, 5, 3] == 0


def test_the_command_line_chooses_or_follows_the_datasets_transparency(tmp_path, drop, capsys):
    from studio.cli import main as cli

    project = tmp_path / "P"
    base = ["dataset", "import", "--project", str(project), "--name", "icons", "--workers", "1"]
    assert cli([*base, "--transparency", "keep", str(drop)]) == 0
    more = tmp_path / "more"
    more.mkdir()
    (more / "second.png").write_bytes(png(logo().rotate(90)))
    assert cli([*base, str(more)]) == 0  # no flag: as the dataset records (kept)
    entries = {e["source"].rsplit("/", 1)[-1]: e for e in Manifest.load(project / "datasets" / "icons").entries}
    assert entries["second.png"]["meta"]["transparency"] == "kept"
    third = tmp_path / "third"
    third.mkdir()
    (third / "third.png").write_bytes(png(logo().rotate(180)))
    assert cli([*base, "--transparency", "#000000", str(third)]) == 0  # chosen for this import
    manifest = Manifest.load(project / "datasets" / "icons")
    third_entry = next(e for e in manifest.entries if e["source"].endswith("third.png"))
    assert third_entry["meta"]["transparency"] != "kept" and manifest.options["background"] == [0, 0, 0]
    assert cli([*base, "--transparency", "purple", str(third)]) != 0  # a word it does not know: a plain error
    assert "transparen" in capsys.readouterr().err.lower()
