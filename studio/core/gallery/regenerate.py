"""Make a gallery item again from its settings, and say whether it came out identical to the stored file.

Where the generators are deterministic the result is the same bytes' worth of content on the machine that made it:

* a picture replays its canonical chunk (:func:`studio.core.generation.png_settings.regenerate`);
* a text replays each variant with the seed and required-word steer of the try that was kept (the same
  :func:`~studio.core.generation.sampling.stream` call :class:`~studio.core.generation.text_jobs.GenerateText`
  made), so the time-bounded "write it again" rounds need not be replayed;
* a clip speaks the script again with the same voice, checkpoint, vocoder, settings and pronunciation entries.

"identical" compares with the stored file (pixels; text as the writer shows it, leading whitespace aside; 16-bit
samples). It is False when the stored text was edited by hand, when the run has trained on and the item named no
step, or on another kind of CPU or a GPU (other kernels round differently). What cannot be made again (the model was
deleted, a picture that was a reconstruction of the user's own photo) raises a plain JobError.

"exact" says whether the generator can reproduce the item bit for bit at all. Pictures, texts and trained voices
(seeded pre-net noise, zero-phase Griffin-Lim or a vocoder) can. The system voice cannot: espeak-ng carries its
pitch-flutter phase from one utterance to the next in a static counter (``Flutter_ix`` in its wavegen.c, never
reset) and draws breath noise from ``rand()``, so the same words come out a few samples longer or shorter each time
(measured: 40,288 to 40,301 samples for one sentence, four calls in one process). A Piper voice samples its own
noise inside the ONNX graph. For those, the clip is spoken again with the same voice and settings and
"identical" is False; the panel says "spoken again" rather than "identical".
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np

from studio.core.gallery.store import Gallery, GalleryItem
from studio.core.jobs import JobContext, JobError
from studio.core.safe_paths import resolve_inside, safe_name


class Regenerate:
    """Job: ``{"kind", "item", "identical", "exact"}`` (see the module docstring) plus, for a picture, "image" (uint8
    (R, R, 3), native size); for a text, "texts" (one per variant); for a clip, "samples" (float32) and
    "sample_rate"."""

    title = "Making it again"
    kind = "generate"

    def __init__(self, project_root: str | Path, item_id: str, device: str = "cpu") -> None:
        self.project_root, self.item_id, self.device = Path(project_root), item_id, device

    def __call__(self, ctx: JobContext | None = None) -> dict:
        ctx = ctx or JobContext()
        with Gallery(self.project_root) as gallery:
            item = gallery.get(self.item_id)
            if item is None:
                raise JobError("This item is no longer in the gallery (it was removed from the trash).")
            stored = [gallery.file_path(item, i) for i in range(len(item.files))]
        ctx.progress(0.0, "Loading the model…")
        make = {"image": _image, "text": _text, "audio": _audio}[item.kind]
        result = make(ctx, gallery.root, item, stored, self.device)
        ctx.progress(1.0, "Done")
        return {"kind": item.kind, "item": item.as_dict(), **result}


def _gone(item: GalleryItem, exc: JobError) -> JobError:
    what = {"image": "picture", "text": "text", "audio": "clip"}[item.kind]
    return JobError(
        f"This {what} cannot be made again: {exc} The kept copy in the gallery is unaffected; open it to use it."
    )


# -- pictures -------------------------------------------------------------------------------------------------------
def _image(ctx: JobContext, root: Path, item: GalleryItem, stored: list[Path], device: str) -> dict:
    from PIL import Image, UnidentifiedImageError

    from studio.core.generation import png_settings

    settings = item.settings
    try:
        model = png_settings.model_for_settings(root, settings, device)
    except JobError as exc:
        raise _gone(item, exc) from exc
    ctx.check()
    ctx.progress(0.3, "Regenerating…")
    try:
        image = png_settings.regenerate(root, settings, device, native=True, model=model)
        scale = settings.get("scale", 1)
        pixels = image if scale == 1 else png_settings.regenerate(root, settings, device, model=model)
    except (KeyError, TypeError, ValueError) as exc:
        raise JobError("The settings kept with this picture are incomplete, so it cannot be made again.") from exc
    identical = False
    if stored and stored[0].is_file():
        try:
            with Image.open(stored[0]) as picture:
                identical = np.array_equal(np.asarray(picture.convert("RGB")), pixels)
        except (OSError, UnidentifiedImageError, ValueError):
            identical = False
    return {"image": image, "identical": bool(identical), "exact": True}


# -- texts ----------------------------------------------------------------------------------------------------------
def _text(ctx: JobContext, root: Path, item: GalleryItem, stored: list[Path], device: str) -> dict:
    from studio.core.generation.sampling import SamplingSettings, stream
    from studio.core.generation.text_jobs import cached_text_model
    from studio.core.generation.text_model import resolve_text_run

    settings = item.settings
    if settings.get("continued"):
        raise JobError(
            "This text continued an earlier one from where you placed the cursor, so its settings alone cannot "
            "write it again; regenerate the generation it continued instead."
        )
    sampling, seeds, steers = settings.get("sampling"), settings.get("seeds"), settings.get("steers")
    if not isinstance(sampling, dict) or not isinstance(seeds, list) or not seeds:
        raise JobError("The settings kept with this text are incomplete, so it cannot be written again.")
    if not item.run_id or item.run_id == "latest":
        raise JobError("This text does not name the model that wrote it, so it cannot be written again.")
    try:
        folder = resolve_text_run(root, item.run_id)
        model = cached_text_model(folder, item.step, device)
    except JobError as exc:
        raise _gone(item, exc) from exc
    base = SamplingSettings.from_dict(sampling).checked()
    prompt = str(settings.get("prompt", ""))
    texts = []
    for i, seed in enumerate(seeds):
        ctx.check()
        ctx.progress(0.1 + 0.9 * i / len(seeds), f"Writing variant {i + 1} of {len(seeds)}…")
        steer = steers[i] if isinstance(steers, list) and i < len(steers) else base.required_boost
        tried = replace(base, seed=seed, required_boost=steer).checked()  # out-of-range values: a plain error
        generation = stream(model, prompt, tried, check=ctx.check)
        for _piece in generation:
            pass
        texts.append(generation.text.lstrip())  # the writer keeps leading whitespace aside ("lead")
    kept = [_read_text(path) for path in stored]
    identical = len(kept) == len(texts) and all(
        k is not None and k.lstrip() == t for k, t in zip(kept, texts, strict=False)
    )
    return {"texts": texts, "identical": bool(identical), "exact": True}


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


# -- clips ----------------------------------------------------------------------------------------------------------
def speech_voice(root: Path, voice: object) -> str:
    """The voice id to speak with, checked: a system voice as it is; a Piper voice only from inside the project
    (an item from a shared project must not load a model file from anywhere on this computer); a trained voice
    only as a plain run folder name."""
    if not isinstance(voice, str) or not voice or len(voice) > 1000:
        raise JobError("This clip does not name the voice that spoke it, so it cannot be spoken again.")
    if voice.startswith("system:"):
        return voice
    if voice.startswith("piper:") or voice.lower().endswith(".onnx"):
        path = resolve_inside(root, voice[len("piper:") :] if voice.startswith("piper:") else voice)
        if path is None:
            raise JobError(
                "This clip was spoken by a Piper voice outside this project; import that voice into the project "
                "(Speech panel, Import voice) to speak it again."
            )
        return f"piper:{path}"
    if safe_name(voice) != voice:
        raise JobError(f"“{voice[:80]}” is not a voice of this project, so the clip cannot be spoken again.")
    return voice


def _audio(ctx: JobContext, root: Path, item: GalleryItem, stored: list[Path], device: str) -> dict:
    import soundfile

    from studio.core.generation.speech_jobs import SynthesizeSpeech
    from studio.core.speech.wav import wav_bytes

    settings = item.settings
    voice = speech_voice(root, settings.get("voice"))
    dictionary = settings.get("dictionary")
    step, vocoder = settings.get("step"), settings.get("vocoder")
    try:
        job = SynthesizeSpeech(
            voice,
            str(settings.get("script", "")),
            project_root=root,
            rate=float(settings.get("rate", 1.0)),
            pitch=float(settings.get("pitch", 0.0)),
            volume=float(settings.get("volume", 1.0)),
            dictionary={str(k): str(v) for k, v in dictionary.items()} if isinstance(dictionary, dict) else {},
            step=step if isinstance(step, int) and not isinstance(step, bool) else None,
            vocoder=vocoder if isinstance(vocoder, str) and vocoder else None,
            device=device,
        )
    except (TypeError, ValueError) as exc:
        raise JobError("The settings kept with this clip are incomplete, so it cannot be spoken again.") from exc
    try:
        job.check()
    except JobError as exc:
        raise _gone(item, exc) from exc
    result = job(ctx)
    samples, rate = np.asarray(result["samples"], np.float32), int(result["sample_rate"])
    identical = False
    if stored and stored[0].is_file():
        try:
            again, again_rate = soundfile.read(io.BytesIO(wav_bytes(samples, rate)), dtype="int16")
            kept, kept_rate = soundfile.read(str(stored[0]), dtype="int16")
            identical = again_rate == kept_rate and np.array_equal(again, kept)
        except (OSError, RuntimeError, ValueError):  # soundfile's LibsndfileError is a RuntimeError
            identical = False
    exact = result.get("kind") == "trained"  # see the module docstring: espeak and Piper vary from call to call
    return {"samples": samples, "sample_rate": rate, "identical": bool(identical), "exact": exact}
