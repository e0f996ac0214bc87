"""``TrainJob``: one training run as a Job — the Training panel, the CLI and torchrun all run this.

It resolves what to train (a new run from family + preset + overrides, or a resume of a run id, "latest"
or a checkpoint's .json), makes sure the dataset's cache exists (building it when needed), creates or
reopens the run folder, and hands the loop to :class:`studio.core.training.engine.Engine`.
"""

from __future__ import annotations

import importlib
import logging
import threading
from pathlib import Path

from studio.core.atomic import atomic_write_bytes, atomic_write_json
from studio.core.jobs import Cancelled, JobContext, JobError
from studio.core.training import recipes, runs
from studio.core.training.recipes import ConfigError

log = logging.getLogger(__name__)


class TrainJob:
    kind = "training"

    def __init__(self, project_root, dataset: str, family: str, preset: str | None = "balanced",
                 overrides: dict | None = None, steps: int | None = None, checkpoint_every: int | None = None,
                 resume: str | None = None, device: str | None = None, cpu_threads: int | None = None) -> None:
        self.project_root = Path(project_root).expanduser().resolve()
        self.dataset, self.family, self.preset = dataset, family, preset
        self.overrides = dict(overrides or {})
        if steps is not None:
            self.overrides["steps"] = steps
        if checkpoint_every is not None:
            self.overrides["checkpoint_every"] = checkpoint_every
        self.resume = resume
        self.device = device
        self.cpu_threads = cpu_threads  # torch threads on a CPU; the GUI leaves a core to the window
        self.run_id: str | None = None
        self.run_folder: Path | None = None
        self.engine = None
        self.title = f"Training {family} on {dataset}"
        self._pending: list[str] = []
        self._lock = threading.Lock()

    # -- control ------------------------------------------------------------------------------------------
    def request(self, action: str) -> None:
        """Thread-safe "checkpoint" (Save now) or "sample" (Sample now), done at the next step boundary."""
        if action not in ("checkpoint", "sample"):
            raise ValueError(f"Unknown training request {action!r}.")
        with self._lock:
            if self.engine is not None:
                self.engine.request(action)
            else:
                self._pending.append(action)

    # -- planning (no torch) --------------------------------------------------------------------------------
    def validate(self) -> None:
        """Refuse unusable arguments early with a plain message (:class:`ConfigError`; the CLI exits 2)."""
        from studio.core.datasets.importer import dataset_folder
        from studio.core.datasets.manifest import Manifest

        spec = recipes.spec(self.family)
        folder = dataset_folder(self.project_root, self.dataset)
        if not (folder / "manifest.json").is_file():
            raise ConfigError(f"There is no dataset “{self.dataset}” in {self.project_root}.")
        kind = Manifest.load(folder).kind
        if kind not in spec.info.kinds:
            raise ConfigError(f"{spec.info.title} trains on {' or '.join(spec.info.kinds)} datasets; "
                              f"“{self.dataset}” holds {kind} files.")
        if self.resume is None:
            recipes.resolve_config(self.family, self.preset, self.overrides)
        else:
            self.resume_point()

    def resume_point(self) -> tuple[Path, Path]:
        """(run folder, checkpoint .json) that ``resume`` names; ConfigError when there is none.

        A run id or "latest" resumes from the run's newest checkpoint ("latest": the newest run of this
        family on this dataset that has one). A checkpoint's .json ("Resume from here") continues the same
        run from that step: later checkpoints and log lines are dropped, as that part of the run is redone.
        """
        value = str(self.resume)
        if value.endswith(".json"):
            record = Path(value).expanduser().resolve()
            if not record.is_file():
                raise ConfigError(f"The checkpoint {record} does not exist.")
            return record.parent.parent, record
        if value == "latest":
            candidates = [run for run in runs.list_runs(self.project_root)
                          if run.family == self.family and run.dataset == self.dataset and runs.checkpoints(run.folder)]
            if not candidates:
                raise ConfigError(f"There is no earlier {self.family} run on “{self.dataset}” with a checkpoint "
                                  "to resume.")
            folder = candidates[0].folder
        else:
            folder = self.project_root / runs.RUNS / value
            if not (folder / "config.json").is_file():
                raise ConfigError(f"There is no run “{value}” in {self.project_root}.")
        saved = runs.checkpoints(folder)
        if not saved:
            raise ConfigError(f"The run {folder.name} has no checkpoint to resume from.")
        return folder, saved[-1].path_json

    def _config(self, resume_folder: Path | None) -> tuple[dict, dict]:
        """(config, run record). A resume keeps the run's own config; overrides (e.g. more steps) apply on top."""
        if resume_folder is None:
            config = recipes.resolve_config(self.family, self.preset, self.overrides)
            return config, {"family": self.family, "dataset": self.dataset, "preset": self.preset}
        record = runs.read_config(resume_folder)
        config = dict(record["config"])
        for key, value in self.overrides.items():
            if key not in config:
                raise ConfigError(f"“{key}” is not a setting of {record['family']}.")
            config[key] = recipes.coerce(key, value, config[key])
        recipes.check_config(config)
        return config, record

    # -- the run ------------------------------------------------------------------------------------------
    def __call__(self, ctx: JobContext) -> dict:
        import torch

        from studio.core.training import distributed
        from studio.core.training.devices import resolve_device, torch_threads

        importlib.import_module("studio.core.training.engine")  # loaded before the freeze below
        _freeze_long_lived_objects()
        device = torch.device(resolve_device(self.device).id)
        info, device = distributed.setup(device)
        threads = self.cpu_threads if device.type == "cpu" and not info.enabled else None
        try:
            with torch_threads(threads):
                return self._train(ctx, info, device)
        finally:
            distributed.shutdown(info)

    def _train(self, ctx: JobContext, info, device) -> dict:
        from studio.core.training import distributed

        self.validate()
        resume_folder, record_path = self.resume_point() if self.resume is not None else (None, None)
        config, record = self._config(resume_folder)
        recipe_class = recipes.load_recipe_class(record["family"])
        data = self._open_data(recipe_class, config, ctx, info)
        recipe = recipe_class(config, data, device)
        if info.is_main:
            folder = resume_folder or self._new_run_folder(config, record, device, recipe)
        folder = Path(distributed.broadcast(info, str(folder) if info.is_main else None))
        self.run_folder, self.run_id = folder, folder.name
        if info.is_main and resume_folder is not None:
            atomic_write_json(folder / "config.json", {**runs.read_config(folder), "config": config})
        engine = self._engine(recipe, config, record, device, ctx, info, folder)
        if record_path is not None:
            engine.resume_from(record_path)
            if info.is_main:
                from studio.core.training.checkpoints import discard_after

                runs.MetricsLog(folder).truncate_after(engine.state.step)
                discard_after(folder / "checkpoints", engine.state.step)
                engine.event(f"Resumed from step {engine.state.step:,}.")
        try:
            engine.run()
        except Cancelled:
            raise
        except BaseException as exc:
            if info.is_main:
                self._record_failure(engine, exc)
            raise
        return self._result(engine)

    def _open_data(self, recipe_class, config: dict, ctx: JobContext, info):
        """Rank 0 builds a missing or stale cache; the other ranks wait, then open it."""
        from studio.core.datasets.importer import dataset_folder
        from studio.core.training import distributed

        folder = dataset_folder(self.project_root, self.dataset)
        if info.is_main:
            recipe_class.prepare_data(folder, config, ctx)
        distributed.barrier(info)
        return recipe_class.open_data(folder, config)

    def _new_run_folder(self, config: dict, record: dict, device, recipe) -> Path:
        run_id, folder = runs.create_run_folder(self.project_root, self.family, {
            "family": self.family, "dataset": self.dataset, "preset": self.preset, "config": config,
            "model": recipe.describe(), "seed": config["seed"], "device": str(device), "created": runs.created_now()})
        for name, data in recipe.run_files().items():
            atomic_write_bytes(folder / name, data)
        _add_run_to_project(self.project_root, run_id)
        return folder

    def _engine(self, recipe, config: dict, record: dict, device, ctx: JobContext, info, folder: Path):
        from studio.core.training import callbacks
        from studio.core.training.engine import Engine

        hooks = [callbacks.Evaluator(), callbacks.Reporter(folder if info.is_main else None)]
        if info.is_main:
            hooks.append(callbacks.Previewer(folder))
        hooks.append(callbacks.Checkpointer(folder, info.is_main))
        if info.is_main:
            hooks.append(callbacks.StatusWriter(folder))
        meta = {"family": record["family"], "dataset": record["dataset"]}
        with self._lock:
            self.engine = Engine(recipe, config, device, ctx, info, folder, meta, hooks)
            for action in self._pending:
                self.engine.request(action)
            self._pending.clear()
        return self.engine

    def _record_failure(self, engine, exc: BaseException) -> None:
        from studio.core.errors import describe_error
        from studio.core.training.callbacks import DiskFull

        state = "stopped" if isinstance(exc, DiskFull) else "failed"
        try:
            runs.write_status(self.run_folder, state=state, step=engine.state.step,
                              message=describe_error(exc, "Training"))
        except OSError:
            log.warning("Could not record the run's failure in status.json", exc_info=True)

    def _result(self, engine) -> dict:
        best = engine.state.best_checkpoint_step
        folder = self.run_folder / "checkpoints"
        return {"run_id": self.run_id, "step": engine.state.step, "status": "finished",
                "checkpoint": str(engine.last_checkpoint) if engine.last_checkpoint else None,
                "best_checkpoint": str(folder / f"step-{best:06d}.json") if best is not None else None,
                "metrics": dict(engine.state.last_metrics)}


def _freeze_long_lived_objects() -> None:
    """Move every object alive now (torch's modules, classes and functions: hundreds of thousands) out of
    the garbage collector's reach with ``gc.freeze()``.

    Why: the training loop allocates steadily, which now and then triggers a full collection; walking all of
    torch's objects then holds the GIL for ~120 ms, and the GUI thread freezes for that long (measured on a
    2-core CPU). Frozen objects are never collected, which costs nothing for modules that live as long as
    the process anyway.
    """
    import gc

    gc.freeze()


def _add_run_to_project(project_root: Path, run_id: str) -> None:
    """List the run in project.json (the folder scan in runs.list_runs stays the source of truth)."""
    from studio.core.project import is_project, open_project

    if not is_project(project_root):
        return
    try:
        project = open_project(project_root)
        project.runs.append(run_id)
        project.save()
    except (JobError, OSError):
        log.warning("Could not list run %s in project.json", run_id, exc_info=True)
