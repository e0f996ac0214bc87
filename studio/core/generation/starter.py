"""Starter models: a trained run reduced to what generation needs, shipped in ``models/`` with a model card.

A starter model is laid out like a run folder — ``config.json``, ``checkpoints/step-N.safetensors`` +
``step-N.json``, and the run's own files (``tokenizer.json`` for a writer) — so the canvas, the writer, the
Speech panel and the CLI load it with the very code that loads a user's runs (``image_model.resolve_run`` and
friends look in ``models/`` too). What is left out, and why:

- every network but the one that generates (a GAN's discriminator, a vocoder's discriminators: the family
  table's ``Generator.weights`` names the one kept), and of that one only the EMA weights when the run kept them:
  they are what previews, evaluation and generation use;
- the training state (``.state.pt``: optimizer moments, RNG) — twice the weights' size, useless for
  generating; a starter model cannot be resumed, but it can be retrained with the command on its card.

``model_card.json`` says what the model was trained on, the data's licence, how it was trained (family,
settings, steps, final metrics, the machine's time) and the command that rebuilds it, so a designer knows
what they ship when they use its output. :data:`MAX_BYTES` keeps every starter model small enough for the
installer (issue 8: under 20 MB each).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from safetensors import safe_open

from studio.core import untrusted
from studio.core.atomic import atomic_write_bytes, atomic_write_json
from studio.core.generation.run_models import checkpoint_for, weights_prefix
from studio.core.jobs import JobError
from studio.core.training import families

MAX_BYTES = 20 * 1024 * 1024
CARD = "model_card.json"


def generating_weights(weights: dict, model: dict) -> dict:
    """Only the generating network's tensors, EMA preferred, under the key names the loaders expect.

    describe()'s "weights" names that network; else the family table's generator does (a checkpoint that holds
    several networks and whose describe() names none: a GAN's), else the checkpoint's only network."""
    family = families.find(model.get("kind"))
    fallback = family.generator.weights if family is not None and family.generator is not None else "model"
    name = weights_prefix(model, weights, fallback)
    ema = {k: v for k, v in weights.items() if k.startswith(f"ema.{name}.")}
    kept = ema or {k: v for k, v in weights.items() if k.startswith(f"{name}.")}
    if not kept:
        raise JobError(f"The checkpoint holds no weights of “{name}”; it cannot become a starter model.")
    return kept


def export_starter(run_folder: str | Path, target: str | Path, card: dict, step: int | None = None) -> dict:
    """Write the starter model of ``run_folder`` (checkpoint ``step``, newest when None) to ``target``
    (replaced if it exists) with ``card`` completed by what the run records. Returns the card."""
    from safetensors.torch import save

    run_folder, target = Path(run_folder), Path(target)
    config = untrusted.read_json(run_folder / "config.json", untrusted.CONFIG_CAP, "the run")
    model = config.get("model") or {}
    untrusted.check_model(model, run_folder / "config.json")
    info = checkpoint_for(run_folder, step)
    # The header alone first (bounded, see studio.core.untrusted), then only the generating network's tensors.
    keys = generating_weights(untrusted.read_safetensors_header(info.path_weights), model)
    with safe_open(str(info.path_weights), framework="pt", device="cpu") as handle:
        weights = {key: handle.get_tensor(key) for key in keys}
    blob = save({k: v.contiguous() for k, v in weights.items()}, metadata={"format": "pt"})
    name = target.name
    if target.exists():
        shutil.rmtree(target)
    stem = target / "checkpoints" / f"step-{info.step:06d}"
    atomic_write_bytes(stem.with_suffix(".safetensors"), blob)
    atomic_write_json(stem.with_suffix(".json"), {"step": info.step, "metrics": info.metrics, "starter": True})
    atomic_write_json(target / "config.json", {**config, "run_id": name, "starter": True})
    for extra in run_folder.iterdir():  # the run's own files (tokenizer.json …), not its logs or samples
        if extra.is_file() and extra.name not in ("config.json", "status.json", "metrics.jsonl"):
            atomic_write_bytes(target / extra.name, extra.read_bytes())
    parameters = sum(int(v.numel()) for v in weights.values())
    full = {
        **card,
        "name": name,
        "family": config.get("family"),
        "kind": model.get("kind"),
        "parameters": parameters,
        "weights": "EMA" if any(k.startswith("ema.") for k in weights) else "raw",
        "trained_steps": info.step,
        "final_metrics": info.metrics,
        "training_config": config.get("config") or {},
    }
    size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())  # the model's files, card excluded
    if size > MAX_BYTES:
        raise JobError(
            f"The starter model {name} is {size / 2**20:.1f} MB, over the {MAX_BYTES // 2**20} MB limit; "
            f"train a smaller preset."
        )
    full["bytes"] = size
    atomic_write_json(target / CARD, full)
    return full


def read_card(folder: str | Path) -> dict:
    """A starter model's card ({} when it has none or it cannot be read)."""
    try:
        card = untrusted.read_json(Path(folder) / CARD, untrusted.SMALL_JSON_CAP, "the model card")
    except (OSError, ValueError, JobError):  # missing, damaged or oversized: shown as a model without a card
        return {}
    return card if isinstance(card, dict) else {}
