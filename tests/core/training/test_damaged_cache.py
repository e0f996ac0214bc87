"""A training run over a damaged cache rebuilds it and trains (issue 14: a truncated ``train.bin`` was reported
"up_to_date" and the run then failed inside numpy's memmap). Tiny GPT, CPU, one thread, a few steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from studio.core.datasets.importer import ImportDataset, dataset_folder
from studio.core.datasets.text_cache import BuildTextCache, TextCache, text_cache_folder
from studio.core.jobs import JobContext, run_job
from studio.core.training import TrainJob

torch.set_num_threads(1)

TINY = {
    "block_size": 16,
    "n_layer": 1,
    "n_head": 2,
    "n_embd": 16,
    "dropout": 0.0,
    "batch_size": 4,
    "lr": 3e-3,
    "warmup_steps": 1,
    "log_every": 1,
    "eval_every": 3,
    "sample_every": 100,
    "checkpoint_every": 3,
    "keep_last": 1,
    "eval_windows": 4,
    "preview_tokens": 4,
    "seed": 1,
}


def test_training_on_a_truncated_train_bin_rebuilds_the_cache_and_runs(tmp_path):
    source = tmp_path / "drop"
    source.mkdir()
    for i in range(6):
        (source / f"t{i}.txt").write_text(f"Text number {i}: a short line to learn from.\n" * 8, encoding="utf-8")
    project = tmp_path / "Project"
    run_job(ImportDataset(project, "ads", [source], kind="text", workers=1))
    folder = dataset_folder(project, "ads")
    run_job(BuildTextCache(folder, "char", 4096))
    whole = np.array(TextCache.open(folder, "char", 4096).train)
    train_bin = text_cache_folder(folder, "char", 4096) / "train.bin"
    train_bin.write_bytes(train_bin.read_bytes()[:100])  # a copy cut short

    messages: list[str] = []
    job = TrainJob(
        project,
        "ads",
        "gpt",
        preset="fast",
        overrides={**TINY, "tokenizer": "char", "vocab_size": 4096},
        steps=3,
        device="cpu",
        cpu_threads=1,
    )
    result = job(JobContext(on_progress=lambda fraction, message: messages.append(message)))
    assert result["step"] == 3
    assert any("damaged" in m and "train.bin" in m for m in messages)
    assert np.array_equal(np.array(TextCache.open(folder, "char", 4096).train), whole)
    assert Path(job.run_folder, "metrics.jsonl").is_file()
