"""The Dataset panel's Split tab: validation share and seed; Apply re-assigns the split (stratified per class)
and the tab shows the resulting counts per class."""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.ui.widgets.common.forms import form_rows
from studio.ui.widgets.common.inputs import SpinBox


class SplitTab(QWidget):
    """Validation share and seed; Apply re-assigns the split (stratified per class) and shows the counts."""

    apply_requested = Signal(float, int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.percent = SpinBox(objectName="valPercent")
        self.percent.setRange(0, 50)
        self.percent.setSuffix(" %")
        self.percent.setValue(10)
        self.percent.setToolTip("Share of each class held back to check how well the model generalizes")
        self.seed = SpinBox(objectName="splitSeed")
        self.seed.setRange(0, 999_999)
        self.seed.setToolTip("The same seed always gives the same split, on every computer")
        for box in (self.percent, self.seed):
            box.lineEdit().setAcceptDrops(False)
            box.setMinimumWidth(110)
        self.apply_button = QPushButton("Apply split")
        self.apply_button.setProperty("primary", True)
        self.apply_button.clicked.connect(self._on_apply)
        self.counts = QLabel(objectName="splitCounts")
        font = self.counts.font()
        font.setPointSizeF(font.pointSizeF() + 1.5)
        self.counts.setFont(font)
        self.classes = QTreeWidget(objectName="classTable")
        self.classes.setHeaderLabels(["Class", "Training", "Validation"])
        self.classes.setRootIsDecorated(False)
        self.classes.setAlternatingRowColors(True)
        self.classes.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.classes.header().setStretchLastSection(False)
        for column in (1, 2):
            self.classes.header().resizeSection(column, 110)
            self.classes.headerItem().setTextAlignment(
                column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            )
        self.classes.setMaximumWidth(520)
        explain = QLabel(
            "Validation items are held back from training so the studio can tell whether the model "
            "learns your style or only memorizes the examples. Each class keeps at least one "
            "training item.",
            objectName="mutedLabel",
        )
        explain.setWordWrap(True)
        explain.setMaximumWidth(620)
        form = form_rows([("Validation share", self.percent), ("Seed", self.seed)])
        form.addWidget(self.apply_button, 1, 2, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        form.setColumnMinimumWidth(2, 140)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 16, 0, 0)
        layout.setSpacing(12)
        layout.addWidget(explain)
        layout.addLayout(form)
        layout.addSpacing(4)
        layout.addWidget(self.counts)
        layout.addWidget(self.classes)
        layout.addStretch(1)

    def show_manifest(self, manifest) -> None:
        self.percent.setValue(int(round(float(manifest.split.get("val_percent", 10)))))
        self.seed.setValue(int(manifest.split.get("seed", 0)))
        usable = manifest.usable()
        per_class: dict[str, Counter] = {}
        totals: Counter = Counter()
        for entry in usable:
            split = entry.get("split") or "train"
            totals[split] += 1
            if entry.get("label") is not None:
                per_class.setdefault(str(entry["label"]), Counter())[split] += 1
        self.counts.setText(
            f"Training: <b>{totals['train']:,}</b> &nbsp;·&nbsp; Validation: <b>{totals['val']:,}</b>"
            if usable
            else "There are no usable items to split yet."
        )
        self.classes.clear()
        for label in sorted(per_class):
            counts = per_class[label]
            item = QTreeWidgetItem([label, f"{counts['train']:,}", f"{counts['val']:,}"])
            for column in (1, 2):
                item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.classes.addTopLevelItem(item)
        self.classes.setVisible(bool(per_class))
        rows = min(len(per_class), 12)
        header = self.classes.header().sizeHint().height()
        row_height = self.classes.sizeHintForRow(0) if per_class else 20
        self.classes.setFixedHeight(header + rows * max(row_height, 20) + 8)

    def set_busy(self, busy: bool) -> None:
        self.apply_button.setEnabled(not busy)

    @Slot()
    def _on_apply(self) -> None:
        self.apply_requested.emit(float(self.percent.value()), int(self.seed.value()))
