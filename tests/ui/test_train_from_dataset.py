"""From a cached dataset to training in one click: the Cache tab's "Train on this dataset" opens the Training
panel with that dataset chosen (the Dataset panel asks the window; it does not know the Training panel)."""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import QSize, Qt

from studio.core.project import create_project
from studio.ui.main_window import MainWindow
from studio.ui.settings import AppSettings


def _pictures(folder, count: int, shade: int):
    folder.mkdir(parents=True)
    for i in range(count):
        Image.new("RGB", (48, 48), (shade, i * 30 % 255, 200 - i * 20)).save(folder / f"{i}.png")
    return folder


def test_train_on_this_dataset_opens_training_with_it_chosen(qtbot, studio_app, tmp_path):
    window = MainWindow(AppSettings())
    qtbot.addWidget(window)
    window.resize(QSize(1280, 800))
    with qtbot.waitExposed(window):
        window.show()
    window.set_project(create_project(tmp_path / "Studio"))
    dataset, training = window.panels["dataset"], window.panels["training"]
    for name, shade in (("avatars", 40), ("posters", 220)):  # Training chooses "avatars" first on its own
        with qtbot.waitSignal(dataset.import_done, timeout=30000):
            dataset.import_paths([_pictures(tmp_path / "drops" / name, 6, shade)], name=name)
    assert dataset.current_name == "posters" and training.setup.dataset_name() == "avatars"

    dataset.tabs.setCurrentIndex(4)  # Cache
    cache = dataset.cache_tab
    cache.resolution.setCurrentIndex(cache.resolution.findData(32))
    assert not dataset.train_button.isVisible()  # no next step before there is a cache
    with qtbot.waitSignal(dataset.cache_done, timeout=30000):
        qtbot.mouseClick(cache.build_button, Qt.MouseButton.LeftButton)
    assert cache.status.text() == "Ready: 6 pictures cached for training."
    assert dataset.train_button.isVisible() and dataset.train_button.text() == "Train on this dataset"

    qtbot.mouseClick(dataset.train_button, Qt.MouseButton.LeftButton)
    assert window.current_panel_id == "training" and window.stack.currentWidget() is training
    assert training.setup.dataset_name() == "posters"

    window.show_panel("dataset")  # another dataset shown: the button went with the "Ready" message
    dataset.select_dataset("avatars")
    assert not dataset.train_button.isVisible()
