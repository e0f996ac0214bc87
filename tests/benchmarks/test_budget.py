""" "Best model in N minutes" against the Fast preset, on tiny Shakespeare with the text GPT.

Both runs go through ``TrainJob`` as ``aigc-studio train`` starts them, with the threads a run from the window
gets on this machine: first ``--budget-minutes 3`` (the plan picks the GPT's size for the budget, compute-optimally,
and the steps that fill it), then the Fast preset (nanoGPT's CPU model, its steps cut to the 5-minute cap).
Recorded: wall time from the job's start to its result, steps, the model's size, and the best validation loss of
each. Targets: the budget run ends within 3 min + 10 %; its validation loss is at or below the Fast preset's,
or close to it in less time. Run with ``pytest tests/benchmarks/test_budget.py --benchmark -s``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from studio.core.datasets.importer import ImportDataset
from studio.core.jobs import JobContext, run_job
from studio.core.training import TrainJob, planning, runs

pytestmark = [pytest.mark.benchmark, pytest.mark.timeout(3600)]
SHAKESPEARE = Path("/work/shared/data/tinyshakespeare.txt")
BUDGET_MINUTES = 3.0
THREADS = 1


def _best_val_loss(folder: Path) -> float | None:
    losses = [line["val_loss"] for line in runs.read_metrics(folder) if "val_loss" in line]
    return min(losses) if losses else None


def _run(project: Path, **kwargs) -> dict:
    job = TrainJob(project, "shakespeare", "gpt", cpu_threads=THREADS, **kwargs)
    started = time.perf_counter()
    result = job(JobContext())
    took = time.perf_counter() - started
    config = runs.read_config(job.run_folder)["config"]
    row = {
        "wall_s": round(took, 1),
        "steps": result["step"],
        "planned_steps": config["steps"],
        "parameters_m": round(planning.gpt_parameters(config) / 1e6, 2),
        "size": {k: config[k] for k in ("n_layer", "n_head", "n_embd", "block_size", "batch_size")},
        "best_val_loss": _best_val_loss(job.run_folder),
        "estimate_s": job.plan.get("estimate", {}).get("seconds"),
    }
    print(row, file=sys.stderr, flush=True)
    return row


def test_a_three_minute_budget(tmp_path, record_benchmark):
    if not SHAKESPEARE.is_file():
        pytest.skip(f"{SHAKESPEARE} is not on this machine")
    project = tmp_path / "Budget"
    run_job(ImportDataset(project, "shakespeare", [SHAKESPEARE], kind="text", workers=1))
    # characters, as nanoGPT's shakespeare_char (the text is 1.1 MB: left alone the budget would take word-pieces),
    # so the two validation losses are in the same unit
    budget = _run(project, preset=None, budget_minutes=BUDGET_MINUTES, overrides={"tokenizer": "char"})
    fast = _run(project, preset="fast", overrides={"tokenizer": "char"})
    record_benchmark(
        "budget",
        {"budget_minutes": BUDGET_MINUTES, "threads": THREADS, "budget_run": budget, "fast_preset": fast},
    )
    assert budget["wall_s"] <= BUDGET_MINUTES * 60 * 1.1
