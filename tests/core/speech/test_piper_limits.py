"""A Piper voice downloaded from anywhere: its .onnx.json is size-capped and range-checked, the ids fed to the
model and the audio it returns are capped.

Before (issue 14, measured again here with the tiny test voice and a 3 GB kill switch): length_scale 30,000 reached
3 GB in 3.8 s (OOM); 3,000 wrote a 21-minute WAV for "Hello there." (1.2 GB peak); sample_rate 1 wrote a WAV that
plays for 1.9 hours. Now each is a one-sentence refusal before the model is loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from speech_helpers import HOP, PIPER_RATE

from studio.core import untrusted
from studio.core.generation.speech_jobs import SynthesizeSpeech
from studio.core.jobs import JobError, run_job
from studio.core.speech import piper
from studio.core.untrusted import OverLimit

REPO = Path(__file__).resolve().parents[3]


def edit_config(onnx: Path, **changes) -> Path:
    """Change top-level keys of the voice's .onnx.json ("audio" and "inference" are merged, others replaced)."""
    path = onnx.with_name(onnx.name + ".json")
    config = json.loads(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        config[key] = {**config[key], **value} if key in ("audio", "inference") else value
    path.write_text(json.dumps(config), encoding="utf-8")
    piper.clear_cache()
    return path


@pytest.mark.parametrize(
    "changes, refusal",
    [
        ({"inference": {"length_scale": 30000}}, "length_scale is 30,000, above the limit of 5"),
        ({"inference": {"length_scale": 3000}}, "length_scale is 3,000, above the limit of 5"),
        ({"inference": {"length_scale": 0}}, "length_scale is 0, below the limit of 0.1"),
        ({"audio": {"sample_rate": 1}}, "sample_rate is 1, below the limit of 8,000"),
        ({"audio": {"sample_rate": 10**9}}, "sample_rate is 1,000,000,000, above the limit of 48,000"),
        ({"inference": {"noise_scale": 100}}, "noise_scale is 100, above the limit of 2"),
        ({"inference": {"noise_w": -1}}, "noise_w is -1, below the limit of 0"),
        ({"num_speakers": 10**9}, "num_speakers is 1,000,000,000, above the limit of 10,000"),
    ],
)
def test_out_of_range_settings_are_refused_before_the_model_loads(tmp_path, tiny_piper, changes, refusal):
    config_path = edit_config(tiny_piper, **changes)
    for attempt in (
        lambda: piper.PiperVoice.load(tiny_piper),
        lambda: piper.voice_info(tiny_piper),
        lambda: run_job(SynthesizeSpeech(str(tiny_piper), "Hello there.")),
    ):
        with pytest.raises(OverLimit, match=refusal) as caught:
            attempt()
        assert str(config_path) in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(OverLimit, match=refusal):
        piper.import_piper_voice(tmp_path / "Project", tiny_piper)
    assert not (tmp_path / "Project" / "voices").exists()  # nothing was copied


def test_phoneme_maps_are_bounded(tiny_piper):
    config_path = tiny_piper.with_name(tiny_piper.name + ".json")
    id_map = json.loads(config_path.read_text(encoding="utf-8"))["phoneme_id_map"]
    edit_config(tiny_piper, phoneme_id_map={**id_map, **{f"x{i}": [5] for i in range(20_000)}})
    with pytest.raises(OverLimit, match="number of phonemes is 20,0"):
        piper.PiperVoice.load(tiny_piper)
    edit_config(tiny_piper, phoneme_id_map={**id_map, "a": [5] * 100})
    with pytest.raises(OverLimit, match="ids per phoneme is 100, above the limit of 16"):
        piper.PiperVoice.load(tiny_piper)
    edit_config(tiny_piper, phoneme_id_map={**id_map, "a": [10**12]})
    with pytest.raises(OverLimit, match="phoneme id is 1,000,000,000,000"):
        piper.PiperVoice.load(tiny_piper)


def test_a_settings_file_over_the_cap_is_refused_unread(tiny_piper):
    path = tiny_piper.with_name(tiny_piper.name + ".json")
    with open(path, "r+b") as handle:
        handle.truncate(untrusted.SMALL_JSON_CAP + 1)  # the JSON followed by zeros: never parsed
    piper.clear_cache()
    with pytest.raises(OverLimit, match="over the limit of 4,194,304 bytes"):
        piper.PiperVoice.load(tiny_piper)


def test_ids_and_audio_per_sentence_are_capped(tiny_piper, monkeypatch):
    voice = piper.PiperVoice.load(tiny_piper)
    with pytest.raises(JobError, match="4,097 phoneme ids, over the limit of 4,096"):
        voice.synthesize_ids([1] + [0] * (untrusted.MAX_PIPER_IDS - 1) + [2])
    ids = [1, 0, 5, 0, 2]
    assert len(voice.synthesize_ids(ids)) == len(ids) * HOP  # 0.016 s per id: far under the cap
    # a model that talks for longer than 1 s per id (here: the cap lowered below the tiny model's 0.016 s)
    monkeypatch.setattr(untrusted, "MAX_SECONDS_PER_ID", 0.01)
    with pytest.raises(JobError, match=r"made 0\.1 s of audio for 5 phoneme ids, over the limit of 0\.1 s"):
        voice.synthesize_ids(ids)
    monkeypatch.setattr(untrusted, "MAX_SECONDS_PER_ID", 1.0)
    monkeypatch.setattr(untrusted, "MAX_SENTENCE_SECONDS", len(ids) * HOP / PIPER_RATE / 2)
    with pytest.raises(JobError, match="over the limit"):  # the hard cap binds before the per-id one
        voice.synthesize_ids(ids)
    assert untrusted.piper_samples_cap(10**6, PIPER_RATE) == int(untrusted.MAX_SENTENCE_SECONDS * PIPER_RATE)


@pytest.mark.skipif(not hasattr(os, "wait4"), reason="measures a child's memory with os.wait4")
def test_generate_speech_refuses_length_scale_30000_at_once(tmp_path, tiny_piper):
    """Before: 3 GB within 3.8 s, then OOM. Measured now: exit 2 in ~0.3 s with 33 MB (no model is loaded)."""
    edit_config(tiny_piper, inference={"length_scale": 30000})
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "studio",
                "generate",
                "speech",
                "--voice",
                str(tiny_piper),
                "--text",
                "Hello there.",
                "--out",
                str(tmp_path / "out.wav"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=REPO,
            env=env,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        message = err.read().decode().strip()
    peak_mb = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024) / 2**20
    assert proc.returncode == 2 and "length_scale is 30,000, above the limit of 5" in message, message
    assert seconds < 10 and peak_mb < 1024, (seconds, peak_mb)
    assert not (tmp_path / "out.wav").exists()


def test_an_honest_voice_still_speaks_at_its_own_settings(tiny_piper):
    edit_config(tiny_piper, inference={"length_scale": 2.0})
    result = run_job(SynthesizeSpeech(str(tiny_piper), "Hello there.", dictionary={}))
    voice = piper.cached_voice(tiny_piper)
    ids = voice.ids(voice.phonemes("Hello there."))
    assert len(result["samples"]) == len(ids) * HOP * 2 and result["sample_rate"] == PIPER_RATE
    assert np.isfinite(result["samples"]).all()


def test_a_received_pronunciation_dictionary_is_bounded(tmp_path):
    from studio.core.speech import pronunciation

    project = tmp_path / "Project"
    path = pronunciation.dictionary_path(project)
    path.parent.mkdir(parents=True)
    entries = {
        "Nike": "Nyke",
        "long": "a" * (pronunciation.MAX_VALUE_CHARS + 1),
        "w" * (pronunciation.MAX_WORD_CHARS + 1): "x",
        **{f"word{i}": "x" for i in range(20_000)},
    }
    path.write_text(json.dumps({"version": 1, "entries": entries}), encoding="utf-8")
    loaded = pronunciation.load_dictionary(project)
    assert len(loaded) == pronunciation.MAX_ENTRIES and loaded.entries["Nike"] == "Nyke"
    assert "long" not in loaded.entries and not any(len(k) > pronunciation.MAX_WORD_CHARS for k in loaded.entries)
    with open(path, "r+b") as handle:
        handle.truncate(untrusted.SMALL_JSON_CAP + 1)
    assert len(pronunciation.load_dictionary(project)) == 0  # oversized: read as empty, never parsed
