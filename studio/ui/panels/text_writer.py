"""Text writer: prompt a writer model trained on your copy and watch text stream in."""

from __future__ import annotations

from studio.ui.panels.base import Panel


class TextWriterPanel(Panel):
    panel_id = "text"
    title = "Text writer"
    subtitle = "Write product copy, slogans and replies in your own voice, with full sampling controls."
    icon_name = "text"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.empty = self.add_empty_state(
            "No writer model yet",
            "Train a GPT-style writer on a text dataset in the Training panel; then prompt it here.",
            go_to=("training", "Go to Training"),
        )
