"""What image and text generation share about trained runs: reading a run's config.json as a model of the
right kind, finding a checkpoint, and a small cache of loaded models.

Why a cache: the canvas and the writer ask for the same model again and again (a grid, variations, a walk;
one text after another), and loading costs about as much as sampling: reading and checking the weights,
building the network and the CPU kernels' set-up (tests/benchmarks/test_generation_latency.py: the first
64-image grid of the balanced GAN took 0.53 s, later ones 0.34 s). Entries are keyed by (run folder, step,
device) plus the weight file's size and modification time, so a checkpoint rewritten in place (a run
resumed from an earlier step) loads again instead of serving stale weights. At most ``size`` models are
kept, to bound memory (GPU memory especially). One lock guards a cache and a model is loaded while holding
it, so two jobs asking for the same model at once load it once; sampling runs outside the lock (an
eval-mode network under ``torch.inference_mode`` only reads its weights, so threads may share it).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

from studio.core.jobs import JobError


def read_run_config(run_folder: str | Path, kinds: tuple[str, ...], what: str, pick: str) -> dict:
    """config.json of a run (or a starter model laid out like one) whose model kind is one of ``kinds``.

    ``what`` names the wanted sort of model ("an image generator") and ``pick`` what to choose instead
    ("a GAN or VAE run"), for the message when it is something else."""
    from studio.core.training import runs

    run_folder = Path(run_folder)
    try:
        config = runs.read_config(run_folder)
    except FileNotFoundError as exc:
        raise JobError(f"{run_folder} is not a training run: it has no config.json. Pick a run from the "
                       f"project's runs folder.") from exc
    except (OSError, ValueError) as exc:
        raise JobError(f"The config.json of {run_folder.name} cannot be read (it is damaged); "
                       f"pick another run.") from exc
    model = config.get("model") if isinstance(config, dict) else None
    kind = model.get("kind") if isinstance(model, dict) else None
    if kind not in kinds:
        family = config.get("family", "unknown") if isinstance(config, dict) else "unknown"
        raise JobError(f"The run {run_folder.name} is a “{family}” model, not {what}; pick {pick}.")
    return config


def checkpoint_for(run_folder: Path, step: int | None):
    """The runs.CheckpointInfo for ``step`` (newest when None), or a plain error listing what exists."""
    from studio.core.training import runs

    found = runs.checkpoints(run_folder)
    if not found:
        raise JobError(f"The run {Path(run_folder).name} has no saved checkpoint yet; let it train until it "
                       f"saves one, then try again.")
    if step is None:
        return found[-1]
    for info in found:
        if info.step == int(step):
            return info
    kept = ", ".join(f"{info.step:,}" for info in found)
    raise JobError(f"The run {Path(run_folder).name} has no checkpoint at step {int(step):,} (it may have been "
                   f"pruned); its checkpoints are at steps {kept}.")


class ModelCache:
    """Loaded models of one kind, least recently used dropped first (see the module docstring)."""

    def __init__(self, check: Callable[[Path], Any], load: Callable[[Path, int, str], Any], size: int = 2) -> None:
        self.check, self.load, self.size = check, load, size
        self._models: "OrderedDict[tuple, Any]" = OrderedDict()
        self._lock = threading.Lock()

    def get(self, run_folder: str | Path, step: int | None = None, device: str = "cpu"):
        """The model at ``step`` (newest when None) of a run, loaded once and then served from the cache."""
        folder = Path(run_folder).resolve()
        self.check(folder)  # a plain error for a folder that is no run of this kind, before anything else
        info = checkpoint_for(folder, step)
        try:
            stat = info.path_weights.stat()
        except OSError as exc:
            raise JobError(f"The checkpoint at step {info.step:,} of {folder.name} disappeared while it was "
                           f"being opened; try again.") from exc
        key = (str(folder), info.step, str(device), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            model = self._models.get(key)
            if model is not None:
                self._models.move_to_end(key)
                return model
            model = self.load(folder, info.step, device)
            self._models[key] = model
            while len(self._models) > self.size:
                self._models.popitem(last=False)
            return model

    def clear(self) -> None:
        """Forget every loaded model (tests; a run deleted from the project)."""
        with self._lock:
            self._models.clear()
