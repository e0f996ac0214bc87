"""Audio clips: decode, check and normalize one voice recording for speech training.

Every clip becomes a 16-bit PCM mono WAV at the project rate, with its loudness brought to one level and its
leading/trailing silence cut, because a TTS or vocoder model learns fastest from clips that differ only in
what is said. Problems that do not make a clip unusable (clipping, very quiet, too short or long, an odd
source rate) are flags: the clip is kept and the dataset panel shows it for a look.

Decoding goes through ``soundfile`` (libsndfile) from memory, never through ``torchaudio.load``: torchaudio
2.9+ hands file I/O to torchcodec/FFmpeg, which the studio does not ship. MP3 needs libsndfile >= 1.1.

Memory is bounded whatever the file: the header (frames, channels, rate) gives an estimate of the decode's
peak (``decode_estimate``) and a file over ``options.max_decode_bytes`` is refused before any sample is
decoded; the samples are then read in blocks, mixed to mono and resampled block by block
(``StreamResampler``), so only the clip at the project rate is ever whole in memory, never the source-rate
signal. Resampling is torchaudio's Kaiser-sinc kernel computed with numpy (``SincKernel``), so an import
worker never loads torch (~490 MB by itself). A 10-minute 384 kHz FLAC (311 MB) took a worker to 2.7 GB;
it now peaks at about 510 MB, 296 of them the file's own bytes.

The transcript helpers at the end are pure functions the importer calls: LJSpeech ``metadata.csv`` and
per-clip sidecar ``.txt``/``.lab`` files. Nothing here touches the file system or imports Qt or torch, so
importing this module is cheap.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import math
import posixpath

import numpy as np
import soundfile

from studio.core.datasets.base import FIXED, OK, ImportOptions, Normalized, format_bytes

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
MAX_SINC_KERNEL = 4_000_000  # sinc kernel size (up × taps) above which the FFT resampler is used instead
# Source samples resampled at a time: the sinc path's scratch is the chunk plus one bounded window copy; the
# FFT path's is ~56 bytes per sample, so its chunks are shorter.
RESAMPLE_CHUNK = 1 << 21
FFT_CHUNK = 1 << 18
_WINDOW_FLOATS = 1 << 22  # the sinc product copies at most this many floats of source windows at a time (16 MB)
FFT_MARGIN = 1 << 14  # source samples of real signal on each side of an FFT chunk (see StreamResampler)
BLOCK_BYTES = 1 << 20  # float32 bytes per block read from the file (all channels)
ANALYSIS_BLOCK = 1 << 20  # samples per block in the level and silence measurements (float64 scratch: 8 MB)
# Bytes held per output sample at the pipeline's peak: the mono clip (4), its trimmed and gained copy (4),
# the int16 quantization's float32 scratch and result (4 + 2), the WAV buffer and its copy (2 + 2), and the
# blocks the resampler has returned before they are joined (4).
_BYTES_PER_OUTPUT_SAMPLE = 22

# Transcripts -------------------------------------------------------------------------------------------
TRANSCRIPT_NAMES = frozenset({"metadata.csv"})
SIDECAR_SUFFIXES = (".txt", ".lab")
NO_TRANSCRIPT = "no transcript"

# Human names for source encodings, used in the "converted from … to 16-bit WAV" fix.
_SUBTYPE_NAMES = {
    "PCM_U8": "8-bit",
    "PCM_S8": "8-bit",
    "PCM_16": "16-bit",
    "PCM_24": "24-bit",
    "PCM_32": "32-bit",
    "FLOAT": "32-bit float",
    "DOUBLE": "64-bit float",
    "ULAW": "µ-law",
    "ALAW": "A-law",
}
_CODEC_NAMES = {
    "VORBIS": "Ogg Vorbis",
    "OPUS": "Ogg Opus",
    "MPEG_LAYER_III": "MP3",
    "MPEG_LAYER_II": "MP2",
    "MPEG_LAYER_I": "MP1",
}


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
    rate = options.sample_rate
    try:
        source = _decode(data, rate, options.max_decode_bytes)
    except _Unreadable as exc:
        return Normalized.skipped(str(exc))

    fixes: list[str] = []
    if not source.plain_wav:
        fixes.append(f"converted from {source.describe()} to 16-bit WAV")
    if source.nonfinite:
        fixes.append("invalid samples replaced with silence")
    if source.channels > 1:
        fixes.append("mixed to mono")
    mono = source.mono  # already at the project rate: _decode resamples block by block
    if source.rate != rate:
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
    return Normalized(
        status=FIXED,
        fixes=fixes,
        flags=flags,
        payload=encode_wav(clip, rate),
        suffix=".wav",
        dedupe_key=dedupe_key,
        meta=meta,
    )


def _flags(source: _Source, rate: int, peak_db: float, duration_s: float, options: ImportOptions) -> list[str]:
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

    return "MP3" in soundfile.available_formats()


class _Source:
    """The decoded source: a mono mix at the project rate plus the facts the flags need, gathered in one
    streaming pass. ``rate`` and ``frames`` describe the source file, ``mono`` the resampled clip."""

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


def _decode(data: bytes, rate: int, budget: int | None = None) -> _Source:
    """Stream-decode ``data`` into a mono float32 mix at ``rate``, counting clipped and invalid samples.

    The header is checked against ``budget`` first (``decode_estimate``). Reading, mixing and resampling
    go block by block, so memory holds one block of the source and the clip at ``rate``, even for
    many-channel or high-rate files; reading stops early past MAX_SOURCE_SECONDS (a FLAC of silence can
    expand ~1000×, so the byte size alone says little).
    """

    try:
        with soundfile.SoundFile(io.BytesIO(data)) as f:
            source = _Source(f.format, f.subtype, int(f.samplerate), int(f.channels))
            if not MIN_SOURCE_RATE <= source.rate <= MAX_SOURCE_RATE or source.channels < 1:
                raise _Unreadable("not a readable audio file")
            estimate = decode_estimate(len(data), int(f.frames), source.channels, source.rate, rate)
            if budget is not None and estimate > budget:
                raise _Unreadable(
                    f"too large to decode safely (about {format_bytes(estimate)} of memory); "
                    "cut it into shorter clips first"
                )
            _read_blocks(f, source, rate)
    except _Unreadable:
        raise
    except MemoryError:
        raise _Unreadable("too large to decode") from None
    except Exception as exc:  # noqa: BLE001 - libsndfile reports every malformed file as some RuntimeError/ValueError
        log.debug("audio decode failed: %r", exc)
        raise _Unreadable("not a readable audio file") from None
    if source.frames == 0:
        raise _Unreadable("no audio in the file")
    return source


def decode_estimate(file_bytes: int, frames: int, channels: int, source_rate: int, rate: int) -> int:
    """Bytes ``normalize`` holds at its peak for a file of ``file_bytes`` whose header claims ``frames``
    frames of ``channels`` channels at ``source_rate``, stored at ``rate``.

    The file's bytes, one block read from it (and its mono mix), the resampler's chunk, and the clip at the
    project rate with the copies the later steps make (``_BYTES_PER_OUTPUT_SAMPLE``). A header that does not
    say how long the file is (or says more than MAX_SOURCE_SECONDS) counts as the longest accepted file: the
    reader stops there. Measured: a 600 s 384 kHz mono FLAC of 311 MB is estimated at 658 MB and grows a
    process that already holds its bytes by 181 MiB (190 MB); tests/core/datasets/test_import_safety.py
    measures a shorter one.
    """
    longest = int(MAX_SOURCE_SECONDS * source_rate) + 1
    frames = min(frames, longest) if frames > 0 else longest
    output = math.ceil(frames * rate / source_rate)
    block = 2 * BLOCK_BYTES + BLOCK_BYTES // max(1, channels)
    return file_bytes + block + _chunk_bytes(source_rate, rate) + _BYTES_PER_OUTPUT_SAMPLE * output


def _chunk_bytes(orig_rate: int, new_rate: int) -> int:
    """Scratch of one ``StreamResampler`` chunk: the segment with its context, and for the FFT path its
    zero-padded float64 copy, spectrum, trimmed spectrum and inverse (about 56 bytes per padded sample)."""
    if orig_rate == new_rate:
        return 0
    up, down = _ratio(orig_rate, new_rate)
    sinc = _sinc_fits(orig_rate, new_rate)
    reach = math.ceil(16 * down / (min(up, down) * 0.95)) if sinc else FFT_MARGIN
    context = -(-reach // down) * down
    segment = max(RESAMPLE_CHUNK if sinc else FFT_CHUNK, down) + 3 * context + BLOCK_BYTES // 4
    if sinc:  # the segment and its padded copy, the window copy, the output blocks, the kernel being built
        return 8 * segment + 4 * _WINDOW_FLOATS + 4 * (segment * up // down + up) + 40 * up * (2 * reach + down)
    return 56 * (segment + 2 * context)


def _read_blocks(f, source: _Source, rate: int) -> None:
    """Fill ``source`` from an open SoundFile, one block at a time, resampling each block to ``rate``."""
    block = max(1024, (BLOCK_BYTES // 4) // source.channels)
    limit = int(MAX_SOURCE_SECONDS * source.rate)
    resampler = StreamResampler(source.rate, rate)
    while True:
        chunk = f.read(block, dtype="float32", always_2d=True)
        if len(chunk) == 0:
            break
        if not np.isfinite(chunk).all():
            bad = ~np.isfinite(chunk)
            source.nonfinite += int(bad.sum())
            chunk[bad] = 0.0
        source.clipped += int(np.count_nonzero(np.abs(chunk) >= CLIPPING_LEVEL))
        resampler.feed(chunk.mean(axis=1, dtype=np.float32) if source.channels > 1 else chunk[:, 0].copy())
        source.frames += len(chunk)
        if source.frames > limit:
            raise _Unreadable(f"longer than {MAX_SOURCE_SECONDS / 60:.0f} minutes: cut it into clips first")
    source.mono = resampler.finish()


# --------------------------------------------------------------------------------------------------------
# signal steps (pure numpy functions of a mono float32 array)
# --------------------------------------------------------------------------------------------------------


def resample(x: np.ndarray, orig_rate: int, new_rate: int) -> np.ndarray:
    """Band-limited resampling of a mono float32 signal; the length scales exactly with the rate ratio.

    torchaudio's windowed-sinc (Kaiser) kernel (``SincKernel``) is the quality choice for every common rate
    pair. Its kernel grows with the reduced ratio, though (44099 → 22050 Hz would need ~10⁹ taps), so for such
    odd ratios an FFT resampler takes over: exact in the pass band, with zero padding so the clip's ends do not
    wrap. Long signals go through in chunks (``StreamResampler``), so the scratch memory stays small.
    """
    if orig_rate == new_rate or len(x) == 0:
        return x.astype(np.float32, copy=False)
    resampler = StreamResampler(orig_rate, new_rate)
    step = BLOCK_BYTES // 4  # fed as the decoder feeds it, so a chunk is never much longer than planned
    for start in range(0, len(x), step):
        resampler.feed(x[start : start + step])
    return resampler.finish()


def _ratio(orig_rate: int, new_rate: int) -> tuple[int, int]:
    g = math.gcd(orig_rate, new_rate)
    return new_rate // g, orig_rate // g


def _sinc_fits(orig_rate: int, new_rate: int) -> bool:
    """Whether the sinc kernel for this ratio is small enough (else the FFT resampler is used)."""
    up, down = _ratio(orig_rate, new_rate)
    width = math.ceil(16 * down / (min(up, down) * 0.95))
    return up * (down + 2 * width) <= MAX_SINC_KERNEL


class SincKernel:
    """The Kaiser-windowed sinc resampling kernel of torchaudio's ``resample`` (lowpass_filter_width 16,
    rolloff 0.95, beta 8.6), computed and applied with numpy.

    Same formula, same taps, same output as ``torchaudio.functional.resample`` (within float32 rounding,
    tests/core/datasets/test_import_safety.py). Why not torchaudio itself: importing torch costs a pool worker
    about 490 MB before it decodes anything, which alone is half the ~1 GB a worker may use, and each torch
    conv1d call with this kernel costs ~25 ms whatever its length. numpy's matrix product over strided
    windows has neither cost, so audio import workers never import torch at all.

    ``weights[p, j]`` is the weight of source sample ``i·down − width + j`` in output ``i·up + p``.
    """

    LOWPASS_WIDTH, ROLLOFF, BETA = 16, 0.95, 8.6

    def __init__(self, orig_rate: int, new_rate: int) -> None:
        self.up, self.down = _ratio(orig_rate, new_rate)
        base = min(self.up, self.down) * self.ROLLOFF
        self.width = math.ceil(self.LOWPASS_WIDTH * self.down / base)
        taps = np.arange(-self.width, self.width + self.down, dtype=np.float64)[None, :] / self.down
        t = np.arange(0, -self.up, -1, dtype=np.float64)[:, None] / self.up + taps
        t *= base
        np.clip(t, -self.LOWPASS_WIDTH, self.LOWPASS_WIDTH, out=t)
        window = np.i0(self.BETA * np.sqrt(1 - (t / self.LOWPASS_WIDTH) ** 2)) / np.i0(self.BETA)
        t *= math.pi
        with np.errstate(divide="ignore", invalid="ignore"):
            weights = np.where(t == 0, 1.0, np.sin(t) / t)
        weights *= window * (base / self.down)
        self.weights_t = np.ascontiguousarray(weights.T, dtype=np.float32)  # (taps, up): windows @ weights_t

    @property
    def taps(self) -> int:
        return self.weights_t.shape[0]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Resample ``x`` whole, zeros beyond its ends: ceil(len · up / down) samples."""
        n = len(x)
        padded = np.concatenate(
            [np.zeros(self.width, np.float32), np.asarray(x, np.float32), np.zeros(self.width + self.down, np.float32)]
        )
        blocks = (len(padded) - self.taps) // self.down + 1
        windows = np.lib.stride_tricks.sliding_window_view(padded, self.taps)[:: self.down]  # a view: no copy
        out = np.empty((blocks, self.up), np.float32)
        rows = max(1, _WINDOW_FLOATS // self.taps)
        for top in range(0, blocks, rows):
            # Overlapping windows cannot go to BLAS as they are (their row stride is shorter than a row), and
            # numpy's own loop is ~10x slower: copy a bounded band of them into a plain matrix first.
            band = np.ascontiguousarray(windows[top : top + rows])
            np.matmul(band, self.weights_t, out=out[top : top + rows])
        return out.reshape(-1)[: math.ceil(self.up * n / self.down)]


def _resample_sinc(x: np.ndarray, orig_rate: int, new_rate: int, kernel: SincKernel | None = None) -> np.ndarray:
    kernel = kernel if kernel is not None else SincKernel(orig_rate, new_rate)
    return kernel(x)


def _resample_fft(x: np.ndarray, orig_rate: int, new_rate: int, pad: int | None = None) -> np.ndarray:
    """FFT resampling of ``x`` padded with ``pad`` zeros on both ends (default: a sixteenth of its length)."""
    n = len(x)
    if pad is None:
        pad = max(64, n // 16)  # silence on both ends so circular convolution cannot bleed the end into the start
    padded = np.concatenate([np.zeros(pad), x.astype(np.float64), np.zeros(pad)])
    m_total = int(round(len(padded) * new_rate / orig_rate))
    spectrum = np.fft.rfft(padded)
    del padded
    keep = min(len(spectrum), m_total // 2 + 1)
    out = np.zeros(m_total // 2 + 1, dtype=complex)
    out[:keep] = spectrum[:keep]
    del spectrum
    y = np.fft.irfft(out, n=m_total) * (m_total / (n + 2 * pad))
    start = int(round(pad * new_rate / orig_rate))
    return y[start : start + int(round(n * new_rate / orig_rate))].astype(np.float32)


class StreamResampler:
    """``resample`` for a signal that arrives in blocks: only a chunk of the source is in memory at a time.

    Both resamplers produce an output block of ``up`` samples from every ``down`` source samples (the rate
    ratio in lowest terms), looking at a bounded neighbourhood of source samples. So the source is cut at
    multiples of ``down`` and each chunk is resampled with ``context`` real source samples on each side,
    and only the outputs that belong to the chunk itself are kept:

    * **sinc** (``SincKernel``): output block i reads source samples [i·down − width, (i+1)·down + width), zeros
      beyond the signal's ends. With ``context`` ≥ width the kept outputs are *exactly* what resampling the
      whole signal gives (same kernel, same samples; only float summation order may differ).
    * **FFT** (odd ratios): each chunk is FFT-resampled with FFT_MARGIN or more real samples on each side
      and zero padding beyond (a multiple of ``down``, so every chunk's outputs sit on the exact output grid;
      the last chunk is completed with zeros to whole blocks for the same reason). The ideal low-pass's tails
      decay with distance, so the result differs from one whole-signal FFT by a few 16-bit steps at most on
      full-band noise, and by far less on speech or tones (tests/core/datasets/test_import_safety.py).

    A signal shorter than one chunk (and its context) is resampled in one piece, like ``_resample_sinc`` or
    ``_resample_fft`` would resample it on their own.
    """

    def __init__(self, orig_rate: int, new_rate: int, chunk: int | None = None) -> None:
        self.orig_rate, self.new_rate = orig_rate, new_rate
        self.up, self.down = _ratio(orig_rate, new_rate)
        self.same = orig_rate == new_rate
        self.sinc = not self.same and _sinc_fits(orig_rate, new_rate)
        self._kernel = SincKernel(orig_rate, new_rate) if self.sinc else None
        reach = self._kernel.width if self._kernel is not None else FFT_MARGIN
        self.context = -(-reach // self.down) * self.down  # at least ``reach``, a multiple of ``down``
        self.chunk = max(chunk or (RESAMPLE_CHUNK if self.sinc else FFT_CHUNK), self.down)
        self._pending: list[np.ndarray] = []  # blocks fed since the last chunk was resampled
        self._pending_samples = 0
        self._buffer = np.zeros(0, np.float32)  # source samples from global index _buffer_start on
        self._buffer_start = 0
        self._next_block = 0  # the first output block not produced yet
        self._total = 0
        self._out: list[np.ndarray] = []

    def feed(self, x: np.ndarray) -> None:
        """Add source samples; resamples whole chunks as soon as their right context has arrived."""
        if len(x) == 0:
            return
        self._pending.append(np.asarray(x, dtype=np.float32))
        self._pending_samples += len(x)
        self._total += len(x)
        if not self.same and self._buffered_ahead() >= self.chunk + 2 * self.context:
            self._run(final=False)

    def finish(self) -> np.ndarray:
        """The whole resampled signal (length ceil or round of n·new/orig, as the whole-signal resampler gives)."""
        if self.same:
            out = np.concatenate(self._pending) if self._pending else np.zeros(0, np.float32)
        else:
            self._run(final=True)
            out = np.concatenate(self._out) if self._out else np.zeros(0, np.float32)
        self._pending, self._out, self._buffer = [], [], np.zeros(0, np.float32)
        return out

    def _buffered_ahead(self) -> int:
        return self._buffer_start + len(self._buffer) + self._pending_samples - self._next_block * self.down

    def _run(self, final: bool) -> None:
        if self._pending:
            self._buffer = np.concatenate([self._buffer, *self._pending])
            self._pending, self._pending_samples = [], 0
        end = self._buffer_start + len(self._buffer)
        if final and self._next_block == 0 and not self._out:  # short signal: whole, exactly as before
            self._out.append(self._resample(self._buffer, whole=True))
            return
        stop_block = -(-end // self.down) if final else (end - self.context) // self.down
        if stop_block <= self._next_block:
            return
        first = max(0, self._next_block * self.down - self.context)
        stop = end if final else stop_block * self.down + self.context
        segment = self._buffer[first - self._buffer_start : stop - self._buffer_start]
        skip = (self._next_block * self.down - first) // self.down * self.up
        if final and not self.sinc:
            # The FFT path's output grid is exact only for whole blocks: complete the last one with the zeros
            # that lie beyond the signal anyway, then keep as many samples as the whole-signal length says.
            segment = np.concatenate([segment, np.zeros(-len(segment) % self.down, np.float32)])
            wanted = round(self._total * self.new_rate / self.orig_rate) - self._next_block * self.up
            self._out.append(self._resample(segment, whole=False)[skip : skip + wanted])
        else:
            y = self._resample(segment, whole=False)
            self._out.append(y[skip:] if final else y[skip : skip + (stop_block - self._next_block) * self.up])
        self._next_block = stop_block
        keep_from = max(0, stop_block * self.down - self.context)
        self._buffer = self._buffer[keep_from - self._buffer_start :].copy()
        self._buffer_start = keep_from

    def _resample(self, segment: np.ndarray, whole: bool) -> np.ndarray:
        if self.sinc:
            return _resample_sinc(segment, self.orig_rate, self.new_rate, self._kernel)
        if whole:
            return _resample_fft(segment, self.orig_rate, self.new_rate)
        # a pad that is a multiple of ``down`` keeps every chunk's outputs on the same sample grid
        return _resample_fft(segment, self.orig_rate, self.new_rate, pad=self.context)


def _blocks(x: np.ndarray, size: int = ANALYSIS_BLOCK):
    """Views of ``x`` of at most ``size`` samples: measurements need scratch for one block, not the clip."""
    return (x[start : start + size] for start in range(0, len(x), size))


def level_dbfs(x: np.ndarray) -> tuple[float, float]:
    """(peak, RMS) in dBFS; digital silence reports SILENCE_FLOOR_DBFS rather than -inf."""
    if len(x) == 0:
        return SILENCE_FLOOR_DBFS, SILENCE_FLOOR_DBFS
    peak = max(float(np.max(np.abs(block))) for block in _blocks(x))
    energy = sum(float(np.sum(np.square(block, dtype=np.float64))) for block in _blocks(x))
    return _db(peak), _db(math.sqrt(energy / len(x)))


def silent_edges(x: np.ndarray, rate: int) -> tuple[int, int]:
    """[start, end) of the part worth keeping: first to last 10 ms frame within TRIM_THRESHOLD_DB of the peak,
    widened by TRIM_MARGIN_S. The threshold is relative so a quiet but clean recording is not eaten whole."""
    peak = max((float(np.max(np.abs(block))) for block in _blocks(x)), default=0.0)
    if peak == 0.0:
        return 0, len(x)  # all digital silence: nothing to anchor on, leave it (it is flagged near-silent)
    hop = max(1, int(round(TRIM_FRAME_S * rate)))
    frames = len(x) // hop + (len(x) % hop > 0)
    threshold = peak * 10.0 ** (-TRIM_THRESHOLD_DB / 20.0)
    first = last = None
    rows = max(1, ANALYSIS_BLOCK // hop)  # frames measured at a time (float64 scratch of one block)
    for top in range(0, frames, rows):
        bottom = min(frames, top + rows)
        padded = np.zeros((bottom - top) * hop, np.float64)
        part = x[top * hop : bottom * hop]
        padded[: len(part)] = part
        loud = np.flatnonzero(np.sqrt(np.mean(padded.reshape(-1, hop) ** 2, axis=1)) >= threshold)
        if len(loud):
            first = top + int(loud[0]) if first is None else first
            last = top + int(loud[-1])
    if first is None or last is None:
        return 0, len(x)
    margin = int(round(TRIM_MARGIN_S * rate))
    start = max(0, first * hop - margin)
    end = min(len(x), (last + 1) * hop + margin)
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
    source survives the round trip bit-exactly. Rounds and clips in place: one scratch copy, not three."""
    scaled = x * 32768.0
    np.rint(scaled, out=scaled)
    np.clip(scaled, -32768, 32767, out=scaled)
    return scaled.astype("<i2")


def encode_wav(x: np.ndarray, rate: int) -> bytes:
    """16-bit PCM mono WAV bytes. Quantizing ourselves avoids libsndfile's asymmetric float→int scaling."""

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
