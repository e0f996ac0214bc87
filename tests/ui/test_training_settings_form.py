"""The Training panel's words, as a designer meets them: Advanced settings with human labels and tooltips, choices
as drop-downs, numbers checked with a plain message, "Learn the classes" only for a dataset with classes, the
model's display name in the monitor's title, and the Checkpoints table's Saved column filled.

The engine is the fake of test_training_panel, but with the real family table (its families, presets and defaults
read no torch), so the form shows every real setting.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from layout_audit import cut_texts
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QLineEdit, QStyle, QStyleOptionComboBox
from test_training_panel import FakeBackend

from studio.core.datasets.importer import ImportDataset
from studio.core.jobs import run_job
from studio.core.project import create_project, open_project
from studio.core.training import families, setting_docs
from studio.ui.backends.training import TrainingBackend
from studio.ui.widgets.common.inputs import ComboBox, SpinBox
from studio.ui.widgets.training.checkpoint_list import CheckpointList, saved_words

RAW_NAMES = ("Z dim", "Diffaugment", "R1 gamma", "Adam beta1", "Adam beta2", "Ema decay", "Lr", "N embd")


class TableBackend(FakeBackend):
    """The fake engine with the real family table."""

    def families(self) -> list[dict]:
        return TrainingBackend().families()

    def presets(self, family: str) -> dict:
        return TrainingBackend().presets(family)

    def default_config(self, family: str) -> dict:
        return TrainingBackend().default_config(family)


def _pictures(folder: Path, classes: tuple[str, ...]) -> Path:
    rng = np.random.default_rng(0)
    for label in classes:
        (folder / label).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(folder / label / f"{i}.png")
    return folder


def _project(tmp_path: Path) -> Path:
    """A project with a one-class picture dataset ("icons") and a two-class one ("pets")."""
    root = tmp_path / "Designs"
    create_project(root)
    run_job(ImportDataset(root, "icons", [_pictures(tmp_path / "a", ("icons",))], kind="image", workers=1))
    run_job(ImportDataset(root, "pets", [_pictures(tmp_path / "b", ("cats", "dogs"))], kind="image", workers=1))
    return root


def _panel(qtbot, panel_alone, root: Path, backend=None):
    panel = panel_alone("training")
    panel.backend = backend or TableBackend()
    panel.set_project(open_project(root))
    qtbot.waitUntil(lambda: panel.catalog is not None, timeout=5000)
    return panel


def _choose(qtbot, setup, dataset: str, family: str) -> None:
    setup.select_dataset(dataset)
    index = setup.family.findData(family)
    setup.family.setCurrentIndex(index)
    setup.family.activated.emit(index)  # as a click in the list does


def _type(qtbot, field: QLineEdit, text: str) -> None:
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, text)


def _cut_choices(form) -> list[tuple[str, str]]:
    """(key, choice) for each drop-down choice that would not show whole in its field."""
    cut = []
    for key, field in form.fields.items():
        if isinstance(field, ComboBox) and field.isVisible():
            option = QStyleOptionComboBox()
            field.initStyleOption(option)
            room = field.style().subControlRect(
                QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, field
            )
            for i in range(field.count()):
                if field.fontMetrics().horizontalAdvance(field.itemText(i)) > room.width():
                    cut.append((key, field.itemText(i)))
    return cut


# -- labels, tooltips, choices ------------------------------------------------------------------------------------
def test_every_setting_of_every_family_has_a_human_label_a_tooltip_and_its_kind_of_field(qtbot, studio_app):
    from studio.ui.widgets.training.config import ConfigForm

    form = ConfigForm()
    qtbot.addWidget(form)
    form.setFixedWidth(276)  # the Advanced form's width in the card at 1280×800
    form.show()
    for spec in families.available():
        defaults = families.default_config(spec.id)
        form.set_config(defaults, families.presets(spec.id)["balanced"], keep_overrides=False, family=spec.id)
        for key, value in defaults.items():
            doc = setting_docs.describe(key, spec.id)
            label, field = form._labels[key], form.fields[key]
            assert label.text() == doc.label and label.text() not in RAW_NAMES, (spec.id, key)
            assert doc.tip in field.toolTip() or not field.isEnabled(), (spec.id, key)
            if doc.choices:
                assert isinstance(field, ComboBox), (spec.id, key)
                assert [field.itemData(i) for i in range(field.count())] == list(doc.allowed())
                assert all(field.itemData(i, Qt.ItemDataRole.ToolTipRole) for i in range(field.count()))
            elif isinstance(value, bool):
                assert isinstance(field, QCheckBox)
            elif isinstance(value, int):
                assert isinstance(field, SpinBox) and (field.minimum(), field.maximum()) == (doc.low, doc.high)
            elif isinstance(value, float):
                assert isinstance(field, QLineEdit) and "From " in field.toolTip(), (spec.id, key)
            else:  # a name (style transfer's second dataset): text, no range; the card picks it (setup_card.py)
                assert isinstance(field, QLineEdit) and isinstance(value, str), (spec.id, key)
        assert form.problems() == {}, spec.id  # the preset's own values are all usable
        qtbot.wait(10)
        assert cut_texts(form) == [] and _cut_choices(form) == [], spec.id


def test_advanced_settings_read_plainly_and_fit_the_card(qtbot, studio_app, tmp_path, panel_alone):
    panel = _panel(qtbot, panel_alone, _project(tmp_path))
    setup = panel.setup
    _choose(qtbot, setup, "pets", "gan")
    setup.set_advanced_open(True)
    form = setup.form
    shown = [label.text() for label in form._labels.values()]
    assert not set(shown) & set(RAW_NAMES)
    assert {"Latent size", "Augmentation", "Judge penalty (R1)", "Momentum", "EMA smoothing"} <= set(shown)
    loss = form.fields["loss"]
    assert isinstance(loss, ComboBox) and loss.currentText() == "Hinge"
    assert isinstance(form.fields["precision"], ComboBox) and isinstance(form.fields["fit"], ComboBox)
    # picking a choice is an override the run gets, as the engine spells it
    loss.setCurrentIndex(loss.findData("wgan-gp"))
    assert form.overrides()["loss"] == "wgan-gp" and setup.preset_config("balanced")["loss"] == "wgan-gp"
    # the EMA's smoothing acts only with EMA on, and says so
    ema, decay = form.fields["ema"], form.fields["ema_decay"]
    assert ema.isChecked() and decay.isEnabled()
    qtbot.mouseClick(ema, Qt.MouseButton.LeftButton)
    assert not ema.isChecked() and not decay.isEnabled()
    assert "Acts only when Smoothed copy (EMA) is on" in decay.toolTip()
    # every label, caption and button of the open form is readable at 1280×800
    qtbot.wait(50)
    assert cut_texts(form) == [] and _cut_choices(form) == []
    assert form.width() <= setup.width()


def test_a_number_out_of_range_gets_a_plain_message_and_start_waits(qtbot, studio_app, tmp_path, panel_alone):
    panel = _panel(qtbot, panel_alone, _project(tmp_path))
    setup = panel.setup
    _choose(qtbot, setup, "pets", "gan")
    setup.set_advanced_open(True)
    qtbot.waitUntil(lambda: panel.setup.start_button.isEnabled(), timeout=5000)
    lr = setup.form.fields["lr"]
    _type(qtbot, lr, "5")
    assert setup.form.problem_label.isVisible()
    assert setup.form.problem_label.text() == "Learning rate must be between 1e-07 and 1."
    assert not setup.start_button.isEnabled() and "Learning rate must be" in setup.start_hint.text()
    assert "lr" not in setup.form.overrides()  # the run never gets the unusable value
    _type(qtbot, lr, "3e-4")
    assert not setup.form.problem_label.isVisible() and setup.start_button.isEnabled()
    assert setup.form.overrides()["lr"] == 3e-4
    # a whole number cannot leave its range at all
    steps = setup.form.fields["steps"]
    assert steps.minimum() == 1 and steps.suffix() == ""
    assert setup.form.fields["eval_every"].suffix() == " steps"


def test_learning_the_classes_needs_a_dataset_with_classes(qtbot, studio_app, tmp_path, panel_alone):
    panel = _panel(qtbot, panel_alone, _project(tmp_path))
    setup = panel.setup
    _choose(qtbot, setup, "pets", "gan")
    conditional = setup.form.fields["conditional"]
    qtbot.waitUntil(lambda: "pets" in panel._suggestions, timeout=5000)
    assert conditional.isEnabled() and conditional.isChecked()
    _choose(qtbot, setup, "icons", "gan")  # chosen by hand: no suggestion applies, the data still decides
    qtbot.waitUntil(lambda: not conditional.isEnabled(), timeout=5000)
    assert not conditional.isChecked() and setup.form.config()["conditional"] is False
    assert "2 or more classes" in conditional.toolTip() and "1 class" in conditional.toolTip()
    assert setup.form._labels["conditional"].property("override") is False  # the data's, not the user's change
    _choose(qtbot, setup, "pets", "vae")
    assert conditional is not setup.form.fields["conditional"]
    assert setup.form.fields["conditional"].isEnabled() and setup.form.fields["conditional"].isChecked()


# -- the monitor's title and the checkpoints -------------------------------------------------------------------------
def test_the_title_names_the_model_and_checkpoints_say_when_they_were_saved(qtbot, studio_app, tmp_path, panel_alone):
    panel = _panel(qtbot, panel_alone, _project(tmp_path))
    setup = panel.setup
    _choose(qtbot, setup, "pets", "gan")
    setup.form.set_overrides({"steps": 30})
    qtbot.waitUntil(lambda: setup.start_button.isEnabled(), timeout=5000)
    qtbot.mouseClick(setup.start_button, Qt.MouseButton.LeftButton)
    assert panel.head.title.full_text().startswith("Training Image GAN (DCGAN) on “pets”")
    assert " gan " not in panel.head.title.full_text()
    qtbot.waitUntil(lambda: panel.runner is None, timeout=15000)
    run_id = panel.backend.jobs[-1].run_id
    qtbot.waitUntil(lambda: panel._run_info(run_id) is not None, timeout=5000)
    panel.run_list.select(run_id)  # as a click on the finished run does
    qtbot.waitUntil(lambda: panel.checkpoints.tree.topLevelItemCount() >= 1, timeout=5000)
    saved = panel.checkpoints.tree.topLevelItem(0).text(1)
    assert re.fullmatch(r"\d\d:\d\d", saved), saved  # saved today: the time alone


def test_saved_times_read_as_a_person_says_them():
    now = datetime(2025, 12, 9, 15, 30).astimezone()
    today = datetime(2025, 12, 9, 12, 4).astimezone()
    assert saved_words(today.isoformat(), now) == "12:04"
    assert saved_words(today.astimezone(UTC).isoformat(), now) == "12:04"  # the engine writes UTC
    assert saved_words(datetime(2025, 12, 3, 12, 4).astimezone().timestamp(), now) == "3 Dec 12:04"
    assert saved_words(datetime(2024, 12, 3, 12, 4).astimezone().isoformat(), now) == "3 Dec 2024 12:04"
    assert saved_words("", now) == "" and saved_words("not a date", now) == "" and saved_words(None, now) == ""


def test_a_real_checkpoint_record_fills_the_saved_column(qtbot, studio_app, tmp_path):
    folder = tmp_path / "runs" / "20251209-120400-gan"
    (folder / "checkpoints").mkdir(parents=True)
    created = datetime.now(UTC).isoformat(timespec="seconds")  # as studio/core/training/checkpoints.now() writes
    (folder / "checkpoints" / "step-000200.json").write_text(
        json.dumps({"step": 200, "metrics": {"loss": 0.5}, "created": created, "best": True})
    )
    (folder / "checkpoints" / "step-000200.safetensors").write_bytes(b"weights")
    rows = TrainingBackend().checkpoints(folder)
    assert rows[0]["created"] == created
    table = CheckpointList()
    qtbot.addWidget(table)
    table.set_checkpoints(rows, "gan")
    item = table.tree.topLevelItem(0)
    assert item.text(1) == saved_words(created) and re.fullmatch(r"\d\d:\d\d", item.text(1))
    assert item.toolTip(1).startswith("Saved ")
