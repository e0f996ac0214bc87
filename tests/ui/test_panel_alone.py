"""The ``panel_alone`` fixture stands in for the MainWindow in panel tests: the panel it shows must get the
size the same panel gets inside the window, or a layout check (a 4 × 4 grid in view, a plot's width) could
pass alone and fail in the app."""

from PySide6.QtCore import QSize

from studio.ui.main_window import MainWindow
from studio.ui.settings import AppSettings


def test_a_panel_alone_gets_the_size_it_has_in_the_window(qtbot, studio_app, panel_alone):
    size = QSize(1280, 820)
    window = MainWindow(AppSettings())
    qtbot.addWidget(window)
    window.setFixedSize(size)
    with qtbot.waitExposed(window):
        window.show()
    for panel_id, inside in window.panels.items():
        window.show_panel(panel_id)
        alone = panel_alone(panel_id, size)
        assert alone.size() == inside.size(), panel_id
        alone.close()
