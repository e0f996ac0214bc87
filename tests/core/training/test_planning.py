"""Presets that fit the device, and "Best model in N minutes": sizes and steps from measured costs, and a run that
ends on time."""

from __future__ import annotations

import time

import pytest
from training_helpers import FAST

from studio.core.jobs import JobContext
from studio.core.training import TrainJob, estimation, families, planning, runs, suggest
from studio.core.training.estimation import Costs
from studio.core.training.families import PRESET_MINUTES


def fake_costs(monkeypatch, step_s_of):
    """Replace measuring with costs from ``step_s_of(family, config)``: the arithmetic under test, without the
    minutes a real calibration of every family's every preset would take."""
    seen = []

    def costs_for(root, dataset, family, config, device=None, **kwargs):
        seen.append((family, dict(config)))
        return Costs(
            startup_s=3.0, step_s=step_s_of(family, config), eval_s=2.0, preview_s=1.0, save_s=0.5, memory_bytes=10**8
        )

    monkeypatch.setattr(estimation, "costs_for", costs_for)
    # no dataset on disk: a budget's data-following settings are none here
    monkeypatch.setattr(suggest, "read_facts", lambda folder: None)
    monkeypatch.setattr(suggest, "settings_for", lambda facts, spec: ({}, ()))
    return seen


def test_every_preset_of_every_family_fits_its_time_on_a_cpu(monkeypatch):
    # a step of GPU-sized work is slow on a CPU: ~1 s per million parameters-ish, so uncapped presets take hours
    fake_costs(monkeypatch, lambda family, config: 0.5 + 0.001 * config.get("width", config.get("n_embd", 64)))
    for spec in families.available():
        for preset, minutes in PRESET_MINUTES.items():
            made = planning.plan("P", "d", spec.id, preset, None, "cpu")
            assert made.estimate["seconds"] <= minutes * 60, (spec.id, preset, made.estimate)
            uncapped = families.resolve_config(spec.id, preset, None, "cpu")
            assert made.config["steps"] <= uncapped["steps"]
            if made.config["steps"] < uncapped["steps"]:  # a cut run still evaluates (and keeps a best) often
                assert made.config["steps"] // made.config["eval_every"] >= planning.MIN_EVALUATIONS - 1


def test_the_steps_a_user_sets_are_kept_even_past_the_cap(monkeypatch):
    fake_costs(monkeypatch, lambda family, config: 1.0)
    made = planning.plan("P", "d", "gpt", "fast", {"steps": 5000}, "cpu")
    assert made.config["steps"] == 5000 and made.estimate["seconds"] > PRESET_MINUTES["fast"] * 60


def test_a_starting_run_measures_only_when_its_steps_are_planned(monkeypatch):
    seen = fake_costs(monkeypatch, lambda family, config: 0.01)
    made = planning.plan("P", "d", "gpt", "fast", {"steps": 10}, "cpu", estimate=False)
    assert made.config["steps"] == 10 and made.estimate == {} and seen == []


def test_a_budget_picks_a_bigger_gpt_for_more_minutes(monkeypatch):
    fast = families.resolve_config("gpt", "fast", None, "cpu")
    # a step costs in proportion to the GPT's work, as on a real device (30 ms for nanoGPT's CPU model)
    fake_costs(monkeypatch, lambda family, config: 0.03 * planning.gpt_work(config) / planning.gpt_work(fast))
    small = planning.plan("P", "d", "gpt", None, None, "cpu", budget_minutes=3)
    large = planning.plan("P", "d", "gpt", None, None, "cpu", budget_minutes=240)
    assert planning.gpt_parameters(large.config) > planning.gpt_parameters(small.config)
    for made, minutes in ((small, 3), (large, 240)):
        assert made.estimate["seconds"] <= minutes * 60 * planning.BUDGET_SHARE
        assert made.budget_s == minutes * 60
        tokens = made.config["steps"] * made.config["batch_size"] * made.config["block_size"]
        # compute-optimal: at least ~20 tokens per parameter for the chosen size
        assert tokens >= planning.TOKENS_PER_PARAMETER * planning.gpt_parameters(made.config) * 0.9
        assert made.config["warmup_steps"] <= made.config["steps"] // 10


def test_a_budget_keeps_the_size_the_user_chose(monkeypatch):
    fake_costs(monkeypatch, lambda family, config: 0.05)
    made = planning.plan("P", "d", "gan", None, {"width": 24}, "cpu", budget_minutes=60)
    assert made.config["width"] == 24


@pytest.mark.slow
def test_a_30_second_budget_ends_within_ten_percent(project):
    """A real run: planned from measured costs, trained, evaluated, checkpointed, and over in 30 s + 10 %."""
    job = TrainJob(
        project, "pics", "reference", preset=None, overrides={"batch_size": 8}, budget_minutes=0.5, cpu_threads=1
    )
    started = time.monotonic()
    result = job(JobContext())
    took = time.monotonic() - started
    assert took <= 30 * 1.1, took
    assert result["status"] == "finished" and result["step"] > 10
    record = runs.read_config(job.run_folder)
    assert record["budget_minutes"] == 0.5
    assert result["best_checkpoint"] is not None  # evaluated often enough to keep a best one


def test_the_deadline_stops_a_run_the_machine_made_slower(project, monkeypatch):
    """If a step gets slower than the costs said (a busy machine), the run still ends at its budget."""
    monkeypatch.setattr(
        estimation,
        "costs_for",
        lambda *a, **k: Costs(startup_s=0.0, step_s=0.0005, eval_s=0.0, preview_s=0.0, save_s=0.0, memory_bytes=1),
    )
    job = TrainJob(project, "pics", "reference", preset=None, overrides={**FAST}, budget_minutes=0.1, cpu_threads=1)
    started = time.monotonic()
    result = job(JobContext())
    assert time.monotonic() - started <= 6 * 1.1 + 1.0  # the plan's 10,000 steps would take minutes
    assert result["step"] < job.plan["config"]["steps"]
    events = [line for line in runs.read_metrics(job.run_folder) if "event" in line]
    assert events == [] or all("budget" not in str(e) for e in events)  # events are not metric lines
