"""``aigc-studio --self-test``: prove in a few seconds that an install (or a packaged bundle) really works.

It builds the real main window offscreen, runs one real training job (a few optimizer steps of a tiny torch
model) and one job that is cancelled, both through the QThread runner, exercises the audio stack (torchaudio
must load beside torch: a resample and a mel spectrogram, reported as ``"audio": "ok"`` or the sentence that
says what is wrong), and prints one line of JSON. Any
failure exits non-zero. Settings go to a throwaway folder, so a user's own are never touched.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

from studio import STARTED_AT
from studio.core.audio_check import check_audio_stack
from studio.core.smoke import TinyFit, WaitForCancel
from studio.logs import setup_logging


def _wait(runner, timeout_s: float) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    if not runner.is_running():
        return
    loop = QEventLoop()
    runner.finished.connect(loop.quit)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()


def run_self_test() -> int:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    with tempfile.TemporaryDirectory(prefix="aigc-selftest-") as home:
        os.environ["AIGC_STUDIO_HOME"] = home
        report: dict = {}
        try:
            report = _run(STARTED_AT)
        except Exception as exc:  # noqa: BLE001 - the self-test reports, it does not crash
            report = {"error": f"{type(exc).__name__}: {exc}"}
        ok = (
            report.get("job") == "succeeded"
            and report.get("cancel") == "cancelled"
            and len(report.get("panels", [])) == 5
            and report.get("audio") == "ok"
        )
        print(json.dumps(report), flush=True)
        return 0 if ok else 1


def _run(started_at: float) -> dict:
    from studio.app import build_window, create_application  # loads PySide6 (the CLI imports this module)

    setup_logging()
    app = create_application([sys.argv[0]])
    window = build_window()
    app.processEvents()
    startup_s = time.perf_counter() - started_at

    devices = window.detect_devices()
    _wait(devices, 60)
    device = window.device_button.current

    fit = window.registry.start(TinyFit(steps=20))
    _wait(fit, 120)

    waiter = window.registry.start(WaitForCancel(timeout_s=30))
    app.processEvents()
    time.sleep(0.1)
    asked = time.perf_counter()
    waiter.cancel()
    _wait(waiter, 10)
    cancel_s = time.perf_counter() - asked

    report = {
        "panels": list(window.panels),
        "device": device.id if device else "unknown",
        "job": fit.state,
        "cancel": waiter.state,
        "startup_s": round(startup_s, 3),
        "cancel_s": round(cancel_s, 3),
        "audio": check_audio_stack(),
    }
    if fit.result:
        report["loss_start"] = round(fit.result["loss_start"], 4)
        report["loss_end"] = round(fit.result["loss_end"], 4)
    if fit.error:
        report["error"] = fit.error
    window.close()
    return report
