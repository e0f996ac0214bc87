"""Opt-in benchmarks: ``pytest tests/benchmarks --benchmark``. Each writes JSON to benchmark-results/."""

import json
import os
import platform
from pathlib import Path

import pytest

RESULTS = Path(__file__).resolve().parents[2] / "benchmark-results"


@pytest.fixture
def record_benchmark():
    def record(name: str, values: dict) -> Path:
        RESULTS.mkdir(exist_ok=True)
        payload = {
            "benchmark": name,
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
            **values,
        }
        target = RESULTS / f"{name}.json"
        target.write_text(json.dumps(payload, indent=2) + "\n")
        print(json.dumps(payload))
        return target

    return record


@pytest.fixture
def picture_project(tmp_path):
    """A project with dataset "pics": 128 noise pictures of 48 px in two class folders, imported for real."""
    import numpy as np
    from PIL import Image

    from studio.core.datasets.importer import ImportDataset
    from studio.core.jobs import run_job

    source = tmp_path / "drop"
    rng = np.random.default_rng(0)
    for label in ("cat", "dog"):
        (source / label).mkdir(parents=True)
        for i in range(64):
            Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(source / label / f"{i}.png")
    root = tmp_path / "Bench"
    run_job(ImportDataset(root, "pics", [source], kind="image", workers=1))
    return root
