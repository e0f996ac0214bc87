"""The GPU check (``tests/gpu/run.sh``): tests that only mean something on an NVIDIA GPU, and the one JSON file
the run leaves behind.

Without CUDA every test here is skipped with the reason "needs a CUDA device" (the normal suite on a CPU
machine); ``run.sh`` refuses to start there at all. With ``AIGC_GPU_JSON`` set (``run.sh`` sets it), the
session writes that file at its end: the device, what each test recorded with the ``gpu_record`` fixture, and
the outcome of every test the session ran (those outside this folder too: the CUDA-only tests of the suite).
A CUDA-only test that was skipped on a machine with CUDA fails the session: it would otherwise pass unseen.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import pytest
import torch

CUDA = torch.cuda.is_available()
NEEDS_CUDA = "needs a CUDA device"
_RECORDS: dict[str, dict] = {}
_STARTED = time.time()


def pytest_runtest_setup(item):
    if not CUDA:
        pytest.skip(NEEDS_CUDA)


@pytest.fixture
def gpu_record():
    """``gpu_record(name, values)`` puts ``values`` under ``name`` in the run's JSON file."""

    def record(name: str, values: dict) -> None:
        _RECORDS[name] = values
        print(name, json.dumps(values))

    return record


def _device() -> dict:
    if not CUDA:
        return {"cuda": False}
    props = torch.cuda.get_device_properties(0)
    return {
        "cuda": True,
        "name": props.name,
        "memory_gb": round(props.total_memory / 1e9, 1),
        "capability": f"{props.major}.{props.minor}",
        "count": torch.cuda.device_count(),
        "bf16": torch.cuda.is_bf16_supported(),
        "torch": torch.__version__,
        "cuda_runtime": torch.version.cuda,
    }


def _outcomes(session) -> tuple[dict, list[str]]:
    """Every test's outcome (from the terminal reporter, which sees all of them), and the CUDA-only tests that
    were skipped although CUDA is here."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    outcomes: dict[str, str] = {}
    wrongly_skipped = []
    for outcome, reports in reporter.stats.items() if reporter else []:
        for report in reports:
            nodeid = getattr(report, "nodeid", None)
            if not nodeid or outcome not in ("passed", "failed", "skipped", "error", "xfailed", "xpassed"):
                continue
            if outcome == "passed" and getattr(report, "when", "call") != "call":
                continue
            text = outcome
            if outcome == "skipped" and isinstance(report.longrepr, tuple):
                text = f"skipped: {report.longrepr[2]}"
                if CUDA and NEEDS_CUDA in report.longrepr[2]:
                    wrongly_skipped.append(nodeid)
            outcomes[nodeid] = text
    return outcomes, wrongly_skipped


def pytest_sessionfinish(session, exitstatus):
    target = os.environ.get("AIGC_GPU_JSON")
    if not target:
        return
    outcomes, wrongly_skipped = _outcomes(session)
    if wrongly_skipped and session.exitstatus == 0:
        session.exitstatus = 1
    payload = {
        "benchmark": "gpu",
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "device": _device(),
        "wall_s": round(time.time() - _STARTED, 1),
        "pytest_exit_status": int(session.exitstatus),
        "results": _RECORDS,
        "tests": outcomes,
        "cuda_tests_skipped_with_cuda_present": wrongly_skipped,
    }
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text(json.dumps(payload, indent=2) + "\n")
