"""The training loop every family shares (see recipe_base.py for the part a family writes).

Per step: take this rank's item positions from the seeded sampler, split them into micro-batches, and for
each phase of the recipe run forward/backward under autocast (gradients accumulated, scaled by each
micro-batch's share of the batch so the result equals one big batch), check the loss is finite, unscale,
clip, step the optimizer; then update EMA weights and let the callbacks log, evaluate, preview, checkpoint
and decide on early stopping.

Failures, in the order a user meets them:
- a NaN/inf loss restores the last good checkpoint (kept in memory as CPU tensors), halves the learning
  rate and goes on — up to :data:`MAX_NAN_RETRIES` times, then stops with the reason;
- ``torch.OutOfMemoryError`` halves the micro-batch (the effective batch stays, by accumulation) and
  retries the same step;
- a full disk while saving stops the run; the half-written checkpoint is removed, the previous one is intact.

Reproducibility: a step consumes randomness only from the sampler (a pure function of seed and epoch) and
the global generators, which are saved with every checkpoint; evaluation and previews run inside
``fork_rng`` so *when* they happen never changes training. On the CPU, N steps straight and k + resume +
(N - k) give bit-identical weights.

Time: evaluations, previews, checkpoint saves and NaN rollbacks are timed apart from the steps
(:class:`SideWork`, ``engine.side_work``), so the Reporter's ETA counts seconds per *training* step and adds
the occasional work at its own measured cost instead of smearing it over the steps.

Per-step cost (nanoGPT's CPU Shakespeare model, 0.8 M parameters, ~30-70 ms a step on this project's 2-core
test machine): the loop's own Python — sampler, schedule, callbacks, the finite-loss check (on the CPU a
read, not a device sync) — measured under 0.1 ms a step with cProfile over 100 steps; the step is the model's
matmuls (~65 %), attention, GELU and the optimizer. What the engine does about the rest: AdamW fused on the
CPU too (recipe_base.adamw), no scaling ops when a step is one micro-batch, and :func:`_keep_freed_memory`.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import logging
import math
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import torch
from torch import nn

from studio.core import words
from studio.core.jobs import Cancelled, JobContext, JobError
from studio.core.training import checkpoints
from studio.core.training.data import EpochSampler
from studio.core.training.distributed import DistInfo, any_rank
from studio.core.training.recipe_base import Recipe
from studio.core.training.schedule import Schedule

log = logging.getLogger(__name__)

MAX_NAN_RETRIES = 3
NAN_LR_FACTOR = 0.5
# glibc malloc settings while training on the CPU (see _keep_freed_memory): blocks up to 8 MiB come from the
# heap, and up to 64 MiB of free heap top stays mapped between steps. Larger values (32 / 256 MiB) removed no
# more page faults and raised the estimator's peak memory for the GPT's largest CPU preset by ~20 MiB; these
# lowered it (207-212 MiB above idle against 227-232 MiB with glibc's defaults, 3 runs each).
MMAP_THRESHOLD_BYTES = 8 << 20
TRIM_THRESHOLD_BYTES = 64 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameter numbers from glibc's malloc.h
_allocator_tuned = False


class NonFiniteLoss(Exception):
    """Internal: a phase's loss was NaN or infinite (on any rank)."""


@dataclass
class EngineState:
    """Counters that checkpoints carry besides models, optimizers and RNGs."""

    step: int = 0
    micro_batch: int = 0
    nan_retries: int = 0
    elapsed_s: float = 0.0  # training wall time over all sessions of the run
    best_metric: float | None = None  # best validation value seen (early stopping)
    evals_since_best: int = 0
    best_checkpoint_step: int | None = None
    best_checkpoint_metric: float | None = None
    last_metrics: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {key: value for key, value in self.__dict__.items()}


def precision_settings(choice: str, device: torch.device) -> tuple[torch.dtype | None, bool]:
    """(autocast dtype or None for fp32, whether a grad scaler is needed). bf16 needs no scaler: same range as fp32."""
    if device.type != "cuda" or choice == "fp32":
        return None, False
    if choice == "bf16" or (choice == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16, False
    return torch.float16, True


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _keep_freed_memory() -> None:
    """Keep the step's freed activations and gradients in the process's heap (Linux glibc; elsewhere nothing).

    Why: glibc hands large freed blocks back to the kernel (unmapped, or trimmed off the heap's top), so CPU
    steps kept mapping their activations and gradients afresh and the kernel zeroed every new page: for
    nanoGPT's CPU Shakespeare model, 500-1,800 minor page faults a step (2-7 MB), against 4-11 with these
    settings, and the kernel time per step fell from ~3.2 to ~2.1 ms (two torch threads, 3 alternating processes
    each way, 2026-12; on ~35 ms steps). The cost: up to :data:`TRIM_THRESHOLD_BYTES` of freed memory stays with
    the process. Results are unchanged: this only decides where memory comes from. Done once per process, when
    the first CPU engine is built.
    """
    global _allocator_tuned
    if _allocator_tuned or not sys.platform.startswith("linux"):
        return
    _allocator_tuned = True
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl, a frozen build without it): keep the default
        return
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)


class SideWork:
    """Seconds spent beside the training steps, per kind ("evaluation", "preview", "checkpoint", "rollback").

    ``total_s`` only grows, so a reader takes differences between two moments: the Reporter subtracts what was
    done beside the steps from the wall time between two step ends, and prices the evaluations, previews and
    saves still to come at their mean cost so far (:meth:`mean_s`). Nested timings count once in ``total_s``.
    """

    def __init__(self) -> None:
        self.total_s = 0.0
        self._seconds: dict[str, float] = {}
        self._counts: dict[str, int] = {}
        self._depth = 0

    @contextlib.contextmanager
    def timed(self, kind: str):
        started = time.perf_counter()
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            seconds = time.perf_counter() - started
            self._seconds[kind] = self._seconds.get(kind, 0.0) + seconds
            self._counts[kind] = self._counts.get(kind, 0) + 1
            if self._depth == 0:
                self.total_s += seconds

    def mean_s(self, kind: str) -> float | None:
        """Mean seconds of one ``kind`` so far (this session), or None before the first."""
        count = self._counts.get(kind, 0)
        return self._seconds[kind] / count if count else None


@dataclass
class _StepInProgress:
    """One training step while its phases run: a retry after running out of memory resumes at the phase
    that failed, so an optimizer that already stepped (a GAN's discriminator) does not step twice."""

    positions: np.ndarray
    phases_done: int = 0
    logs: dict = field(default_factory=dict)


class Engine:
    """Trains one recipe. ``run_folder`` None = in memory only (the estimate uses that)."""

    def __init__(
        self,
        recipe: Recipe,
        config: dict,
        device: torch.device,
        ctx: JobContext | None = None,
        dist_info: DistInfo | None = None,
        run_folder: Path | None = None,
        meta: dict | None = None,
        callbacks: list | None = None,
    ) -> None:
        self.recipe, self.config, self.device = recipe, config, device
        self.ctx = ctx or JobContext()
        self.dist = dist_info or DistInfo()
        self.run_folder = run_folder
        self.meta = meta or {}  # family, dataset, config record for checkpoint .json files
        self.callbacks = callbacks or []
        self.total_steps = int(config["steps"])
        self.state = EngineState(micro_batch=int(config["micro_batch"]) or int(config["batch_size"]))
        self.last_good: checkpoints.Snapshot | None = None
        self.last_checkpoint: Path | None = None
        self.stop_reason: str | None = None  # set by a callback (early stopping) to end the loop
        self.step_values: dict = {}
        self.last_logs: dict = {}
        self._requests: set[str] = set()
        self._lock = threading.Lock()
        self._session_start = time.perf_counter()
        self._elapsed_at_start = 0.0
        self.side_work = SideWork()  # evaluation, preview, checkpoint and rollback time, apart from the steps
        self._build()

    # -- construction ---------------------------------------------------------------------------------------
    def _build(self) -> None:
        if self.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True  # TF32 matmuls: ~8x the fp32 rate, same curves
            torch.backends.cudnn.allow_tf32 = True
        if self.device.type == "cpu":
            _keep_freed_memory()
        seed_everything(int(self.config["seed"]))
        self.models: dict[str, nn.Module] = {
            name: model.to(self.device) for name, model in self.recipe.build_models().items()
        }
        self.optimizers = self.recipe.build_optimizers(self.models)
        self.phases = self.recipe.phases()
        self.ema: dict[str, nn.Module] = {}
        if self.config["ema"]:
            self.ema = {
                name: copy.deepcopy(self.models[name]).requires_grad_(False) for name in self.recipe.ema_models()
            }
        self.schedule = Schedule(
            self.optimizers, self.total_steps, int(self.config["warmup_steps"]), float(self.config["min_lr_ratio"])
        )
        self.autocast_dtype, scaled = precision_settings(self.config["precision"], self.device)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=scaled)
        self.sampler = EpochSampler(
            self.recipe.train_size(),
            int(self.config["batch_size"]),
            int(self.config["seed"]),
            self.dist.rank,
            self.dist.world_size,
        )
        self.train_models = self._wrap_models()

    def _wrap_models(self) -> dict[str, nn.Module]:
        """What the loss functions call: optionally compiled, DDP-wrapped when several processes train."""
        wrapped = {}
        for name, model in self.models.items():
            module = model
            if self.dist.enabled and any(p.requires_grad for p in model.parameters()):
                from torch.nn.parallel import DistributedDataParallel

                ids = [self.device.index] if self.device.type == "cuda" else None
                module = DistributedDataParallel(module, device_ids=ids)
            if self.config["compile"]:  # compile outside DDP, as PyTorch recommends (it then sees the buckets)
                module = cast(nn.Module, torch.compile(module))  # an OptimizedModule: still a Module
            wrapped[name] = module
        return wrapped

    # -- snapshots ------------------------------------------------------------------------------------------
    def snapshot(self) -> checkpoints.Snapshot:
        """The complete training state as CPU tensors (clones: training goes on mutating the originals)."""
        weights = {}
        for name, model in self.models.items():
            weights.update(
                {f"{name}.{k}": v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}
            )
        for name, model in self.ema.items():
            weights.update(
                {f"ema.{name}.{k}": v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}
            )
        self.state.elapsed_s = self.elapsed_s
        state = {
            "step": self.state.step,
            "optimizers": {name: _cpu(opt.state_dict()) for name, opt in self.optimizers.items()},
            "schedule": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict(),
            "sampler": self.sampler.state_dict(),
            "rng": checkpoints.capture_rng(),
            "engine": _plain(self.state.to_dict()),
        }
        meta = {
            "step": self.state.step,
            "epoch": self.sampler.epoch_float,
            "metrics": dict(self.state.last_metrics),
            "config": self.config,
            "family": self.meta.get("family", self.recipe.family),
            "dataset": self.meta.get("dataset", ""),
            "created": checkpoints.now(),
            "best": False,
        }
        return checkpoints.Snapshot(self.state.step, weights, state, meta)

    def restore(self, snap: checkpoints.Snapshot, keep_retries: bool = False) -> None:
        """Put every model, optimizer, counter and random stream back to ``snap``."""
        for name, model in self.models.items():
            model.load_state_dict({k[len(name) + 1 :]: v for k, v in snap.weights.items() if k.startswith(name + ".")})
        for name, model in self.ema.items():
            prefix = f"ema.{name}."
            ema_weights = {k[len(prefix) :]: v for k, v in snap.weights.items() if k.startswith(prefix)}
            if ema_weights:
                model.load_state_dict(ema_weights)
            else:  # resuming a run that had EMA off: start the average at the current weights
                model.load_state_dict(self.models[name].state_dict())
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(_cpu(snap.state["optimizers"][name]))  # a copy: last_good must stay intact
        self.schedule.load_state_dict(snap.state["schedule"])
        if snap.state.get("scaler") and self.scaler.is_enabled():
            self.scaler.load_state_dict(snap.state["scaler"])
        self.sampler.load_state_dict(snap.state["sampler"])
        checkpoints.restore_rng(snap.state["rng"])
        retries = self.state.nan_retries
        saved = snap.state["engine"]
        self.state = EngineState(**{k: saved[k] for k in EngineState.__dataclass_fields__ if k in saved})
        self.state.step = int(snap.state["step"])
        if keep_retries:
            self.state.nan_retries = retries
        self._elapsed_at_start, self._session_start = self.state.elapsed_s, time.perf_counter()

    def resume_from(self, record: Path) -> None:
        """Restore the checkpoint ``record``; :class:`checkpoints.DamagedCheckpoint` when its files cannot be
        read or do not fit this run (weights of another shape, state missing a part). A failed restore may
        leave the engine half-restored: the caller then restores another checkpoint (which sets everything)
        or gives up."""
        record = Path(record)
        snap = checkpoints.read(record)
        try:
            self.restore(snap)
        except (KeyError, IndexError, TypeError, ValueError, RuntimeError) as exc:
            log.info("Checkpoint %s does not fit this run", record, exc_info=True)
            weights = "state_dict" in str(exc)  # load_state_dict: "Error(s) in loading state_dict for …"
            file = record.with_suffix(".safetensors" if weights else ".state.pt")
            raise checkpoints.DamagedCheckpoint(snap.step, file, "does not fit this run's model") from None
        self.last_good, self.last_checkpoint = snap, record

    @property
    def elapsed_s(self) -> float:
        return self._elapsed_at_start + (time.perf_counter() - self._session_start)

    # -- the loop -------------------------------------------------------------------------------------------
    def request(self, action: str) -> None:
        """Thread-safe: "checkpoint" (Save now) or "sample" (Sample now), done at the next step boundary."""
        if action not in ("checkpoint", "sample"):
            raise ValueError(f"Unknown training request {action!r}.")
        with self._lock:
            self._requests.add(action)

    def take_request(self, action: str) -> bool:
        with self._lock:
            if action in self._requests:
                self._requests.discard(action)
                return True
        return False

    def run(self) -> None:
        """Train until ``total_steps`` or a stop; Cancelled propagates after the callbacks saved the run."""
        if self.last_good is None:
            self.last_good = self.snapshot()  # the rollback point before the first checkpoint
        for callback in self.callbacks:
            callback.on_start(self)
        try:
            while self.state.step < self.total_steps and self.stop_reason is None:
                self._between_steps()
                self.train_step()
                for callback in self.callbacks:
                    callback.on_step_end(self)
        except Cancelled:
            for callback in self.callbacks:
                callback.on_cancel(self)
            raise
        for callback in self.callbacks:
            callback.on_end(self)

    def _between_steps(self) -> None:
        """Pause and cancel are noticed here, once per step (ARCHITECTURE rule 2)."""
        if self.ctx.paused and not self.ctx.cancelled:
            for callback in self.callbacks:
                callback.on_pause(self)
            self.ctx.flush()  # a GUI context holds throttled reports back: send them now
            if self.device.type == "cuda":  # pause and free: give the GPU's cached memory back while waiting
                torch.cuda.empty_cache()
            paused_at = time.perf_counter()
            # wait here rather than inside ctx.check(), so the status heartbeat goes on while paused
            while self.ctx.paused and not self.ctx.cancelled:
                for callback in self.callbacks:
                    callback.while_paused(self)
                time.sleep(0.1)
            self._session_start += time.perf_counter() - paused_at  # a pause is not training time
            if not self.ctx.cancelled:
                for callback in self.callbacks:
                    callback.on_resume(self)
        self.ctx.check()

    def train_step(self) -> dict:
        """One optimizer step of every phase; handles NaN rollback and out-of-memory retries."""
        self.step_values = {}  # values callbacks add for this step (validation results)
        step = _StepInProgress(self.sampler.next())  # (batch_size,) positions into the training items
        while True:
            try:
                self._run_phases(step)
                break
            except NonFiniteLoss:
                self._roll_back()
                step = _StepInProgress(self.sampler.next())
            except torch.OutOfMemoryError:
                self._halve_micro_batch()  # then retry the phase that failed; the ones done stay done
        self.scaler.update()
        self._update_ema()
        self.state.step += 1
        self.last_logs = step.logs
        return step.logs

    def _run_phases(self, step: _StepInProgress) -> None:
        step.logs["lr"] = self.schedule.apply(self.state.step)
        positions = step.positions
        chunks = [positions[i : i + self.state.micro_batch] for i in range(0, len(positions), self.state.micro_batch)]
        batches = [self.recipe.load_batch(chunk) for chunk in chunks]
        for phase in self.phases[step.phases_done :]:
            optimizer = self.optimizers[phase.optimizer]
            optimizer.zero_grad(set_to_none=True)
            total: torch.Tensor | None = None
            logs: dict = {}
            for index, (chunk, batch) in enumerate(zip(chunks, batches, strict=True)):
                share = len(chunk) / len(positions)  # micro-batches of unequal size still average exactly
                with self._no_sync(last=index == len(chunks) - 1), self._autocast():
                    loss, values = phase.loss(self.train_models, batch)
                self.scaler.scale(_weighted(loss, share)).backward()
                part = _weighted(loss.detach().float(), share)
                total = part if total is None else total + part
                for key, value in values.items():
                    part = _weighted(torch.as_tensor(value).detach().float(), share)
                    logs[key] = part if key not in logs else logs[key] + part
            assert total is not None  # a step has at least one micro-batch
            if any_rank(self.dist, not bool(torch.isfinite(total)), self.device):
                optimizer.zero_grad(set_to_none=True)
                raise NonFiniteLoss()
            self.scaler.unscale_(optimizer)
            if self.config["grad_clip"] > 0:
                params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
                logs[f"grad_norm_{phase.optimizer}"] = torch.nn.utils.clip_grad_norm_(params, self.config["grad_clip"])
            self.scaler.step(optimizer)
            step.logs.update(logs)
            step.phases_done += 1

    def _autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def _no_sync(self, last: bool):
        """DDP all-reduces gradients only on the last micro-batch of a step (not once per micro-batch)."""
        stack = contextlib.ExitStack()
        if not last:
            for module in self.train_models.values():
                if hasattr(module, "no_sync"):
                    stack.enter_context(module.no_sync())  # type: ignore[operator]  # DDP's (hasattr above)
        return stack

    @torch.no_grad()
    def _update_ema(self) -> None:
        decay = float(self.config["ema_decay"])
        for name, ema in self.ema.items():
            model = self.models[name]
            ema_params: list[torch.Tensor] = [p for p in ema.parameters()]
            params = [p.detach() for p in model.parameters()]
            torch._foreach_lerp_(ema_params, params, 1.0 - decay)  # ema += (1 - decay) * (param - ema)
            for ema_buffer, buffer in zip(ema.buffers(), model.buffers(), strict=True):
                ema_buffer.copy_(buffer)

    # -- failures -------------------------------------------------------------------------------------------
    def _roll_back(self) -> None:
        bad_step = self.state.step + 1
        retries = self.state.nan_retries + 1
        if retries > MAX_NAN_RETRIES:
            raise JobError(
                f"The loss became NaN at step {bad_step:,} again after {MAX_NAN_RETRIES} retries with "
                "lower learning rates, so the run stopped. Try a lower learning rate (lr) or a smaller "
                "batch, or check the dataset for broken items."
            )
        snap = self.last_good
        assert snap is not None  # run() takes one before the first step
        scale = self.schedule.scale  # lowered further on every retry, even when the snapshot predates the last
        with self.side_work.timed("rollback"):
            self.restore(snap, keep_retries=True)
        for callback in self.callbacks:
            callback.on_rollback(self)
        self.state.nan_retries = retries
        self.schedule.scale = scale * NAN_LR_FACTOR
        new_lr = float(self.config["lr"]) * self.schedule.scale
        self.event(
            f"The loss became NaN at step {bad_step:,}; the studio went back to step {snap.step:,} and "
            f"lowered the learning rate to {new_lr:.3g} (retry {retries} of {MAX_NAN_RETRIES})."
        )

    def _halve_micro_batch(self) -> None:
        for optimizer in self.optimizers.values():
            optimizer.zero_grad(set_to_none=True)
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        if self.state.micro_batch <= 1:
            raise JobError(
                "The model does not fit in the GPU's memory even one picture at a time. Choose a smaller "
                "model or resolution, or train on another device."
            )
        self.state.micro_batch = max(1, self.state.micro_batch // 2)
        steps = math.ceil(int(self.config["batch_size"]) / self.state.micro_batch)
        self.event(
            f"The GPU ran out of memory at step {self.state.step + 1:,}; the studio now processes "
            f"{words.count(self.state.micro_batch, 'item')} at a time in {words.count(steps, 'part')}, so each step "
            f"still learns from {words.count(int(self.config['batch_size']), 'item')}."
        )

    # -- reports used by callbacks --------------------------------------------------------------------------
    def event(self, text: str) -> None:
        """A plain-language notice for the panel's log (ctx.metrics with "event") and the log file."""
        log.info("%s", text)
        self.ctx.metrics({"step": self.state.step, "event": text})

    def eval_models(self) -> dict[str, nn.Module]:
        """EMA weights where kept (they evaluate and sample better), else the trained ones."""
        return {name: self.ema.get(name, model) for name, model in self.models.items()}

    def evaluate(self) -> dict[str, float]:
        with self.side_work.timed("evaluation"), _side_effect_free(self.device):
            models = self.eval_models()
            for model in models.values():
                model.eval()
            try:
                with self._autocast():
                    return {k: float(v) for k, v in self.recipe.evaluate(models).items()}
            finally:
                for model in self.models.values():
                    model.train()

    def make_preview(self, folder: Path) -> dict | None:
        with self.side_work.timed("preview"), _side_effect_free(self.device):
            models = self.eval_models()
            for model in models.values():
                model.eval()
            try:
                return self.recipe.preview(models, self.state.step, folder)
            finally:
                for model in self.models.values():
                    model.train()


def _weighted(value: torch.Tensor, share: float) -> torch.Tensor:
    """``value * share``, without the extra op (and its backward) when the step is one micro-batch: the same
    numbers, as ``x * 1.0`` and ``0 + x`` are exact."""
    return value if share == 1.0 else value * share


@contextlib.contextmanager
def _side_effect_free(device: torch.device):
    """Evaluation and previews must not move the training's random streams (see the module docstring)."""
    python, numpy = random.getstate(), np.random.get_state()
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        yield
    random.setstate(python)
    np.random.set_state(numpy)


def _cpu(value):
    """A copy of an optimizer state_dict with every tensor on the CPU (checkpoints must load anywhere)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().clone()
    if isinstance(value, dict):
        return {k: _cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cpu(v) for v in value)
    return value


def _plain(value):
    """Engine counters as weights_only-safe plain values (floats, ints, None, str, dicts)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, torch.Tensor):
        return float(value)
    return value
