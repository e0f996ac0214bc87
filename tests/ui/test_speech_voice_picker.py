"""The Speech panel's voice picker as a designer uses it with espeak-ng's 137 voices: type to find one, find
them grouped under their language's name, and press Preview to hear a sample sentence in the highlighted voice
— or be told plainly that this computer cannot play sound.

The speech core is the Speech panel tests' fake (:class:`FakeSpeechBackend`), given a voice list shaped like the
real one (the project's voices first, then system voices with common languages first, then A–Z)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSize, Qt
from test_speech_panel import (
    FakeSpeechBackend,
    NoDevice,
    RecordingOutput,
    _pick_voice,
    _shot,
    _type_script,
    _wait_voices,
)

from studio.core.project import create_project, open_project
from studio.ui.widgets.common.audio_player import UNAVAILABLE, AudioPlayer
from studio.ui.widgets.speech.voice_picker import SAMPLES, sample_sentence

RATE = 16000
SYSTEM = [  # code, espeak-ng's name, in the core's order
    ("en-us", "English (America)"),
    ("en-gb", "English (Great Britain)"),
    ("de", "German"),
    ("pt-br", "Portuguese (Brazil)"),
    ("cmn", "Chinese (Mandarin, latin as English)"),
    ("af", "Afrikaans"),
    ("yue", "Chinese (Cantonese)"),
    ("en-gb-scotland", "English (Scotland)"),
    ("pt", "Portuguese (Portugal)"),
    ("cy", "Welsh"),
]
TRAINED = {
    "id": "20261125-220000-tts",
    "title": "Anna · tts",
    "kind": "trained",
    "language": "en-us",
    "sample_rate": RATE,
    "detail": "Trained on anna-clips",
    "steps": [1000],
    "vocoders": [],
}


def _voices() -> list[dict]:
    system = [
        {
            "id": f"system:{code}",
            "title": f"{name} (system)",
            "kind": "system",
            "language": code,
            "sample_rate": RATE,
            "detail": "Built-in espeak-ng voice: instant, offline, robotic",
        }
        for code, name in SYSTEM
    ]
    return [dict(TRAINED), *system]


@pytest.fixture
def fake():
    backend = FakeSpeechBackend()
    backend.voices = _voices()
    return backend


@pytest.fixture
def panel(qtbot, studio_app, fake, tmp_path, panel_alone):
    panel = panel_alone("speech", QSize(1280, 800))
    panel.backend = fake
    panel.set_player(AudioPlayer(outputs=[RecordingOutput()]))
    panel.set_project(open_project(create_project(tmp_path / "Sneaker Ads").root))
    _wait_voices(qtbot, panel)
    return panel


def _search(qtbot, panel, text: str) -> None:
    field = panel.controls.picker.search
    field.clear()
    qtbot.keyClicks(field, text)


def test_voices_are_grouped_by_language_with_readable_names(panel):
    picker = panel.controls.picker
    assert picker.groups() == [
        ("Trained voices", ["20261125-220000-tts"]),
        ("English", ["system:en-us", "system:en-gb", "system:en-gb-scotland"]),
        ("German", ["system:de"]),  # one voice: a row of its own
        ("Portuguese", ["system:pt-br", "system:pt"]),
        ("Chinese", ["system:cmn", "system:yue"]),
        ("Afrikaans", ["system:af"]),
        ("Welsh", ["system:cy"]),
    ]
    english = picker.tree.topLevelItem(1)
    assert english.text(0) == "English" and english.isExpanded()  # the chosen voice's group is open
    assert [english.child(i).text(0) for i in range(3)] == [
        "English (America)",
        "English (Great Britain)",
        "English (Scotland)",
    ]
    assert not picker.tree.topLevelItem(3).isExpanded()  # the others wait closed
    assert picker.count.text() == "11 voices"
    _pick_voice(panel, "20261125-220000-tts")  # a trained voice's language code, in words
    assert "English" in panel.controls.facts.text() and "en-us" not in panel.controls.facts.text()


def test_searching_filters_the_list(qtbot, panel, tmp_path):
    picker = panel.controls.picker
    _search(qtbot, panel, "brit")
    assert picker.visible_voice_ids() == ["system:en-gb"]
    assert picker.tree.topLevelItem(1).isExpanded() and picker.count.text() == "1 of 11 voices"
    _search(qtbot, panel, "chinese")  # a language finds all its voices
    assert picker.visible_voice_ids() == ["system:cmn", "system:yue"]
    _search(qtbot, panel, "pt")  # a language code too
    assert picker.visible_voice_ids() == ["system:pt-br", "system:pt"]
    _search(qtbot, panel, "english trained")  # every word must match
    assert picker.visible_voice_ids() == ["20261125-220000-tts"]
    _shot(panel.window(), tmp_path, "speech-voice-search.png")
    _search(qtbot, panel, "klingon")
    assert picker.visible_voice_ids() == [] and picker.nothing.isVisible()
    assert picker.nothing.text() == "No voice matches “klingon”."
    _search(qtbot, panel, "scot")
    qtbot.keyClick(picker.search, Qt.Key.Key_Return)  # Enter takes the first voice shown
    assert panel.controls.voice_id() == "system:en-gb-scotland"
    picker.search.clear()
    assert len(picker.visible_voice_ids()) == 11 and not picker.nothing.isVisible()
    assert picker.count.text() == "11 voices" and panel.controls.voice_id() == "system:en-gb-scotland"


def test_preview_speaks_a_sample_with_the_highlighted_voice(qtbot, panel, fake, tmp_path):
    _type_script(qtbot, panel, "Meet the new Air.")
    with qtbot.waitSignal(panel.synthesized, timeout=10000):
        panel.synthesize()
    qtbot.waitUntil(lambda: not panel.speak_slot.busy, timeout=5000)
    clip = panel.result
    output = panel.player.output
    _pick_voice(panel, "system:de")
    with qtbot.waitSignal(panel.previewed, timeout=10000) as done:
        qtbot.mouseClick(panel.controls.picker.preview_button, Qt.MouseButton.LeftButton)
    call = fake.calls[-1]
    assert call["kind"] == "speak" and call["voice"] == "system:de"
    assert call["text"] == sample_sentence({"language": "de"}) == SAMPLES["de"]
    assert output.played[-1] == len(done.args[0]["samples"])  # the preview is what played
    assert panel.result is clip and panel.status.text() == "Preview: German"  # the clip on screen stays
    _shot(panel.window(), tmp_path, "speech-voice-preview.png")
    panel.player.stop()
    qtbot.mouseClick(panel.play_button, Qt.MouseButton.LeftButton)  # Play: the clip again, not the preview
    assert output.played[-1] == len(clip["samples"])
    _pick_voice(panel, "system:cy")  # a language without its own sample says the English one
    with qtbot.waitSignal(panel.previewed, timeout=10000):
        item = panel.controls.picker.item_for("system:cy")
        panel.controls.picker.tree.itemActivated.emit(item, 0)  # double-click or Enter on the voice
    assert fake.calls[-1]["text"] == SAMPLES["en"] and fake.calls[-1]["voice"] == "system:cy"


def test_preview_without_an_audio_device_says_so_plainly(qtbot, panel, fake):
    panel.set_player(AudioPlayer(outputs=[NoDevice()]))
    calls = len(fake.calls)
    qtbot.mouseClick(panel.controls.picker.preview_button, Qt.MouseButton.LeftButton)
    assert panel.playback_notice.isVisible() and panel.playback_notice.text() == UNAVAILABLE
    assert len(fake.calls) == calls  # nothing to hear: nothing synthesized
