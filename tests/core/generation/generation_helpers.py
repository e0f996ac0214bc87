"""A project with hand-made GAN and VAE runs, laid out exactly as the training engine writes them
(config.json with describe()'s "model" block, checkpoints/step-NNNNNN.safetensors + .json), built from the
real networks with random but lively weights: no training needed, so every test here takes milliseconds.

DCGAN's own initialization (N(0, 0.02)) would make every image a flat grey, and tests comparing seeds or
classes could then pass or fail by accident; the weights here are scaled so images differ visibly."""

from __future__ import annotations

from pathlib import Path


def _lively(module, seed: int) -> dict:
    import torch

    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, value in module.state_dict().items():
        if not value.is_floating_point():
            state[name] = value.clone()
        elif name.endswith("running_var"):
            state[name] = torch.ones_like(value)
        elif name.endswith("running_mean"):
            state[name] = torch.zeros_like(value)
        elif "gain" in name:  # conditional batch norm: per-class scales far apart, so classes differ
            state[name] = 1.0 + 0.8 * torch.randn(value.shape, generator=generator)
        elif value.dim() > 1:
            fan = value[0].numel() if "ups" not in name and "stem" not in name else value.shape[0]
            state[name] = torch.randn(value.shape, generator=generator) * (0.6 / fan**0.5)
        else:
            state[name] = 0.1 * torch.randn(value.shape, generator=generator)
    return state


def make_run(
    project: Path,
    run_id: str,
    kind: str,
    classes=(),
    resolution: int = 32,
    z_dim: int = 16,
    width: int = 8,
    steps=(10,),
    ema: bool = True,
    created: str = "2026-01-01T00:00:00+00:00",
) -> Path:
    """A run folder with checkpoints at ``steps``; EMA weights (``ema.<name>.*``) differ from the raw ones."""
    from safetensors.torch import save_file

    from studio.core.atomic import atomic_write_json
    from studio.core.nets.gan import build_generator
    from studio.core.nets.vae import build_vae

    model = {
        "kind": kind,
        "resolution": resolution,
        "z_dim": z_dim,
        "width": width,
        "num_classes": len(classes),
        "classes": list(classes),
        "weights": "generator" if kind == "gan" else "vae",
        "ema": ema,
    }
    folder = project / "runs" / run_id
    (folder / "checkpoints").mkdir(parents=True)
    atomic_write_json(
        folder / "config.json",
        {
            "family": kind,
            "dataset": "pics",
            "preset": "fast",
            "config": {"resolution": resolution, "fit": "crop"},
            "model": model,
            "seed": 0,
            "device": "cpu",
            "created": created,
            "run_id": run_id,
            "schema": 1,
        },
    )
    network = build_generator(model) if kind == "gan" else build_vae(model)
    for step in steps:
        raw = _lively(network, 1000 + step)
        weights = {f"{model['weights']}.{k}": v.contiguous() for k, v in raw.items()}
        if ema:
            weights.update({f"ema.{model['weights']}.{k}": v.contiguous() for k, v in _lively(network, step).items()})
        stem = folder / "checkpoints" / f"step-{step:06d}"
        save_file(weights, str(stem.with_suffix(".safetensors")))
        atomic_write_json(stem.with_suffix(".json"), {"step": step, "metrics": {}, "family": kind})
    return folder


GAN_CLASSES = "20260101-000000-gan"
GAN = "20260101-000001-gan"
VAE = "20260101-000002-vae"
REFERENCE = "20260101-000003-reference"
