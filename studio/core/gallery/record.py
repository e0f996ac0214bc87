"""Turn what a creation panel made into gallery items: jobs, because they encode and write files (a 64-picture grid
is 64 PNGs) and must not run on the GUI thread.

Each job opens the project's :class:`~studio.core.gallery.store.Gallery`, adds its items in one transaction, closes
it, and returns ``{"items": [item.as_dict(), ...]}`` (plain values for a Qt signal).

What each item keeps is what :mod:`.regenerate` needs to make it again exactly:

* a picture: the settings :func:`~studio.core.generation.png_settings.encode_png` embeds in its PNG (run, step,
  seed, latent index, variations, class, truncation, scale), the PNG itself as the file;
* a writer generation: the prompt, the sampling settings, and per variant the seed and the required-word steer of
  the try that was kept (a variant written again for its must-use words has another seed, see
  :mod:`studio.core.generation.text_jobs`); one ``.txt`` per variant;
* a clip: the voice, the script, speed, pitch, volume, the checkpoint step and vocoder that spoke (resolved, not
  "newest"), and the pronunciation entries that apply to the script; the clip as a 16-bit WAV.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from studio.core import untrusted, words
from studio.core.gallery.store import Gallery, GalleryItem, created_from_timestamp
from studio.core.jobs import JobContext, JobError

WRITER_HISTORY = Path("outputs") / "writer" / "history.json"
WRITER_IMPORTED = "imported:writer-history"  # the meta key of the one-time import
HISTORY_CAP = 16 * 2**20  # bytes of history.json read (the writer keeps 100 entries of a few KB)
TITLE_WORDS = 48  # characters of a prompt or script shown as a title


def first_words(text: str, limit: int = TITLE_WORDS) -> str:
    """The start of ``text`` on one line, cut at ``limit`` characters with an ellipsis."""
    line = " ".join(str(text or "").split())
    return (line[:limit].rstrip() + "…") if len(line) > limit else line


# -- pictures -------------------------------------------------------------------------------------------------------
def image_title(settings: dict) -> str:
    """ "Seed 42 · image 3" (one-based, as the canvas counts), "Seed 42 · image 3 · variation 2", "Walk · frame 5",
    with the class first when the model has classes."""
    source = settings.get("source", "grid")
    try:
        if source in ("grid", "variation"):
            title = f"Seed {settings.get('seed')} · image {int(settings.get('latent_index') or 0) + 1}"
            for variation in settings.get("variations") or []:
                title += f" · variation {int(variation['index']) + 1}"
        elif source == "walk":
            title = f"Walk · frame {int(settings.get('frame') or 0) + 1}"
        elif source == "reconstruction":
            title = f"Reconstruction · {settings.get('input', 'picture')}"
        elif source == "transfer":  # the canvas's Transfer mode: "photos → ink · street.png"
            title = f"{settings['from_style']} → {settings['to_style']} · {settings.get('input', 'picture')}"
        else:
            title = str(source).capitalize()
    except (KeyError, TypeError, ValueError):
        title = str(source).capitalize()
    return f"{settings['class']} · {title}" if settings.get("class") is not None else title


def image_records(result: dict, check: Callable[[], None] | None = None) -> list[dict]:
    """One :meth:`Gallery.add_many` record per picture of a GenerateGrid / GenerateVariations result; ``check``
    (a job's ``ctx.check``) runs before each PNG is encoded, so a cancel stops a large grid at once."""
    from studio.core.generation.png_settings import encode_png

    images, settings = result.get("images"), result.get("settings")
    if images is None or not isinstance(settings, list) or len(settings) != len(images):
        raise JobError("There are no pictures to keep: generate some first.")
    records = []
    for pixels, picture in zip(images, settings, strict=True):
        if check is not None:
            check()
        data, embedded = encode_png(np.asarray(pixels), dict(picture))
        title = image_title(embedded)
        run_id = str(embedded.get("run_id") or result.get("run_id") or "")
        step = embedded.get("step", result.get("step"))
        records.append(
            {
                "kind": "image",
                "panel": "image",
                "settings": embedded,
                "run_id": run_id,
                "step": step if isinstance(step, int) else None,
                "title": title,
                "text": f"{title}\n{run_id}",
                "payloads": [(".png", data)],
            }
        )
    return records


class RecordImages:
    """Job: keep every picture of an image job's result (``{"images": uint8 (N, R, R, 3), "settings": [one per
    image], "run_id", "step", ...}``) as one item each, in one transaction: ``{"items": [...]}``."""

    title = "Keeping the pictures"
    kind = "task"

    def __init__(self, project_root: str | Path, result: dict) -> None:
        self.project_root, self.result = Path(project_root), result

    def __call__(self, ctx: JobContext | None = None) -> dict:
        ctx = ctx or JobContext()
        images = self.result.get("images")
        count = len(images) if images is not None else 0
        ctx.progress(0.0, f"Keeping {words.count(count, 'picture')}…")
        records = image_records(self.result, ctx.check)
        with Gallery(self.project_root) as gallery:
            items = gallery.add_many(records)
        ctx.progress(1.0, f"Kept {words.count(len(items), 'picture')}")
        return {"items": [item.as_dict() for item in items]}


# -- writer generations ---------------------------------------------------------------------------------------------
def _dict(entry: dict, key: str) -> dict:
    value = entry.get(key)
    return value if isinstance(value, dict) else {}


def _list(entry: dict, key: str) -> list:
    value = entry.get(key)
    return value if isinstance(value, list) else []


def writer_title(entry: dict) -> str:
    """The writer history's own title: the template and its product, or the prompt's first words."""
    fields = _dict(entry, "fields")
    if entry.get("template_title"):
        subject = fields.get("product") or next((v for v in fields.values() if v), "")
        return f"{entry['template_title']}" + (f" · {subject}" if subject else "")
    return first_words(str(entry.get("prompt", ""))) or "Empty prompt"


def kept_steer(sampling: dict, variant: int, seed: int, variants: int) -> float:
    """The required-word boost the try with ``seed`` of ``variant`` was written with. Try ``k`` of variant ``i``
    has seed ``seed + i + k * variants`` and boost ``max(user's, STEER_STEP * k)`` (text_jobs.retry_settings), so
    the seed says which try was kept."""
    from studio.core.generation.sampling import MAX_BOOST, MAX_SEED
    from studio.core.generation.text_jobs import STEER_STEP

    try:
        base, boost = int(sampling.get("seed", 0)), float(sampling.get("required_boost", 0.0) or 0.0)
    except (TypeError, ValueError):
        return 0.0
    attempt, rest = divmod((seed - base - variant) % (MAX_SEED + 1), max(1, variants))
    if attempt == 0 or rest or not sampling.get("enforce_required"):
        return boost
    return min(MAX_BOOST, max(boost, STEER_STEP * attempt))


def _int_or(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def text_record(entry: dict) -> dict | None:
    """The :meth:`Gallery.add_many` record of one writer history entry (see the writer's
    studio/ui/widgets/writer/history.py), or None when it holds no text."""
    texts = entry.get("texts")
    if not isinstance(texts, list) or not any(isinstance(t, str) and t.strip() for t in texts):
        return None
    texts = [t if isinstance(t, str) else "" for t in texts]
    sampling = _dict(entry, "settings")
    variants = len(texts)
    base = _int_or(sampling.get("seed"), 0)
    given = _list(entry, "seeds")
    seeds = [_int_or(given[i] if i < len(given) else None, base + i) for i in range(variants)]
    steers = _list(entry, "steers")
    if len(steers) != variants:
        steers = [kept_steer(sampling, i, seeds[i], variants) for i in range(variants)]
    leads = _list(entry, "leads")
    prompt = str(entry.get("prompt", ""))
    run_id, step = entry.get("run_id"), entry.get("step")
    settings = {
        "source": "writer",
        "prompt": prompt,
        "sampling": dict(sampling),
        "variants": variants,
        "seeds": seeds,
        "steers": [float(s) if isinstance(s, (int, float)) else 0.0 for s in steers],
        "leads": [str(lead) if isinstance(lead, str) else "" for lead in leads[:variants]],
        "template": str(entry.get("template") or ""),
        "template_title": str(entry.get("template_title") or ""),
        "fields": {str(k): str(v) for k, v in _dict(entry, "fields").items()},
        "state": str(entry.get("state") or "done"),
        "continued": bool(entry.get("continued")),
        "writer_id": str(entry.get("id") or ""),
    }
    return {
        "kind": "text",
        "panel": "text",
        "settings": settings,
        "run_id": run_id if isinstance(run_id, str) else "",
        "step": step if isinstance(step, int) and not isinstance(step, bool) and step >= 0 else None,
        "title": writer_title(entry),
        "text": prompt + "\n\n" + "\n\n".join(texts),
        "payloads": [(".txt", text.encode("utf-8")) for text in texts],
        "created": created_from_timestamp(entry["time"]) if isinstance(entry.get("time"), (int, float)) else None,
    }


class RecordText:
    """Job: keep one writer generation (the writer's history entry: ``{"id", "time", "run_id", "step",
    "template", "template_title", "fields", "prompt", "settings", "variants", "texts", "state"}`` plus, when the
    writer has them, "seeds", "leads" and "steers") as one item with one .txt per variant: ``{"items": [...]}``.

    ``step`` should be the checkpoint step that wrote it (the generation result's "step"); None regenerates with
    the run's newest checkpoint."""

    title = "Keeping the text"
    kind = "task"

    def __init__(self, project_root: str | Path, entry: dict) -> None:
        self.project_root, self.entry = Path(project_root), dict(entry)

    def __call__(self, ctx: JobContext | None = None) -> dict:
        record = text_record(self.entry)
        if record is None:
            return {"items": []}
        with Gallery(self.project_root) as gallery:
            items = gallery.add_many([record])
        return {"items": [item.as_dict() for item in items]}


def import_writer_history(project_root: str | Path) -> int:
    """Bring the writer's old history (outputs/writer/history.json) into the gallery, once per project: the import
    is marked done in the gallery's meta table in the same transaction that adds the items, so a second call
    (or a second window at the same moment) adds nothing. Returns how many generations were imported."""
    root = Path(project_root)
    with Gallery(root) as gallery:
        if gallery.is_done(WRITER_IMPORTED):
            return 0
        known = gallery.setting_values("writer_id", panel="text")  # entries the writer already kept itself
        entries = [e for e in _history_entries(root) if str(e.get("id") or "") not in known or not e.get("id")]
        records = [r for r in (text_record(e) for e in reversed(entries)) if r is not None]  # oldest first
        return len(gallery.add_many(records, once=WRITER_IMPORTED))  # marked done even when there was nothing


def _history_entries(root: Path) -> list[dict]:
    path = root / WRITER_HISTORY
    if not path.is_file():
        return []
    try:
        data = untrusted.read_json(path, HISTORY_CAP, "the writer history")
    except (OSError, ValueError, JobError):
        return []  # a damaged history is not worth blocking the gallery over; the file stays for the writer
    entries = data.get("entries") if isinstance(data, dict) else None
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


# -- speech ---------------------------------------------------------------------------------------------------------
def used_entries(entries: dict, script: str) -> dict[str, str]:
    """The pronunciation entries that can change how ``script`` is spoken: those whose word occurs in it as a
    whole word (case-insensitive, as :class:`~studio.core.speech.pronunciation.Dictionary` matches). An entry that
    matches nowhere never takes part in the dictionary's one-pass substitution, so dropping it changes nothing."""
    from studio.core.speech.pronunciation import Dictionary
    from studio.core.speech.text import split_sentences

    clean = Dictionary({str(k): str(v) for k, v in entries.items()}).entries
    texts = [script, *split_sentences(script)]  # sentences are re-spaced; a multi-word entry may match only there
    found = {}
    for word, value in clean.items():
        pattern = re.compile(r"(?<!\w)" + re.escape(word) + r"(?!\w)", re.IGNORECASE)
        if any(pattern.search(text) for text in texts):
            found[word] = value
    return found


def portable_voice(voice: str, project_root: Path) -> str:
    """A voice id as the gallery keeps it: a Piper voice inside the project by its project-relative path (the
    project may move), everything else unchanged."""
    if voice.startswith("piper:") or voice.lower().endswith(".onnx"):
        path = Path(voice[len("piper:") :] if voice.startswith("piper:") else voice)
        try:
            return "piper:" + path.resolve().relative_to(project_root.resolve()).as_posix()
        except (ValueError, OSError):
            return f"piper:{path}"
    return voice


def _number(settings: dict, key: str, default: float) -> float:
    try:
        value = float(settings.get(key, default))
    except (TypeError, ValueError):
        return default
    return value if value == value else default  # NaN: the default


def speech_record(project_root: Path, result: dict, settings: dict) -> dict:
    """The :meth:`Gallery.add_many` record of one synthesis (see :class:`RecordSpeech`)."""
    from studio.core.speech.pronunciation import load_dictionary
    from studio.core.speech.wav import wav_bytes

    samples, rate = result.get("samples"), result.get("sample_rate")
    if samples is None or not isinstance(rate, int) or rate <= 0:
        raise JobError("There is no clip to keep: press Synthesize first.")
    script = str(settings.get("text", settings.get("script", "")) or "")
    if not script:
        script = " ".join(str(s.get("text", "")) for s in result.get("sentences") or [] if isinstance(s, dict))
    voice = portable_voice(str(settings.get("voice") or result.get("voice") or ""), project_root)
    dictionary = settings.get("dictionary")
    entries = dictionary if isinstance(dictionary, dict) else load_dictionary(project_root).entries
    trained = result.get("kind") == "trained"
    step = result.get("step") if trained else settings.get("step")
    stored = {
        "source": "speech",
        "voice": str(result.get("run_id")) if trained and result.get("run_id") else voice,
        "voice_kind": str(result.get("kind") or ""),
        "voice_title": str(result.get("voice_title") or settings.get("voice_title") or ""),
        "script": script,
        "rate": _number(settings, "rate", 1.0),
        "pitch": _number(settings, "pitch", 0.0),
        "volume": _number(settings, "volume", 1.0),
        "step": step if isinstance(step, int) and not isinstance(step, bool) else None,
        "vocoder": result.get("vocoder") if trained else settings.get("vocoder"),
        "dictionary": used_entries(entries, script),
        "sample_rate": rate,
        "duration": round(len(np.asarray(samples).reshape(-1)) / rate, 3),
    }
    return {
        "kind": "audio",
        "panel": "speech",
        "settings": stored,
        "run_id": stored["voice"],
        "step": stored["step"],
        "title": first_words(script) or "Clip",
        "text": script,
        "payloads": [(".wav", wav_bytes(np.asarray(samples, np.float32), rate))],
    }


class RecordSpeech:
    """Job: keep one synthesis as an item with a 16-bit WAV: ``{"items": [...]}``.

    ``result`` is :class:`~studio.core.generation.speech_jobs.SynthesizeSpeech`'s (samples, sample_rate, voice,
    kind, and for a trained voice run_id, step and vocoder); ``settings`` what the panel spoke it with: "voice",
    "text" (the script; "script" is read too), "rate", "pitch", "volume", "dictionary" (the entries passed to the
    job; absent = the project's), "step" and "vocoder"."""

    title = "Keeping the clip"
    kind = "task"

    def __init__(self, project_root: str | Path, result: dict, settings: dict) -> None:
        self.project_root, self.result, self.settings = Path(project_root), result, dict(settings)

    def __call__(self, ctx: JobContext | None = None) -> dict:
        record = speech_record(self.project_root, self.result, self.settings)
        with Gallery(self.project_root) as gallery:
            items = gallery.add_many([record])
        return {"items": [item.as_dict() for item in items]}


def items_of(result: dict) -> list[GalleryItem]:
    """The items a record job returned, as :class:`GalleryItem` again."""
    return [GalleryItem.from_dict(values) for values in result.get("items") or []]
