"""Speak text with any voice: the one entry point the CLI and the Speech panel use.

Voice ids (strings, so they fit a combo box, a CLI flag and a settings file alike):
- ``system:<language>``: espeak-ng's built-in voice (``system:en-us``; ``system:en`` is an alias);
- a TTS run id of the project (``tts-...``) or ``latest``: a voice trained here, vocoded by the newest
  compatible vocoder run, or by Griffin-Lim when there is none (or when asked: ``vocoder="griffinlim"``);
- ``piper:<path to .onnx>`` or a bare path ending in ``.onnx``: a Piper voice (imported ones live in
  ``<project>/voices/<name>/``).

Every voice speaks sentence by sentence (:func:`studio.core.speech.text.split_sentences`): progress and Stop
step through sentences, trained models never see a paragraph in one breath, and the result carries each
sentence's start and end so the panel can highlight what is playing. Sentences are joined by a short pause.

Settings: ``rate`` (speed multiplier), ``pitch`` (semitones), ``volume`` (linear gain) work for every voice;
how depends on the voice: espeak has its own rate and pitch; Piper's rate divides its length_scale; a trained
voice's mel is stretched in time before vocoding; pitch for Piper/trained voices is a phase-vocoder shift
(:mod:`studio.core.speech.dsp`). The pronunciation dictionary is applied before phonemes (see
:mod:`studio.core.speech.pronunciation` for what the system voice can do with phoneme entries).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import numpy as np

from studio.core import words
from studio.core.datasets import phonemes
from studio.core.generation import speech_model
from studio.core.jobs import JobContext, JobError
from studio.core.speech import analysis, espeak, piper
from studio.core.speech.dsp import pitch_shift, stretch_frames, trim_silence
from studio.core.speech.mel import griffin_lim
from studio.core.speech.pronunciation import Dictionary, load_dictionary
from studio.core.speech.text import split_sentences
from studio.core.speech.wav import write_wav

PAUSE_SECONDS = 0.3  # between sentences (each sentence's own leading/trailing silence is trimmed first)
COMMON_LANGUAGES = (
    "en-us",
    "en-gb",
    "de",
    "fr-fr",
    "es",
    "it",
    "pt",
    "pt-br",
    "nl",
    "cmn",
    "ja",
    "ru",
    "pl",
    "sv",
    "tr",
    "hi",
    "ar",
    "ko",
)
GRIFFIN_LIM = "griffinlim"


# -- voice ids ------------------------------------------------------------------------------------------------------
def _is_piper(voice: str) -> bool:
    return voice.startswith("piper:") or voice.lower().endswith(".onnx")


def _piper_path(voice: str) -> Path:
    return Path(voice[len("piper:") :] if voice.startswith("piper:") else voice).expanduser()


def _runs_folder(project_root) -> Path:
    return Path(project_root) / "runs"


def _trained_run_folder(voice: str, project_root) -> Path:
    """The run folder of a trained voice id ("latest" = the newest TTS run with a checkpoint)."""
    if project_root is None:
        raise JobError(
            f"“{voice}” is not a system voice (system:<language>) or a Piper voice (.onnx); a trained "
            "voice needs a project. Open the project that trained it, or pass --project."
        )
    if voice == "latest":
        runs = [r for r in speech_model.list_speech_runs(project_root) if r.get("role") == "voice" and r.get("steps")]
        if not runs:
            models = " or ".join(f"“{family.title}”" for family in speech_model.voice_families())
            raise JobError(
                "This project has no trained voice with a checkpoint yet. Train one in the Training "
                f"panel (model {models}), or pick a system voice."
            )
        voice = runs[0]["run_id"]  # list_speech_runs is newest first
    folder = _runs_folder(project_root) / voice
    if not folder.is_dir():
        raise JobError(
            f"There is no voice “{voice}”: it is not a system voice (system:<language>), a Piper voice "
            "(.onnx), or a run of this project. Pick one from the voice list."
        )
    return folder


# -- the voice list -------------------------------------------------------------------------------------------------
def list_voices(project_root: str | Path | None = None) -> list[dict]:
    """Every voice the panel can offer: trained voices of the project, imported Piper voices, then the system
    voices (common languages first). Entries: id, title, kind, language, sample_rate, detail (+ steps and
    vocoders for trained voices)."""

    voices: list[dict] = []
    if project_root is not None:
        voices.extend(_trained_voices(project_root))
        for path in piper.list_imported(project_root):
            try:
                info = piper.voice_info(path)
            except JobError:
                continue
            quality = f", {info['quality']}" if info["quality"] else ""
            voices.append(
                {
                    "id": f"piper:{path}",
                    "title": f"{info['name']} (Piper{quality})",
                    "kind": "piper",
                    "language": info["language"],
                    "sample_rate": info["sample_rate"],
                    "detail": f"Imported Piper voice, {info['sample_rate']:,} Hz, {path.parent.name}",
                }
            )
    languages = espeak.list_languages()
    order = {code: i for i, code in enumerate(COMMON_LANGUAGES)}
    languages.sort(key=lambda v: (order.get(v["code"], len(order)), v["name"].lower()))
    for entry in languages:
        voices.append(
            {
                "id": f"system:{entry['code']}",
                "title": f"{entry['name']} (system)",
                "kind": "system",
                "language": entry["code"],
                "sample_rate": espeak.SAMPLE_RATE,
                "detail": "Built-in espeak-ng voice: instant, offline, robotic",
            }
        )
    return voices


def _trained_voices(project_root) -> list[dict]:
    try:
        runs = speech_model.list_speech_runs(project_root)
    except (JobError, OSError, ValueError):
        return []
    vocoders = [r for r in runs if r.get("role") == "vocoder" and r.get("steps")]
    out = []
    for run in runs:
        if run.get("role") != "voice" or not run.get("steps"):
            continue
        mel = run.get("mel") or {}
        matching = [
            {"id": v["run_id"], "title": f"HiFi-GAN · {_run_when(v['run_id'])} (step {v['steps'][-1]:,})"}
            for v in vocoders
            if (v.get("mel") or {}) == mel
        ]
        steps = list(run["steps"])
        title = f"{run.get('dataset') or 'Own voice'} · {_run_when(run['run_id'])}"
        out.append(
            {
                "id": run["run_id"],
                "title": f"{title} (trained)",
                "kind": "trained",
                "dataset": run.get("dataset"),
                "language": run.get("language") or "en-us",
                "sample_rate": int(mel.get("sample_rate", 22050)),
                "detail": f"Trained on {run.get('dataset') or 'a dataset'}, newest step {steps[-1]:,}",
                "steps": steps,
                "chosen_step": run.get("chosen_step"),  # "Use this checkpoint": the speech picker's default
                "vocoders": [{"id": GRIFFIN_LIM, "title": "Griffin-Lim (built in)"}, *matching],
            }
        )
    return out


def _run_when(run_id: str) -> str:
    """ "Nov 26, 04:04" from a run id "20261126-040421-tts" (the id itself when it is not one)."""

    try:
        return datetime.strptime(run_id[:15], "%Y%m%d-%H%M%S").strftime("%b %d, %H:%M")
    except ValueError:
        return run_id


# -- model caches for trained voices ----------------------------------------------------------------------------------
def _model_cache(role: str):
    """The run_models.ModelCache of loaded voice ("voice") or vocoder ("vocoder") runs, shared with everything else
    that speaks with trained voices (speech_model is imported lazily: it pulls in torch when a model loads)."""

    return speech_model.tts_models if role == "voice" else speech_model.vocoder_models


def clear_cache() -> None:
    """Forget loaded trained and Piper voices (tests; a run or voice deleted from the project)."""

    speech_model.tts_models.clear()
    speech_model.vocoder_models.clear()
    piper.clear_cache()


# -- one voice, ready to speak sentences ------------------------------------------------------------------------------
class _Speaker:
    """Speaks one sentence at a time with the chosen voice and settings; subclasses per kind."""

    kind = ""
    sample_rate = 22050
    language = "en-us"

    def speak(self, sentence: str, check) -> np.ndarray:
        raise NotImplementedError


class _SystemSpeaker(_Speaker):
    kind = "system"

    def __init__(self, language: str, rate, pitch, dictionary) -> None:
        if not espeak.available():
            raise JobError(
                "The built-in system voice is unavailable because espeak-ng could not be loaded "
                f"({espeak.error()}). Reinstall the app, or use a trained or Piper voice."
            )
        self.language = espeak.voice_for(language)
        self.sample_rate = espeak.SAMPLE_RATE
        self.rate, self.pitch, self.dictionary = rate, pitch, dictionary

    def speak(self, sentence, check):
        text = self.dictionary.for_espeak(sentence, self.language)  # also defuses a literal "[[" in the text
        return espeak.synthesize(text, self.language, rate=self.rate, pitch=self.pitch, check=check)


def _phoneme_text(dictionary, sentence: str, phonemize) -> str:
    """The phonemes of a sentence: text runs phonemized, dictionary phoneme entries as written, joined by spaces
    (bare punctuation between entries sticks to the phonemes before it, as espeak writes it)."""
    parts = dictionary.segments(sentence) if dictionary else [("text", sentence)]
    out = ""
    for kind, value in parts:
        value = value.strip()
        if not value:
            continue
        if kind == "phonemes":
            piece = value
        elif any(ch.isalnum() for ch in value):
            piece = phonemize(value)
        else:
            out += value
            continue
        out = f"{out} {piece}" if out else piece
    return out


class _PiperSpeaker(_Speaker):
    kind = "piper"

    def __init__(self, path: Path, rate, pitch, dictionary) -> None:
        self.voice = piper.cached_voice(path)
        self.sample_rate, self.language = self.voice.sample_rate, self.voice.language
        self.rate, self.pitch, self.dictionary = rate, pitch, dictionary

    def speak(self, sentence, check):
        voice = self.voice
        if voice.phoneme_type == "text":
            text = self.dictionary.apply_respellings(sentence) if self.dictionary else sentence
            audio = voice.synthesize(text, rate=self.rate, check=check)
        else:
            ipa = _phoneme_text(self.dictionary, sentence, lambda t: espeak.phonemize(t, voice.language))
            phonemes = voice.split_phonemes(ipa)
            check()
            audio = voice.synthesize_ids(voice.ids(phonemes), rate=self.rate) if phonemes else np.zeros(0, np.float32)
        return pitch_shift(audio, self.pitch) if self.pitch else audio


class _TrainedSpeaker(_Speaker):
    kind = "trained"

    def __init__(self, folder: Path, project_root, step, vocoder, device, rate, pitch, dictionary) -> None:
        self.tts = _model_cache("voice").get(folder, step, device)
        self.sample_rate = int(self.tts.sample_rate)
        self.language = self.tts.language or "en-us"
        self.rate, self.pitch, self.dictionary = rate, pitch, dictionary
        self.vocoder = None
        self.vocoder_name = GRIFFIN_LIM
        if vocoder != GRIFFIN_LIM:
            if vocoder:
                vocoder_folder = _runs_folder(project_root) / vocoder
                if not vocoder_folder.is_dir():
                    raise JobError(
                        f"There is no vocoder run “{vocoder}” in this project; pick one from the list, or Griffin-Lim."
                    )
            else:
                vocoder_folder = speech_model.find_vocoder(project_root, folder)
            if vocoder_folder is not None:
                self.vocoder = _model_cache("vocoder").get(vocoder_folder, None, device)
                if dict(self.vocoder.mel) != dict(self.tts.mel):
                    raise JobError(
                        f"The vocoder {Path(vocoder_folder).name} was trained with different mel settings "
                        "than this voice; pick a matching vocoder or Griffin-Lim."
                    )
                self.vocoder_name = Path(vocoder_folder).name

    def _phonemes(self, text: str) -> str:
        if getattr(self.tts, "phonemizer", "espeak-ng") == "characters":
            return phonemes.characters(text)
        return phonemes.phonemize(text, self.language)

    def speak(self, sentence, check):
        ipa = _phoneme_text(self.dictionary, sentence, self._phonemes)
        ids = phonemes.symbols_to_ids(ipa)
        if not ids:
            return np.zeros(0, dtype=np.float32)
        mel, _alignment = self.tts.mel_for(ids, check=check)
        mel = stretch_frames(mel, 1.0 / max(0.1, float(self.rate)))
        check()
        audio = self.vocoder.vocode(mel) if self.vocoder is not None else griffin_lim(mel, self.tts.mel)
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        return pitch_shift(audio, self.pitch) if self.pitch else audio


def _speaker(voice: str, project_root, rate, pitch, dictionary, step, vocoder, device) -> _Speaker:
    voice = (voice or "").strip()
    if not voice:
        raise JobError("No voice was chosen. Pick a voice (for example system:en-us).")
    if voice.startswith("system:"):
        return _SystemSpeaker(voice[len("system:") :] or "en-us", rate, pitch, dictionary)
    if _is_piper(voice):
        path = _piper_path(voice)
        if not path.is_absolute() and project_root is not None and not path.exists():
            path = Path(project_root) / path
        return _PiperSpeaker(path, rate, pitch, dictionary)
    folder = _trained_run_folder(voice, project_root)
    return _TrainedSpeaker(folder, project_root, step, vocoder, device, rate, pitch, dictionary)


def check_voice(voice: str, project_root=None) -> None:
    """Raise a plain JobError when ``voice`` cannot be used, without loading a model: an unknown system language,
    a Piper file or its .json missing or out of range, a run that is not in the project or whose config.json is
    not a voice or is over its limits (studio.core.untrusted)."""

    voice = (voice or "").strip()
    if not voice:
        raise JobError("No voice was chosen. Pick a voice (for example system:en-us).")
    if voice.startswith("system:"):
        if not espeak.available():
            raise JobError(
                "The built-in system voice is unavailable because espeak-ng could not be loaded "
                f"({espeak.error()}). Reinstall the app, or use a trained or Piper voice."
            )
        language = espeak.voice_for(voice[len("system:") :] or "en-us")
        codes = {entry["code"].lower() for entry in espeak.list_languages()}
        if language not in codes:
            espeak.phonemize("a", language)  # names espeak knows beyond the list ("fr"); raises a plain error
        return
    if _is_piper(voice):
        path = _piper_path(voice)
        if not path.is_absolute() and project_root is not None and not path.exists():
            path = Path(project_root) / path
        if not path.is_file():
            raise JobError(f"The Piper voice {path} does not exist (moved or deleted?). Import it again.")
        piper.voice_info(path)  # a missing, damaged or out-of-range .json
        return

    speech_model.read_speech_config(_trained_run_folder(voice, project_root))  # a config.json over its limits


def _dictionary(dictionary, project_root):
    if isinstance(dictionary, Dictionary):
        return dictionary
    if dictionary is None:
        return load_dictionary(project_root)
    return Dictionary(dictionary)


def _check_settings(rate, pitch, volume) -> tuple[float, float, float]:
    rate, pitch, volume = float(rate), float(pitch), float(volume)
    if not 0.25 <= rate <= 4.0:
        raise JobError(f"The speed {rate:g} is out of range; use 0.5 (slow) to 2.0 (fast).")
    if not -24.0 <= pitch <= 24.0:
        raise JobError(f"The pitch {pitch:g} is out of range; use -12 to +12 semitones.")
    if not 0.0 <= volume <= 4.0:
        raise JobError(f"The volume {volume:g} is out of range; use 0 to 2.")
    return rate, pitch, volume


# -- jobs -----------------------------------------------------------------------------------------------------------
class SynthesizeSpeech:
    """Job: speak ``text`` with ``voice``. Returns samples, sample rate, duration, sentence timings, the voice id
    and a spectrogram picture (see the module docstring)."""

    title = "Speak"
    kind = "generate"

    def __init__(
        self,
        voice: str,
        text: str,
        project_root=None,
        rate: float = 1.0,
        pitch: float = 0.0,
        volume: float = 1.0,
        dictionary: dict | None = None,
        step: int | None = None,
        vocoder: str | None = None,
        device: str = "cpu",
    ) -> None:
        self.voice, self.text = voice, text
        self.project_root = Path(project_root) if project_root is not None else None
        self.rate, self.pitch, self.volume = rate, pitch, volume
        self.dictionary, self.step, self.vocoder, self.device = dictionary, step, vocoder, device

    def check(self) -> None:
        """Fail early, in plain words, before any work: settings in range, some text, a voice that exists.
        (The CLI calls it before showing progress; the job itself checks the same things again.)"""

        _check_settings(self.rate, self.pitch, self.volume)
        if not split_sentences(self.text):
            raise JobError("There is no text to speak. Type or paste some text first.")
        check_voice(self.voice, self.project_root)

    def __call__(self, ctx: JobContext | None = None) -> dict:
        ctx = ctx if ctx is not None else JobContext()
        rate, pitch, volume = _check_settings(self.rate, self.pitch, self.volume)
        sentences = split_sentences(self.text)
        if not sentences:
            raise JobError("There is no text to speak. Type or paste some text first.")
        ctx.progress(0.0, "Loading the voice")
        speaker = _speaker(
            self.voice,
            self.project_root,
            rate,
            pitch,
            _dictionary(self.dictionary, self.project_root),
            self.step,
            self.vocoder,
            self.device,
        )
        rate_hz = speaker.sample_rate
        pause = np.zeros(int(round(PAUSE_SECONDS * rate_hz)), dtype=np.float32)
        pieces, timings, position = [], [], 0
        n = len(sentences)
        for i, sentence in enumerate(sentences):
            ctx.check()
            ctx.progress(i / n, f"Sentence {i + 1} of {n}")
            audio = trim_silence(speaker.speak(sentence, ctx.check), rate_hz)
            if i:
                pieces.append(pause)
                position += len(pause)
            pieces.append(audio)
            timings.append({"text": sentence, "start": position / rate_hz, "end": (position + len(audio)) / rate_hz})
            position += len(audio)
        ctx.check()
        samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
        if not np.isfinite(samples).all():  # a diverged trained voice must not write NaN into a WAV
            samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
        samples = espeak.apply_volume(samples, volume)
        ctx.progress(1.0, f"Spoke {words.count(n, 'sentence')}")
        result = {
            "samples": samples,
            "sample_rate": int(rate_hz),
            "duration": len(samples) / rate_hz,
            "sentences": timings,
            "voice": self.voice,
            "kind": speaker.kind,
            "spectrogram": analysis.spectrogram_image(samples, rate_hz),
        }
        if isinstance(speaker, _TrainedSpeaker):  # which run and checkpoint spoke ("latest" resolved)
            result.update(vocoder=speaker.vocoder_name, run_id=speaker.tts.run_id, step=speaker.tts.step)
        return result


def _slug(line: str, words: int = 5, limit: int = 40) -> str:
    tokens = re.findall(r"[^\W_]+", line.lower())[:words]
    slug = "-".join(tokens)[:limit].strip("-")
    return slug or "line"


class _Slice(JobContext):
    """A window onto a parent context: progress in [0, 1] maps to [start, end] of the parent's bar; everything
    else (cancel, pause, the other reports) is the parent's."""

    def __init__(self, parent: JobContext, start: float, end: float, prefix: str) -> None:
        super().__init__()
        self.parent, self.start, self.end, self.prefix = parent, start, end, prefix

    def progress(self, fraction: float, message: str = "") -> None:
        self.parent.progress(self.start + (self.end - self.start) * fraction, f"{self.prefix}: {message}")

    def check(self) -> None:
        self.parent.check()

    def metrics(self, values) -> None:
        self.parent.metrics(values)

    def preview(self, obj) -> None:
        self.parent.preview(obj)

    def flush(self) -> None:
        self.parent.flush()

    def cancel(self) -> None:
        self.parent.cancel()

    def pause(self) -> None:
        self.parent.pause()

    def resume(self) -> None:
        self.parent.resume()

    @property
    def cancelled(self) -> bool:
        return self.parent.cancelled

    @property
    def paused(self) -> bool:
        return self.parent.paused


class ExportLines:
    """Job: one WAV per non-empty line of ``text`` into ``folder`` ("001-first-words.wav", ...).
    Returns {"files": [path strings]} (plain strings: they go into JSON and Qt signals). Existing files of the
    same name are replaced (atomically)."""

    title = "Export lines"
    kind = "export"

    def __init__(self, voice: str, text: str, folder, **settings) -> None:
        self.voice, self.text, self.folder, self.settings = voice, text, Path(folder), settings

    def _lines(self) -> list[str]:
        lines = [line.strip() for line in (self.text or "").splitlines()]
        lines = [line for line in lines if line and any(ch.isalnum() for ch in line)]
        if not lines:
            raise JobError("There are no lines to export. Write one line per file to speak.")
        return lines

    def check(self) -> None:
        """Fail early (see :meth:`SynthesizeSpeech.check`); also refuses an output path that is a file."""
        lines = self._lines()
        if self.folder.exists() and not self.folder.is_dir():
            raise JobError(f"{self.folder} is a file; batch export needs a folder to write one WAV per line into.")
        SynthesizeSpeech(self.voice, lines[0], **self.settings).check()

    def __call__(self, ctx: JobContext | None = None) -> dict:
        ctx = ctx if ctx is not None else JobContext()
        lines = self._lines()
        files = []
        n = len(lines)
        for i, line in enumerate(lines):
            ctx.check()
            result = SynthesizeSpeech(self.voice, line, **self.settings)(
                _Slice(ctx, i / n, (i + 1) / n, f"Line {i + 1} of {n}")
            )
            files.append(str(write_speech(self.folder / f"{i + 1:03d}-{_slug(line)}.wav", result)))
        ctx.progress(1.0, f"Exported {words.count(n, 'file')}")
        return {"files": files}


def write_speech(path: str | Path, result: dict) -> Path:
    """Write a SynthesizeSpeech result as a 16-bit PCM WAV (atomically)."""

    return write_wav(path, result["samples"], result["sample_rate"])
