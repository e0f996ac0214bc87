"""Sentence splitting, the pronunciation dictionary, WAV files and the spectrogram picture."""

from __future__ import annotations

import json

import numpy as np
import soundfile

from studio.core.jobs import run_job
from studio.core.speech import espeak
from studio.core.speech.analysis import spectrogram_image
from studio.core.speech.pronunciation import Dictionary, ipa_to_espeak, load_dictionary, save_dictionary
from studio.core.speech.text import split_sentences
from studio.core.speech.wav import read_wav, wav_bytes, write_wav


def test_split_sentences():
    text = (
        'Hello there. Mr. Smith went to Washington! Did he? Yes… J. R. Smith said "ok." Then\nmore.\n\n'
        "A paragraph without an end\n\nThird"
    )
    assert split_sentences(text) == [
        "Hello there.",
        "Mr. Smith went to Washington!",
        "Did he?",
        "Yes…",
        'J. R. Smith said "ok."',
        "Then more.",
        "A paragraph without an end",
        "Third",
    ]
    assert split_sentences("Pi is 3.14 today. e.g. this one.") == ["Pi is 3.14 today.", "e.g. this one."]
    assert split_sentences("你好。世界！") == ["你好。", "世界！"]
    assert split_sentences("  ...  \n\n") == []
    long = split_sentences("word, " * 120)
    assert len(long) > 1 and all(len(s) <= 300 for s in long)


def test_dictionary_respellings_and_segments():
    d = Dictionary({"Nike": "Nyke", "Adidas": "/ˈædɪdæs/", "New York": "Noo York", "": "x"})
    assert len(d) == 3
    assert d.apply_respellings("NIKE's shoes, nike. Nikes? new york!") == "Nyke's shoes, Nyke. Nikes? Noo York!"
    assert d.apply_respellings("Buy Adidas.") == "Buy Adidas."  # phoneme entries are not respellings
    assert d.segments("Buy Nike and adidas shoes.") == [
        ("text", "Buy Nyke and "),
        ("phonemes", "ˈædɪdæs"),
        ("text", " shoes."),
    ]
    assert Dictionary().segments("plain") == [("text", "plain")]


def test_phoneme_entries_for_the_system_voice():
    assert ipa_to_espeak("nˈaɪki", "en-us") == "n'aIki"
    assert ipa_to_espeak("təmˈɑːtoʊ", "en-gb") == "t@m'A:toU"
    assert ipa_to_espeak("nˈaɪki", "de") is None and ipa_to_espeak("ʘ", "en-us") is None
    d = Dictionary({"Nike": "/nˈaɪki/"})
    assert d.for_espeak("Nike shoes [[x]]", "en-us") == "[[n'aIki]] shoes [ [x] ]"
    assert d.for_espeak("Nike shoes", "de") == "Nike shoes"


def test_dictionary_file_round_trip(tmp_path):
    assert len(load_dictionary(tmp_path)) == 0 and len(load_dictionary(None)) == 0
    path = save_dictionary(tmp_path, {"Nike": "Nyke", "GIF": "/dʒˈɪf/"})
    assert path == tmp_path / "speech" / "pronunciation.json"
    assert json.loads(path.read_text(encoding="utf-8"))["version"] == 1
    assert load_dictionary(tmp_path).entries == {"Nike": "Nyke", "GIF": "/dʒˈɪf/"}
    path.write_text("{ broken", encoding="utf-8")
    assert len(load_dictionary(tmp_path)) == 0


def test_dictionary_changes_what_the_system_voice_says():
    from studio.core.generation.speech_jobs import SynthesizeSpeech

    def length(text, entries):
        return len(run_job(SynthesizeSpeech("system:en-us", text, dictionary=entries))["samples"])

    # espeak's output length wanders by a few samples from call to call (its synthesis state carries over);
    # a changed word changes it by thousands.
    plain = length("I like soup.", {})
    respelled = length("I like soup.", {"SOUP": "minestrone"})
    spoken = length("I like minestrone.", {})
    assert respelled - plain > 5000 and abs(respelled - spoken) < 300
    phonemes = length("I like soup.", {"soup": "/mˌɪnɪstɹˈoʊni/"})  # IPA -> espeak's [[mnemonics]]
    assert phonemes - plain > 5000 and abs(phonemes - spoken) < 2000
    assert length("I like soups.", {"soup": "minestrone"}) - plain < 3000  # whole words only


def test_wav_round_trip_is_16_bit_pcm(tmp_path):
    rate = 22050
    t = np.arange(rate // 2) / rate
    samples = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    samples[:10] = 1.5  # out of range: clipped, not wrapped
    path = write_wav(tmp_path / "out" / "tone.wav", samples, rate)
    info = soundfile.info(str(path))
    assert (info.samplerate, info.channels, info.subtype, info.format) == (rate, 1, "PCM_16", "WAV")
    back, back_rate = read_wav(path)
    assert back_rate == rate and len(back) == len(samples)
    assert np.allclose(back[10:], samples[10:], atol=1 / 16384) and back[:10].min() > 0.99
    assert wav_bytes(samples, rate)[:4] == b"RIFF"
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_spectrogram_image():
    rate = 22050
    t = np.arange(rate) / rate
    low = spectrogram_image(0.5 * np.sin(2 * np.pi * 300 * t), rate)
    high = spectrogram_image(0.5 * np.sin(2 * np.pi * 3000 * t), rate)
    assert low.dtype == np.uint8 and low.shape[0] == 128 and abs(low.shape[1] - 100) <= 1  # 10 ms columns
    assert int(low[:, 50].argmax()) < int(high[:, 50].argmax())  # row 0 = lowest frequency
    assert low.max() == 255
    voice = spectrogram_image(espeak.synthesize("Hello."), espeak.SAMPLE_RATE, height=64)
    assert voice.shape[0] == 64 and voice.std() > 10
    assert spectrogram_image(np.zeros(0, np.float32), rate).shape == (128, 1)
