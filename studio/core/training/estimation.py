"""Before Start: how long a run will take and how much memory it needs, measured once per machine and cheaply.

A run's time is ``startup + steps × step + evaluations × evaluation + previews × preview + saves × save``. Each
term is measured, not guessed (:func:`measure`): the real model is built on the real device from the real
cache, a warm-up step and then a few timed steps run at the real batch (at most :data:`STEP_BUDGET_S` of them),
then one evaluation, one preview and one checkpoint save exactly as the run's callbacks make them. A formula
would miss the data path, kernel launch overhead and a slow CPU; the measurement does not.

The step count, the cadence of evaluations, previews and checkpoints, and the optimizer's schedule do not change
what one step costs, so they are not part of what is measured (:data:`SCHEDULE_KEYS`): the costs are cached per
(device, torch, threads, family, model settings, training-set size) in the user's cache folder
(:func:`studio.paths.cache_dir`), and any step count, a preset's time cap or a time budget is then arithmetic on
them (:func:`seconds_for`, :func:`steps_within`). The first estimate of a preset on a machine takes a second or
two; every later one is a file read.

Memory is the CUDA allocator's peak on a GPU; elsewhere it is the weights, gradients, optimizer moments and EMA
copies plus the activations seen by forward hooks (kept for backward) — the figure that decides whether a batch
fits. The estimator itself holds one model of the size the run will train, so on a CPU preset it needs no more
than the run (tests/core/training/test_estimation.py measures its RSS in a subprocess).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import logging
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from studio import paths
from studio.core.atomic import atomic_write_json
from studio.core.datasets.importer import dataset_folder
from studio.core.jobs import JobContext
from studio.core.training import families
from studio.core.training.devices import DeviceInfo, resolve_device, torch_threads

log = logging.getLogger(__name__)

CACHE_FILE = "training-costs.json"
CACHE_VERSION = 1
MAX_TIMED_STEPS = 4  # timed steps after each warm-up; fewer when they cost more than STEP_BUDGET_S
STEP_BUDGET_S = 1.0
PROBE_BYTES = 100e6  # the activations a CPU estimate may hold at once (a batch needing more is probed smaller)
# Settings that change how many steps there are, how often something happens between them, or the optimizer's
# numbers — never what one step, evaluation or preview costs.
SCHEDULE_KEYS = frozenset(
    {
        "steps",
        "eval_every",
        "sample_every",
        "checkpoint_every",
        "checkpoint_minutes",
        "log_every",
        "keep_last",
        "lr",
        "warmup_steps",
        "min_lr_ratio",
        "weight_decay",
        "early_stopping_patience",
        "seed",
        "grad_clip",
        "ema_decay",
        "adam_beta1",
        "adam_beta2",
        "kl_warmup_steps",
        "preview_temperature",
    }
)


@dataclass(frozen=True)
class Costs:
    """What each part of a run costs on one device, in seconds, and its peak memory in bytes."""

    startup_s: float  # building the models and the optimizer state before the first step
    step_s: float  # one optimizer step at the run's batch (median of the timed steps)
    eval_s: float  # one evaluation as the Evaluator runs it
    preview_s: float  # one preview as the Previewer writes it
    save_s: float  # one checkpoint written as the Checkpointer writes it
    memory_bytes: int

    def to_dict(self) -> dict:
        return asdict(self)


def estimate(
    project_root,
    dataset: str,
    family: str,
    config: dict | None,
    device=None,
    *,
    ctx: JobContext | None = None,
    cpu_threads: int | None = None,
) -> dict:
    """``{"seconds", "memory_bytes", "steps", ...}`` for a run of ``family`` with ``config`` (resolved against the
    family's defaults). Builds the dataset cache if it is missing; ``ctx.check()`` runs between timed steps, so a
    cancel stops it within one step."""
    config = families.resolve_config(family, None, config)
    costs = costs_for(project_root, dataset, family, config, device, ctx=ctx, cpu_threads=cpu_threads)
    return summary(costs, config)


def summary(costs: Costs, config: dict) -> dict:
    """The estimate's JSON: the whole run's seconds (evaluations, previews and saves included), steps, memory and
    the parts it is made of."""
    return {
        "seconds": round(seconds_for(costs, config), 2),
        "memory_bytes": int(costs.memory_bytes),
        "steps": int(config["steps"]),
        "step_seconds": round(costs.step_s, 5),
        "eval_seconds": round(costs.eval_s, 3),
        "preview_seconds": round(costs.preview_s, 3),
        "save_seconds": round(costs.save_s, 3),
        "startup_seconds": round(costs.startup_s, 3),
    }


# -- arithmetic on costs -----------------------------------------------------------------------------------------------
def times_due(step: int, total: int, every: int) -> int:
    """How many times something done every ``every`` steps and at the last step happens after ``step`` (the
    estimate counts a whole run from step 0; the running ETA counts what is still to come)."""
    if step >= total:
        return 0
    every = max(1, int(every))
    return total // every - step // every + (1 if total % every else 0)


def seconds_for(costs: Costs, config: dict) -> float:
    """The whole run: start-up, the steps, and every evaluation, preview and save the callbacks will make."""
    steps = int(config["steps"])
    train = steps * costs.step_s
    saves = times_due(0, steps, config["checkpoint_every"])
    saves += int(train / 60.0 / max(config["checkpoint_minutes"], 1e-3))  # the time-based saves
    return (
        costs.startup_s
        + train
        + times_due(0, steps, config["eval_every"]) * costs.eval_s
        + times_due(0, steps, config["sample_every"]) * costs.preview_s
        + saves * costs.save_s
    )


def steps_within(costs: Costs, config: dict, seconds: float) -> int:
    """The most steps whose whole run (as :func:`seconds_for` counts it) fits in ``seconds``; at least 1."""
    fixed = costs.startup_s + costs.eval_s + costs.preview_s + costs.save_s  # the final ones
    per_step = (
        costs.step_s
        + costs.eval_s / max(1, config["eval_every"])
        + costs.preview_s / max(1, config["sample_every"])
        + costs.save_s / max(1, config["checkpoint_every"])
    )
    steps = max(1, int((seconds - fixed) / max(per_step, 1e-9)))
    while steps > 1 and seconds_for(costs, {**config, "steps": steps}) > seconds:  # the time-based saves
        steps = max(1, int(steps * 0.98))
    return steps


# -- measuring, with a cache -------------------------------------------------------------------------------------------
def costs_for(
    project_root,
    dataset: str,
    family: str,
    config: dict,
    device=None,
    *,
    ctx: JobContext | None = None,
    cpu_threads: int | None = None,
) -> Costs:
    """The cached costs of this (device, family, model settings, dataset), measured when not known yet. ``device``
    is a choice ("cpu", "cuda:1", None for the best) or an already resolved :class:`DeviceInfo` (a planner asking
    about several sizes probes the devices once)."""
    import torch

    ctx = ctx or JobContext()
    info = device if isinstance(device, DeviceInfo) else resolve_device(device)
    recipe_class = families.load_recipe_class(family)
    folder = dataset_folder(Path(project_root), dataset)
    recipe_class.prepare_data(folder, config, ctx)
    with torch_threads(cpu_threads if info.kind == "cpu" else None):
        recipe = recipe_class(config, recipe_class.open_data(folder, config), torch.device(info.id))
        key = cache_key(info.name, torch.get_num_threads(), family, config, recipe.train_size())
        known = _read_cache().get(key)
        if known is not None:
            try:
                return Costs(**known)
            except TypeError:
                log.info("Ignoring a cached training cost of another format")
        costs = measure(recipe, config, torch.device(info.id), ctx)
    _remember(key, costs)
    return costs


def cache_key(device_name: str, threads: int, family: str, config: dict, train_size: int) -> str:
    import torch

    model_settings = {k: v for k, v in sorted(config.items()) if k not in SCHEDULE_KEYS}
    identity = {
        "version": CACHE_VERSION,
        "device": device_name,
        "threads": threads,
        "torch": torch.__version__,
        "family": family,
        "settings": model_settings,
        "train_size": train_size,
    }
    return hashlib.sha1(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()


def _cache_path() -> Path:
    return paths.cache_dir() / CACHE_FILE


def _read_cache() -> dict:
    try:
        data = json.loads(_cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _remember(key: str, costs: Costs) -> None:
    """Add one measurement to the cache file (a cache: failing to write it only means measuring again)."""
    data = _read_cache()
    data[key] = costs.to_dict()
    if len(data) > 500:  # oldest first (insertion order): a cache, not a history
        data = dict(list(data.items())[-500:])
    try:
        _cache_path().parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(_cache_path(), data)
    except OSError:
        log.info("Could not write the training-cost cache %s", _cache_path(), exc_info=True)


def learn(device_name: str, threads: int, family: str, config: dict, train_size: int, observed: dict) -> None:
    """A run's own measured costs (``step_s``, ``eval_s``, ``preview_s``, ``save_s``; None where it made none)
    replace the estimate's for the same device, model size and dataset: the next estimate is what this machine
    really did, not a few steps timed once — a busy or a faster machine corrects itself. Only costs that were
    estimated before are updated (a run knows nothing of start-up)."""
    key = cache_key(device_name, threads, family, config, train_size)
    known = _read_cache().get(key)
    if not isinstance(known, dict):
        return
    fields = set(Costs.__dataclass_fields__)
    update = {k: float(v) for k, v in observed.items() if k in fields and v is not None and v > 0}
    try:
        _remember(key, Costs(**{**known, **update}))
    except TypeError:
        log.info("Ignoring a cached training cost of another format")


def measure(recipe, config: dict, device, ctx: JobContext) -> Costs:
    """Time start-up, a few real steps, one evaluation, one preview and one save of ``recipe`` on ``device``, and
    measure the memory a step needs.

    On a CPU, a batch whose activations would hold more than :data:`PROBE_BYTES` is not run whole: steps of two
    smaller batches are timed and their memory measured, and both are extended linearly to the run's batch (a
    step's work and its activations grow with the items in it; what does not — the optimizer, per-step overhead —
    is the line's intercept). That keeps the estimator to a few hundred MB for any CPU preset. Runs in memory (no
    run folder, no callbacks) inside ``fork_rng``, so estimating never changes a run."""
    import torch

    from studio.core.training import checkpoints  # imports torch: only when an estimate runs
    from studio.core.training.engine import Engine  # imports torch: only when an estimate runs

    cuda = device.type == "cuda"
    batch = int(config["batch_size"])
    micro = int(config["micro_batch"]) or batch
    with torch.random.fork_rng(devices=[device.index or 0] if cuda else []):
        started = time.perf_counter()
        engine = Engine(recipe, {**config, "compile": False}, device, ctx)
        startup_s = time.perf_counter() - started
        seen_per_item = 0 if cuda else _activation_bytes(engine, 1)  # what the forward hooks see for one item
        probe = micro if cuda else max(1, min(micro, int(PROBE_BYTES / max(1, 2 * seen_per_item))))
        if cuda:
            torch.cuda.reset_peak_memory_stats(device)
        if probe >= micro or micro == 1:  # the run's own batch: time it as it is
            step_s, activations = _time_batch(engine, batch, device, ctx, seen_per_item)
            per_item = activations / micro
        else:
            large = max(2, probe)
            small = max(1, large // 2)
            time_small, act_small = _time_batch(engine, small, device, ctx, seen_per_item)
            time_large, act_large = _time_batch(engine, large, device, ctx, seen_per_item)
            slope = (time_large - time_small) / max(1, large - small)
            if slope <= 0:  # noise larger than the difference: scale the larger probe, an upper bound
                slope, time_small = time_large / large, 0.0
            step_s = time_small + slope * (batch - small)
            per_item = max(act_small / small, act_large / large)
        startup_s += step_s  # the warm-up step: allocator, kernels, the optimizer's state
        memory = int(torch.cuda.max_memory_allocated(device)) if cuda else _state_bytes(engine) + int(per_item * micro)
        ctx.check()
        for optimizer in engine.optimizers.values():  # the last step's gradients: not needed by what is timed next
            optimizer.zero_grad(set_to_none=True)
        _release_freed_memory()
        eval_s = _timed(lambda: engine.evaluate(), device)
        ctx.check()
        _release_freed_memory()
        with tempfile.TemporaryDirectory(prefix="aigc-estimate-") as scratch:
            preview_s = _timed(lambda: engine.make_preview(Path(scratch)), device)
            ctx.check()
            _release_freed_memory()
            save_s = _timed(lambda: checkpoints.write(Path(scratch), engine.snapshot()), device)
    _release_freed_memory()
    return Costs(startup_s, step_s, eval_s, preview_s, save_s, memory)


def _release_freed_memory() -> None:
    """Hand the memory the last phase freed back to the system (glibc keeps it otherwise), so the phases' peaks do
    not stack up in the estimator's footprint: the window it runs beside keeps only what it needs."""
    # not glibc (macOS, Windows, musl): their allocators return freed memory themselves
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _use_batch(engine, size: int) -> None:
    """Make the engine's next steps ``size`` items, in one micro-batch."""
    from studio.core.training.data import EpochSampler  # imports torch: only when an estimate runs

    engine.sampler = EpochSampler(engine.recipe.train_size(), size, int(engine.config["seed"]))
    engine.state.micro_batch = size


def _time_batch(engine, size: int, device, ctx: JobContext, seen_per_item: int) -> tuple[float, float]:
    """(seconds per step, activation bytes) at ``size`` items: a warm-up step (whose memory growth, less the
    gradients and optimizer moments it creates on a first step, is the activations' measure, never below what the
    forward hooks saw for one item times ``size``), then the median of up to :data:`MAX_TIMED_STEPS` steps, fewer
    once they took :data:`STEP_BUDGET_S`."""
    _use_batch(engine, size)
    first = engine.state.step == 0
    grown = _memory_growth(lambda: engine.train_step())
    created = 3 * _trainable_bytes(engine) if first else 0  # a gradient and two Adam moments per weight
    # the hooks' count is a floor: for a small model the allocator may serve a step from memory it already holds
    seen = seen_per_item * size  # module outputs and the batch grow with the items (no second forward to count)
    activations = max(grown - created, seen) if grown is not None else seen
    _sync(device)
    times: list[float] = []
    while len(times) < MAX_TIMED_STEPS and (sum(times) < STEP_BUDGET_S or not times):
        ctx.check()
        times.append(_timed(engine.train_step, device))
    return statistics.median(times), max(0.0, float(activations))


def _memory_growth(action) -> int | None:
    """How far this process's resident memory rose above its level before ``action`` (Linux: the kernel's
    high-water mark, reset first); None where that cannot be read."""
    try:
        with open("/proc/self/clear_refs", "w") as reset:
            reset.write("5")  # resets VmHWM to the current RSS
        before = _status_kib("VmRSS")
    except OSError:
        action()
        return None
    action()
    return (_status_kib("VmHWM") - before) * 1024


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"{field} is not in /proc/self/status")


def _trainable_bytes(engine) -> int:
    return sum(
        p.numel() * p.element_size() for model in engine.models.values() for p in model.parameters() if p.requires_grad
    )


def _sync(device) -> None:
    if device.type == "cuda":
        import torch

        torch.cuda.synchronize(device)


def _timed(action, device) -> float:
    started = time.perf_counter()
    action()
    _sync(device)
    return time.perf_counter() - started


def _state_bytes(engine) -> int:
    """Weights + gradients + two Adam moments per trainable parameter, plus the EMA copies."""
    total = 0
    for model in engine.models.values():
        for p in model.parameters():
            total += p.numel() * p.element_size() * (4 if p.requires_grad else 1)
    for model in engine.ema.values():
        total += sum(p.numel() * p.element_size() for p in model.parameters())
    return total


def _activation_bytes(engine, size: int) -> int:
    """Bytes of every module output during a forward of ``size`` items: what autograd keeps for backward (an
    underestimate: outputs of plain functions are not seen), used to size the probe batch and where the process's
    memory cannot be read."""
    import torch

    seen = []

    def hook(_module, _inputs, output):
        if isinstance(output, torch.Tensor):
            seen.append(output.numel() * output.element_size())

    handles = [m.register_forward_hook(hook) for model in engine.models.values() for m in model.modules()]
    try:
        positions = engine.sampler.next()[:size]
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
