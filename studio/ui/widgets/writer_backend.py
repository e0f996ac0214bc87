"""The Text writer's one door to ``studio.core.generation``, and the small jobs that use it off the GUI thread.

Why a door: loading a text model imports torch (1–2 s) and sampling takes real time, so nothing here imports
the generation core at module level. Listing models, templates and the history runs in :class:`ModelsJob`;
generation runs in :class:`StreamJob`, on the job's own thread. The panel sees plain dicts and strings only.

Streaming. The core job (``text_jobs.GenerateText``) reports every decoded piece as
``ctx.metrics({"variant": i, "text": piece})`` and calls ``ctx.check()`` per token, so Stop is immediate.
The worker batches metrics (~20 emissions a second, a list of every piece since the last one), which is what
keeps the GUI thread free: the panel appends each batch with one cursor insert per variant.

Tests hand the panel another backend with the same methods (a fake that streams words chosen by the seed),
so the panel is exercised without a trained model. The contract:

* ``available() -> bool`` — the text generation core is installed.
* ``list_models(project_root) -> list[dict]`` — text runs, newest first: ``{"run_id", "folder", "family",
  "kind", "steps", "dataset", "created", "state", "tokenizer", "source"}`` (JSON files only, no torch).
* ``templates() -> list[dict]`` — ``{"id", "title", "fields": [{"name", "label", "hint", "required"}]}``.
* ``build_prompt(template_id, fields: dict) -> str`` — raises a plain JobError naming a required field left
  empty (the panel shows it as a hint under the prompt, since it is the normal state of a new template).
* ``generate_job(folder, step, prompt, settings: dict, variants) -> job`` — streams pieces as above and
  returns ``{"texts": [str, ...], "run_id", "step"}``. ``settings`` holds SamplingSettings' fields.
* ``load_history(project_root) -> list[dict]`` / ``save_history(project_root, entries) -> None``.
* ``write_text(path, text) -> Path`` — an export, written atomically.
"""

from __future__ import annotations

import json
from pathlib import Path

from studio.core.atomic import atomic_write_json, atomic_write_text
from studio.core.jobs import JobContext

TEXT_FAMILIES = ("gpt", "lstm")
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
)


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def is_text_family(family: str) -> bool:
    """ "gpt" / "lstm" (and "text-…" names some run ids carry) are models the writer can use."""
    family = str(family or "")
    return family in TEXT_FAMILIES or family.startswith("text")


def describe_folder(folder: Path, source: str = "project") -> dict | None:
    """A run folder as the writer lists it; None when it is not a text model. Reads only JSON (no torch)."""
    from studio.core.training import runs

    config = _read_json(Path(folder) / "config.json")
    model = config.get("model") if isinstance(config.get("model"), dict) else {}
    family = str(config.get("family") or model.get("kind") or "")
    if not (is_text_family(family) or is_text_family(str(model.get("kind") or ""))):
        return None
    status = _read_json(Path(folder) / "status.json")
    return {
        "run_id": str(config.get("run_id") or Path(folder).name),
        "folder": str(folder),
        "family": family,
        "kind": str(model.get("kind") or family),
        "steps": [c.step for c in runs.checkpoints(folder)],
        "dataset": str(config.get("dataset", "")),
        "created": str(config.get("created", "")),
        "state": str(status.get("state", "")),
        "tokenizer": str(model.get("tokenizer") or ""),
        "source": source,
    }


def _field(value) -> dict:
    """A template field from whatever the core gives (a name, a dict or an object) → {"name", "label", "hint"}."""
    if isinstance(value, str):
        return {"name": value, "label": value.replace("_", " ").capitalize(), "hint": "", "required": False}
    get = value.get if isinstance(value, dict) else (lambda key, default=None: getattr(value, key, default))
    name = str(get("name") or get("id") or get("key") or "")
    return {
        "name": name,
        "label": str(get("label") or get("title") or name.replace("_", " ").capitalize()),
        "hint": str(get("hint") or get("placeholder") or get("example") or get("help") or ""),
        "required": bool(get("required") or False),
    }


def normalize_template(value, key: str | None = None) -> dict:
    """A template from whatever the core gives (a dict or an object; fields as names or dicts) → the panel's shape."""
    get = value.get if isinstance(value, dict) else (lambda k, default=None: getattr(value, k, default))
    template_id = str(get("id") or get("template_id") or get("name") or key or "")
    title = get("title") or get("label") or (get("name") if get("id") else None)
    return {
        "id": template_id,
        "title": str(title or template_id.replace("_", " ").capitalize()),
        "fields": [_field(f) for f in get("fields") or []],
    }


class WriterBackend:
    """The real text-generation core (``studio.core.generation.text_jobs`` and ``templates``)."""

    device = "cpu"

    def available(self) -> bool:
        import importlib.util

        try:
            return importlib.util.find_spec("studio.core.generation.text_jobs") is not None
        except (ImportError, ValueError):
            return False

    # -- listing (no torch) -------------------------------------------------------------------------------
    def list_models(self, project_root: Path | None) -> list[dict]:
        from studio.core.generation.run_models import starter_folders
        from studio.core.training import runs

        found = []
        for info in runs.list_runs(project_root) if project_root is not None else ():
            described = describe_folder(info.folder)
            if described is not None:
                found.append(described)
        for folder in starter_folders():  # shipped models: the writer writes before any training
            described = describe_folder(folder, "starter")
            if described is not None:
                found.append(described)
        return found

    def templates(self) -> list[dict]:
        """The core's templates in the panel's shape; none when the templates module is not installed."""
        try:
            from studio.core.generation import templates
        except ImportError:
            return []
        lister = getattr(templates, "template_list", None) or templates.list_templates
        raw = lister()
        if isinstance(raw, dict):
            return [normalize_template(value, key) for key, value in raw.items()]
        return [normalize_template(value) for value in raw]

    def build_prompt(self, template_id: str, fields: dict) -> str:
        from studio.core.generation import templates

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
        self.title = f"Writing {self.variants} variant{'s' if self.variants != 1 else ''}"

    def __call__(self, ctx: JobContext) -> dict:
        from studio.core.generation.sampling import SamplingSettings
        from studio.core.generation.text_jobs import GenerateText
        from studio.core.training.devices import threads_beside_a_window, torch_threads

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

    def __init__(self, backend, root: Path | None) -> None:
        self.backend, self.root = backend, root

    def __call__(self, ctx: JobContext) -> dict:
        return {
            "available": bool(self.backend.available()),
            "models": list(self.backend.list_models(self.root)),
            "templates": list(self.backend.templates()),
            "history": list(self.backend.load_history(self.root)),
        }
