"""Style transfer from a trained model (studio/core/generation/transfer_jobs.py): pictures of any size come back the
same size in the other style, byte-identical for the same input; a folder converts to one PNG per readable picture,
the inputs untouched; unusable output folders and runs are refused in words; the CLI prints one JSON line.

The runs are hand-made (the real networks with random, lively weights, laid out as the engine writes them), so
these tests take milliseconds each; training itself is tests/core/training/test_cyclegan.py's."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.cli import main
from studio.core.generation import png_settings, transfer_jobs
from studio.core.generation.transfer_jobs import ConvertFolder, ConvertSources, TransferImages
from studio.core.jobs import Cancelled, JobContext, JobError, run_job
from studio.core.project import create_project

RUN = "20260101-000000-cyclegan"
R = 32


def make_transfer_run(project: Path, run_id: str = RUN, step: int = 10) -> Path:
    """A cyclegan run folder with one checkpoint: generators with lively random weights (so outputs differ
    visibly by direction and input) and discriminators beside them, as the engine saves a checkpoint."""
    import torch
    from safetensors.torch import save_file

    from studio.core.atomic import atomic_write_json
    from studio.core.nets import cyclegan

    model = {"kind": "cyclegan", "resolution": R, "width": 4, "n_blocks": 1, "styles": ["photos", "ink"]}
    model.update({"fit": "crop", "weights": "generators", "ema": False})
    folder = project / "runs" / run_id
    (folder / "checkpoints").mkdir(parents=True)
    record = {"family": "cyclegan", "dataset": "pics", "preset": "fast", "config": {"resolution": R}, "model": model}
    atomic_write_json(folder / "config.json", {**record, "created": "2026-01-01T00:00:00+00:00", "run_id": run_id})
    torch.manual_seed(step)
    generators = cyclegan.build_generators(model)
    judges = cyclegan.CycleDiscriminators(cyclegan.PatchDiscriminatorConfig(resolution=R, width=4, n_layers=2))
    weights = {}
    for name, network in (("generators", generators), ("discriminators", judges)):
        for key, value in network.state_dict().items():
            lively = torch.randn_like(value) * (0.8 / value[0].numel() ** 0.5) if value.dim() > 1 else value
            weights[f"{name}.{key}"] = lively.contiguous()
    stem = folder / "checkpoints" / f"step-{step:06d}"
    save_file(weights, str(stem.with_suffix(".safetensors")))
    atomic_write_json(stem.with_suffix(".json"), {"step": step, "metrics": {}, "family": "cyclegan"})
    return folder


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "Project"
    create_project(root, "Transfer")
    make_transfer_run(root)
    transfer_jobs.clear_cache()
    yield root
    transfer_jobs.clear_cache()


def _picture(height: int, width: int, seed: int) -> np.ndarray:
    """A smooth colour field with a few blocks: a picture whose tiles differ."""
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)).resize((width, height))
    pixels = np.array(small)
    for _ in range(3):
        y, x = rng.integers(0, height), rng.integers(0, width)
        pixels[y : y + height // 4, x : x + width // 4] = rng.integers(0, 256, 3)
    return pixels


def _state(folder: Path) -> dict:
    """Every file under ``folder``: (sha256, size, mtime_ns) by relative path."""
    return {
        p.relative_to(folder).as_posix(): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_size,
            p.stat().st_mtime_ns,
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# -- TransferImages -------------------------------------------------------------------------------------------------
def test_pictures_come_back_their_own_size_in_the_other_style(project):
    pictures = [_picture(R, R, 0), _picture(45, 70, 1), _picture(300, 120, 2)]
    for tile in (False, True):
        result = run_job(TransferImages(project, RUN, direction="a2b", images=pictures, tile=tile))
        assert [image.shape for image in result["images"]] == [p.shape for p in pictures]
        assert all(image.dtype == np.uint8 for image in result["images"])
        assert (result["direction"], result["run_id"], result["step"]) == ("a2b", RUN, 10)
        first, tall = result["settings"][0], result["settings"][2]
        assert (first["from_style"], first["to_style"], first["tile"], first["tiles"]) == ("photos", "ink", tile, 1)
        assert tall["tiles"] > 1 if tile else tall["tiles"] == 1  # tiled: the 120 px side is worked on at 64 px
        assert (tall["width"], tall["height"]) == (120, 300)
    back = run_job(TransferImages(project, RUN, direction="b2a", images=pictures[:1]))
    assert back["settings"][0]["from_style"] == "ink" and not np.array_equal(back["images"][0], result["images"][0])


def test_the_same_picture_gives_the_same_bytes_whatever_comes_with_it(project, tmp_path):
    picture = _picture(90, 130, 3)
    alone = run_job(TransferImages(project, RUN, images=[picture], tile=True))["images"][0]
    transfer_jobs.clear_cache()  # a freshly loaded model too
    crowd = [_picture(50, 50, 4), picture, _picture(R, R, 5)]
    among = run_job(TransferImages(project / "runs" / RUN, None, images=crowd, tile=True))["images"][1]
    assert np.array_equal(alone, among)
    path = tmp_path / "picture.png"
    Image.fromarray(picture).save(path)
    from_file = run_job(TransferImages(project, "latest", images=[path], tile=True))
    assert np.array_equal(from_file["images"][0], alone) and from_file["settings"][0]["input"] == "picture.png"


def test_a_picture_of_the_trained_size_is_one_tile_either_way(project):
    picture = _picture(R, R, 6)
    whole = run_job(TransferImages(project, RUN, images=[picture], tile=False))["images"][0]
    tiled = run_job(TransferImages(project, RUN, images=[picture], tile=True))["images"][0]
    assert np.array_equal(whole, tiled)


def test_overlapping_tiles_are_blended_without_seams():
    """Two tiles that disagree completely (0 and 200) meet in a smooth ramp across their overlap, no step."""
    from studio.core.generation.transfer_jobs import _blend, _tile_grid

    positions = _tile_grid(R, 56, R)
    assert positions == [(0, 0), (0, 24)]  # overlapping by a quarter of a tile
    tiles = np.stack([np.zeros((R, R, 3), np.uint8), np.full((R, R, 3), 200, np.uint8)])
    row = _blend(tiles, positions, (R, 56), R)[R // 2, :, 0].astype(int)
    assert row[0] == 0 and row[-1] == 200 and (row[:24] == 0).all() and (row[32:] == 200).all()
    steps = np.diff(row)
    assert (steps >= 0).all() and steps.max() <= 200 // (R // 4) + 1


def test_unusable_inputs_and_runs_are_refused_in_words(project, tmp_path):
    with pytest.raises(JobError, match="direction must be a2b"):
        run_job(TransferImages(project, RUN, direction="sideways", images=[_picture(R, R, 0)]))
    with pytest.raises(JobError, match="Drop or open"):
        run_job(TransferImages(project, RUN, images=[]))
    with pytest.raises(JobError, match="uint8"):
        run_job(TransferImages(project, RUN, images=[np.zeros((8, 8, 3), np.float32)]))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(JobError, match="not a picture the studio can read"):
        run_job(TransferImages(project, RUN, images=[broken]))
    with pytest.raises(JobError, match="no run “nope”"):
        run_job(TransferImages(project, "nope", images=[_picture(R, R, 0)]))


# -- folders --------------------------------------------------------------------------------------------------------
@pytest.fixture
def folder(tmp_path) -> Path:
    """Pictures in a folder and a sub-folder (PNG, JPEG, a transparent PNG, a name shared by a .png and a .jpg), a
    text file, a damaged picture and a hidden file."""
    source = tmp_path / "in"
    (source / "sub").mkdir(parents=True)
    Image.fromarray(_picture(40, 60, 1)).save(source / "a.png")
    Image.fromarray(_picture(40, 60, 2)).save(source / "a.jpg", quality=90)
    Image.fromarray(_picture(64, 64, 3)).save(source / "sub" / "b.jpeg")
    rgba = np.dstack([_picture(30, 30, 4), np.full((30, 30), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(source / "sub" / "see-through.png")
    (source / "notes.txt").write_text("not a picture")
    (source / "sub" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\ncut short")
    (source / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    return source


def test_a_folder_converts_to_one_png_per_picture_and_the_inputs_are_untouched(project, folder, tmp_path):
    before = _state(folder)
    out = tmp_path / "out"
    seen = []
    ctx = JobContext(on_progress=lambda fraction, message: seen.append((fraction, message)))
    result = run_job(ConvertFolder(project, RUN, folder, out, direction="a2b", tile=True), ctx)
    assert _state(folder) == before  # same bytes and the same modification times: only read
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["a.jpg.png", "a.png", "sub/b.png", "sub/see-through.png"]
    assert result["written"] == 4 and result["out"] == str(out.resolve())
    assert sorted(s["file"] for s in result["skipped"]) == ["notes.txt", "sub/broken.png"]
    assert all("not a picture the studio can read" in s["reason"] for s in result["skipped"])
    with Image.open(out / "sub" / "b.png") as made:
        assert made.size == (64, 64) and made.mode == "RGB"
    settings = png_settings.read_settings(out / "sub" / "b.png")
    assert (settings["source"], settings["input"], settings["direction"]) == ("transfer", "sub/b.jpeg", "a2b")
    fractions = [fraction for fraction, message in seen if message.startswith("Converted")]
    assert fractions == sorted(fractions) and len(fractions) == 6 and fractions[-1] == 1.0
    again = run_job(ConvertFolder(project, RUN, folder, tmp_path / "again", direction="a2b", tile=True))
    assert [Path(f).read_bytes() for f in again["files"]] == [Path(f).read_bytes() for f in result["files"]]


@pytest.mark.parametrize("where", [".", "sub", "sub/deeper"])
def test_an_output_folder_inside_the_source_folder_is_refused(project, folder, where):
    before = _state(folder)
    with pytest.raises(JobError, match="inside the folder being converted"):
        run_job(ConvertFolder(project, RUN, folder, folder / where))
    assert _state(folder) == before and not (folder / "sub" / "deeper").exists()


def test_an_output_that_would_replace_its_own_picture_is_refused(project, folder):
    with pytest.raises(JobError, match=r"would replace the picture a\.png itself"):
        run_job(ConvertSources(project, RUN, [folder / "a.png"], folder))
    with pytest.raises(JobError, match="not a folder"):
        run_job(ConvertFolder(project, RUN, folder / "a.png", folder.parent / "out"))


def test_converting_stops_between_pictures_when_cancelled(project, folder, tmp_path):
    ctx = JobContext()
    ctx._on_progress = lambda fraction, message: ctx.cancel() if message.startswith("Converted") else None
    with pytest.raises(Cancelled):
        run_job(ConvertFolder(project, RUN, folder, tmp_path / "out"), ctx)
    assert len(list((tmp_path / "out").rglob("*.png"))) == 1


# -- the CLI --------------------------------------------------------------------------------------------------------
def test_the_cli_transfers_files_and_folders_and_prints_one_json_line(project, folder, tmp_path, capsys):
    out = tmp_path / "cli-out"
    args = ["generate", "transfer", "--project", str(project), "--run", "latest", "--direction", "b2a"]
    assert main([*args, "--checkpoint", "10", "--out", str(out), str(folder / "sub"), str(folder / "a.jpg")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert (result["run_id"], result["step"], result["direction"], result["written"]) == (RUN, 10, "b2a", 3)
    assert sorted(Path(f).relative_to(out).as_posix() for f in result["files"]) == ["a.png", "b.png", "see-through.png"]
    assert [s["file"] for s in result["skipped"]] == ["broken.png"]

    assert main([*args, "--out", str(folder / "sub"), str(folder)]) == 2
    assert "inside the folder being converted" in capsys.readouterr().err
    assert main([*args, "--checkpoint", "99", "--out", str(out), str(folder)]) == 2
    assert "no checkpoint at step 99" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:
        main([*args[:-1], "sideways", "--out", str(out), str(folder)])
    assert refused.value.code == 2
