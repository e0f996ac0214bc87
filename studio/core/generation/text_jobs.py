"""The job the Text writer runs in a worker (and the CLI and tests run directly): write one or more variants.

:class:`GenerateText` streams: every new piece of text (whole characters, see :mod:`.sampling`) is reported
as ``ctx.metrics({"variant": i, "text": piece})`` the moment it exists — the Qt worker throttles those
reports and the panel appends them — and ``ctx.check()`` runs before every token, so Stop takes effect
within one token (a few milliseconds on a CPU) and a pause holds generation between two tokens.

Variants are seeds ``seed .. seed+n-1`` of the same settings, written one after the other: side by side in
the panel, and each one regenerates on its own with its seed.

Must-use words, enforced. With ``settings.enforce_required`` and required words, a variant that lacks one
(matched as the writer's chips match them: :func:`~studio.core.generation.sampling.missing_words`) is written
again, in rounds: every variant is written once, then each variant still missing a word is written again with a
new seed, steered a little harder toward the missing words each round (``required_boost`` grows by
:data:`STEER_STEP`), until every variant has every word, a variant has had :data:`ENFORCE_TRIES` tries, or
:data:`ENFORCE_SECONDS` have passed since the first round ended (a try once started is finished). Rounds rather
than one variant at a time, so a hard first variant cannot spend the time the others needed. Retry seeds are
``seed + i + k * variants`` (try ``k`` of variant ``i``), so no two variants ever share a seed. A variant whose
tries all miss keeps the try that missed the fewest words (the earliest of equals), and the result says which
words each variant still lacks, for the panel to report plainly.

Every new try is announced before its text as ``ctx.metrics({"variant": i, "restart": True, "seed": s,
"steer": boost, "try": k + 1, "missing": [...], "text": ""})``: the panel clears that column and streams the
new try into it. When an earlier try wins in the end, one more restart carries its whole text.

Loaded models stay in a small cache, keyed like the image jobs' (run folder, step, device, the weight file's
size and modification time): a writer presses Generate again and again on the same checkpoint, and loading
(reading weights, the tokenizer, building the token-bytes table) would otherwise precede every click.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from studio.core.generation.run_models import ModelCache
from studio.core.generation.sampling import (
    MAX_BOOST,
    MAX_SEED,
    SamplingSettings,
    missing_words,
    stream,
    variant_settings,
)
from studio.core.generation.text_model import TextModel, load_text_model, read_text_config
from studio.core.jobs import JobContext, JobError

CACHE_SIZE = 2
MAX_VARIANTS = 8
ENFORCE_TRIES = 8  # tries per variant when must-use words are enforced, the first included
ENFORCE_SECONDS = 60.0  # the most time spent writing variants again, after the first round
STEER_STEP = 3.0  # how much more each new try boosts the tokens that lead to a missing word
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


def retry_settings(settings: SamplingSettings, variant: int, attempt: int, variants: int) -> SamplingSettings:
    """Try ``attempt`` (0 = the first) of variant ``variant``: its own seed first, then seeds no other variant
    uses, each steered more toward the missing words than the last (never less than the user's own boost)."""
    if attempt == 0:
        return variant_settings(settings, variant)
    seed = (settings.seed + variant + attempt * variants) % (MAX_SEED + 1)
    boost = min(MAX_BOOST, max(settings.required_boost, STEER_STEP * attempt))
    return replace(settings, seed=seed, required_boost=boost)


class GenerateText:
    """Write ``variants`` texts after ``prompt``: {"texts", "run_id", "step", "seeds", "finish", "required",
    "missing", "tries", "steer", "tokens", "settings"} (lists have one entry per variant; "required" maps each
    required word to whether that variant contains it, "missing" lists the required words it lacks as whole
    words, "tries" how many times it was written, "steer" the required-word boost of the try kept)."""

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
        tries: int = ENFORCE_TRIES,
        seconds: float = ENFORCE_SECONDS,
    ) -> None:
        self.run_folder, self.prompt, self.step = Path(run_folder), str(prompt), step
        self.settings = settings or SamplingSettings()
        self.variants, self.device = variants, device
        self.tries, self.seconds = max(1, int(tries)), float(seconds)

    def __call__(self, ctx: JobContext) -> dict:
        settings = self.settings.checked()
        variants = check_variants(self.variants, settings.seed)
        ctx.progress(0.0, "Loading the model…")
        model = cached_text_model(self.run_folder, self.step, self.device)
        ctx.check()
        return self.write(ctx, model, settings, variants)

    def write(self, ctx: JobContext, model: TextModel, settings: SamplingSettings, variants: int) -> dict:
        """Every variant once, then (when enforced) the rounds of new tries; see the module docstring."""
        shown = [self._try(ctx, model, settings, i, variants, 0, None) for i in range(variants)]
        kept = list(shown)
        if settings.enforce_required and settings.required_words:
            deadline = time.monotonic() + self.seconds
            for attempt in range(1, self.tries):
                lacking = [i for i in range(variants) if kept[i]["missing"]]
                if not lacking or time.monotonic() >= deadline:
                    break
                for i in lacking:
                    if time.monotonic() >= deadline:
                        break
                    shown[i] = self._try(ctx, model, settings, i, variants, attempt, kept[i]["missing"])
                    if len(shown[i]["missing"]) < len(kept[i]["missing"]):
                        kept[i] = shown[i]
            for i in range(variants):
                if shown[i] is not kept[i]:  # an earlier try missed fewer words: it goes back on screen
                    ctx.metrics(self._restart(i, kept[i], kept[i]["text"]))
        ctx.progress(1.0, "Done")
        return {
            "texts": [r["text"] for r in kept],
            "run_id": model.run_id,
            "step": model.step,
            "seeds": [r["seed"] for r in kept],
            "finish": [r["finish"] for r in kept],
            "required": [r["required"] for r in kept],
            "missing": [r["missing"] for r in kept],
            "tries": [r["tries"] for r in shown],
            "steer": [r["steer"] for r in kept],
            "tokens": [r["tokens"] for r in kept],
            "settings": settings.to_dict(),
        }

    @staticmethod
    def _restart(variant: int, result: dict, text: str = "") -> dict:
        return {
            "variant": variant,
            "restart": True,
            "seed": result["seed"],
            "steer": result["steer"],
            "try": result["tries"],
            "missing": list(result["missing"]),
            "text": text,
        }

    def _try(
        self,
        ctx: JobContext,
        model: TextModel,
        settings: SamplingSettings,
        variant: int,
        variants: int,
        attempt: int,
        missing: list[str] | None,
    ) -> dict:
        """One try of one variant, streamed piece by piece: the generation's summary plus "missing", "tries"
        and "steer"."""
        tried = retry_settings(settings, variant, attempt, variants)
        if attempt:
            ctx.metrics(
                self._restart(
                    variant,
                    {"seed": tried.seed, "steer": tried.required_boost, "tries": attempt + 1, "missing": missing or []},
                )
            )
        what = f"Writing variant {variant + 1} of {variants}" + (
            f" again (try {attempt + 1} of {self.tries})…" if attempt else "…"
        )
        generation = stream(model, self.prompt, tried, check=ctx.check)
        ctx.progress(0.99 if attempt else variant / variants, what)  # how many tries follow is unknown
        for piece in generation:
            ctx.metrics({"variant": variant, "text": piece})
            if not attempt:
                ctx.progress((variant + generation.tokens / tried.max_tokens) / variants, what)
        summary = generation.summary()
        summary.update(
            missing=missing_words(summary["text"], tried.required_words),
            tries=attempt + 1,
            steer=tried.required_boost,
        )
        return summary
