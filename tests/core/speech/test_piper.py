"""Piper voices: import a voice (a tiny ONNX model exported by the test with Piper's inputs and outputs) and
speak with it, following its .onnx.json."""

from __future__ import annotations

import json

import numpy as np
import pytest
from speech_helpers import HOP, PIPER_RATE, TEST_SENTENCE, piper_config

from studio.core.generation.speech_jobs import SynthesizeSpeech, list_voices
from studio.core.jobs import JobError, run_job
from studio.core.speech import espeak, piper


def test_import_round_trip(tmp_path, tiny_piper):
    project = tmp_path / "Project"
    original = tiny_piper.read_bytes()
    voice_id = piper.import_piper_voice(project, tiny_piper)
    target = project / "voices" / "en_US-tiny-x_low" / "en_US-tiny-x_low.onnx"
    assert voice_id == f"piper:{target}"
    assert target.read_bytes() == original and target.with_name(target.name + ".json").is_file()
    assert tiny_piper.read_bytes() == original  # the original is untouched
    listed = [v for v in list_voices(project) if v["kind"] == "piper"]
    assert [v["id"] for v in listed] == [voice_id]
    assert listed[0]["sample_rate"] == PIPER_RATE and listed[0]["language"] == "en-us"
    assert "tiny" in listed[0]["title"]

    result = run_job(SynthesizeSpeech(voice_id, TEST_SENTENCE, project_root=project))
    assert result["sample_rate"] == PIPER_RATE and result["kind"] == "piper"
    voice = piper.cached_voice(target)
    ids = voice.ids(voice.phonemes(TEST_SENTENCE))
    assert not voice.skipped
    assert len(result["samples"]) == len(ids) * HOP  # one sentence: no pause added
    assert abs(float(np.abs(result["samples"]).max()) - piper.PEAK) < 0.01  # each sentence scaled to the peak


def test_ids_follow_piper(tiny_piper):
    voice = piper.PiperVoice.load(tiny_piper)
    m = voice.id_map
    phonemes = voice.phonemes("Hello, world.")
    assert "".join(phonemes) == "həlˈoʊ, wˈɜːld."  # NFD code points, comma followed by a space
    ids = voice.ids(phonemes)
    expected = [*m["^"], *m["_"]]
    for p in phonemes:
        expected += [*m[p], *m["_"]]
    assert ids == expected + m["$"]
    # the ids reach the model: a different id gives different audio of the same length
    a, b = voice.synthesize_ids([1, 0, 5, 0, 2]), voice.synthesize_ids([1, 0, 9, 0, 2])
    assert len(a) == len(b) == 5 * HOP and not np.allclose(a, b)


def test_rate_scales_length_scale(tiny_piper):
    voice = piper.PiperVoice.load(tiny_piper)
    normal = voice.synthesize(TEST_SENTENCE)
    fast = voice.synthesize(TEST_SENTENCE, rate=2.0)
    slow = voice.synthesize(TEST_SENTENCE, rate=0.5)
    assert len(fast) == len(normal) // 2 and len(slow) == len(normal) * 2


def test_unknown_phonemes_are_skipped_and_counted(tmp_path):
    from speech_helpers import export_tiny_model

    onnx = tmp_path / "partial.onnx"
    export_tiny_model(onnx)
    symbols = [s for s in espeak.phonemize(TEST_SENTENCE) if s != "ɪ"]
    onnx.with_name("partial.onnx.json").write_text(json.dumps(piper_config(symbols)), encoding="utf-8")
    voice = piper.PiperVoice.load(onnx)
    assert len(voice.synthesize(TEST_SENTENCE)) > 0
    assert voice.skipped == {"ɪ": espeak.phonemize(TEST_SENTENCE).count("ɪ")}


def test_listed_vowel_clusters_are_merged(tiny_piper):
    config_path = tiny_piper.with_name(tiny_piper.name + ".json")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    voice = piper.PiperVoice.load(tiny_piper)
    assert voice.split_phonemes("nˈaɪs") == ["n", "ˈ", "a", "ɪ", "s"]  # no clusters listed: code points, as Piper
    config["vowel_clusters"] = [["a", "ɪ"]]
    config["phoneme_id_map"]["aɪ"] = [99]
    config_path.write_text(json.dumps(config), encoding="utf-8")
    voice = piper.PiperVoice.load(tiny_piper)
    assert voice.split_phonemes("nˈaɪs") == ["n", "ˈ", "aɪ", "s"]
    assert voice.split_phonemes("(en)hˈaɪ(fr)") == ["h", "ˈ", "aɪ"]  # language-switch flags dropped
    assert 99 in voice.ids(voice.split_phonemes("hˈaɪ"))


def test_speaker_id_is_fed_to_multi_speaker_voices(tmp_path):
    from speech_helpers import export_tiny_model

    onnx = tmp_path / "multi.onnx"
    export_tiny_model(onnx, speakers=True)
    config = piper_config(espeak.phonemize(TEST_SENTENCE))
    config["num_speakers"] = 2
    onnx.with_name("multi.onnx.json").write_text(json.dumps(config), encoding="utf-8")
    voice = piper.PiperVoice.load(onnx)
    first, second = voice.synthesize_ids([1, 0, 5, 0, 2]), voice.synthesize_ids([1, 0, 5, 0, 2], speaker=1)
    assert len(first) == len(second) and not np.allclose(first, second)


def test_plain_errors(tmp_path, tiny_piper):
    lonely = tmp_path / "lonely.onnx"
    lonely.write_bytes(tiny_piper.read_bytes())
    with pytest.raises(JobError, match="no settings file"):
        piper.PiperVoice.load(lonely)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not an onnx model at all")
    broken.with_name("broken.onnx.json").write_text(tiny_piper.with_name(tiny_piper.name + ".json").read_text())
    with pytest.raises(JobError, match="damaged"):
        piper.import_piper_voice(tmp_path / "Project", broken)
    assert not (tmp_path / "Project" / "voices").exists()
    bad_json = tmp_path / "badjson.onnx"
    bad_json.write_bytes(tiny_piper.read_bytes())
    bad_json.with_name("badjson.onnx.json").write_text("{}")
    with pytest.raises(JobError, match="damaged or not a Piper config"):
        piper.PiperVoice.load(bad_json)
    with pytest.raises(JobError, match="does not exist"):
        run_job(SynthesizeSpeech(str(tmp_path / "gone.onnx"), "Hello."))


def test_piper_voice_by_path_with_pitch_and_dictionary(tiny_piper):
    plain = run_job(SynthesizeSpeech(str(tiny_piper), "Hello world. One.", dictionary={}))
    assert len(plain["sentences"]) == 2 and plain["sentences"][1]["start"] > plain["sentences"][0]["end"]
    shifted = run_job(SynthesizeSpeech(f"piper:{tiny_piper}", "Hello world. One.", pitch=4, dictionary={}))
    assert len(shifted["samples"]) == len(plain["samples"])
    # a phoneme entry reaches the model as written (here: fewer phonemes than the word's own)
    entry = run_job(SynthesizeSpeech(str(tiny_piper), "Hello world. One.", dictionary={"world": "/wˈɜːd/"}))
    assert len(plain["samples"]) - len(entry["samples"]) == 2 * HOP  # "l" and its pad
