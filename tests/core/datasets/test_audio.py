"""Audio import: every clip is synthesized here (sine tones, noise) and encoded in memory with soundfile."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio.core.datasets import audio
from studio.core.datasets.base import FIXED, OK, SKIPPED, ImportOptions, Normalized

RATE = 22050


def tone(seconds: float, rate: int = RATE, amp: float = 0.3, freq: float = 440.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    x = amp * np.sin(2 * np.pi * freq * t)
    if channels == 1:
        return x.astype(np.float32)
    # a slightly different second channel, so the mono mix is a real mix
    return np.stack([x * (1.0 - 0.2 * c) for c in range(channels)], axis=1).astype(np.float32)


def encode(x: np.ndarray, rate: int = RATE, fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def decode(payload: bytes) -> tuple[np.ndarray, sf._SoundFileInfo]:
    info = sf.info(io.BytesIO(payload))
    x, _ = sf.read(io.BytesIO(payload), dtype="float64")
    return x, info


def rms_db(x: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(np.square(x))))


def peak_db(x: np.ndarray) -> float:
    return 20 * np.log10(np.max(np.abs(x)))


def dominant_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * rate / len(x))


def run(data: bytes, name: str = "clip.wav", **options) -> Normalized:
    return audio.normalize(data, name, ImportOptions(**options))


# --- conversion -----------------------------------------------------------------------------------------


def test_stereo_44k_becomes_mono_22k_with_duration_and_pitch_preserved():
    result = run(encode(tone(2.0, rate=44100, channels=2), rate=44100))

    assert result.status == FIXED
    assert "mixed to mono" in result.fixes
    assert "resampled from 44100 Hz" in result.fixes
    assert not any(f.startswith("silence trimmed") for f in result.fixes)
    x, info = decode(result.payload)
    assert (info.format, info.subtype, info.channels, info.samplerate) == ("WAV", "PCM_16", 1, RATE)
    assert abs(info.frames - 2 * RATE) <= 1
    assert abs(dominant_hz(x, RATE) - 440.0) < 2.0
    assert result.suffix == ".wav"
    assert result.meta["channels"] == 2
    assert result.meta["original_sample_rate"] == 44100
    assert result.meta["original_duration_s"] == pytest.approx(2.0, abs=1e-3)
    assert result.meta["duration_s"] == pytest.approx(2.0, abs=1e-3)


def test_mono_mix_keeps_both_channels():
    left, right = tone(1.0, rate=44100, freq=440.0), tone(1.0, rate=44100, freq=660.0)
    result = run(encode(np.stack([left, right], axis=1), rate=44100))

    x, _ = decode(result.payload)
    spectrum = np.abs(np.fft.rfft(x))
    at = lambda hz: spectrum[int(round(hz * len(x) / RATE))]  # noqa: E731
    assert at(440.0) == pytest.approx(at(660.0), rel=0.05)
    assert at(440.0) > 100 * at(550.0)


def test_odd_ratio_uses_fft_resampler_and_stays_accurate():
    """22051 → 22050 Hz has no small common factor; the sinc kernel would be enormous."""
    result = run(encode(tone(1.0, rate=22051, freq=1000.0), rate=22051))

    x, info = decode(result.payload)
    assert "resampled from 22051 Hz" in result.fixes
    assert "odd sample rate (22051 Hz)" in result.flags
    assert abs(info.frames - RATE) <= 1
    assert abs(dominant_hz(x, RATE) - 1000.0) < 2.0
    # both resamplers agree on a clean tone (away from the edges)
    src = tone(1.0, rate=44100, freq=1000.0)
    sinc, fft = audio._resample_sinc(src, 44100, RATE), audio._resample_fft(src, 44100, RATE)
    assert len(sinc) == len(fft) == RATE
    assert np.max(np.abs(sinc[500:-500] - fft[500:-500])) < 1e-3
    # and the FFT path keeps the whole pass band: a 9 kHz tone comes through at full level
    high = audio._resample_fft(tone(1.0, rate=22051, freq=9000.0), 22051, RATE)
    assert rms_db(high[500:-500]) == pytest.approx(rms_db(tone(1.0, freq=9000.0)), abs=0.1)
    # a sound that starts abruptly must not ring into the (silent) end of the clip through FFT wrap-around
    step = np.concatenate([np.full(22050, 0.5), np.zeros(22050)]).astype(np.float32)
    assert np.max(np.abs(audio._resample_fft(step, 44100, RATE)[-300:])) < 1e-3


def test_silence_padding_is_trimmed_to_the_sound_plus_margins():
    x = np.concatenate([np.zeros(int(0.5 * RATE)), tone(1.0), np.zeros(int(0.7 * RATE))]).astype(np.float32)

    result = run(encode(x))

    expected = 1.0 + 2 * audio.TRIM_MARGIN_S
    y, info = decode(result.payload)
    assert info.frames / RATE == pytest.approx(expected, abs=0.02)
    assert result.meta["duration_s"] == pytest.approx(info.frames / RATE, abs=1e-3)
    assert result.meta["original_duration_s"] == pytest.approx(2.2, abs=1e-3)
    assert "silence trimmed (1.1 s)" in result.fixes
    # the tone itself is intact: loud right after the leading margin, silent only inside the margins
    margin = int(audio.TRIM_MARGIN_S * RATE)
    assert np.max(np.abs(y[margin + 300 : margin + 600])) > 0.1
    assert np.max(np.abs(y[: margin - 300])) == 0.0


def test_trimming_can_be_turned_off():
    x = np.concatenate([np.zeros(RATE // 2), tone(1.0)]).astype(np.float32)
    result = run(encode(x), trim_silence=False)
    assert not any(f.startswith("silence trimmed") for f in result.fixes)
    assert decode(result.payload)[1].frames == len(x)


@pytest.mark.parametrize("amp", [0.01, 0.9])
def test_loudness_is_normalized_to_the_target(amp):
    result = run(encode(tone(1.0, amp=amp)), target_loudness_dbfs=-20.0)

    assert "loudness normalized" in result.fixes
    y, _ = decode(result.payload)
    assert rms_db(y) == pytest.approx(-20.0, abs=0.5)
    assert result.meta["rms_dbfs"] == pytest.approx(rms_db(tone(1.0, amp=amp)), abs=0.1)


def test_loudness_normalization_never_lifts_the_peak_above_minus_1_dbfs():
    """A quiet clip with one loud click: reaching -20 dBFS RMS would need far more gain than the click allows."""
    rng = np.random.default_rng(0)
    x = (0.001 * rng.standard_normal(RATE)).astype(np.float32)
    x[RATE // 2] = 0.5

    result = run(encode(x), target_loudness_dbfs=-20.0, trim_silence=False)

    y, _ = decode(result.payload)
    assert "loudness normalized" in result.fixes
    assert peak_db(y) <= -1.0 + 0.01
    assert peak_db(y) > -1.1  # but it did use the headroom it had
    assert rms_db(y) < -25.0


def test_quiet_clip_that_already_peaks_near_full_scale_is_not_turned_down():
    x = tone(1.0, amp=0.02)
    x[::2000] = 0.97  # peak -0.3 dBFS, RMS far below -20 dBFS
    result = run(encode(x), trim_silence=False)
    assert "loudness normalized" not in result.fixes
    assert result.meta["gain_db"] == 0.0


def test_already_normalized_clip_is_ok_and_keeps_its_original_bytes():
    amp = np.sqrt(2) * 10 ** (-20.3 / 20)  # a sine whose RMS is -20.3 dBFS: within ±1 dB of the target
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", RATE, 1, "PCM_16", format="WAV") as f:
        f.title = "take 3"  # an INFO chunk: a re-encoded copy would lose it, the original bytes keep it
        f.write(tone(1.5, amp=amp))
    data = buf.getvalue()
    assert b"take 3" in data

    result = run(data)

    assert result.status == OK
    assert result.fixes == [] and result.flags == []
    assert result.payload == data
    assert result.suffix == ".wav"
    assert result.meta["gain_db"] == 0.0


def test_same_clip_as_flac_is_fixed_only_by_conversion():
    amp = np.sqrt(2) * 10 ** (-20.3 / 20)
    result = run(encode(tone(1.5, amp=amp), fmt="FLAC"), name="clip.flac")
    assert result.status == FIXED
    assert result.fixes == ["converted from FLAC to 16-bit WAV"]


def test_24_bit_wav_is_converted():
    result = run(encode(tone(1.0, amp=0.14), subtype="PCM_24"))
    assert "converted from 24-bit WAV to 16-bit WAV" in result.fixes
    assert decode(result.payload)[1].subtype == "PCM_16"


def test_float_wav_with_nan_samples_is_repaired_not_crashed():
    x = tone(1.0)
    x[100:110] = np.nan
    result = run(encode(x, subtype="FLOAT"))
    assert result.status == FIXED
    assert "invalid samples replaced with silence" in result.fixes
    assert np.isfinite(decode(result.payload)[0]).all()


# --- flags ----------------------------------------------------------------------------------------------


def test_clipping_is_flagged_and_clean_audio_is_not():
    clipped = np.clip(tone(1.0, amp=1.5), -1.0, 1.0)
    assert "clipping" in run(encode(clipped)).flags
    assert "clipping" not in run(encode(tone(1.0, amp=0.9))).flags


def test_clipping_counts_samples_before_normalization():
    """Exactly at the 0.1 % threshold: 23 of 22050 samples at full scale, in an otherwise quiet clip."""
    x = tone(1.0, amp=0.1)
    x[np.arange(23) * 900 + 5] = 1.0
    assert "clipping" in run(encode(x, subtype="FLOAT")).flags
    x[5] = 0.1
    assert "clipping" not in run(encode(x, subtype="FLOAT")).flags


def test_near_silent_is_flagged_and_kept():
    result = run(encode(tone(1.0, amp=0.005)))  # peak -46 dBFS
    assert result.status == FIXED
    assert "near-silent" in result.flags
    assert "near-silent" not in run(encode(tone(1.0, amp=0.02))).flags  # peak -34 dBFS


def test_digital_silence_is_flagged_not_skipped():
    data = encode(np.zeros(RATE, np.float32))
    result = run(data)
    assert result.status == OK
    assert result.payload == data
    assert "near-silent" in result.flags
    assert result.meta["peak_dbfs"] == audio.SILENCE_FLOOR_DBFS


def test_too_short_and_too_long_are_flagged_after_trimming():
    short = run(encode(tone(0.2)))
    assert "too short (0.2 s)" in short.flags

    padded = np.concatenate([np.zeros(RATE), tone(0.3), np.zeros(RATE)]).astype(np.float32)
    assert "too short (0.4 s)" in run(encode(padded)).flags  # 0.3 s + two 50 ms margins

    long = run(encode(tone(31.0)))
    assert "too long (31 s)" in long.flags
    assert not any(f.startswith("too") for f in run(encode(tone(2.0))).flags)


def test_odd_sample_rate_is_flagged():
    result = run(encode(tone(1.0, rate=11025), rate=11025))
    assert "odd sample rate (11025 Hz)" in result.flags
    assert "resampled from 11025 Hz" in result.fixes
    assert not any(f.startswith("odd") for f in run(encode(tone(1.0, rate=48000), rate=48000)).flags)


# --- duplicates -----------------------------------------------------------------------------------------


def test_same_clip_in_wav_and_flac_has_the_same_dedupe_key():
    # int16 samples, as a WAV→FLAC converter keeps them (libsndfile scales float→int16 differently per format)
    x = np.rint(tone(1.0, rate=44100, channels=2) * 32767).astype(np.int16)
    wav = run(encode(x, rate=44100), "a.wav")
    flac = run(encode(x, rate=44100, fmt="FLAC"), "a.flac")
    other = run(encode(tone(1.0, rate=44100, freq=330.0, channels=2), rate=44100), "b.wav")

    assert np.array_equal(sf.read(io.BytesIO(encode(x, 44100, fmt="FLAC")), dtype="int16")[0], x)
    assert wav.dedupe_key == flac.dedupe_key
    assert len(wav.dedupe_key) == 64
    assert other.dedupe_key != wav.dedupe_key


# --- unusable files -------------------------------------------------------------------------------------


def test_empty_file_is_skipped():
    result = run(b"")
    assert (result.status, result.reason, result.payload) == (SKIPPED, "empty file", None)


def test_broken_header_is_skipped():
    rng = np.random.default_rng(1)
    result = run(b"RIFF" + rng.integers(0, 256, 400, dtype=np.uint8).tobytes())
    assert (result.status, result.reason) == (SKIPPED, "not a readable audio file")
    assert run(b"this is a text file, not audio\n" * 20, "notes.wav").reason == "not a readable audio file"


def test_wav_with_zero_frames_is_skipped():
    data = encode(np.zeros((0, 1), np.float32))
    assert data[:4] == b"RIFF" and len(data) > 0
    result = run(data)
    assert (result.status, result.reason) == (SKIPPED, "no audio in the file")


def test_damaged_files_never_raise():
    """Truncations and corrupted bytes of real files come back as a Normalized, whatever they decode to."""
    rng = np.random.default_rng(2)
    sources = [encode(tone(0.5)), encode(tone(0.5), fmt="FLAC"), encode(tone(0.5), fmt="OGG", subtype="VORBIS")]
    for data in sources:
        for cut in (8, 20, 44, 60, len(data) // 2):
            assert isinstance(run(data[:cut]), Normalized)
        for _ in range(5):
            damaged = bytearray(data)
            where = rng.integers(0, len(data), 16)
            damaged[where[0] : where[0] + 1] = b""
            for i in where:
                damaged[i % len(damaged)] = int(rng.integers(0, 256))
            result = run(bytes(damaged))
            assert result.status in (OK, FIXED, SKIPPED)
            assert (result.payload is None) == (result.status == SKIPPED)


# --- other formats --------------------------------------------------------------------------------------


def test_ogg_vorbis_is_decoded():
    result = run(encode(tone(1.0), fmt="OGG", subtype="VORBIS"), "clip.ogg")
    assert result.status == FIXED
    assert "converted from Ogg Vorbis to 16-bit WAV" in result.fixes
    assert abs(dominant_hz(decode(result.payload)[0], RATE) - 440.0) < 2.0


@pytest.mark.skipif(not audio.mp3_supported(), reason="libsndfile without MP3")
def test_mp3_is_decoded():
    result = run(encode(tone(1.0, rate=44100), rate=44100, fmt="MP3", subtype="MPEG_LAYER_III"), "clip.mp3")
    assert result.status == FIXED
    assert "converted from MP3 to 16-bit WAV" in result.fixes
    assert abs(dominant_hz(decode(result.payload)[0], RATE) - 440.0) < 2.0


def test_mp3_without_decoder_is_skipped_with_a_plain_reason(monkeypatch):
    monkeypatch.setattr(audio, "mp3_supported", lambda: False)
    result = run(b"ID3" + bytes(100), "clip.mp3")
    assert (result.status, result.reason) == (SKIPPED, "MP3 could not be decoded on this system")


# --- transcripts ----------------------------------------------------------------------------------------


def test_parse_metadata_csv_two_and_three_columns():
    text = (
        "\ufeffLJ001-0001|Printing, in 1 sense|Printing, in one sense\r\n"
        "\n"
        "LJ001-0002.wav|in being comparatively modern.   \n"
        "LJ001-0003|Dr. Smith|   \n"
        "   \n"
        "no pipe on this line\n"
        "LJ001-0004.WAV|four||\n"
    )
    meta = audio.parse_metadata_csv(text)
    assert meta == {
        "LJ001-0001": "Printing, in one sense",
        "LJ001-0002": "in being comparatively modern.",
        "LJ001-0003": "Dr. Smith",
        "LJ001-0004": "four",
    }


def test_transcript_for_prefers_sidecars_and_matches_paths():
    metadata = {"clip_01": "from csv", "wavs/clip_02": "csv with folder"}
    sidecars = {"voice/clip_01": "from sidecar", "voice/clip_03": "   "}

    assert audio.transcript_for("voice/clip_01.wav", metadata, sidecars) == "from sidecar"
    assert audio.transcript_for("voice\\clip_01.FLAC", metadata, sidecars) == "from sidecar"
    assert audio.transcript_for("other/clip_01.wav", metadata, sidecars) == "from csv"
    assert audio.transcript_for("set/wavs/clip_02.wav", metadata, sidecars) == "csv with folder"
    assert audio.transcript_for("voice/clip_03.wav", metadata, sidecars) is None
    assert audio.transcript_for("voice/clip_04.wav", metadata, sidecars) is None


def test_decode_transcript_handles_bom_and_legacy_encodings():
    assert audio.decode_transcript("\ufeffHello  world\n".encode("utf-8")) == "Hello world"
    assert audio.decode_transcript("café".encode("cp1252")) == "café"


def test_ljspeech_folder_with_partial_metadata(tmp_path):
    """A folder laid out like LJSpeech where metadata.csv covers only some clips, walked as the importer does."""
    root = tmp_path / "LJSpeech-mini"
    (root / "wavs").mkdir(parents=True)
    for i in range(1, 5):
        (root / "wavs" / f"LJ001-000{i}.wav").write_bytes(encode(tone(0.6, freq=200.0 + 50 * i)))
    (root / "metadata.csv").write_text("LJ001-0001|One|one\nLJ001-0003|Three 3|Three three\n", encoding="utf-8")
    (root / "wavs" / "LJ001-0004.txt").write_bytes(b"Four from a sidecar\n")

    metadata, sidecars, clips = {}, {}, []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.name in audio.TRANSCRIPT_NAMES:
            metadata.update(audio.parse_metadata_csv(path.read_text(encoding="utf-8")))
        elif path.suffix in audio.SIDECAR_SUFFIXES:
            sidecars[audio.clip_key(rel)] = audio.decode_transcript(path.read_bytes())
        elif path.suffix in audio.SUFFIXES:
            clips.append(rel)

    found = {rel: audio.transcript_for(rel, metadata, sidecars) for rel in clips}
    assert found == {
        "wavs/LJ001-0001.wav": "one",
        "wavs/LJ001-0002.wav": None,
        "wavs/LJ001-0003.wav": "Three three",
        "wavs/LJ001-0004.wav": "Four from a sidecar",
    }
    assert audio.NO_TRANSCRIPT == "no transcript"
    # the clips themselves import fine; the importer adds NO_TRANSCRIPT to the uncovered one's flags
    results = [audio.normalize((root / rel).read_bytes(), rel, ImportOptions()) for rel in clips]
    assert all(r.status in (OK, FIXED) for r in results)


# --- summary --------------------------------------------------------------------------------------------


def test_audio_stats():
    metas = [
        {"duration_s": 1.0, "original_sample_rate": 44100},
        {"duration_s": 2.0, "original_sample_rate": 22050},
        {"duration_s": 4.5, "original_sample_rate": 44100},
    ]
    stats = audio.audio_stats(metas)
    assert stats == {
        "count": 3,
        "total_duration_s": 7.5,
        "min_duration_s": 1.0,
        "mean_duration_s": 2.5,
        "max_duration_s": 4.5,
        "sample_rates": {22050: 1, 44100: 2},
    }
    assert audio.audio_stats([])["count"] == 0
    assert audio.audio_stats([])["total_duration_s"] == 0.0


def test_meta_from_normalize_feeds_audio_stats():
    metas = [run(encode(tone(s, rate=r), rate=r)).meta for s, r in ((1.0, 16000), (2.0, 22050))]
    stats = audio.audio_stats(metas)
    assert stats["total_duration_s"] == pytest.approx(3.0, abs=0.01)
    assert stats["sample_rates"] == {16000: 1, 22050: 1}


# --- module hygiene -------------------------------------------------------------------------------------


def test_importing_the_module_does_not_import_torch_or_qt():
    code = (
        "import sys, studio.core.datasets.audio; "
        "bad = [m for m in ('torch', 'torchaudio', 'PySide6') if m in sys.modules]; "
        "print(bad); sys.exit(bool(bad))"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[3]))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
