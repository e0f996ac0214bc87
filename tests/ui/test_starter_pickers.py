"""The shipped starter models appear in the Image canvas and Text writer pickers as "Starter · <name>",
so both panels can generate on a first launch, before any training."""

from __future__ import annotations

from studio.ui.backends.canvas import CanvasBackend
from studio.ui.backends.writer import WriterBackend
from studio.ui.widgets.canvas.controls import CanvasControls
from studio.ui.widgets.writer.controls import WriterControls


def test_starter_models_are_offered_in_both_pickers(qtbot, tmp_path):
    images = CanvasBackend().list_models(None)
    texts = WriterBackend().list_models(None)  # no project open yet: the writer still has a model
    assert {"starter-shapes"} <= {m["run_id"] for m in images if m["source"] == "starter"}
    assert {"starter-shakespeare"} <= {m["run_id"] for m in texts if m["source"] == "starter"}

    canvas, writer = CanvasControls(), WriterControls()
    qtbot.addWidget(canvas)
    qtbot.addWidget(writer)
    canvas.set_models(images)
    writer.set_models(texts)
    assert "Starter · starter-shapes" in [canvas.model.itemText(i) for i in range(canvas.model.count())]
    assert writer.select("starter-shakespeare")
    assert writer.model.currentText() == "Starter · starter-shakespeare" and writer.step() is not None
