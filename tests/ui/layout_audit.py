"""Find text a widget shows cut off: what the 1280×800 layout test checks on every panel.

A widget's text is cut when the space the layout gives it is less than the text needs. Qt knows what a widget
needs (its size hint: the text's font-metrics width plus icon, padding and frame as the style draws them), so
for buttons, check boxes and single-line labels the check is "visible width < size-hint width". Word-wrapped
labels need their height-for-width. Tabs compare each tab's rectangle with the tab's size hint; table and tree
headers compare each visible section with its title's width. A label that elides on purpose
(``ElidedLabel``) passes when its tooltip holds the full text, as the issue asks.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QScrollArea,
    QTabBar,
    QWidget,
)

from studio.ui.widgets.common.elided_label import ElidedLabel

SLACK_PX = 1  # rounding between font metrics and layout


def cut_texts(root: QWidget) -> list[str]:
    """Every visible widget under ``root`` whose text does not fit, as "Class 'text' (has W px, needs N px)"."""
    problems: list[str] = []
    for widget in root.findChildren(QWidget):
        if not widget.isVisibleTo(root) or not widget.isVisible() or widget.width() <= 0:
            continue
        if isinstance(widget, ElidedLabel):
            problems += _elided(widget)
        elif isinstance(widget, QAbstractButton):
            problems += _fits(widget, widget.text())
        elif isinstance(widget, QLabel):
            problems += _label(widget)
        elif isinstance(widget, QTabBar):
            problems += _tabs(widget)
        elif isinstance(widget, QHeaderView):
            problems += _header(widget)
        problems += _clipped(widget)
    return problems


def _clipped(widget: QWidget) -> list[str]:
    """A control that a scroll area's viewport cuts on the right: the column is wider than its view (vertical
    scrolling is how a column shows more; sideways, the user never finds the rest)."""
    if isinstance(widget, (QAbstractScrollArea, QScrollArea)) or not _is_control(widget):
        return []
    area = _scroll_area_of(widget)
    if area is None:
        return []
    viewport = area.viewport()
    right = widget.mapTo(viewport, QPoint(widget.width(), 0)).x()
    if right > viewport.width() + SLACK_PX:
        text = getattr(widget, "text", lambda: "")() or widget.objectName()
        return [_describe(widget, str(text), viewport.width(), right) + " cut by its scroll area"]
    return []


def _is_control(widget: QWidget) -> bool:
    return isinstance(widget, (QAbstractButton, QLabel, QAbstractSpinBox, QComboBox, QLineEdit, QAbstractSlider))


def _scroll_area_of(widget: QWidget) -> QScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QScrollArea) and parent.widget() is not None and parent.widget().isAncestorOf(widget):
            return parent
        parent = parent.parentWidget()
    return None


def _describe(widget: QWidget, text: str, has: int, needs: int) -> str:
    name = widget.objectName() or type(widget).__name__
    return f"{type(widget).__name__} {name!r} {text[:60]!r} (has {has} px, needs {needs} px)"


def _fits(widget: QWidget, text: str) -> list[str]:
    if not text.strip():
        return []
    needs = widget.sizeHint().width()
    return [_describe(widget, text, widget.width(), needs)] if widget.width() + SLACK_PX < needs else []


def _label(label: QLabel) -> list[str]:
    text = label.text()
    if not text.strip() or (label.pixmap() is not None and not label.pixmap().isNull()):
        return []
    if label.wordWrap():
        needs = label.heightForWidth(label.width())
        if needs > label.height() + SLACK_PX:
            return [_describe(label, text, label.height(), needs) + " tall"]
        return []
    return _fits(label, text)


def _elided(label: ElidedLabel) -> list[str]:
    full = label.full_text() if hasattr(label, "full_text") else label.text()
    shown = label.text()
    if shown != full and full not in (label.toolTip() or ""):
        return [_describe(label, full, label.width(), label.fontMetrics().horizontalAdvance(full)) + " no tooltip"]
    return []


def _tabs(bar: QTabBar) -> list[str]:
    problems = []
    for index in range(bar.count()):
        if not bar.isTabVisible(index):
            continue
        has, needs = bar.tabRect(index).width(), bar.tabSizeHint(index).width()
        if has + SLACK_PX < needs:
            problems.append(_describe(bar, bar.tabText(index), has, needs))
    return problems


def _header(header: QHeaderView) -> list[str]:
    model = header.model()
    if model is None:
        return []
    problems = []
    metrics = header.fontMetrics()
    for section in range(header.count()):
        if header.isSectionHidden(section):
            continue
        text = str(model.headerData(section, header.orientation()) or "")
        has = header.sectionSize(section)
        needs = metrics.horizontalAdvance(text) + 12  # the style's padding either side of a section title
        if text and has + SLACK_PX < needs:
            problems.append(_describe(header, text, has, needs))
    return problems
