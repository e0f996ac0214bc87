"""The transparency fix: keep a dataset's transparent pictures transparent, or flatten them onto white, black or a
colour the user picks, after they were imported.

The choice belongs to the dataset: it is recorded in the manifest's ``options`` (``transparency``: "flatten" or
"keep", ``background``: the colour) and, per picture, in ``meta["transparency"]`` ("kept" or "#RRGGBB") and in
its fixes ("transparency flattened onto black"), so the caches, the reports and later imports into the dataset
all know it (the panel imports more files with :meth:`ImportOptions.following` the recorded choice).

How each picture changes (one undoable :meth:`Manifest.replace` for all of them, options included, so Undo is
exact; earlier item files stay on disk, originals are never touched):

* **Kept → flattened**: the stored RGBA item is composited onto the colour. No original is needed: that is what
  keeping transparency buys.
* **Flattened → kept, or onto another colour**: the transparent pixels are gone from the stored item, so the
  original is read again (only while it is still the very file imported: same size and content hash, see
  :func:`studio.core.datasets.fixes.read_origin`) and normalized as an import with the new choice would.
  A picture whose original was moved or changed stays as it was, and the result names it.

Keeping is also decided at cache time: a cache needs RGB, so :mod:`studio.core.datasets.image_cache` composites
kept items onto the dataset's ``background`` when it is built, and a new colour only rebuilds the cache.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from studio.core import words
from studio.core.atomic import atomic_write_bytes
from studio.core.datasets import images
from studio.core.datasets.base import (
    FIXED,
    FLATTEN,
    IMAGE,
    KEEP_ALPHA,
    OK,
    SKIPPED,
    TRANSPARENCY_CHOICES,
    ImportOptions,
    clamp_colour,
    colour_name,
    recorded_transparency,
)
from studio.core.datasets.fixes import _next_item_name, read_origin
from studio.core.datasets.importer import IMPORT_LOCK
from studio.core.datasets.manifest import Manifest
from studio.core.jobs import JobContext, JobError
from studio.core.locks import LockHeld, ProcessLock

LOCK_WAIT_S = 5.0


def action_name(transparency: str, background: object = None) -> str:
    """The operation's name in the undo history and the Edit menu: "keep transparency" or "flatten onto black"."""
    if transparency == KEEP_ALPHA:
        return "keep transparency"
    return f"flatten onto {colour_name(background)}"


def record_for(transparency: str, background: object) -> str:
    """``meta["transparency"]`` a picture has once the choice is applied: "kept" or "#RRGGBB"."""
    if transparency == KEEP_ALPHA:
        return images.KEPT
    return "#{:02X}{:02X}{:02X}".format(*clamp_colour(background))


def is_transparent(entry: dict) -> bool:
    """A picture the studio imported (ok or fixed, excluded ones too: they may come back) that has transparent
    pixels, kept or flattened (also one imported before the choice existed, known by its fix)."""
    meta = entry.get("meta")
    return (
        entry.get("status") in (OK, FIXED)
        and bool(entry.get("item"))
        and (
            (isinstance(meta, dict) and isinstance(meta.get("transparency"), str))
            or any(str(f).startswith(images.FLATTENED) for f in entry.get("fixes") or [])
        )
    )


def current_record(entry: dict, recorded_background: tuple[int, int, int]) -> str:
    """``meta["transparency"]`` of a transparent picture; one imported before it was recorded was flattened onto
    the dataset's background ("transparency flattened onto background")."""
    meta = entry.get("meta")
    value = meta.get("transparency") if isinstance(meta, dict) else None
    return value if isinstance(value, str) else record_for(FLATTEN, recorded_background)


def transparent_ids(manifest: Manifest) -> list[str]:
    return [e["id"] for e in manifest.entries if is_transparent(e)] if manifest.kind == IMAGE else []


def describe(manifest: Manifest) -> str:
    """The dataset's choice in a few words for a button or a report: "kept", "on white", "on #336699"."""
    transparency, background = recorded_transparency(manifest.options)
    return "kept" if transparency == KEEP_ALPHA else f"on {colour_name(background)}"


@dataclass
class Outcome:
    changed: int = 0
    unchanged: int = 0  # already as asked
    failed: list[dict] = field(default_factory=list)  # {"id", "source", "reason"}: left as they were

    def as_dict(self) -> dict:
        return {"changed": self.changed, "unchanged": self.unchanged, "failed": self.failed}


def set_transparency(
    manifest: Manifest, transparency: str, background: object = None, ctx: JobContext | None = None
) -> Outcome:
    """Apply the choice to every transparent picture of ``manifest`` (see the module docstring) and record it in
    the manifest's options, as one undoable operation. ``background`` is the colour to flatten onto; for
    KEEP_ALPHA it may be None (the dataset's recorded colour stays, and the cache composites onto it). A
    cancelled run (``ctx.check``) leaves the manifest as it was; the caller saves it."""
    if manifest.kind != IMAGE:
        raise JobError("Transparency applies to picture datasets only.")
    if transparency not in TRANSPARENCY_CHOICES:
        raise JobError(f"“{transparency}” is not a transparency choice: use keep or flatten.")
    ctx = ctx or JobContext()
    _, recorded_background = recorded_transparency(manifest.options)
    colour = clamp_colour(background, recorded_background) if background is not None else recorded_background
    options = _import_options(manifest, transparency, colour)
    target = record_for(transparency, colour)
    chosen = [e for e in manifest.entries if is_transparent(e)]
    outcome = Outcome()
    updated: dict[str, dict] = {}
    for done, entry in enumerate(chosen):
        ctx.check()
        ctx.progress(done / max(len(chosen), 1), words.of(done + 1, len(chosen), "picture"))
        current = current_record(entry, recorded_background)
        if current == target:
            outcome.unchanged += 1
            continue
        try:
            updated[entry["id"]] = _changed(manifest, entry, options, current == images.KEPT, target)
        except JobError as exc:
            outcome.failed.append({"id": entry["id"], "source": entry.get("source"), "reason": str(exc)})
    ctx.check()
    choice = {"transparency": transparency, "background": list(colour)}
    outcome.changed = manifest.replace(updated, action_name(transparency, colour), options=choice)
    return outcome


def _import_options(manifest: Manifest, transparency: str, background: tuple[int, int, int]) -> ImportOptions:
    """The options the pictures were imported with (the manifest's, where they are sane numbers) and the new
    choice. The decoding limits stay the studio's own: a hand-edited manifest must not raise them."""
    recorded = manifest.options
    defaults = ImportOptions()
    resolution = recorded.get("resolution")
    side = recorded.get("max_item_side")
    return ImportOptions(
        resolution=resolution if isinstance(resolution, int) and 1 <= resolution <= 8192 else defaults.resolution,
        max_item_side=side if isinstance(side, int) and 16 <= side <= 8192 else defaults.max_item_side,
        transparency=transparency,
        background=background,
    )


def _changed(manifest: Manifest, entry: dict, options: ImportOptions, from_item: bool, target: str) -> dict:
    """The entry with its picture made as ``target`` says, its new item file written (the old one stays).
    ``from_item``: the stored item still has its alpha, so it is the source; else the original is."""
    if from_item:
        path = manifest.item_path(entry)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise JobError(f"its stored copy cannot be read ({exc.strerror or exc})") from exc
        name = path.name
    else:
        data = read_origin(str(entry.get("origin", "")), entry.get("size"))
        if entry.get("sha256") != hashlib.sha256(data).hexdigest():
            raise JobError("its original changed since it was imported")
        name = Path(str(entry.get("source", ""))).name
    result = images.normalize(data, name, options)
    if result.status == SKIPPED or result.meta.get("transparency") != target:
        raise JobError(result.reason or "its transparency could not be changed")
    new = copy.deepcopy(entry)
    if from_item:  # only the transparency changed: the earlier fixes (downscaled, converted) still hold
        kept = [f for f in entry.get("fixes") or [] if not str(f).startswith(images.FLATTENED)]
        new.update(fixes=kept + result.fixes, status=FIXED)
        new["meta"] = {**(entry.get("meta") or {}), "transparency": target}
    else:  # as an import with this choice would have made it; the flags of the dataset (near-duplicate) stay
        new.update(status=result.status, fixes=result.fixes, meta=result.meta)
    new["dedupe_key"] = result.dedupe_key
    new["item"] = _next_item_name(manifest, entry, result.suffix)
    atomic_write_bytes(manifest.item_path(new), result.payload or b"")
    return new


class SetTransparency:
    """The transparency fix as a job (it may read and re-encode every transparent picture, so it runs off the GUI
    thread). Holds the dataset's import lock while it reads and writes the manifest. Result: ``Outcome.as_dict()``
    plus ``"action"`` (its name in the undo history) and ``"colour"`` (the dataset's colour, "white")."""

    title = "Changing transparency"

    def __init__(self, dataset_folder: str | Path, transparency: str, background: object = None) -> None:
        if transparency not in TRANSPARENCY_CHOICES:
            raise JobError(f"“{transparency}” is not a transparency choice: use keep or flatten.")
        self.folder = Path(dataset_folder)
        self.transparency = transparency
        self.background = None if background is None else clamp_colour(background)

    def __call__(self, ctx: JobContext) -> dict:
        try:
            lock = ProcessLock(self.folder / IMPORT_LOCK).acquire(wait_s=LOCK_WAIT_S)
        except LockHeld as exc:
            who = exc.owner.describe() if exc.owner else "another process"
            raise JobError(
                f"An import into the dataset “{self.folder.name}” is running ({who}); change the transparency "
                "when it has finished."
            ) from None
        try:
            manifest = Manifest.load(self.folder)
            before = len(manifest.history)
            outcome = set_transparency(manifest, self.transparency, self.background, ctx)
            if len(manifest.history) > before:
                manifest.save()
        finally:
            lock.release()
        _, colour = recorded_transparency(manifest.options)
        return {**outcome.as_dict(), "action": action_name(self.transparency, colour), "colour": colour_name(colour)}
