"""Light and dark themes: the palette, the style sheet and painted colours switch together."""

from PySide6.QtGui import QPalette

from studio.ui import theme


def _lightness(colour) -> float:
    return colour.lightnessF()


def test_the_dark_theme_darkens_the_palette_and_the_style_sheet_and_light_brings_them_back(studio_app):
    try:
        assert theme.apply(studio_app, "dark") is True
        window, text = (
            studio_app.palette().color(QPalette.ColorRole.Window),
            studio_app.palette().color(QPalette.ColorRole.Text),
        )
        assert _lightness(window) < 0.15 and _lightness(text) > 0.85  # light text on a dark page
        sheet = studio_app.styleSheet()
        assert "#F6F7FB" not in sheet.upper() and theme.DARK_ANCHORS["#F6F7FB"] in sheet  # the page colour swapped
        assert theme.qcolor("#FFFFFF").lightnessF() < 0.2  # what painted widgets ask for follows
        assert theme.apply(studio_app, "light") is False
        assert studio_app.palette().color(QPalette.ColorRole.Window).name().upper() == "#F6F7FB"
        assert "#F6F7FB" in studio_app.styleSheet().upper()
    finally:
        theme.apply(studio_app, "light")


def test_dark_colours_keep_accents_recognisable_and_text_readable():
    accent = theme.dark_colour("#2F855A")  # the "ok" green
    assert accent != "#2F855A" and int(accent[3:5], 16) > int(accent[1:3], 16)  # still green, lighter
    for light in ("#23263A", "#4A4F6A", "#6B7090"):  # text colours become light
        dark = theme.dark_colour(light)
        assert int(dark[1:3], 16) > 0x90, (light, dark)
    for light in ("#FFFFFF", "#F6F7FB", "#ECEEF6", "#F1F2F9"):  # pages and cards become dark
        dark = theme.dark_colour(light)
        assert int(dark[1:3], 16) < 0x40, (light, dark)


def test_an_unknown_mode_follows_the_system(studio_app):
    try:
        theme.apply(studio_app, "purple")
        assert theme.mode() == "system"
    finally:
        theme.apply(studio_app, "light")
