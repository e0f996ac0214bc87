"""A project another app process has open: the window warns and offers read-only or another project; read-only
really writes nothing; and a training run another process holds is refused in the Training panel's message.

"Another process" is played by a lock this test takes itself (a separate lock descriptor excludes the window
exactly as another process's would; a real second app process is not needed for that)."""

from __future__ import annotations

import os
import socket

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from studio.core.datasets.importer import ImportDataset
from studio.core.jobs import JobContext, JobError, run_job
from studio.core.locks import ProcessLock
from studio.core.project import WINDOW_LOCK, create_project, is_read_only, update_project
from studio.ui.main_window import MainWindow
from studio.ui.settings import AppSettings


def _window(qtbot) -> MainWindow:
    window = MainWindow(AppSettings())
    qtbot.addWidget(window)
    window.confirm_quit_while_training = lambda: True
    window.show()
    return window


@pytest.fixture
def shared(tmp_path):
    """A project with a small text dataset, held open by "another process"."""
    root = create_project(tmp_path / "Shared").root
    source = tmp_path / "copy.txt"
    source.write_text("\n".join(f"Line {i} of the shared copy." for i in range(12)) + "\n", encoding="utf-8")
    run_job(ImportDataset(root, "copy", [source], kind="text", workers=1))
    other = ProcessLock(root / WINDOW_LOCK).acquire()
    yield root
    other.release()


@pytest.fixture
def answer(monkeypatch):
    """Answers the "already open" box by clicking the button with the given text; records what it said."""
    said: list[str] = []
    choice = {"button": None}

    def exec_(box):
        said.append(box.text())
        for button in box.buttons():
            if button.text() == choice["button"] or (
                choice["button"] == "Cancel" and box.buttonRole(button) == QMessageBox.ButtonRole.RejectRole
            ):
                button.click()
                return 0
        raise AssertionError(f"no button {choice['button']!r}")

    monkeypatch.setattr(QMessageBox, "exec", exec_)

    def set_answer(text: str) -> list[str]:
        choice["button"] = text
        return said

    return set_answer


def test_open_read_only_writes_nothing_and_says_why(qtbot, studio_app, shared, answer):
    said = answer("Open read-only")
    before = (shared / "project.json").read_bytes()
    window = _window(qtbot)
    assert window.open_project_folder(shared)
    assert len(said) == 1 and said[0].startswith(
        f"“Shared” is already open in another AIGC Studio window (process {os.getpid()} on {socket.gethostname()} ("
    )
    assert window.read_only and window.windowTitle() == "Shared (read-only) — AIGC Studio"
    assert is_read_only(shared)

    panel = window.panels["dataset"]
    assert not panel.import_button.isEnabled() and not panel.new_button.isEnabled()
    panel.load_dataset("copy")
    manifest_before = (shared / "datasets" / "copy" / "manifest.json").read_bytes()
    panel.exclude_items([panel.manifest.entries[0]["id"]])
    assert "open read-only in this window" in panel.banner.text.text()
    assert (shared / "datasets" / "copy" / "manifest.json").read_bytes() == manifest_before
    with pytest.raises(JobError, match="open read-only in this window"):
        update_project(shared, lambda p: p.runs.append("x"))
    assert (shared / "project.json").read_bytes() == before

    window.close()
    assert not is_read_only(shared)  # closing the window ends the read-only mark


def test_choose_another_project_opens_the_file_dialog(qtbot, studio_app, shared, tmp_path, answer, monkeypatch):
    answer("Choose another project…")
    other = create_project(tmp_path / "Mine").root
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(other))
    window = _window(qtbot)
    assert not window.open_project_folder(shared)
    qtbot.waitUntil(lambda: window.project is not None, timeout=5000)
    assert window.project.root == other and not window.read_only
    window.close()


def test_cancel_keeps_the_window_as_it_was_and_the_project_in_recents(qtbot, studio_app, shared, answer):
    answer("Cancel")
    window = _window(qtbot)
    window.settings.add_recent_project(shared)
    assert not window.open_project_folder(shared)
    assert window.project is None and not is_read_only(shared)
    window.restore_last_project()  # at start-up: asked again, cancelled again, no demo project made instead
    assert window.project is None and window.registry.running() == []
    assert str(shared) in window.settings.recent_projects()
    window.close()


def test_two_windows_of_one_process_share_the_project_without_asking(qtbot, studio_app, tmp_path, answer):
    said = answer("Cancel")
    root = create_project(tmp_path / "Solo").root
    first, second = _window(qtbot), _window(qtbot)
    assert first.open_project_folder(root) and second.open_project_folder(root)
    assert said == [] and not first.read_only and not second.read_only
    first.close()
    second.close()
    ProcessLock(root / WINDOW_LOCK).acquire().release()  # both let go


def test_the_training_panel_shows_who_trains_a_run_that_is_in_use(qtbot, studio_app, tmp_path):
    import numpy as np
    from PIL import Image

    from studio.core.training import TrainJob, runs

    root = create_project(tmp_path / "Runs").root
    source = tmp_path / "drop"
    for label in ("a", "b"):
        (source / label).mkdir(parents=True)
        for i in range(8):
            pixels = np.random.default_rng(i).integers(0, 256, (32, 32, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(source / label / f"{i}.png")
    run_job(ImportDataset(root, "pics", [source], kind="image", workers=1))
    job = TrainJob(
        root,
        "pics",
        "reference",
        preset="fast",
        steps=4,
        overrides={
            "batch_size": 8,
            "width": 4,
            "latent_channels": 4,
            "checkpoint_every": 2,
            "eval_every": 100,
            "sample_every": 100,
        },
    )
    job(JobContext())
    lock = runs.run_lock(job.run_folder).acquire()  # what another process training it holds
    try:
        window = _window(qtbot)
        assert window.open_project_folder(root)
        panel = window.panels["training"]
        with qtbot.waitSignal(panel.run_ended, timeout=60000) as ended:
            panel.resume_run({"run_id": job.run_id, "dataset": "pics", "family": "reference"})
        assert ended.args == ["failed"]
        text = panel.banner.text.text()
        assert f"The run {job.run_id} is being trained right now by process {os.getpid()} on " in text
        assert "press Stop in the studio's Training panel" in text
        window.close()
    finally:
        lock.release()
    assert runs.read_metrics(job.run_folder)[-1]["step"] == 4  # nothing was written by the refused start
