"""Logging set-up shared by the GUI and the CLI.

Users see short, plain messages; the full traceback of every failure goes to a rotating log file whose
path the error message names, so a bug report can attach it.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys

from studio import paths

_FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"
_configured = False


class _BriefFormatter(logging.Formatter):
    """Terminal output without tracebacks: users read one line there; the log file has the rest."""

    def format(self, record: logging.LogRecord) -> str:
        brief = logging.makeLogRecord(record.__dict__)
        brief.exc_info = brief.exc_text = brief.stack_info = None
        return super().format(brief)


def setup_logging(verbose: bool = False) -> None:
    """Send records to the log file (always) and to stderr (warnings, or everything when verbose)."""
    global _configured
    if _configured:
        return
    _configured = True
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    try:
        paths.log_dir().mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            paths.log_file(), maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
        file_handler.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(file_handler)
    except OSError as exc:  # read-only home or full disk: keep running, say so once
        print(f"AIGC Studio: cannot write the log file ({exc}); logging to the terminal only.", file=sys.stderr)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    console.setFormatter(
        logging.Formatter("%(levelname)s: %(message)s") if verbose else _BriefFormatter("%(levelname)s: %(message)s")
    )
    root.addHandler(console)
    _route_qt_messages()


def _route_qt_messages() -> None:
    """Send Qt's own warnings (which otherwise go straight to stderr) into our log, if Qt is loaded."""
    if "PySide6.QtCore" not in sys.modules:
        return
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    levels = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.INFO,
        QtMsgType.QtCriticalMsg: logging.ERROR,
        QtMsgType.QtFatalMsg: logging.CRITICAL,
    }
    qt_log = logging.getLogger("qt")

    def handler(kind, _context, message) -> None:
        qt_log.log(levels.get(kind, logging.INFO), message)

    qInstallMessageHandler(handler)
