"""The job the Text writer runs in a worker (and the CLI and tests run directly): write one or more variants.

:class:`GenerateText` streams: every new piece of text (whole characters, see :mod:`.sampling`) is reported
as ``ctx.metrics({"variant": i, "text": piece})`` the moment it exists — the Qt worker throttles those
reports and the panel appends them — and ``ctx.check()`` runs before every token, so Stop takes effect
within one token (a few milliseconds on a CPU) and a pause holds generation between two tokens.

Variants are seeds ``seed .. seed+n-1`` of the same settings, written one after the other: side by side in
the panel, and each one regenerates on its own with its seed.

Loaded models stay in a small cache, keyed like the image jobs' (run folder, step, device, the weight file's
size and modification time): a writer presses Generate again and again on the same checkpoint, and loading
(reading weights, the tokenizer, building the token-bytes table) would otherwise precede every click.
"""

from __future__ import annotations

from pathlib import Path

from studio.core.generation.run_models import ModelCache
from studio.core.generation.sampling import MAX_SEED, SamplingSettings, stream, variant_settings
from studio.core.generation.text_model import TextModel, load_text_model, read_text_config
from studio.core.jobs import JobContext, JobError

CACHE_SIZE = 2
MAX_VARIANTS = 8
_models = ModelCache(read_text_config, load_text_model, CACHE_SIZE)


def cached_text_model(run_folder: str | Path, step: int | None = None, device: str = "cpu") -> TextModel:
    """The model at ``step`` (newest when None) of a text run, loaded once and then served from the cache."""
    return _models.get(run_folder, step, device)


def clear_cache() -> None:
    _models.clear()


def check_variants(variants, seed: int = 0) -> int:
    if isinstance(variants, bool) or not isinstance(variants, int) or not 1 <= variants <= MAX_VARIANTS:
        raise JobError(f"The number of variants must be a whole number from 1 to {MAX_VARIANTS}, not {variants!r}.")
    if seed + variants - 1 > MAX_SEED:
        raise JobError(f"With {variants} variants the seed must be at most {MAX_SEED - variants + 1:,}.")
    return variants


class GenerateText:
    """Write ``variants`` texts after ``prompt``: {"texts", "run_id", "step", "seeds", "finish", "required",
    "tokens", "settings"} (lists have one entry per variant; "required" maps each required word to whether
    that variant contains it)."""

    title = "Write text"
    kind = "generate"

    def __init__(
        self,
        run_folder: str | Path,
        prompt: str,
        settings: SamplingSettings | None = None,
        step: int | None = None,
        variants: int = 1,
        device: str = "cpu",
    ) -> None:
        self.run_folder, self.prompt, self.step = Path(run_folder), str(prompt), step
        self.settings = settings or SamplingSettings()
        self.variants, self.device = variants, device

    def __call__(self, ctx: JobContext) -> dict:
        settings = self.settings.checked()
        variants = check_variants(self.variants, settings.seed)
        ctx.progress(0.0, "Loading the model…")
        model = cached_text_model(self.run_folder, self.step, self.device)
        ctx.check()
        total = variants * settings.max_tokens
        results = []
        for i in range(variants):
            ctx.progress(i * settings.max_tokens / total, f"Writing variant {i + 1} of {variants}…")
            generation = stream(model, self.prompt, variant_settings(settings, i), check=ctx.check)
            for piece in generation:
                ctx.metrics({"variant": i, "text": piece})
                ctx.progress(
                    (i * settings.max_tokens + generation.tokens) / total, f"Writing variant {i + 1} of {variants}…"
                )
            results.append(generation.summary())
        ctx.progress(1.0, "Done")
        return {
            "texts": [r["text"] for r in results],
            "run_id": model.run_id,
            "step": model.step,
            "seeds": [r["seed"] for r in results],
            "finish": [r["finish"] for r in results],
            "required": [r["required"] for r in results],
            "tokens": [r["tokens"] for r in results],
            "settings": settings.to_dict(),
        }
