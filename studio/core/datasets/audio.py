"""Audio clips: decode, check and normalize one voice recording for speech training.

Every clip becomes a 16-bit PCM mono WAV at the project rate, with its loudness brought to one level and its
leading/trailing silence cut, because a TTS or vocoder model learns fastest from clips that differ only in
what is said. Problems that do not make a clip unusable (clipping, very quiet, too short or long, an odd
source rate) are flags: the clip is kept and the dataset panel shows it for a look.

Decoding goes through ``soundfile`` (libsndfile) from memory, never through ``torchaudio.load``: torchaudio
2.9+ hands file I/O to torchcodec/FFmpeg, which the studio does not ship. MP3 needs libsndfile >= 1.1.

The transcript helpers at the end are pure functions the importer calls: LJSpeech ``metadata.csv`` and
per-clip sidecar ``.txt``/``.lab`` files. Nothing here touches the file system or imports Qt, and torch is
imported only inside the resampler, so importing this module is cheap.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import math
import posixpath

import numpy as np

from studio.core.datasets.base import FIXED, OK, ImportOptions, Normalized

log = logging.getLogger(__name__)

SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".mp3"})

# Rates real recorders and datasets use; anything else is flagged because it often means a mislabeled file.
STANDARD_RATES = frozenset({16000, 22050, 24000, 32000, 44100, 48000})

CLIPPING_LEVEL = 0.999  # |sample| at or above this counts as clipped
CLIPPING_FRACTION = 0.001  # flag when at least 0.1 % of samples are clipped
NEAR_SILENT_DBFS = -40.0  # flag when the clip's peak is below this
PEAK_CEILING_DBFS = -1.0  # loudness normalization never lifts the peak above this (headroom for resampling)
LOUDNESS_TOLERANCE_DB = 1.0  # a clip this close to the target is left as it is
MIN_GAIN_DB = 0.1  # smaller gain changes are inaudible and not worth re-encoding for
TRIM_THRESHOLD_DB = 40.0  # a 10 ms frame this far below the clip's peak is silence
TRIM_FRAME_S = 0.010
TRIM_MARGIN_S = 0.050  # silence kept before the first and after the last sound, so onsets are not clipped
MIN_TRIM_S = 0.050  # cutting less than this is not worth re-encoding a clip for
SILENCE_FLOOR_DBFS = -120.0  # what digital silence reports as its level (finite, so it survives JSON)
MAX_SOURCE_SECONDS = 600.0  # decoding guard: a longer file could exhaust memory; it is no training clip anyway
MIN_SOURCE_RATE, MAX_SOURCE_RATE = 1000, 768_000  # outside this a "rate" in a header is garbage
MAX_SINC_KERNEL = 4_000_000  # torchaudio's sinc kernel size above which the FFT resampler is used instead

# Transcripts -------------------------------------------------------------------------------------------
TRANSCRIPT_NAMES = frozenset({"metadata.csv"})
SIDECAR_SUFFIXES = (".txt", ".lab")
NO_TRANSCRIPT = "no transcript"

# Human names for source encodings, used in the "converted from … to 16-bit WAV" fix.
_SUBTYPE_NAMES = {
    "PCM_U8": "8-bit", "PCM_S8": "8-bit", "PCM_16": "16-bit", "PCM_24": "24-bit", "PCM_32": "32-bit",
    "FLOAT": "32-bit float", "DOUBLE": "64-bit float", "ULAW": "µ-law", "ALAW": "A-law",
}
_CODEC_NAMES = {"VORBIS": "Ogg Vorbis", "OPUS": "Ogg Opus", "MPEG_LAYER_III": "MP3",
                "MPEG_LAYER_II": "MP2", "MPEG_LAYER_I": "MP1"}


class _Unreadable(Exception):
    """A source that cannot become a clip; ``str(exc)`` is the plain reason shown to the user."""


# --------------------------------------------------------------------------------------------------------
# normalize
# --------------------------------------------------------------------------------------------------------

def normalize(data: bytes, name: str, options: ImportOptions) -> Normalized:
    """Turn one source file into a project clip, or say in plain words why it cannot be one.

    Order matters: mix and resample first (so the dedupe key is format-independent), trim next (so silence
    does not drag the loudness measurement down), then set the gain, then quantize once to 16 bits.
    """
    if not data:
        return Normalized.skipped("empty file")
    if _suffix(name) == ".mp3" and not mp3_supported():
        return Normalized.skipped("MP3 could not be decoded on this system")
    try:
        source = _decode(data)
    except _Unreadable as exc:
        return Normalized.skipped(str(exc))

    fixes: list[str] = []
    rate = options.sample_rate
    if not source.plain_wav:
        fixes.append(f"converted from {source.describe()} to 16-bit WAV")
    if source.nonfinite:
        fixes.append("invalid samples replaced with silence")
    if source.channels > 1:
        fixes.append("mixed to mono")
    mono = source.mono
    if source.rate != rate:
        mono = resample(mono, source.rate, rate)
        fixes.append(f"resampled from {source.rate} Hz")

    dedupe_key = _samples_key(mono)
    peak_db, rms_db = level_dbfs(mono)

    clip = mono
    if options.trim_silence:
        start, end = silent_edges(mono, rate)
        removed_s = (len(mono) - (end - start)) / rate
        if removed_s >= MIN_TRIM_S:
            clip = mono[start:end]
            fixes.append(f"silence trimmed ({_fmt_seconds(removed_s)} s)")

    gain_db = loudness_gain_db(clip, options.target_loudness_dbfs)
    if gain_db:
        clip = clip * np.float32(10.0 ** (gain_db / 20.0))
        fixes.append("loudness normalized")

    duration_s = len(clip) / rate
    flags = _flags(source, rate, peak_db, duration_s, options)
    meta = {
        "duration_s": round(duration_s, 4),
        "original_sample_rate": source.rate,
        "channels": source.channels,
        "original_duration_s": round(source.frames / source.rate, 4),
        "peak_dbfs": round(peak_db, 2),
        "rms_dbfs": round(rms_db, 2),
        "gain_db": round(gain_db, 2),
        "source_format": source.describe(),
    }
    if not fixes:
        return Normalized(status=OK, flags=flags, payload=data, suffix=".wav", dedupe_key=dedupe_key, meta=meta)
    return Normalized(status=FIXED, fixes=fixes, flags=flags, payload=encode_wav(clip, rate), suffix=".wav",
                      dedupe_key=dedupe_key, meta=meta)


def _flags(source: "_Source", rate: int, peak_db: float, duration_s: float, options: ImportOptions) -> list[str]:
    """Things a person should look at; none of them stops the clip from being used."""
    flags = []
    if source.clipped >= CLIPPING_FRACTION * source.frames * source.channels:
        flags.append("clipping")
    if peak_db < NEAR_SILENT_DBFS:
        flags.append("near-silent")
    if duration_s < options.min_clip_s:
        flags.append(f"too short ({_fmt_seconds(duration_s)} s)")
    elif duration_s > options.max_clip_s:
        flags.append(f"too long ({_fmt_seconds(duration_s)} s)")
    if source.rate not in STANDARD_RATES:
        flags.append(f"odd sample rate ({source.rate} Hz)")
    return flags


# --------------------------------------------------------------------------------------------------------
# decoding
# --------------------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def mp3_supported() -> bool:
    """Whether the installed libsndfile decodes MP3 (it does from 1.1.0 on, when built with mpg123)."""
    import soundfile

    return "MP3" in soundfile.available_formats()


class _Source:
    """The decoded source: a mono mix plus the facts the flags need, gathered in one streaming pass."""

    def __init__(self, fmt: str, subtype: str, rate: int, channels: int):
        self.format, self.subtype, self.rate, self.channels = fmt, subtype, rate, channels
        self.mono = np.zeros(0, np.float32)
        self.frames = 0
        self.clipped = 0  # samples (over all channels) at or above CLIPPING_LEVEL
        self.nonfinite = 0  # NaN/inf samples in a float file, replaced by 0

    @property
    def plain_wav(self) -> bool:
        """Already the stored encoding (16-bit PCM WAV), so it needs no conversion by itself."""
        return self.format in ("WAV", "WAVEX") and self.subtype == "PCM_16"

    def describe(self) -> str:
        """'FLAC', 'Ogg Vorbis', 'MP3', '24-bit WAV'… for fixes the user reads."""
        if self.subtype in _CODEC_NAMES:
            return _CODEC_NAMES[self.subtype]
        if self.format in ("WAV", "WAVEX", "RF64", "W64", "AIFF", "CAF"):
            bits = _SUBTYPE_NAMES.get(self.subtype, self.subtype)
            return f"{bits} {'WAV' if self.format in ('WAVEX', 'RF64', 'W64') else self.format}"
        return self.format


def _decode(data: bytes) -> _Source:
    """Stream-decode ``data`` into a mono float32 mix, counting clipped and invalid samples on the way.

    Streaming in blocks keeps memory at one mono copy even for many-channel files, and stops early for a file
    longer than MAX_SOURCE_SECONDS (a FLAC of silence can expand ~1000×, so the byte size alone says little).
    """
    import soundfile

    try:
        with soundfile.SoundFile(io.BytesIO(data)) as f:
            source = _Source(f.format, f.subtype, int(f.samplerate), int(f.channels))
            if not MIN_SOURCE_RATE <= source.rate <= MAX_SOURCE_RATE or source.channels < 1:
                raise _Unreadable("not a readable audio file")
            _read_blocks(f, source)
    except _Unreadable:
        raise
    except MemoryError:
        raise _Unreadable("too large to decode") from None
    except Exception as exc:  # libsndfile reports every malformed file as some RuntimeError/ValueError
        log.debug("audio decode failed: %r", exc)
        raise _Unreadable("not a readable audio file") from None
    if source.frames == 0:
        raise _Unreadable("no audio in the file")
    return source


def _read_blocks(f, source: _Source) -> None:
    """Fill ``source`` from an open SoundFile, one block at a time."""
    block = max(1024, (1 << 18) // source.channels)
    limit = int(MAX_SOURCE_SECONDS * source.rate)
    parts = []
    while True:
        chunk = f.read(block, dtype="float32", always_2d=True)
        if len(chunk) == 0:
            break
        if not np.isfinite(chunk).all():
            bad = ~np.isfinite(chunk)
            source.nonfinite += int(bad.sum())
            chunk[bad] = 0.0
        source.clipped += int(np.count_nonzero(np.abs(chunk) >= CLIPPING_LEVEL))
        parts.append(chunk.mean(axis=1, dtype=np.float32) if source.channels > 1 else chunk[:, 0].copy())
        source.frames += len(chunk)
        if source.frames > limit:
            raise _Unreadable(f"longer than {MAX_SOURCE_SECONDS / 60:.0f} minutes: cut it into clips first")
    source.mono = np.concatenate(parts) if parts else np.zeros(0, np.float32)


# --------------------------------------------------------------------------------------------------------
# signal steps (pure numpy functions of a mono float32 array)
# --------------------------------------------------------------------------------------------------------

def resample(x: np.ndarray, orig_rate: int, new_rate: int) -> np.ndarray:
    """Band-limited resampling of a mono float32 signal; the length scales exactly with the rate ratio.

    torchaudio's windowed-sinc (Kaiser) resampler is the quality choice for every common rate pair. Its kernel
    grows with the reduced ratio, though (44099 → 22050 Hz would need ~10⁹ taps), so for such odd ratios an
    FFT resampler takes over: exact in the pass band, with zero padding so the clip's ends do not wrap.
    """
    if orig_rate == new_rate or len(x) == 0:
        return x.astype(np.float32, copy=False)
    g = math.gcd(orig_rate, new_rate)
    up, down = new_rate // g, orig_rate // g
    width = math.ceil(16 * down / (min(up, down) * 0.95))
    if up * (down + 2 * width) <= MAX_SINC_KERNEL:
        return _resample_sinc(x, orig_rate, new_rate)
    return _resample_fft(x, orig_rate, new_rate)


def _resample_sinc(x: np.ndarray, orig_rate: int, new_rate: int) -> np.ndarray:
    import torch
    import torchaudio.functional as AF

    with torch.no_grad():
        y = AF.resample(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), orig_rate, new_rate,
                        lowpass_filter_width=16, rolloff=0.95, resampling_method="sinc_interp_kaiser", beta=8.6)
    return y.numpy().astype(np.float32, copy=False)


def _resample_fft(x: np.ndarray, orig_rate: int, new_rate: int) -> np.ndarray:
    n = len(x)
    pad = max(64, n // 16)  # silence on both ends so circular convolution cannot bleed the end into the start
    padded = np.concatenate([np.zeros(pad), x.astype(np.float64), np.zeros(pad)])
    m_total = int(round(len(padded) * new_rate / orig_rate))
    spectrum = np.fft.rfft(padded)
    keep = min(len(spectrum), m_total // 2 + 1)
    out = np.zeros(m_total // 2 + 1, dtype=complex)
    out[:keep] = spectrum[:keep]
    y = np.fft.irfft(out, n=m_total) * (m_total / len(padded))
    start = int(round(pad * new_rate / orig_rate))
    return y[start:start + int(round(n * new_rate / orig_rate))].astype(np.float32)


def level_dbfs(x: np.ndarray) -> tuple[float, float]:
    """(peak, RMS) in dBFS; digital silence reports SILENCE_FLOOR_DBFS rather than -inf."""
    if len(x) == 0:
        return SILENCE_FLOOR_DBFS, SILENCE_FLOOR_DBFS
    peak = float(np.max(np.abs(x)))
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return _db(peak), _db(rms)


def silent_edges(x: np.ndarray, rate: int) -> tuple[int, int]:
    """[start, end) of the part worth keeping: first to last 10 ms frame within TRIM_THRESHOLD_DB of the peak,
    widened by TRIM_MARGIN_S. The threshold is relative so a quiet but clean recording is not eaten whole."""
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak == 0.0:
        return 0, len(x)  # all digital silence: nothing to anchor on, leave it (it is flagged near-silent)
    hop = max(1, int(round(TRIM_FRAME_S * rate)))
    frames = len(x) // hop + (len(x) % hop > 0)
    padded = np.zeros(frames * hop, np.float64)
    padded[:len(x)] = x
    frame_rms = np.sqrt(np.mean(padded.reshape(frames, hop) ** 2, axis=1))
    loud = np.flatnonzero(frame_rms >= peak * 10.0 ** (-TRIM_THRESHOLD_DB / 20.0))
    if len(loud) == 0:
        return 0, len(x)
    margin = int(round(TRIM_MARGIN_S * rate))
    start = max(0, loud[0] * hop - margin)
    end = min(len(x), (loud[-1] + 1) * hop + margin)
    return int(start), int(end)


def loudness_gain_db(x: np.ndarray, target_dbfs: float) -> float:
    """Gain that brings the RMS to ``target_dbfs`` without lifting the peak above PEAK_CEILING_DBFS.

    Returns 0.0 when the clip is already within LOUDNESS_TOLERANCE_DB (and not over full scale), so a
    clip that needs nothing keeps its original bytes. Digital silence gets no gain: there is nothing to scale.
    """
    peak_db, rms_db = level_dbfs(x)
    if rms_db <= SILENCE_FLOOR_DBFS:
        return 0.0
    if abs(target_dbfs - rms_db) <= LOUDNESS_TOLERANCE_DB and peak_db <= 0.0:
        return 0.0
    wanted = target_dbfs - rms_db
    gain = min(wanted, PEAK_CEILING_DBFS - peak_db)
    if wanted > 0 > gain and peak_db <= 0.0:
        gain = 0.0  # too quiet but already peaking near full scale: turning it down would move it the wrong way
    return gain if abs(gain) >= MIN_GAIN_DB else 0.0


def to_int16(x: np.ndarray) -> np.ndarray:
    """Quantize float samples to int16 with the same scale libsndfile reads with (x · 32768), so a 16-bit
    source survives the round trip bit-exactly."""
    return np.clip(np.rint(x * 32768.0), -32768, 32767).astype("<i2")


def encode_wav(x: np.ndarray, rate: int) -> bytes:
    """16-bit PCM mono WAV bytes. Quantizing ourselves avoids libsndfile's asymmetric float→int scaling."""
    import soundfile

    buf = io.BytesIO()
    soundfile.write(buf, to_int16(x), rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _samples_key(mono: np.ndarray) -> str:
    """sha256 of the mono, project-rate samples as int16: equal for the same clip stored as WAV or FLAC."""
    return hashlib.sha256(to_int16(mono).tobytes()).hexdigest()


def _db(amplitude: float) -> float:
    return max(SILENCE_FLOOR_DBFS, 20.0 * math.log10(amplitude)) if amplitude > 0 else SILENCE_FLOOR_DBFS


def _fmt_seconds(s: float) -> str:
    """'0.04', '0.4', '31': enough digits to be meaningful, no more."""
    if s < 0.1:
        return f"{s:.2f}"
    return f"{s:.1f}" if s < 10 else f"{s:.0f}"


def _suffix(name: str) -> str:
    return posixpath.splitext(name.replace("\\", "/"))[1].lower()


# --------------------------------------------------------------------------------------------------------
# transcripts
# --------------------------------------------------------------------------------------------------------

def clip_key(relative_path: str) -> str:
    """'voice\\clip_01.WAV' → 'voice/clip_01': the form sidecar and metadata keys are compared in."""
    path = relative_path.replace("\\", "/").strip("/")
    stem, suffix = posixpath.splitext(path)
    return stem if suffix.lower() in SUFFIXES or suffix.lower() in SIDECAR_SUFFIXES else path


def parse_metadata_csv(text: str) -> dict[str, str]:
    """LJSpeech-style ``id|text`` or ``id|text|normalized_text`` lines → {id: transcript}.

    The normalized column wins when present and non-empty (numbers and abbreviations spelled out is what a
    TTS model should learn). Ids lose an audio suffix ("LJ001-0001.wav" → "LJ001-0001"). Blank, malformed
    and empty-text lines are ignored rather than failing the whole file: one bad line should cost one clip.
    """
    result: dict[str, str] = {}
    for line in text.lstrip("\ufeff").splitlines():
        parts = line.strip().split("|")
        if len(parts) < 2:
            continue
        key = clip_key(parts[0].strip())
        transcript = parts[2].strip() if len(parts) >= 3 and parts[2].strip() else parts[1].strip()
        if key and transcript:
            result[key] = transcript
    return result


def decode_transcript(data: bytes) -> str:
    """Sidecar bytes → text: UTF-8 (with or without BOM), else Windows-1252, which decodes any byte."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return " ".join(text.split())


def transcript_for(clip_relative_path: str, metadata: dict[str, str], sidecars: dict[str, str]) -> str | None:
    """The transcript of one clip, or None (the importer then flags it NO_TRANSCRIPT).

    A sidecar next to the clip ("voice/clip_01.txt") wins over metadata.csv because it is the more specific
    statement. metadata.csv ids are matched on the clip's path with leading folders dropped one at a time, so
    "wavs/LJ001-0001.wav" finds both "LJ001-0001" (LJSpeech's form) and "wavs/LJ001-0001".
    """
    key = clip_key(clip_relative_path)
    text = sidecars.get(key)
    if text and text.strip():
        return text.strip()
    parts = key.split("/")
    for i in range(len(parts)):
        text = metadata.get("/".join(parts[i:]))
        if text and text.strip():
            return text.strip()
    return None


# --------------------------------------------------------------------------------------------------------
# dataset summary
# --------------------------------------------------------------------------------------------------------

def audio_stats(metas: list[dict]) -> dict:
    """Summary for the dataset panel: how much speech there is and which rates it came at.

    Durations are the stored (trimmed) ones. Metas without a duration are ignored, and an empty dataset
    reports zeros so the panel can format every field without special cases.
    """
    durations = [float(m["duration_s"]) for m in metas if m.get("duration_s") is not None]
    rates: dict[int, int] = {}
    for m in metas:
        if m.get("original_sample_rate") is not None:
            rate = int(m["original_sample_rate"])
            rates[rate] = rates.get(rate, 0) + 1
    total = float(sum(durations))
    return {
        "count": len(durations),
        "total_duration_s": round(total, 3),
        "min_duration_s": round(min(durations), 3) if durations else 0.0,
        "mean_duration_s": round(total / len(durations), 3) if durations else 0.0,
        "max_duration_s": round(max(durations), 3) if durations else 0.0,
        "sample_rates": dict(sorted(rates.items())),
    }
