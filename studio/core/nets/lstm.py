"""A word/character-level LSTM language model: the small, CPU-friendly alternative to the GPT.

Why offer it: on a few kilobytes of copy (slogans, product blurbs) a 2-layer LSTM trains in minutes on a
laptop CPU, has no context-window limit at generation time (its state carries on indefinitely), and
generating a token costs the same however long the text already is.

Shape: embedding (n_embd) -> nn.LSTM (n_layer layers of n_hidden, dropout between layers) -> a linear
projection back to n_embd -> the output head, tied to the embedding. The projection lets the head share
the embedding's weights even when ``n_hidden != n_embd`` (tying regularizes small-data models, and for a
BPE vocabulary it removes most of the parameters). Sequences are trained in windows of the recipe's
``block_size`` starting from a zero state, exactly as generation starts.

:meth:`LSTMLM.forward_cached` is the generation interface shared with the GPT: it takes the new tokens and
the state ``(h, c)`` (each (n_layer, B, n_hidden)), so a token costs one step of the recurrence.

The network takes its config, ``LSTMLM(LSTMConfig(vocab_size=..., n_hidden=...))``, with keyword-only fields, as
every net here (studio/core/nets/config.py says why, and how old descriptions load).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from studio.core.nets.config import NetConfig, require_config
from studio.core.nets.gpt import pick_next

State = tuple[torch.Tensor, torch.Tensor]


@dataclass(kw_only=True)
class LSTMConfig(NetConfig):
    vocab_size: int
    n_embd: int = 256
    n_hidden: int = 512
    n_layer: int = 2
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if min(self.vocab_size, self.n_embd, self.n_hidden, self.n_layer) < 1:
            raise ValueError("vocab_size, n_embd, n_hidden and n_layer must all be at least 1.")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be at least 0 and below 1.")


class LSTMLM(nn.Module):
    """Token ids (B, T) -> next-token logits (B, T, vocab_size)."""

    def __init__(self, config: LSTMConfig) -> None:
        super().__init__()
        self.config = config = require_config(config, LSTMConfig, "LSTMLM")
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.lstm = nn.LSTM(
            config.n_embd,
            config.n_hidden,
            config.n_layer,
            batch_first=True,
            dropout=config.dropout if config.n_layer > 1 else 0.0,
        )
        self.proj = nn.Linear(config.n_hidden, config.n_embd)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.wte.weight = self.lm_head.weight  # weight tying (through the projection above)
        nn.init.normal_(self.lm_head.weight, mean=0.0, std=0.02)
        hidden = config.n_hidden
        for name, param in self.lstm.named_parameters():
            if name.startswith("bias_"):  # forget-gate bias 1 (Jozefowicz et al., 2015): remember by default
                nn.init.zeros_(param)
                if name.startswith("bias_ih"):  # (the two bias vectors are summed: set it on one of them)
                    nn.init.ones_(param.data[hidden : 2 * hidden])

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _logits(self, idx: torch.Tensor, state: State | None) -> tuple[torch.Tensor, State]:
        x = self.drop(self.wte(idx))  # (B, T, n_embd)
        y, state = self.lstm(x, state)  # (B, T, n_hidden)
        return self.lm_head(self.proj(self.drop(y))), state

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """(logits (B, T, V), mean cross-entropy over every position or None), from a zero state."""
        logits, _ = self._logits(idx, None)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)
        return logits, loss

    @torch.no_grad()
    def forward_cached(self, idx: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """Read ``idx`` (B, T_new) after the text summarized by ``state`` (None: the start of a text).
        Returns (logits (B, T_new, V), the new state). The input state is not modified."""
        return self._logits(idx, state)

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Sample ``max_new_tokens`` after ``idx`` (B, T) with the carried state (temperature 0 = greedy).
        Returns (B, T + max_new_tokens): idx with the new tokens appended."""
        logits, state = self.forward_cached(idx)
        for _ in range(max_new_tokens):
            token = pick_next(logits[:, -1], temperature, top_k, generator)
            idx = torch.cat([idx, token], dim=1)
            logits, state = self.forward_cached(token, state)
        return idx


def build_lstm(model: dict) -> LSTMLM:
    """A fresh (untrained) LSTMLM from a run's ``describe()`` dict (extra keys such as "kind" are ignored)."""
    if model.get("kind", "lstm") != "lstm":
        raise ValueError(f"not an LSTM description (kind {model.get('kind')!r})")
    return LSTMLM(LSTMConfig.from_dict(model))
