"""Before Qt starts on Linux: say in plain words why no window can open, instead of Qt's cryptic abort.

Qt 6.5+ loads its X11 plugin only when a few xcb helper libraries are present; desktop distributions
usually have them, minimal installs often do not. Qt then aborts with "no Qt platform plugin could be
initialized". We check first and print the one apt-get line that fixes it.
"""

from __future__ import annotations

import ctypes.util
import os
import sys

# Library name for find_library -> Debian/Ubuntu package that provides it.
XCB_LIBRARIES = {
    "xcb-cursor": "libxcb-cursor0",
    "xcb-icccm": "libxcb-icccm4",
    "xcb-keysyms": "libxcb-keysyms1",
    "xkbcommon-x11": "libxkbcommon-x11-0",
    "EGL": "libegl1",
}


def display_problem(environ: dict | None = None) -> str | None:
    """A message when the desktop window cannot open here, else None."""
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return None
    platform = env.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith("xcb"):
        return None  # offscreen, wayland, eglfs…: Qt reports its own problems there
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return (
            "No display was found, so the studio window cannot open. Run it on a desktop session, or use "
            "the command line: aigc-studio --help"
        )
    if env.get("WAYLAND_DISPLAY") and not platform:
        return None
    missing = [package for lib, package in XCB_LIBRARIES.items() if ctypes.util.find_library(lib) is None]
    if missing:
        return (
            "The studio window needs a few system libraries that are missing: "
            + ", ".join(missing)
            + ". Install them with: sudo apt-get install "
            + " ".join(missing)
        )
    return None
