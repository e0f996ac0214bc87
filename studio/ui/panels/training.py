"""Training monitor: pick a dataset and a model, train it, and watch curves and samples live."""

from __future__ import annotations

from studio.ui.panels.base import Panel


class TrainingPanel(Panel):
    panel_id = "training"
    title = "Training"
    subtitle = "Train a GAN, VAE, writer or voice on your data, with live curves, samples and checkpoints."
    icon_name = "training"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.empty = self.add_empty_state(
            "No dataset to train on yet",
            "Import images, copy or recordings in the Dataset panel; then pick a model here and press Start.",
            go_to=("dataset", "Go to Dataset"),
        )
