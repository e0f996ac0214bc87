"""Load the SVG icons shipped in resources/icons (cached; a missing file gives an empty icon, not a crash)."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtGui import QIcon

from studio import paths


@lru_cache(maxsize=None)
def icon(name: str) -> QIcon:
    file = paths.icon_path(name)
    return QIcon(str(file)) if file.is_file() else QIcon()
