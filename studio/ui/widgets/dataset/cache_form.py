"""The Dataset panel's Cache tab: the training-cache settings for the dataset's kind, and Build (a job)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from studio.core.datasets import audio_cache, image_cache, text_cache
from studio.core.datasets.drops import AUDIO, IMAGE, TEXT
from studio.ui.widgets.common.forms import form_rows
from studio.ui.widgets.common.inputs import ComboBox, SpinBox
from studio.ui.widgets.common.job_strip import JobStrip


class CacheTab(QWidget):
    """Settings of the training cache per kind, and Build (a job) with its progress."""

    build_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.kind = IMAGE
        self.resolution = ComboBox(objectName="cacheResolution")
        for side in (32, 64, 128, 256):
            self.resolution.addItem(f"{side} × {side} px", side)
        self.resolution.setCurrentIndex(1)
        self.fit = ComboBox(objectName="cacheFit")
        self.fit.addItem("Crop to a square (fill)", "crop")
        self.fit.addItem("Pad to a square (keep the whole picture)", "pad")
        image_page = QWidget()
        image_page.setLayout(form_rows([("Resolution", self.resolution), ("Fit", self.fit)]))

        self.tokenizer = ComboBox(objectName="cacheTokenizer")
        self.tokenizer.addItem("Characters (best for short copy, any language)", "char")
        self.tokenizer.addItem("Word pieces (BPE, for longer texts)", "bpe")
        self.vocab = SpinBox(objectName="cacheVocab")
        self.vocab.setRange(256, 65_536)
        self.vocab.setSingleStep(256)
        self.vocab.setValue(4096)
        self.vocab.lineEdit().setAcceptDrops(False)
        text_page = QWidget()
        text_page.setLayout(form_rows([("Tokens", self.tokenizer), ("Vocabulary size", self.vocab)]))

        audio_page = QLabel(
            "Clips become log-mel frames at the dataset's sample rate, and transcripts become "
            "phonemes. There is nothing to choose.",
            objectName="mutedLabel",
        )
        audio_page.setWordWrap(True)
        for box in (self.resolution, self.fit, self.tokenizer, self.vocab):
            box.setMinimumWidth(300)
        self.pages = QStackedWidget()
        self.pages.addWidget(image_page)
        self.pages.addWidget(text_page)
        self.pages.addWidget(audio_page)
        self.pages.setMaximumWidth(560)

        self.build_button = QPushButton("Build cache")
        self.build_button.setProperty("primary", True)
        self.build_button.clicked.connect(self.build_requested)
        self.strip = JobStrip()
        self.status = QLabel(objectName="cacheStatus")
        self.status.setWordWrap(True)
        explain = QLabel(
            "Training reads a compact, ready-made copy of the dataset instead of decoding every file "
            "again each epoch. Build it once; it is rebuilt only when the dataset changes.",
            objectName="mutedLabel",
        )
        explain.setWordWrap(True)
        explain.setMaximumWidth(620)
        row = QHBoxLayout()
        row.addWidget(self.build_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 16, 0, 0)
        layout.setSpacing(12)
        layout.addWidget(explain)
        layout.addWidget(self.pages)
        layout.addLayout(row)
        layout.addWidget(self.strip)
        layout.addWidget(self.status)
        layout.addStretch(1)

    def set_kind(self, kind: str) -> None:
        self.kind = kind
        self.pages.setCurrentIndex({IMAGE: 0, TEXT: 1, AUDIO: 2}.get(kind, 0))

    def make_job(self, folder: Path):
        """The cache job for the current settings."""

        if self.kind == IMAGE:
            return image_cache.BuildImageCache(folder, int(self.resolution.currentData()), str(self.fit.currentData()))
        if self.kind == TEXT:
            return text_cache.BuildTextCache(folder, str(self.tokenizer.currentData()), int(self.vocab.value()))
        return audio_cache.BuildAudioCache(folder)

    def describe(self) -> str:
        if self.kind == IMAGE:
            return f"{self.resolution.currentData()} px, {self.fit.currentData()}"
        if self.kind == TEXT:
            return f"{self.tokenizer.currentData()}, {self.vocab.value():,} tokens"
        return "mel frames"
