"""The whole window as the window tests open it."""

from studio.ui.main_window import MainWindow
from studio.ui.settings import AppSettings


def open_active_window(qtbot) -> MainWindow:
    """A MainWindow shown and active: shortcuts reach only the active window, as on a real desktop."""
    window = MainWindow(AppSettings())
    qtbot.addWidget(window)
    with qtbot.waitExposed(window):
        window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    return window
