"""``aigc-studio --self-test`` in a fresh interpreter of the installed environment (CI's venv is made from a
fresh clone): the window, a real training job, a cancel, and the audio stack (torchaudio loads beside torch,
resamples and makes a mel spectrogram)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_self_test_passes_and_reports_the_audio_stack(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "AIGC_STUDIO_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "studio", "--self-test"], capture_output=True, text=True, env=env, timeout=110
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["audio"] == "ok", report
    assert report["job"] == "succeeded" and report["cancel"] == "cancelled", report
    assert done.returncode == 0, done.stderr
