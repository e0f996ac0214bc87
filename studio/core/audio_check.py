"""The audio path's self-check for ``aigc-studio --self-test``: one resample and one mel spectrogram.

It lives apart from :mod:`studio.core.audio_stack` because it exercises modules that import that one (the
resampler and the mel front end both get torchaudio through it)."""

from __future__ import annotations

import numpy as np

from studio.core import audio_stack
from studio.core.datasets.audio import resample
from studio.core.jobs import JobError
from studio.core.speech.mel import MelFrontEnd


def check_audio_stack() -> str:
    """Exercise the audio path a dataset import and a voice take: a band-limited resample (the importer's numpy
    kernel, the same taps as torchaudio's) and a log-mel spectrogram (torchaudio's transform, after
    :func:`import_torchaudio`).

    Returns "ok", or the plain sentence saying what is broken (used by ``aigc-studio --self-test``)."""
    try:
        import torch  # loaded first so a torch failure is not blamed on torchaudio

        audio_stack.import_torchaudio()
        rate = 16000
        tone = np.sin(2 * np.pi * 440.0 * np.arange(rate) / rate).astype(np.float32)
        resampled = resample(tone, rate, 22050)
        if len(resampled) != 22050 or not np.isfinite(resampled).all():
            return f"resampling gave {len(resampled)} samples instead of 22050"
        mel = MelFrontEnd(sample_rate=22050)(torch.from_numpy(resampled))
        if tuple(mel.shape) != (80, 22050 // 256) or not bool(torch.isfinite(mel).all()):
            return f"the mel spectrogram has shape {tuple(mel.shape)} instead of (80, {22050 // 256})"
    except JobError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - the self-test reports any failure as text
        return f"{type(exc).__name__}: {exc}"
    return "ok"
