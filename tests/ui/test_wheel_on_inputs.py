"""The wheel changes a spin box, slider or drop-down only once it has focus; otherwise the column scrolls."""

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from studio.ui.panels import PANEL_CLASSES
from studio.ui.widgets.common.inputs import ComboBox, DoubleSpinBox, Slider, SpinBox


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
    top_p = DoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, value=0.95)
    choice = ComboBox()
    choice.addItems(["fp32", "bf16", "fp16"])
    slider = Slider(Qt.Orientation.Horizontal, minimum=0, maximum=99, value=60)
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


def test_every_input_of_every_panel_is_one_that_waits_for_focus(panel_alone):
    """A spin box, drop-down or slider built from Qt's class directly would change under a passing wheel again."""
    ours = (SpinBox, DoubleSpinBox, ComboBox, Slider)
    inputs = []
    for cls in PANEL_CLASSES:
        panel = panel_alone(cls.panel_id)
        found = panel.findChildren(QWidget)
        inputs += [w for w in found if isinstance(w, (QAbstractSpinBox, QComboBox, QSlider)) and not _in_pyqtgraph(w)]
    assert len(inputs) > 20
    strays = sorted({f"{type(w).__name__} {w.objectName()!r}" for w in inputs if not isinstance(w, ours)})
    assert not strays, strays


def _in_pyqtgraph(widget) -> bool:
    """pyqtgraph's own plot menus (their axis range boxes) are the library's, not the studio's settings."""
    while widget is not None:
        if type(widget).__module__.startswith("pyqtgraph"):
            return True
        widget = widget.parentWidget()
    return False


def test_a_narrow_drop_down_shortens_its_entry_with_an_ellipsis(qtbot, studio_app):
    """Qt's styles cut the chosen entry off mid-letter; the studio's drop-downs end it with "…" instead."""
    combo = ComboBox()
    qtbot.addWidget(combo)
    combo.addItem("Starter · starter-shakespeare, trained on tiny Shakespeare")
    combo.setFixedWidth(150)
    combo.show()
    shown = combo.shown_text()
    assert shown.endswith("…") and len(shown) < len(combo.currentText())
    assert combo.fontMetrics().horizontalAdvance(shown) < 150
    combo.setFixedWidth(600)
    assert combo.shown_text() == combo.currentText()  # whole where it fits
    combo.grab()  # paints through the same text
