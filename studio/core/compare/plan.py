"""What a comparison board shows, decided before any model loads: the runs, their chosen checkpoints, the rows.

Everything here reads JSON and the checkpoint index only (no torch, except for a text board's preview prompt, which
reads the dataset's text cache the way the training previews do), so a board's plan is cheap to make, and the CLI
refuses unusable arguments in plain words before it renders anything (:func:`make_plan`).

The rows are the same for every column, so a column differs from its neighbour by its weights alone:

* pictures: seeds ``0 .. seeds-1``, one picture each (latent 0 of the seed, the first picture the canvas shows for
  that seed), in the first class of a class-conditional model;
* text: the run's own preview prompt (the start of the validation text, as every training preview continues it),
  then up to :data:`MAX_USER_PROMPTS` prompts of the user's, written with one fixed sampling setting
  (:data:`BOARD_SAMPLING`);
* speech: fixed test sentences (:data:`DEFAULT_SENTENCES` unless the user gives some).

Which runs can be compared, and what they make, is the family table's word (a family with a panel and a network
that generates; :data:`MODALITY` maps what that network makes to the board's kind), never a family id. Two runs
must share the dataset and what they make: otherwise the same rows would not mean the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from studio.core import words
from studio.core.generation.run_models import read_run_config
from studio.core.generation.sampling import SamplingSettings
from studio.core.jobs import JobError
from studio.core.safe_paths import resolve_inside
from studio.core.training import families, runs
from studio.core.training.families import FamilySpec
from studio.core.training.runs import CheckpointInfo

MAX_USER_PROMPTS = 3
DEFAULT_SEEDS = 6
MAX_SEEDS = 16  # a column of 16 pictures is already taller than a screen
MAX_PROMPT_CHARS = 2000
MAX_SENTENCES = 6
MAX_SENTENCE_CHARS = 300  # a test sentence, not a paragraph: a trained voice reads one breath at a time
DEFAULT_SENTENCES = ("The quick brown fox jumps over the lazy dog.", "Our new collection arrives this spring.")
# One sampling setting for every text cell: the writer's defaults with a fixed seed and a modest length, so a
# column of three prompts stays readable and renders in seconds on a CPU.
BOARD_SAMPLING = SamplingSettings(temperature=0.8, top_k=0, top_p=0.95, repetition_penalty=1.1, max_tokens=120, seed=0)
# What a family's generating network makes (families.Generator.makes) -> what the board shows
MODALITY = {"image": "image", "text": "text", "mel": "audio", "audio": "audio"}
ROW_NOUN = {"image": "seed", "text": "prompt", "audio": "sentence"}
NEW_TEXT_LABEL = "A new text (no prompt)"
# A run's key settings shown above the board: the engine's few that matter to a reader, then the family's own
ENGINE_SUMMARY = ("steps", "batch_size", "lr", "ema", "seed")
MAX_SETTING_CHARS = 200


@dataclass(frozen=True)
class BoardRun:
    """One run on the board, read and checked."""

    run_id: str
    folder: Path
    config: dict  # config.json, checked by run_models.read_run_config (limits of the model block included)
    spec: FamilySpec
    checkpoints: tuple[CheckpointInfo, ...]  # the chosen ones, oldest first

    @property
    def makes(self) -> str:
        """What its generating network makes ("image", "text", "mel" or "audio")."""
        return self.spec.generator.makes if self.spec.generator is not None else ""

    @property
    def model(self) -> dict:
        return self.config["model"]


@dataclass(frozen=True)
class Row:
    """One row of the board: its key ("seed-0"), what the user reads beside it, and the settings that decide its
    cells besides the checkpoint (part of each cell's cache key)."""

    key: str
    label: str
    settings: dict


@dataclass(frozen=True)
class BoardPlan:
    project_root: Path
    modality: str  # "image" | "text" | "audio"
    runs: tuple[BoardRun, ...]
    rows: tuple[Row, ...]
    device: str

    @property
    def columns(self) -> list[tuple[BoardRun, CheckpointInfo]]:
        """(run, checkpoint) per column: the first run's checkpoints, then the second's."""
        return [(run, info) for run in self.runs for info in run.checkpoints]

    @property
    def row_noun(self) -> str:
        return ROW_NOUN[self.modality]


def comparable() -> list[FamilySpec]:
    """The families whose checkpoints a board can render: a creation panel opens them, so they generate."""
    return [spec for spec in families.available() if spec.panel and spec.generator and spec.generator.makes in MODALITY]


# -- runs ------------------------------------------------------------------------------------------------------------
def _run_folder(project_root: Path, run: str, modality: str | None, taken: Sequence[str]) -> Path:
    """The folder of run ``run`` of the project; "latest": the newest comparable run with a checkpoint (of the
    board's modality when the other run fixed it, and not already on the board)."""
    if run == "latest":
        for info in runs.list_runs(project_root):
            spec = families.find(info.family)
            if info.run_id in taken or spec is None or spec.id not in families.ids(comparable()) or not spec.generator:
                continue
            if modality is not None and MODALITY[spec.generator.makes] != modality:
                continue
            if runs.checkpoints(info.folder):
                return info.folder
        raise JobError(
            f"There is no run with a saved checkpoint to compare in {project_root}; train a model first "
            "(aigc-studio train), or name a run with --run."
        )
    folder = project_root / runs.RUNS / run if runs.is_run_id(run) else None
    if folder is None or not (folder / "config.json").is_file():
        raise JobError(
            f"There is no run “{run}” in {project_root}; use latest or one of the folder names in "
            f"{project_root / runs.RUNS}."
        )
    return folder


def read_board_run(folder: Path, steps: Sequence[int] | None) -> BoardRun:
    """The run in ``folder`` with its checkpoints at ``steps`` (all when None; the steps it lacks are skipped
    here and reported by :func:`make_plan`), or a plain JobError."""
    config = read_run_config(folder, comparable(), "a model that generates")
    spec = families.find(config["model"].get("kind"))
    assert spec is not None  # read_run_config accepted its kind
    found = runs.checkpoints(folder)
    if not found:
        raise JobError(
            f"The run {folder.name} has no saved checkpoint yet; let it train until it saves one, then compare."
        )
    chosen = found if steps is None else [info for info in found if info.step in set(steps)]
    return BoardRun(folder.name, folder, config, spec, tuple(chosen))


def _check_pair(first: BoardRun, second: BoardRun) -> None:
    if first.run_id == second.run_id:
        raise JobError(f"Both runs are {first.run_id}; pick two different runs to compare.")
    kinds = MODALITY[first.makes], MODALITY[second.makes]
    if kinds[0] != kinds[1]:
        raise JobError(
            f"The run {first.run_id} makes {_what(kinds[0])} and {second.run_id} makes {_what(kinds[1])}; "
            "compare two runs that make the same kind of thing."
        )
    datasets = str(first.config.get("dataset", "")), str(second.config.get("dataset", ""))
    if datasets[0] != datasets[1]:
        raise JobError(
            f"The runs {first.run_id} and {second.run_id} were trained on different datasets (“{datasets[0]}” "
            f"and “{datasets[1]}”); compare runs trained on the same dataset."
        )


def _what(modality: str) -> str:
    return {"image": "pictures", "text": "text", "audio": "speech"}[modality]


def _check_steps(board_runs: Sequence[BoardRun], steps: Sequence[int] | None) -> None:
    """Every asked step is a checkpoint of some run, and every run keeps at least one column."""
    if steps is None:
        return
    have = {info.step for run in board_runs for info in run.checkpoints}
    for run in board_runs:
        if not run.checkpoints or any(step not in have for step in steps):
            kept = ", ".join(f"{info.step:,}" for info in runs.checkpoints(run.folder))
            missing = [step for step in steps if step not in have] or list(steps)
            raise JobError(
                f"The run {run.run_id} has no checkpoint at step {missing[0]:,} (it may have been pruned); its "
                f"checkpoints are at steps {kept}."
            )


# -- rows ------------------------------------------------------------------------------------------------------------
def _check_seeds(seeds: object) -> int:
    if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= MAX_SEEDS:
        raise JobError(f"The number of seeds must be a whole number from 1 to {MAX_SEEDS}, not {seeds!r}.")
    return seeds


def _texts(values: Sequence[str], limit: int, chars: int, what: str, strip: bool) -> list[str]:
    """The non-blank ``values`` (stripped when ``strip``), without repeats, at most ``limit`` of ``chars`` each."""
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise JobError(f"Each {what} must be text, not {value!r}.")
        text = value.strip() if strip else value
        if not value.strip() or text in out:
            continue
        if len(text) > chars:
            raise JobError(f"A {what} may be at most {words.count(chars, 'character')} long; shorten “{text[:40]}…”.")
        out.append(text)
    if len(out) > limit:
        raise JobError(f"A board compares at most {words.count(limit, what)}; {len(out)} were given.")
    return out


def preview_prompt(project_root: Path, run: BoardRun) -> str | None:
    """The prompt the run's training previews continue (the start of its dataset's validation text, picked by the
    recipe's own ``prompt_ids``), or None when the dataset or its text cache is gone or unreadable."""
    from studio.core.datasets.importer import check_dataset_name
    from studio.core.datasets.text_cache import TextCache
    from studio.core.training.text_gpt import TextRecipe  # imports torch: only text boards get here

    settings = run.config.get("config") or {}
    try:
        name = check_dataset_name(str(run.config.get("dataset") or ""))
        folder = resolve_inside(project_root, f"datasets/{name}")
        if folder is None:
            return None
        cache = TextCache.open(folder, str(settings["tokenizer"]), int(settings["vocab_size"]), verify=False)
        # the recipe's own choice, read from a stand-in with the three attributes it uses
        stand_in = SimpleNamespace(val_tokens=cache.val, train_tokens=cache.train, tokenizer=cache.tokenizer)
        ids = TextRecipe.prompt_ids(cast(Any, stand_in))
        return str(cache.tokenizer.decode([int(i) for i in ids]))
    except (JobError, OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _rows(project_root: Path, modality: str, first: BoardRun, seeds, prompts, sentences) -> tuple[Row, ...]:
    if modality == "image":
        count = _check_seeds(seeds)
        return tuple(
            Row(f"seed-{s}", f"Seed {s}", {"seed": s, "latent_index": 0, "class": None, "truncation": 1.0})
            for s in range(count)
        )
    if modality == "text":
        own = preview_prompt(project_root, first) or ""
        users = [p for p in _texts(prompts, MAX_USER_PROMPTS, MAX_PROMPT_CHARS, "prompt", False) if p != own]
        sampling = BOARD_SAMPLING.to_dict()
        return tuple(
            Row(f"prompt-{i}", prompt or NEW_TEXT_LABEL, {"prompt": prompt, "sampling": sampling})
            for i, prompt in enumerate([own, *users])
        )
    chosen = _texts(sentences, MAX_SENTENCES, MAX_SENTENCE_CHARS, "sentence", True) or list(DEFAULT_SENTENCES)
    return tuple(Row(f"sentence-{i}", sentence, {"sentence": sentence}) for i, sentence in enumerate(chosen))


# -- the plan --------------------------------------------------------------------------------------------------------
def make_plan(
    project_root: str | Path,
    run_ids: Sequence[str],
    checkpoints: Sequence[int] | None = None,
    seeds: int = DEFAULT_SEEDS,
    prompts: Sequence[str] = (),
    sentences: Sequence[str] = (),
    device: str = "cpu",
) -> BoardPlan:
    """The board's runs, columns and rows, or a plain JobError for anything unusable (see the module docstring)."""
    root = Path(project_root)
    if isinstance(run_ids, str):
        run_ids = [run_ids]
    if not 1 <= len(run_ids) <= 2:
        raise JobError("Compare the checkpoints of one run, or of two runs trained on the same dataset.")
    steps = None if checkpoints is None else sorted({_step(step) for step in checkpoints})
    if steps == []:
        raise JobError("Choose at least one checkpoint to compare.")
    board_runs: list[BoardRun] = []
    for run in run_ids:
        modality = MODALITY[board_runs[0].makes] if board_runs else None
        folder = _run_folder(root, str(run), modality, [r.run_id for r in board_runs])
        board_runs.append(read_board_run(folder, steps))
    if len(board_runs) == 2:
        _check_pair(*board_runs)
    _check_steps(board_runs, steps)
    modality = MODALITY[board_runs[0].makes]
    rows = _rows(root, modality, board_runs[0], seeds, prompts, sentences)
    return BoardPlan(root, modality, tuple(board_runs), rows, str(device))


def _step(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise JobError(f"A checkpoint is named by its step, a whole number of 0 or more, not {value!r}.")
    return value


# -- what the board says about a run and a checkpoint ----------------------------------------------------------------
def run_settings(run: BoardRun) -> dict:
    """The run's key settings from config.json: its preset and device, the engine's few that matter to a reader
    (:data:`ENGINE_SUMMARY`), then every setting that is the family's own (the family table's defaults that are
    not engine settings: picture size, network sizes, tokenizer ...). Plain scalars only, long text cut."""
    settings = run.config.get("config")
    settings = settings if isinstance(settings, dict) else {}
    keys = [*ENGINE_SUMMARY, *(key for key in run.spec.defaults if key not in families.ENGINE_DEFAULTS)]
    out: dict = {}
    for key, value in [("preset", run.config.get("preset")), ("device", run.config.get("device"))] + [
        (key, settings.get(key)) for key in keys
    ]:
        if isinstance(value, str):
            out[key] = value[:MAX_SETTING_CHARS]
        elif isinstance(value, (bool, int, float)) and value == value:
            out[key] = value
    return out


def validation_metrics(info: CheckpointInfo) -> dict:
    """The checkpoint's validation metrics ("val_*": what the engine's evaluation measured), finite numbers only."""
    return {
        str(key): float(value)
        for key, value in info.metrics.items()
        if str(key).startswith("val_")
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
        and abs(float(value)) != float("inf")
        and value == value
    }


def first_class(run: BoardRun) -> str | None:
    """The class a class-conditional image model draws on the board (its first), None for other models."""
    if run.makes != "image":
        return None
    classes, count = run.model.get("classes"), run.model.get("num_classes")
    if isinstance(classes, list) and classes:
        return str(classes[0])[:MAX_SETTING_CHARS]
    return "class 0" if isinstance(count, int) and count > 0 else None  # image_model's name for an unnamed class
