"""The Speech panel's voice picker: a search field over the voices grouped by language, and Preview.

Why not a drop-down: espeak-ng alone brings 137 voices, which a flat list shows as a wall of names to scroll
with no way to find "the Scottish one". Here the project's own voices come first (Trained voices, Imported
voices), then the built-in voices under their language's readable name ("English", "Chinese"), in the core's
order (common languages first, then A–Z). A language with one voice is a row of its own; one with several is a
group that opens (the chosen voice's group is open). Typing in the search field keeps the voices whose name,
language or language code hold every word typed, with their groups opened; Enter takes the first one.

The highlighted voice is the chosen voice. *Preview* (or a double-click, or Enter in the list) asks the panel
to speak :func:`sample_sentence` in it, through the panel's own synthesis jobs; the picker plays nothing.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core import words
from studio.ui.icons import icon

ID_ROLE = Qt.ItemDataRole.UserRole
KIND_GROUPS = {"trained": "Trained voices", "piper": "Imported voices"}
SAMPLES = {  # a short sentence a voice of that language says for Preview (English for every other language)
    "en": "Hello! This is how I sound. Shall I read your script?",
    "de": "Hallo! So klingt meine Stimme.",
    "fr": "Bonjour ! Voici le son de ma voix.",
    "es": "¡Hola! Así suena mi voz.",
    "it": "Ciao! Ecco come suona la mia voce.",
    "pt": "Olá! É assim que soa a minha voz.",
    "nl": "Hallo! Zo klinkt mijn stem.",
    "sv": "Hej! Så här låter min röst.",
    "pl": "Cześć! Tak brzmi mój głos.",
    "ru": "Привет! Так звучит мой голос.",
    "cmn": "你好！这是我的声音。",
}


def display_title(voice: dict) -> str:
    """The voice's title without the "(system)" / "(trained)" the group heading already says."""
    title = str(voice.get("title") or voice.get("id") or "").strip()
    for suffix in (" (system)", " (trained)"):
        if title.endswith(suffix):
            return title[: -len(suffix)].strip()
    return title


def voice_kind(voice: dict) -> str:
    kind = str(voice.get("kind") or "")
    return kind if kind in ("system", "trained") else "piper"


def _code(voice: dict) -> str:
    return str(voice.get("language") or "").strip().lower().replace("_", "-")


def language_names(voices: list[dict]) -> dict[str, str]:
    """Language code → readable name, learnt from the system voices' own titles ("en-gb" → "English"): what a
    trained or imported voice's code is shown as (espeak-ng names every language it has)."""
    names: dict[str, str] = {}
    for voice in voices:
        if voice_kind(voice) == "system" and _code(voice):
            name = display_title(voice).split(" (")[0].strip()
            names.setdefault(_code(voice), name)
            names.setdefault(_code(voice).split("-")[0], name)
    return names


def language_name(voice: dict, names: dict[str, str]) -> str:
    """The readable language of a voice ("English"); its code when no system voice names it; "" if unknown."""
    if voice_kind(voice) == "system":
        return display_title(voice).split(" (")[0].strip()
    code = _code(voice)
    return names.get(code) or names.get(code.split("-")[0]) or code


def sample_sentence(voice: dict | None) -> str:
    """What Preview says: a short sentence in the voice's language when there is one, else in English."""
    code = _code(voice or {})
    return SAMPLES.get(code) or SAMPLES.get(code.split("-")[0]) or SAMPLES["en"]


class VoicePicker(QWidget):
    """Search field, voices grouped by language, the count shown and Preview. ``voice_chosen`` is emitted
    when the user highlights another voice (not when code selects one); ``preview_requested`` for Preview."""

    voice_chosen = Signal()
    preview_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.voices: list[dict] = []
        self._names: dict[str, str] = {}
        self._haystacks: dict[str, str] = {}  # voice id → what the search looks in (case-folded)
        self._current: str | None = None

        self.search = QLineEdit(objectName="speechVoiceSearch")
        self.search.setPlaceholderText("Search voices or languages")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Type part of a voice's name or language (e.g. “scot”, “brazil”); Enter picks the first")
        self.search.textChanged.connect(self.set_filter)
        self.search.returnPressed.connect(self._take_first)
        self.tree = QTreeWidget(objectName="speechVoiceList")
        self.tree.setHeaderHidden(True)
        self.tree.setColumnCount(1)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setIndentation(14)
        self.tree.setMinimumHeight(200)
        self.tree.setMaximumHeight(240)
        self.tree.setToolTip("Click a voice to use it; double-click (or Enter) to hear it")
        self.tree.itemSelectionChanged.connect(self._on_selection)
        self.tree.itemClicked.connect(self._on_clicked)
        self.tree.itemActivated.connect(self._on_activated)
        self.count = QLabel(objectName="mutedLabel")
        self.preview_button = QPushButton(icon("play"), "Preview", objectName="speechPreview")
        self.preview_button.setToolTip("Hear a short sample sentence in the highlighted voice")
        self.preview_button.clicked.connect(self.preview_requested)
        self.nothing = QLabel(objectName="mutedLabel")
        self.nothing.setWordWrap(True)
        self.nothing.setVisible(False)

        foot = QHBoxLayout()
        foot.setContentsMargins(0, 0, 0, 0)
        foot.setSpacing(8)
        foot.addWidget(self.count, 1)
        foot.addWidget(self.preview_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        layout.addWidget(self.nothing)
        layout.addLayout(foot)

    # -- the list ---------------------------------------------------------------------------------------------
    def set_voices(self, voices: list[dict]) -> None:
        """Fill the tree: the project's voices by kind, then the system voices by language (the order given)."""
        self.voices = [dict(v) for v in voices if isinstance(v, dict) and v.get("id")]
        self._names = language_names(self.voices)
        groups: dict[str, list[dict]] = {}
        for kind, heading in KIND_GROUPS.items():
            members = [v for v in self.voices if voice_kind(v) == kind]
            if members:
                groups[heading] = members
        for voice in self.voices:
            if voice_kind(voice) == "system":
                groups.setdefault(language_name(voice, self._names) or "Other", []).append(voice)
        self.tree.blockSignals(True)
        self.tree.clear()
        self._haystacks = {}
        for heading, members in groups.items():
            if heading not in KIND_GROUPS.values() and len(members) == 1:  # a language with one voice: one row
                self.tree.addTopLevelItem(self._voice_item(members[0], heading))
                continue
            group = QTreeWidgetItem([heading])
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)  # a heading opens and closes; it is no voice to choose
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            group.setToolTip(0, f"{words.count(len(members), 'voice')}: {heading}")
            group.addChildren([self._voice_item(v, heading) for v in members])
            self.tree.addTopLevelItem(group)
        self.tree.blockSignals(False)
        if self._current and self.item_for(self._current) is None:
            self._current = None
        self.set_filter(self.search.text())

    def _voice_item(self, voice: dict, heading: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem([display_title(voice)])
        item.setData(0, ID_ROLE, voice["id"])
        language = language_name(voice, self._names)
        item.setToolTip(0, " · ".join(str(p) for p in (display_title(voice), voice.get("detail"), language) if p))
        kind = {"trained": "trained", "piper": "imported piper"}.get(voice_kind(voice), "system built-in")
        self._haystacks[voice["id"]] = " ".join(
            (display_title(voice), language, _code(voice), heading, kind)
        ).casefold()
        return item

    def _voice_items(self) -> list[QTreeWidgetItem]:
        items = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            items.extend([top.child(k) for k in range(top.childCount())] if top.childCount() else [top])
        return items

    def item_for(self, voice_id: str | None) -> QTreeWidgetItem | None:
        return next((item for item in self._voice_items() if item.data(0, ID_ROLE) == voice_id), None)

    def groups(self) -> list[tuple[str, list[str]]]:
        """(heading, voice ids) of every row of the tree, a one-voice language being its own group."""
        out = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            if top.childCount():
                out.append((top.text(0), [top.child(k).data(0, ID_ROLE) for k in range(top.childCount())]))
            else:
                out.append((self.heading_of(top), [top.data(0, ID_ROLE)]))
        return out

    def heading_of(self, item: QTreeWidgetItem) -> str:
        parent = item.parent()
        if parent is not None:
            return parent.text(0)
        voice = next((v for v in self.voices if v["id"] == item.data(0, ID_ROLE)), {})
        return language_name(voice, self._names)

    def language_of(self, voice: dict) -> str:
        """The readable language of ``voice`` ("English" for "en-us"), named as the listed system voices name it."""
        return language_name(voice, self._names)

    def visible_voice_ids(self) -> list[str]:
        """The voices the list shows now (a search hides the others), top to bottom."""
        return [
            item.data(0, ID_ROLE)
            for item in self._voice_items()
            if not item.isHidden() and (item.parent() is None or not item.parent().isHidden())
        ]

    # -- the chosen voice ---------------------------------------------------------------------------------------
    def voice_id(self) -> str | None:
        return self._current

    def select(self, voice_id: str | None) -> bool:
        """Highlight a voice (opening its group) without announcing it; False if it is not listed."""
        item = self.item_for(voice_id) if voice_id else None
        if item is None:
            return False
        self._current = str(voice_id)
        self.tree.blockSignals(True)
        self.tree.clearSelection()
        if item.parent() is not None:
            item.parent().setExpanded(True)
        item.setSelected(True)
        self.tree.setCurrentItem(item)
        self.tree.blockSignals(False)
        self.tree.scrollToItem(item)
        return True

    @Slot()
    def _on_selection(self) -> None:
        chosen = [i for i in self.tree.selectedItems() if i.data(0, ID_ROLE)]
        if chosen and chosen[0].data(0, ID_ROLE) != self._current:
            self._current = str(chosen[0].data(0, ID_ROLE))
            self.voice_chosen.emit()

    @Slot(QTreeWidgetItem, int)
    def _on_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        if item.childCount():  # a heading: one click opens or closes it
            item.setExpanded(not item.isExpanded())

    @Slot(QTreeWidgetItem, int)
    def _on_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        if item.data(0, ID_ROLE):
            self.preview_requested.emit()

    @Slot()
    def _take_first(self) -> None:
        """Enter in the search field: the first voice the search shows becomes the chosen one."""
        shown = self.visible_voice_ids()
        if shown and shown[0] != self._current and self.select(shown[0]):
            self.voice_chosen.emit()

    # -- search ---------------------------------------------------------------------------------------------
    @Slot(str)
    def set_filter(self, text: str) -> None:
        """Show the voices whose name, language or code hold every word of ``text``, their groups opened; with
        no text, every voice, with only the project's groups and the chosen voice's group open."""
        terms = text.casefold().split()
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            members = [top.child(k) for k in range(top.childCount())] or [top]
            matched = 0
            for item in members:
                hit = all(t in self._haystacks.get(str(item.data(0, ID_ROLE)), "") for t in terms)
                item.setHidden(not hit)
                matched += hit
            if top.childCount():
                top.setHidden(not matched)
                chosen = any(m.data(0, ID_ROLE) == self._current for m in members)
                top.setExpanded(bool(terms) or chosen or top.text(0) in KIND_GROUPS.values())
        shown, total = len(self.visible_voice_ids()), len(self.voices)
        self.count.setText(words.of(shown, total, "voice") if terms else words.count(total, "voice"))
        self.nothing.setText(f"No voice matches “{text.strip()}”." if terms and not shown else "")
        self.nothing.setVisible(bool(terms) and not shown)
        current = self.item_for(self._current)
        if current is not None and not current.isHidden():
            self.tree.scrollToItem(current)
