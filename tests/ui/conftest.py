import pytest

from studio.app import create_application


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
