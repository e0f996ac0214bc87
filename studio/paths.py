"""Where the studio finds its shipped files and keeps the user's.

Shipped, read-only: ``resources/`` (icons, styles) and ``models/`` (starter checkpoints). They sit at the
repository root in a source checkout, under ``sys._MEIPASS`` in a PyInstaller bundle, and under
``<prefix>/share/aigc-studio`` in a wheel install.

The user's: settings, logs and projects. ``AIGC_STUDIO_HOME`` moves all of them into one folder, which is
how tests and the self-test stay away from a real user's settings.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from studio import APP_ID

_PACKAGE_DIR = Path(__file__).resolve().parent


def _shipped_roots() -> list[Path]:
    roots = []
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        roots.append(Path(frozen_root))
    roots.append(_PACKAGE_DIR.parent)  # source checkout / editable install
    roots.append(Path(sys.prefix) / "share" / APP_ID)  # wheel install (data-files)
    return roots


def _shipped_dir(name: str) -> Path:
    for root in _shipped_roots():
        candidate = root / name
        if candidate.is_dir():
            return candidate
    return _shipped_roots()[0] / name


def resources_dir() -> Path:
    return _shipped_dir("resources")


def models_dir() -> Path:
    return _shipped_dir("models")


def icon_path(name: str) -> Path:
    return resources_dir() / "icons" / f"{name}.svg"


def _home_override() -> Path | None:
    value = os.environ.get("AIGC_STUDIO_HOME")
    return Path(value).expanduser() if value else None


def _platform_dir(kind: str) -> Path:
    """Per-user config/data folder following each platform's convention."""
    home = Path.home()
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") if kind == "config" else os.environ.get("LOCALAPPDATA")
        return Path(base or home / "AppData" / "Roaming") / "AIGC Studio"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "AIGC Studio"
    xdg = os.environ.get("XDG_CONFIG_HOME" if kind == "config" else "XDG_DATA_HOME")
    default = home / (".config" if kind == "config" else ".local/share")
    return Path(xdg or default) / APP_ID


def config_dir() -> Path:
    override = _home_override()
    return override / "config" if override else _platform_dir("config")


def data_dir() -> Path:
    override = _home_override()
    return override / "data" if override else _platform_dir("data")


def cache_dir() -> Path:
    """Per-user cache (XDG_CACHE_HOME, ~/Library/Caches, %LOCALAPPDATA%): what can be measured again if it is
    deleted, such as the training-time calibration of each device."""
    override = _home_override()
    if override:
        return override / "cache"
    if sys.platform == "win32":
        return _platform_dir("data") / "cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "AIGC Studio"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / APP_ID


def log_dir() -> Path:
    return data_dir() / "logs"


_chosen_projects_dir: Path | None = None  # Preferences ▸ Projects folder; None: the default below


def set_projects_dir(folder: str | Path | None) -> None:
    """The user's projects folder (Preferences), or None for :func:`default_projects_dir`.

    Set by the window at start-up and when the preference changes (this module reads no settings file). It
    only says where new projects (and the demo project) go: existing projects stay where they are.
    """
    global _chosen_projects_dir
    _chosen_projects_dir = Path(folder).expanduser() if folder else None


def default_projects_dir() -> Path:
    """Where projects go unless the user chose a folder: visible in the user's home, not hidden in a dot-folder."""
    override = _home_override()
    return override / "projects" if override else Path.home() / "AIGC Studio"


def projects_dir() -> Path:
    """Parent folder for new projects: the one chosen in Preferences, else :func:`default_projects_dir`."""
    return _chosen_projects_dir or default_projects_dir()


def log_file() -> Path:
    return log_dir() / f"{APP_ID}.log"
