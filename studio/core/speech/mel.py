"""The log-mel front end of every speech model, in one place: the convention (:data:`NORMALIZATION`), the
forward transform (:class:`MelFrontEnd`, used by the audio cache, the vocoder's training loss and the self-test),
the settings a run records (:data:`MEL_KEYS`, :func:`mel_params`) and the inverse (:func:`griffin_lim`, the
vocoder that needs no training).

Why one module: the cache writes mels, the TTS learns to predict them, the vocoder and Griffin-Lim turn them back
into sound; a filterbank, padding or floor that differed between any two would make a voice that trains well and
speaks badly. The defaults of :class:`MelFrontEnd` (22.05 kHz, 80 bands, n_fft 1024, hop 256, 0–8 kHz) are
HiFi-GAN's and the ones the speech families record.

Cheap to import: torch and torchaudio load when a transform is built.
"""

from __future__ import annotations

import numpy as np

from studio.core import untrusted
from studio.core.audio_stack import import_torchaudio
from studio.core.jobs import JobError

MEL_KEYS = ("sample_rate", "n_mels", "n_fft", "hop_length", "win_length", "f_min", "f_max")
MEL_FLOOR = 1e-5  # log(1e-5) ≈ -11.5: the value of digital silence in the cache
NORMALIZATION = (
    "log_mel = ln(max(mel, 1e-5)); mel = slaney-normalized slaney-scale filterbank (f_min..f_max) "
    "applied to |STFT| (power 1, magnitude) of the clip scaled to [-1, 1) by 1/32768, with a Hann "
    "window of win_length, reflect-padded by (n_fft - hop) / 2 on each side and center=False, so "
    "a clip of L samples has exactly L // hop frames. This is HiFi-GAN's convention, so a "
    "HiFi-GAN-style vocoder trained on it matches."
)


class MelFrontEnd:
    """The log-mel transform shared by the cache, the TTS model and the vocoder (see :data:`NORMALIZATION`)."""

    def __init__(
        self,
        sample_rate: int = 22050,
        n_mels: int = 80,
        n_fft: int = 1024,
        hop_length: int = 256,
        win_length: int = 1024,
        f_min: float = 0.0,
        f_max: float | None = 8000.0,
    ) -> None:
        torchaudio = import_torchaudio()  # a mismatched torch/torchaudio pair: one sentence, not a linker error
        self.n_fft, self.hop_length = n_fft, hop_length
        self.pad = (n_fft - hop_length) // 2
        self.transform = torchaudio.transforms.MelSpectrogram(
            sample_rate=sample_rate,
            n_fft=n_fft,
            win_length=win_length,
            hop_length=hop_length,
            f_min=f_min,
            f_max=f_max,
            n_mels=n_mels,
            power=1.0,
            center=False,
            norm="slaney",
            mel_scale="slaney",
        )

    def __call__(self, samples):
        """samples: float tensor (..., L) in [-1, 1] -> log-mel (..., n_mels, L // hop)."""
        import torch

        mode = "reflect" if samples.shape[-1] > self.pad else "constant"
        padded = torch.nn.functional.pad(samples.unsqueeze(-2), (self.pad, self.pad), mode=mode).squeeze(-2)
        if padded.shape[-1] < self.n_fft:  # a clip shorter than one hop: no frame
            return samples.new_zeros(*samples.shape[:-1], self.transform.n_mels, 0)
        return torch.log(torch.clamp(self.transform(padded), min=MEL_FLOOR))


def mel_params(model: dict) -> dict:
    """The mel settings of a describe() dict, normalized for comparison (ints as ints, f_max None or float)."""
    mel = dict(model.get("mel") or {})
    missing = [key for key in MEL_KEYS if key not in mel]
    if missing:
        raise JobError(
            f"The model description has no mel settings ({', '.join(missing)} missing); the run "
            f"cannot be used for speech. Train it again with this version of AIGC Studio."
        )
    out: dict[str, int | float | None] = {
        key: int(mel[key]) for key in ("sample_rate", "n_mels", "n_fft", "hop_length", "win_length")
    }
    out["f_min"] = float(mel["f_min"])
    out["f_max"] = None if mel["f_max"] is None else float(mel["f_max"])
    return out


# -- Griffin-Lim: the inverse, for voices without a trained vocoder ----------------------------------------------------
_GL_CACHE: dict = {}


def _griffin_lim_transforms(mel: dict, n_iter: int):
    torchaudio = import_torchaudio()  # a mismatched torch/torchaudio pair: one sentence, not a linker error
    key = (tuple(sorted(mel.items(), key=lambda kv: kv[0])), n_iter)
    if key not in _GL_CACHE:
        n_stft = int(mel["n_fft"]) // 2 + 1
        inverse = torchaudio.transforms.InverseMelScale(
            n_stft=n_stft,
            n_mels=int(mel["n_mels"]),
            sample_rate=int(mel["sample_rate"]),
            f_min=float(mel["f_min"]),
            f_max=None if mel["f_max"] is None else float(mel["f_max"]),
            norm="slaney",
            mel_scale="slaney",
        )
        griffin = torchaudio.transforms.GriffinLim(
            n_fft=int(mel["n_fft"]),
            n_iter=n_iter,
            win_length=int(mel["win_length"]),
            hop_length=int(mel["hop_length"]),
            power=1.0,
            rand_init=False,
        )
        if len(_GL_CACHE) > 8:
            _GL_CACHE.clear()
        _GL_CACHE[key] = (inverse, griffin)
    return _GL_CACHE[key]


def griffin_lim(mel: np.ndarray, mel_params: dict, n_iter: int = 32) -> np.ndarray:
    """log-mel (T, n_mels) in the cache's convention (ln(max(slaney mel of |STFT|, 1e-5))) -> float32 samples
    (T * hop_length,), by least-squares inversion of the mel filterbank (torchaudio's InverseMelScale, magnitudes
    clipped at 0) and Griffin-Lim phase recovery (power 1: the cache's mels are of magnitudes, not power).

    Why it sounds "phasey": the phase is estimated, not learned; a trained vocoder is far better, but this
    works for every voice from its first checkpoint. The phase starts at zero rather than random (measured:
    the same error after 32 iterations), so the same mel always gives the same samples and no random
    generator is touched (a training run in the same process keeps its exact stream). The output is delayed
    by half a hop to match the cache's frame centres and cut or padded to exactly T * hop samples (frame k =
    samples [k*hop, (k+1)*hop))."""
    import torch

    mel = np.asarray(mel, np.float32)
    hop = int(mel_params["hop_length"])
    if mel.ndim != 2 or len(mel) == 0:
        return np.zeros(0, np.float32)
    bins = (int(mel_params["n_fft"]) // 2 + 1) * len(mel)
    # its spectrograms would not fit a desktop's memory: refuse before allocating
    if bins > untrusted.MAX_SPECTROGRAM_BINS:
        raise JobError(
            f"This sentence is too long for Griffin-Lim at these mel settings ({bins:,} spectrogram "
            f"bins, over the limit of {untrusted.MAX_SPECTROGRAM_BINS:,}); split it, or pick a trained vocoder."
        )
    inverse, griffin = _griffin_lim_transforms(mel_params, int(n_iter))
    with torch.inference_mode():
        magnitudes = inverse(torch.from_numpy(np.exp(mel.T.copy())))  # (n_fft/2 + 1, T)
        samples = griffin(magnitudes)
    # torch's frames are centered on k * hop, the cache's on k * hop + hop / 2: delay by half a hop (measured on
    # espeak speech, this halves the round trip's mel error, 0.36 -> 0.18 nats)
    out = np.concatenate([np.zeros(hop // 2, np.float32), samples.numpy().astype(np.float32)])
    length = len(mel) * hop
    if len(out) < length:
        out = np.concatenate([out, np.zeros(length - len(out), np.float32)])
    return np.clip(out[:length], -1.0, 1.0)
