"""What each panel asks of the core, as ``typing.Protocol`` classes: the real adapters and the tests' fakes both
satisfy them (tests/ui/test_backend_contracts.py checks both, method by method).

A panel holds one backend and calls only these methods, positionally (every parameter below is positional-only,
so an implementation may name its parameters as it likes). Methods named ``*_job`` return a job (a callable
taking a :class:`~studio.core.jobs.JobContext`, with ``title`` and ``kind`` attributes) that the panel starts
through the window's registry, so nothing that imports torch runs on the GUI thread; the other methods read or
write small files and may be called from a job or, when cheap, from the panel itself.

What the panel receives is plain data: the dict shapes below (``TypedDict``), numpy ``uint8`` pictures
``(N, R, R, 3)``, float32 samples and strings. The core returns one shape and the adapter turns it into these; no
side guesses at the other's keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, TypedDict, runtime_checkable

import numpy as np

from studio.core.jobs import Job


# -- shapes --------------------------------------------------------------------------------------------------------
class ModelInfo(TypedDict):
    """A trained model a creation panel lists (studio.core.generation.model_list.ModelEntry as a dict)."""

    run_id: str
    folder: str
    family: str
    kind: str
    label: str  # the family's short name: "GAN"
    source: str  # "project" | "starter"
    steps: list[int]  # checkpoint steps, oldest first
    dataset: str
    created: str
    state: str
    classes: list[str]  # image models: class names ([] for an unconditional model)
    resolution: int  # image models: px
    tokenizer: str  # text models: "char" | "bpe"
    name: str  # the user's name for the run ("" when it has none): what the pickers show first
    can_encode: bool  # image models: it rebuilds and morphs pictures (a VAE)
    chosen_step: int | None  # the checkpoint "Use this checkpoint" chose, which the picker defaults to; else None
    makes: str  # what its network makes (families.Generator.makes): "image", "transfer" (a style-transfer model), ...


class TemplateField(TypedDict):
    name: str  # the key build_prompt() takes
    label: str
    hint: str  # the placeholder text
    required: bool


class TemplateInfo(TypedDict):
    id: str
    title: str
    fields: list[TemplateField]


class FamilyInfo(TypedDict, total=False):
    """A model family as the Training panel lists it (studio.core.training.families.FamilySpec)."""

    family: str  # the id
    title: str
    kinds: tuple[str, ...]  # the dataset kinds it trains on
    description: str
    resolutions: tuple[int, ...]  # picture sizes to choose from; none when there is no choice
    panel: str | None  # the creation panel that opens its models
    preview: str  # "image" | "text" | "audio"


# -- the image canvas ----------------------------------------------------------------------------------------------
@runtime_checkable
class CanvasContract(Protocol):
    """The Image canvas's door to ``studio.core.generation`` (the image jobs and png_settings).

    Every picture the canvas shows carries the core's *settings* dict, the recipe that makes it again:
    ``{"source", "run_id", "step", "kind", "resolution", "seed", "latent_index", "class", "class_index",
    "truncation"}`` plus, for a variation, ``"variations": [{"seed", "strength", "index"}, ...]``."""

    def available(self) -> bool:
        """Whether the generation core is installed."""
        ...

    def list_models(self, project_root: Path | None, /) -> list[ModelInfo]:
        """The image models: the project's runs (newest first), then the starter models. JSON only, no torch."""
        ...

    def grid_job(
        self, folder: str, step: int | None, seed: int, count: int, truncation: float, class_name: str | None, /
    ) -> Job:
        """Job -> ``{"images": uint8 (count, R, R, 3), "settings": [one dict per image], ...}``."""
        ...

    def variations_job(
        self, folder: str, step: int | None, settings: dict, strength: float, count: int, seed: int, /
    ) -> Job:
        """Job -> like grid_job: the picture itself first, then ``count - 1`` variations of it."""
        ...

    def walk_job(
        self,
        folder: str,
        step: int | None,
        settings: list[dict],
        frames_per_step: int,
        easing: str,
        loop: bool,
        fps: int,
        gif_path: Path,
        /,
    ) -> Job:
        """Job -> ``{"frames": uint8 (F, R, R, 3), "gif": the GIF written, "fps"}``."""
        ...

    def export_job(self, items: list[tuple[np.ndarray, dict]], folder: Path, scale: int, resample: str, /) -> Job:
        """Job -> the PNG paths written, settings embedded (native size or upscaled ``scale`` times)."""
        ...

    def read_png_settings(self, path: Path, /) -> dict:
        """The settings embedded in a studio PNG (a plain JobError when it has none)."""
        ...

    def regenerate_job(self, project_root: Path | None, path: Path, /) -> Job:
        """Job -> ``{"settings", "original", "regenerated": uint8 pictures, "identical": bool, "path"}``."""
        ...

    def reconstruct_job(self, folder: str, step: int | None, paths: list[Path], /) -> Job:
        """Job (a model that can encode) -> ``{"originals", "reconstructions": uint8 (N, R, R, 3), "names"}``."""
        ...

    def morph_job(
        self, folder: str, step: int | None, path_a: Path, path_b: Path, frames: int, fps: int, gif_path: Path, /
    ) -> Job:
        """Job (a model that can encode) -> ``{"originals", "frames" (A -> B -> A), "gif", "fps", "names"}``."""
        ...


# -- the text writer -----------------------------------------------------------------------------------------------
@runtime_checkable
class WriterContract(Protocol):
    """The Text writer's door to ``studio.core.generation`` (text_jobs and templates)."""

    def available(self) -> bool:
        """Whether the text generation core is installed."""
        ...

    def list_models(self, project_root: Path | None, /) -> list[ModelInfo]:
        """The text models: the project's runs (newest first), then the starter models. JSON only, no torch."""
        ...

    def templates(self) -> list[TemplateInfo]:
        """The prompt templates, in the core's order."""
        ...

    def build_prompt(self, template_id: str, fields: dict, /) -> str:
        """The template's prompt; a plain JobError names a required field left empty (the panel shows it as a
        hint under the prompt: it is the normal state of a new template)."""
        ...

    def load_history(self, project_root: Path | None, /) -> list[dict]:
        """The project's past generations, newest first."""
        ...

    def save_history(self, project_root: Path | None, entries: list[dict], /) -> None: ...

    def write_text(self, path: Path, text: str, /) -> Path:
        """An export, written atomically."""
        ...

    def generate_job(self, folder: str, step: int | None, prompt: str, settings: dict, variants: int, /) -> Job:
        """Job -> ``{"texts": [one per variant], "run_id", "step"}``; while it runs, every decoded piece arrives
        as ``ctx.metrics({"variant": i, "text": piece})``. ``settings`` holds SamplingSettings' fields."""
        ...


# -- the speech panel ----------------------------------------------------------------------------------------------
@runtime_checkable
class SpeechContract(Protocol):
    """The Speech panel's door to the speech core (``studio.core.generation.speech_jobs``, ``studio.core.speech``).

    ``settings`` are ``{"rate", "pitch", "volume"}``; a synthesis result is SynthesizeSpeech's ``{"samples",
    "sample_rate", "duration", "sentences", "voice", "spectrogram"}``."""

    def available(self) -> bool:
        """Whether the speech core is installed."""
        ...

    def list_voices(self, project_root: Path | None, /) -> list[dict]:
        """``generation.speech_jobs.list_voices``: ``{"id", "title", "kind" ("system" | "trained" | "piper"),
        "language", "sample_rate", "detail"}`` plus, for trained voices, ``"steps"`` and ``"vocoders"``
        (``[{"id", "title"}]``, Griffin-Lim first)."""
        ...

    def load_dictionary(self, project_root: Path | None, /) -> dict[str, str]: ...

    def save_dictionary(self, project_root: Path | None, entries: dict[str, str], /) -> None: ...

    def synthesize_job(
        self,
        voice: str,
        text: str,
        project_root: Path | None,
        settings: dict,
        dictionary: dict | None,
        step: int | None,
        vocoder: str | None,
        /,
    ) -> Job:
        """Job -> a synthesis result; reports ``ctx.progress(i / n, "Sentence i of n")``."""
        ...

    def export_lines_job(
        self,
        voice: str,
        text: str,
        folder: Path,
        project_root: Path | None,
        settings: dict,
        dictionary: dict | None,
        step: int | None,
        vocoder: str | None,
        /,
    ) -> Job:
        """Job -> ``{"files": [one WAV per non-empty line]}``."""
        ...

    def import_voice_job(self, project_root: Path | None, onnx_path: str, /) -> Job:
        """Job -> ``{"id": the imported Piper voice's id}``."""
        ...

    def write_wav(self, path: Path, result: dict, /) -> Path:
        """A 16-bit PCM WAV of a synthesis result, written atomically."""
        ...


# -- the training panel --------------------------------------------------------------------------------------------
@runtime_checkable
class TrainingContract(Protocol):
    """The Training panel's door to ``studio.core.training`` (the engine imports torch: call these in jobs)."""

    def available(self) -> bool:
        """Whether the engine is installed."""
        ...

    def families(self) -> list[FamilyInfo]: ...

    def presets(self, family: str, /) -> dict[str, dict]:
        """``{"fast" | "balanced" | "best": overrides}``."""
        ...

    def default_config(self, family: str, /) -> dict:
        """Every setting of the family with its default."""
        ...

    def estimate(self, root: Path, dataset: str, family: str, config: dict, device: str | None, /) -> dict:
        """``{"seconds", "memory_bytes", "steps"}`` of a run with ``config`` on ``device``. The real backend also
        takes ``ctx``, ``preset`` and ``overrides`` keywords (the run's own plan); callers check with
        :func:`studio.ui.backends.training.accepts`."""
        ...

    def train_job(
        self,
        root: Path,
        dataset: str,
        family: str,
        preset: str,
        overrides: dict | None,
        resume: str | None,
        device: str | None,
        /,
    ) -> Job:
        """The training job (it has ``run_id`` once the run folder exists, and ``request(action)``)."""
        ...

    def warm_up(self) -> None:
        """Import the engine now (in a job), so pressing Start later does not stall the window."""
        ...

    def list_runs(self, root: Path, /) -> list[dict]:
        """``{"run_id", "folder", "family", "dataset", "state", "step", "total_steps", "created",
        "interrupted", "name"}`` (``name``: the user's name for the run, "" when it has none), newest first."""
        ...

    def read_metrics(self, folder: Path, /) -> list[dict]:
        """metrics.jsonl's rows."""
        ...

    def checkpoints(self, folder: Path, /) -> list[dict]:
        """``{"step", "path_json", "path_weights", "metrics", "best", "created"}`` per checkpoint (``created``: when
        it was saved, ISO 8601), oldest first."""
        ...

    def export_metrics_csv(self, folder: Path, path: Path, /) -> None: ...


@runtime_checkable
class RunPreviews(Protocol):
    """Optional beside :class:`TrainingContract`: a run's preview files for the sample strip."""

    def previews(self, folder: Path, /) -> list[dict[str, Any]]:
        """``{"step", "kind" ("image" | "text" | "audio"), "path"}`` per preview, newest last."""
        ...
