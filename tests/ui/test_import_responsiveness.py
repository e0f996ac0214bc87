"""An import runs on a worker thread (and decodes in a process pool): the window keeps responding."""

import io

from PIL import Image, ImageDraw

from studio.core.datasets.importer import ImportDataset
from studio.workers.registry import JobRegistry


def _make_jpegs(folder, count):
    folder.mkdir()
    for i in range(count):
        image = Image.new("RGB", (640, 480), (i % 255, 90, 160))
        ImageDraw.Draw(image).ellipse([i % 300, 40, i % 300 + 200, 300], fill=(250, 200, 30))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85)
        (folder / f"{i:04d}.jpg").write_bytes(buffer.getvalue())


def test_gui_event_loop_keeps_running_during_an_import(qtbot, tmp_path, stall_probe):
    _make_jpegs(tmp_path / "photos", 150)
    registry = JobRegistry()
    progress = []
    stall_probe.start()
    runner = registry.start(ImportDataset(tmp_path / "P", "photos", [tmp_path / "photos"], workers=2))
    runner.progress.connect(lambda fraction, message: progress.append(fraction))
    with qtbot.waitSignal(runner.succeeded, timeout=120000):
        pass
    worst = stall_probe.stop()
    assert runner.result["ok"] == 150
    assert stall_probe.ticks > 10 and progress[-1] == 1.0
    assert worst < 0.25, f"the GUI thread was blocked for {worst * 1000:.0f} ms"
