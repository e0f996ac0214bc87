"""Before Start: how long a run will take and how much memory it needs, measured rather than guessed.

The estimate builds the real models on the real device and times a few real steps on the real cache (the
first step is a warm-up and not counted), so it includes everything a formula would miss: the data path,
kernel launch overhead, a slow CPU. Memory is the CUDA allocator's peak on a GPU; elsewhere it is the
weights, gradients, optimizer moments and EMA copies plus the activations seen by forward hooks (kept for
backward) — the figure that decides whether a batch fits.
"""

from __future__ import annotations

import time
from pathlib import Path

from studio.core.datasets.importer import dataset_folder
from studio.core.jobs import JobContext
from studio.core.training import families
from studio.core.training.devices import resolve_device

TIMED_STEPS = 2


def estimate(project_root, dataset: str, family: str, config: dict | None, device=None) -> dict:
    """{"seconds": whole run, "memory_bytes": peak during a step}. Builds the dataset cache if it is missing."""
    import torch

    from studio.core.training.engine import Engine  # imports torch: only when an estimate runs

    config = families.resolve_config(family, None, config)
    device = torch.device(resolve_device(device).id)
    recipe_class = families.load_recipe_class(family)
    folder = dataset_folder(Path(project_root), dataset)
    recipe_class.prepare_data(folder, config, JobContext())
    recipe = recipe_class(config, recipe_class.open_data(folder, config), device)
    # in memory only: no run folder, no callbacks; the RNG is restored so estimating never changes a run
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        engine = Engine(recipe, {**config, "compile": False}, device)
        activations = _activation_bytes(engine)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        engine.train_step()  # warm-up: allocator, kernels, caches
        started = time.perf_counter()
        for _ in range(TIMED_STEPS):
            engine.train_step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        per_step = (time.perf_counter() - started) / TIMED_STEPS
        memory = (
            int(torch.cuda.max_memory_allocated(device))
            if device.type == "cuda"
            else _state_bytes(engine) + activations
        )
    return {"seconds": per_step * int(config["steps"]), "memory_bytes": int(memory)}


def _state_bytes(engine) -> int:
    """Weights + gradients + two Adam moments per trainable parameter, plus the EMA copies."""
    total = 0
    for model in engine.models.values():
        for p in model.parameters():
            total += p.numel() * p.element_size() * (4 if p.requires_grad else 1)
    for model in engine.ema.values():
        total += sum(p.numel() * p.element_size() for p in model.parameters())
    return total


def _activation_bytes(engine) -> int:
    """Bytes of every module output during one micro-batch's forward: what autograd keeps for backward."""
    import torch

    seen = []

    def hook(_module, _inputs, output):
        if isinstance(output, torch.Tensor):
            seen.append(output.numel() * output.element_size())

    handles = [m.register_forward_hook(hook) for model in engine.models.values() for m in model.modules()]
    try:
        positions = engine.sampler.next()[: engine.state.micro_batch]
        engine.sampler.load_state_dict({"epoch": 0, "position": 0})
        batch = engine.recipe.load_batch(positions)
        with torch.no_grad():
            for phase in engine.phases:
                phase.loss(engine.train_models, batch)
        batch_bytes = batch.numel() * batch.element_size() if isinstance(batch, torch.Tensor) else 0
    finally:
        for handle in handles:
            handle.remove()
    return sum(seen) + batch_bytes
