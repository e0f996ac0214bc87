"""Recording what the panels made and making it again: a real grid from the shipped starter GAN, a real text from the
starter writer and a clip of the system voice come back identical from the gallery's settings; an edited or
tampered copy reads as not identical; a deleted model is a plain error; the writer's old history imports once."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gallery_helpers import make_voice_run
from PIL import Image

from studio.core.gallery import Gallery, RecordImages, RecordSpeech, RecordText, Regenerate, import_writer_history
from studio.core.gallery.record import WRITER_HISTORY, items_of
from studio.core.generation.image_jobs import GenerateGrid
from studio.core.generation.image_model import resolve_run
from studio.core.generation.png_settings import read_settings
from studio.core.generation.sampling import SamplingSettings
from studio.core.generation.text_jobs import GenerateText
from studio.core.generation.text_model import resolve_text_run
from studio.core.jobs import JobError, run_job
from studio.core.project import create_project
from studio.core.speech.wav import wav_bytes


@pytest.fixture
def root(tmp_path):
    return create_project(tmp_path / "Project").root


@pytest.fixture
def one_torch_thread():
    """Sampling on one torch thread, as a window's job runs it (and as the machine's 2 cores allow)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def writer_entry(result: dict, prompt: str, settings: SamplingSettings, when: float = 1_767_000_000.0) -> dict:
    """The writer's history entry for a GenerateText result (studio/ui/widgets/writer/history.py's shape)."""
    texts = result["texts"]
    return {
        "id": f"{when:.6f}",
        "time": when,
        "run_id": result["run_id"],
        "step": result["step"],
        "template": "",
        "template_title": "",
        "fields": {},
        "prompt": prompt,
        "settings": settings.to_dict(),
        "variants": len(texts),
        "texts": [t.lstrip() for t in texts],  # the writer keeps leading whitespace aside
        "leads": [t[: len(t) - len(t.lstrip())] for t in texts],
        "seeds": list(result["seeds"]),
        "state": "done",
    }


def test_a_grid_from_the_starter_gan_is_kept_and_regenerates_identical_pixels(root, one_torch_thread):
    grid = run_job(GenerateGrid(resolve_run(root, "starter-shapes"), None, seed=42, count=4, class_name="square"))
    items = items_of(run_job(RecordImages(root, grid)))
    assert [i.title for i in items] == [f"square · Seed 42 · image {n}" for n in (1, 2, 3, 4)]
    with Gallery(root) as gallery:  # kept: listed after a reopen, the PNG carries its settings
        listed = gallery.items(panel="image")
        assert [i.id for i in listed] == [i.id for i in items]
        assert listed[2].run_id == "starter-shapes" and listed[2].step == grid["step"]
        png = gallery.file_path(listed[2])
        assert read_settings(png)["latent_index"] == 2 and listed[2].settings["seed"] == 42
        assert np.array_equal(np.asarray(Image.open(png).convert("RGB")), grid["images"][2])
    again = run_job(Regenerate(root, items[2].id))
    assert again["kind"] == "image" and again["identical"] is True
    assert np.array_equal(again["image"], grid["images"][2])

    pixels = np.asarray(Image.open(png).convert("RGB")).copy()  # someone painted over the kept copy
    pixels[0, 0] = 255 - pixels[0, 0]
    Image.fromarray(pixels).save(png)
    assert run_job(Regenerate(root, items[2].id))["identical"] is False


def test_a_starter_text_is_kept_and_writes_again_identically(root, one_torch_thread):
    prompt = "ROMEO:"
    settings = SamplingSettings(max_tokens=20, seed=7, temperature=0.9)
    result = run_job(GenerateText(resolve_text_run(root, "starter-shakespeare"), prompt, settings, variants=2))
    assert result["texts"][0] != result["texts"][1]
    entry = writer_entry(result, prompt, settings)
    (item,) = items_of(run_job(RecordText(root, entry)))
    assert item.title == "ROMEO:" and item.run_id == "starter-shakespeare" and len(item.files) == 2
    with Gallery(root) as gallery:
        assert [i.id for i in gallery.items(panel="text", search=result["texts"][1].strip()[:8])] == [item.id]
        assert gallery.file_path(item, 1).read_text(encoding="utf-8") == result["texts"][1].lstrip()
    again = run_job(Regenerate(root, item.id))
    assert again["identical"] is True
    assert again["texts"] == [t.lstrip() for t in result["texts"]]

    with Gallery(root) as gallery:  # the user edited the kept text: it is no longer what the settings write
        gallery.file_path(item, 0).write_text("ROMEO: edited by hand", encoding="utf-8")
    assert run_job(Regenerate(root, item.id))["identical"] is False


def test_a_text_whose_model_was_deleted_says_so_plainly(root):
    entry = {
        "id": "1",
        "time": 1_767_000_000.0,
        "run_id": "20260101-000000-gpt",
        "step": 10,
        "prompt": "Hi",
        "settings": {"seed": 1},
        "texts": ["there"],
    }
    (item,) = items_of(run_job(RecordText(root, entry)))
    with pytest.raises(JobError, match="cannot be made again: There is no run “20260101-000000-gpt”"):
        run_job(Regenerate(root, item.id))


def test_a_trained_voice_clip_is_kept_and_speaks_again_identically(root, one_torch_thread):
    from studio.core.generation.speech_jobs import SynthesizeSpeech

    make_voice_run(root)
    settings = {"voice": "latest", "text": "Fresh coffee. Every morning!", "rate": 1.2, "pitch": 0.0, "volume": 0.9}
    settings.update(vocoder="griffinlim", dictionary={"coffee": "kaw fee", "tea": "tee"}, step=None)
    result = run_job(SynthesizeSpeech(project_root=root, **settings))
    (item,) = items_of(run_job(RecordSpeech(root, result, settings)))
    assert item.kind == "audio" and item.panel == "speech"
    assert item.run_id == "20260101-000000-tts" and item.step == 10  # "latest" and "newest" as resolved then
    assert item.settings["dictionary"] == {"coffee": "kaw fee"}  # only the entries that apply to the script
    assert item.title == "Fresh coffee. Every morning!" and item.settings["vocoder"] == "griffinlim"
    again = run_job(Regenerate(root, item.id))
    assert again["exact"] is True and again["identical"] is True
    assert again["sample_rate"] == result["sample_rate"] and np.array_equal(again["samples"], result["samples"])
    with Gallery(root) as gallery:  # a kept clip that differs is reported as such
        gallery.file_path(item).write_bytes(wav_bytes(np.asarray(result["samples"]) * 0.5, result["sample_rate"]))
    assert run_job(Regenerate(root, item.id))["identical"] is False


def test_a_system_voice_clip_is_spoken_again_with_its_settings(root):
    from studio.core.generation.speech_jobs import SynthesizeSpeech
    from studio.core.speech import espeak

    if not espeak.available():
        pytest.skip(f"espeak-ng is not loadable here ({espeak.error()}), so the system voice cannot speak")
    settings = {"voice": "system:en-us", "text": "Hello there.", "rate": 1.1, "pitch": 2.0, "dictionary": {}}
    result = run_job(SynthesizeSpeech(project_root=root, **settings))
    (item,) = items_of(run_job(RecordSpeech(root, result, settings)))
    assert item.run_id == "system:en-us" and item.step is None and item.settings["rate"] == 1.1
    again = run_job(Regenerate(root, item.id))
    # espeak-ng is not bit-exact from one call to the next (see regenerate's docstring): the same speech, not the
    # same samples, and the result says so
    assert again["exact"] is False and again["sample_rate"] == result["sample_rate"]
    assert abs(len(again["samples"]) - len(result["samples"])) < 0.02 * len(result["samples"])


def test_a_clip_of_a_voice_outside_the_project_or_gone_is_refused(root):
    samples = {"samples": np.zeros(100, np.float32), "sample_rate": 16000, "voice": "x", "kind": "piper"}
    (outside,) = items_of(run_job(RecordSpeech(root, samples, {"voice": "piper:/elsewhere/v.onnx", "text": "Hi."})))
    with pytest.raises(JobError, match="outside this project"):
        run_job(Regenerate(root, outside.id))
    (trained,) = items_of(run_job(RecordSpeech(root, samples, {"voice": "../../runs", "text": "Hi."})))
    with pytest.raises(JobError, match="not a voice of this project"):
        run_job(Regenerate(root, trained.id))


def test_the_writer_history_is_imported_once(root):
    entries = [
        {
            "id": "2",
            "time": 1_767_000_200.0,
            "run_id": "r",
            "prompt": "Second",
            "settings": {"seed": 2},
            "texts": ["b"],
        },
        {"id": "1", "time": 1_767_000_100.0, "run_id": "r", "prompt": "First", "settings": {"seed": 1}, "texts": ["a"]},
        {"id": "0", "time": 1_767_000_000.0, "prompt": "Never written", "texts": ["", ""]},  # stopped before a word
        "not an entry",
    ]
    (root / WRITER_HISTORY).parent.mkdir(parents=True)
    (root / WRITER_HISTORY).write_text(json.dumps({"schema": 1, "entries": entries}), encoding="utf-8")
    with Gallery(root) as gallery:  # the writer already kept "1" itself (after the panels were wired)
        gallery.add("text", "text", {"writer_id": "1"}, title="First", created="2025-12-29T09:21:40+00:00")
    assert import_writer_history(root) == 1
    assert import_writer_history(root) == 0
    with Gallery(root) as gallery:
        assert [i.title for i in gallery.items(panel="text")] == ["Second", "First"]
        second = gallery.items(search="second")[0]
        assert second.created == "2025-12-29T09:23:20+00:00" and second.settings["seeds"] == [2]
        assert gallery.file_path(second).read_text(encoding="utf-8") == "b"


def test_the_kept_try_of_a_variant_written_again_is_replayed_with_its_own_steer():
    from studio.core.gallery.record import kept_steer
    from studio.core.generation.text_jobs import retry_settings

    sampling = SamplingSettings(seed=100, required_words=["organic"], required_boost=1.0, enforce_required=True)
    for variant in range(3):
        for attempt in range(5):
            tried = retry_settings(sampling, variant, attempt, 3)
            assert kept_steer(sampling.to_dict(), variant, tried.seed, 3) == tried.required_boost
    assert kept_steer({**sampling.to_dict(), "enforce_required": False}, 0, 100, 3) == 1.0
