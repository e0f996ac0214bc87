"""Start-up: the time from launching the process to the main window being shown (target: under 2 s), and
how long the GUI event loop is blocked in the seconds after it (target: under 50 ms).

The time is measured from outside: the parent notes the wall clock, starts a fresh interpreter that builds
the real window offscreen, and the child prints the wall clock once the window is shown and painted.
The stalls are measured inside the real app (``benchmark_helpers.run_app``) by a 10 ms timer probe while
it does what ``studio.app.main`` starts after the window: device detection and the last project (on a first
launch, the demo project is built), each stall over 20 ms listed with the jobs then running.
"""

import json
import os
import statistics
import subprocess
import sys
import time

import pytest

from .benchmark_helpers import run_app

CHILD = """
import time
from studio.app import build_window, create_application
app = create_application()
window = build_window()
app.processEvents()
print(time.time())
"""

pytestmark = pytest.mark.benchmark
STALL_SECONDS = 12.0  # the start-up jobs end within about 5 s on 2 cores
STALL_TARGET_MS = 50.0


def _launch_once(home) -> float:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "AIGC_STUDIO_HOME": str(home)}
    launched = time.time()
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    return float(out.stdout.split()[-1]) - launched


def test_window_shown_under_two_seconds(tmp_path, record_benchmark):
    _launch_once(tmp_path)  # warm the OS file cache, as a second launch by a user would be
    samples = [_launch_once(tmp_path) for _ in range(5)]
    self_test = subprocess.run(
        [sys.executable, "-m", "studio", "--self-test"], capture_output=True, text=True, timeout=120
    )
    report = json.loads(self_test.stdout.strip().splitlines()[-1])
    record_benchmark(
        "startup",
        {
            "window_shown_s": {
                "median": round(statistics.median(samples), 3),
                "max": round(max(samples), 3),
                "samples": [round(s, 3) for s in samples],
            },
            "self_test": report,
        },
    )
    assert statistics.median(samples) < 2.0


def test_start_up_stalls_the_gui_under_50_ms(tmp_path, record_benchmark):
    launches = {}
    for launch in ("first", "second"):  # the second reopens the demo project the first one built
        figures = run_app(tmp_path / "home", STALL_SECONDS)
        assert figures["project"] == "Demo Project", launch
        launches[launch] = {
            key: figures[key] for key in ("window_shown_s", "worst_stall_ms", "probe_ticks", "stalls_over_20ms")
        }
    record_benchmark("startup_stall", {"seconds_probed": STALL_SECONDS, "target_ms": STALL_TARGET_MS, **launches})
    worst = max(launch["worst_stall_ms"] for launch in launches.values())
    assert worst < STALL_TARGET_MS, f"the GUI stalled {worst:.0f} ms at start-up"
