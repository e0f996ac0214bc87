"""The wheel changes a spin box, slider or drop-down only once it has focus; otherwise the column scrolls."""

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QComboBox, QDoubleSpinBox, QScrollArea, QSlider, QVBoxLayout, QWidget


def _wheel(widget, notches: int = -1) -> None:
    """One real wheel turn over the middle of ``widget``, delivered the way the window system's would be."""
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(
        centre,
        QPointF(widget.mapToGlobal(centre.toPoint())),
        QPoint(0, 0),
        QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def _column(qtbot):
    """A scrolling column of settings, as the writer's and the Training panel's are."""
    column = QWidget()
    layout = QVBoxLayout(column)
    top_p = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, value=0.95)
    choice = QComboBox()
    choice.addItems(["fp32", "bf16", "fp16"])
    slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=99, value=60)
    for widget in (top_p, choice, slider):
        layout.addWidget(widget)
    layout.addSpacing(2000)  # taller than the view: the column scrolls
    area = QScrollArea()
    area.setWidget(column)
    area.resize(300, 200)
    qtbot.addWidget(area)
    area.show()
    qtbot.waitExposed(area)
    return area, top_p, choice, slider


def test_the_wheel_over_an_unfocused_setting_scrolls_the_column_and_leaves_the_value(qtbot, studio_app):
    area, top_p, choice, slider = _column(qtbot)
    area.setFocus()
    for _ in range(3):
        _wheel(top_p)
        _wheel(choice)
        _wheel(slider)
    assert top_p.value() == 0.95 and choice.currentIndex() == 0 and slider.value() == 60
    assert area.verticalScrollBar().value() > 0  # the wheel went to the column instead


def test_the_wheel_changes_a_setting_that_has_focus(qtbot, studio_app):
    _area, top_p, choice, slider = _column(qtbot)
    top_p.setFocus()
    qtbot.waitUntil(top_p.hasFocus)
    _wheel(top_p)
    assert top_p.value() != 0.95
    choice.setFocus()
    qtbot.waitUntil(choice.hasFocus)
    _wheel(choice)
    assert choice.currentIndex() == 1
    slider.setFocus()
    qtbot.waitUntil(slider.hasFocus)
    _wheel(slider)
    assert slider.value() != 60
