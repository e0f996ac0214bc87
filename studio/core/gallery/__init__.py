"""The project's gallery: everything the creation panels made, kept with the settings that make it again.

:mod:`.store` is the database (cheap to import: the history lists it at start-up); :mod:`.record` turns a panel's
result into items and :mod:`.regenerate` makes an item again. Those two load the generation core, so they are
imported on first use of their names here (``from studio.core.gallery import RecordImages`` works either way).
"""

from __future__ import annotations

import importlib
from typing import Any

from studio.core.gallery.store import GALLERY_FOLDER, KINDS, PANELS, Gallery, GalleryItem

_LAZY = {
    "RecordImages": "record",
    "RecordText": "record",
    "RecordSpeech": "record",
    "import_writer_history": "record",
    "Regenerate": "regenerate",
}

__all__ = ["GALLERY_FOLDER", "KINDS", "PANELS", "Gallery", "GalleryItem", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
