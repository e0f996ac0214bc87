import pytest
from PySide6.QtCore import QSize

from studio.app import create_application
from studio.ui.panels import PANEL_CLASSES
from studio.ui.panels.base import Panel
from studio.ui.settings import AppSettings
from studio.workers.registry import JobRegistry


@pytest.fixture(scope="session")
def qapp_args():
    return ["aigc-studio-tests"]


@pytest.fixture
def studio_app(qapp):
    """The QApplication configured as the real app is (style sheet, names, icon)."""
    return create_application()


@pytest.fixture
def no_starters(monkeypatch, tmp_path):
    """A build without starter models in models/: the pickers list the project's runs only."""
    monkeypatch.setattr("studio.paths.models_dir", lambda: tmp_path / "no-starter-models")


# A panel gets this much of the 1280 × 820 MainWindow the window tests use (measured: the 196 px sidebar with
# its frame beside it, the menu and status bars above and below); the panel alone is shown at the same size,
# so what fits on screen there fits here too.
WINDOW_CHROME = QSize(200, 62)
WINDOW_SIZE = QSize(1280, 820)  # the window the canvas and training tests show


@pytest.fixture
def panel_alone(qtbot, studio_app):
    """Build one panel without the MainWindow around it (≈0.1 s instead of ≈0.6 s for the window and its five
    panels), set up as the window sets up each panel: a job registry and the saved state. Call it with a
    panel id ("image", "text", …) and, for a test written against another window size, that size.
    Its jobs are stopped at teardown, as closing the window stops them."""
    registries: list[JobRegistry] = []

    def build(panel_id: str, window_size: QSize = WINDOW_SIZE) -> Panel:
        cls = next(c for c in PANEL_CLASSES if c.panel_id == panel_id)
        panel = cls()
        registry = JobRegistry()
        registries.append(registry)
        panel.set_registry(registry)
        panel.restore_state(AppSettings().panel_state(panel_id))
        qtbot.addWidget(panel)
        panel.setFixedSize(window_size - WINDOW_CHROME)
        with qtbot.waitExposed(panel):
            panel.show()
        return panel

    yield build
    for registry in registries:
        registry.shutdown(timeout_s=15.0)
