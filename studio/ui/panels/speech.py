"""Speech synthesis: type text, hear it in a voice, export WAV."""

from __future__ import annotations

from studio.ui.panels.base import Panel


class SpeechPanel(Panel):
    panel_id = "speech"
    title = "Speech"
    subtitle = "Type a script, hear it in a voice, and export a WAV for your video or ad."
    icon_name = "speech"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.empty = self.add_empty_state(
            "No voice yet",
            "Import voice recordings with transcripts in the Dataset panel and train a voice in the Training panel.",
            go_to=("dataset", "Go to Dataset"),
        )
