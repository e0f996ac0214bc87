"""Light and dark themes from one set of colours.

The style sheet (``resources/styles/studio.qss``) and the widgets that paint themselves are written with the
light theme's colours. The dark theme is derived from them rather than kept as a second copy that would drift:
:func:`colour` maps a light colour to its dark counterpart — the page, card and line colours invert their
lightness (the page becomes near-black, text becomes near-white), and saturated accents (indigo, green, red,
amber) keep their hue and are lightened so they read on a dark page. A few anchor colours are chosen by hand
(:data:`DARK_ANCHORS`). The same mapping restyles the QSS (:func:`style_sheet`) and every ``QColor`` a widget
paints (:func:`qcolor`), so the two never disagree.

The theme is "system" (follow the desktop's light or dark setting, and its changes), "light" or "dark";
:func:`apply` sets the application's palette and style sheet and emits :data:`signals.changed` so widgets that
cache colours can repaint.
"""

from __future__ import annotations

import colorsys
import functools
import re
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from studio import paths

MODES = ("system", "light", "dark")
MODE_TITLES = {"system": "Follow the system", "light": "Light", "dark": "Dark"}
ACCENT = "#5B5BD6"

# Light colour → its dark counterpart, where the rule of thumb in _derive() is not what a designer would pick.
DARK_ANCHORS = {
    "#F6F7FB": "#14151D",  # the window behind the cards
    "#FFFFFF": "#1D1F2B",  # cards, fields, plots
    "#23263A": "#E7E9F3",  # body text
    "#6B7090": "#A3A8C3",  # secondary text
    "#E3E5EF": "#323648",  # card borders
    "#5B5BD6": "#8484F2",  # the accent
    "#3C3CB0": "#B4B4FF",  # accent text on a soft accent background
    "#ECECFC": "#2A2C55",  # soft accent background (selection)
}

_HEX = re.compile(r"#[0-9A-Fa-f]{6}\b")


class _Signals(QObject):
    changed = Signal(bool)  # dark


signals = _Signals()
_dark = False
_mode = "system"
_following = False


def is_dark() -> bool:
    return _dark


def mode() -> str:
    return _mode


def colour(light: str) -> str:
    """The current theme's colour for a colour of the light theme (``"#RRGGBB"``)."""
    return dark_colour(light) if _dark else light.upper()


def qcolor(light: str, alpha: int | None = None) -> QColor:
    """:func:`colour` as a QColor (with ``alpha`` 0-255 if given): what a paintEvent uses."""
    result = QColor(colour(light))
    if alpha is not None:
        result.setAlpha(alpha)
    return result


@functools.lru_cache(maxsize=512)
def dark_colour(light: str) -> str:
    """The dark theme's counterpart of ``light`` (see the module docstring)."""
    light = light.upper()
    return DARK_ANCHORS.get(light) or _derive(light)


def _derive(light: str) -> str:
    r, g, b = (int(light[i : i + 2], 16) / 255 for i in (1, 3, 5))
    hue, lightness, saturation = colorsys.rgb_to_hls(r, g, b)
    if saturation > 0.35 and 0.2 < lightness < 0.75:  # an accent: keep it, lighter so it reads on dark
        lightness = min(0.8, lightness + 0.12)
    else:  # a page, card, line or text colour: its lightness mirrored into the dark range
        lightness = 0.09 + (1.0 - lightness) * 0.84
        saturation *= 0.6
    r, g, b = colorsys.hls_to_rgb(hue, lightness, saturation)
    return "#{:02X}{:02X}{:02X}".format(*(round(c * 255) for c in (r, g, b)))


def style_sheet(text: str, dark: bool) -> str:
    """The QSS ``text`` (written in light colours) for the light or the dark theme."""
    return _HEX.sub(lambda m: dark_colour(m.group(0)), text) if dark else text


def palette(dark: bool) -> QPalette:
    """Fusion's palette in the theme's colours (what the QSS does not style: menus' frames, tooltips, scrollbars)."""
    pick = dark_colour if dark else (lambda c: c)
    roles = {
        QPalette.ColorRole.Window: "#F6F7FB",
        QPalette.ColorRole.WindowText: "#23263A",
        QPalette.ColorRole.Base: "#FFFFFF",
        QPalette.ColorRole.AlternateBase: "#F4F5FA",
        QPalette.ColorRole.Text: "#23263A",
        QPalette.ColorRole.Button: "#FFFFFF",
        QPalette.ColorRole.ButtonText: "#23263A",
        QPalette.ColorRole.ToolTipBase: "#23263A" if not dark else "#E7E9F3",
        QPalette.ColorRole.ToolTipText: "#FFFFFF" if not dark else "#14151D",
        QPalette.ColorRole.PlaceholderText: "#8A8FAD",
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: "#FFFFFF",
        QPalette.ColorRole.Link: "#4A4AC4",
        QPalette.ColorRole.Mid: "#D9DCE8",
        QPalette.ColorRole.Dark: "#A9ADC4",
        QPalette.ColorRole.Light: "#FFFFFF",
    }
    result = QPalette()
    for role, light in roles.items():
        value = light if role in (QPalette.ColorRole.ToolTipBase, QPalette.ColorRole.ToolTipText) else pick(light)
        result.setColor(role, QColor(value))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        result.setColor(QPalette.ColorGroup.Disabled, role, QColor(pick("#A9ADC4")))
    return result


def system_is_dark() -> bool:
    """The desktop's colour scheme (Qt 6.5+); light where the platform does not say."""
    hints = QGuiApplication.styleHints()
    return hints is not None and hints.colorScheme() == Qt.ColorScheme.Dark


def apply(app: QApplication, requested: str = "system") -> bool:
    """Give ``app`` the theme ``requested`` ("system", "light" or "dark"); returns True when it is dark."""
    global _dark, _mode
    _mode = requested if requested in MODES else "system"
    dark = system_is_dark() if _mode == "system" else _mode == "dark"
    _dark = dark
    app.setPalette(palette(dark))
    app.setStyleSheet(style_sheet(_base_style_sheet(), dark))
    signals.changed.emit(dark)
    return dark


def follow_the_system(app: QApplication) -> None:
    """Re-apply the "system" theme whenever the desktop switches between light and dark (connected once)."""
    global _following
    hints = QGuiApplication.styleHints()
    if hints is not None and not _following:
        hints.colorSchemeChanged.connect(lambda _scheme: _mode == "system" and apply(app, "system"))
        _following = True


def _base_style_sheet() -> str:
    style = Path(paths.resources_dir()) / "styles" / "studio.qss"
    return style.read_text(encoding="utf-8") if style.is_file() else ""
