"""The transparency choice made before an import: how a new picture dataset stores pictures with see-through areas.

It sits beside the Import buttons, so the choice is made where files come in rather than only after the fact
(Health ▸ Transparency… changes it for a dataset later, as an undoable fix). It decides for new datasets only:
files added to an existing dataset follow that dataset's recorded choice (:meth:`ImportOptions.following`), so
one dataset never mixes flattened and kept pictures. A compact button with a menu ("Transparency: white ▾"), not
a labelled drop-down: the top bar must not widen the window's minimum.
"""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtGui import QAction, QActionGroup, QColor
from PySide6.QtWidgets import QColorDialog, QMenu, QPushButton

from studio.core.datasets.base import BLACK, FLATTEN, KEEP_ALPHA, WHITE, ImportOptions, clamp_colour, colour_name

# (menu words, transparency, colour): None for "a colour…", which asks for one. Health ▸ Transparency… offers the same.
TRANSPARENCY_CHOICES = (
    ("Flatten on white", FLATTEN, WHITE),
    ("Flatten on black", FLATTEN, BLACK),
    ("Flatten on a colour…", FLATTEN, None),
    ("Keep transparency", KEEP_ALPHA, None),
)
_CUSTOM = 2  # the row of "Flatten on a colour…"


class TransparencyChoice(QPushButton):
    """ "Transparency: white ▾" — read with :meth:`import_options` when an import starts."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.colour: tuple[int, int, int] = WHITE  # the picked colour of "Flatten on a colour…"
        self._row = 0  # the choice in force (a cancelled colour dialog goes back to it)
        self.setToolTip(
            "How a new picture dataset stores pictures with see-through areas: flattened onto a colour, or kept "
            "(the training cache then places them on white). Files added to an existing dataset follow its own "
            "choice; Health ▸ Transparency… changes it later."
        )
        menu = QMenu(self)
        self.group = QActionGroup(menu)
        self.actions_: list[QAction] = []
        for text, mode, colour in TRANSPARENCY_CHOICES:
            action = menu.addAction(text)
            action.setCheckable(True)
            action.setData((mode, colour))
            self.group.addAction(action)
            self.actions_.append(action)
        self.group.triggered.connect(self._on_chosen)
        self.setMenu(menu)
        self._select(0)

    def choice(self) -> tuple[str, tuple[int, int, int]]:
        """(FLATTEN or KEEP_ALPHA, the colour to flatten onto; white for "keep")."""
        mode, colour = TRANSPARENCY_CHOICES[self._row][1:]
        return mode, (self.colour if self._row == _CUSTOM else colour or WHITE)

    def import_options(self) -> ImportOptions:
        mode, colour = self.choice()
        return ImportOptions(transparency=mode, background=colour)

    def choose(self, text: str) -> None:
        """Pick the entry whose words start with ``text``, as a click in the menu does (scripts and tests)."""
        next(a for a in self.actions_ if a.text().startswith(text)).trigger()

    @Slot(QAction)
    def _on_chosen(self, action: QAction) -> None:
        row = self.actions_.index(action)
        if row == _CUSTOM:
            picked = self.ask_colour(self.colour)
            if picked is None:
                self._select(self._row)  # back to the tick in force
                return
            self.colour = picked
        self._select(row)

    def _select(self, row: int) -> None:
        self._row = row
        self.actions_[row].setChecked(True)
        custom = self.colour not in (WHITE, BLACK)
        self.actions_[_CUSTOM].setText(f"Flatten on {colour_name(self.colour)}…" if custom else "Flatten on a colour…")
        mode, colour = self.choice()
        self.setText(f"Transparency: {'keep' if mode == KEEP_ALPHA else colour_name(colour)}")

    def ask_colour(self, initial: tuple[int, int, int]) -> tuple[int, int, int] | None:
        """Ask for the colour to flatten onto (tests replace this). None when the user cancels."""
        colour = QColorDialog.getColor(QColor(*initial), self, "Flatten transparent pictures onto")
        return (colour.red(), colour.green(), colour.blue()) if colour.isValid() else None

    # -- remembered between sessions ------------------------------------------------------------------------
    def save_state(self) -> dict:
        return {"row": self._row, "colour": list(self.colour)}

    def restore_state(self, state: object) -> None:
        state = state if isinstance(state, dict) else {}
        self.colour = clamp_colour(state.get("colour"))
        row = state.get("row")
        self._select(row if isinstance(row, int) and 0 <= row < len(TRANSPARENCY_CHOICES) else 0)
