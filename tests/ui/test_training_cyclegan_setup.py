"""Training ▸ New run for a family that learns from two datasets (style transfer): the setup card calls the first
dataset "Style A" and offers a "Style B" picker — the project's other picture datasets, and first "Use the two class
folders of …" when style A has exactly two — only for that family; the choice reaches the run's settings (and the
resolved config) as ``dataset_b``; with no possible style B, Start says what to do.

The engine is the fake of test_training_panel with the real family table (test_training_settings_form's
``TableBackend``), recording what a run would be started with.
"""

from __future__ import annotations

from pathlib import Path

from layout_audit import cut_texts
from PySide6.QtCore import Qt
from test_training_panel import _shot
from test_training_settings_form import TableBackend, _choose, _panel, _pictures

from studio.core.datasets.importer import ImportDataset
from studio.core.jobs import run_job
from studio.core.project import create_project, open_project
from studio.core.training import families
from studio.ui.widgets.training.setup_card import SECOND_DATASET

FAMILY = "cyclegan"


class RecordingBackend(TableBackend):
    """The fake engine that remembers the settings each run was started with."""

    def __init__(self) -> None:
        super().__init__()
        self.started: list[dict] = []

    def train_job(self, root, dataset, family, preset, overrides, resume, device):
        self.started.append({"dataset": dataset, "family": family, "preset": preset, "overrides": dict(overrides)})
        return super().train_job(root, dataset, family, preset, overrides, resume, device)


def _styles_project(tmp_path: Path, with_others: bool = True) -> Path:
    """Picture datasets "flat" and "outline" (one class each), "both" (two class folders) and a text dataset."""
    root = tmp_path / "Styles"
    create_project(root)
    run_job(ImportDataset(root, "flat", [_pictures(tmp_path / "a", ("flat",))], kind="image", workers=1))
    if with_others:
        run_job(ImportDataset(root, "outline", [_pictures(tmp_path / "b", ("outline",))], kind="image", workers=1))
        run_job(ImportDataset(root, "both", [_pictures(tmp_path / "c", ("flat", "outline"))], kind="image", workers=1))
        project = open_project(root)
        project.datasets["copy"] = {"kind": "text", "items": 12, "path": "datasets/copy"}
        project.save()
    return root


def _entries(setup) -> list[tuple[str, object]]:
    return [(setup.second.itemText(i), setup.second.itemData(i)) for i in range(setup.second.count())]


def _facts_read(qtbot, panel, dataset: str) -> None:
    qtbot.waitUntil(lambda: dataset in panel.setup._facts and panel.suggest_slot.runner is None, timeout=10000)


def test_a_second_dataset_is_asked_for_only_by_the_family_that_needs_it(qtbot, panel_alone, tmp_path):
    assert [s.id for s in families.available() if SECOND_DATASET in s.defaults] == [FAMILY]  # the cue is the table's
    backend = RecordingBackend()
    panel = _panel(qtbot, panel_alone, _styles_project(tmp_path), backend)
    setup = panel.setup
    _choose(qtbot, setup, "flat", "gan")
    _facts_read(qtbot, panel, "flat")
    assert not setup.second.isVisible() and setup.dataset_label.text() == "Dataset"

    _choose(qtbot, setup, "flat", FAMILY)
    assert setup.second.isVisible() and setup.second_label.text() == "Style B"
    assert setup.dataset_label.text() == "Style A"
    # the other picture datasets (no text dataset, not style A itself); "flat" has one class: no class-folder entry
    assert [data for _, data in _entries(setup)] == ["both", "outline"]
    assert "two class folders" in setup.second_hint.text() and setup.second_hint.isVisible()
    setup.second.setCurrentIndex(setup.second.findData("outline"))  # the user picks style B
    assert setup.form.overrides()[SECOND_DATASET] == "outline"
    field = setup.form.fields[SECOND_DATASET]  # Advanced shows it, fixed: the picker above decides
    assert field.text() == "outline" and not field.isEnabled() and "Style B" in field.toolTip()
    assert setup.start_button.isEnabled(), setup.start_hint.text()
    setup.set_advanced_open(True)
    qtbot.wait(50)  # the opened form settles
    _shot(panel, tmp_path, "training-cyclegan-style-b.png")
    assert cut_texts(panel) == []

    panel.setup.select_preset("fast")
    panel.setFocus()
    qtbot.keyClick(panel, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Return starts the run
    qtbot.waitUntil(lambda: bool(backend.started), timeout=5000)
    started = backend.started[-1]
    assert started["family"] == FAMILY and started["dataset"] == "flat"
    assert started["overrides"][SECOND_DATASET] == "outline"
    config = families.resolve_config(FAMILY, started["preset"], started["overrides"], "cpu")
    assert config[SECOND_DATASET] == "outline"  # what the engine will train with
    qtbot.waitUntil(lambda: panel.runner is None, timeout=30000)

    # another model: the picker goes, and so does the setting
    _choose(qtbot, setup, "flat", "gan")
    assert not setup.second.isVisible() and SECOND_DATASET not in setup.form.overrides()
    assert setup.dataset_label.text() == "Dataset"


def test_a_dataset_with_two_class_folders_offers_them_first(qtbot, panel_alone, tmp_path):
    panel = _panel(qtbot, panel_alone, _styles_project(tmp_path), RecordingBackend())
    setup = panel.setup
    _choose(qtbot, setup, "both", FAMILY)
    _facts_read(qtbot, panel, "both")
    entries = _entries(setup)
    assert entries[0] == ("Use the two class folders of “both”", "") and [d for _, d in entries[1:]] == [
        "flat",
        "outline",
    ]
    assert setup.second_dataset() == "" and "“both” has two class folders" in setup.second_hint.text()
    assert SECOND_DATASET not in setup.form.overrides()  # "" is the setting's own default: the class folders
    assert setup.form.config()[SECOND_DATASET] == "" and setup.start_button.isEnabled()
    setup.second.setCurrentIndex(2)
    assert setup.form.overrides()[SECOND_DATASET] == "outline"
    setup.second.setCurrentIndex(0)
    assert SECOND_DATASET not in setup.form.overrides()


def test_without_a_possible_style_b_start_says_what_to_do(qtbot, panel_alone, tmp_path):
    panel = _panel(qtbot, panel_alone, _styles_project(tmp_path, with_others=False), RecordingBackend())
    setup = panel.setup
    _choose(qtbot, setup, "flat", FAMILY)
    _facts_read(qtbot, panel, "flat")
    assert _entries(setup) == [("No other dataset yet", None)] and not setup.second.isEnabled()
    assert not setup.start_button.isEnabled()
    assert "Choose the Style B dataset" in setup.start_hint.text() and "two class folders" in setup.start_hint.text()
    _choose(qtbot, setup, "flat", "gan")
    assert setup.start_button.isEnabled()


def test_the_style_b_choice_comes_back_after_a_restart(qtbot, panel_alone, tmp_path):
    root = _styles_project(tmp_path)
    panel = _panel(qtbot, panel_alone, root, RecordingBackend())
    _choose(qtbot, panel.setup, "flat", FAMILY)
    _facts_read(qtbot, panel, "flat")
    panel.setup.second.setCurrentIndex(panel.setup.second.findData("outline"))  # not the first entry
    state = panel.save_state()

    again = panel_alone("training")
    again.backend = RecordingBackend()
    again.restore_state(state)
    again.set_project(open_project(root))
    qtbot.waitUntil(lambda: again.catalog is not None, timeout=5000)
    _facts_read(qtbot, again, "flat")
    assert again.setup.family_name() == FAMILY and again.setup.second_dataset() == "outline"
    assert again.setup.form.overrides()[SECOND_DATASET] == "outline"
