"""One checkpoint loaded and rendering the board's cells: a picture, a text or a spoken sentence per row.

:func:`open_renderer` loads the checkpoint's generating network with the creation side's own loaders
(``image_model.load_image_model``, ``text_model.load_text_model``, ``speech_model.load_tts`` and ``load_vocoder``
of :mod:`studio.core.generation`) and **not** through their model caches:
those keep the last few models alive for the panels, and a board walks through every checkpoint of a run, so it
would fill them with models nobody asks for again. The board drops the renderer (and so the network) before it
opens the next checkpoint: one model in memory at a time.

Every cell is deterministic, so a cached cell is exactly what rendering again would give:

* a picture is latent 0 of the row's seed, rendered inside its canonical chunk (:class:`~studio.core.generation.
  image_model.LatentSource`), and written as the PNG the canvas exports for that seed (its settings embedded, so
  "Open PNG" in the canvas regenerates it);
* a text is one :func:`~studio.core.generation.sampling.stream` with the board's fixed sampling settings and seed;
* a sentence is spoken by a voice (a network that makes log-mel frames) with its fixed synthesis seed and turned
  into sound by Griffin-Lim, so the checkpoint alone decides how it sounds (a vocoder run would be a second model
  and a second variable); a vocoder run re-synthesizes the system voice's reading of the sentence, so its
  columns compare how each checkpoint turns the same sound picture back into sound.

Cancel: ``check`` runs before every image chunk, every generated token and every decoder step of a voice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from studio.core.compare.plan import BoardRun, Row
from studio.core.jobs import JobError

log = logging.getLogger(__name__)

Check = Callable[[], None]


@dataclass(frozen=True)
class Rendered:
    """One cell's file content, and what the board shows beside it."""

    data: bytes
    text: str | None = None  # text cells: the generated continuation
    seconds: float | None = None  # audio cells: the clip's length


class Renderer(Protocol):
    def render(self, row: Row, check: Check) -> Rendered: ...


# -- pictures --------------------------------------------------------------------------------------------------------
class ImageRenderer:
    def __init__(self, model: Any) -> None:
        self.model = model  # image_model.ImageModel

    def render(self, row: Row, check: Check) -> Rendered:
        from studio.core.generation.image_jobs import image_settings
        from studio.core.generation.image_model import LatentSource
        from studio.core.generation.png_settings import encode_png

        seed, index = int(row.settings["seed"]), int(row.settings["latent_index"])
        truncation = float(row.settings["truncation"])
        class_index = self.model.class_index(row.settings["class"])  # None: the first class of a conditional model
        pixels = self.model.render(LatentSource(seed), [index], class_index, truncation, check=check)[0]
        settings = image_settings(self.model, "grid", class_index, truncation, seed=seed, latent_index=index)
        data, _ = encode_png(pixels, settings)
        return Rendered(data)


# -- text ------------------------------------------------------------------------------------------------------------
class TextRenderer:
    def __init__(self, model: Any) -> None:
        self.model = model  # text_model.TextModel

    def render(self, row: Row, check: Check) -> Rendered:
        from studio.core.generation.sampling import SamplingSettings, stream

        settings = SamplingSettings.from_dict(row.settings["sampling"])
        text = "".join(stream(self.model, str(row.settings["prompt"]), settings, check=check))
        return Rendered(text.encode("utf-8"), text=text)


# -- speech ----------------------------------------------------------------------------------------------------------
def _clip(samples: np.ndarray, sample_rate: int) -> Rendered:
    """A WAV cell: silence trimmed at both ends, invalid numbers (a diverged checkpoint) silenced."""
    from studio.core.speech.dsp import trim_silence
    from studio.core.speech.wav import wav_bytes

    samples = np.nan_to_num(np.asarray(samples, np.float32).reshape(-1), nan=0.0, posinf=0.0, neginf=0.0)
    samples = trim_silence(samples, sample_rate)
    return Rendered(wav_bytes(samples, sample_rate), seconds=round(len(samples) / sample_rate, 3))


class VoiceRenderer:
    """A voice checkpoint reads the sentence; Griffin-Lim makes it sound (see the module docstring)."""

    def __init__(self, tts: Any) -> None:
        self.tts = tts  # speech_model.TrainedTts

    def render(self, row: Row, check: Check) -> Rendered:
        from studio.core.datasets import phonemes
        from studio.core.speech.mel import griffin_lim

        sentence = str(row.settings["sentence"])
        if self.tts.phonemizer == "characters":
            symbols = phonemes.characters(sentence)
        else:
            symbols = phonemes.phonemize(sentence, self.tts.language)
        ids = phonemes.symbols_to_ids(symbols)
        if not ids:
            return _clip(np.zeros(0, np.float32), self.tts.sample_rate)
        mel, _alignment = self.tts.mel_for(ids, check=check)
        check()
        if len(mel) * int(self.tts.mel["hop_length"]) <= int(self.tts.mel["n_fft"]) // 2:
            # a checkpoint that stops after a frame or two said nothing; too short for Griffin-Lim's padding
            return _clip(np.zeros(len(mel) * int(self.tts.mel["hop_length"]), np.float32), self.tts.sample_rate)
        return _clip(griffin_lim(mel, self.tts.mel), self.tts.sample_rate)


class VocoderRenderer:
    """A vocoder checkpoint turns the log-mel of the system voice's reading back into sound."""

    def __init__(self, vocoder: Any) -> None:
        self.vocoder = vocoder  # speech_model.TrainedVocoder

    def render(self, row: Row, check: Check) -> Rendered:
        import torch

        from studio.core.speech import espeak
        from studio.core.speech.dsp import resample_length
        from studio.core.speech.mel import MelFrontEnd

        if not espeak.available():
            raise JobError(
                "A vocoder is compared on the system voice's reading of the test sentences, and espeak-ng could "
                f"not be loaded ({espeak.error()}); reinstall the app, or compare a voice run instead."
            )
        mel_settings = dict(self.vocoder.mel)
        reading = espeak.synthesize(str(row.settings["sentence"]), "en-us", check=check)
        rate = int(mel_settings["sample_rate"])
        if rate != espeak.SAMPLE_RATE:
            reading = resample_length(reading, int(round(len(reading) * rate / espeak.SAMPLE_RATE)))
        with torch.inference_mode():
            mel = MelFrontEnd(**mel_settings)(torch.from_numpy(np.ascontiguousarray(reading, np.float32)))
        check()
        return _clip(self.vocoder.vocode(mel.T.numpy()), rate)


# -- opening a checkpoint --------------------------------------------------------------------------------------------
def open_renderer(run: BoardRun, step: int, device: str) -> Renderer:
    """The renderer of ``run``'s checkpoint at ``step``, its network loaded on ``device`` (no model cache)."""
    folder: Path = run.folder
    if run.makes == "image":
        from studio.core.generation.image_model import load_image_model

        return ImageRenderer(load_image_model(folder, step, device))
    if run.makes == "text":
        from studio.core.generation.text_model import load_text_model

        return TextRenderer(load_text_model(folder, step, device))
    if run.makes == "mel":
        from studio.core.generation.speech_model import load_tts

        return VoiceRenderer(load_tts(folder, step, device))
    if run.makes == "audio":
        from studio.core.generation.speech_model import load_vocoder

        return VocoderRenderer(load_vocoder(folder, step, device))
    raise JobError(f"The run {run.run_id} makes nothing a board can show.")


def reference_inputs(run: BoardRun) -> list[str]:
    """The run's files besides the weights that decide its cells (the tokenizer of a text model), relative to its
    folder: their content is part of every cell's cache key."""
    from studio.core.generation.text_model import TOKENIZER_FILE

    return [TOKENIZER_FILE] if run.makes == "text" else []


def free_memory(device: str) -> None:
    """After a model is dropped: collect it now (its tensors go with it), and give a GPU's cached blocks back."""
    import gc

    gc.collect()
    if str(device).startswith("cuda"):
        try:
            import torch

            torch.cuda.empty_cache()
        except Exception:  # a GPU that went away: nothing to give back
            log.debug("could not empty the CUDA cache", exc_info=True)
