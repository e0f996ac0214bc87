"""A spectrogram picture for the panel: what a designer looks at to see breaths, clicks and gaps.

numpy only (no torch at panel time): a Hann-windowed STFT with ~10 ms hops, magnitudes in dB over an 80 dB range,
and rows spaced on the mel scale so speech (which lives below ~4 kHz) fills most of the picture.
"""

from __future__ import annotations

import numpy as np

DYNAMIC_RANGE_DB = 80.0


def _mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def _mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def spectrogram_image(samples: np.ndarray, sample_rate: int, height: int = 128) -> np.ndarray:
    """uint8 ``(height, frames)`` log-magnitude picture; row 0 is the lowest frequency, one column per ~10 ms."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    hop = max(1, int(round(sample_rate / 100)))
    n_fft = 1 << int(np.ceil(np.log2(max(4 * hop, 64))))
    frames = max(1, int(np.ceil(len(x) / hop)))
    padded = np.pad(x, (n_fft // 2, n_fft // 2 + frames * hop - len(x)))
    window = np.hanning(n_fft).astype(np.float32)
    image = np.empty((height, frames), dtype=np.uint8)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    rows = np.interp(_mel_to_hz(np.linspace(0.0, _mel(sample_rate / 2), height)), freqs, np.arange(len(freqs)))
    lo = np.floor(rows).astype(int)
    hi = np.minimum(lo + 1, len(freqs) - 1)
    frac = (rows - lo).astype(np.float32)
    db_all = []
    step = 2048  # frames per block keeps memory flat for long audio
    for start in range(0, frames, step):
        count = min(step, frames - start)
        idx = (start + np.arange(count))[:, None] * hop + np.arange(n_fft)[None, :]
        mag = np.abs(np.fft.rfft(padded[idx] * window, axis=1)).T  # (bins, count)
        picked = mag[lo] * (1 - frac)[:, None] + mag[hi] * frac[:, None]
        db_all.append(20.0 * np.log10(np.maximum(picked, 1e-6)))
    db = np.concatenate(db_all, axis=1)
    top = max(float(db.max()), -120.0 + DYNAMIC_RANGE_DB)
    scaled = np.clip((db - (top - DYNAMIC_RANGE_DB)) / DYNAMIC_RANGE_DB, 0.0, 1.0)
    image[:] = np.round(scaled * 255.0).astype(np.uint8)
    return image
