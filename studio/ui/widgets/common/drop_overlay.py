"""The highlighted hint laid over a panel while files are dragged over it.

It can offer two places to let go: the whole overlay (the default target: the Dataset panel's "New dataset …")
and a card inside it (its "Add to …"). The card lights up while the pointer is over it, and :meth:`outcome`
is what letting go there does, in the words the overlay shows, so a panel (and a test) can check that the hint
tells the truth.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QFrame, QGraphicsOpacityEffect, QLabel, QSizePolicy, QVBoxLayout, QWidget

from studio.ui import theme
from studio.ui.icons import icon

MAIN, CARD = "main", "card"  # the two targets: the overlay as a whole, and the card inside it
BODY_WIDTH = 560  # the hint wraps at a readable width on a wide panel


class DropCard(QFrame):
    """The second target: a card with its own title and what happens; drawn highlighted while it is active."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("dropCard")
        self.active = False
        self.title = QLabel(objectName="dropTitle", alignment=Qt.AlignmentFlag.AlignCenter)
        self.body = QLabel(objectName="dropBody", alignment=Qt.AlignmentFlag.AlignCenter)
        self.body.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 14, 20, 14)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addWidget(self.body)
        self.setMinimumHeight(96)  # a target the pointer finds without aiming
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)

    def set_active(self, active: bool) -> None:
        if active != self.active:
            self.active = active
            self.update()

    def paintEvent(self, event) -> None:  # Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        accent = theme.qcolor(theme.ACCENT)
        pen = QPen(accent if self.active else theme.qcolor("#B4B4EE"), 2)
        if not self.active:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(theme.qcolor("#ECECFC") if self.active else theme.qcolor("#FFFFFF"))
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(1, 1, -1, -1), 10, 10)


class DropOverlay(QFrame):
    """The highlighted hint over the whole panel while files are dragged over it."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("dropOverlay")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        picture = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        picture.setPixmap(icon("import").pixmap(QSize(48, 48)))
        self.title = QLabel("Drop to import", objectName="dropTitle", alignment=Qt.AlignmentFlag.AlignCenter)
        self.body = QLabel(objectName="dropBody", alignment=Qt.AlignmentFlag.AlignCenter)
        self.body.setWordWrap(True)
        self.card = DropCard(self)
        self.card.hide()
        self._texts = {MAIN: "", CARD: ""}
        self.active = MAIN
        main = QWidget()  # the main target's words, which step back while the card is chosen
        words = QVBoxLayout(main)
        words.setContentsMargins(0, 0, 0, 0)
        words.setSpacing(8)
        words.addWidget(picture)
        words.addWidget(self.title)
        words.addWidget(self.body)
        self._fade = QGraphicsOpacityEffect(main)
        self._fade.setOpacity(1.0)
        main.setGraphicsEffect(self._fade)
        layout = QVBoxLayout(self)  # the main words in the middle, where a drop lands by default; the card
        layout.setContentsMargins(24, 24, 24, 28)  # low, so it is chosen only on purpose
        layout.setSpacing(18)
        layout.addStretch(1)
        layout.addWidget(main, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)
        self._main = main
        layout.addWidget(self.card, 0, Qt.AlignmentFlag.AlignHCenter)
        self.hide()

    def show_for(self, body: str) -> None:
        """One target: the whole overlay, with ``body`` saying what a drop does (the title stays as set)."""
        self.show_targets(self.title.text(), body)

    def show_targets(self, title: str, body: str, card_title: str = "", card_body: str = "") -> None:
        """The overlay as the default target (``title``, ``body``), and the card as a second one when
        ``card_title`` is given."""
        self.title.setText(title)
        self.body.setText(body)
        self.card.title.setText(card_title)
        self.card.body.setText(card_body)
        self._texts = {MAIN: body, CARD: card_body}
        self.card.setVisible(bool(card_title))
        self.set_active(MAIN)
        self.setGeometry(self.parentWidget().rect().adjusted(10, 10, -10, -10))
        self.raise_()
        self.show()

    def resizeEvent(self, event) -> None:  # Qt's name
        super().resizeEvent(event)
        # A wrapped label asks for little width: give the words and the card a readable measure, as wide as
        # fits (each then takes the height its lines need).
        width = max(120, min(BODY_WIDTH, self.width() - 60))
        self._main.setFixedWidth(width)
        self.card.setFixedWidth(width)

    def target_at(self, pos: QPoint) -> str:
        """The target under ``pos`` (in the parent's coordinates): the card's where it is shown, else the main one."""
        if self.card.isVisible() and self.card.rect().contains(self.card.mapFrom(self.parentWidget(), pos)):
            return CARD
        return MAIN

    def follow(self, pos: QPoint) -> str:
        """Light up the target under ``pos`` (the pointer moved) and return it."""
        target = self.target_at(pos)
        self.set_active(target)
        return target

    def set_active(self, target: str) -> None:
        self.active = target
        self.card.set_active(target == CARD)
        self._fade.setOpacity(1.0 if target == MAIN else 0.4)

    def outcome(self) -> str:
        """What letting go now does, as the overlay words it."""
        return self._texts[self.active]
