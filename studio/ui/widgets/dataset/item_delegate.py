"""Two-line rows for the list of a project's datasets: kind icon, bold name, muted count."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QFont, QIcon, QPainter
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from studio.ui import theme


class DatasetItemDelegate(QStyledItemDelegate):
    """Dataset list rows: kind icon, name, and a muted line with the count."""

    SUBTITLE_ROLE = Qt.ItemDataRole.UserRole + 1

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        return QSize(120, 48)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        self.initStyleOption(option, index)
        style = option.widget.style() if option.widget else QApplication.style()
        text, decoration = str(option.text), QIcon(option.icon)  # copies: the option's fields are references
        option.text, option.icon = "", QIcon()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        painter.save()
        rect = option.rect.adjusted(10, 0, -8, 0)
        decoration.paint(painter, QRect(rect.left(), rect.center().y() - 10, 20, 20))
        text_rect = rect.adjusted(30, 6, 0, -6)
        bold = QFont(option.font)
        bold.setWeight(QFont.Weight.DemiBold)
        painter.setFont(bold)
        painter.setPen(theme.qcolor("#23263A"))
        top = QRect(text_rect.left(), text_rect.top(), text_rect.width(), text_rect.height() // 2)
        painter.drawText(
            top,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
            painter.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, top.width()),
        )
        painter.setFont(option.font)
        painter.setPen(theme.qcolor("#6B7090"))
        bottom = QRect(text_rect.left(), top.bottom() + 2, text_rect.width(), text_rect.height() - top.height())
        painter.drawText(
            bottom, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, str(index.data(self.SUBTITLE_ROLE) or "")
        )
        painter.restore()
