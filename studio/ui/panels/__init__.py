"""The five panels, in the order they appear in the sidebar (Ctrl+1 .. Ctrl+5)."""

from studio.ui.panels.canvas import ImageCanvasPanel
from studio.ui.panels.dataset import DatasetPanel
from studio.ui.panels.speech import SpeechPanel
from studio.ui.panels.text_writer import TextWriterPanel
from studio.ui.panels.training import TrainingPanel

PANEL_CLASSES = (DatasetPanel, TrainingPanel, ImageCanvasPanel, TextWriterPanel, SpeechPanel)
