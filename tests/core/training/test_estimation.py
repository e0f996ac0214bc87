"""The estimator: measured once per (device, model size, dataset) and then arithmetic, cancellable, and small."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest
from training_helpers import FAST

from studio.core.jobs import Cancelled, JobContext
from studio.core.training import estimation, families, runs
from studio.core.training.estimation import Costs

COSTS = Costs(startup_s=2.0, step_s=0.1, eval_s=1.0, preview_s=0.5, save_s=0.2, memory_bytes=1000)


def test_the_whole_run_counts_every_evaluation_preview_and_save():
    config = {
        "steps": 1000,
        "eval_every": 100,
        "sample_every": 250,
        "checkpoint_every": 500,
        "checkpoint_minutes": 10.0,
    }
    # 2 start-up + 100 of steps + 10 evaluations + 4 previews + 2 saves
    assert estimation.seconds_for(COSTS, config) == pytest.approx(2 + 100 + 10 * 1.0 + 4 * 0.5 + 2 * 0.2)
    # a step count that is not a multiple still ends with one of each
    assert estimation.seconds_for(COSTS, {**config, "steps": 1050}) == pytest.approx(
        2 + 105 + 11 * 1.0 + 5 * 0.5 + 3 * 0.2
    )
    # a long run also saves every checkpoint_minutes
    assert estimation.seconds_for(COSTS, {**config, "checkpoint_minutes": 1.0}) == pytest.approx(
        2 + 100 + 10 + 2 + 2 * 0.2 + 1 * 0.2
    )


def test_the_steps_within_a_time_are_the_most_that_fit():
    config = {"steps": 1, "eval_every": 100, "sample_every": 250, "checkpoint_every": 500, "checkpoint_minutes": 10.0}
    steps = estimation.steps_within(COSTS, config, 120.0)
    assert estimation.seconds_for(COSTS, {**config, "steps": steps}) <= 120.0
    assert estimation.seconds_for(COSTS, {**config, "steps": int(steps * 1.05)}) > 120.0


def test_an_estimate_is_measured_once_then_read_from_the_cache(project, monkeypatch, studio_home):
    calls = []
    measure = estimation.measure
    monkeypatch.setattr(estimation, "measure", lambda *a: calls.append(1) or measure(*a))
    config = {**FAST, "steps": 100}
    first = estimation.estimate(project, "pics", "reference", config, "cpu")
    assert set(first) >= {"seconds", "memory_bytes", "steps"} and first["steps"] == 100
    assert first["seconds"] > 100 * first["step_seconds"]  # evaluations, previews, saves and start-up come on top
    assert (studio_home / "cache" / estimation.CACHE_FILE).is_file()

    started = time.perf_counter()
    longer = estimation.estimate(project, "pics", "reference", {**config, "steps": 1000, "lr": 1e-4}, "cpu")
    assert time.perf_counter() - started < 1.0 and calls == [1]  # steps and lr do not change what a step costs
    assert longer["step_seconds"] == first["step_seconds"] and longer["seconds"] > 5 * first["seconds"] / 2
    estimation.estimate(project, "pics", "reference", {**config, "width": 8}, "cpu")
    assert calls == [1, 1]  # another model size is measured
    assert runs.list_runs(project) == []  # estimating creates no run


def test_a_damaged_cache_file_is_measured_again(project, studio_home):
    (studio_home / "cache").mkdir(parents=True)
    (studio_home / "cache" / estimation.CACHE_FILE).write_text("{not json")
    result = estimation.estimate(project, "pics", "reference", {**FAST, "steps": 10}, "cpu")
    assert result["step_seconds"] > 0 and result["seconds"] >= 10 * result["step_seconds"]  # measured, not zeros
    assert json.loads((studio_home / "cache" / estimation.CACHE_FILE).read_text())  # rewritten whole


def test_a_cancel_stops_an_estimate_within_a_step(project):
    estimation.estimate(project, "pics", "reference", {**FAST, "steps": 10}, "cpu")  # the cache is built
    ctx = JobContext()
    ctx.cancel()
    with pytest.raises(Cancelled):
        estimation.estimate(project, "pics", "reference", {**FAST, "width": 8, "steps": 10}, "cpu", ctx=ctx)


@pytest.mark.slow
def test_estimating_the_largest_cpu_preset_stays_under_300_mb(tmp_path):
    """The resident memory of a fresh process once torch has run (idle: what the window holds after its warm-up,
    which builds an optimizer), and its high-water mark while the biggest CPU preset of the text families (the
    GPT's "best", ~4.8 M parameters, batch 24 × 128 tokens: ~0.6 GB to train) is estimated."""
    corpus = tmp_path / "copy.txt"
    corpus.write_text("Hand-finished ceramic mug, made to last. Order today.\n" * 4000)
    script = textwrap.dedent(f"""
        import json
        from studio.core.datasets.importer import ImportDataset, dataset_folder
        from studio.core.jobs import JobContext, run_job
        from studio.core.training import estimation, families
        root = {str(tmp_path / "P")!r}
        run_job(ImportDataset(root, "copy", [{str(corpus)!r}], kind="text", workers=1))
        config = families.resolve_config("gpt", "best", None, "cpu")
        families.load_recipe_class("gpt").prepare_data(dataset_folder(root, "copy"), config, JobContext())
        import torch
        torch.optim.AdamW([torch.zeros(1, requires_grad=True)]).step()
        def kib(field):
            return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(field + ":"))
        open("/proc/self/clear_refs", "w").write("5")
        idle = kib("VmRSS")
        result = estimation.estimate(root, "copy", "gpt", config, "cpu")
        print(json.dumps({{"idle": idle * 1024, "peak": kib("VmHWM") * 1024, "result": result}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    print("estimator memory above idle:", (report["peak"] - report["idle"]) // 2**20, "MiB")
    assert report["peak"] - report["idle"] < 300e6, report
    assert report["result"]["memory_bytes"] > 4 * 4 * 4.5e6  # weights, gradients, two moments of ~4.8 M floats


def test_cpu_presets_are_smaller_where_the_gpu_ones_would_not_train_in_an_hour():
    for family in ("gpt", "gan", "tts", "vocoder"):
        gpu = families.resolve_config(family, "best")
        cpu = families.resolve_config(family, "best", None, "cpu")
        assert cpu != gpu, family
    assert families.resolve_config("gpt", "balanced", None, "cpu")["n_embd"] < families.resolve_config("gpt")["n_embd"]
    # fast is already a CPU size everywhere
    assert families.resolve_config("gpt", "fast", None, "cpu") == families.resolve_config("gpt", "fast")


def test_a_finished_run_teaches_the_estimator_what_its_steps_really_cost(project, monkeypatch):
    """The estimate said one thing; the run measured another (say the machine got busier): the next estimate of
    the same size on the same dataset is the run's."""
    from studio.core.jobs import JobContext
    from studio.core.training import TrainJob

    config = {**FAST, "steps": 40, "log_every": 1}
    before = estimation.estimate(project, "pics", "reference", config, "cpu", cpu_threads=1)
    job = TrainJob(project, "pics", "reference", preset="fast", overrides=config, cpu_threads=1)
    real = estimation.measure
    monkeypatch.setattr(estimation, "measure", lambda *a: pytest.fail("the cached costs should be used"))
    import studio.core.training.engine as engine_module

    train_step = engine_module.Engine.train_step

    def slower(self):  # each step 20 ms longer than when the estimate timed it: the machine got busier
        time.sleep(0.02)
        return train_step(self)

    monkeypatch.setattr(engine_module.Engine, "train_step", slower)
    job(JobContext())
    monkeypatch.setattr(estimation, "measure", real)
    after = estimation.estimate(project, "pics", "reference", config, "cpu", cpu_threads=1)
    assert after["step_seconds"] >= before["step_seconds"] + 0.015
    assert after["seconds"] > before["seconds"]
