"""Dataset panel: where a designer brings in images, copy or voice recordings.

Until a dataset exists it shows where the project's demo files are, so a first launch has a next step.
"""

from __future__ import annotations

from studio.core.project import Project
from studio.ui.panels.base import Panel

_NO_PROJECT = "Open or create a project first (File ▸ New Project)."


class DatasetPanel(Panel):
    panel_id = "dataset"
    title = "Dataset"
    subtitle = "Bring in images, copy or voice recordings; the studio checks, cleans and caches them."
    icon_name = "dataset"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.empty = self.add_empty_state("Import a dataset to begin", _NO_PROJECT)

    def set_project(self, project: Project | None) -> None:
        super().set_project(project)
        if project is None:
            self.empty.set_text("Import a dataset to begin", _NO_PROJECT)
            return
        if project.datasets:
            names = ", ".join(sorted(project.datasets))
            self.empty.set_text(f"{len(project.datasets)} dataset(s) in this project", names)
            return
        demo = project.extra.get("demo")
        hint = (f"\n\nThis demo project's sample images, copy and clips are in {project.root / demo['sources']}."
                if demo else "")
        self.empty.set_text(
            "Import a dataset to begin",
            "The images, copy and voice recordings you bring into this project will be listed here." + hint,
        )
