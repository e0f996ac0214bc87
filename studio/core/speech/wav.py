"""WAV files: 16-bit PCM mono, the format every editor, DAW and video tool opens.

Samples are float32 in [-1, 1]; they are clipped (never wrapped) before conversion, encoded by soundfile into
memory, and written atomically, so an export interrupted by a full disk never leaves a broken file.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile

from studio.core.atomic import atomic_write_bytes


def wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """A complete 16-bit PCM mono WAV file in memory."""

    data = np.clip(np.nan_to_num(np.asarray(samples, dtype=np.float32).reshape(-1)), -1.0, 1.0)
    buffer = io.BytesIO()
    soundfile.write(buffer, data, int(sample_rate), format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int) -> Path:
    """Write ``samples`` to ``path`` as a 16-bit PCM WAV, atomically. Returns the path."""
    return atomic_write_bytes(Path(path), wav_bytes(samples, sample_rate))


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """float32 mono samples and the sample rate (channels averaged)."""

    data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    return data.mean(axis=1), int(rate)
