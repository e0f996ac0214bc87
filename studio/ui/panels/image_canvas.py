"""Image canvas: sample grids, seeds, latent walks and exports from a trained image model."""

from __future__ import annotations

from studio.ui.panels.base import Panel


class ImageCanvasPanel(Panel):
    panel_id = "image"
    title = "Image canvas"
    subtitle = "Generate grids, explore seeds and latent walks, and export what your image model makes."
    icon_name = "image"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.empty = self.add_empty_state(
            "No image model yet",
            "Train a GAN or VAE on your images in the Training panel; its checkpoints appear here.",
            go_to=("training", "Go to Training"),
        )
