"""What the engine turns on for CUDA, checked on a real GPU: bf16 autocast, fp16 with a gradient scaler, TF32
matmuls, fused AdamW and ``torch.compile``, each on a small GPT (studio/core/nets/gpt.py) with its speed.

Every test asserts that the feature works (finite, decreasing losses; the dtype and flags it promises; the
compiled model computing what the eager one does) and records milliseconds per step through ``gpu_record``.
"""

from __future__ import annotations

import time

import pytest
import torch

from studio.core.nets.gpt import GPT, GPTConfig
from studio.core.training.engine import precision_settings
from studio.core.training.recipe_base import adamw

BATCH, BLOCK, VOCAB = 32, 256, 65


def small_gpt() -> GPT:
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=VOCAB, block_size=BLOCK, n_layer=4, n_head=4, n_embd=256, dropout=0.0, bias=False)
    return GPT(config).cuda()


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator(device="cuda").manual_seed(1)
    tokens = torch.randint(0, VOCAB, (BATCH, BLOCK + 1), device="cuda", generator=generator)
    return tokens[:, :-1], tokens[:, 1:]


def train(model, steps: int, dtype: torch.dtype | None, scaled: bool, warmup: int = 3) -> tuple[list[float], float]:
    """Train on one fixed batch (the loss must fall); (losses, ms per step after ``warmup`` steps)."""
    optimizer = adamw(model.parameters(), lr=1e-3, weight_decay=0.0, device=torch.device("cuda"))
    scaler = torch.amp.GradScaler("cuda", enabled=scaled)
    x, y = batch()
    losses = []
    started = 0.0
    for step in range(steps):
        if step == warmup:
            torch.cuda.synchronize()
            started = time.perf_counter()
        with torch.autocast("cuda", dtype=dtype or torch.float32, enabled=dtype is not None):
            _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        losses.append(loss.item())
    torch.cuda.synchronize()
    return losses, (time.perf_counter() - started) * 1000 / (steps - warmup)


def test_bf16_autocast_trains_and_runs_matmuls_in_bf16(gpu_record):
    if not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    assert precision_settings("auto", torch.device("cuda")) == (torch.bfloat16, False)  # auto picks bf16, no scaler
    model = small_gpt()
    with torch.autocast("cuda", dtype=torch.bfloat16):
        logits, _ = model(*batch())
    assert logits.dtype == torch.bfloat16
    losses, ms = train(model, 30, torch.bfloat16, scaled=False)
    fp32_losses, fp32_ms = train(small_gpt(), 30, None, scaled=False)
    assert all(map(torch.isfinite, torch.tensor(losses))) and losses[-1] < losses[0] - 1.0
    assert abs(losses[0] - fp32_losses[0]) < 0.05  # the same model at step 0, in two precisions
    gpu_record(
        "bf16_autocast",
        {
            "ms_per_step": round(ms, 2),
            "fp32_ms_per_step": round(fp32_ms, 2),
            "speedup": round(fp32_ms / ms, 2),
            "loss_first_last": [losses[0], losses[-1]],
        },
    )


def test_fp16_with_a_grad_scaler_trains(gpu_record):
    assert precision_settings("fp16", torch.device("cuda")) == (torch.float16, True)
    model = small_gpt()
    losses, ms = train(model, 30, torch.float16, scaled=True)
    assert all(map(torch.isfinite, torch.tensor(losses))) and losses[-1] < losses[0] - 1.0
    gpu_record("fp16_grad_scaler", {"ms_per_step": round(ms, 2), "loss_first_last": [losses[0], losses[-1]]})


def test_tf32_speeds_up_fp32_matmuls(gpu_record):
    """The engine turns TF32 on for CUDA runs (test_gpu_training checks the flag after a real run): worth it?"""
    a, b = (torch.randn(4096, 4096, device="cuda") for _ in range(2))

    def tflops() -> float:
        for _ in range(3):
            a @ b
        torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(20):
            a @ b
        torch.cuda.synchronize()
        return 20 * 2 * 4096**3 / (time.perf_counter() - started) / 1e12

    before = torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        plain = tflops()
        torch.backends.cuda.matmul.allow_tf32 = True
        tf32 = tflops()
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before
    gpu_record(
        "tf32", {"fp32_tflops": round(plain, 1), "tf32_tflops": round(tf32, 1), "speedup": round(tf32 / plain, 2)}
    )
    assert tf32 > 1.5 * plain


def test_fused_adamw_is_chosen_on_cuda_and_is_faster_than_per_tensor(gpu_record):
    model = small_gpt()
    fused = adamw(model.parameters(), lr=1e-3, weight_decay=0.1, device=torch.device("cuda"))
    assert fused.defaults["fused"] is True
    for p in model.parameters():
        p.grad = torch.randn_like(p)

    def step_ms(optimizer) -> float:
        for _ in range(3):
            optimizer.step()
        torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(50):
            optimizer.step()
        torch.cuda.synchronize()
        return (time.perf_counter() - started) * 1000 / 50

    plain = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1, foreach=False)
    figures = {"fused_ms": step_ms(fused), "per_tensor_ms": step_ms(plain)}
    gpu_record("fused_adamw", {k: round(v, 3) for k, v in figures.items()})
    assert figures["fused_ms"] < figures["per_tensor_ms"]


@pytest.mark.timeout(300)  # two first compilations (inference, then training) take a minute or two
def test_torch_compile_computes_what_eager_does_and_faster(gpu_record):
    eager = small_gpt().eval()
    x, y = batch()
    started = time.perf_counter()
    compiled = torch.compile(eager)
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        reference, _ = eager(x, y)
        out, _ = compiled(x, y)
    compile_s = time.perf_counter() - started
    assert torch.allclose(out.float(), reference.float(), atol=0.1, rtol=0.05)
    eager_losses, eager_ms = train(small_gpt(), 25, torch.bfloat16, scaled=False)
    compiled_losses, compiled_ms = train(torch.compile(small_gpt()), 25, torch.bfloat16, scaled=False, warmup=5)
    assert compiled_losses[-1] < compiled_losses[0] - 1.0
    assert abs(compiled_losses[0] - eager_losses[0]) < 0.05
    gpu_record(
        "torch_compile",
        {
            "first_compile_s": round(compile_s, 1),
            "eager_ms_per_step": round(eager_ms, 2),
            "compiled_ms_per_step": round(compiled_ms, 2),
            "speedup": round(eager_ms / compiled_ms, 2),
        },
    )
