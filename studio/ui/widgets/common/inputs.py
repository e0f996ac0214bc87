"""The studio's spin boxes, drop-downs and sliders: the mouse wheel changes one only after it was clicked or tabbed
into.

Qt's own change their value under a passing wheel: scrolling a column of settings changed whatever passed under
the pointer (the writer's Top-p went from 0.95 to 0.70 while a user scrolled, silently, and the change was
saved). These take focus only from a click or Tab, and hand a wheel they do not take to their parents, so the
column scrolls instead. Every panel builds its inputs from these classes (a UI test checks that none is left
out). The check lives in ``wheelEvent``, called for wheel events over these widgets only: an application-wide
event filter would run Python for every event of the app, and slowed the window while jobs shared the GIL.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDoubleSpinBox,
    QSlider,
    QSpinBox,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
    QWidget,
)

MIN_COMBO_CHARACTERS = 12


class _WheelWhenFocused:
    """Mixin for a Qt input widget: wheel events change it only while it has focus."""

    def _init_wheel_focus(self) -> None:
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # Qt's WheelFocus would give it focus on the first turn

    def wheelEvent(self, event: QWheelEvent) -> None:
        if self._takes_wheel():
            super().wheelEvent(event)  # type: ignore[misc]
        else:
            event.setAccepted(pass_wheel_up(self, event))  # type: ignore[arg-type]

    def _takes_wheel(self) -> bool:
        return self.hasFocus()  # type: ignore[attr-defined]


class SpinBox(_WheelWhenFocused, QSpinBox):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_wheel_focus()


class DoubleSpinBox(_WheelWhenFocused, QDoubleSpinBox):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_wheel_focus()


class ComboBox(_WheelWhenFocused, QComboBox):
    """Also: as narrow as ~12 characters when its column is (its longest entry no longer sets a minimum width).
    A model list with "Starter · starter-shakespeare" in it widened the writer's settings column past what a
    1280 × 800 window gives it, and the column's right edge was cut; now the chosen entry is shortened with "…"
    and the open list shows every entry whole."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_wheel_focus()
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(MIN_COMBO_CHARACTERS)

    def showPopup(self) -> None:
        self.view().setMinimumWidth(max(self.width(), self.view().sizeHintForColumn(0) + 24))  # entries whole
        super().showPopup()

    def paintEvent(self, event) -> None:  # Qt's name
        """Draw the chosen entry shortened with "…" where the box is narrower than it (Qt's styles cut it off
        mid-letter). An editable box draws its own line edit, so Qt paints it as usual."""
        if self.isEditable():
            super().paintEvent(event)
            return
        painter = QStylePainter(self)
        option = self._style_option()
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        option.currentText = self.shown_text()
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)

    def shown_text(self) -> str:
        """The chosen entry as the box shows it: whole where it fits, else shortened with "…"."""
        option = self._style_option()
        field = self.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, self
        )
        room = field.width() - 2 - (option.iconSize.width() + 4 if not option.currentIcon.isNull() else 0)
        return self.fontMetrics().elidedText(option.currentText, Qt.TextElideMode.ElideRight, room)

    def _style_option(self) -> QStyleOptionComboBox:
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        return option

    def _takes_wheel(self) -> bool:
        return self.hasFocus() or self.view().isVisible()  # focused, or its list is open


class Slider(_WheelWhenFocused, QSlider):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_wheel_focus()


def pass_wheel_up(widget: QWidget, event: QWheelEvent) -> bool:
    """Offer ``event`` to ``widget``'s parents, nearest first, until one takes it; True when one did. (Qt
    propagates an ignored wheel event itself only when it came from the window system; this also covers events a
    program sends, and the result tells Qt whether to go on.)"""
    position = event.position().toPoint()
    child, parent = widget, widget.parentWidget()
    while parent is not None:
        position = child.mapToParent(position)
        offered = QWheelEvent(
            QPointF(position),
            event.globalPosition(),
            event.pixelDelta(),
            event.angleDelta(),
            event.buttons(),
            event.modifiers(),
            event.phase(),
            event.inverted(),
            event.source(),
        )
        QApplication.sendEvent(parent, offered)
        if offered.isAccepted():
            return True
        if parent.isWindow():
            return False
        child, parent = parent, parent.parentWidget()
    return False
