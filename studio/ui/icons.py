"""Load the SVG icons shipped in resources/icons (cached; a missing file gives an empty icon, not a crash)."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QIcon

from studio import paths


@cache
def icon(name: str) -> QIcon:
    file = paths.icon_path(name)
    return QIcon(str(file)) if file.is_file() else QIcon()
