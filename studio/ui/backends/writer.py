"""The Text writer's adapter to ``studio.core.generation`` (:class:`~studio.ui.backends.contracts.WriterContract`),
and the small jobs that use it off the GUI thread.

Why an adapter: loading a text model imports torch (1–2 s) and sampling takes real time, so nothing here imports
the generation core's jobs at module level. Listing models (``model_list``: the runs the family table sends to
the text panel), templates and the history runs in :class:`ModelsJob`; generation runs in :class:`StreamJob`, on
the job's own thread. The panel sees plain dicts and strings only.

Streaming. The core job (``text_jobs.GenerateText``) reports every decoded piece as
``ctx.metrics({"variant": i, "text": piece})`` and calls ``ctx.check()`` per token, so Stop is immediate.
The worker batches metrics (~20 emissions a second, a list of every piece since the last one), which is what
keeps the GUI thread free: the panel appends each batch with one cursor insert per variant.

Tests hand the panel a fake with the same contract (it streams words chosen by the seed), so the panel is
exercised without a trained model.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from studio.core import words
from studio.core.atomic import atomic_write_json, atomic_write_text
from studio.core.generation import model_list, templates
from studio.core.generation.sampling import SamplingSettings
from studio.core.generation.templates import Template
from studio.core.generation.text_jobs import GenerateText
from studio.core.jobs import JobContext
from studio.core.training.devices import threads_beside_a_window, torch_threads
from studio.ui.backends.contracts import ModelInfo, TemplateField, TemplateInfo, WriterContract

PANEL = "text"
HISTORY_FILE = Path("outputs") / "writer" / "history.json"
HISTORY_LIMIT = 100  # the newest generations kept; older ones fall off (a few KB each at most)
SETTINGS_KEYS = (
    "temperature",
    "top_k",
    "top_p",
    "repetition_penalty",
    "max_tokens",
    "seed",
    "stop",
    "banned_words",
    "required_words",
    "enforce_required",  # resample a variant until it uses every must-use word (SamplingSettings)
)


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def template_info(template: Template) -> TemplateInfo:
    """A core template in the panel's shape."""
    return TemplateInfo(
        id=template.id,
        title=template.name,
        fields=[TemplateField(name=f.key, label=f.label, hint=f.hint, required=f.required) for f in template.fields],
    )


class WriterBackend:
    """The real text-generation core (``studio.core.generation.text_jobs`` and ``templates``)."""

    device = "cpu"

    def available(self) -> bool:
        try:
            return importlib.util.find_spec("studio.core.generation.text_jobs") is not None
        except (ImportError, ValueError):
            return False

    # -- listing (no torch) -------------------------------------------------------------------------------
    def list_models(self, project_root: Path | None) -> list[ModelInfo]:
        """Text runs of the project (newest first), then the starter models: the writer writes before any
        training."""
        return [ModelInfo(**entry.as_dict()) for entry in model_list.list_models(project_root, PANEL)]

    def templates(self) -> list[TemplateInfo]:
        """The core's templates in the panel's shape."""
        return [template_info(template) for template in templates.TEMPLATES.values()]

    def build_prompt(self, template_id: str, fields: dict) -> str:
        return str(templates.build_prompt(template_id, {k: v for k, v in fields.items() if v}))

    # -- history and export (small files, written atomically) ---------------------------------------------
    def load_history(self, project_root: Path | None) -> list[dict]:
        if project_root is None:
            return []
        entries = _read_json(Path(project_root) / HISTORY_FILE).get("entries")
        return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []

    def save_history(self, project_root: Path | None, entries: list[dict]) -> None:
        if project_root is not None:
            atomic_write_json(Path(project_root) / HISTORY_FILE, {"schema": 1, "entries": entries[:HISTORY_LIMIT]})

    def write_text(self, path: Path, text: str) -> Path:
        return atomic_write_text(path, text)

    # -- the generation job --------------------------------------------------------------------------------
    def generate_job(self, folder: str, step: int | None, prompt: str, settings: dict, variants: int):
        """Job → {"texts": [one per variant], "run_id", "step"}; pieces stream through ctx.metrics."""
        return StreamJob(folder, step, prompt, settings, variants, self.device)


class StreamJob:
    """``text_jobs.GenerateText`` under the writer's title, with torch threads leaving a core to the window."""

    kind = "task"

    def __init__(
        self, folder: str, step: int | None, prompt: str, settings: dict, variants: int, device: str = "cpu"
    ) -> None:
        self.folder, self.step, self.prompt = str(folder), step, str(prompt)
        self.settings = {k: v for k, v in dict(settings).items() if k in SETTINGS_KEYS}
        self.variants, self.device = int(variants), device
        self.title = f"Writing {words.count(self.variants, 'variant')}"

    def __call__(self, ctx: JobContext) -> dict:
        settings = SamplingSettings(**self.settings)
        job = GenerateText(
            self.folder, self.prompt, settings, step=self.step, variants=self.variants, device=self.device
        )
        with torch_threads(threads_beside_a_window()):  # a core stays with the window
            result = job(ctx)
        return {
            "texts": [str(t) for t in result.get("texts") or []],
            "run_id": result.get("run_id"),
            "step": result.get("step"),
            "finish": list(result.get("finish") or []),
        }


class ModelsJob:
    """Job: the text runs the writer can use, the templates, the project's history, and whether the text
    generation core is installed at all (all file reads, kept off the GUI thread)."""

    kind = "task"
    title = "Listing writer models"

    def __init__(self, backend: WriterContract, root: Path | None) -> None:
        self.backend, self.root = backend, root

    def __call__(self, ctx: JobContext) -> dict:
        return {
            "available": bool(self.backend.available()),
            "models": list(self.backend.list_models(self.root)),
            "templates": list(self.backend.templates()),
            "history": list(self.backend.load_history(self.root)),
        }
