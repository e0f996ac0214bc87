"""The Training panel's adapter to ``studio.core.training`` (:class:`~studio.ui.backends.contracts.
TrainingContract`), and the small jobs that use it off the GUI thread.

Why an adapter: the engine imports torch (1–2 s), so nothing here imports it at module level and every call that
might (estimates, the engine's warm-up, reading runs) happens inside a job started through the registry, on its
own thread. The panel only sees plain dicts and numpy arrays: the family table's records, run and checkpoint
summaries become the contract's dicts here (:func:`family_info`, :func:`run_info`, :func:`checkpoint_info`).
Tests hand the panel a fake engine with the same contract, so the panel is exercised without training a model.
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from studio.core.datasets.importer import dataset_folder
from studio.core.jobs import Cancelled, JobContext, JobError
from studio.core.torch_loading import collection_paused, import_torch
from studio.core.training import TrainJob, estimation, planning, runs, suggest
from studio.core.training import families as family_table
from studio.core.training.devices import threads_beside_a_window
from studio.core.training.families import FamilySpec
from studio.core.training.runs import CheckpointInfo, RunInfo
from studio.ui.backends.contracts import FamilyInfo, RunPreviews, TrainingContract


def family_info(spec: FamilySpec) -> FamilyInfo:
    """A family as the Training panel lists it."""
    return FamilyInfo(
        family=spec.id,
        title=spec.title,
        kinds=spec.kinds,
        description=spec.description,
        resolutions=spec.resolutions,
        panel=spec.panel,
        preview=spec.preview,
    )


def run_info(run: RunInfo) -> dict:
    """A run as the run list shows it (its folder as text)."""
    return {
        "run_id": run.run_id,
        "folder": str(run.folder),
        "family": run.family,
        "dataset": run.dataset,
        "state": run.state,
        "step": run.step,
        "total_steps": run.total_steps,
        "created": run.created,
        "interrupted": run.interrupted,
        "name": run.name,
    }


def accepts(function: Callable, keyword: str) -> bool:
    """Whether ``function`` takes the keyword argument ``keyword`` (by name or through ``**kwargs``).

    The real backend's estimate takes ``ctx`` (a cancel then stops it within a step) and ``preset``/``overrides``
    (the run's own plan); a test fake without them is still called, and its estimate is then only cancelled between
    presets."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == keyword or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def checkpoint_info(checkpoint: CheckpointInfo) -> dict:
    """A checkpoint as the checkpoint list shows it (its files as text)."""
    return {
        "step": checkpoint.step,
        "path_json": str(checkpoint.path_json),
        "path_weights": str(checkpoint.path_weights),
        "metrics": dict(checkpoint.metrics),
        "best": checkpoint.best,
        "created": checkpoint.created,
    }


class TrainingBackend:
    """The real engine (``studio.core.training``). Every method may import torch: call them in jobs."""

    def available(self) -> bool:
        return all(
            importlib.util.find_spec(f"studio.core.training.{m}") is not None
            for m in ("job", "engine", "estimation", "families", "runs")
        )

    def families(self) -> list[FamilyInfo]:
        return [family_info(spec) for spec in family_table.available()]

    def presets(self, family: str) -> dict[str, dict]:
        return family_table.presets(family)

    def default_config(self, family: str) -> dict:
        return family_table.default_config(family)

    def estimate(
        self,
        root: Path,
        dataset: str,
        family: str,
        config: dict,
        device: str | None,
        ctx: JobContext | None = None,
        preset: str | None = None,
        overrides: dict | None = None,
    ) -> dict:
        """``{"seconds", "memory_bytes", "steps", ...}``; imports torch when it runs.

        With ``preset`` (and the user's ``overrides``), the answer is that of the run Start would begin: the plan
        (:func:`planning.plan`) sizes the preset for the device and cuts its steps to its time cap, and the result
        carries that ``config``. ``ctx`` reaches the estimator, so the job's cancel (a newer request, the panel
        hidden, quitting) stops it mid-way; it measures with the threads a run started here gets
        (:func:`threads_beside_a_window`), so the time is the run's."""
        threads = threads_beside_a_window()
        if preset is not None:
            made = planning.plan(root, dataset, family, preset, overrides, device, ctx=ctx, cpu_threads=threads)
            return {**made.estimate, "config": made.config}
        return estimation.estimate(root, dataset, family, config, device, ctx=ctx, cpu_threads=threads)

    def train_job(
        self,
        root: Path,
        dataset: str,
        family: str,
        preset: str,
        overrides: dict | None,
        resume: str | None,
        device: str | None,
    ):
        return TrainJob(
            root,
            dataset,
            family,
            preset=preset,
            overrides=overrides or None,
            resume=resume,
            device=device,
            cpu_threads=threads_beside_a_window(),
        )

    def warm_up(self) -> None:
        """Import the engine (and torch) now, in a job, so pressing Start later does not stall the window.

        The first optimizer a process builds imports torch._dynamo (hundreds of modules): done here too.
        """
        torch = import_torch()
        with collection_paused():
            import studio.core.training.engine  # noqa: F401

            torch.optim.AdamW([torch.zeros(1, requires_grad=True)])

    def list_runs(self, root: Path) -> list[dict]:
        return [run_info(r) for r in runs.list_runs(root)]

    def read_metrics(self, folder: Path) -> list[dict]:
        return runs.read_metrics(folder)

    def checkpoints(self, folder: Path) -> list[dict]:
        return [checkpoint_info(c) for c in runs.checkpoints(folder)]

    def previews(self, folder: Path) -> list[dict]:
        return runs.previews(folder)

    def export_metrics_csv(self, folder: Path, path: Path) -> None:
        runs.export_metrics_csv(folder, path)

    def rename_run(self, folder: Path, name: str) -> str:
        return runs.set_run_name(folder, name)


@runtime_checkable
class RunNaming(Protocol):
    """Optional beside the training contract: naming a run (its folder keeps its id; "" removes the name).
    A backend without it lists runs by date and model, and the run list offers no Rename."""

    def rename_run(self, folder: Path, name: str, /) -> str:
        """Store ``name`` for the run in ``folder``; returns the name as stored (cleaned to one short line)."""
        ...


class RenameJob:
    """Job: store a run's new name (a small atomic write, fsync'ed: not on the GUI thread)."""

    title = "Renaming the run"
    kind = "task"

    def __init__(self, backend: RunNaming, run_id: str, folder: Path, name: str) -> None:
        self.backend, self.run_id, self.folder, self.name = backend, run_id, folder, name

    def __call__(self, ctx: JobContext) -> dict:
        return {"run_id": self.run_id, "name": self.backend.rename_run(self.folder, self.name)}


class CatalogJob:
    """Job: the model families with their presets and defaults, and the project's runs (newest first)."""

    title = "Reading models and past runs"
    kind = "task"

    def __init__(self, backend: TrainingContract, root: Path | None) -> None:
        self.backend, self.root = backend, root

    def __call__(self, ctx: JobContext) -> dict:
        if not self.backend.available():
            return {"available": False, "families": [], "presets": {}, "defaults": {}, "runs": []}
        families = self.backend.families()
        ctx.check()
        presets = {f["family"]: self.backend.presets(f["family"]) for f in families}
        defaults = {f["family"]: self.backend.default_config(f["family"]) for f in families}
        runs = self.backend.list_runs(self.root) if self.root is not None else []
        ctx.check()
        self.backend.warm_up()
        return {"available": True, "families": families, "presets": presets, "defaults": defaults, "runs": runs}


class RunsJob:
    """Job: the project's runs again (after a run ends or a project opens)."""

    title = "Reading past runs"
    kind = "task"

    def __init__(self, backend: TrainingContract, root: Path) -> None:
        self.backend, self.root = backend, root

    def __call__(self, ctx: JobContext) -> list[dict]:
        return self.backend.list_runs(self.root)


class EstimateJob:
    """Job: the time each preset would take on the device; each estimate is reported as it is known."""

    title = "Estimating training time"
    kind = "task"

    def __init__(
        self,
        backend: TrainingContract,
        root: Path,
        dataset: str,
        family: str,
        configs: dict[str, dict],
        device: str | None,
        overrides: dict | None = None,
    ) -> None:
        self.backend, self.root, self.dataset, self.family = backend, root, dataset, family
        self.configs, self.device, self.overrides = configs, device, dict(overrides or {})

    def __call__(self, ctx: JobContext) -> dict:
        results = {}
        extra: dict = {"ctx": ctx} if accepts(self.backend.estimate, "ctx") else {}
        planned = accepts(self.backend.estimate, "preset")  # the run's own plan, as Start would make it
        for key, config in self.configs.items():
            ctx.check()
            args = (self.root, self.dataset, self.family, config, self.device)
            if planned:
                extra.update(preset=key, overrides=self.overrides)
            try:
                estimate = dict(self.backend.estimate(*args, **extra))
            except Cancelled:
                raise
            except Exception as exc:  # noqa: BLE001 - an estimate that fails only leaves the time unknown
                estimate = {"error": str(exc)}
            results[key] = estimate
            ctx.metrics({"preset": key, **estimate})
        return {"dataset": self.dataset, "family": self.family, "estimates": results}


class SuggestJob:
    """Job: the family and settings that suit a dataset (:mod:`studio.core.training.suggest`), from its manifest and
    cache sidecars: a file read that may take a moment on a large dataset, so not on the GUI thread."""

    title = "Reading the dataset"
    kind = "task"

    def __init__(self, root: Path, dataset: str) -> None:
        self.root, self.dataset = root, dataset

    def __call__(self, ctx: JobContext) -> dict:
        try:
            facts = suggest.read_facts(dataset_folder(self.root, self.dataset))
        except JobError as exc:  # a damaged index: the Dataset panel says so; here the table's order stays
            return {"dataset": self.dataset, "family": None, "settings": {}, "reasons": [], "problem": str(exc)}
        suggestion = suggest.suggest(facts)
        return {
            "dataset": self.dataset,
            "family": suggestion.family,
            "settings": suggestion.settings,
            "reasons": list(suggestion.reasons),
            "facts": {"classes": facts.classes},  # what the dataset decides (setting_docs.fixed_by_data)
        }


def metric_columns(rows: list[dict]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """metrics.jsonl rows → key → (steps, values) as numpy arrays (done off the GUI thread)."""
    columns: dict[str, tuple[list, list]] = {}
    for row in rows:
        step = row.get("step")
        if not isinstance(step, (int, float)) or "event" in row:
            continue
        for key, value in row.items():
            if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
                xs, ys = columns.setdefault(key, ([], []))
                xs.append(step)
                ys.append(value)
    return {k: (np.asarray(xs, np.float64), np.asarray(ys, np.float64)) for k, (xs, ys) in columns.items()}


class HistoryJob:
    """Job: the curves, checkpoints and previews of a few past runs, read on demand (metrics files can be
    large); previews only with the curves, i.e. for the run being shown."""

    title = "Reading run history"
    kind = "task"

    def __init__(self, backend: TrainingContract, folders: dict[str, Path], with_metrics: bool = True) -> None:
        self.backend, self.folders, self.with_metrics = backend, folders, with_metrics

    def __call__(self, ctx: JobContext) -> dict:
        result = {}
        for run_id, folder in self.folders.items():
            ctx.check()
            columns = metric_columns(self.backend.read_metrics(folder)) if self.with_metrics else None
            result[run_id] = {"columns": columns, "checkpoints": self.backend.checkpoints(folder)}
            if self.with_metrics and isinstance(self.backend, RunPreviews):  # an optional part of the contract
                result[run_id]["previews"] = self.backend.previews(folder)
        return result


class ExportJob:
    """Job: one run's metrics as a CSV file."""

    title = "Exporting metrics"
    kind = "task"

    def __init__(self, backend: TrainingContract, folder: Path, path: Path) -> None:
        self.backend, self.folder, self.path = backend, folder, path

    def __call__(self, ctx: JobContext) -> str:
        self.backend.export_metrics_csv(self.folder, self.path)
        return str(self.path)
