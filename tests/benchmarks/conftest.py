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
        payload = {"benchmark": name, "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                                                  "python": platform.python_version()}, **values}
        target = RESULTS / f"{name}.json"
        target.write_text(json.dumps(payload, indent=2) + "\n")
        print(json.dumps(payload))
        return target

    return record
