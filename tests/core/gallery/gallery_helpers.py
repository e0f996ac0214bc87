"""Helpers of the gallery tests: a worker another process runs (multiprocessing "spawn" imports it by name), and
a way to write a hostile row straight into the database, as a shared project could hold."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

# the generation tests' tiny run makers (a tiny Tacotron 2 and its run's "model" block), shared rather than copied
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "generation"))

from studio.core.gallery.store import DB_NAME, GALLERY_FOLDER


def add_items(root: str, tag: str, count: int) -> int:
    """Add ``count`` items tagged ``tag`` from this process, one transaction each (as a panel does)."""
    from studio.core.gallery import Gallery

    with Gallery(root) as gallery:
        for i in range(count):
            gallery.add("text", "text", {"i": i, "tag": tag}, title=f"{tag} {i}", payloads=[(".txt", b"x")])
    return count


def insert_row(root: Path, **values) -> None:
    """Insert a row as another program (or a hand-edited shared file) could: no checks at all."""
    row = {
        "id": "f" * 32,
        "batch": 999_999,
        "kind": "image",
        "panel": "image",
        "created": "2030-01-01T00:00:00+00:00",
        "run_id": "",
        "step": None,
        "title": "hostile",
        "text": "",
        "haystack": "hostile",
        "settings": "{}",
        "files": "[]",
        "favourite": 0,
        "deleted": 0,
        **values,
    }
    if not isinstance(row["files"], str):
        row["files"] = json.dumps(row["files"])
    conn = sqlite3.connect(Path(root) / GALLERY_FOLDER / DB_NAME)
    with conn:
        conn.execute(f"INSERT INTO items ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    conn.close()


def make_voice_run(project: Path, run_id: str = "20260101-000000-tts", step: int = 10) -> Path:
    """A tiny Tacotron 2 run with random weights and one checkpoint, laid out as the engine writes it (no training:
    only files that load); at most 2 frames per phoneme, so a sentence decodes in milliseconds and, its stop gate
    never firing, is long enough for Griffin-Lim."""
    import torch
    from safetensors.torch import save_file
    from untrusted_helpers import tiny_tts_config, tts_model_block

    from studio.core.atomic import atomic_write_json
    from studio.core.nets.tts import Tacotron2

    config = tiny_tts_config(reduction=2, max_frames_per_symbol=2)
    model = tts_model_block(config)
    folder = project / "runs" / run_id
    (folder / "checkpoints").mkdir(parents=True)
    atomic_write_json(
        folder / "config.json",
        {
            "preset": "fast",
            "seed": 0,
            "device": "cpu",
            "run_id": run_id,
            "schema": 1,
            "family": "tts",
            "dataset": "voice",
            "config": {},
            "model": model,
            "created": "2026-01-01T00:00:00",
        },
    )
    generator = torch.Generator().manual_seed(step)
    weights = {}
    for name, value in Tacotron2(config).state_dict().items():
        if name.endswith("gate.bias"):  # a stop gate that never fires: every sentence runs to its frame cap
            value = torch.full_like(value, -20.0)
        elif name.endswith("running_var"):
            value = torch.ones_like(value)
        elif name.endswith("running_mean"):
            value = torch.zeros_like(value)
        elif value.is_floating_point() and value.dim() > 1:
            value = torch.randn(value.shape, generator=generator) * (0.6 / value[0].numel() ** 0.5)
        elif value.is_floating_point():
            value = 0.1 * torch.randn(value.shape, generator=generator)
        weights[f"tts.{name}"] = value.contiguous()
    stem = folder / "checkpoints" / f"step-{step:06d}"
    save_file(weights, str(stem.with_suffix(".safetensors")))
    atomic_write_json(stem.with_suffix(".json"), {"step": step, "metrics": {}, "created": "2026-01-01T00:00:00+00:00"})
    return folder
