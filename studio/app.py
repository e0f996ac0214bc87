"""The desktop application: QApplication set-up, the main window, and the first-launch flow.

Nothing here imports torch: the window must be on screen in under 2 s, so device detection and every
model load happen in background jobs after the window is shown.
"""

from __future__ import annotations

import logging
import sys
import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from studio import APP_ID, APP_NAME, STARTED_AT, __version__, paths
from studio.core.locks import set_program
from studio.display_check import display_problem
from studio.logs import setup_logging
from studio.ui import theme
from studio.ui.icons import icon
from studio.ui.main_window import MainWindow
from studio.ui.settings import AppSettings

log = logging.getLogger(__name__)


# How long a thread holding the GIL runs before a waiting thread gets it (Python's default: 5 ms). The GUI thread
# gives the GIL up around many of its Qt calls and waits to win it back each time, so beside busy jobs its work
# stretched: building one training plot (~11 ms alone) took 50-100 ms. Measured on the first launch with the
# Training panel open (4 alternating runs each, worst stall): 50-288 ms at 5 ms, 53-147 ms at 1 ms. A job alone
# is never asked to switch, so it loses nothing.
GIL_SWITCH_INTERVAL_S = 0.001


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication with our name, icon and style sheet (reuses one that already exists, e.g. in tests)."""
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    app.setStyle("Fusion")  # the same look on every platform; the palette and the QSS refine it
    app.setWindowIcon(icon("app"))
    theme.apply(app, AppSettings().theme)  # light, dark or the desktop's choice (Preferences)
    theme.follow_the_system(app)
    return app


def build_window(settings: AppSettings | None = None) -> MainWindow:
    window = MainWindow(settings or AppSettings())
    window.show()
    return window


def _log_uncaught(exc_type, exc, tb) -> None:
    """Exceptions escaping a slot are logged instead of killing the app; the user gets the status bar note."""
    log.error("Uncaught exception", exc_info=(exc_type, exc, tb))
    app = QApplication.instance()
    for widget in app.topLevelWidgets() if app else []:
        if isinstance(widget, MainWindow):
            widget.statusBar().showMessage(f"Something went wrong: {exc}. Details: {paths.log_file()}", 15000)


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    problem = display_problem()
    if problem:
        log.info(problem)
        print(problem, file=sys.stderr)
        return 1
    app = create_application(argv)
    sys.excepthook = _log_uncaught
    set_program(f"the {APP_NAME} app")  # named in lock records: "the run is being trained by … (the AIGC Studio app)"
    window = build_window()
    log.info("Window shown %.2f s after start", time.perf_counter() - STARTED_AT)
    QTimer.singleShot(0, window.detect_devices)
    QTimer.singleShot(0, window.restore_last_project)
    return app.exec()
