"""The comparison board job: every chosen checkpoint renders the same rows, one model in memory at a time.

:class:`RenderBoard` works in two passes, so a board opened again fills in at once:

1. **The cache.** For every column it hashes the checkpoint's weights (memoized, see :mod:`.cells`), derives each
   cell's key and reports every cell already on disk (``ctx.preview`` per cell). No model is loaded for a
   column whose cells are all cached: reopening a board with the same settings loads none (``model_loads`` 0).
2. **The rest.** Column by column: load that checkpoint's network (:func:`.renderers.open_renderer`, never the
   panels' model caches), render its missing cells, write each to the cache and report it the moment it is
   ready, then drop the network and collect it before the next column loads. Memory therefore stays near one
   model's size however many checkpoints are compared.

Cancel is cooperative and prompt: ``ctx.check()`` runs between hash chunks, before every cell, and inside every
cell once per image chunk, generated token or voice decoder step, so Stop takes effect within a fraction of a
second. A cancelled board keeps the cells it finished (they are cached).

The result (plain JSON values; the board view, the HTML export and the CLI read it)::

    {"modality": "image" | "text" | "audio",
     "runs": [{"run_id", "name", "family", "family_title", "dataset", "created", "class", "settings": {...}}],
     "columns": [{"run_id", "step", "created", "metrics": {"val_*": ...}, "best", "checkpoint"}],
     "rows": [{"key": "seed-0" | "prompt-0" | "sentence-0", "label": "Seed 0" | the prompt | the sentence,
               "prompt" (text boards: what the row's texts continue, "" for a new text)}],
     "cells": [[cell of each row] for each column],  # {"file": project-relative path, "key", "text" | "seconds"}
     "render": {"device", and "sampling" (text) or "vocoder" (speech)},
     "cached_cells": int, "rendered_cells": int, "model_loads": int}

A checkpoint that cannot be loaded (damaged, or not matching its run's description) does not stop the board: its
column gets ``"error"`` (the plain sentence) and its cells stay None; the other columns render as usual.

``name`` is the user's name for the run, else its id; ``checkpoint`` is the project-relative path of the
checkpoint's record (``runs/<id>/checkpoints/step-000400.json``); ``class`` is the class a conditional image model
draws (its first), else None.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from studio.core import words
from studio.core.compare import cells as cache
from studio.core.compare.plan import (
    BOARD_SAMPLING,
    DEFAULT_SEEDS,
    DEFAULT_SENTENCES,
    MAX_USER_PROMPTS,
    BoardPlan,
    BoardRun,
    Row,
    first_class,
    make_plan,
    run_settings,
    validation_metrics,
)
from studio.core.compare.renderers import free_memory, open_renderer, reference_inputs
from studio.core.jobs import JobContext, JobError
from studio.core.training import runs

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_SEEDS",
    "DEFAULT_SENTENCES",
    "MAX_USER_PROMPTS",
    "RenderBoard",
    "board_cells",
    "load_board_cache",
]


class RenderBoard:
    """Job: the comparison board of 1 or 2 runs (see the module docstring for what it returns)."""

    title = "Comparing checkpoints"
    kind = "generate"

    def __init__(
        self,
        project_root: str | Path,
        runs: Sequence[str],
        checkpoints: Sequence[int] | None = None,
        seeds: int = DEFAULT_SEEDS,
        prompts: Sequence[str] = (),
        sentences: Sequence[str] = (),
        device: str = "cpu",
    ) -> None:
        self.project_root = Path(project_root)
        self.runs = [runs] if isinstance(runs, str) else list(runs)
        self.checkpoints = None if checkpoints is None else list(checkpoints)
        self.seeds, self.device = seeds, str(device)
        self.prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        self.sentences = [sentences] if isinstance(sentences, str) else list(sentences)

    def plan(self) -> BoardPlan:
        """The runs, columns and rows (no model loads), or a plain JobError for unusable arguments."""
        return make_plan(
            self.project_root, self.runs, self.checkpoints, self.seeds, self.prompts, self.sentences, self.device
        )

    def check(self) -> None:
        """Fail early, in plain words, before any work (the CLI calls it before showing progress)."""
        self.plan()

    def __call__(self, ctx: JobContext) -> dict:
        ctx.progress(0.0, "Reading the runs…")
        plan = self.plan()
        ctx.check()
        board = _skeleton(plan)
        keys = _serve_cached(plan, board, ctx)
        columns, rows = plan.columns, plan.rows
        total = len(columns) * len(rows)
        done = board["cached_cells"]
        for c, (run, info) in enumerate(columns):
            missing = [r for r in range(len(rows)) if board["cells"][c][r] is None]
            if not missing:
                continue
            ctx.progress(done / total, f"Checkpoint {c + 1} of {len(columns)} · loading step {info.step:,}")
            try:
                done = _render_column(plan, board, c, run, info, keys[c], missing, ctx, done)
            except JobError as exc:  # one damaged checkpoint: the board goes on with the others
                log.info("board column %s step %d failed: %s", run.run_id, info.step, exc)
                board["columns"][c]["error"] = str(exc)
                done = sum(cell is not None for column in board["cells"] for cell in column)
                done += sum(cell is None for column in board["cells"][: c + 1] for cell in column)
        ctx.progress(1.0, _summary(board))
        return board


def board_cells(board: dict) -> int:
    """How many cells the board holds (columns × rows)."""
    return len(board.get("columns") or []) * len(board.get("rows") or [])


def load_board_cache(
    project_root: str | Path,
    runs: Sequence[str],
    checkpoints: Sequence[int] | None = None,
    seeds: int = DEFAULT_SEEDS,
    prompts: Sequence[str] = (),
    sentences: Sequence[str] = (),
    device: str = "cpu",
    ctx: JobContext | None = None,
) -> dict:
    """The board as far as the cache holds it, loading no model: the same dict as :class:`RenderBoard` returns,
    with None for each cell not rendered yet and ``"missing_cells"`` counting them. Checkpoint hashes are
    memoized, so after a first board this reads a few small files. (A text board reads its dataset's text cache
    for the preview prompt, which imports torch: call it off the GUI thread.)"""
    job = RenderBoard(project_root, runs, checkpoints, seeds, prompts, sentences, device)
    plan = job.plan()
    board = _skeleton(plan)
    _serve_cached(plan, board, ctx or JobContext())
    board["missing_cells"] = board_cells(board) - board["cached_cells"]
    return board


# -- the two passes --------------------------------------------------------------------------------------------------
def _serve_cached(plan: BoardPlan, board: dict, ctx: JobContext) -> list[list[str]]:
    """Pass 1: each column's cell keys; every cached cell goes into ``board`` and is reported. Returns the keys."""
    memos = {run.run_id: cache.HashMemo(plan.project_root, run.run_id) for run in plan.runs}
    columns, rows = plan.columns, plan.rows
    total = max(1, len(columns) * len(rows))
    keys: list[list[str]] = []
    try:
        for c, (run, info) in enumerate(columns):
            ctx.progress(board["cached_cells"] / total, f"Checkpoint {c + 1} of {len(columns)} · looking for cells")
            inputs = _inputs(run, info, memos[run.run_id], ctx)
            keys.append([cache.cell_key(inputs, plan.modality, row.settings, plan.device) for row in rows])
            for r, key in enumerate(keys[c]):
                cell = cache.read_cell(plan.project_root, run.run_id, key, plan.modality)
                if cell is not None:
                    _place(board, ctx, c, r, {**cell, "key": key})
                    board["cached_cells"] += 1
    finally:
        for memo in memos.values():
            memo.save()
    return keys


def _inputs(run: BoardRun, info: runs.CheckpointInfo, memo: cache.HashMemo, ctx: JobContext) -> dict:
    """Content hashes of what decides a column's cells: the weights, the model description, the run's other
    model files."""
    weights = f"checkpoints/{info.path_weights.name}"
    inputs = {
        "weights": memo.digest(weights, ctx.check),
        "model": hashlib.sha256(cache.canonical(run.model)).hexdigest(),
    }
    for name in reference_inputs(run):
        inputs[name] = memo.digest(name, ctx.check)
    return inputs


def _render_column(
    plan: BoardPlan,
    board: dict,
    c: int,
    run: BoardRun,
    info: runs.CheckpointInfo,
    keys: list[str],
    missing: list[int],
    ctx: JobContext,
    done: int,
) -> int:
    """Pass 2 for one column: load its checkpoint, render and store its ``missing`` rows, drop the model. Returns
    the number of cells done so far."""
    columns, rows = plan.columns, plan.rows
    total = len(columns) * len(rows)
    renderer = open_renderer(run, info.step, plan.device)
    board["model_loads"] += 1
    try:
        for r in missing:
            ctx.check()
            what = f"Checkpoint {c + 1} of {len(columns)} · {plan.row_noun} {r + 1} of {len(rows)}"
            ctx.progress(done / total, what)
            rendered = renderer.render(rows[r], ctx.check)
            about = {"run_id": run.run_id, "step": info.step, "row": rows[r].key}
            cell = cache.write_cell(plan.project_root, run.run_id, keys[r], plan.modality, rendered, about)
            _place(board, ctx, c, r, {**cell, "key": keys[r]})
            board["rendered_cells"] += 1
            done += 1
    finally:
        del renderer  # the only reference to the network: drop it before collecting
        free_memory(plan.device)
    return done


def _place(board: dict, ctx: JobContext, c: int, r: int, cell: dict) -> None:
    board["cells"][c][r] = cell
    ctx.preview({"column": c, "row": r, "cell": dict(cell)})


# -- the board's description -----------------------------------------------------------------------------------------
def _skeleton(plan: BoardPlan) -> dict:
    """The board with every cell None (see the module docstring)."""
    render: dict = {"device": plan.device}
    if plan.modality == "text":
        render["sampling"] = BOARD_SAMPLING.to_dict()
    elif plan.modality == "audio":
        render["vocoder"] = "griffinlim"
    return {
        "modality": plan.modality,
        "runs": [_run_entry(run) for run in plan.runs],
        "columns": [_column_entry(run, info) for run, info in plan.columns],
        "rows": [_row_entry(plan, row) for row in plan.rows],
        "cells": [[None] * len(plan.rows) for _ in plan.columns],
        "render": render,
        "created": datetime.now().astimezone().isoformat(timespec="seconds"),
        "cached_cells": 0,
        "rendered_cells": 0,
        "model_loads": 0,
    }


def _row_entry(plan: BoardPlan, row: Row) -> dict:
    entry = {"key": row.key, "label": row.label}
    if plan.modality == "text":
        entry["prompt"] = str(row.settings["prompt"])  # what each text continues ("" for a new text)
    return entry


def _run_entry(run: BoardRun) -> dict:
    return {
        "run_id": run.run_id,
        "name": runs.read_run_name(run.folder) or run.run_id,
        "family": run.spec.id,
        "family_title": run.spec.title,
        "dataset": str(run.config.get("dataset") or ""),
        "created": str(run.config.get("created") or ""),
        "class": first_class(run),
        "settings": run_settings(run),
    }


def _column_entry(run: BoardRun, info: runs.CheckpointInfo) -> dict:
    return {
        "run_id": run.run_id,
        "step": info.step,
        "created": info.created,
        "metrics": validation_metrics(info),
        "best": info.best,
        "checkpoint": f"{runs.RUNS}/{run.run_id}/checkpoints/{info.path_json.name}",
    }


def _summary(board: dict) -> str:
    total = board_cells(board)
    rendered = board["rendered_cells"]
    if not rendered:
        return f"{words.count(total, 'cell')} from the cache"
    return f"Rendered {words.of(rendered, total, 'cell')} ({words.count(board['model_loads'], 'model')} loaded)"
