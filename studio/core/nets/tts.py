"""A phoneme-input Tacotron 2 (Shen et al., 2018) with a reduction factor and guided attention, for a user's
own voice trained from minutes (not hours) of recordings.

The layout is NVIDIA's / torchaudio's Tacotron 2 (torchaudio.models.Tacotron2 was the reference): symbol
embedding -> 3 convolutions -> a bidirectional LSTM encoder; a decoder of two LSTM cells around
location-sensitive attention, fed through a pre-net with dropout that stays on at inference; a stop-token
("gate") head; a 5-convolution post-net that adds a residual to the predicted mel frames.

Why the studio keeps its own copy rather than calling torchaudio.models.Tacotron2:
- **Reduction factor r** (Tacotron 1's trick, in ESPnet and Coqui too): each decoder step predicts ``r`` mel
  frames at once and is fed the last of them. Decoding is r× cheaper (the LSTM cells run per step, the
  only part that cannot be batched over time) and the attention has r× fewer steps to align, which is
  what makes alignment form on a small dataset. torchaudio's model supports only r = 1.
- **Guided attention** (Tachibana et al., 2018) needs the alignments with their true lengths; the loss is
  :func:`guided_attention_loss`. Without it, a model trained on 10-20 minutes of speech often never learns
  to attend monotonically (it babbles); with it the diagonal appears within a few hundred steps.
- **Inference that a user can stop and that cannot run away**: :meth:`Tacotron2.infer` calls ``check``
  between steps (Stop in the panel), stops on the gate, and is capped at ``max_frames_per_symbol`` frames
  per input symbol (a model that never learned to stop gives a long but bounded output) and, whatever a
  run's config says, at :data:`MAX_DECODER_STEPS` steps.
- **Deterministic synthesis**: the pre-net's always-on dropout (it is what keeps the autoregressive
  decoder from copying its input) draws from a generator the caller may seed, so the same text gives the
  same audio every time; during training it draws from torch's global generator, which the engine seeds
  and checkpoints (exact resume).
- torchaudio is in maintenance mode (2.9 removed much of it); the weights of a user's voice must not
  depend on a private class of a library that may drop it.

Why Tacotron 2 and not a non-autoregressive model (FastSpeech 2, Glow-TTS, VITS): those need durations
from an external aligner (FastSpeech) or a monotonic-alignment search and far more data/compute (VITS) to
sound good; Tacotron 2 with guided attention is the architecture known to train from ~1,000 clips of one
voice on one machine, and its autoregressive decoder is cheap at r = 2-3.

Shapes: B batch, N input symbols, T mel frames (a multiple of r in training), S = T / r decoder steps,
M = n_mels. Mel frames are the audio cache's log-mels (ln(max(mel, 1e-5)), HiFi-GAN's convention), so a
vocoder trained on the same cache reads this model's output directly.

Layout (nanoGPT's model.py): :class:`TtsConfig`, the modules, ``@torch.no_grad()`` :meth:`Tacotron2.infer` (the
sampling method keeps Tacotron 2's own name, the one torchaudio's model and the papers' code use), the losses.
The network takes its config, ``Tacotron2(TtsConfig(n_symbols=..., reduction=2))``, with keyword-only fields, as
every net here (studio/core/nets/config.py says why, and how old descriptions load).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from studio.core.nets.config import NetConfig, require_config

SILENCE = math.log(1e-5)  # the log-mel value of digital silence (the cache's floor): padding, go frame
# The hard cap on free-running decoder steps, whatever a run's config says (max_frames_per_symbol comes from a file
# that may have been sent by someone else): 20,000 steps of r >= 1 frames is 3.9 minutes of audio at the audio
# cache's 86 frames per second with r = 1, beyond any sentence the studio speaks (studio/core/speech/text.py cuts
# them at 300 characters); callers pass a tighter ``max_steps`` (studio/core/generation/speech_model.py).
MAX_DECODER_STEPS = 20_000


@dataclass(kw_only=True)
class TtsConfig(NetConfig):
    n_symbols: int  # len(phonemes.SYMBOLS) when the model was built
    n_mels: int = 80
    reduction: int = 2  # r: mel frames per decoder step
    embed_dim: int = 256  # symbol embedding = encoder width (Tacotron 2: 512)
    encoder_convs: int = 3
    encoder_kernel: int = 5
    prenet_dim: int = 128  # Tacotron 2: 256
    attention_rnn_dim: int = 512  # Tacotron 2: 1024
    decoder_rnn_dim: int = 512  # Tacotron 2: 1024
    attention_dim: int = 128
    location_filters: int = 32
    location_kernel: int = 31
    postnet_dim: int = 256  # Tacotron 2: 512
    postnet_convs: int = 5
    dropout: float = 0.5  # encoder and post-net convolutions (Tacotron 2's value)
    rnn_dropout: float = 0.1  # on the two decoder LSTM outputs
    gate_threshold: float = 0.5
    max_frames_per_symbol: int = 25  # inference cap: ~4x a normal speaking rate (~6 frames per phoneme)


def _conv_bn(channels_in: int, channels_out: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(channels_in, channels_out, kernel, padding=(kernel - 1) // 2), nn.BatchNorm1d(channels_out)
    )


class Encoder(nn.Module):
    def __init__(self, c: TtsConfig) -> None:
        super().__init__()
        self.embedding = nn.Embedding(c.n_symbols, c.embed_dim)
        self.convs = nn.ModuleList(
            [_conv_bn(c.embed_dim, c.embed_dim, c.encoder_kernel) for _ in range(c.encoder_convs)]
        )
        self.lstm = nn.LSTM(c.embed_dim, c.embed_dim // 2, batch_first=True, bidirectional=True)
        self.dropout = c.dropout

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """tokens (B, N) int64, lengths (B,) -> memory (B, N, E); padded positions are zeros."""
        x = self.embedding(tokens).transpose(1, 2)  # (B, E, N)
        for conv in self.convs:
            x = F.dropout(F.relu(conv(x)), self.dropout, self.training)
        x = x.transpose(1, 2)  # (B, N, E)
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=tokens.shape[1])
        return out


class Prenet(nn.Module):
    """Two ReLU layers with dropout 0.5 that is on at inference too (Tacotron 2): the bottleneck that keeps
    the decoder listening to the attention instead of copying its previous frame."""

    def __init__(self, n_in: int, dim: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(n_in, dim, bias=False), nn.Linear(dim, dim, bias=False)])

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        for layer in self.layers:
            x = F.relu(layer(x))
            keep = torch.rand(x.shape, generator=generator, device=x.device) >= 0.5
            x = x * keep.to(x.dtype) * 2.0
        return x


class LocationAttention(nn.Module):
    """Location-sensitive attention (Chorowski et al., 2015): content + the previous and cumulative weights
    seen through a convolution, which pushes the focus forward along the input."""

    def __init__(self, c: TtsConfig) -> None:
        super().__init__()
        self.query = nn.Linear(c.attention_rnn_dim, c.attention_dim, bias=False)
        self.memory = nn.Linear(c.embed_dim, c.attention_dim, bias=False)
        self.v = nn.Linear(c.attention_dim, 1, bias=False)
        self.location_conv = nn.Conv1d(
            2, c.location_filters, c.location_kernel, padding=(c.location_kernel - 1) // 2, bias=False
        )
        self.location_dense = nn.Linear(c.location_filters, c.attention_dim, bias=False)

    def forward(self, query, memory, processed, weights_cat, mask):
        """query (B, A_rnn), memory (B, N, E), processed (B, N, A), weights_cat (B, 2, N), mask (B, N) True at
        padding -> context (B, E), weights (B, N)."""
        location = self.location_dense(self.location_conv(weights_cat).transpose(1, 2))  # (B, N, A)
        energies = self.v(torch.tanh(self.query(query).unsqueeze(1) + location + processed)).squeeze(2)
        weights = torch.softmax(energies.masked_fill(mask, float("-inf")), dim=1)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)
        return context, weights


class Decoder(nn.Module):
    def __init__(self, c: TtsConfig) -> None:
        super().__init__()
        self.c = c
        self.prenet = Prenet(c.n_mels, c.prenet_dim)
        self.attention_rnn = nn.LSTMCell(c.prenet_dim + c.embed_dim, c.attention_rnn_dim)
        self.attention = LocationAttention(c)
        self.decoder_rnn = nn.LSTMCell(c.attention_rnn_dim + c.embed_dim, c.decoder_rnn_dim)
        self.project = nn.Linear(c.decoder_rnn_dim + c.embed_dim, c.n_mels * c.reduction)
        self.gate = nn.Linear(c.decoder_rnn_dim + c.embed_dim, 1)

    def initial_state(self, memory: torch.Tensor) -> list[torch.Tensor]:
        B, N, _ = memory.shape
        zeros = lambda *shape: memory.new_zeros(*shape)  # noqa: E731
        c = self.c
        # attention h, c; decoder h, c; weights, cumulative weights, context
        return [
            zeros(B, c.attention_rnn_dim),
            zeros(B, c.attention_rnn_dim),
            zeros(B, c.decoder_rnn_dim),
            zeros(B, c.decoder_rnn_dim),
            zeros(B, N),
            zeros(B, N),
            zeros(B, c.embed_dim),
        ]

    def step(self, prenet_out, state, memory, processed, mask):
        """One decoder step: prenet_out (B, P) -> frames (B, r*M), gate logit (B,), weights (B, N), new state."""
        att_h, att_c, dec_h, dec_c, weights, cumulative, context = state
        att_h, att_c = self.attention_rnn(torch.cat([prenet_out, context], -1), (att_h, att_c))
        att_h = F.dropout(att_h, self.c.rnn_dropout, self.training)
        weights_cat = torch.stack([weights, cumulative], dim=1)  # (B, 2, N)
        context, weights = self.attention(att_h, memory, processed, weights_cat, mask)
        cumulative = cumulative + weights
        dec_h, dec_c = self.decoder_rnn(torch.cat([att_h, context], -1), (dec_h, dec_c))
        dec_h = F.dropout(dec_h, self.c.rnn_dropout, self.training)
        out = torch.cat([dec_h, context], -1)
        state = [att_h, att_c, dec_h, dec_c, weights, cumulative, context]
        return self.project(out), self.gate(out).squeeze(1), weights, state


class Postnet(nn.Module):
    def __init__(self, c: TtsConfig) -> None:
        super().__init__()
        sizes = [c.n_mels] + [c.postnet_dim] * (c.postnet_convs - 1) + [c.n_mels]
        self.convs = nn.ModuleList([_conv_bn(a, b, 5) for a, b in itertools.pairwise(sizes)])
        self.dropout = c.dropout

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """mel (B, T, M) -> residual (B, T, M)."""
        x = mel.transpose(1, 2)
        for i, conv in enumerate(self.convs):
            x = conv(x)
            if i < len(self.convs) - 1:
                x = torch.tanh(x)
            x = F.dropout(x, self.dropout, self.training)
        return x.transpose(1, 2)


class Tacotron2(nn.Module):
    """Phoneme ids (B, N) -> log-mel frames (B, T, M): teacher-forced in :meth:`forward`, free-running in
    :meth:`infer`."""

    def __init__(self, config: TtsConfig) -> None:
        super().__init__()
        self.config = config = require_config(config, TtsConfig, "Tacotron2")
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        self.postnet = Postnet(config)

    def _memory(self, tokens, lengths):
        """-> memory (B, N, E), its attention projection (B, N, A), padding mask (B, N) True past each length."""
        memory = self.encoder(tokens, lengths)
        mask = torch.arange(tokens.shape[1], device=tokens.device)[None] >= lengths.to(tokens.device)[:, None]
        return memory, self.decoder.attention.memory(memory), mask

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor, mels: torch.Tensor):
        """Teacher-forced pass. tokens (B, N), lengths (B,), mels (B, T, M) with T % r == 0 ->
        (mel before post-net (B, T, M), mel after (B, T, M), gate logits (B, S), alignments (B, S, N))."""
        r, M = self.config.reduction, self.config.n_mels
        B, T, _ = mels.shape
        S = T // r
        memory, processed, mask = self._memory(tokens, lengths)
        # step k is fed the last frame of group k - 1 (step 0: a silent go frame)
        last_frames = mels[:, r - 1 :: r][:, : S - 1]  # (B, S - 1, M)
        inputs = torch.cat([mels.new_full((B, 1, M), SILENCE), last_frames], dim=1)  # (B, S, M)
        prenet = self.decoder.prenet(inputs)  # (B, S, P): all steps at once
        state = self.decoder.initial_state(memory)
        frames, gates, alignments = [], [], []
        for k in range(S):
            out, gate, weights, state = self.decoder.step(prenet[:, k], state, memory, processed, mask)
            frames.append(out)
            gates.append(gate)
            alignments.append(weights)
        before = torch.stack(frames, 1).view(B, T, M)
        after = before + self.postnet(before)
        return before, after, torch.stack(gates, 1), torch.stack(alignments, 1)

    @torch.no_grad()
    def infer(
        self,
        tokens: torch.Tensor,
        lengths: torch.Tensor | None = None,
        check=None,
        generator: torch.Generator | None = None,
        max_steps: int | None = None,
    ):
        """Free-running synthesis. tokens (B, N) -> (mel (B, T, M) after the post-net, frame lengths (B,),
        alignments (B, S, N)). Stops when every item's gate fired or at the length cap (see the docstring), and
        never after :data:`MAX_DECODER_STEPS`; ``check`` is called between steps (it raises to cancel)."""
        c = self.config
        B, N = tokens.shape
        if lengths is None:
            lengths = torch.full((B,), N, dtype=torch.long, device=tokens.device)
        if max_steps is None:
            max_steps = max(2, math.ceil(int(lengths.max()) * c.max_frames_per_symbol / c.reduction))
        max_steps = min(int(max_steps), MAX_DECODER_STEPS)
        memory, processed, mask = self._memory(tokens, lengths)
        state = self.decoder.initial_state(memory)
        frame = memory.new_full((B, c.n_mels), SILENCE)
        steps = torch.zeros(B, dtype=torch.long, device=tokens.device)
        finished = torch.zeros(B, dtype=torch.bool, device=tokens.device)
        frames, alignments = [], []
        for _ in range(max_steps):
            if check is not None:
                check()
            prenet = self.decoder.prenet(frame, generator)
            out, gate, weights, state = self.decoder.step(prenet, state, memory, processed, mask)
            frames.append(out)
            alignments.append(weights)
            steps += (~finished).long()
            finished |= torch.sigmoid(gate) > c.gate_threshold
            if bool(finished.all()):
                break
            frame = out.view(B, c.reduction, c.n_mels)[:, -1]
        before = torch.stack(frames, 1).view(B, -1, c.n_mels)
        after = before + self.postnet(before)
        return after, steps * c.reduction, torch.stack(alignments, 1)


def input_ids(phoneme_ids, eos_id: int) -> list[int]:
    """What the encoder reads: the phoneme ids followed by end-of-sentence (``phonemes.EOS_ID``), so the
    attention has a last symbol to land on when the sentence is over (the recipe and generation both go
    through here)."""
    return [int(i) for i in phoneme_ids] + [int(eos_id)]


# -- losses -----------------------------------------------------------------------------------------------------------
def guided_attention_weights(
    token_lengths: torch.Tensor, step_lengths: torch.Tensor, N: int, S: int, sigma: float = 0.2
) -> torch.Tensor:
    """Tachibana et al.'s penalty map W[s, n] = 1 - exp(-((n/N_b - s/S_b)^2) / (2 sigma^2)) for each item's
    true lengths, zero outside them: (B, S, N). Attention far from the diagonal costs up to 1."""
    device = token_lengths.device
    n = torch.arange(N, device=device, dtype=torch.float32)[None, None, :]
    s = torch.arange(S, device=device, dtype=torch.float32)[None, :, None]
    Nb = token_lengths.float().clamp(min=1)[:, None, None]
    Sb = step_lengths.float().clamp(min=1)[:, None, None]
    weights = 1.0 - torch.exp(-((n / Nb - s / Sb) ** 2) / (2.0 * sigma**2))
    valid = (n < Nb) & (s < Sb)
    return weights * valid


def guided_attention_loss(
    alignments: torch.Tensor, token_lengths: torch.Tensor, step_lengths: torch.Tensor, sigma: float = 0.2
) -> torch.Tensor:
    """Mean of alignments (B, S, N) x the penalty map over the valid decoder steps."""
    _, S, N = alignments.shape
    W = guided_attention_weights(token_lengths, step_lengths, N, S, sigma)
    return (alignments.float() * W).sum() / step_lengths.sum().clamp(min=1)


def diagonality(
    alignments: torch.Tensor, token_lengths: torch.Tensor, step_lengths: torch.Tensor, sigma: float = 0.2
) -> torch.Tensor:
    """How diagonal the attention is, 0-1 (1 = every step's attention inside the guided band): 1 minus the
    guided-attention loss. What the monitor shows as "val_align"."""
    return 1.0 - guided_attention_loss(alignments, token_lengths, step_lengths, sigma)


def build_tts(model: dict) -> Tacotron2:
    """The network a run's describe() dict (config.json's "model") describes, untrained."""
    return Tacotron2(TtsConfig.from_dict(model["config"]))
