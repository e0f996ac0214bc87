"""A small HiFi-GAN (Kong et al., 2020): log-mel frames in, a waveform out, trained as a GAN.

Why HiFi-GAN and not WaveRNN (torchaudio.models.WaveRNN was the other candidate):
- **Speed on a CPU.** WaveRNN is autoregressive *sample by sample*: 22,050 sequential RNN steps per second
  of audio, each too small to use more than one core. Even the optimized C implementations reach only
  about real time on a desktop, and from Python/PyTorch its real-time factor is far above 1 (minutes of
  compute per minute of speech). HiFi-GAN is fully convolutional: a whole sentence is one batched pass of
  transposed convolutions, so it runs many times faster than real time on a CPU (the paper's V2/V3 run
  10-13x real time on one desktop CPU; tests/benchmarks/test_speech_rtf.py measures ours).
- **Small data.** The generator only has to learn the local mel -> waveform mapping, which is nearly
  speaker-independent and needs no transcripts, so every clip of a dataset trains it (clips without a
  transcript included), in random one-third-second segments.
- **Matching features.** The audio cache's mels follow HiFi-GAN's own convention (slaney mel, magnitude,
  ln(max(mel, 1e-5)), reflect padding, L // hop frames), so a frame k of the cache is exactly the audio
  samples [k*hop, (k+1)*hop) the generator produces for it.

Generator: a 7-tap input convolution, then one transposed convolution per upsampling rate (the rates
multiply to the hop length, 256 = 8·8·2·2), each followed by a multi-receptive-field fusion block (MRF: the
average of residual blocks with kernels 3, 7, 11 and dilations 1, 3, 5), then a 7-tap output convolution
and tanh. ``width`` is the channel count after the input convolution, halved at every upsampling (the
paper's V1 uses 512, V2 128). Weight normalization on every convolution, as in the paper.

Discriminators: multi-period (periods 2, 3, 5, 7, 11: the waveform folded into 2-D so each sees periodic
structure) and multi-scale (raw, 2x and 4x average-pooled audio), with ``disc_width`` scaling their
channels (the paper's are width 32 for the MPD and 16 for the MSD, which cost more compute per step than
the generator; a smaller ``disc_width`` makes CPU training practical). Losses (the paper's): least-squares
GAN, feature matching (x2) and mel L1 (x45).

Layout (nanoGPT's model.py): :class:`VocoderConfig`, the modules, ``@torch.no_grad()`` :meth:`Generator.generate`,
the losses. Both networks take the one config (``Generator(VocoderConfig(width=128))``), with keyword-only
fields, as every net here (studio/core/nets/config.py says why, and how old descriptions load).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from studio.core.nets.config import NetConfig, require_config

LRELU = 0.1


@dataclass(kw_only=True)
class VocoderConfig(NetConfig):
    n_mels: int = 80
    upsample_rates: tuple[int, ...] = (8, 8, 2, 2)  # multiply to the hop length
    width: int = 128  # channels after the input convolution (HiFi-GAN V1: 512, V2: 128)
    resblock_kernels: tuple[int, ...] = (3, 7, 11)
    resblock_dilations: tuple[int, ...] = (1, 3, 5)
    disc_width: int = 16  # the discriminators' base channels (paper: MPD 32, MSD 16)

    def __post_init__(self) -> None:
        """Lists (as JSON and some callers write them) become tuples, so equal configs compare equal."""
        self.upsample_rates = tuple(self.upsample_rates)
        self.resblock_kernels = tuple(self.resblock_kernels)
        self.resblock_dilations = tuple(self.resblock_dilations)

    @property
    def hop_length(self) -> int:
        hop = 1
        for rate in self.upsample_rates:
            hop *= rate
        return hop


def _padding(kernel: int, dilation: int = 1) -> int:
    return (kernel * dilation - dilation) // 2


class ResBlock(nn.Module):
    """HiFi-GAN's ResBlock1: per dilation, a dilated and a plain convolution with a residual connection."""

    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(
            [
                weight_norm(nn.Conv1d(channels, channels, kernel, dilation=d, padding=_padding(kernel, d)))
                for d in dilations
            ]
        )
        self.convs2 = nn.ModuleList(
            [weight_norm(nn.Conv1d(channels, channels, kernel, padding=_padding(kernel))) for _ in dilations]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2, strict=True):
            x = x + c2(F.leaky_relu(c1(F.leaky_relu(x, LRELU)), LRELU))
        return x


class Generator(nn.Module):
    """log-mel frames (B, M, T) -> waveform (B, 1, T * hop_length) in [-1, 1]."""

    def __init__(self, config: VocoderConfig) -> None:
        super().__init__()
        self.config = c = require_config(config, VocoderConfig, "Generator")
        self.conv_pre = weight_norm(nn.Conv1d(c.n_mels, c.width, 7, padding=3))
        self.ups = nn.ModuleList()
        self.mrfs = nn.ModuleList()
        channels = c.width
        for rate in c.upsample_rates:
            out = max(channels // 2, 1)
            kernel = 2 * rate  # the paper's kernel = 2 x stride: every output sample sees two input frames
            self.ups.append(weight_norm(nn.ConvTranspose1d(channels, out, kernel, rate, padding=(kernel - rate) // 2)))
            self.mrfs.append(nn.ModuleList([ResBlock(out, k, c.resblock_dilations) for k in c.resblock_kernels]))
            channels = out
        self.conv_post = weight_norm(nn.Conv1d(channels, 1, 7, padding=3))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """mel (B, M, T) log-mel frames -> waveform (B, 1, T * hop) in [-1, 1]."""
        x = self.conv_pre(mel)  # (B, width, T)
        for up, blocks in zip(self.ups, self.mrfs, strict=True):
            x = up(F.leaky_relu(x, LRELU))  # (B, C, L) -> (B, C / 2, L * rate)
            mrf = cast(nn.ModuleList, blocks)  # the multi-receptive-field fusion: one ResBlock per kernel size
            x = sum(block(x) for block in mrf) / len(mrf)
        return torch.tanh(self.conv_post(F.leaky_relu(x)))  # (B, 1, T * hop); leaky slope 0.01, as the paper's code

    @torch.no_grad()
    def generate(self, mel: torch.Tensor) -> torch.Tensor:
        """The waveforms of log-mel frames ``mel`` (B, M, T): (B, T * hop_length) samples in [-1, 1], frame k
        becoming samples [k * hop, (k + 1) * hop). The generator has no batch statistics and no noise, so eval
        and train mode give the same audio."""
        return self(mel)[:, 0]


class PeriodDiscriminator(nn.Module):
    def __init__(self, period: int, width: int) -> None:
        super().__init__()
        self.period = period
        sizes = [1, width, 4 * width, 16 * width, 32 * width]
        self.convs = nn.ModuleList(
            [weight_norm(nn.Conv2d(a, b, (5, 1), (3, 1), padding=(2, 0))) for a, b in itertools.pairwise(sizes)]
        )
        self.convs.append(weight_norm(nn.Conv2d(sizes[-1], sizes[-1], (5, 1), 1, padding=(2, 0))))
        self.post = weight_norm(nn.Conv2d(sizes[-1], 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, x: torch.Tensor):
        """x (B, 1, L) -> (logits (B, K), feature maps)."""
        B, C, L = x.shape
        if L % self.period:
            x = F.pad(x, (0, self.period - L % self.period), mode="reflect")
        x = x.view(B, C, -1, self.period)  # (B, 1, L / p, p): columns are samples p apart
        features = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LRELU)
            features.append(x)
        x = self.post(x)
        features.append(x)
        return x.flatten(1), features


class ScaleDiscriminator(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        w = width
        # (in, out, kernel, stride, groups): the paper's MSD layout with channels w .. 64w (w = 16 there)
        layers = [
            (1, w, 15, 1, 1),
            (w, 4 * w, 41, 2, 4),
            (4 * w, 16 * w, 41, 2, 16),
            (16 * w, 32 * w, 41, 4, 16),
            (32 * w, 64 * w, 41, 4, 16),
            (64 * w, 64 * w, 41, 1, 16),
            (64 * w, 64 * w, 5, 1, 1),
        ]
        self.convs = nn.ModuleList(
            [
                weight_norm(nn.Conv1d(a, b, k, s, groups=_groups(a, b, g), padding=(k - 1) // 2))
                for a, b, k, s, g in layers
            ]
        )
        self.post = weight_norm(nn.Conv1d(64 * w, 1, 3, 1, padding=1))

    def forward(self, x: torch.Tensor):
        features = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LRELU)
            features.append(x)
        x = self.post(x)
        features.append(x)
        return x.flatten(1), features


def _groups(channels_in: int, channels_out: int, groups: int) -> int:
    """The paper's grouped convolutions where the (reduced) channel counts allow them, else 1."""
    return groups if channels_in % groups == 0 and channels_out % groups == 0 else 1


class Discriminator(nn.Module):
    """The multi-period and multi-scale discriminators as one module (one optimizer, one phase)."""

    PERIODS = (2, 3, 5, 7, 11)

    def __init__(self, config: VocoderConfig) -> None:
        super().__init__()
        c = require_config(config, VocoderConfig, "Discriminator")
        self.periods = nn.ModuleList([PeriodDiscriminator(p, c.disc_width) for p in self.PERIODS])
        self.scales = nn.ModuleList([ScaleDiscriminator(max(1, c.disc_width // 2)) for _ in range(3)])
        self.pool = nn.AvgPool1d(4, 2, padding=2)

    def forward(self, audio: torch.Tensor):
        """audio (B, 1, L) -> (list of logits, list of feature-map lists), one entry per sub-discriminator."""
        logits, features = [], []
        for d in self.periods:
            out, feats = d(audio)
            logits.append(out)
            features.append(feats)
        x = audio
        for i, d in enumerate(self.scales):
            if i:
                x = self.pool(x)
            out, feats = d(x)
            logits.append(out)
            features.append(feats)
        return logits, features


def _total(terms: Iterable[torch.Tensor]) -> torch.Tensor:
    """sum() of the sub-discriminators' loss terms (there is always at least one, so the result is a tensor)."""
    return cast(torch.Tensor, sum(terms))


# -- losses (the paper's) ---------------------------------------------------------------------------------------------
def discriminator_loss(real_logits, fake_logits) -> torch.Tensor:
    """LSGAN: real -> 1, fake -> 0, summed over the sub-discriminators."""
    return _total(
        torch.mean((1 - r.float()) ** 2) + torch.mean(f.float() ** 2)
        for r, f in zip(real_logits, fake_logits, strict=True)
    )


def generator_adversarial_loss(fake_logits) -> torch.Tensor:
    return _total(torch.mean((1 - f.float()) ** 2) for f in fake_logits)


def feature_matching_loss(real_features, fake_features) -> torch.Tensor:
    """L1 between the discriminators' feature maps of real and generated audio (real ones detached)."""
    return _total(
        torch.mean(torch.abs(r.detach().float() - f.float()))
        for rs, fs in zip(real_features, fake_features, strict=True)
        for r, f in zip(rs, fs, strict=True)
    )


def build_generator(model: dict) -> Generator:
    """The generator a run's describe() dict (config.json's "model") describes, untrained."""
    return Generator(VocoderConfig.from_dict(model["config"]))
