"""Image generation from GAN and VAE runs: determinism (same seed -> same PNG bytes, also through the real
CLI), PNG settings that regenerate the exact pixels, latent walks and looping GIFs, classes, VAE
reconstruction and morphs, and plain-language errors for hostile input (PNGs without settings, missing
runs, damaged checkpoints). The runs are hand-made from the real networks (see generation_helpers)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from generation_helpers import GAN, GAN_CLASSES, REFERENCE, VAE, make_run
from PIL import Image

from studio.core.generation import animation, image_jobs, image_model, png_settings
from studio.core.generation.image_jobs import (
    ExportImages,
    GenerateGrid,
    GenerateVariations,
    MakeLatentWalk,
    Morph,
    ReconstructImages,
)
from studio.core.jobs import Cancelled, JobContext, JobError, run_job


def studio(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "studio", *args], capture_output=True, text=True, timeout=timeout)


def run_folder(project, run_id):
    return project / "runs" / run_id


# -- determinism ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_cli_writes_byte_identical_pngs_for_the_same_arguments(project, tmp_path):
    args = [
        "generate",
        "image",
        "--project",
        str(project),
        "--run",
        GAN_CLASSES,
        "--count",
        "3",
        "--seed",
        "7",
        "--class",
        "square",
        "--scale",
        "2",
    ]
    first, second = studio(*args, "--out", str(tmp_path / "a")), studio(*args, "--out", str(tmp_path / "b"))
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    result = json.loads(first.stdout.strip())  # one JSON line
    assert len(first.stdout.strip().splitlines()) == 1
    assert (result["run_id"], result["step"], result["seed"], result["count"], result["class"]) == (
        GAN_CLASSES,
        10,
        7,
        3,
        "square",
    )
    names = [p.rsplit("/", 1)[-1] for p in result["files"]]
    assert names == [f"{GAN_CLASSES}-square-s7-{i:02d}-x2.png" for i in (1, 2, 3)]  # counted as the canvas counts
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    with Image.open(tmp_path / "a" / names[2]) as image:
        assert image.size == (64, 64) and image.text["seed"] == "7" and image.text["class"] == "square"
    settings = png_settings.read_settings(tmp_path / "a" / names[2])
    assert {k: settings[k] for k in ("run_id", "step", "seed", "latent_index", "class", "truncation", "scale")} == {
        "run_id": GAN_CLASSES,
        "step": 10,
        "seed": 7,
        "latent_index": 2,
        "class": "square",
        "truncation": 1.0,
        "scale": 2,
    }

    # the function gives the same bytes as the CLI, and another seed gives other pixels
    grid = run_job(GenerateGrid(run_folder(project, GAN_CLASSES), seed=7, count=3, class_name="square"))
    files = run_job(ExportImages(grid["images"], grid["settings"], tmp_path / "c", scale=2))["files"]
    assert [Path(f).read_bytes() for f in files] == [(tmp_path / "a" / n).read_bytes() for n in names]
    other = run_job(GenerateGrid(run_folder(project, GAN_CLASSES), seed=8, count=3, class_name="square"))
    assert not np.array_equal(other["images"], grid["images"])


def test_latent_i_of_a_seed_and_its_pixels_do_not_depend_on_how_many_were_asked_for(project):
    model = image_model.cached_model(run_folder(project, GAN))
    assert np.array_equal(model.latents(3, 5), model.latents(3, 40)[:5])
    assert np.array_equal(model.latents(3, 4, start=17), model.latents(3, 21)[17:])
    assert not np.array_equal(model.latents(3, 5), model.latents(4, 5))
    small = run_job(GenerateGrid(run_folder(project, GAN), seed=3, count=3))["images"]
    large = run_job(GenerateGrid(run_folder(project, GAN), seed=3, count=40))["images"]
    assert np.array_equal(small, large[:3])
    late = run_job(GenerateGrid(run_folder(project, GAN), seed=3, count=2, start=37))["images"]
    assert np.array_equal(late, large[37:39])  # index 37 alone, computed in its own canonical chunk
    assert len({large[i].tobytes() for i in range(40)}) == 40  # every latent makes its own picture


def test_truncation_scales_the_latent_toward_the_mean(project):
    model = image_model.cached_model(run_folder(project, GAN))
    latents = model.latents(0, 4)
    half = model.generate(latents, truncation=0.5)
    assert np.array_equal(half, model.generate(latents * 0.5))  # 0.5 is exact in float32
    assert not np.array_equal(half, model.generate(latents))
    with pytest.raises(JobError, match="Truncation must be above 0"):
        run_job(GenerateGrid(run_folder(project, GAN), truncation=0))


# -- PNG settings ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scale, resample", [(1, "nearest"), (3, "lanczos")])
def test_a_png_round_trip_regenerates_identical_pixels(project, tmp_path, scale, resample):
    folder = run_folder(project, GAN_CLASSES)
    grid = run_job(GenerateGrid(folder, seed=11, count=20, class_name="circle", truncation=0.8))
    variations = run_job(GenerateVariations(folder, grid["settings"][18], seed=5, count=4, strength=0.4))
    deeper = run_job(GenerateVariations(folder, variations["settings"][2], seed=6, count=3, strength=0.2))
    walk = run_job(MakeLatentWalk(folder, grid["settings"][:3], tmp_path / "walk.gif", frames_per_leg=4))
    images = [grid["images"][18], variations["images"][2], deeper["images"][1], walk["frames"][5]]
    settings = [grid["settings"][18], variations["settings"][2], deeper["settings"][1], walk["frame_settings"][5]]
    files = run_job(ExportImages(images, settings, tmp_path / "out", scale, resample))["files"]
    assert len(set(files)) == 4
    image_model.clear_cache()  # regenerate loads the model again, as a fresh session would
    for path in files:
        stored = np.asarray(Image.open(path).convert("RGB"))
        assert stored.shape == (32 * scale, 32 * scale, 3)
        read = png_settings.read_settings(path)
        assert read["scale"] == scale and read["resample"] == resample
        assert np.array_equal(png_settings.regenerate(project, read), stored), path
    opened = run_job(image_jobs.OpenPng(project, files[2]))
    assert opened["identical"] and opened["image"].shape == (32, 32, 3) and opened["step"] == 10
    assert np.array_equal(opened["image"], deeper["images"][1])
    # variations stay near their base image, and keep its class and truncation
    base = grid["images"][18].astype(int)
    assert np.abs(variations["images"].astype(int) - base).mean() < np.abs(grid["images"][:4].astype(int) - base).mean()
    assert {s["class"] for s in variations["settings"]} == {"circle"}
    norms = np.linalg.norm(variations["latents"], axis=1)
    assert np.allclose(norms, np.linalg.norm(grid["latents"][18]), rtol=1e-5)


def test_same_settings_give_byte_identical_files_and_unicode_class_names_survive(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    settings = {
        "source": "grid",
        "run_id": "r",
        "step": 3,
        "seed": 1,
        "latent_index": 0,
        "class": "猫",
        "class_index": 0,
        "truncation": 1.0,
    }
    a = png_settings.save_png(tmp_path / "a.png", pixels, settings, scale=2, resample="lanczos")
    b = png_settings.save_png(tmp_path / "b.png", pixels, dict(reversed(settings.items())), 2, "lanczos")
    assert a.read_bytes() == b.read_bytes()
    assert b"tIME" not in a.read_bytes()
    assert png_settings.read_settings(a)["class"] == "猫"
    assert Image.open(a).text["class"] == "猫"


def test_hostile_pngs_and_settings_get_plain_errors(project, tmp_path):
    plain = tmp_path / "plain.png"
    Image.new("RGB", (4, 4)).save(plain)
    before = plain.read_bytes()
    with pytest.raises(JobError, match="has no AIGC Studio settings"):
        png_settings.read_settings(plain)
    assert plain.read_bytes() == before  # the user's file is only read
    jpeg = tmp_path / "photo.jpg"
    Image.new("RGB", (4, 4)).save(jpeg)
    with pytest.raises(JobError, match="only PNGs exported by AIGC Studio"):
        png_settings.read_settings(jpeg)
    (tmp_path / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(JobError, match="not a picture that can be read"):
        png_settings.read_settings(tmp_path / "junk.png")

    grid = run_job(GenerateGrid(run_folder(project, GAN_CLASSES), count=1))
    settings = grid["settings"][0]
    with pytest.raises(JobError, match="is not in the project"):
        png_settings.regenerate(project, {**settings, "run_id": "20250101-000000-gan"})
    with pytest.raises(JobError, match=r"no checkpoint at step 7 .*steps 5, 10"):
        png_settings.regenerate(project, {**settings, "step": 7})
    with pytest.raises(JobError, match="only generated images regenerate"):
        png_settings.regenerate(project, {**settings, "source": "reconstruction"})
    with pytest.raises(JobError, match="do not say which latent"):
        png_settings.regenerate(project, {k: v for k, v in settings.items() if k != "seed"})


# -- walks and GIFs ----------------------------------------------------------------------------------------------
def test_walk_endpoints_are_the_inputs_and_a_looped_walk_returns_to_the_start():
    points = np.random.default_rng(1).standard_normal((3, 16)).astype(np.float32)
    frames = animation.walk(points, frames_per_leg=5, easing="smooth", loop=False)
    assert frames.shape == (11, 16)
    assert np.array_equal(frames[0], points[0]) and np.array_equal(frames[5], points[1])
    assert np.array_equal(frames[-1], points[2])
    looped = animation.walk(points, frames_per_leg=5, loop=True)
    assert looped.shape == (15, 16) and np.array_equal(looped[0], points[0])
    closed = animation.walk(np.concatenate([points, points[:1]]), frames_per_leg=5, loop=False)
    assert np.array_equal(looped, closed[:-1])  # its last leg heads back to the start: no seam, no doubled frame
    steps = np.linalg.norm(np.diff(np.concatenate([looped, looped[:1]]), axis=0), axis=1)
    assert steps.max() < 0.6 * np.linalg.norm(points[1] - points[0])
    linear = animation.walk(points, 5, easing="linear", loop=False)
    assert not np.allclose(linear, frames)
    # slerp keeps Gaussian latents near their shell instead of cutting through the low-norm middle
    a, b = points[0], points[1]
    assert np.linalg.norm(animation.slerp(a, b, 0.5)) > np.linalg.norm((a + b) / 2)
    with pytest.raises(JobError, match="at least two"):
        animation.walk(points[:1], 4)
    with pytest.raises(JobError, match="Unknown easing"):
        animation.walk(points, 4, easing="bounce")


def test_a_latent_walk_is_written_as_a_looping_gif(project, tmp_path):
    folder = run_folder(project, GAN)
    grid = run_job(GenerateGrid(folder, seed=2, count=3))
    out = tmp_path / "gifs" / "walk.gif"
    result = run_job(MakeLatentWalk(folder, grid["settings"], out, frames_per_leg=4, fps=10, scale=2))
    assert result["count"] == 12 and result["frames"].shape == (12, 32, 32, 3)
    assert np.array_equal(result["frames"][0], grid["images"][0])  # the walk starts on the first image
    assert np.array_equal(result["frames"][4], grid["images"][1])
    with Image.open(out) as gif:
        assert gif.n_frames == 12 and gif.info["loop"] == 0 and gif.info["duration"] == 100
        assert gif.size == (64, 64)
        assert json.loads(gif.info["comment"])["walk"]["frames_per_leg"] == 4
    again = run_job(MakeLatentWalk(folder, grid["settings"], tmp_path / "again.gif", frames_per_leg=4, fps=10, scale=2))
    assert Path(again["path"]).read_bytes() == out.read_bytes()
    mixed = (
        run_job(GenerateGrid(run_folder(project, GAN_CLASSES), count=1, class_name="circle"))["settings"]
        + run_job(GenerateGrid(run_folder(project, GAN_CLASSES), count=1, class_name="square"))["settings"]
    )
    with pytest.raises(JobError, match=r"stays within one class.*circle, square"):
        run_job(MakeLatentWalk(run_folder(project, GAN_CLASSES), mixed, tmp_path / "no.gif"))
    assert not (tmp_path / "no.gif").exists()


# -- classes -----------------------------------------------------------------------------------------------------
def test_a_class_is_chosen_by_name_or_index_and_an_unknown_one_is_named(project):
    folder = run_folder(project, GAN_CLASSES)
    circle = run_job(GenerateGrid(folder, seed=4, count=2, class_name="circle"))
    square = run_job(GenerateGrid(folder, seed=4, count=2, class_name="square"))
    by_index = run_job(GenerateGrid(folder, seed=4, count=2, class_name=1))
    default = run_job(GenerateGrid(folder, seed=4, count=2))
    assert np.array_equal(square["images"], by_index["images"]) and square["settings"][0]["class_index"] == 1
    assert not np.array_equal(circle["images"], square["images"])  # same latents, another class
    assert np.array_equal(default["images"], circle["images"]) and default["class"] == "circle"
    with pytest.raises(JobError) as error:
        run_job(GenerateGrid(folder, class_name="triangle"))
    assert str(error.value) == (f"The model {GAN_CLASSES} has no class “triangle”; its classes are: circle, square.")
    with pytest.raises(JobError, match="trained without classes"):
        run_job(GenerateGrid(run_folder(project, GAN), class_name="circle"))


# -- VAE ---------------------------------------------------------------------------------------------------------
def test_vae_reconstructs_any_picture_and_morphs_between_two(project, tmp_path):
    folder = run_folder(project, VAE)
    rgba = tmp_path / "logo.png"
    Image.new("RGBA", (50, 30), (200, 10, 10, 128)).save(rgba)
    before = hashlib.sha256(rgba.read_bytes()).hexdigest()
    gray = np.random.default_rng(0).integers(0, 256, (40, 70), dtype=np.uint8)
    result = run_job(ReconstructImages(folder, [rgba, gray]))
    assert result["originals"].shape == result["images"].shape == (2, 32, 32, 3)
    assert result["images"].dtype == np.uint8 and result["latents"].shape == (2, 16)
    assert result["settings"][0]["input"] == "logo.png" and result["settings"][0]["source"] == "reconstruction"
    assert hashlib.sha256(rgba.read_bytes()).hexdigest() == before
    again = run_job(ReconstructImages(folder, [rgba, gray]))
    assert np.array_equal(again["images"], result["images"])  # the posterior mean: no sampling noise

    morph = run_job(Morph(folder, rgba, gray, frames_per_leg=6, out_path=tmp_path / "morph.gif"))
    assert morph["frames"].shape == (7, 32, 32, 3) and morph["count"] == 7
    assert np.abs(morph["frames"][0].astype(int) - result["images"][0]).max() <= 1
    assert np.abs(morph["frames"][-1].astype(int) - result["images"][1]).max() <= 1
    with Image.open(morph["path"]) as gif:
        assert gif.n_frames >= 2 and gif.info["loop"] == 0
    samples = run_job(GenerateGrid(folder, seed=1, count=4))
    assert samples["images"].shape == (4, 32, 32, 3) and samples["kind"] == "vae"
    with pytest.raises(JobError, match=r"Only a (.* or )?VAE.* can reconstruct pictures"):
        run_job(ReconstructImages(run_folder(project, GAN), [gray]))


# -- loading -----------------------------------------------------------------------------------------------------
def test_ema_weights_are_preferred_and_the_newest_checkpoint_is_the_default(project):
    from safetensors.torch import load_file

    folder = run_folder(project, GAN_CLASSES)
    model = image_model.load_image_model(folder)
    assert (model.step, model.ema, model.kind, model.classes) == (10, True, "gan", ["circle", "square"])
    weights = load_file(str(folder / "checkpoints" / "step-000010.safetensors"))
    stem = model.network.state_dict()["stem.weight"]
    assert stem.equal(weights["ema.generator.stem.weight"]) and not stem.equal(weights["generator.stem.weight"])
    assert image_model.load_image_model(folder, step=5).step == 5
    vae = image_model.load_image_model(run_folder(project, VAE))
    assert vae.ema is False and vae.kind == "vae"


def test_a_second_grid_reuses_the_loaded_model_until_the_checkpoint_changes(project, monkeypatch):
    loads = []
    real = image_model._models.load
    monkeypatch.setattr(image_model._models, "load", lambda *a, **k: loads.append(a) or real(*a, **k))
    folder = run_folder(project, GAN)
    run_job(GenerateGrid(folder, seed=1, count=2))
    run_job(GenerateGrid(folder, seed=2, count=2))
    assert len(loads) == 1
    make_run(project, "20260101-000009-gan", "gan")  # another run: loaded once
    weights = run_folder(project, "20260101-000009-gan") / "checkpoints" / "step-000010.safetensors"
    (folder / "checkpoints" / "step-000010.safetensors").write_bytes(weights.read_bytes())  # rewritten in place
    run_job(GenerateGrid(folder, seed=1, count=2))
    assert len(loads) == 2


def test_damaged_checkpoints_and_wrong_runs_raise_job_errors_that_say_what_to_do(project):
    folder = run_folder(project, GAN)
    weights = folder / "checkpoints" / "step-000010.safetensors"
    weights.write_bytes(weights.read_bytes()[: len(weights.read_bytes()) // 2])  # torn
    with pytest.raises(JobError, match=r"step 10 of .* is damaged or incomplete; pick another checkpoint"):
        run_job(GenerateGrid(folder))
    weights.write_bytes(b"\0" * 64)
    with pytest.raises(JobError, match="damaged or incomplete"):
        image_model.load_image_model(folder)
    import torch
    from safetensors.torch import save_file

    classes = run_folder(project, GAN_CLASSES)
    tensors = image_model.load_image_model(classes).network.state_dict()
    poisoned = {f"generator.{k}": (v.fill_(float("nan")) if v.is_floating_point() else v) for k, v in tensors.items()}
    save_file(poisoned, str(classes / "checkpoints" / "step-000005.safetensors"))
    with pytest.raises(JobError, match=r"invalid numbers.*earlier checkpoint"):
        image_model.load_image_model(classes, step=5)
    wrong = {f"generator.{k}": torch.zeros(3) for k in tensors}
    save_file(wrong, str(classes / "checkpoints" / "step-000005.safetensors"))
    with pytest.raises(JobError, match="damaged or incomplete"):
        image_model.load_image_model(classes, step=5)
    with pytest.raises(JobError, match="is a “reference” model, not an image generator"):
        image_model.load_image_model(run_folder(project, REFERENCE))
    empty = make_run(project, "20260101-000010-vae", "vae", steps=())
    with pytest.raises(JobError, match="has no saved checkpoint yet"):
        run_job(GenerateGrid(empty))


def test_a_job_stops_between_chunks_when_cancelled(project):
    fractions = []

    def on_progress(fraction, message):
        fractions.append(fraction)
        if fraction > 0.1:  # after the first chunk of 16
            ctx.cancel()

    ctx = JobContext(on_progress=on_progress)
    with pytest.raises(Cancelled):
        GenerateGrid(run_folder(project, GAN), count=64)(ctx)
    assert 0 < max(fractions) < 1


# -- CLI errors --------------------------------------------------------------------------------------------------
def test_the_cli_refuses_unknown_runs_classes_and_folders_with_exit_2(project, tmp_path):
    base = ["generate", "image", "--project", str(project), "--out", str(tmp_path / "out")]
    for extra, message in (
        (["--run", "no-such-run"], f"There is no run “no-such-run” in {project}"),
        (["--run", GAN_CLASSES, "--class", "triangle"], "its classes are: circle, square"),
        (["--run", GAN_CLASSES, "--checkpoint", "7"], "no checkpoint at step 7"),
        (["--run", REFERENCE], "not an image generator"),
        (["--run", GAN, "--count", "0"], "number of images must be"),
        (["--run", GAN, "--scale", "0"], "upscale factor must be"),
    ):
        refused = studio(*base, *extra)
        assert refused.returncode == 2, (extra, refused.stderr)
        assert message in refused.stderr and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert refused.stdout == ""
    elsewhere = studio(
        "generate", "image", "--project", str(tmp_path / "nowhere"), "--run", "latest", "--out", str(tmp_path / "out")
    )
    assert elsewhere.returncode == 2 and "is not an AIGC Studio project" in elsewhere.stderr
    assert not (tmp_path / "out").exists()


def test_run_latest_is_the_newest_image_run_with_a_checkpoint(project):
    make_run(project, "20260101-000020-vae", "vae", steps=(), created="2026-01-01T00:00:20+00:00")  # no checkpoint
    assert image_model.resolve_run(project, "latest").name == VAE  # the reference run is newer, but no image model


def test_a_gan_trained_by_the_engine_generates_and_regenerates(tmp_path, monkeypatch):
    """The contract with the training side: describe()'s "model" block and the checkpoint's weight names.
    The run's final quality evaluation is skipped: it costs seconds and says nothing about that contract."""
    from studio.core.datasets.importer import ImportDataset
    from studio.core.training import TrainJob
    from studio.core.training.image_gan import GanRecipe

    monkeypatch.setattr(GanRecipe, "evaluate", lambda self, models: {})

    rng = np.random.default_rng(0)
    for label in ("circles", "squares"):
        (tmp_path / "drop" / label).mkdir(parents=True)
        for i in range(6):
            pixels = rng.integers(0, 256, (36, 36, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "drop" / label / f"{i}.png")
    root = tmp_path / "Trained"
    run_job(ImportDataset(root, "pics", [tmp_path / "drop"], kind="image", workers=1))
    job = TrainJob(
        root,
        "pics",
        "gan",
        preset="fast",
        steps=2,
        checkpoint_every=2,
        overrides={"resolution": 32, "batch_size": 4, "width": 4, "eval_every": 100, "sample_every": 100},
    )
    run_job(job)
    folder = image_model.resolve_run(root, "latest")
    assert folder.name == job.run_id
    grid = run_job(GenerateGrid(folder, seed=9, count=3, class_name="squares"))
    assert grid["images"].shape == (3, 32, 32, 3) and grid["step"] == 2 and grid["classes"] == ["circles", "squares"]
    assert image_model.cached_model(folder).ema  # the EMA generator the previews use
    path = png_settings.save_png(tmp_path / "one.png", grid["images"][2], grid["settings"][2])
    image_model.clear_cache()
    assert np.array_equal(png_settings.regenerate(root, png_settings.read_settings(path)), grid["images"][2])
