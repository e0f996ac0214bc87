import io

import numpy as np
import soundfile
from PIL import Image

from studio.core.demo import CLIPS, IMAGES_PER_CLASS, SOURCES, MakeDemoProject
from studio.core.jobs import Cancelled, JobContext, run_job
from studio.core.project import open_project
from studio.core.smoke import TinyFit, WaitForCancel


def test_demo_project_has_images_copy_and_clips(tmp_path):
    reports = []
    project = run_job(MakeDemoProject(tmp_path), JobContext(on_progress=lambda f, m: reports.append(f)))
    sources = project.root / SOURCES
    images = sorted((sources / "shapes").rglob("*.png"))
    assert len(images) == 3 * IMAGES_PER_CLASS
    assert {p.parent.name for p in images} == {"circle", "square", "triangle"}
    with Image.open(images[0]) as image:
        assert image.size == (96, 96) and image.mode == "RGB"
    lines = (sources / "copy.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 200 and all(line.startswith("Our ") for line in lines)
    clips = sorted((sources / "voice").glob("*.wav"))
    assert len(clips) == CLIPS
    audio, rate = soundfile.read(io.BytesIO(clips[0].read_bytes()))
    assert rate == 22050 and 1.0 <= len(audio) / rate <= 2.0 and np.abs(audio).max() > 0.1
    assert reports[0] == 0.0 and reports[-1] == 1.0
    assert open_project(project.root).extra["demo"]["sources"] == SOURCES
    assert {name: d["kind"] for name, d in project.datasets.items()} == {
        "shapes": "image",
        "copy": "text",
        "voice": "audio",
    }
    assert project.datasets["shapes"]["items"] == 3 * IMAGES_PER_CLASS and project.datasets["voice"]["items"] == CLIPS


def test_demo_is_deterministic_and_reopening_keeps_existing_files(tmp_path):
    first = run_job(MakeDemoProject(tmp_path / "a"))
    second = run_job(MakeDemoProject(tmp_path / "b"))
    name = "shapes/triangle/triangle_005.png"
    assert (first.root / SOURCES / name).read_bytes() == (second.root / SOURCES / name).read_bytes()
    stamp = (first.root / SOURCES / name).stat().st_mtime_ns
    run_job(MakeDemoProject(tmp_path / "a"))
    assert (first.root / SOURCES / name).stat().st_mtime_ns == stamp


def test_tiny_fit_really_trains():
    result = run_job(TinyFit(steps=30))
    assert result["loss_end"] < result["loss_start"] / 2


def test_wait_for_cancel_stops_at_the_next_check():
    ctx = JobContext()
    ctx.cancel()
    try:
        run_job(WaitForCancel(), ctx)
    except Cancelled:
        return
    raise AssertionError("WaitForCancel ignored the cancel")
