"""The Speech panel's adapter to the speech core (:class:`~studio.ui.backends.contracts.SpeechContract`), and the
small jobs that use it off the GUI thread.

Why an adapter: loading espeak-ng (ctypes), a trained voice (torch) or a Piper voice (onnxruntime) takes real
time, and the core modules may be missing from a trimmed build, so nothing here imports the speech core at
module level. Listing voices and reading the pronunciation dictionary run in :class:`VoicesJob`; synthesis,
line-by-line export and importing a Piper voice run as their own jobs. The panel sees plain dicts, strings and
numpy arrays only.

Tests hand the panel a fake with the same contract (it makes tones), so the panel is exercised without
espeak-ng.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from studio.core.generation import speech_jobs
from studio.core.generation.speech_model import run_role
from studio.core.jobs import JobContext
from studio.core.speech import piper, pronunciation
from studio.core.training.devices import threads_beside_a_window, torch_threads
from studio.ui.backends.contracts import SpeechContract

SETTING_KEYS = ("rate", "pitch", "volume")


def _core():
    return speech_jobs


class SpeechBackend:
    """The real speech core (``studio.core.generation.speech_jobs`` and ``studio.core.speech``)."""

    device = "cpu"

    def available(self) -> bool:
        try:
            return importlib.util.find_spec("studio.core.generation.speech_jobs") is not None
        except (ImportError, ValueError):
            return False

    def list_voices(self, project_root: Path | None) -> list[dict]:
        return [dict(v) for v in _core().list_voices(Path(project_root) if project_root else None)]

    # -- the pronunciation dictionary (a small JSON file in the project) -----------------------------------
    def load_dictionary(self, project_root: Path | None) -> dict[str, str]:
        if project_root is None:
            return {}

        return dict(pronunciation.load_dictionary(Path(project_root)).entries)

    def save_dictionary(self, project_root: Path | None, entries: dict[str, str]) -> None:
        if project_root is None:
            return

        pronunciation.save_dictionary(Path(project_root), pronunciation.Dictionary(dict(entries)))

    # -- jobs -----------------------------------------------------------------------------------------------
    def synthesize_job(
        self,
        voice: str,
        text: str,
        project_root: Path | None,
        settings: dict,
        dictionary: dict | None = None,
        step: int | None = None,
        vocoder: str | None = None,
    ):
        return SpeakJob(voice, text, project_root, settings, dictionary, step, vocoder, self.device)

    def export_lines_job(
        self,
        voice: str,
        text: str,
        folder: Path,
        project_root: Path | None,
        settings: dict,
        dictionary: dict | None = None,
        step: int | None = None,
        vocoder: str | None = None,
    ):
        return ExportLinesJob(voice, text, folder, project_root, settings, dictionary, step, vocoder, self.device)

    def import_voice_job(self, project_root: Path | None, onnx_path: str):
        return ImportVoiceJob(project_root, onnx_path)

    def write_wav(self, path: Path, result: dict) -> Path:
        return Path(_core().write_speech(Path(path), result))


def checkpoint_role(checkpoint_json: str | Path) -> str:
    """What the run of a checkpoint (its ``step-N.json`` record) is to the panel: "voice", "vocoder", or "" (the
    family table's word, via ``speech_model.run_role``; one small file is read, so the panel may ask on the GUI
    thread when "Open in speech" brings a checkpoint)."""

    return run_role(Path(checkpoint_json).parent.parent)


def _settings(settings: dict) -> dict:
    return {k: float(settings[k]) for k in SETTING_KEYS if k in settings}


def _uses_torch(voice: str) -> bool:
    """Trained voices run torch; system and Piper voices do not (no reason to import it for them)."""
    return not (voice.startswith("system:") or voice.startswith("piper:") or voice.lower().endswith(".onnx"))


class SpeakJob:
    """``generation.speech_jobs.SynthesizeSpeech`` under the panel's title; a trained voice leaves a core to the
    window (torch threads), as the writer's generation does."""

    kind = "task"
    title = "Speaking"

    def __init__(
        self,
        voice: str,
        text: str,
        project_root,
        settings: dict,
        dictionary: dict | None,
        step: int | None,
        vocoder: str | None,
        device: str = "cpu",
    ) -> None:
        self.voice, self.text = str(voice), str(text)
        self.project_root = Path(project_root) if project_root else None
        self.settings = _settings(settings)
        self.dictionary = dict(dictionary or {})
        self.step, self.vocoder, self.device = step, vocoder, device

    def _job(self):
        return _core().SynthesizeSpeech(
            self.voice,
            self.text,
            project_root=self.project_root,
            dictionary=dict(self.dictionary),
            step=self.step,
            vocoder=self.vocoder,
            device=self.device,
            **self.settings,
        )

    def __call__(self, ctx: JobContext) -> dict:
        job = self._job()
        if not _uses_torch(self.voice):
            return dict(job(ctx))

        with torch_threads(threads_beside_a_window()):
            return dict(job(ctx))


class ExportLinesJob(SpeakJob):
    """``generation.speech_jobs.ExportLines``: one WAV per non-empty line into ``folder``."""

    title = "Exporting lines"

    def __init__(self, voice, text, folder, project_root, settings, dictionary, step, vocoder, device="cpu"):
        super().__init__(voice, text, project_root, settings, dictionary, step, vocoder, device)
        self.folder = Path(folder)

    def _job(self):
        return _core().ExportLines(
            self.voice,
            self.text,
            self.folder,
            project_root=self.project_root,
            dictionary=dict(self.dictionary),
            step=self.step,
            vocoder=self.vocoder,
            device=self.device,
            **self.settings,
        )


class ImportVoiceJob:
    """Copy a Piper voice (.onnx + .onnx.json) into the project (``speech.piper.import_piper_voice``); without a
    project the voice is used where it lies (``piper:<path>``) after checking that it loads."""

    kind = "task"
    title = "Adding a Piper voice"

    def __init__(self, project_root, onnx_path: str) -> None:
        self.project_root = Path(project_root) if project_root else None
        self.onnx_path = str(onnx_path)

    def __call__(self, ctx: JobContext) -> dict:
        ctx.progress(0.1, "Reading the voice…")
        if self.project_root is None:
            piper.PiperVoice.load(self.onnx_path)  # says in plain words when the .json is missing or broken
            return {"id": f"piper:{self.onnx_path}"}
        return {"id": str(piper.import_piper_voice(self.project_root, self.onnx_path))}


class VoicesJob:
    """Job: the voices the panel can use (system, trained, imported), the project's pronunciation dictionary,
    and whether the speech core is installed at all (file reads and loading espeak-ng: off the GUI thread)."""

    kind = "task"
    title = "Listing voices"

    def __init__(self, backend: SpeechContract, root: Path | None) -> None:
        self.backend, self.root = backend, root

    def __call__(self, ctx: JobContext) -> dict:
        if not self.backend.available():
            return {"available": False, "voices": [], "dictionary": {}}
        return {
            "available": True,
            "voices": list(self.backend.list_voices(self.root)),
            "dictionary": dict(self.backend.load_dictionary(self.root)),
        }
