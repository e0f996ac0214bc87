"""Tiny runs for the comparison-board tests (a module with a unique name: several test folders have helpers).

The GAN and GPT runs are trained through the real engine (a few CPU steps, a checkpoint every few steps), so
their columns carry real validation metrics, a "best" mark and, for the GPT, the preview prompt the recipe
takes from the dataset's text cache. The voice and the big GAN of the memory test are laid out by hand with
random weights (as tests/core/generation does): no training is needed to compare them, only files that load."""

from __future__ import annotations

import sys
from pathlib import Path

# the generation tests' tiny run makers (a tiny Tacotron 2 and its run's "model" block), shared rather than copied
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "generation"))

import numpy as np
from PIL import Image, ImageDraw

from studio.core.datasets.importer import ImportDataset
from studio.core.jobs import JobContext, run_job
from studio.core.training import TrainJob

CHECKPOINT_EVERY = 4
STEPS = 3 * CHECKPOINT_EVERY  # three checkpoints
GAN_SETTINGS = {
    "resolution": 32,
    "width": 8,
    "z_dim": 16,
    "batch_size": 8,
    "log_every": 1,
    "eval_every": CHECKPOINT_EVERY,
    "sample_every": 100,
    "checkpoint_every": CHECKPOINT_EVERY,
    "keep_last": 5,
    "eval_count": 16,
    "lr": 2e-3,
}
GPT_SETTINGS = {
    "block_size": 32,
    "n_layer": 1,
    "n_head": 2,
    "n_embd": 32,
    "dropout": 0.0,
    "batch_size": 8,
    "lr": 3e-3,
    "warmup_steps": 2,
    "log_every": 1,
    "eval_every": CHECKPOINT_EVERY,
    "sample_every": 100,
    "checkpoint_every": CHECKPOINT_EVERY,
    "keep_last": 5,
    "eval_windows": 8,
    "early_stopping_patience": 0,
}
COPY = "Fresh roasted coffee, delivered to your door every Monday. Taste the morning!\n"


def make_image_project(root: Path) -> Path:
    """A project with dataset "shapes": 8 circles and 8 squares at 32 px."""
    rng = np.random.default_rng(3)
    source = root / "shapes-drop"
    for label in ("circles", "squares"):
        folder = source / label
        folder.mkdir(parents=True)
        for i in range(8):
            picture = Image.new("RGB", (32, 32), tuple(int(v) for v in rng.integers(0, 256, 3)))
            box = tuple(float(v) for v in (*rng.uniform(2, 12, 2), *rng.uniform(20, 30, 2)))
            fill = tuple(int(v) for v in rng.integers(0, 256, 3))
            (ImageDraw.Draw(picture).ellipse if label == "circles" else ImageDraw.Draw(picture).rectangle)(box, fill)
            picture.save(folder / f"{label}{i}.png")
    project = root / "Project"
    run_job(ImportDataset(project, "shapes", [source], kind="image", workers=1))
    return project


def add_text_dataset(project: Path) -> None:
    """Dataset "copy": 8 short advertising texts (one becomes the validation text)."""
    source = project.parent / "copy-drop"
    source.mkdir()
    for i in range(8):
        (source / f"ad{i}.txt").write_text(f"Offer {i}. " + COPY * 4, encoding="utf-8")
    run_job(ImportDataset(project, "copy", [source], kind="text", workers=1))


def train(project: Path, dataset: str, family: str, settings: dict, steps: int = STEPS) -> Path:
    """A run of ``family`` on ``dataset`` trained ``steps`` steps on one CPU thread; returns its folder."""
    job = TrainJob(
        project, dataset, family, preset="fast", overrides=settings, steps=steps, device="cpu", cpu_threads=1
    )
    job(JobContext())
    assert job.run_folder is not None
    return job.run_folder


def _random_weights(network, seed: int, prefix: str) -> dict:
    """The network's tensors drawn anew from ``seed`` (float ones scaled so outputs stay lively), keyed
    ``<prefix>.<name>`` as a checkpoint stores them."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, value in network.state_dict().items():
        if not value.is_floating_point():
            tensor = value.clone()
        elif name.endswith("running_var"):
            tensor = torch.ones_like(value)
        elif name.endswith("running_mean"):
            tensor = torch.zeros_like(value)
        elif value.dim() > 1:
            tensor = torch.randn(value.shape, generator=generator) * (0.6 / value[0].numel() ** 0.5)
        else:
            tensor = 0.1 * torch.randn(value.shape, generator=generator)
        if name.endswith("gate.bias"):  # a voice's stop gate that never fires: every sentence runs to its cap
            tensor = torch.full_like(value, -20.0)
        state[f"{prefix}.{name}"] = tensor.contiguous()
    return state


def _write_run(project: Path, run_id: str, record: dict, network, prefix: str, steps) -> Path:
    """A run folder as the engine lays it out: config.json, then checkpoints/step-N.safetensors + .json."""
    from safetensors.torch import save_file

    from studio.core.atomic import atomic_write_json

    folder = project / "runs" / run_id
    (folder / "checkpoints").mkdir(parents=True)
    atomic_write_json(
        folder / "config.json",
        {"preset": "fast", "seed": 0, "device": "cpu", "run_id": run_id, "schema": 1, **record},
    )
    for step in steps:
        stem = folder / "checkpoints" / f"step-{step:06d}"
        save_file(_random_weights(network, step, prefix), str(stem.with_suffix(".safetensors")))
        meta = {"step": step, "metrics": {"val_loss": 1.0 / step}, "created": "2026-01-01T00:00:00+00:00"}
        atomic_write_json(stem.with_suffix(".json"), meta)
    return folder


def make_voice_run(project: Path, run_id: str = "20260101-000000-tts", steps=(10, 20, 30)) -> Path:
    """A tiny Tacotron 2 run with random weights per checkpoint; at most 2 frames per phoneme, so a sentence
    decodes in milliseconds whether or not its untrained stop gate ever fires."""
    from untrusted_helpers import tiny_tts_config, tts_model_block

    from studio.core.nets.tts import Tacotron2

    config = tiny_tts_config(reduction=2, max_frames_per_symbol=2)
    model = tts_model_block(config)
    record = {"family": "tts", "dataset": "voice", "config": {}, "model": model, "created": "2026-01-01T00:00:00"}
    return _write_run(project, run_id, record, Tacotron2(config), "tts", steps)


def make_big_gan_run(project: Path, run_id: str = "20260101-000000-gan", checkpoints: int = 10) -> Path:
    """A 64 px GAN of ~9 MB of weights with ``checkpoints`` checkpoints (steps 1..N), random weights each."""
    from studio.core.nets.gan import build_generator

    model = {"kind": "gan", "resolution": 64, "z_dim": 128, "width": 48, "num_classes": 0, "classes": []}
    model.update({"weights": "generator", "ema": False})
    record = {"family": "gan", "dataset": "shapes", "config": {"resolution": 64}, "model": model}
    return _write_run(project, run_id, record, build_generator(model), "generator", range(1, checkpoints + 1))


def weights_bytes(run_folder: Path) -> int:
    """The size of one checkpoint's weights file."""
    return next((run_folder / "checkpoints").glob("*.safetensors")).stat().st_size


def make_vocoder_run(project: Path, run_id: str = "20260101-000001-vocoder", steps=(10, 20)) -> Path:
    """A tiny HiFi-GAN generator run (width 8) with random weights per checkpoint."""
    from studio.core.nets.vocoder import Generator, VocoderConfig

    config = VocoderConfig(width=8, resblock_kernels=(3,), resblock_dilations=(1,), disc_width=1)
    mel = {"sample_rate": 22050, "n_mels": 80, "n_fft": 1024, "hop_length": 256, "win_length": 1024}
    model = {
        "kind": "vocoder",
        "mel": {**mel, "f_min": 0.0, "f_max": 8000.0},
        "config": config.to_dict(),
        "weights": "generator",
        "ema": False,
    }
    record = {"family": "vocoder", "dataset": "voice", "config": {}, "model": model, "created": "2026-01-01T00:00:01"}
    return _write_run(project, run_id, record, Generator(config), "generator", steps)
