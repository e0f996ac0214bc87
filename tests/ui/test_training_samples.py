"""Audio previews in the Training monitor's Samples tab: the alignment picture as the row's icon, and a
double-click that plays the test sentences in the app (or, with no sound device, opens the file instead)."""

from __future__ import annotations

import numpy as np
import soundfile
from PIL import Image
from PySide6.QtCore import Qt

from studio.ui.widgets.common.audio_player import AudioPlayer, OutputUnavailable
from studio.ui.widgets.training.samples import SampleStrip


class Recording:
    name = "recording"

    def __init__(self) -> None:
        self.played: list[int] = []

    def probe(self) -> None:
        pass

    def play(self, samples, sample_rate) -> None:
        self.played.append(len(samples))

    def stop(self) -> None:
        pass


class Missing:
    name = "missing"

    def probe(self) -> None:
        raise OutputUnavailable("no output device")


def _preview(tmp_path, step: int) -> dict:
    wav, png = tmp_path / f"step-{step:06d}.wav", tmp_path / f"step-{step:06d}.png"
    soundfile.write(str(wav), (0.3 * np.sin(np.arange(22050) / 10.0)).astype(np.float32), 22050, subtype="PCM_16")
    Image.new("RGB", (200, 80), (40, 90, 160)).save(png)
    return {"kind": "audio", "step": step, "path": str(wav), "image": str(png), "caption": "test sentences"}


def test_audio_preview_shows_its_picture_and_plays_in_the_app(qtbot, tmp_path):
    strip = SampleStrip()
    qtbot.addWidget(strip)
    output = Recording()
    strip.player = AudioPlayer(outputs=[output], parent=strip)
    strip.add(_preview(tmp_path, 100))
    strip.add(_preview(tmp_path, 200))
    newest = strip.list.item(0)
    assert strip.count() == 2 and newest.text().startswith("Step 200")
    assert not newest.icon().isNull()  # the alignment picture
    strip._open(newest)
    assert output.played == [22050] and strip.player.is_playing()
    strip._open(newest)  # a second double-click on the playing row stops it
    assert not strip.player.is_playing()


def test_without_a_sound_device_the_preview_opens_in_the_system_player(qtbot, tmp_path, monkeypatch):
    opened = []
    monkeypatch.setattr(
        "studio.ui.widgets.training.samples.QDesktopServices.openUrl", lambda url: opened.append(url.toLocalFile())
    )
    strip = SampleStrip()
    qtbot.addWidget(strip)
    strip.player = AudioPlayer(outputs=[Missing()], parent=strip)
    preview = _preview(tmp_path, 100)
    strip.add(preview)
    strip._open(strip.list.item(0))
    assert opened == [preview["path"]]
    assert strip.list.item(0).data(Qt.ItemDataRole.UserRole) == preview["path"]
