"""The espeak-ng system voice: audio, rate, pitch, volume, cancel, languages, and phonemes.py's delegation."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
from speech_helpers import dominant_pitch

from studio.core.jobs import Cancelled, JobError, run_job
from studio.core.speech import espeak

SENTENCES = ["The quick brown fox jumps over the lazy dog.", "How are you today?"]


def test_synthesize_gives_loud_enough_audio_at_the_stated_rate():
    samples = espeak.synthesize("Hello world. This is the system voice.")
    assert espeak.SAMPLE_RATE == 22050
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert 1.0 < len(samples) / espeak.SAMPLE_RATE < 6.0
    assert float(np.sqrt(np.mean(samples**2))) > 0.02 and np.abs(samples).max() <= 1.0


def test_longer_text_gives_a_proportionally_longer_wav(tmp_path):
    from studio.core.generation.speech_jobs import SynthesizeSpeech, write_speech

    short = write_speech(tmp_path / "short.wav", run_job(SynthesizeSpeech("system:en", " ".join(SENTENCES))))
    long = write_speech(tmp_path / "long.wav", run_job(SynthesizeSpeech("system:en", " ".join(SENTENCES * 3))))
    a, b = soundfile.info(str(short)), soundfile.info(str(long))
    assert a.samplerate == b.samplerate == 22050 and a.subtype == "PCM_16" and a.channels == 1
    data, _ = soundfile.read(str(short), dtype="float32")
    assert np.abs(data).max() > 0.1  # not silent
    assert 2.4 <= b.frames / a.frames <= 3.6


def test_rate_changes_duration():
    text = SENTENCES[0]
    normal = len(espeak.synthesize(text))
    assert len(espeak.synthesize(text, rate=2.0)) < 0.7 * normal
    assert len(espeak.synthesize(text, rate=0.5)) > 1.4 * normal


@pytest.mark.parametrize("semitones", [5, -6, 12])
def test_pitch_moves_the_voice_by_about_the_semitones_asked(semitones):
    text = "Hello there, this is a sentence to measure the pitch of the voice."
    base = dominant_pitch(espeak.synthesize(text), espeak.SAMPLE_RATE)
    moved = dominant_pitch(espeak.synthesize(text, pitch=semitones), espeak.SAMPLE_RATE)
    measured = 12 * np.log2(moved / base)
    assert abs(measured - semitones) < 2.0, measured


def test_volume_scales_and_never_clips():
    text = SENTENCES[1]
    normal = espeak.synthesize(text)
    half = espeak.synthesize(text, volume=0.5)
    loud = espeak.synthesize(text, volume=2.0)
    rms = lambda x: float(np.sqrt(np.mean(x**2)))  # noqa: E731 - espeak's output varies by a few samples
    assert abs(rms(half) / rms(normal) - 0.5) < 0.03
    assert np.abs(loud).max() <= 1.0 and np.abs(loud).max() > np.abs(normal).max()


def test_check_stops_synthesis_and_the_engine_keeps_working():
    calls = []

    def check():
        calls.append(1)
        if len(calls) >= 2:
            raise Cancelled()

    with pytest.raises(Cancelled):
        espeak.synthesize(" ".join(SENTENCES * 10), check=check)
    assert len(calls) == 2  # stopped at once, not after the whole text
    assert len(espeak.synthesize("Still here.")) > 0


def test_languages_and_unknown_language():
    entries = espeak.list_languages()
    codes = [entry["code"] for entry in entries]
    assert {"en-us", "en-gb", "de", "es"} <= set(codes) and len(codes) == len(set(codes))  # one entry per code
    keys = [(entry["name"].lower(), entry["code"]) for entry in entries]
    assert keys == sorted(keys)  # the picker's order: by name, whatever the case, then by code
    assert not any("_" in entry["name"] for entry in entries)  # "English (Great Britain)", not espeak's file name
    assert len(espeak.synthesize("Guten Tag.", "de")) > 0
    with pytest.raises(JobError, match="no voice"):
        espeak.synthesize("x", "no-such-language")


def test_phonemes_module_delegates_to_the_same_engine():
    from studio.core.datasets import phonemes

    assert phonemes.phonemize("Hello, world?") == espeak.phonemize("Hello, world?") == "həlˈoʊ, wˈɜːld?"
    assert phonemes.voice_for("EN") == espeak.voice_for("en") == "en-us"
    espeak.synthesize("Audio in between.")  # synthesis must not disturb phonemizing (shared voice state)
    assert phonemes.phonemize("Hello, world?", "en-us") == "həlˈoʊ, wˈɜːld?"
