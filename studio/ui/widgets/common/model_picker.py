"""The Model and Checkpoint choice the creation panels share (Image canvas, Text writer).

A mixin for a controls card that owns ``self.model`` and ``self.checkpoint`` (QComboBoxes), a
``model_changed`` signal and ``self.models`` (the backend's model dicts: ``run_id``, ``steps``, ``dataset``
…); the card supplies :meth:`_update_facts` (what it says about the chosen model) and may override
:meth:`model_title`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QVBoxLayout, QWidget

from studio.ui.widgets.common.run_list import run_title


def model_title(info: dict) -> str:
    """The user's name for a run of the project (``name``, when the model list carries it), else ``Nov 25,
    20:14 · gan``; ``Starter · name`` for a model shipped in models/. The tooltip keeps the run's folder name."""
    if info.get("source") == "starter":
        return f"Starter · {info.get('run_id')}"
    return run_title(info)


def checkpoint_items(steps: list[int], chosen: int | None = None) -> list[tuple[str, int]]:
    """A Checkpoint list's rows (text, step), newest first: "Step 1,200  (newest)", and "(chosen)" beside the step
    the user chose on the comparison board, which the pickers select by default."""
    rows = []
    for i, value in enumerate(sorted(steps, reverse=True)):
        notes = [word for word, on in (("newest", i == 0), ("chosen", value == chosen)) if on]
        rows.append((f"Step {value:,}" + (f"  ({', '.join(notes)})" if notes else ""), value))
    return rows


class ModelPickerMixin:
    def model_title(self, info: dict) -> str:
        return model_title(info)

    def _update_facts(self) -> None:
        raise NotImplementedError

    @Slot()
    def _on_model(self, *_args) -> None:
        """Another run chosen: its newest checkpoint, its facts, and tell the panel."""
        self._fill_checkpoints(None)
        self._update_facts()
        self.model_changed.emit()

    @Slot()
    def _on_checkpoint(self, *_args) -> None:
        self.model_changed.emit()

    def set_models(self, models: list[dict]) -> None:
        """Fill the Model list; a refreshed list keeps the chosen run and checkpoint when they still exist, unless
        the run's chosen checkpoint changed since (Training ▸ "Use this checkpoint"): then that one is shown."""
        current, step = self.run_id(), self.step()
        before = (self.info() or {}).get("chosen_step")
        after = next((m.get("chosen_step") for m in models if m.get("run_id") == current), None)
        if after is not None and after != before:
            step = after
        self.models = list(models)
        self.model.blockSignals(True)
        self.model.clear()
        for info in self.models:
            self.model.addItem(self.model_title(info), info["run_id"])
            tip = f"{info['run_id']}" + (f", trained on “{info['dataset']}”" if info.get("dataset") else "")
            self.model.setItemData(self.model.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.model.blockSignals(False)
        if not self.select(current, step):
            self._fill_checkpoints(None)
            self._update_facts()
        self.model_changed.emit()

    def select(self, run_id: str | None, step: int | None = None) -> bool:
        """Choose a run (and a checkpoint step, else the newest) without announcing it; False if not listed."""
        index = self.model.findData(run_id) if run_id else -1
        if index < 0:
            return False
        self.model.blockSignals(True)
        self.model.setCurrentIndex(index)
        self.model.blockSignals(False)
        self._fill_checkpoints(step)
        self._update_facts()
        return True

    def _fill_checkpoints(self, step: int | None) -> None:
        """List the run's checkpoints, newest first, and select ``step``; with none given, the run's chosen one
        (see :func:`checkpoint_items`), else the newest."""
        info = self.info() or {}
        steps = sorted(int(s) for s in info.get("steps") or [])
        chosen = info.get("chosen_step")
        self.checkpoint.blockSignals(True)
        self.checkpoint.clear()
        for text, value in checkpoint_items(steps, chosen):
            self.checkpoint.addItem(text, value)
        if step is None and chosen in steps:
            step = chosen
        if step is not None and self.checkpoint.findData(int(step)) >= 0:
            self.checkpoint.setCurrentIndex(self.checkpoint.findData(int(step)))
        self.checkpoint.setEnabled(bool(steps))
        if not steps:
            self.checkpoint.addItem("No checkpoint yet", None)
        self.checkpoint.blockSignals(False)

    def info(self) -> dict | None:
        run_id = self.run_id()
        return next((m for m in self.models if m["run_id"] == run_id), None)

    def run_id(self) -> str | None:
        data = self.model.currentData()
        return str(data) if data else None

    def step(self) -> int | None:
        data = self.checkpoint.currentData()
        return int(data) if data is not None else None


def action_bar(primary: QWidget, stop: QWidget, hint: QWidget) -> QFrame:
    """A creation panel's main buttons (Generate or Synthesize, then Stop) over the hint that says why the main
    one is disabled; the panel pins it under its controls column (Panel.controls_column)."""
    bar = QFrame(objectName="actionBar")
    layout = QVBoxLayout(bar)
    layout.setContentsMargins(0, 10, 14, 0)
    layout.setSpacing(6)
    buttons = QHBoxLayout()
    buttons.setSpacing(8)
    buttons.addWidget(primary, 1)
    buttons.addWidget(stop)
    layout.addLayout(buttons)
    layout.addWidget(hint)
    return bar
