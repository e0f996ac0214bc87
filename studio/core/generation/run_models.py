"""What image, text and speech generation share about trained runs: reading a run's config.json as a model of
the right families, finding a checkpoint, loading its generating network's weights into a rebuilt network, and a
small cache of loaded models.

Which families a caller accepts, which network of a checkpoint generates and how it is rebuilt all come from the
family table (:mod:`studio.core.training.families`), looked up by the model's kind when a run is read, so a family
registered after start-up (a plug-in, a test) is read and loaded like a built-in one.

Why a cache: the canvas and the writer ask for the same model again and again (a grid, variations, a walk;
one text after another), and loading costs about as much as sampling: reading and checking the weights,
building the network and the CPU kernels' set-up (tests/benchmarks/test_generation_latency.py: the first
64-image grid of the balanced GAN took 0.53 s, later ones 0.34 s). Entries are keyed by (run folder, step,
device) plus the weight file's size and modification time, so a checkpoint rewritten in place (a run
resumed from an earlier step) loads again instead of serving stale weights. At most ``size`` models are
kept, to bound memory (GPU memory especially). One lock guards a cache and a model is loaded while holding
it, so two jobs asking for the same model at once load it once; sampling runs outside the lock (an
eval-mode network under ``torch.inference_mode`` only reads its weights, so threads may share it).

Run folders may come from someone else, so nothing here allocates what a file merely claims
(:mod:`studio.core.untrusted`): config.json is size-capped and every value the network is built from is checked
against documented limits when it is read (:func:`read_run_config`); the checkpoint's safetensors header is read
on its own and the network the config describes is compared with the header's shapes, on PyTorch's ``meta``
device, before the real network is built and only its own tensors are read (:func:`load_network`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from safetensors import safe_open

from studio import paths
from studio.core import untrusted
from studio.core.jobs import JobError
from studio.core.training import families, runs
from studio.core.training.families import FamilySpec, Generator


def read_run_config(run_folder: str | Path, accepted: Sequence[FamilySpec], what: str) -> dict:
    """config.json of a run (or a starter model laid out like one) whose model kind is one of the ``accepted``
    families, with every size the network is built from within :data:`studio.core.untrusted.LIMITS` (else a plain
    :class:`~studio.core.untrusted.OverLimit` naming the file, the value and the limit).

    ``what`` names the wanted sort of model ("an image generator"), for the message when it is something else
    (which names the accepted families to pick instead: "pick a GAN or VAE run")."""
    run_folder = Path(run_folder)
    path = run_folder / "config.json"
    try:
        config = untrusted.read_json(path, untrusted.CONFIG_CAP, "the run")
    except FileNotFoundError as exc:
        raise JobError(
            f"{run_folder} is not a training run: it has no config.json. Pick a run from the project's runs folder."
        ) from exc
    except (OSError, ValueError) as exc:
        raise JobError(
            f"The config.json of {run_folder.name} cannot be read (it is damaged); pick another run."
        ) from exc
    model = config.get("model") if isinstance(config, dict) else None
    kind = model.get("kind") if isinstance(model, dict) else None
    if kind not in families.ids(accepted):
        family = config.get("family", "unknown") if isinstance(config, dict) else "unknown"
        raise JobError(
            f"The run {run_folder.name} is a “{family}” model, not {what}; pick a {families.labels(accepted)} run."
        )
    untrusted.check_model(model, path)
    return config


def starter_folders() -> list[Path]:
    """The starter models shipped in models/ (folders laid out like runs), by name."""

    root = paths.models_dir()
    return [folder for folder in sorted(root.iterdir()) if (folder / "config.json").is_file()] if root.is_dir() else []


def resolve_run_folder(
    project_root: str | Path, run: str, check: Callable[[Path], Any], accepted: Sequence[FamilySpec]
) -> Path:
    """The folder of run ``run`` of the project, else a starter model of that name in models/; for "latest"
    the project's newest run that ``check`` accepts and that has a checkpoint (a run that has just started has
    nothing to generate from yet). The ``accepted`` families word the errors ("no GAN or VAE run")."""

    names = families.labels(accepted)

    root = Path(project_root)
    if run == "latest":
        found = []
        for info in runs.list_runs(root):
            try:
                check(info.folder)
            except JobError:
                continue
            found.append(info.folder)
            if runs.checkpoints(info.folder):
                return info.folder
        if found:
            raise JobError(
                f"No {names} run in {root} has saved a checkpoint yet; let one train until it "
                f"saves one, then try again."
            )
        flag = accepted[0].id if accepted else "FAMILY"
        raise JobError(f"There is no {names} run in {root}; train one first (aigc-studio train --model {flag} ...).")
    plain_name = bool(run) and run not in (".", "..") and "/" not in run and "\\" not in run

    for folder in (root / runs.RUNS / run, paths.models_dir() / run) if plain_name else ():
        if (folder / "config.json").is_file():
            return folder
    raise JobError(
        f"There is no run “{run}” in {root}; use --run latest or one of the folder names in {root / runs.RUNS}."
    )


def checkpoint_for(run_folder: Path, step: int | None):
    """The runs.CheckpointInfo for ``step``, or a plain error listing what exists. With no step: the one the user
    chose for the run ("Use this checkpoint" on the comparison board, :func:`runs.chosen_step`), else the newest;
    so the CLI's generate and export commands without --checkpoint use what the panels' pickers default to."""

    found = runs.checkpoints(run_folder)
    if not found:
        raise JobError(
            f"The run {Path(run_folder).name} has no saved checkpoint yet; let it train until it "
            f"saves one, then try again."
        )
    if step is None:
        chosen = runs.chosen_step(run_folder)
        return next((info for info in found if info.step == chosen), found[-1])
    for info in found:
        if info.step == int(step):
            return info
    kept = ", ".join(f"{info.step:,}" for info in found)
    raise JobError(
        f"The run {Path(run_folder).name} has no checkpoint at step {int(step):,} (it may have been "
        f"pruned); its checkpoints are at steps {kept}."
    )


class LoadedNetwork(NamedTuple):
    network: Any  # an nn.Module in eval mode on the CPU, gradients off
    step: int  # the checkpoint's step
    ema: bool  # whether the EMA weights were used
    state: dict  # the tensors loaded into it (for extra checks, e.g. a vocabulary's size)


def weights_prefix(model: dict, weights: dict, fallback: str) -> str:
    """The "<network>" prefix of a checkpoint's keys: describe()'s "weights" when given, else the one non-EMA
    prefix present (most recipes save a single network), else ``fallback`` (a GAN saves two)."""
    if model.get("weights"):
        return str(model["weights"])
    names = sorted({key.split(".", 1)[0] for key in weights if not key.startswith("ema.")})
    return names[0] if len(names) == 1 else fallback


def load_network(
    run_folder: Path,
    step: int | None,
    model: dict,
    build: Callable[[dict], Any],
    fallback: str,
    use: str,
    run_id: str | None = None,
) -> LoadedNetwork:
    """Rebuild a run's network from its description and load a checkpoint's weights into it, strictly.

    EMA weights are preferred when the checkpoint has them (what previews and evaluation used). Every way a
    checkpoint can be unusable — missing, damaged, not matching the description, NaN — is a JobError that
    says which checkpoint and what to do; ``use`` completes "the run cannot be …" ("sampled", "used for
    writing"). Nothing is allocated from what the files claim (module docstring): the description's limits,
    the header's own limits and the description-vs-header shapes are all checked first."""
    import torch

    run_folder = Path(run_folder)
    run_id = run_id or run_folder.name
    untrusted.check_model(model, run_folder / "config.json")  # (read_run_config did; callers may skip it)
    info = checkpoint_for(run_folder, step)
    damaged = (
        f"The checkpoint at step {info.step:,} of {run_id} is damaged or incomplete; pick another "
        f"checkpoint, or resume training to write a new one"
    )
    try:
        header = untrusted.read_safetensors_header(info.path_weights)
    except untrusted.DamagedFile as exc:
        raise JobError(f"{damaged} ({exc.path.name}: {exc.problem}).") from exc
    except OSError as exc:
        raise JobError(f"{damaged}.") from exc
    name = weights_prefix(model, header, fallback)
    ema = any(key.startswith(f"ema.{name}.") for key in header)
    prefix = f"ema.{name}." if ema else f"{name}."
    keys = [key for key in header if key.startswith(prefix)]
    try:
        expected = untrusted.expected_shapes(build, model)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise JobError(
            f"The model description in {run_id}'s config.json is incomplete or invalid ({exc}); "
            f"the run cannot be {use}."
        ) from exc
    found = {key[len(prefix) :]: header[key][1] for key in keys}
    try:
        untrusted.check_weights_match(expected, found, info.path_weights)
    except untrusted.DamagedFile as exc:
        raise JobError(f"{damaged} ({exc.path.name}: {exc.problem}).") from exc
    try:  # only the generating network's tensors (a GAN's discriminator, the raw twin of EMA weights stay on disk)
        with safe_open(str(info.path_weights), framework="pt", device="cpu") as weights:
            state = {key[len(prefix) :]: weights.get_tensor(key) for key in keys}
    except Exception as exc:  # SafetensorError, OSError, ...: all mean an unusable file
        raise JobError(f"{damaged}.") from exc
    network = build(model)  # its sizes are now known to be the weights' own
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise JobError(f"{damaged}.") from exc
    if not all(bool(torch.isfinite(value).all()) for value in state.values() if value.is_floating_point()):
        raise JobError(
            f"The checkpoint at step {info.step:,} of {run_id} holds invalid numbers (NaN); pick an earlier checkpoint."
        )
    return LoadedNetwork(network.eval().requires_grad_(False), info.step, ema, state)


def load_generator(
    run_folder: Path, step: int | None, model: dict, use: str, run_id: str | None = None
) -> tuple[LoadedNetwork, Generator]:
    """:func:`load_network` for the generating network of the model's family (the family table says which
    network of the checkpoint it is and how it is rebuilt), with that family's :class:`Generator` record (how
    to sample from it)."""
    generator = families.generator(str(model.get("kind")))
    loaded = load_network(run_folder, step, model, generator.load_builder(), generator.weights, use, run_id)
    return loaded, generator


class ModelCache:
    """Loaded models of one kind, least recently used dropped first (see the module docstring)."""

    def __init__(self, check: Callable[[Path], Any], load: Callable[[Path, int, str], Any], size: int = 2) -> None:
        self.check, self.load, self.size = check, load, size
        self._models: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, run_folder: str | Path, step: int | None = None, device: str = "cpu"):
        """The model at ``step`` (the chosen or newest when None) of a run, loaded once, then served from the cache."""
        folder = Path(run_folder).resolve()
        self.check(folder)  # a plain error for a folder that is no run of this kind, before anything else
        info = checkpoint_for(folder, step)
        try:
            stat = info.path_weights.stat()
        except OSError as exc:
            raise JobError(
                f"The checkpoint at step {info.step:,} of {folder.name} disappeared while it was "
                f"being opened; try again."
            ) from exc
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
