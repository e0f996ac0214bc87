"""A GPT language model in the style of nanoGPT's model.py, with a KV cache for generation.

Why each choice:
- Pre-LayerNorm blocks (``x + attn(ln(x))``, ``x + mlp(ln(x))``) and a final LayerNorm: the residual
  stream stays an identity path, so small and deep models train at a fixed 1e-3 learning rate without the
  warm-up tricks post-LN needs.
- ``torch.nn.functional.scaled_dot_product_attention`` with ``is_causal``: PyTorch picks the fastest
  kernel (flash / memory-efficient on CUDA, a fused one on the CPU) and never builds the T×T mask.
- Weight tying (the output head *is* the token embedding): ~30 % fewer parameters for a char model's
  small vocabulary is little, but for a 4096-token BPE it is most of a small model, and it trains better.
- GPT-2 initialization: N(0, 0.02) everywhere, and the projections that write into the residual stream
  (attention ``c_proj``, MLP ``c_proj``) scaled by ``1/sqrt(2 * n_layer)`` so the stream's variance does
  not grow with depth.

KV cache (:class:`KVCache`, :meth:`GPT.forward_cached`): generation feeds one token at a time and reuses
every earlier token's keys and values, so a token costs O(context) instead of re-running the whole context.
The positions are *learned absolute* embeddings, so a cache cannot simply drop its oldest entry once it
holds ``block_size`` tokens: every kept token's keys were computed at its old position. What happens
instead ("slide and re-encode"): when a new token would not fit, the cache is rebuilt from the last
``block_size // 2`` tokens (or all the new tokens, if more), re-encoded from position 0, and filling
continues from there. That costs one batched forward of half a window every ``block_size // 2`` tokens,
so generation stays fast past the window, and the context never shrinks below half a window. The
equivalent computation without a cache is :func:`sliding_contexts` (the tests check the two agree token for
token); :meth:`GPT.generate` is the simple full-recompute reference.

The network takes its config, ``GPT(GPTConfig(vocab_size=..., n_layer=...))``, and the config's fields are
keyword-only, as for every net here (studio/core/nets/config.py says why, and how old descriptions load:
:func:`build_gpt` reads a run's ``describe()`` with :meth:`GPTConfig.from_dict`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from studio.core.nets.config import NetConfig, require_config


@dataclass(kw_only=True)
class GPTConfig(NetConfig):
    vocab_size: int
    block_size: int = 256  # the longest context the model sees (its position embeddings)
    n_layer: int = 6
    n_head: int = 6
    n_embd: int = 384
    dropout: float = 0.0
    bias: bool = True  # biases in Linear and LayerNorm layers (nanoGPT: False is a little better and faster)

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head}).")
        if min(self.vocab_size, self.block_size, self.n_layer, self.n_head, self.n_embd) < 1:
            raise ValueError("vocab_size, block_size, n_layer, n_head and n_embd must all be at least 1.")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be at least 0 and below 1.")


@dataclass
class KVCache:
    """Keys and values of the tokens a :class:`GPT` has already read, per layer, for one batch.

    ``keys[i]`` / ``values[i]``: (B, n_head, block_size, head_dim) buffers, allocated once; the first
    ``position`` entries along dim 2 are filled. ``tokens`` (B, block_size) holds the ids of those entries,
    so the cache can re-encode them when the window slides (see the module docstring). ``position`` is both
    the number of cached tokens and the position embedding the next token gets.
    """

    keys: list[torch.Tensor]
    values: list[torch.Tensor]
    tokens: torch.Tensor
    position: int = 0

    @property
    def batch_size(self) -> int:
        return self.tokens.shape[0]

    @property
    def capacity(self) -> int:
        return self.tokens.shape[1]


def slide_keep(block_size: int, new_tokens: int) -> int:
    """How many of the most recent tokens a full cache keeps when ``new_tokens`` more must fit: half a
    window, or all the new ones (at most a window) when they are more."""
    return min(block_size, max(block_size // 2, new_tokens))


def sliding_contexts(length: int, prompt_length: int, block_size: int) -> list[tuple[int, int]]:
    """The cache's context rule written out, for checks: for each token position ``t`` predicted after a
    prompt of ``prompt_length`` tokens fed at once, then one token at a time, up to ``length`` tokens in all,
    the ``(start, stop)`` slice of the token sequence the model attends to when predicting token ``stop``."""
    out = []
    start = max(0, prompt_length - block_size)  # a long prompt is cropped to its last window
    for stop in range(prompt_length, length + 1):
        if stop - start > block_size:  # one new token does not fit: keep the last half window
            start = stop - slide_keep(block_size, 1)
        out.append((start, stop))
    return out


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # q, k, v in one matmul
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)

    def _qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        shape = (B, T, self.n_head, C // self.n_head)
        return tuple(t.view(shape).transpose(1, 2) for t in (q, k, v))  # each (B, nh, T, hd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self._qkv(x)
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True
        )  # (B, nh, T, hd)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C)))

    def forward_cached(self, x: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, start: int) -> torch.Tensor:
        """x (B, T, C) at positions start..start+T-1; writes their k/v into the buffers (B, nh, cap, hd)."""
        B, T, C = x.shape
        q, k, v = self._qkv(x)
        keys[:, :, start : start + T] = k
        values[:, :, start : start + T] = v
        k_all, v_all = keys[:, :, : start + T], values[:, :, : start + T]
        if start == 0:
            y = F.scaled_dot_product_attention(q, k_all, v_all, is_causal=True)
        elif T == 1:  # one new token attends to everything cached: no mask at all
            y = F.scaled_dot_product_attention(q, k_all, v_all)
        else:  # SDPA's is_causal aligns the mask top-left; new tokens need it bottom-right
            mask = torch.ones(T, start + T, dtype=torch.bool, device=x.device).tril(diagonal=start)
            y = F.scaled_dot_product_attention(q, k_all, v_all, attn_mask=mask)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))

    def forward_cached(self, x, keys, values, start: int) -> torch.Tensor:
        x = x + self.attn.forward_cached(self.ln_1(x), keys, values, start)
        return x + self.mlp(self.ln_2(x))


class _Transformer(nn.ModuleDict):
    """nanoGPT's ``transformer`` container (its keys name the checkpoints' ``transformer.*`` tensors), with the
    type of each entry spelled out: an nn.ModuleDict's attributes are otherwise unknown to a type checker."""

    wte: nn.Embedding
    wpe: nn.Embedding
    drop: nn.Dropout
    h: nn.ModuleList  # of Block
    ln_f: nn.LayerNorm


class GPT(nn.Module):
    """Token ids (B, T) -> next-token logits (B, T, vocab_size)."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config = require_config(config, GPTConfig, "GPT")
        self.transformer = _Transformer(
            dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                wpe=nn.Embedding(config.block_size, config.n_embd),
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=nn.LayerNorm(config.n_embd, bias=config.bias),
            )
        )
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying
        self.apply(self._init_weights)
        for name, param in self.named_parameters():
            if name.endswith("c_proj.weight"):  # residual projections: GPT-2's 1/sqrt(2 * n_layer)
                nn.init.normal_(param, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self, non_embedding: bool = True) -> int:
        """Parameters (the tied embedding counted once); minus position embeddings by default, as nanoGPT."""
        total = sum(p.numel() for p in self.parameters())
        return total - self.transformer.wpe.weight.numel() if non_embedding else total

    def _embed(self, idx: torch.Tensor, start: int) -> torch.Tensor:
        T = idx.shape[1]
        pos = torch.arange(start, start + T, dtype=torch.long, device=idx.device)
        return self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))  # (B, T, C)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """(logits (B, T, V), mean cross-entropy over every position or None). T <= block_size."""
        T = idx.shape[1]
        if self.config.block_size < T:
            raise ValueError(
                f"A sequence of {T} tokens is longer than the model's context of {self.config.block_size}."
            )
        x = self._embed(idx, 0)
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        loss = None
        if targets is not None:  # the loss in fp32 even under autocast: log-softmax over the vocabulary
            loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)
        return logits, loss

    # -- generation ---------------------------------------------------------------------------------------
    def new_cache(self, batch_size: int, device=None, dtype=None) -> KVCache:
        """An empty cache with room for ``block_size`` tokens per row."""
        c = self.config
        weight = self.lm_head.weight
        device, dtype = device or weight.device, dtype or weight.dtype
        shape = (batch_size, c.n_head, c.block_size, c.n_embd // c.n_head)
        return KVCache(
            [torch.zeros(shape, device=device, dtype=dtype) for _ in range(c.n_layer)],
            [torch.zeros(shape, device=device, dtype=dtype) for _ in range(c.n_layer)],
            torch.zeros(batch_size, c.block_size, dtype=torch.long, device=device),
        )

    @torch.no_grad()
    def forward_cached(self, idx: torch.Tensor, cache: KVCache | None = None) -> tuple[torch.Tensor, KVCache]:
        """Read ``idx`` (B, T_new) after the tokens already in ``cache`` (None: a new cache). Returns the
        logits for the new tokens (B, T_new, V) and the cache (updated in place; the same object, or a new
        one when ``cache`` was None). When the tokens do not fit, the window slides (module docstring); a
        ``T_new`` above ``block_size`` keeps only its last ``block_size`` tokens, so logits then cover those."""
        B, T = idx.shape
        block = self.config.block_size
        if cache is None:
            cache = self.new_cache(B, idx.device)
        elif cache.batch_size != B:
            raise ValueError(f"The cache holds {cache.batch_size} rows, not {B}.")
        if block < T:
            idx, T = idx[:, -block:], block
        if cache.position + T > block:  # slide: re-encode the most recent tokens from position 0
            keep = slide_keep(block, T)
            history = cache.tokens[:, : cache.position]
            idx = torch.cat([history, idx], dim=1)[:, -keep:]
            cache.position = 0
            logits, cache = self.forward_cached(idx, cache)
            return logits[:, -T:], cache
        start = cache.position
        x = self._embed(idx, start)
        for block_module, keys, values in zip(self.transformer.h, cache.keys, cache.values, strict=True):
            x = cast(Block, block_module).forward_cached(x, keys, values, start)
        cache.tokens[:, start : start + T] = idx
        cache.position = start + T
        return self.lm_head(self.transformer.ln_f(x)), cache

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """nanoGPT's reference sampler: full recomputation over the last ``block_size`` tokens per new token
        (no cache). ``temperature`` 0 = greedy. idx (B, T) -> (B, T + max_new_tokens): idx with the new tokens
        appended."""
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.config.block_size :])
            idx = torch.cat([idx, pick_next(logits[:, -1], temperature, top_k, generator)], dim=1)
        return idx


def pick_next(
    logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """(B, V) logits -> (B, 1) ids: greedy when ``temperature`` <= 0, else sampled (on the generator's device,
    so a CPU generator gives the same draw whatever device the model runs on)."""
    if temperature <= 0:
        return logits.argmax(dim=-1, keepdim=True)
    logits = logits.float() / temperature
    if top_k:
        kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = F.softmax(logits, dim=-1)
    where = generator.device if generator is not None else probs.device
    return torch.multinomial(probs.to(where), 1, generator=generator).to(logits.device)


def build_gpt(model: dict) -> GPT:
    """A fresh (untrained) GPT from a run's ``describe()`` dict (extra keys such as "kind" are ignored)."""
    if model.get("kind", "gpt") != "gpt":
        raise ValueError(f"not a GPT description (kind {model.get('kind')!r})")
    return GPT(GPTConfig.from_dict(model))
