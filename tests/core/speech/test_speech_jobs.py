"""The speech jobs the panel and the CLI run: progress per sentence, Stop, batch export, voice list, errors,
and the pitch/speed tools for voices without their own knobs."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import soundfile

from studio.core.generation.speech_jobs import ExportLines, SynthesizeSpeech, list_voices, write_speech
from studio.core.jobs import Cancelled, JobContext, JobError, run_job
from studio.core.speech import dsp

TEXT = "First sentence here. Second one? Third, and last!"


def test_progress_per_sentence_and_result_fields(tmp_path):
    reports = []
    ctx = JobContext(on_progress=lambda f, m: reports.append((f, m)))
    result = run_job(SynthesizeSpeech("system:en-us", TEXT), ctx)
    sentence_reports = [m for _, m in reports if m.startswith("Sentence")]
    assert sentence_reports == ["Sentence 1 of 3", "Sentence 2 of 3", "Sentence 3 of 3"]
    assert reports[-1][0] == 1.0 and [f for f, _ in reports] == sorted(f for f, _ in reports)
    assert [s["text"] for s in result["sentences"]] == ["First sentence here.", "Second one?", "Third, and last!"]
    spans = [(s["start"], s["end"]) for s in result["sentences"]]
    assert spans[0][0] == 0.0 and all(a[1] < b[0] for a, b in itertools.pairwise(spans))
    assert abs(spans[-1][1] - result["duration"]) < 1e-6
    assert result["sample_rate"] == 22050 and result["voice"] == "system:en-us"
    assert result["spectrogram"].dtype == np.uint8 and result["spectrogram"].shape[0] == 128
    path = write_speech(tmp_path / "out.wav", result)
    assert soundfile.info(str(path)).frames == len(result["samples"])


def test_cancel_stops_between_sentences():
    ctx = JobContext()
    seen = []

    def on_progress(fraction, message):
        seen.append(message)
        if message == "Sentence 2 of 3":
            ctx.cancel()

    ctx._on_progress = on_progress
    with pytest.raises(Cancelled):
        run_job(SynthesizeSpeech("system:en-us", TEXT), ctx)
    assert "Sentence 3 of 3" not in seen


def test_export_lines_writes_one_file_per_line(tmp_path):
    text = "Welcome to the show.\n\n  Buy one, get one free!  \n...\nThanks for listening"
    reports = []
    result = run_job(
        ExportLines("system:en-gb", text, tmp_path / "lines", rate=1.2),
        JobContext(on_progress=lambda f, m: reports.append(f)),
    )
    assert all(isinstance(p, str) for p in result["files"])
    names = [Path(p).name for p in result["files"]]
    assert names == ["001-welcome-to-the-show.wav", "002-buy-one-get-one-free.wav", "003-thanks-for-listening.wav"]
    for path in result["files"]:
        info = soundfile.info(str(path))
        assert info.samplerate == 22050 and info.subtype == "PCM_16" and info.frames > 10000
    assert reports == sorted(reports) and reports[-1] == 1.0
    with pytest.raises(JobError, match="no lines"):
        run_job(ExportLines("system:en-us", " \n\n", tmp_path / "none"))


def test_voice_list_and_plain_errors(tmp_path):
    voices = list_voices(None)
    assert voices[0]["id"] == "system:en-us" and voices[1]["id"] == "system:en-gb"
    assert all(v["kind"] == "system" and v["sample_rate"] == 22050 for v in voices)
    assert len(voices) > 50
    with pytest.raises(JobError, match="no text"):
        run_job(SynthesizeSpeech("system:en-us", "  "))
    with pytest.raises(JobError, match="needs a project"):
        run_job(SynthesizeSpeech("my-voice", "Hello."))
    with pytest.raises(JobError, match=r"no voice “my-voice”|There is no voice"):
        run_job(SynthesizeSpeech("my-voice", "Hello.", project_root=tmp_path))
    with pytest.raises(JobError, match="no voice for the language"):
        run_job(SynthesizeSpeech("system:xx-nope", "Hello."))
    with pytest.raises(JobError, match="speed"):
        run_job(SynthesizeSpeech("system:en-us", "Hello.", rate=10))
    # the same errors before any work (the CLI asks first)
    SynthesizeSpeech("system:fr", "Bonjour.").check()
    SynthesizeSpeech("system:en-GB", "Hello.").check()
    for job, message in (
        (SynthesizeSpeech("system:xx-nope", "Hello."), "no voice for the language"),
        (SynthesizeSpeech("system:en", "Hello.", pitch=40), "pitch"),
        (SynthesizeSpeech("system:en", "..."), "no text"),
        (SynthesizeSpeech(str(tmp_path / "x.onnx"), "Hi."), "does not exist"),
        (SynthesizeSpeech("tts-1", "Hi.", project_root=tmp_path), "There is no voice"),
        (ExportLines("system:en", "\n", tmp_path), "no lines"),
    ):
        with pytest.raises(JobError, match=message):
            job.check()


def test_project_dictionary_is_used_when_none_is_given(tmp_path):
    from studio.core.speech.pronunciation import save_dictionary

    plain = run_job(SynthesizeSpeech("system:en-us", "I like soup.", project_root=tmp_path))
    save_dictionary(tmp_path, {"soup": "minestrone"})
    changed = run_job(SynthesizeSpeech("system:en-us", "I like soup.", project_root=tmp_path))
    ignored = run_job(SynthesizeSpeech("system:en-us", "I like soup.", project_root=tmp_path, dictionary={}))
    assert len(changed["samples"]) - len(plain["samples"]) > 5000
    assert abs(len(ignored["samples"]) - len(plain["samples"])) < 300


def _peak_hz(samples, rate):
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))]


def test_pitch_shift_and_stretch_tools():
    rate = 22050
    t = np.arange(rate) / rate
    tone = (0.5 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    up = dsp.pitch_shift(tone, 12)
    assert len(up) == len(tone) and abs(_peak_hz(up, rate) - 400) < 10
    down = dsp.pitch_shift(tone, -5)
    assert abs(_peak_hz(down, rate) - 200 * 2 ** (-5 / 12)) < 6
    slow = dsp.time_stretch(tone, 1.5)
    assert len(slow) == int(round(len(tone) * 1.5)) and abs(_peak_hz(slow, rate) - 200) < 5
    rms = float(np.sqrt(np.mean(up**2)))
    assert abs(rms - 0.5 / np.sqrt(2)) < 0.05  # loudness kept
    mel = np.random.default_rng(0).normal(size=(40, 80)).astype(np.float32)
    assert dsp.stretch_frames(mel, 1.5).shape == (60, 80) and dsp.stretch_frames(mel, 0.5).shape == (20, 80)
    assert np.array_equal(dsp.stretch_frames(mel, 1.0), mel)


TINY_TTS = {
    "reduction": 3,
    "embed_dim": 16,
    "prenet_dim": 8,
    "attention_rnn_dim": 16,
    "decoder_rnn_dim": 16,
    "attention_dim": 8,
    "postnet_dim": 8,
    "batch_size": 4,
    "lr": 3e-3,
    "warmup_steps": 1,
    "log_every": 1,
    "eval_every": 100,
    "sample_every": 100,
    "checkpoint_every": 2,
}
TINY_VOCODER = {
    "width": 8,
    "disc_width": 2,
    "segment_frames": 8,
    "batch_size": 2,
    "lr": 2e-3,
    "log_every": 1,
    "eval_every": 100,
    "sample_every": 100,
    "checkpoint_every": 2,
    "eval_clips": 1,
}


@pytest.mark.slow
def test_trained_voice_through_the_same_job(tmp_path, monkeypatch):
    """A 2-step TTS run and a 2-step vocoder run (untrained: only the plumbing is checked): the voice is listed,
    speaks through the newest vocoder or Griffin-Lim, and speed stretches its mel."""
    pytest.importorskip("studio.core.generation.speech_model")
    import torch

    from studio.core.datasets.importer import ImportDataset
    from studio.core.speech import espeak
    from studio.core.training import TrainJob
    from studio.core.training.speech_tts import TtsRecipe
    from studio.core.training.speech_vocoder import VocoderRecipe

    # the end-of-run previews (Griffin-Lim of the fixed sentences) are the recipes' tests' business, and slow
    monkeypatch.setattr(TtsRecipe, "preview", lambda self, models, step, folder: None)
    monkeypatch.setattr(VocoderRecipe, "preview", lambda self, models, step, folder: None)

    source = tmp_path / "clips"
    source.mkdir()
    lines = []
    for i, sentence in enumerate(["Hello there.", "Good morning.", "Call us now.", "See you soon."]):
        soundfile.write(source / f"c{i}.wav", espeak.synthesize(sentence), 22050, subtype="PCM_16")
        lines.append(f"c{i}|{sentence}")
    (source / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    project = tmp_path / "Voice"
    run_job(ImportDataset(project, "voice", [source], kind="audio", workers=1))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for family, settings in (("tts", TINY_TTS), ("vocoder", TINY_VOCODER)):
            TrainJob(project, "voice", family, preset="fast", overrides=settings, steps=2, cpu_threads=1)(JobContext())
    finally:
        torch.set_num_threads(threads)

    trained = [v for v in list_voices(project) if v["kind"] == "trained"]
    assert len(trained) == 1 and trained[0]["steps"] == [2] and trained[0]["sample_rate"] == 22050
    assert trained[0]["vocoders"][0]["id"] == "griffinlim" and len(trained[0]["vocoders"]) == 2
    neural = run_job(SynthesizeSpeech("latest", "Hi. Yes.", project_root=project))
    assert neural["voice"] == "latest" and neural["vocoder"] == trained[0]["vocoders"][1]["id"]
    assert neural["sample_rate"] == 22050 and len(neural["sentences"]) == 2 and len(neural["samples"]) > 0
    assert np.isfinite(neural["samples"]).all()
    gl = run_job(SynthesizeSpeech(trained[0]["id"], "Hi.", project_root=project, vocoder="griffinlim"))
    fast = run_job(
        SynthesizeSpeech(trained[0]["id"], "Hi.", project_root=project, vocoder="griffinlim", rate=2.0, pitch=3)
    )
    assert gl["vocoder"] == "griffinlim" and len(gl["samples"]) % 256 == 0
    assert abs(len(fast["samples"]) - len(gl["samples"]) / 2) <= 2 * 256
