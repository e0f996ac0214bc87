"""Remembered window state, recent projects and preferences (QSettings in an INI file).

The file lives in the studio's config folder (``AIGC_STUDIO_HOME`` moves it, for tests). It carries a
``settings_version``: when a release changes what a key means, bumping it makes old values be dropped
instead of misread (a window restored off-screen, a panel index that no longer exists).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from studio import paths

SETTINGS_VERSION = 1
MAX_RECENT = 8


class AppSettings:
    def __init__(self, file: Path | None = None) -> None:
        file = file or paths.config_dir() / "settings.ini"
        file.parent.mkdir(parents=True, exist_ok=True)
        self._qs = QSettings(str(file), QSettings.Format.IniFormat)
        if self._qs.value("settings_version", 0, type=int) != SETTINGS_VERSION:
            self._qs.clear()
            self._qs.setValue("settings_version", SETTINGS_VERSION)

    # -- window -----------------------------------------------------------------------------------------
    def geometry(self) -> QByteArray | None:
        return self._qs.value("window/geometry")

    def window_state(self) -> QByteArray | None:
        return self._qs.value("window/state")

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self._qs.setValue("window/geometry", geometry)
        self._qs.setValue("window/state", state)

    @property
    def current_panel(self) -> str:
        return str(self._qs.value("window/panel", "dataset"))

    @current_panel.setter
    def current_panel(self, panel_id: str) -> None:
        self._qs.setValue("window/panel", panel_id)

    def panel_state(self, panel_id: str) -> dict:
        value = self._qs.value(f"panels/{panel_id}")
        return value if isinstance(value, dict) else {}

    def set_panel_state(self, panel_id: str, state: dict) -> None:
        self._qs.setValue(f"panels/{panel_id}", state)

    # -- projects ---------------------------------------------------------------------------------------
    def recent_projects(self) -> list[str]:
        value = self._qs.value("projects/recent", [])
        if isinstance(value, str):  # QSettings returns a lone string for a one-item list
            value = [value]
        return [str(v) for v in value or []]

    def add_recent_project(self, folder: str | Path) -> None:
        folder = str(Path(folder))
        recent = [folder] + [p for p in self.recent_projects() if p != folder]
        self._qs.setValue("projects/recent", recent[:MAX_RECENT])

    def remove_recent_project(self, folder: str | Path) -> None:
        self._qs.setValue("projects/recent", [p for p in self.recent_projects() if p != str(Path(folder))])

    @property
    def last_project(self) -> str | None:
        recent = self.recent_projects()
        return recent[0] if recent else None

    # -- preferences ------------------------------------------------------------------------------------
    @property
    def device(self) -> str:
        return str(self._qs.value("compute/device", "auto"))

    @device.setter
    def device(self, device_id: str) -> None:
        self._qs.setValue("compute/device", device_id)

    @property
    def cpu_threads(self) -> int | None:
        """CPU threads for jobs started from the window; None: the default (all cores but one), which follows
        the machine the settings are used on instead of the one they were made on."""
        value = self._qs.value("compute/cpu_threads", 0, type=int)
        return value if value and value > 0 else None

    @cpu_threads.setter
    def cpu_threads(self, count: int | None) -> None:
        if count:
            self._qs.setValue("compute/cpu_threads", int(count))
        else:
            self._qs.remove("compute/cpu_threads")

    @property
    def projects_folder(self) -> str | None:
        """The folder new projects go into; None: the default (studio.paths.default_projects_dir)."""
        value = self._qs.value("projects/folder", "")
        return str(value) if value else None

    @projects_folder.setter
    def projects_folder(self, folder: str | Path | None) -> None:
        if folder:
            self._qs.setValue("projects/folder", str(Path(folder)))
        else:
            self._qs.remove("projects/folder")

    @property
    def guide_shown(self) -> bool:
        """Help ▸ Getting started was shown once (on the first launch); later launches do not show it."""
        return bool(self._qs.value("help/guide_shown", False, type=bool))

    @guide_shown.setter
    def guide_shown(self, shown: bool) -> None:
        self._qs.setValue("help/guide_shown", bool(shown))

    @property
    def theme(self) -> str:
        """The theme: "system" (follow the desktop), "light" or "dark"."""
        return str(self._qs.value("appearance/theme", "system"))

    @theme.setter
    def theme(self, mode: str) -> None:
        self._qs.setValue("appearance/theme", mode)

    def sync(self) -> None:
        self._qs.sync()
