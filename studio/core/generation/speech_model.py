"""Trained voices loaded for speaking: a TTS run (phoneme ids -> log-mel frames) and a vocoder run
(log-mel frames -> samples). Griffin-Lim, the vocoder that needs no training, and the mel settings' reading
(:func:`~studio.core.speech.mel.mel_params`) live with the mel front end in :mod:`studio.core.speech.mel`.

Which runs are voices and which are vocoders is the family table's word (:mod:`studio.core.training.families`):
a voice is a family whose generating network makes "mel", a vocoder one whose network makes "audio".

A run folder is what the engine writes (config.json whose "model" block is the recipe's describe():
``{"kind": "tts"|"vocoder", "mel": {sample_rate, n_mels, n_fft, hop_length, win_length, f_min, f_max},
"config": {network sizes}, ...}``, and ``checkpoints/step-NNNNNN.safetensors``), so a voice keeps working when
its dataset is changed or deleted. EMA weights are preferred when a checkpoint has them, as for pictures and
text. Loading is safe against files received from others: weights come from safetensors (strict load),
descriptions are JSON.

Mel settings are the contract between the two models: a vocoder is only offered for a TTS run whose "mel"
block is identical (:func:`find_vocoder`); Griffin-Lim follows whatever the TTS run says.

Cheap to import: torch loads when a model does.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from studio.core import untrusted
from studio.core.datasets import phonemes
from studio.core.datasets.phonemes import EOS_ID
from studio.core.generation.run_models import ModelCache, load_generator, read_run_config
from studio.core.jobs import JobError
from studio.core.speech.mel import mel_params
from studio.core.training import families, runs

log = logging.getLogger(__name__)

# The two roles of a speech run, by what its generating network makes (families.Generator.makes).
ROLES = {"mel": "voice", "audio": "vocoder"}
SYNTHESIS_SEED = 4321  # the pre-net dropout's noise: the same text always sounds the same


# -- run configs ------------------------------------------------------------------------------------------------------
def voice_families() -> list[families.FamilySpec]:
    """The families whose runs are voices: text (phoneme ids) in, log-mel frames out."""
    return families.making("mel")


def vocoder_families() -> list[families.FamilySpec]:
    """The families whose runs are vocoders: log-mel frames in, samples out."""
    return families.making("audio")


def read_speech_config(run_folder: str | Path) -> dict:
    """config.json of a run, checked to be a trained voice (a TTS)."""
    return read_run_config(run_folder, voice_families(), "a trained voice")


def read_vocoder_config(run_folder: str | Path) -> dict:
    """config.json of a run, checked to be a vocoder."""
    return read_run_config(run_folder, vocoder_families(), "a vocoder")


# -- the acoustic model -----------------------------------------------------------------------------------------------
@dataclass
class TrainedTts:
    """A loaded TTS run: phoneme ids in, log-mel frames out (see :meth:`mel_for`)."""

    network: Any = field(repr=False)
    mel: dict
    language: str
    phonemizer: str
    run_id: str = ""
    step: int = 0
    folder: Path | None = None
    device: str = "cpu"
    ema: bool = False
    sample: str = "infer"  # the family table's entry point: (ids, ...) -> (mel, frames, alignments)

    @property
    def sample_rate(self) -> int:
        return int(self.mel["sample_rate"])

    @property
    def reduction(self) -> int:
        return int(self.network.config.reduction)

    def max_steps(self, symbols: int) -> int:
        """Decoder steps for a sentence of ``symbols`` input symbols: the network's own cap
        (``max_frames_per_symbol``, checked against its limit when the run was read) and, whatever the files
        say, at most :data:`~studio.core.untrusted.MAX_SENTENCE_SECONDS` of audio at the voice's mel settings."""
        config, r = self.network.config, self.reduction
        per_symbol = math.ceil(symbols * int(config.max_frames_per_symbol) / r)
        return max(2, min(per_symbol, math.ceil(untrusted.decoder_frames_cap(self.mel) / r)))

    def phoneme_ids(self, text: str) -> list[int]:
        """Ids of ``text`` with the phonemizer and language the voice was trained with."""

        try:
            return phonemes.phoneme_ids(text, self.language)
        except ValueError as exc:
            raise JobError(f"{exc} The voice {self.run_id} cannot read this text.") from exc

    def mel_for(self, phoneme_ids: list[int], check=None) -> tuple[np.ndarray, np.ndarray]:
        """(log-mel (T, n_mels) float32, alignment (T, N) float32) for one sentence's ids (end-of-sentence is
        added here). Free-running with the pre-net noise from a fixed seed, so the same ids give the same
        frames; ``check`` is called between decoder steps (it raises to stop)."""
        import torch

        from studio.core.nets.tts import input_ids  # imports torch: only when a voice speaks

        ids = input_ids(phoneme_ids, EOS_ID)
        with torch.inference_mode():
            tokens = torch.tensor([ids], dtype=torch.long, device=self.device)
            generator = torch.Generator(device=self.device).manual_seed(SYNTHESIS_SEED)
            mel, frames, alignments = getattr(self.network, self.sample)(
                tokens, check=check, generator=generator, max_steps=self.max_steps(len(ids))
            )
        T = int(frames[0])
        mel = mel[0, :T].float().cpu().numpy()
        steps = alignments[0].float().cpu().numpy()  # (S, N): one row per decoder step of r frames
        alignment = np.repeat(steps, self.reduction, axis=0)[:T]
        return np.ascontiguousarray(mel), np.ascontiguousarray(alignment)


def load_tts(run_folder: str | Path, step: int | None = None, device: str = "cpu") -> TrainedTts:
    """Load a TTS run's network and settings (``step``: newest checkpoint when None).

    Refuses, in plain words, a voice trained on phonemes that this installation cannot make (trained with
    espeak-ng, run where espeak-ng cannot load) or on another version of the symbol table."""

    run_folder = Path(run_folder)
    config = read_speech_config(run_folder)
    model = config["model"]
    mel = mel_params(model)
    run_id = str(config.get("run_id") or run_folder.name)
    phonemizer = str(model.get("phonemizer") or "espeak-ng")
    if phonemizer != phonemes.phonemizer_name():
        raise JobError(
            f"The voice {run_id} was trained on {phonemizer} phonemes, but this installation makes "
            f"{phonemes.phonemizer_name()} ones ({phonemes.espeak_error() or 'espeak-ng is loaded'}); "
            f"reinstall AIGC Studio so espeak-ng loads, or train the voice again here."
        )
    if int(model.get("symbols_version", phonemes.SYMBOLS_VERSION)) > phonemes.SYMBOLS_VERSION:
        raise JobError(
            f"The voice {run_id} was made by a newer AIGC Studio (phoneme table version "
            f"{model.get('symbols_version')}); update AIGC Studio to use it."
        )
    (network, step, ema, _), generator = load_generator(run_folder, step, model, "used as a voice", run_id)
    network.to(device)
    log.info("loaded voice %s step %d (%s weights) on %s", run_id, step, "EMA" if ema else "raw", device)
    return TrainedTts(
        network=network,
        mel=mel,
        language=str(model.get("language") or phonemes.DEFAULT_LANGUAGE),
        phonemizer=phonemizer,
        run_id=run_id,
        step=step,
        folder=run_folder,
        device=str(device),
        ema=ema,
        sample=generator.sample,
    )


# -- the vocoder ------------------------------------------------------------------------------------------------------
@dataclass
class TrainedVocoder:
    """A loaded vocoder run: log-mel frames in, samples out (see :meth:`vocode`)."""

    network: Any = field(repr=False)
    mel: dict
    run_id: str = ""
    step: int = 0
    folder: Path | None = None
    device: str = "cpu"
    ema: bool = False
    sample: str = "forward"  # the family table's entry point: (1, n_mels, T) mel -> (1, 1, T * hop) samples

    @property
    def sample_rate(self) -> int:
        return int(self.mel["sample_rate"])

    def vocode(self, mel: np.ndarray) -> np.ndarray:
        """log-mel (T, n_mels) -> float32 samples (T * hop_length,) in [-1, 1]."""
        import torch

        mel = np.asarray(mel, np.float32)
        if mel.ndim != 2 or mel.shape[1] != int(self.mel["n_mels"]):
            raise JobError(f"The vocoder {self.run_id} reads {self.mel['n_mels']} mel bands, not {mel.shape[-1]}.")
        if len(mel) == 0:
            return np.zeros(0, np.float32)
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(mel.T))[None].to(self.device)
            return getattr(self.network, self.sample)(x)[0, 0].float().cpu().numpy()


def load_vocoder(run_folder: str | Path, step: int | None = None, device: str = "cpu") -> TrainedVocoder:
    run_folder = Path(run_folder)
    config = read_vocoder_config(run_folder)
    model = config["model"]
    mel = mel_params(model)
    (network, step, ema, _), generator = load_generator(run_folder, step, model, "used as a vocoder")
    network.to(device)
    return TrainedVocoder(
        network=network,
        mel=mel,
        run_id=str(config.get("run_id") or run_folder.name),
        step=step,
        folder=run_folder,
        device=str(device),
        ema=ema,
        sample=generator.sample,
    )


# shared caches (a sentence after another asks for the same voice): run_models.ModelCache
tts_models = ModelCache(read_speech_config, load_tts)
vocoder_models = ModelCache(read_vocoder_config, load_vocoder)


# -- finding runs -----------------------------------------------------------------------------------------------------
def model_role(model: object) -> str:
    """What a run's "model" block (describe()'s dict) is to the speech panel: "voice" or "vocoder" (see
    :data:`ROLES`), or "" for another family's model or no model at all."""
    family = families.find(model.get("kind")) if isinstance(model, dict) else None
    if family is None or family.panel != "speech" or family.generator is None:
        return ""
    return ROLES.get(family.generator.makes, "")


def run_role(run_folder: str | Path) -> str:
    """:func:`model_role` of a run folder, "" when its config.json cannot be read (missing, damaged, oversized).
    Reads one small file, so the speech panel may ask on the GUI thread ("Open in speech" of a checkpoint)."""
    try:
        config = untrusted.read_json(Path(run_folder) / "config.json", untrusted.CONFIG_CAP, "the run")
    except (OSError, ValueError, JobError):
        return ""
    return model_role(config.get("model") if isinstance(config, dict) else None)


def list_speech_runs(project_root: str | Path) -> list[dict]:
    """Every voice and vocoder run of the project, newest first: ``{"run_id", "family", "role" ("voice" |
    "vocoder", see :data:`ROLES`), "steps": [checkpoint steps], "chosen_step" (the step "Use this checkpoint" chose,
    else None), "dataset", "language" (voices), "mel", "folder"}``. Runs whose config.json is oversized or over its
    limits (studio.core.untrusted) are left out, like damaged ones."""
    found = []
    for info in runs.list_runs(Path(project_root)):
        try:
            config = untrusted.read_json(Path(info.folder) / "config.json", untrusted.CONFIG_CAP, "the run")
        except (OSError, ValueError, JobError):
            continue
        model = config.get("model") if isinstance(config, dict) else None
        role = model_role(model)
        if not role or not isinstance(model, dict):
            continue
        try:
            untrusted.check_model(model, Path(info.folder) / "config.json")
            mel = mel_params(model)
        except (JobError, TypeError, ValueError):
            continue
        steps = [c.step for c in runs.checkpoints(info.folder)]
        chosen = runs.chosen_step(info.folder)
        found.append(
            {
                "run_id": info.run_id,
                "family": str(model["kind"]),
                "role": role,
                "steps": steps,
                "chosen_step": chosen if chosen in steps else None,
                "dataset": info.dataset,
                "language": model.get("language") if role == "voice" else None,
                "mel": mel,
                "folder": str(info.folder),
            }
        )
    return found


def find_vocoder(project_root: str | Path, tts_run_folder: str | Path) -> Path | None:
    """The newest vocoder run of the project with a checkpoint and the TTS run's exact mel settings, or None."""
    wanted = mel_params(read_speech_config(tts_run_folder)["model"])
    for run in list_speech_runs(project_root):
        if run["role"] == "vocoder" and run["steps"] and run["mel"] == wanted:
            return Path(run["folder"])
    return None
