"""Start-up time: from launching the process to the main window being shown (target: under 2 s).

Measured from outside: the parent notes the wall clock, starts a fresh interpreter that builds the real
window offscreen, and the child prints the wall clock once the window is shown and painted.
"""

import json
import os
import statistics
import subprocess
import sys
import time

import pytest

CHILD = """
import time
from studio.app import build_window, create_application
app = create_application()
window = build_window()
app.processEvents()
print(time.time())
"""

pytestmark = pytest.mark.benchmark


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
