"""The mouse wheel changes a spin box, slider or drop-down only once the user has clicked or tabbed into it.

Without this, scrolling a column of settings changed whatever value passed under the pointer (the writer's
Top-p went from 0.95 to 0.70 while a user scrolled, silently, and the change was saved). One filter on the
application covers every such widget, present and future: a wheel event over one that does not have focus
is refused and passed on to its parent, so the column scrolls instead.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QScrollBar, QSlider, QWidget

GUARDED = (QAbstractSpinBox, QComboBox, QSlider)  # QScrollBar is an QAbstractSlider too, and must scroll


class WheelGuard(QObject):
    """An application-wide event filter (install it on the QApplication)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.Wheel
            and isinstance(watched, GUARDED)
            and not isinstance(watched, QScrollBar)
            and not _focused(watched)
            and isinstance(event, QWheelEvent)
        ):
            event.setAccepted(_pass_up(watched, event))  # the parents get it: a scroll area scrolls
            return True  # and the value stays
        return super().eventFilter(watched, event)


def _pass_up(widget: QWidget, event: QWheelEvent) -> bool:
    """Offer ``event`` to ``widget``'s parents, nearest first, until one takes it (Qt's own propagation, which
    an event filter that keeps the event from its widget also stops); True when one did."""
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


def _focused(widget: QWidget) -> bool:
    """The widget has focus, or its own line edit / popup does (a spin box's editor, an open drop-down)."""
    return widget.hasFocus() or (isinstance(widget, QComboBox) and widget.view().isVisible())
