"""How fast the Text writer writes on the CPU: 500 tokens through the KV cache against full recomputation
(nanoGPT's sampler: a forward over the last ``block_size`` tokens for every new token), and the latency of
the first token (what the user waits before text starts streaming), for a GPT of nanoGPT's CPU
configuration (4 layers, 4 heads, 128 embedding, character vocabulary) with block 64 — and blocks 256 and
512 (the writer's "best" preset; 500 tokens then fit one window), to show that the gap grows with the window
(full recomputation costs O(window) positions per token, the cache one position).

Both paths run the real sampler (studio.core.generation.sampling.stream: repetition penalty, temperature,
top-p, UTF-8 streaming), so the numbers are what the panel gets, not a bare network loop. Weights are
random (speed does not depend on what a model learned); end-of-text is masked so every run writes exactly
500 tokens. First-token latency: a 46-character prompt (47 tokens with end-of-text) -> first streamed
piece, after one warm-up generation (the very first call, which also sets up CPU kernels, is reported
separately as "cold"). Cached and full runs alternate, so both see the same background load.

Measured on the 2-core shared x86 build machine (torch 2.11, 1 thread, load average ~3 from other jobs):
block 64: 301 tokens/s cached vs 162 full (1.9x); block 256: 423 vs 86 (4.9x; best of 3: 5.2x); first token
5-8 ms. Why block 64 stays under 5x on a CPU: a tiny model's cached token costs ~1.3 ms of fixed per-op
overhead (about 40 small kernels), and a whole 64-token forward costs only ~2.6x that (network alone,
measured), so recomputation cannot be 5x slower there; the gap grows with the window, as it should."""

import os
import statistics
import time

import pytest

pytestmark = pytest.mark.benchmark
TOKENS, PROMPT = 500, "First Citizen:\nBefore we proceed any further, "


class _NoEnd:
    """The network with end-of-text masked, so a random model never stops before the token budget."""

    def __init__(self, network, eot: int) -> None:
        self.network, self.eot = network, eot

    def __call__(self, idx):
        logits, loss = self.network(idx)
        return logits.index_fill(-1, self._eot(logits), float("-inf")), loss

    def forward_cached(self, idx, cache=None):
        logits, cache = self.network.forward_cached(idx, cache)
        return logits.index_fill(-1, self._eot(logits), float("-inf")), cache

    def _eot(self, logits):
        import torch

        return torch.tensor([self.eot], device=logits.device)


def _model(block: int):
    import torch

    from studio.core.datasets.tokenizers import CharTokenizer
    from studio.core.generation.text_model import TextModel
    from studio.core.nets.gpt import build_gpt

    torch.manual_seed(0)
    tokenizer = CharTokenizer.fit(["".join(chr(c) for c in range(32, 97)) + "\n"])  # 65 characters, as Shakespeare
    network = build_gpt(
        {
            "vocab_size": tokenizer.vocab_size,
            "block_size": block,
            "n_layer": 4,
            "n_head": 4,
            "n_embd": 128,
            "dropout": 0.0,
            "bias": True,
        }
    ).eval()
    return TextModel(kind="gpt", tokenizer=tokenizer, network=_NoEnd(network, tokenizer.eot_id), block_size=block)


def _first_token(model, seed: int) -> float:
    from studio.core.generation.sampling import SamplingSettings, stream

    started = time.perf_counter()
    next(iter(stream(model, PROMPT, SamplingSettings(max_tokens=TOKENS, seed=seed))))
    return time.perf_counter() - started


def _timed(model, use_cache: bool, seed: int = 0) -> dict:
    from studio.core.generation.sampling import SamplingSettings, stream

    settings = SamplingSettings(temperature=0.8, top_p=0.95, repetition_penalty=1.1, max_tokens=TOKENS, seed=seed)
    started = time.perf_counter()
    generation = stream(model, PROMPT, settings, use_cache=use_cache)
    first = None
    for _ in generation:
        if first is None:
            first = time.perf_counter() - started
    total = time.perf_counter() - started
    assert generation.tokens == TOKENS, generation.finish
    return {"first_s": first, "total_s": total}


def _measure(block: int, threads: int) -> dict:
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        model = _model(block)
        cold = _first_token(model, 99)
        cached, full = [], []
        for seed in range(3):  # alternated, so both paths see the same background load
            cached.append(_timed(model, True, seed))
            full.append(_timed(model, False, seed))
        firsts = [_first_token(model, seed) for seed in range(10, 20)]
        cached_s = statistics.median(r["total_s"] for r in cached)
        full_s = statistics.median(r["total_s"] for r in full)
        return {
            "block_size": block,
            "threads": threads,
            "prompt_tokens": 1 + len(model.tokenizer.encode(PROMPT)),
            "cached_s": round(cached_s, 3),
            "full_recompute_s": round(full_s, 3),
            "cached_tokens_per_s": round(TOKENS / cached_s, 1),
            "full_recompute_tokens_per_s": round(TOKENS / full_s, 1),
            "speedup": round(full_s / cached_s, 2),
            "speedup_best_of_3": round(min(r["total_s"] for r in full) / min(r["total_s"] for r in cached), 2),
            "first_token_cold_ms": round(cold * 1000, 1),
            "first_token_warm_median_ms": round(statistics.median(firsts) * 1000, 2),
            "first_token_warm_max_ms": round(max(firsts) * 1000, 2),
            "meets_5x": full_s / cached_s >= 5.0,
            "meets_100ms": statistics.median(firsts) < 0.1,
        }
    finally:
        torch.set_num_threads(previous)


@pytest.mark.timeout(900)
def test_kv_cache_speedup_and_first_token_latency(record_benchmark):
    import torch

    load = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None  # others' work skews it
    threads = sorted({1, min(4, os.cpu_count() or 1)})
    results = [_measure(block, n) for block in (64, 256, 512) for n in threads]
    record_benchmark(
        "text_generation_speed",
        {
            "device": "cpu",
            "torch": torch.__version__,
            "tokens": TOKENS,
            "model": {"n_layer": 4, "n_head": 4, "n_embd": 128, "vocab_size": 322, "weights": "random"},
            "sampler": {"temperature": 0.8, "top_p": 0.95, "repetition_penalty": 1.1},
            "targets": {"speedup": 5.0, "first_token_ms": 100},
            "results": results,
            "load_average_1_5_15_min": load,
        },
    )
    assert all(r["cached_s"] > 0 for r in results)
