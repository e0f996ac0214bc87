"""``TrainJob``: one training run as a Job — the Training panel, the CLI and torchrun all run this.

It resolves what to train (a new run from family + preset + overrides, or a resume of a run id, "latest"
or a checkpoint's .json inside the project's runs folder), makes sure the dataset's cache exists (building
it when needed), creates or reopens the run folder, and hands the loop to
:class:`studio.core.training.engine.Engine`.

One process trains a run at a time: the job takes the run's lock (:func:`runs.run_lock`) before it changes
anything in the run folder and keeps it until it ends, new run or resumed; a second job on the same run is
refused with one sentence naming the process that has it and how to stop that one. A resume by run id or
"latest" whose newest checkpoint is damaged goes back to the newest intact one and says which file was
damaged and which step it resumed from.
"""

from __future__ import annotations

import gc
import importlib
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from studio.core.atomic import atomic_write_bytes, atomic_write_json
from studio.core.datasets.importer import dataset_folder
from studio.core.datasets.manifest import Manifest
from studio.core.errors import describe_error
from studio.core.jobs import Cancelled, JobContext, JobError
from studio.core.locks import LockHeld, Owner
from studio.core.project import check_writable, is_project, update_project
from studio.core.safe_paths import resolve_inside
from studio.core.training import estimation, families, planning, runs
from studio.core.training.devices import resolve_device, torch_threads
from studio.core.training.families import ConfigError
from studio.core.untrusted import check_training_config

if TYPE_CHECKING:
    from studio.core.training.callbacks import Reporter  # imports torch: only when a run starts
    from studio.core.training.engine import Engine

log = logging.getLogger(__name__)

LEARN_AFTER_STEPS = 20  # a run shorter than this teaches the estimator nothing (its mean step is mostly warm-up)


class TrainJob:
    kind = "training"

    def __init__(
        self,
        project_root,
        dataset: str,
        family: str,
        preset: str | None = "balanced",
        overrides: dict | None = None,
        steps: int | None = None,
        checkpoint_every: int | None = None,
        resume: str | None = None,
        device: str | None = None,
        cpu_threads: int | None = None,
        budget_minutes: float | None = None,
    ) -> None:
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
        self.budget_minutes = budget_minutes  # "Best model in N minutes": sizes and steps from the budget
        if budget_minutes is not None and resume is not None:
            raise ConfigError("A time budget plans a new run; it cannot resume one (resume without it).")
        if budget_minutes is not None and not 0 < budget_minutes <= 7 * 24 * 60:
            raise ConfigError("The time budget must be more than 0 minutes and at most a week.")
        self.plan: dict = {}  # what planning.plan() chose: {"estimate": ..., "budget_s": ...} (a new run)
        self._started = 0.0
        self._reporter: Reporter | None = None  # the run's Reporter (its step time teaches the estimator at the end)
        self.run_id: str | None = None
        self.run_folder: Path | None = None
        self.engine: Engine | None = None
        self.title = f"Training {_display_name(family)} on “{dataset}”"
        self._pending: list[str] = []
        self._lock = threading.Lock()
        self._run_lock = None  # the run's ProcessLock while this job trains it

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
        try:
            check_writable(self.project_root)
        except JobError as exc:
            raise ConfigError(str(exc)) from None
        spec = families.spec(self.family)
        folder = dataset_folder(self.project_root, self.dataset)
        if not (folder / "manifest.json").is_file():
            raise ConfigError(f"There is no dataset “{self.dataset}” in {self.project_root}.")
        kind = Manifest.load(folder).kind
        if kind not in spec.kinds:
            raise ConfigError(
                f"{spec.title} trains on {' or '.join(spec.kinds)} datasets; “{self.dataset}” holds {kind} files."
            )
        if self.resume is None:
            families.resolve_config(self.family, self.preset, self.overrides)
        else:
            folder, _ = self.resume_point()
            try:
                self._config(folder)  # the run's own settings, bounded (it may come from someone else)
            except ConfigError:
                raise
            except JobError as exc:
                raise ConfigError(str(exc)) from None
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                raise ConfigError(
                    f"The settings of the run {folder.name} (its config.json) cannot be read: the "
                    "file is damaged, so the run cannot be resumed."
                ) from None

    def resume_point(self) -> tuple[Path, Path]:
        """(run folder, checkpoint .json) that ``resume`` names; ConfigError when there is none.

        A run id or "latest" resumes from the run's newest checkpoint ("latest": the newest run of this
        family on this dataset that has one). A checkpoint's .json ("Resume from here") continues the same
        run from that step: later checkpoints and log lines are dropped, as that part of the run is redone.
        The .json must lie in a run of this project (``<project>/runs/<run>/checkpoints/``): a path into
        another project would resume, and write into, that other project.
        """
        value = str(self.resume)
        if value.endswith(".json"):
            return self._checkpoint_path(value)
        if value == "latest":
            candidates = [
                run
                for run in runs.list_runs(self.project_root)
                if run.family == self.family and run.dataset == self.dataset and runs.checkpoint_records(run.folder)
            ]
            if not candidates:
                raise ConfigError(
                    f"There is no earlier {self.family} run on “{self.dataset}” with a checkpoint to resume."
                )
            folder = candidates[0].folder
        else:
            if not runs.is_run_id(value):
                raise ConfigError(
                    f"“{value}” is not a run id: --resume takes a run id, latest, or the .json of a "
                    f"checkpoint in {self.project_root / runs.RUNS}."
                )
            folder = self.project_root / runs.RUNS / value
            if not (folder / "config.json").is_file():
                raise ConfigError(f"There is no run “{value}” in {self.project_root}.")
        self._check_inside(folder, folder)
        saved = runs.checkpoint_records(folder)
        if not saved:
            raise ConfigError(f"The run {folder.name} has no checkpoint to resume from.")
        return folder, saved[0]

    def _checkpoint_path(self, value: str) -> tuple[Path, Path]:
        """A checkpoint .json given by path: absolute, relative to the working folder, or to the project."""
        given = Path(value).expanduser()
        if not given.is_absolute() and not given.exists() and (self.project_root / given).exists():
            given = self.project_root / given
        record = given.resolve()
        self._check_inside(record, given)
        if not record.is_file():
            raise ConfigError(f"The checkpoint {record} does not exist.")
        folder = record.parent.parent
        in_a_run = record.parent.name == "checkpoints" and (folder / "config.json").is_file()
        if not runs.is_checkpoint_record(record) or not in_a_run:
            raise ConfigError(f"{record} is not a checkpoint of a run (runs/<run>/checkpoints/step-N.json).")
        return folder, record

    def _check_inside(self, resolved: Path, given: Path) -> None:
        """Refuse a run folder or checkpoint that is not inside this project's runs folder (after following
        "..", and symlinks, which a run folder someone sent may contain)."""
        runs_root = (self.project_root / runs.RUNS).resolve()
        if resolve_inside(runs_root, resolved) is None:
            raise ConfigError(
                f"{given} is not inside this project's runs folder ({runs_root}), so it was not "
                "resumed: --resume takes a run id, latest, or a checkpoint of a run in --project."
            )

    def check_run_free(self) -> None:
        """ConfigError naming the process that trains the run to resume, if one does (the CLI asks before it
        loads torch; the real claim happens when the job runs)."""
        if self.resume is None:
            return
        folder, _record = self.resume_point()
        lock = runs.run_lock(folder)
        try:
            lock.acquire(wait_s=0.5)
        except LockHeld as held:
            raise ConfigError(run_in_use_message(folder.name, held.owner)) from None
        lock.release()

    def _claim_run(self, folder: Path) -> None:
        """Take the run's lock for the rest of this job (ConfigError naming the holder when it is taken).
        Waits a moment: another process may be probing it (check_run_free) just now."""
        lock = runs.run_lock(folder)
        try:
            lock.acquire(wait_s=2.0)
        except LockHeld as held:
            raise ConfigError(run_in_use_message(folder.name, held.owner)) from None
        self._run_lock = lock
        if lock.taken_over is not None:
            log.info("Run %s: took over the lock of %s, which has ended", folder.name, lock.taken_over.describe())

    def _release_run(self) -> None:
        lock, self._run_lock = self._run_lock, None
        if lock is not None:
            lock.release()

    def _config(self, resume_folder: Path) -> tuple[dict, dict]:
        """(config, run record) of a resumed run: its own config, with the overrides (e.g. more steps) on top."""

        record = runs.read_config(resume_folder)
        config = dict(record["config"])
        # a run folder someone sent: its sizes are checked before the recipe builds a network from them
        check_training_config(record["family"], config, resume_folder / "config.json")
        for key, value in self.overrides.items():
            if key not in config:
                raise ConfigError(f"“{key}” is not a setting of {record['family']}.")
            config[key] = families.coerce(key, value, config[key])
        families.check_config(config)
        return config, record

    # -- the run ------------------------------------------------------------------------------------------
    def __call__(self, ctx: JobContext) -> dict:
        import torch

        from studio.core.training import distributed  # imports torch: loaded when a run starts

        self._started = time.monotonic()  # a time budget counts from here
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
        try:
            return self._train_locked(ctx, info, device)
        finally:
            self._release_run()

    def _train_locked(self, ctx: JobContext, info, device) -> dict:
        from studio.core.training import distributed  # imports torch: loaded when a run starts

        self.validate()
        resume_folder, record_path = self.resume_point() if self.resume is not None else (None, None)
        if info.is_main and resume_folder is not None:
            self._claim_run(resume_folder)  # before anything in the run folder is read for the config or changed
        if resume_folder is None:
            config = self._plan(ctx, info, device)
            record: dict = {"family": self.family, "dataset": self.dataset, "preset": self.preset}
        else:
            config, record = self._config(resume_folder)
        recipe_class = families.load_recipe_class(record["family"])
        data = self._open_data(recipe_class, config, ctx, info)
        recipe = recipe_class(config, data, device)
        if info.is_main:
            folder = resume_folder or self._new_run_folder(config, record, device, recipe)
        folder = Path(distributed.broadcast(info, str(folder) if info.is_main else None))
        self.run_folder, self.run_id = folder, folder.name
        if info.is_main and resume_folder is not None:
            atomic_write_json(folder / "config.json", {**runs.read_config(folder), "config": config})
        engine = self._engine(recipe, config, record, device, ctx, info, folder)
        if self._run_lock is not None and self._run_lock.taken_over is not None:
            owner = self._run_lock.taken_over
            engine.event(
                f"The run was left locked by process {owner.pid} on {owner.host}, which has ended; this "
                "process took it over."
            )
        if record_path is not None:
            self._resume(engine, folder, record_path, info)
        try:
            engine.run()
        except Cancelled:
            raise
        except BaseException as exc:
            if info.is_main:
                self._record_failure(engine, folder, exc)
            raise
        if info.is_main:
            self._teach_the_estimator(engine, record["family"], config, device)
        return self._result(engine, folder)

    def _teach_the_estimator(self, engine, family: str, config: dict, device) -> None:
        """Hand this run's measured step, evaluation, preview and save times to the estimator's cache
        (:func:`estimation.learn`), so the next estimate of this size on this machine is what really happened.
        Only after enough steps to be a fair mean; a cache that cannot be written changes nothing."""
        import torch

        reporter = self._reporter
        if reporter is None or reporter.step_s is None or engine.state.step < LEARN_AFTER_STEPS:
            return
        side = engine.side_work
        observed = {
            "step_s": reporter.step_s,
            "eval_s": side.mean_s("evaluation"),
            "preview_s": side.mean_s("preview"),
            "save_s": side.mean_s("checkpoint"),
        }
        name = resolve_device(str(device)).name
        try:
            train_size = engine.recipe.train_size()
            estimation.learn(name, torch.get_num_threads(), family, config, train_size, observed)
        except (OSError, ValueError, TypeError):
            log.info("Could not update the estimator's costs from this run", exc_info=True)

    def _plan(self, ctx: JobContext, info, device) -> dict:
        """A new run's settings for this device (:func:`planning.plan`): the preset's sizes for it and, unless the
        steps were given, the steps that fit the preset's time cap or the budget. Rank 0 plans, the others follow."""
        from studio.core.training import distributed  # imports torch: loaded when a run starts

        plan = None
        if info.is_main:
            if self.budget_minutes is not None:
                ctx.progress(0.0, f"Planning the best model for {self.budget_minutes:g} minutes on this device")
            made = planning.plan(
                self.project_root,
                self.dataset,
                self.family,
                self.preset,
                self.overrides,
                str(device),
                budget_minutes=self.budget_minutes,
                ctx=ctx,
                cpu_threads=self.cpu_threads,
                estimate=False,
            )
            plan = {"config": made.config, "estimate": made.estimate, "budget_s": made.budget_s}
        self.plan = distributed.broadcast(info, plan)
        return dict(self.plan["config"])

    def _resume(self, engine, folder: Path, record_path: Path, info) -> None:
        """Restore the checkpoint to resume from. A run id or "latest" falls back from a damaged checkpoint to
        the newest intact one, and says so; a checkpoint named by its path is that one or none."""
        # imports torch: loaded when a run starts
        from studio.core.training.checkpoints import DamagedCheckpoint, discard_after

        explicit = str(self.resume).endswith(".json")
        candidates = [record_path] if explicit else runs.checkpoint_records(folder)
        damaged: list[DamagedCheckpoint] = []
        for record in candidates:
            try:
                engine.resume_from(record)
                break
            except DamagedCheckpoint as exc:
                if explicit:
                    raise JobError(f"{exc} It was not resumed from; choose an earlier checkpoint.") from None
                damaged.append(exc)
        else:
            first = damaged[0] if damaged else None
            where = f" (the newest: {first.file.name} {first.reason})" if first else ""
            raise JobError(
                f"Every checkpoint of the run {folder.name} is damaged{where}, so it cannot be "
                "resumed; start a new run."
            )
        step = engine.state.step
        for skipped in damaged:
            engine.event(
                f"The checkpoint at step {skipped.step:,} is damaged ({skipped.file.name} {skipped.reason}); "
                f"resumed from step {step:,}."
            )
        if info.is_main:
            runs.MetricsLog(folder).truncate_after(step)
            discard_after(folder / "checkpoints", step)  # the damaged ones too: "latest" must not point at them
        engine.event(f"Resumed from step {step:,}.")

    def _open_data(self, recipe_class, config: dict, ctx: JobContext, info):
        """Rank 0 builds a missing or stale cache; the other ranks wait, then open it."""
        from studio.core.training import distributed  # imports torch: loaded when a run starts

        folder = dataset_folder(self.project_root, self.dataset)
        if info.is_main:
            recipe_class.prepare_data(folder, config, ctx)
        distributed.barrier(info)
        return recipe_class.open_data(folder, config)

    def _new_run_folder(self, config: dict, record: dict, device, recipe) -> Path:
        run_id, folder = runs.create_run_folder(
            self.project_root,
            self.family,
            {
                "family": self.family,
                "dataset": self.dataset,
                "preset": self.preset,
                **({"budget_minutes": self.budget_minutes} if self.budget_minutes is not None else {}),
                "config": config,
                "model": recipe.describe(),
                "seed": config["seed"],
                "device": str(device),
                "created": runs.created_now(),
            },
        )
        self._claim_run(folder)  # nobody can know the new folder yet: this cannot be refused
        for name, data in recipe.run_files().items():
            atomic_write_bytes(folder / name, data)
        _add_run_to_project(self.project_root, run_id)
        return folder

    def _engine(self, recipe, config: dict, record: dict, device, ctx: JobContext, info, folder: Path):
        from studio.core.training import callbacks  # imports torch: loaded when a run starts
        from studio.core.training.engine import Engine  # imports torch (as above)

        hooks: list = []
        if self.plan.get("budget_s"):
            from studio.core.training.deadline import Deadline  # imports torch (as above)

            parts = self.plan["estimate"]
            reserve = parts["eval_seconds"] + parts["preview_seconds"] + parts["save_seconds"]
            hooks.append(Deadline(self.plan["budget_s"], self._started, reserve))
        self._reporter = callbacks.Reporter(folder if info.is_main else None)
        hooks += [callbacks.Evaluator(), self._reporter]
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

    def _record_failure(self, engine, folder: Path, exc: BaseException) -> None:
        from studio.core.training.callbacks import DiskFull  # imports torch: loaded when a run starts

        state = "stopped" if isinstance(exc, DiskFull) else "failed"
        try:
            runs.write_status(folder, state=state, step=engine.state.step, message=describe_error(exc, "Training"))
        except OSError:
            log.warning("Could not record the run's failure in status.json", exc_info=True)

    def _result(self, engine, folder: Path) -> dict:
        best = engine.state.best_checkpoint_step
        return {
            "run_id": folder.name,
            "step": engine.state.step,
            "status": "finished",
            "checkpoint": str(engine.last_checkpoint) if engine.last_checkpoint else None,
            "best_checkpoint": str(folder / "checkpoints" / f"step-{best:06d}.json") if best is not None else None,
            "metrics": dict(engine.state.last_metrics),
        }


def _freeze_long_lived_objects() -> None:
    """Move every object alive now (torch's modules, classes and functions: hundreds of thousands) out of
    the garbage collector's reach with ``gc.freeze()``.

    Why: the training loop allocates steadily, which now and then triggers a full collection; walking all of
    torch's objects then holds the GIL for ~120 ms, and the GUI thread freezes for that long (measured on a
    2-core CPU). Frozen objects are never collected, which costs nothing for modules that live as long as
    the process anyway.
    """

    gc.freeze()


def _add_run_to_project(project_root: Path, run_id: str) -> None:
    """List the run in project.json (the folder scan in runs.list_runs stays the source of truth), re-read and
    written under the project's lock so a dataset imported meanwhile is not lost."""
    if not is_project(project_root):
        return

    def add(project) -> None:
        if run_id not in project.runs:
            project.runs.append(run_id)

    try:
        update_project(project_root, add)
    except (JobError, OSError):
        log.warning("Could not list run %s in project.json", run_id, exc_info=True)


def run_in_use_message(run_id: str, owner: Owner | None) -> str:
    """One sentence: who trains the run now and how to stop it."""
    if owner is None:
        return (
            f"The run {run_id} is being trained right now by another process, so it was not started again; "
            "stop that one first (press Stop in the studio's Training panel, or Ctrl+C where it runs), then "
            "resume it."
        )
    return (
        f"The run {run_id} is being trained right now by {owner.describe()}, so it was not started again; "
        f"stop that one first (press Stop in the studio's Training panel, or Ctrl+C where it runs, or: "
        f"{owner.how_to_stop()}), then resume it."
    )


def _display_name(family: str) -> str:
    """The family's title ("Image GAN (DCGAN)") for the job's title in the status bar; the id if it is unknown
    (the job then fails with a plain message when it starts)."""
    found = families.find(family)
    return found.title if found is not None else family
