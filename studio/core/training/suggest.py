"""Defaults that follow the data: which model family and which settings suit a dataset, before the user chooses.

A designer who imports pictures, copy or recordings should see a sensible model already picked: the image GAN at
the size the pictures were prepared at, a character-level writer for a few pages of copy, a voice when the clips
have transcripts. Two steps, so each is easy to test and reuse (the Training panel, the CLI):

* :func:`read_facts` reads what the dataset already records — its manifest (each usable item's class label,
  picture size, character count, transcript) and its image caches' sidecars (the resolution a cache was built
  at) — into a :class:`DatasetFacts`. It reads files only: no decoding, no torch, no Qt.
* :func:`suggest` turns facts into a :class:`Suggestion` (a family id and the settings that differ by data) using
  the family table (:func:`studio.core.training.families.available`): only families that train on the dataset's
  kind, and of those the first one a creation panel opens, since a family no panel opens (the "reference"
  autoencoder) makes nothing new and exists to check the data path; a family made for small sets comes first for
  a dataset under its ``recommended_below`` items (the lightweight GAN below ~5,000 pictures), a field of the
  table rather than an ``if`` here. Settings are only proposed for keys the
  family has (``resolution``, ``conditional``, ``tokenizer``), so a family registered later gets the same
  treatment without a line here.

Nothing here is a rule the user cannot override: the panel applies a suggestion only until the user makes their
own choice for that dataset.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from studio.core import words
from studio.core.datasets.base import AUDIO, IMAGE, KINDS, TEXT
from studio.core.datasets.cache_common import cache_root, manifest_fingerprint
from studio.core.datasets.manifest import Manifest
from studio.core.jobs import JobError
from studio.core.training import families
from studio.core.training.families import FamilySpec

# Below this many characters of training text the character tokenizer is suggested, above it byte-level BPE.
# Why ~1 MB: a BPE vocabulary of 4,096 pieces (the text families' vocab_size) at ~3.5 characters a piece needs
# about a million characters before each piece is seen a few dozen times; on less text most merges are rare and
# the model wastes capacity on tokens it barely sees, while a character model has every symbol many times over.
# Above it BPE packs ~3-4x more text into the same context window (see families._TEXT_COMMON).
CHAR_TOKENIZER_MAX_CHARS = 1 << 20

# A family whose network makes this from text learns to read aloud: it needs clips with transcripts.
READS_TEXT = "mel"

# Most clips must have a transcript before a voice is suggested: trained on half its clips a voice learns from
# too little of the speech, and a vocoder trains on every clip, transcripts or not.
TRANSCRIBED_SHARE = 0.5

ITEM_NOUNS = {IMAGE: "picture", TEXT: "text", AUDIO: "clip"}  # what a dataset's items are called in a reason


@dataclass(frozen=True)
class DatasetFacts:
    """What a dataset is, as far as choosing a model goes. ``None`` means "not recorded", not zero."""

    kind: str
    items: int = 0  # usable items (ok or fixed, not excluded)
    classes: int = 0  # distinct class labels among them (folder names at import)
    cache_resolution: int | None = None  # the image cache's size (the current one, else the newest)
    typical_side: int | None = None  # median shorter side of the usable pictures, in pixels
    characters: int | None = None  # text: characters of all usable items
    transcribed: int = 0  # audio: usable clips with a transcript


@dataclass(frozen=True)
class Suggestion:
    """A family id (None when no family trains on the kind) and settings overrides, with the reasons in words."""

    family: str | None
    settings: dict = field(default_factory=dict)
    reasons: tuple[str, ...] = ()


# -- reading a dataset's facts ---------------------------------------------------------------------------------------
def read_facts(dataset_folder: str | Path) -> DatasetFacts:
    """The facts of the dataset in ``dataset_folder`` from its manifest and cache sidecars.

    Raises :class:`JobError` (in plain words) when the manifest cannot be read. A damaged or foreign cache sidecar
    is ignored: it only means no cache resolution is known.
    """
    folder = Path(dataset_folder)
    manifest = Manifest.load(folder)
    if manifest.kind not in KINDS:
        raise JobError(f"The dataset “{manifest.name}” has an unknown kind ({manifest.kind}).")
    usable = manifest.usable()
    labels = {e["label"] for e in usable if isinstance(e.get("label"), str) and e["label"]}
    facts: dict = {"kind": manifest.kind, "items": len(usable), "classes": len(labels)}
    if manifest.kind == IMAGE:
        facts["cache_resolution"] = image_cache_resolution(folder, manifest_fingerprint(usable))
        facts["typical_side"] = _typical_side(usable)
    elif manifest.kind == TEXT:
        facts["characters"] = _characters(usable)
    elif manifest.kind == AUDIO:
        facts["transcribed"] = sum(1 for e in usable if isinstance(e.get("transcript"), str) and e["transcript"])
    return DatasetFacts(**facts)


def image_cache_resolution(dataset_folder: str | Path, fingerprint: str | None = None) -> int | None:
    """The resolution of the dataset's image cache: of a cache built from the current items (``fingerprint``
    matches its sidecar) if there is one, else of the newest one; None when there is none.

    Only the sidecars (``cache/images_<res>_<fit>.json``) are read, never the pixel data.
    """
    candidates = []  # (current, modified, resolution)
    for sidecar in cache_root(dataset_folder).glob("images_*_*.json"):
        try:
            info = json.loads(sidecar.read_text(encoding="utf-8"))
            modified = sidecar.stat().st_mtime
        except (OSError, ValueError):
            continue
        if not isinstance(info, dict) or info.get("kind") != IMAGE or not isinstance(info.get("params"), dict):
            continue
        resolution = info["params"].get("resolution")
        if not isinstance(resolution, int) or isinstance(resolution, bool):
            continue
        candidates.append((fingerprint is not None and info.get("fingerprint") == fingerprint, modified, resolution))
    return max(candidates)[2] if candidates else None


def _typical_side(entries: list[dict]) -> int | None:
    """Median shorter side of the pictures the import measured (``meta.width`` / ``meta.height``)."""
    sides = []
    for entry in entries:
        meta = entry.get("meta")
        meta = meta if isinstance(meta, dict) else {}
        width, height = meta.get("width"), meta.get("height")
        if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
            sides.append(min(width, height))
    return int(statistics.median(sides)) if sides else None


def _characters(entries: list[dict]) -> int | None:
    """Characters of the text the import measured (``meta.characters``); an item without that count is taken at
    its file size in bytes, which is within a factor of ~3 for UTF-8 text (what the threshold can tolerate)."""
    total, known = 0, False
    for entry in entries:
        meta = entry.get("meta")
        count = meta.get("characters") if isinstance(meta, dict) else None
        if not isinstance(count, int):
            count = entry.get("size")
        if isinstance(count, int) and count >= 0:
            total, known = total + count, True
    return total if known else None


# -- from facts to a suggestion --------------------------------------------------------------------------------------
def suggest(facts: DatasetFacts, specs: Iterable[FamilySpec] | None = None) -> Suggestion:
    """The family and settings to preselect for a dataset with ``facts`` (``specs``: the family table by default)."""
    spec = suggest_family(facts, specs)
    if spec is None:
        return Suggestion(None, {}, (f"No model trains on {facts.kind} datasets yet.",))
    settings, reasons = settings_for(facts, spec)
    return Suggestion(spec.id, settings, (*_family_reasons(facts, spec), *reasons))


def suggest_family(facts: DatasetFacts, specs: Iterable[FamilySpec] | None = None) -> FamilySpec | None:
    """The first family (in the table's order) that trains on the kind and that a creation panel opens; for audio,
    one that reads text aloud only when most clips have transcripts, else one that does not. A family made for
    small sets (:attr:`FamilySpec.recommended_below <studio.core.training.families.FamilySpec.recommended_below>`
    above the item count) comes first, the one with the smallest such bound when several claim the dataset."""
    table = list(families.available() if specs is None else specs)
    fitting = [s for s in table if facts.kind in s.kinds]
    makers = [s for s in fitting if s.panel is not None] or fitting
    if facts.kind == AUDIO:
        voice = facts.items > 0 and facts.transcribed / facts.items > TRANSCRIBED_SHARE
        preferred = [s for s in makers if _reads_text(s) == voice]
        makers = preferred or makers
    small = sorted((s for s in makers if _made_for(facts, s)), key=lambda s: s.recommended_below)
    makers = small + [s for s in makers if s not in small]
    return makers[0] if makers else None


def _made_for(facts: DatasetFacts, spec: FamilySpec) -> bool:
    """Whether ``spec`` is a family for small sets and the dataset is small enough for it."""
    return facts.items < spec.recommended_below


def settings_for(facts: DatasetFacts, spec: FamilySpec) -> tuple[dict, tuple[str, ...]]:
    """Settings of ``spec`` that follow the data, and why. Only keys the family has are proposed."""
    defaults = dict(spec.defaults)
    settings: dict = {}
    reasons: list[str] = []
    if "resolution" in defaults and spec.resolutions:
        size = _resolution(facts, spec)
        if size is not None:
            settings["resolution"] = size
            reasons.append(
                f"{size} px: the size its training cache was prepared at"
                if size == facts.cache_resolution
                else f"{size} px: its pictures are about {facts.typical_side} px"
            )
    if "conditional" in defaults:
        settings["conditional"] = facts.classes >= 2
        if facts.classes < 2:
            reasons.append("one class only, so pictures are not made per class")
    if "tokenizer" in defaults and facts.characters is not None:
        small = facts.characters < CHAR_TOKENIZER_MAX_CHARS
        settings["tokenizer"] = "char" if small else "bpe"
        characters = words.count(facts.characters, "character")
        reasons.append(f"{'character' if small else 'word-piece (BPE)'} tokens for {characters} of text")
    return settings, tuple(reasons)


def _resolution(facts: DatasetFacts, spec: FamilySpec) -> int | None:
    """The cache's size when the family trains at it; else the family's default size, lowered to the largest size
    the typical picture still fills (a 40 px picture trains at 32 px rather than being blown up to 64)."""
    sizes = sorted(int(s) for s in spec.resolutions)
    if facts.cache_resolution in sizes:
        return facts.cache_resolution
    if facts.typical_side is None:
        return None
    default = int(spec.defaults["resolution"])
    fitting = [s for s in sizes if s <= min(default, facts.typical_side)]
    return fitting[-1] if fitting else sizes[0]


def _reads_text(spec: FamilySpec) -> bool:
    return spec.generator is not None and spec.generator.makes == READS_TEXT


def _family_reasons(facts: DatasetFacts, spec: FamilySpec) -> tuple[str, ...]:
    if facts.kind == AUDIO:
        have = words.verb(facts.transcribed, "has a transcript", "have transcripts")
        share = f"{words.of(facts.transcribed, facts.items, 'clip')} {have}"
        return (f"{spec.title}: {share}",)
    if _made_for(facts, spec):
        items = words.count(facts.items, ITEM_NOUNS.get(facts.kind, "item"))
        return (f"{spec.title}: {items}, fewer than {spec.recommended_below:,}",)
    return (f"{spec.title} for {facts.kind} datasets",)
