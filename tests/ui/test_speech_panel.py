"""The Speech panel as a designer drives it: type a script, pick a voice, Synthesize and watch the sentences
go by, see the waveform and spectrogram, Stop, play (or be told plainly that this computer cannot), seek,
export a WAV and one WAV per line, fix a brand name in the pronunciation dictionary, add a Piper voice — and
find it all as it was left next time.

Most tests use a FAKE speech core (:class:`FakeSpeechBackend`): a job that "speaks" each sentence as a short
tone whose pitch follows the rate and pitch settings, reporting ``ctx.progress(i / n, "Sentence i of n")``
and calling ``ctx.check()`` between sentences, like the real ``SynthesizeSpeech``, so Stop works mid-way.
Playback goes through a fake output (it records what it was asked to play) or through none at all: this
machine's real PortAudio / QtMultimedia are never touched. One test uses the real core (espeak-ng) when it is
there. Screenshots go to ``tmp_path`` (set ``AIGC_SCREENSHOT_DIR`` to keep them).
"""

from __future__ import annotations

import json
import os
import re
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from studio.core.jobs import JobContext
from studio.core.project import create_project, open_project
from studio.ui.main_window import MainWindow
from studio.ui.settings import AppSettings
from studio.ui.widgets.common.audio_player import UNAVAILABLE, AudioPlayer, OutputUnavailable
from studio.ui.widgets.speech.waveform import envelope

RATE = 16000
VOICES = [
    {
        "id": "system:en-us",
        "title": "English (America)",
        "kind": "system",
        "language": "en-us",
        "sample_rate": RATE,
        "detail": "System voice (espeak-ng)",
    },
    {
        "id": "system:de",
        "title": "German",
        "kind": "system",
        "language": "de",
        "sample_rate": RATE,
        "detail": "System voice (espeak-ng)",
    },
    {
        "id": "20261125-220000-tts",
        "title": "Anna · tts",
        "kind": "trained",
        "language": "en-us",
        "sample_rate": RATE,
        "detail": "Trained on anna-clips",
        "steps": [500, 1000],
        "vocoders": [
            {"id": "griffinlim", "title": "Griffin-Lim (built in)"},
            {"id": "20261125-230000-vocoder", "title": "Vocoder 20261125-230000"},
        ],
    },
]
SCRIPT = "Meet the new Nike Air. Light as a feather! Built for the city?"


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


# -- the fake speech core -----------------------------------------------------------------------------------------
def tone(seconds: float, hz: float, volume: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.5 * volume * np.sin(2 * np.pi * hz * t) * np.hanning(t.size)).astype(np.float32)


class FakeSpeakJob:
    kind = "task"
    title = "Speaking"

    def __init__(self, backend, voice, text, settings, dictionary) -> None:
        self.backend, self.voice, self.text = backend, voice, text
        self.settings, self.dictionary = dict(settings), dict(dictionary or {})

    def __call__(self, ctx: JobContext) -> dict:
        for word, say in self.dictionary.items():
            self.text = re.sub(rf"\b{re.escape(word)}\b", say, self.text, flags=re.IGNORECASE)
        sentences = split_sentences(self.text)
        pieces, spans, at = [], [], 0.0
        hz = 220.0 * 2 ** (self.settings.get("pitch", 0.0) / 12)
        for i, sentence in enumerate(sentences):
            ctx.check()
            ctx.progress(i / len(sentences), f"Sentence {i + 1} of {len(sentences)}")
            self.backend.messages.append(f"Sentence {i + 1} of {len(sentences)}")
            if self.backend.delay:
                time.sleep(self.backend.delay)
            ctx.check()
            piece = tone(0.04 * len(sentence) / self.settings.get("rate", 1.0), hz, self.settings.get("volume", 1.0))
            pieces += [piece, np.zeros(int(0.1 * RATE), np.float32)]
            spans.append({"text": sentence, "start": at, "end": at + piece.size / RATE})
            at += (piece.size + int(0.1 * RATE)) / RATE
        samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
        spectrogram = spectrogram_image(samples)
        return {
            "samples": samples,
            "sample_rate": RATE,
            "duration": samples.size / RATE,
            "sentences": spans,
            "voice": self.voice,
            "spectrogram": spectrogram,
            "text": self.text,
        }


def spectrogram_image(samples: np.ndarray, bins: int = 64) -> np.ndarray:
    """A log-magnitude STFT as uint8 (bins, frames), row 0 lowest, as analysis.spectrogram_image gives."""
    hop, size = RATE // 100, 256
    count = max(1, 1 + (samples.size - size) // hop)
    frames = np.stack(
        [np.pad(samples[i * hop : i * hop + size], (0, max(0, size - samples[i * hop :].size))) for i in range(count)]
    )
    power = np.log10(1e-6 + np.abs(np.fft.rfft(frames * np.hanning(size), axis=1))[:, :bins])
    scaled = (power - power.min()) / max(1e-6, np.ptp(power))
    return (scaled.T * 255).astype(np.uint8)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())
    return path


class FakeExportLines(FakeSpeakJob):
    title = "Exporting lines"

    def __init__(self, backend, voice, text, folder, settings, dictionary) -> None:
        super().__init__(backend, voice, text, settings, dictionary)
        self.folder = Path(folder)

    def __call__(self, ctx: JobContext) -> dict:
        lines = [line.strip() for line in self.text.splitlines() if line.strip()]
        files = []
        for i, line in enumerate(lines):
            ctx.check()
            ctx.progress(i / len(lines), f"Line {i + 1} of {len(lines)}")
            slug = "-".join(re.findall(r"\w+", line.lower())[:3])
            files.append(str(write_wav(self.folder / f"{i + 1:03d}-{slug}.wav", tone(0.2, 220, 1.0), RATE)))
        return {"files": files}


class FakeImport:
    kind = "task"
    title = "Adding a Piper voice"

    def __init__(self, backend, root, path) -> None:
        self.backend, self.root, self.path = backend, root, path

    def __call__(self, ctx: JobContext) -> dict:
        voice_id = f"piper:{self.root}/voices/lessac/lessac.onnx"
        self.backend.voices.append(
            {
                "id": voice_id,
                "title": "lessac",
                "kind": "piper",
                "language": "en-us",
                "sample_rate": 22050,
                "detail": "Piper voice",
            }
        )
        return {"id": voice_id}


class FakeSpeechBackend:
    """The SpeechBackend contract with tones instead of a voice."""

    def __init__(self) -> None:
        self.voices = [dict(v) for v in VOICES]
        self.delay = 0.0
        self.calls: list[dict] = []
        self.messages: list[str] = []
        self.saved: list[dict] = []

    def available(self) -> bool:
        return True

    def list_voices(self, root):
        return [dict(v) for v in self.voices if root is not None or v["kind"] != "trained"]

    def load_dictionary(self, root):
        file = Path(root) / "speech" / "pronunciation.json" if root else None
        return json.loads(file.read_text())["entries"] if file and file.is_file() else {}

    def save_dictionary(self, root, entries):
        self.saved.append(dict(entries))
        file = Path(root) / "speech" / "pronunciation.json"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(json.dumps({"entries": entries}))

    def synthesize_job(self, voice, text, project_root, settings, dictionary=None, step=None, vocoder=None):
        self.calls.append(
            {
                "kind": "speak",
                "voice": voice,
                "text": text,
                "settings": dict(settings),
                "dictionary": dict(dictionary or {}),
                "step": step,
                "vocoder": vocoder,
            }
        )
        return FakeSpeakJob(self, voice, text, settings, dictionary)

    def export_lines_job(self, voice, text, folder, project_root, settings, dictionary=None, step=None, vocoder=None):
        self.calls.append({"kind": "lines", "voice": voice, "folder": str(folder)})
        return FakeExportLines(self, voice, text, folder, settings, dictionary)

    def import_voice_job(self, project_root, onnx_path):
        self.calls.append({"kind": "import", "path": onnx_path})
        return FakeImport(self, project_root, onnx_path)

    def write_wav(self, path, result):
        return write_wav(Path(path), result["samples"], result["sample_rate"])


class RecordingOutput:
    """An audio output that works and remembers what it played (no sound card needed)."""

    name = "recording"

    def __init__(self, fail_play: bool = False) -> None:
        self.played: list[int] = []
        self.stops = 0
        self.fail_play = fail_play

    def probe(self) -> None:
        pass

    def play(self, samples, sample_rate) -> None:
        if self.fail_play:
            raise OutputUnavailable("the device refused the stream")
        self.played.append(len(samples))

    def stop(self) -> None:
        self.stops += 1


class NoDevice:
    name = "missing"

    def probe(self) -> None:
        raise OutputUnavailable("no output device")


# -- fixtures -------------------------------------------------------------------------------------------------------
def _shot(widget, tmp_path: Path, name: str) -> Path:
    QApplication.processEvents()
    folder = Path(os.environ.get("AIGC_SCREENSHOT_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    assert widget.grab().save(str(target))
    return target


class NoTraining:
    def available(self) -> bool:
        return False


def _window(qtbot) -> MainWindow:
    window = MainWindow(AppSettings())
    window.panels["training"].backend = NoTraining()
    qtbot.addWidget(window)
    window.confirm_quit_while_training = lambda: True
    window.setFixedSize(QSize(1360, 860))
    with qtbot.waitExposed(window):
        window.show()
    return window


def _open(qtbot, window, fake, root: Path | None, outputs=None):
    panel = window.panels["speech"]
    panel.backend = fake
    panel.set_player(AudioPlayer(outputs=[RecordingOutput()] if outputs is None else outputs))
    window.set_project(open_project(root) if root else None)
    window.show_panel("speech")
    _wait_voices(qtbot, panel)
    return panel


def _wait_voices(qtbot, panel) -> None:
    qtbot.waitUntil(
        lambda: panel.voices is not None and panel.voices_slot.runner is None,
        timeout=5000,
    )


@pytest.fixture
def fake():
    return FakeSpeechBackend()


@pytest.fixture
def project_root(tmp_path):
    return create_project(tmp_path / "Sneaker Ads").root


@pytest.fixture
def panel(request, qtbot, studio_app, fake, project_root, panel_alone):
    """The speech panel with the project open: on its own, or inside the whole window for tests marked
    main_window."""
    if request.node.get_closest_marker("main_window"):
        window = _window(qtbot)
        panel = _open(qtbot, window, fake, project_root)
        panel.window_ = window
        return panel
    panel = panel_alone("speech", QSize(1360, 860))
    panel.backend = fake
    panel.set_player(AudioPlayer(outputs=[RecordingOutput()]))
    panel.set_project(open_project(project_root))
    _wait_voices(qtbot, panel)
    return panel


def _type_script(qtbot, panel, text: str) -> None:
    panel.script.clear()
    panel.script.setFocus()
    qtbot.keyClicks(panel.script, text)


def _pick_voice(panel, voice_id: str) -> None:
    """Click the voice in the picker's list, as a person does (opening its group first)."""
    picker = panel.controls.picker
    item = picker.item_for(voice_id)
    assert item is not None, voice_id
    if item.parent() is not None:
        item.parent().setExpanded(True)
    picker.tree.scrollToItem(item)
    QTest.mouseClick(picker.tree.viewport(), Qt.MouseButton.LeftButton, pos=picker.tree.visualItemRect(item).center())
    assert panel.controls.voice_id() == voice_id


def _synthesize(qtbot, panel, timeout=10000) -> dict:
    with qtbot.waitSignal(panel.synthesized, timeout=timeout) as done:
        panel.script.setFocus()
        qtbot.keyClick(panel.script, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Return
    qtbot.waitUntil(lambda: not panel.speak_slot.busy, timeout=5000)
    return done.args[0]


# -- tests ----------------------------------------------------------------------------------------------------------
def test_envelope_is_min_and_max_per_column():
    samples = np.array([0, 1, -1, 0.5, -0.25, 0.25, 0, 0], dtype=np.float32)
    lows, highs = envelope(samples, 4)
    assert lows.tolist() == [0, -1, -0.25, 0] and highs.tolist() == [1, 0.5, 0.25, 0]
    lows, highs = envelope(samples[:2], 5)  # fewer samples than columns: every column still has a value
    assert lows.size == highs.size == 5 and highs.max() == 1
    assert envelope(np.zeros(0, np.float32), 3)[0].tolist() == [0, 0, 0]


def test_voices_grouped_and_trained_voice_has_checkpoint_and_vocoder(qtbot, panel, fake, tmp_path):
    picker = panel.controls.picker
    assert picker.groups() == [
        ("Trained voices", ["20261125-220000-tts"]),  # the project's own voices first
        ("English", ["system:en-us"]),  # then the built-in ones by language
        ("German", ["system:de"]),
    ]
    heading = picker.tree.topLevelItem(0)
    assert not heading.flags() & Qt.ItemFlag.ItemIsSelectable  # a heading cannot be chosen
    assert panel.controls.voice_id() == "system:en-us"  # a system voice speaks at once: the first choice
    assert not panel.controls.checkpoint.isVisibleTo(panel) and not panel.controls.vocoder.isVisibleTo(panel)
    _pick_voice(panel, "20261125-220000-tts")
    assert panel.controls.checkpoint.isVisibleTo(panel) and panel.controls.vocoder.isVisibleTo(panel)
    assert panel.controls.step() == 1000  # the newest checkpoint
    assert panel.controls.vocoder_id() == "20261125-230000-vocoder"  # a trained vocoder before Griffin-Lim
    _shot(panel.window(), tmp_path, "speech-trained-voice.png")
    panel.controls.vocoder.setCurrentIndex(panel.controls.vocoder.findData("griffinlim"))
    panel.controls.checkpoint.setCurrentIndex(panel.controls.checkpoint.findData(500))
    _type_script(qtbot, panel, "Hello there.")
    _synthesize(qtbot, panel)
    call = fake.calls[-1]
    assert (call["voice"], call["step"], call["vocoder"]) == ("20261125-220000-tts", 500, "griffinlim")
    _pick_voice(panel, "system:de")
    _synthesize(qtbot, panel)
    assert fake.calls[-1]["step"] is None and fake.calls[-1]["vocoder"] is None


def test_synthesize_shows_the_waveform_spectrogram_and_sentences(qtbot, panel, fake, tmp_path):
    controls = panel.controls
    assert not controls.synthesize_button.isEnabled()  # nothing to say yet
    assert panel.waveform.placeholder.startswith("Synthesize")
    _type_script(qtbot, panel, SCRIPT)
    assert panel.script_facts.text() == "1 line · 13 words"
    assert controls.synthesize_button.isEnabled()
    controls.rate.set_value(150)
    controls.pitch.set_value(-3)
    assert controls.rate.value_label.text() == "1.50×" and controls.pitch.value_label.text() == "-3 st"
    fake.delay = 0.15
    statuses = []
    panel.status.setText = _spy(panel.status.setText, statuses)
    result = _synthesize(qtbot, panel)
    assert fake.calls[-1]["settings"] == {"rate": 1.5, "pitch": -3.0, "volume": 1.0}
    assert fake.messages == ["Sentence 1 of 3", "Sentence 2 of 3", "Sentence 3 of 3"]
    assert any(s.startswith("Sentence 2 of 3") for s in statuses)
    assert panel.waveform.has_audio() and panel.waveform.samples.size == result["samples"].size > 0
    assert panel.waveform.spectrogram is not None and panel.waveform.spectrogram.height() == 64
    assert [panel.sentence_list.item(i).text().split("   ", 1)[1] for i in range(3)] == split_sentences(SCRIPT)
    assert panel.play_button.isEnabled() and panel.export_button.isEnabled()
    assert not panel.playback_notice.isVisible()
    assert panel.status.text().endswith("English (America)")
    assert panel.time_label.text().startswith("0:00.0 / 0:0")
    # hovering shows the sentence under the pointer
    middle = result["sentences"][1]
    x = int(panel.waveform.x_for((middle["start"] + middle["end"]) / 2))
    assert panel.waveform.sentence_at(panel.waveform.time_at(x))["text"] == "Light as a feather!"
    shot = _shot(panel.window(), tmp_path, "speech-waveform.png")
    assert shot.stat().st_size > 10_000


def _spy(method, seen: list):
    def wrapper(text):
        seen.append(text)
        method(text)

    return wrapper


def test_stop_cancels_synthesis(qtbot, panel, fake):
    _type_script(qtbot, panel, "One. Two. Three. Four. Five. Six. Seven. Eight.")
    fake.delay = 0.3
    panel.script.setFocus()
    qtbot.keyClick(panel.script, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    runner = panel.speak_slot.runner
    assert runner is not None and panel.controls.stop_button.isEnabled()
    assert panel.controls.synthesize_button.text() == "Speaking…"
    qtbot.waitUntil(lambda: len(fake.messages) >= 2, timeout=5000)
    qtbot.waitUntil(lambda: bool(re.search(r"Sentence \d of 8 · \d+ s left", panel.status.text())), timeout=5000)
    assert panel.progress.isVisible() and 0 < panel.progress.value() < 1000
    with qtbot.waitSignal(runner.cancelled, timeout=5000):
        qtbot.keyClick(panel.script, Qt.Key.Key_Escape)  # Esc
    qtbot.waitUntil(lambda: not runner.is_running(), timeout=5000)
    assert len(fake.messages) < 8 and panel.result is None
    assert panel.status.text().startswith("Stopped")
    assert panel.controls.synthesize_button.isEnabled() and not panel.controls.stop_button.isEnabled()


def test_play_seek_and_stop_move_the_playhead(qtbot, panel, fake):
    output = RecordingOutput()
    panel.set_player(AudioPlayer(outputs=[output]))
    _type_script(qtbot, panel, SCRIPT)
    result = _synthesize(qtbot, panel)
    duration = result["samples"].size / RATE
    panel.waveform.setFocus()
    qtbot.keyClick(panel.waveform, Qt.Key.Key_Space)  # Space plays
    assert panel.player.is_playing() and output.played == [result["samples"].size]
    assert panel.play_button.text() == "Stop"
    qtbot.waitUntil(lambda: (panel.waveform.playhead or 0) > 0.05, timeout=3000)
    # a click in the waveform seeks: playback goes on from there
    x = int(panel.waveform.x_for(duration / 2))
    qtbot.mouseClick(panel.waveform, Qt.MouseButton.LeftButton, pos=QPoint(x, 40))
    assert abs(panel.player.position - duration / 2) < 0.05
    assert abs(output.played[-1] - result["samples"].size / 2) < RATE * 0.05
    qtbot.keyClick(panel.waveform, Qt.Key.Key_Space)  # Space stops
    assert not panel.player.is_playing() and panel.play_button.text() == "Play"
    stopped_at = panel.player.position
    assert stopped_at >= duration / 2
    panel.sentence_list.setCurrentRow(2)
    item = panel.sentence_list.item(2)
    qtbot.mouseClick(
        panel.sentence_list.viewport(), Qt.MouseButton.LeftButton, pos=panel.sentence_list.visualItemRect(item).center()
    )
    assert abs(panel.player.position - result["sentences"][2]["start"]) < 1e-6
    assert panel.waveform.playhead == pytest.approx(result["sentences"][2]["start"])
    panel.play_button.click()  # plays on from the chosen sentence, to the end
    assert panel.player.is_playing()
    with qtbot.waitSignal(panel.player.playing_changed, timeout=5000) as ended:
        pass
    assert ended.args == [False] and panel.player.position == 0.0 and panel.waveform.playhead is None
    panel.play_button.click()
    qtbot.keyClick(panel.script, Qt.Key.Key_Escape)  # Esc stops playback too
    assert not panel.player.is_playing()


def test_sounddevice_output_steps_aside_without_portaudio_or_a_device(monkeypatch):
    """Each way sounddevice fails on a machine without sound becomes OutputUnavailable (the next output is
    tried), never an exception in the window."""
    import sys
    import types

    from studio.ui.widgets.common.audio_player import SoundDeviceOutput

    monkeypatch.setitem(sys.modules, "sounddevice", None)  # PortAudio's library missing: the import fails
    with pytest.raises(OutputUnavailable):
        SoundDeviceOutput().probe()

    class PortAudioError(Exception):
        pass

    def no_default(kind=None):
        raise PortAudioError("Error querying device -1")

    fake_sd = types.SimpleNamespace(query_devices=no_default)
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sd)
    with pytest.raises(OutputUnavailable):
        SoundDeviceOutput().probe()
    fake_sd.query_devices = lambda kind=None: {"name": "hdmi", "max_output_channels": 0}
    with pytest.raises(OutputUnavailable):
        SoundDeviceOutput().probe()

    def refuse(samples, rate):
        raise PortAudioError("Invalid sample rate")

    fake_sd.query_devices = lambda kind=None: {"name": "speakers", "max_output_channels": 2}
    fake_sd.play, fake_sd.stop = refuse, lambda: None
    output = SoundDeviceOutput()
    output.probe()
    with pytest.raises(OutputUnavailable):
        output.play(np.zeros(10, np.float32), RATE)


def test_the_default_outputs_answer_without_crashing(qtbot, studio_app):
    """On this machine, whatever it has: a working output, or the plain message (never an exception)."""
    player = AudioPlayer()
    available = player.probe()
    assert available or player.reason == UNAVAILABLE
    player.close()


def test_typing_a_space_in_the_script_types_a_space(qtbot, panel):
    _type_script(qtbot, panel, "two words")
    assert panel.script.toPlainText() == "two words"


def test_playback_unavailable_says_so_and_export_still_works(qtbot, panel, fake, tmp_path):
    panel.set_player(AudioPlayer(outputs=[NoDevice()]))
    _type_script(qtbot, panel, SCRIPT)
    result = _synthesize(qtbot, panel)
    assert panel.playback_notice.isVisible()
    assert panel.playback_notice.text() == UNAVAILABLE
    assert "no audio output device" in UNAVAILABLE and "Export still works" in UNAVAILABLE
    assert not panel.play_button.isEnabled()
    qtbot.keyClick(panel.script, Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier)
    assert not panel.player.is_playing()
    target = tmp_path / "out" / "ad"
    panel.ask_export_path = lambda: str(target)
    with qtbot.waitSignal(panel.exported, timeout=3000) as done:
        qtbot.keyClick(panel.script, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)  # Ctrl+E
    written = Path(done.args[0])
    assert written == target.with_suffix(".wav") and written.is_file()
    with wave.open(str(written)) as wav:
        assert (wav.getsampwidth(), wav.getframerate(), wav.getnframes()) == (2, RATE, result["samples"].size)
    assert "Saved ad.wav" in panel.banner.text.text()


def test_a_device_that_refuses_to_play_falls_back_to_the_next_output(qtbot, panel):
    refusing, working = RecordingOutput(fail_play=True), RecordingOutput()
    panel.set_player(AudioPlayer(outputs=[refusing, working]))
    _type_script(qtbot, panel, "Hello.")
    _synthesize(qtbot, panel)
    panel.play_button.click()
    assert panel.player.output is working and working.played and panel.player.is_playing()
    panel.player.stop()
    panel.set_player(AudioPlayer(outputs=[RecordingOutput(fail_play=True)]))
    panel.play_button.click()
    assert not panel.player.is_playing() and panel.playback_notice.text() == UNAVAILABLE
    assert not panel.play_button.isEnabled() and panel.export_button.isEnabled()


def test_the_default_export_folder_is_the_projects_outputs_speech(qtbot, panel, project_root, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    _type_script(qtbot, panel, "Meet the new Nike Air.")
    _synthesize(qtbot, panel)
    offered = {}

    def choose(parent, caption, start, filters):
        offered["start"] = start
        return start, filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", choose)
    with qtbot.waitSignal(panel.exported, timeout=3000) as done:
        panel.export_button.click()
    assert Path(offered["start"]) == project_root / "outputs" / "speech" / "meet-the-new-nike-air.wav"
    assert Path(done.args[0]).is_file()


@pytest.mark.main_window
def test_dictionary_edit_is_saved_and_passed_to_the_job(qtbot, panel, fake, project_root):
    panel.tabs.setCurrentIndex(0)
    editor = panel.dictionary_editor
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(QApplication.focusWidget(), "Nike")  # the new row's word cell is open for typing
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    qtbot.keyClicks(QApplication.focusWidget(), "Nyke")
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)  # the table commits it a moment later
    qtbot.waitUntil(lambda: editor.entries() == {"Nike": "Nyke"}, timeout=2000)
    assert fake.saved[-1] == {"Nike": "Nyke"}
    assert "1 word saved in this project" in editor.saved_note.text()
    stored = json.loads((project_root / "speech" / "pronunciation.json").read_text())
    assert stored["entries"] == {"Nike": "Nyke"}
    _type_script(qtbot, panel, SCRIPT)
    result = _synthesize(qtbot, panel)
    assert fake.calls[-1]["dictionary"] == {"Nike": "Nyke"}
    assert "Nyke Air" in result["text"]
    # reopened, the project's dictionary is back
    window = panel.window_
    window.set_project(None)
    assert editor.entries() == {}
    window.set_project(open_project(project_root))
    _wait_voices(qtbot, panel)
    assert editor.entries() == {"Nike": "Nyke"}
    editor.table.selectRow(0)
    editor.remove_button.click()
    assert editor.entries() == {} and fake.saved[-1] == {}


def test_export_each_line_writes_one_file_per_line(qtbot, panel, fake, tmp_path):
    _type_script(qtbot, panel, "First line here.")
    for line in ("Second line, a bit longer.", "", "Third and last."):
        qtbot.keyClick(panel.script, Qt.Key.Key_Return)
        qtbot.keyClicks(panel.script, line)
    assert panel.script_facts.text() == "3 lines · 11 words"
    folder = tmp_path / "lines"
    panel.ask_lines_folder = lambda: str(folder)
    with qtbot.waitSignal(panel.lines_exported, timeout=5000) as done:
        panel.export_lines_button.click()
    files = [Path(f) for f in done.args[0]]
    assert [f.name for f in files] == ["001-first-line-here.wav", "002-second-line-a.wav", "003-third-and-last.wav"]
    assert all(f.is_file() for f in files) and sorted(folder.iterdir()) == files
    assert "Saved 3 files" in panel.banner.text.text()
    assert fake.calls[-1] == {"kind": "lines", "voice": "system:en-us", "folder": str(folder)}


def test_no_project_the_system_voice_still_speaks(qtbot, studio_app, fake, tmp_path):
    window = _window(qtbot)
    panel = _open(qtbot, window, fake, None)
    assert panel.stack.currentWidget() is panel.content
    picker = panel.controls.picker
    assert picker.item_for("20261125-220000-tts") is None and panel.controls.voice_id() == "system:en-us"
    _type_script(qtbot, panel, "No project needed.")
    result = _synthesize(qtbot, panel)
    assert result["samples"].size > 0 and panel.waveform.has_audio()
    panel.dictionary_editor.add_entry("Nike", "Nyke")
    assert fake.saved == [] and "Open a project to keep them" in panel.dictionary_editor.saved_note.text()
    _synthesize(qtbot, panel)
    assert fake.calls[-1]["dictionary"] == {"Nike": "Nyke"}


def test_no_voice_at_all_shows_what_to_do(qtbot, studio_app, fake, project_root, tmp_path):
    fake.voices = []
    window = _window(qtbot)
    panel = _open(qtbot, window, fake, project_root)
    assert panel.stack.currentWidget() is panel.empty
    assert "train a voice" in panel.empty.body.text()
    assert panel.empty_add_voice.isVisible()  # a Piper voice the user has works without espeak-ng
    _shot(window, tmp_path, "speech-no-voice.png")
    qtbot.mouseClick(panel.empty.button, Qt.MouseButton.LeftButton)
    assert window.current_panel_id == "dataset"


def test_add_piper_voice_imports_and_selects_it(qtbot, panel, fake, tmp_path):
    onnx = tmp_path / "downloads" / "lessac.onnx"
    panel.ask_piper_path = lambda: str(onnx)
    with qtbot.waitSignal(panel.controls.voice_changed, timeout=5000):
        panel.controls.add_voice.click()
    qtbot.waitUntil(lambda: panel.controls.voice_id() and panel.controls.voice_id().startswith("piper:"), timeout=5000)
    assert fake.calls[-1] == {"kind": "import", "path": str(onnx)}
    picker = panel.controls.picker
    assert "Imported voices" in [heading for heading, _ in picker.groups()]
    assert picker.tree.currentItem().text(0) == "lessac" and picker.tree.currentItem().isSelected()
    assert "Piper voice was added" in panel.banner.text.text()


@pytest.mark.main_window
def test_settings_are_remembered(qtbot, panel, fake):
    controls = panel.controls
    _pick_voice(panel, "20261125-220000-tts")
    controls.checkpoint.setCurrentIndex(controls.checkpoint.findData(500))
    controls.vocoder.setCurrentIndex(controls.vocoder.findData("griffinlim"))
    controls.set_settings({"rate": 0.75, "pitch": 4, "volume": 1.6})
    _type_script(qtbot, panel, SCRIPT)
    panel.tabs.setCurrentIndex(1)
    state = panel.save_state()
    assert state["voice"] == "20261125-220000-tts" and state["step"] == 500 and state["vocoder"] == "griffinlim"
    assert state["settings"] == {"rate": 0.75, "pitch": 4.0, "volume": 1.6}
    window = panel.window_
    window.save_window_state()
    reopened = _window(qtbot)
    other = _open(qtbot, reopened, fake, window.project.root)
    assert other.controls.voice_id() == "20261125-220000-tts" and other.controls.step() == 500
    assert other.controls.vocoder_id() == "griffinlim"
    assert other.controls.settings() == {"rate": 0.75, "pitch": 4.0, "volume": 1.6}
    assert other.script.toPlainText() == SCRIPT and other.tabs.currentIndex() == 1
    other.controls.reset_button.click()
    assert other.controls.settings() == {"rate": 1.0, "pitch": 0.0, "volume": 1.0}


# -- the real speech core -----------------------------------------------------------------------------------------
def _real_core() -> bool:
    import importlib.util

    names = (
        "studio.core.generation.speech_jobs",
        "studio.core.speech.espeak",
        "studio.core.speech.wav",
        "studio.core.speech.pronunciation",
    )
    try:
        return all(importlib.util.find_spec(name) is not None for name in names)
    except (ImportError, ValueError):
        return False


@pytest.mark.skipif(not _real_core(), reason="the speech core (studio.core.generation.speech_jobs) is not there yet")
def test_real_system_voice_end_to_end(qtbot, studio_app, tmp_path):
    from studio.core.speech import espeak

    if not espeak.available():
        pytest.skip(f"espeak-ng could not be loaded: {espeak.error()}")
    root = create_project(tmp_path / "Real").root
    window = _window(qtbot)
    panel = window.panels["speech"]
    panel.set_player(AudioPlayer(outputs=[NoDevice()]))
    window.set_project(open_project(root))
    window.show_panel("speech")
    _wait_voices(qtbot, panel)
    assert panel.controls.voice_id() and panel.controls.voice_id().startswith("system:")
    _pick_voice(panel, "system:en-us")
    panel.dictionary_editor.add_entry("Nike", "Nyke")  # saved through the real pronunciation module
    from studio.core.speech import pronunciation

    assert pronunciation.load_dictionary(root).entries == {"Nike": "Nyke"}
    _type_script(qtbot, panel, "Meet the new Nike Air. Light as a feather, built for the city. In stores Friday.")
    result = _synthesize(qtbot, panel, timeout=60000)
    samples = panel.waveform.samples
    assert samples.size > 0.5 * result["sample_rate"] and float(np.abs(samples).max()) > 0.05
    assert len(result["sentences"]) == 3 and panel.waveform.spectrogram is not None
    target = tmp_path / "hello.wav"
    panel.ask_export_path = lambda: str(target)
    with qtbot.waitSignal(panel.exported, timeout=5000):
        panel.export_button.click()
    with wave.open(str(target)) as wav:
        assert wav.getsampwidth() == 2 and wav.getframerate() == result["sample_rate"]
        assert wav.getnframes() == samples.size
    _shot(window, tmp_path, "speech-real-espeak-no-device.png")
    # the same clip where a device exists: the notice goes, Play comes back; the playhead mid-clip
    panel.set_player(AudioPlayer(outputs=[RecordingOutput()]))
    assert not panel.playback_notice.isVisible() and panel.play_button.isEnabled()
    panel.seek(result["sentences"][1]["start"] + 0.6)
    panel.banner.hide()
    _shot(window, tmp_path, "speech-panel.png")
