"""Speech: type a script, hear it in a voice, see it, and export a WAV for a video or an ad.

What the user does here:

* **Controls** (left card): the voice — built-in system voices (espeak-ng, many languages: useful before any
  training, even with no project open), the project's trained voices (with a checkpoint and a vocoder:
  Griffin-Lim or a trained one), imported Piper voices, and *Add Piper voice…*, in a picker with a search field,
  the voices grouped by language, and *Preview* (a sample sentence in the highlighted voice, synthesized by the
  same backend job as the script, in its own job slot, and played without replacing the clip); the delivery
  (speed 0.5–2×, pitch ±12 semitones, volume 0–200 %, each with Reset). *Synthesize* (Ctrl+Return) speaks the
  script in a job, sentence by sentence with progress and an ETA; *Stop* (Esc) stops it.
* **Work area** (centre): the script, then the result: waveform over spectrogram with the sentence
  boundaries (hover for the sentence), the playhead while playing, click to seek; *Play / Stop* (Space);
  *Export WAV* (Ctrl+E, 16-bit PCM into the project's outputs/speech) and *Export lines…* (one WAV per
  line, in a job, e.g. every line of an ad's voice-over as its own clip).
* **Pronunciation / Sentences / History** (right tabs): the project's pronunciation dictionary (word → respelling
  or /phonemes/), saved to the project and applied before synthesis; the sentences of the clip, to jump to; every
  clip synthesized in the project, kept in its gallery with the voice, script and delivery
  (:class:`~studio.ui.widgets.common.gallery_history.GalleryHistory`: search, filter by voice, favourites,
  export, delete with Edit ▸ Undo). A row's ▶ plays the kept clip; *Reopen* puts its voice, delivery and script
  back and speaks it again.

Rules this panel keeps (ARCHITECTURE.md): no ML here. Listing voices, synthesis, batch export and importing a
voice are jobs started through the window's registry via :mod:`studio.ui.backends.speech`, each purpose in its
own job slot (a new request replaces that purpose's running one, whose late answer never arrives); their signals
arrive at this object's slots, and the progress line follows the job started last. Playback goes through
:class:`~studio.ui.widgets.common.audio_player.AudioPlayer`, which says plainly when this computer has no audio output;
export never needs one.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.core import words
from studio.core.gallery.record import RecordSpeech, portable_voice
from studio.core.project import Project
from studio.ui.backends.gallery import LoadClip
from studio.ui.backends.speech import SpeechBackend, VoicesJob, checkpoint_role
from studio.ui.icons import icon
from studio.ui.panels.creation import CreationPanel
from studio.ui.widgets.common.audio_player import AudioPlayer
from studio.ui.widgets.common.empty_state import EmptyState
from studio.ui.widgets.common.job_status import with_eta
from studio.ui.widgets.speech.controls import SpeechControls, display_title
from studio.ui.widgets.speech.dictionary import DictionaryEditor
from studio.ui.widgets.speech.voice_picker import sample_sentence
from studio.ui.widgets.speech.waveform import WaveformView, format_time

log = logging.getLogger(__name__)

TABS = ("pronunciation", "sentences", "history")
OUTPUT_FOLDER = Path("outputs") / "speech"
TIME_ROLE = Qt.ItemDataRole.UserRole
NO_SCRIPT = "Type what the voice should say."


def _slug(text: str) -> str:
    slug = re.sub(r"[^\w]+", "-", text.lower(), flags=re.UNICODE).strip("-")
    return slug[:40].strip("-") or "speech"


def script_facts(text: str) -> str:
    """ "3 lines · 42 words" under the script (lines matter: *Export each line* makes one file per line)."""
    lines = [line for line in text.splitlines() if line.strip()]
    spoken = len(text.split())
    if not spoken:
        return ""
    return f"{words.count(len(lines), 'line')} · {words.count(spoken, 'word')}"


class SpeechPanel(CreationPanel):
    panel_id = "speech"
    title = "Speech"
    subtitle = "Type a script, hear it in a voice, and export a WAV for your video or ad."
    icon_name = "speech"

    synthesized = Signal(object)  # the result dict, when a synthesis ends
    exported = Signal(str)  # the WAV written
    lines_exported = Signal(list)  # the WAVs written by Export each line
    previewed = Signal(object)  # a voice preview's result dict, when it is ready to play

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.backend = SpeechBackend()
        self.voices: list[dict] | None = None  # None until listed
        self.available = True
        self.result: dict | None = None  # the clip on screen
        self.dictionary: dict[str, str] = {}
        self.voices_slot = self.job_slot()  # the voice list and the project's dictionary
        self.speak_slot = self.job_slot()
        self.lines_slot = self.job_slot()  # Export lines
        self.import_slot = self.job_slot()  # Add Piper voice
        self.preview_slot = self.job_slot()  # Preview: a sample sentence in the highlighted voice
        self.clip_slot = self.job_slot()  # a kept clip of the History, read to be played
        self._speaking_with: dict = {}  # what the running synthesis speaks with: kept with its clip in the gallery
        self._previewing = False  # the player holds a preview, not the clip on screen
        self._dictionary_loaded = True  # no project: nothing to read, the editor is ready
        self.player: AudioPlayer | None = None

        self.empty = EmptyState("No voice available", "", action="Go to Dataset")
        self.empty.action_triggered.connect(self._go_to_dataset)
        self.empty_add_voice = QPushButton(icon("import"), "Add Piper voice…", objectName="speechEmptyAddVoice")
        self.empty_add_voice.setToolTip("Use a Piper voice you have (.onnx with its .onnx.json)")
        self.empty_add_voice.clicked.connect(self.add_piper_voice)
        self.empty.layout().addWidget(self.empty_add_voice, alignment=Qt.AlignmentFlag.AlignHCenter)
        self.content = self._build_content()
        self.stack = self.add_scrolling_stack("speechOuterScroll", self.content, self.empty)
        self._build_shortcuts()
        self.set_player(AudioPlayer())
        self._update_view()

    # -- construction -------------------------------------------------------------------------------------------
    def _build_content(self) -> QWidget:
        self.controls = SpeechControls()
        self.controls.synthesize_requested.connect(self.synthesize)
        self.controls.stop_requested.connect(self.stop)
        self.controls.voice_changed.connect(self._update_view)
        self.controls.add_voice_requested.connect(self.add_piper_voice)
        self.controls.preview_requested.connect(self.preview_voice)
        column = self.controls_column(self.controls, "speech", self.controls.action_bar)  # Synthesize / Stop pinned

        # centre: the script, then the clip
        self.script = QPlainTextEdit(objectName="speechScript")
        self.script.setPlaceholderText(
            "Type what the voice should say. Each sentence is spoken in turn; each line "
            "can also be exported as its own file."
        )
        self.script.setMinimumHeight(96)
        self.script.setMaximumHeight(170)
        self.script.textChanged.connect(self._on_script_changed)
        self.script_facts = QLabel(objectName="mutedLabel")
        self.export_lines_button = QPushButton("Export lines…", objectName="speechExportLines")
        self.export_lines_button.setToolTip(
            "Speak every line of the script into its own WAV file (001-first-words.wav, 002-…) in a folder you choose"
        )
        self.export_lines_button.clicked.connect(self.export_lines)
        script_bar = QHBoxLayout()
        script_bar.setSpacing(8)
        script_bar.addWidget(QLabel("SCRIPT", objectName="sectionCaption"))
        script_bar.addStretch(1)
        script_bar.addWidget(self.script_facts)
        script_bar.addWidget(self.export_lines_button)  # it speaks the script's lines: beside their count

        self.audio_label = QLabel("Audio", objectName="columnTitle")
        bar = self.work_bar(self.audio_label, clear_words=False)  # the outcome ("Stopped.", the clip) stays said

        self.waveform = WaveformView()
        self.waveform.seek_requested.connect(self.seek)

        self.play_button = QPushButton(icon("play"), "Play", objectName="speechPlay")
        self.play_button.setToolTip("Play the clip from the playhead (Space)")
        self.play_button.clicked.connect(self.toggle_playback)
        self.time_label = QLabel(objectName="valueText")
        self.time_label.setMinimumWidth(110)
        self.export_button = QPushButton(icon("save"), "Export WAV…", objectName="speechExport")
        self.export_button.setToolTip("Save the clip as a WAV (16-bit PCM), ready for a video editor (Ctrl+E)")
        self.export_button.clicked.connect(self.export_wav)
        transport = QHBoxLayout()
        transport.setSpacing(8)
        transport.addWidget(self.play_button)
        transport.addWidget(self.time_label)
        transport.addStretch(1)
        transport.addWidget(self.export_button)
        self.playback_notice = QLabel(objectName="inlineNotice")
        self.playback_notice.setWordWrap(True)
        self.playback_notice.setVisible(False)

        centre = QWidget(objectName="speechCentre")
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(16, 0, 16, 0)
        centre_layout.setSpacing(8)
        centre_layout.addLayout(script_bar)
        centre_layout.addWidget(self.script)
        centre_layout.addSpacing(4)
        centre_layout.addLayout(bar)
        centre_layout.addWidget(self.waveform, 1)
        centre_layout.addLayout(transport)
        centre_layout.addWidget(self.playback_notice)
        centre.setMinimumWidth(400)

        # right: the pronunciation dictionary, and the sentences of the clip
        self.dictionary_editor = DictionaryEditor()
        self.dictionary_editor.changed.connect(self._on_dictionary_changed)
        self.sentence_list = QListWidget(objectName="speechSentences")
        self.sentence_list.itemClicked.connect(self._on_sentence_clicked)
        self.sentence_list.setWordWrap(True)
        self.sentences_hint = QLabel(
            "The sentences of the clip, as spoken. Click one to move the playhead there.", objectName="mutedLabel"
        )
        self.history = self.make_history()
        self.history.play_requested.connect(self.play_item)
        self.tabs = self.side_tabs(
            (
                (self.dictionary_editor, "Pronunciation"),
                (self.hinted_page(self.sentences_hint, self.sentence_list), "Sentences"),
                (self.history, "History"),
            ),
            300,  # the three tabs' names side by side (narrower, the bar scrolls them)
        )

        self.splitter = self.three_columns(column, centre, self.tabs, [320, 640, 300])
        return self.splitter

    def _build_shortcuts(self) -> None:
        self.actions_ = self.add_shortcuts(
            (
                *self.run_keys("synthesize", self.synthesize),
                ("stop", "Esc", self.stop),
                ("play", "Space", self.toggle_playback),
                ("export", "Ctrl+E", self.export_wav),
            )
        )

    def set_player(self, player: AudioPlayer) -> None:
        """Play through ``player`` (tests pass one with no output, or a fake output that records)."""
        if self.player is not None:
            self.player.close()
        self.player = player
        player.setParent(self)
        player.position_changed.connect(self._on_position)
        player.playing_changed.connect(self._on_playing)
        player.availability_changed.connect(self._on_playback_availability)
        if self.result is not None:
            self._load_player()
        self._update_buttons()

    # -- project, backend, voice list ---------------------------------------------------------------------------
    def set_backend(self, backend) -> None:
        """Use another speech core (tests pass a fake); lists the voices again."""
        self.backend = backend
        self.refresh_voices()

    def set_project(self, project: Project | None) -> None:
        for slot in (self.speak_slot, self.lines_slot, self.import_slot, self.preview_slot, self.clip_slot):
            slot.discard()  # the old project's
        super().set_project(project)
        self.history.set_project(project.root if project else None)
        self.dictionary = {}
        self.dictionary_editor.set_entries({})
        # A project's dictionary arrives with the voice list; until then the editor waits, so an early edit is
        # neither overwritten by the loaded words nor saved over them.
        self._dictionary_loaded = project is None
        self.dictionary_editor.setEnabled(self._dictionary_loaded)
        self.dictionary_editor.set_note("")
        if self.voices is not None or self.isVisible():
            self.voices = None
            self.refresh_voices()
        self._update_view()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self.voices_slot.is_running() and not self.speak_slot.is_running():
            self.refresh_voices()  # a voice may have been trained while another panel was shown

    def set_registry(self, registry) -> None:
        super().set_registry(registry)
        if self.project is not None:
            self.history.refresh()

    @Slot()
    @Slot(str)
    def refresh_voices(self, *_args) -> None:
        """List the voices and read the project's dictionary (a job: it loads espeak-ng and reads files)."""
        if self.registry is None:
            return
        self.voices_slot.start(
            VoicesJob(self.backend, self.project.root if self.project else None),
            succeeded=self._on_voices,
            failed=self._on_voices_failed,
        )

    @Slot(object)
    def _on_voices(self, result: dict) -> None:
        self.available = bool(result.get("available", True))
        self.voices = list(result.get("voices") or [])
        if not self._dictionary_loaded:
            self.dictionary = {str(k): str(v) for k, v in dict(result.get("dictionary") or {}).items()}
            self.dictionary_editor.set_entries(self.dictionary)
            self._dictionary_loaded = True
            self.dictionary_editor.setEnabled(True)
        self.controls.set_voices(self.voices)
        self.history.set_run_names(self._voice_names())
        if self._pending.get("voice") and self.controls.select(
            self._pending["voice"], self._pending.get("step"), self._pending.get("vocoder")
        ):
            self._pending = {}
        self._update_view()

    def _voice_names(self) -> dict[str, str]:
        """Each voice's name under the id the gallery keeps it by (a Piper voice inside the project by its path
        in the project), for the History's voice filter and rows."""
        names = {}
        for voice in self.voices or []:
            voice_id = str(voice.get("id", ""))
            names[voice_id] = display_title(voice)
            if self.project is not None and voice_id.startswith("piper:"):
                names[portable_voice(voice_id, self.project.root)] = display_title(voice)
        return names

    @Slot(str)
    def _on_voices_failed(self, message: str) -> None:
        self.voices = []
        self._dictionary_loaded = True  # edits still work for this session (and are saved)
        self.dictionary_editor.setEnabled(True)
        self.banner.show_message(f"The voices could not be listed. {message}", "error")
        self._update_view()

    @Slot(str, str)
    def open_checkpoint(self, panel_id: str, path: str) -> None:
        """The Training panel's "Open in speech": a TTS run's checkpoint becomes the chosen voice; a vocoder
        run's becomes the vocoder of the chosen trained voice (listing voices again first: the run may be
        newer than the list)."""
        if panel_id != self.panel_id or not path:
            return
        run_id, step = self.checkpoint_run(path)
        if checkpoint_role(path) == "vocoder":
            pending = {"voice": self.controls.voice_id() or self._pending.get("voice"), "vocoder": run_id}
            if self.controls.voice_id():
                pending["step"] = self.controls.step()
        else:
            pending = {"voice": run_id, "step": step}
        self._pending = {k: v for k, v in pending.items() if v is not None}
        self.refresh_voices()

    # -- synthesis ----------------------------------------------------------------------------------------------
    def _why_not(self) -> str:
        """Why Synthesize cannot run now ("" when it can)."""
        why = self._why_not_voice()
        if why:
            return why
        if not self.script.toPlainText().strip():
            return NO_SCRIPT
        return ""

    def _why_not_voice(self) -> str:
        """Why the chosen voice cannot speak now, script aside ("" when it can): what Preview needs."""
        info = self.controls.info()
        if self.registry is None:
            return "Starting…"
        if self.voices is None:
            return "Looking for voices…"
        if not self.available:
            return "Speech synthesis is not installed in this build. Reinstall AIGC Studio to get it."
        if info is None:
            return "Pick a voice first."
        if info.get("kind") == "trained" and not info.get("steps"):
            return (
                "This voice has no checkpoint yet. Training saves one every few hundred steps (or press "
                "Save now in Training)."
            )
        return ""

    def _voice_args(self) -> tuple:
        """What a speaking job takes after the voice, the script (and a folder): the project, the delivery, the
        dictionary, the checkpoint step and the vocoder."""
        return (
            self.project.root if self.project else None,
            self.controls.settings(),
            dict(self.dictionary),
            self.controls.step(),
            self.controls.vocoder_id(),
        )

    def _speak(self, slot, job, busy_text: str, succeeded, cancelled) -> None:
        """Start a speaking job (Synthesize, Export lines) in ``slot``; the progress line follows it with the
        time left."""
        self.start_job(
            slot,
            job,
            busy_text,
            self._progress_words,
            succeeded=succeeded,
            failed=self._on_failed,
            cancelled=cancelled,
            finished=self._update_view,
        )
        self._update_view()

    @Slot()
    def synthesize(self) -> None:
        """Speak the script (a running synthesis is stopped first)."""
        if self._why_not():
            return
        if self.player is not None:
            self.player.stop()
        self._speak_script(keep=True)

    def _speak_script(self, keep: bool) -> None:
        """Speak the script with the voice and delivery as set; ``keep``: keep the clip in the gallery."""
        args = self._voice_args()
        info = self.controls.info() or {}
        self._speaking_with = {
            "keep": keep,
            "voice": self.controls.voice_id(),
            "voice_title": display_title(info) if info else "",
            "text": self.script.toPlainText(),
            **args[1],
            "dictionary": dict(args[2]),
            "step": args[3],
            "vocoder": args[4],
        }
        job = self.backend.synthesize_job(self.controls.voice_id(), self.script.toPlainText(), *args)
        self._speak(self.speak_slot, job, "Loading the voice…", self._on_spoken, self._on_cancelled)

    @Slot()
    def preview_voice(self) -> None:
        """Preview: speak a short sample sentence in the highlighted voice (with the delivery and dictionary as
        set), then play it. With no audio output, the plain message says so at once and nothing is synthesized."""
        why = self._why_not_voice()
        if why:
            self.banner.show_message(why, "info")
            return
        if self.player is None or not self.player.available():
            self._on_playback_availability(False)
            return
        self.player.stop()
        info = self.controls.info() or {}
        job = self.backend.synthesize_job(self.controls.voice_id(), sample_sentence(info), *self._voice_args())
        self.start_job(
            self.preview_slot,
            job,
            f"Preparing a preview of {display_title(info)}…",
            succeeded=self._on_preview,
            failed=self._on_failed,
            finished=self._update_view,
        )

    def _audio_of(self, result: dict) -> tuple[np.ndarray, int] | None:
        """A synthesis result's (samples, sample rate); None (and the plain message) when it holds no audio."""
        try:
            return np.asarray(result.get("samples"), dtype=np.float32).reshape(-1), int(
                result.get("sample_rate") or 22050
            )
        except (TypeError, ValueError):
            self.banner.show_message("The voice returned no audio. Try again, or pick another voice.", "error")
            return None

    @Slot(object)
    def _on_preview(self, result: dict) -> None:
        """Play the preview through the panel's player; the clip on screen stays, and Play brings it back."""
        audio = self._audio_of(result)
        if audio is None:
            return
        samples, rate = audio
        self.progress.setVisible(False)
        if self.player is None:
            return
        self.player.load(samples, rate)
        self._previewing = True
        if self.player.play():
            self.status.setText(f"Preview: {display_title(self.controls.info() or {})}")
        else:
            self._on_playback_availability(False)
        self.previewed.emit(result)

    def _progress_words(self, fraction: float, message: str) -> str:
        """ "Sentence 2 of 5", with the time left once it is a fair guess (the status bar's own arithmetic)."""
        return with_eta(message or "Speaking…", fraction, self.progress_line.elapsed())

    @Slot()
    def stop(self) -> None:
        """Esc: stop synthesizing (or the line export); otherwise stop playback."""
        if self.speak_slot.is_running() or self.lines_slot.is_running() or self.preview_slot.is_running():
            self.speak_slot.cancel()
            self.lines_slot.cancel()
            self.preview_slot.cancel()
            self.status.setText("Stopping…")
        elif self.player is not None and self.player.is_playing():
            self.player.stop()

    @Slot(object)
    def _on_spoken(self, result: dict) -> None:
        audio = self._audio_of(result)
        if audio is None:
            return
        samples, rate = audio
        self.result = dict(result, samples=samples, sample_rate=rate)
        self.waveform.set_audio(samples, rate, result.get("spectrogram"), result.get("sentences"))
        self._fill_sentences()
        self._load_player()
        info = self.controls.info()
        name = display_title(info) if info else str(result.get("voice", ""))
        self.result["voice_title"] = name
        self.progress.setVisible(False)
        self.status.setText(f"{len(samples) / rate:.1f} s · {name}")
        self._keep(self.result)
        self.synthesized.emit(self.result)
        self._update_view()

    # -- the gallery: every clip kept, played, spoken again -------------------------------------------------------
    def _keep(self, result: dict) -> None:
        """Keep the clip in the project's gallery with what spoke it, quietly (a failure says so in the banner;
        the clip on screen stays either way). A clip spoken again by Reopen is kept already."""
        spoken_with, self._speaking_with = self._speaking_with, {}
        if self.project is None or not spoken_with.pop("keep", False):
            return
        self.history.record(RecordSpeech(self.project.root, result, spoken_with))

    @Slot(dict)
    def reopen_item(self, row: dict) -> None:
        """The History's Reopen: the clip's voice, checkpoint, vocoder, delivery and script back in the panel,
        and spoken again (not kept a second time)."""
        kept = row.get("settings") or {}
        voice = str(kept.get("voice") or "")
        if voice.startswith("piper:") and self.project is not None and not Path(voice[6:]).is_absolute():
            voice = f"piper:{self.project.root / voice[6:]}"  # kept relative to the project
        step = kept.get("step") if isinstance(kept.get("step"), int) else None
        vocoder = kept.get("vocoder") if isinstance(kept.get("vocoder"), str) else None
        if not self.controls.select(voice, step, vocoder):
            self.banner.show_message(
                f"The voice “{kept.get('voice_title') or voice}” is not available here, so this clip cannot be "
                "spoken again. Its ▶ in the History still plays the kept clip.",
                "error",
            )
            return
        self.controls.set_settings(kept)
        self.script.setPlainText(str(kept.get("script") or row.get("text") or ""))
        self._update_view()
        if self._why_not():
            self.banner.show_message(self._why_not(), "info")
            return
        if self.player is not None:
            self.player.stop()
        self._speak_script(keep=False)

    @Slot(dict)
    def play_item(self, row: dict) -> None:
        """A History row's ▶: read the kept clip and play it; the clip on screen stays (Play brings it back)."""
        if self.project is None or self.registry is None or not row.get("id"):
            return
        if self.player is None or not self.player.available():
            self._on_playback_availability(False)
            return
        self.clip_slot.start(
            LoadClip(self.project.root, str(row["id"])), succeeded=self._on_kept_clip, failed=self._on_failed
        )

    @Slot(object)
    def _on_kept_clip(self, result: dict) -> None:
        audio = self._audio_of(result)
        if audio is None or self.player is None:
            return
        self.player.stop()
        self.player.load(*audio)
        self._previewing = True  # as a voice preview: the clip on screen and its playhead stay
        if self.player.play():
            self.status.setText(f"Playing the kept clip “{(result.get('item') or {}).get('title', '')}”")
        else:
            self._on_playback_availability(False)
        self.previewed.emit(result)

    @Slot()
    def _on_cancelled(self) -> None:
        self.progress.setVisible(False)
        self.status.setText("Stopped." + (" The clip below is the previous one." if self.result else ""))

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.progress.setVisible(False)
        self.status.setText("")
        self.banner.show_message(message, "error")

    def _fill_sentences(self) -> None:
        self.sentence_list.clear()
        for sentence in (self.result or {}).get("sentences") or []:
            try:
                start = float(sentence.get("start", 0))
            except (AttributeError, TypeError, ValueError):
                continue
            item = QListWidgetItem(f"{format_time(start, precise=True)}   {str(sentence.get('text', '')).strip()}")
            item.setData(TIME_ROLE, start)
            self.sentence_list.addItem(item)

    # -- playback -----------------------------------------------------------------------------------------------
    def _load_player(self) -> None:
        if self.player is None or self.result is None:
            return
        self._previewing = False
        self.player.load(self.result["samples"], self.result["sample_rate"])
        self.player.probe()
        self._on_playback_availability(self.player.output is not None)

    @Slot()
    def toggle_playback(self) -> None:
        """Space: play from the playhead, or stop."""
        if self.player is None or self.result is None:
            return
        if self.player.is_playing():
            self.player.stop()
            return
        if self._previewing:  # the player holds a voice preview: the clip goes back in first
            self._load_player()
        if not self.player.play():
            self._on_playback_availability(False)

    @Slot(float)
    def seek(self, seconds: float) -> None:
        if self.player is not None and self.result is not None:
            if self._previewing:
                self._load_player()
            self.player.seek(seconds)

    @Slot(float)
    def _on_position(self, seconds: float) -> None:
        if self._previewing:  # a preview plays: the clip's playhead and time stay where they were
            return
        self.waveform.set_playhead(seconds if (self.player.is_playing() or seconds > 0) else None)
        self._update_time(seconds)

    def _update_time(self, seconds: float) -> None:
        duration = len(self.result["samples"]) / self.result["sample_rate"] if self.result else 0.0
        self.time_label.setText(f"{format_time(seconds, True)} / {format_time(duration, True)}" if self.result else "")

    @Slot(bool)
    def _on_playing(self, playing: bool) -> None:
        self.play_button.setIcon(icon("stop" if playing else "play"))
        self.play_button.setText("Stop" if playing else "Play")
        self.play_button.setToolTip(("Stop playing" if playing else "Play the clip from the playhead") + " (Space)")

    @Slot(bool)
    def _on_playback_availability(self, available: bool) -> None:
        reason = "" if available or self.player is None else self.player.reason
        self.playback_notice.setText(reason)
        self.playback_notice.setVisible(bool(reason))
        self._update_buttons()

    @Slot(QListWidgetItem)
    def _on_sentence_clicked(self, item: QListWidgetItem) -> None:
        self.seek(float(item.data(TIME_ROLE) or 0.0))

    # -- export -------------------------------------------------------------------------------------------------
    def _output_folder(self) -> Path:
        if self.project is None:
            return Path.home()
        folder = self.project.root / OUTPUT_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def ask_export_path(self) -> str:
        """Where the WAV goes (tests replace this). Starts in the project's outputs/speech folder."""
        name = _slug(self.script.toPlainText())
        return QFileDialog.getSaveFileName(
            self, "Export the speech", str(self._output_folder() / f"{name}.wav"), "WAV audio (*.wav)"
        )[0]

    def ask_lines_folder(self) -> str:
        """The folder for *Export each line* (tests replace this)."""
        start = self._output_folder() / "lines" if self.project else self._output_folder()
        return QFileDialog.getExistingDirectory(self, "Export each line into a folder", str(start))

    def ask_piper_path(self) -> str:
        """The Piper voice to add (tests replace this)."""
        return QFileDialog.getOpenFileName(self, "Add a Piper voice", str(Path.home()), "Piper voice (*.onnx)")[0]

    @Slot()
    def export_wav(self) -> None:
        if self.result is None:
            self.banner.show_message("Synthesize first, then export the clip.", "info")
            return
        path = self.ask_export_path()
        if not path:
            return
        path = Path(path)
        if path.suffix.lower() != ".wav":
            path = path.with_name(path.name + ".wav")
        try:
            written = self.backend.write_wav(path, self.result)
        except OSError as exc:
            self.banner.show_message(f"Could not save {path.name}: {exc.strerror or exc}", "error")
            return
        except Exception as exc:  # noqa: BLE001 - e.g. the core's plain JobError
            self.banner.show_message(f"Could not save {path.name}: {exc}", "error")
            return
        self.banner.show_message(f"Saved {Path(written).name} to {Path(written).parent}.", "success")
        self.exported.emit(str(written))

    @Slot()
    def export_lines(self) -> None:
        """One WAV per non-empty line of the script, in a job (each line is a separate synthesis)."""
        why = self._why_not()
        if why:
            self.banner.show_message(why, "info")
            return
        if self.lines_slot.is_running():
            return
        folder = self.ask_lines_folder()
        if not folder:
            return
        job = self.backend.export_lines_job(
            self.controls.voice_id(), self.script.toPlainText(), Path(folder), *self._voice_args()
        )
        self._speak(self.lines_slot, job, "Exporting each line…", self._on_lines_exported, self._on_lines_cancelled)

    @Slot(object)
    def _on_lines_exported(self, result: dict) -> None:
        files = [str(f) for f in (result or {}).get("files") or []]
        self.progress.setVisible(False)
        self.status.setText("")
        where = Path(files[0]).parent if files else ""
        self.banner.show_message(f"Saved {words.count(len(files), 'file')} to {where}.", "success")
        self.lines_exported.emit(files)

    @Slot()
    def _on_lines_cancelled(self) -> None:
        self.progress.setVisible(False)
        self.status.setText("Export stopped. The lines spoken so far are in the folder.")

    # -- voices: Piper import -----------------------------------------------------------------------------------
    @Slot()
    def add_piper_voice(self) -> None:
        if self.registry is None:
            return
        path = self.ask_piper_path()
        if not path:
            return
        self.import_slot.start(
            self.backend.import_voice_job(self.project.root if self.project else None, path),
            succeeded=self._on_voice_imported,
            failed=self._on_import_failed,
        )
        self.status.setText(f"Adding {Path(path).name}…")

    @Slot(object)
    def _on_voice_imported(self, result: dict) -> None:
        voice_id = str((result or {}).get("id") or "")
        self.status.setText("")
        if voice_id.startswith("piper:") and self.project is None:
            # No project to copy it into: use it where it lies, for this session.
            name = Path(voice_id[len("piper:") :]).stem
            extra = {
                "id": voice_id,
                "title": name,
                "kind": "piper",
                "detail": "Piper voice (not copied: no project open)",
                "language": "",
                "sample_rate": None,
            }
            self.voices = [v for v in self.voices or [] if v.get("id") != voice_id] + [extra]
            self.controls.set_voices(self.voices)
            self.controls.select(voice_id)
            self._update_view()
        else:
            self._pending = {"voice": voice_id}
            self.refresh_voices()
        self.banner.show_message("The Piper voice was added. It is under Imported voices.", "success")

    @Slot(str)
    def _on_import_failed(self, message: str) -> None:
        self.status.setText("")
        self.banner.show_message(message, "error")

    # -- pronunciation ------------------------------------------------------------------------------------------
    @Slot()
    def _on_dictionary_changed(self) -> None:
        """Every finished edit: the next synthesis uses it, and the project keeps it."""
        self.dictionary = self.dictionary_editor.entries()
        if self.project is None:
            self.dictionary_editor.set_note(
                "No project is open: these words are used until you close the app. Open a project to keep them."
            )
            return
        try:
            self.backend.save_dictionary(self.project.root, self.dictionary)
        except Exception as exc:  # noqa: BLE001 - an unwritable folder or a broken core: say so, keep editing
            self.dictionary_editor.set_note(f"The dictionary could not be saved: {exc}")
            return
        count = len(self.dictionary)
        self.dictionary_editor.set_note(f"{words.count(count, 'word')} saved in this project.")

    # -- reactions ----------------------------------------------------------------------------------------------
    @Slot()
    def _on_script_changed(self) -> None:
        self.script_facts.setText(script_facts(self.script.toPlainText()))
        self._update_view()

    @Slot()
    def _go_to_dataset(self) -> None:
        self.navigate.emit("dataset")

    # -- what is enabled and shown ------------------------------------------------------------------------------
    def _update_view(self, *_args) -> None:
        if self.voices is not None and not self.voices:
            body = (
                "The built-in voice could not be loaded on this computer, and this project has no trained "
                "voice yet. Import recordings with transcripts in the Dataset panel and train a voice in the "
                "Training panel, or add a Piper voice you already have."
                if self.available
                else "Speech synthesis is not installed in this build. Reinstall AIGC Studio to get it."
            )
            self.empty_add_voice.setVisible(self.available)
            self.fill_empty(self.empty, "No voice available", body, 440)
            self.stack.setCurrentWidget(self.empty)
        else:
            self.stack.setCurrentWidget(self.content)
        why = self._why_not()
        # An empty script is the normal first state, and the script's placeholder says so: no hint under the
        # button for it, only its tooltip.
        self.controls.set_synthesize_state(not why, "" if why == NO_SCRIPT else why, self.speak_slot.is_running())
        if why == NO_SCRIPT:
            self.controls.synthesize_button.setToolTip(why)
        self.controls.add_voice.setEnabled(self.registry is not None and self.available)
        self._update_buttons()

    def _update_buttons(self) -> None:
        has_clip = self.result is not None
        playable = has_clip and self.player is not None and (not self.player.probed or self.player.output is not None)
        self.play_button.setEnabled(playable)
        if has_clip and not playable:
            self.play_button.setToolTip("Playback is unavailable on this computer; Export still works")
        self.export_button.setEnabled(has_clip)
        self.export_lines_button.setEnabled(not self._why_not() and not self.lines_slot.is_running())
        self.actions_["stop"].setEnabled(True)
        with_clip = self.player is not None and has_clip and not self._previewing  # a preview's time is not the clip's
        self._update_time(self.player.position if with_clip else 0.0)
        if not has_clip:
            self.waveform.set_placeholder(
                "Synthesize to see the waveform and the spectrogram here."
                if self.voices
                else "Pick a voice and type a script, then Synthesize."
            )

    # -- state ----------------------------------------------------------------------------------------------------
    def save_state(self) -> dict:
        state = {
            "settings": self.controls.settings(),
            "script": self.script.toPlainText(),
            "tab": TABS[self.tabs.currentIndex()],
        }
        voice = self.controls.voice_id() or self._pending.get("voice")
        if voice:
            state["voice"] = voice
            step = self.controls.step() if self.controls.voice_id() else self._pending.get("step")
            if step is not None:
                state["step"] = step
            vocoder = self.controls.vocoder_id() if self.controls.voice_id() else self._pending.get("vocoder")
            if vocoder:
                state["vocoder"] = vocoder
        return state

    def restore_state(self, state: dict) -> None:
        state = state or {}
        if isinstance(state.get("settings"), dict):
            self.controls.set_settings(state["settings"])
        if isinstance(state.get("script"), str):
            self.script.setPlainText(state["script"])
        if state.get("tab") in TABS:
            self.tabs.setCurrentIndex(TABS.index(state["tab"]))
        step = self.restored_step(state)
        pending = {"voice": state.get("voice"), "step": step, "vocoder": state.get("vocoder")}
        self._pending = {k: v for k, v in pending.items() if v is not None}
        if self.voices and self._pending.get("voice"):
            if self.controls.select(self._pending["voice"], step, self._pending.get("vocoder")):
                self._pending = {}
            self._update_view()
