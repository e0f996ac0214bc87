"""The creation panels' adapter to :mod:`studio.core.gallery`: the small jobs the history widget starts.

Why jobs, even for a listing of 500 rows: the gallery is a SQLite file that another window or the CLI may be
writing (a reader waits up to its busy timeout), and a listing also reads each picture's PNG for its thumbnail,
each text's variants and each clip's WAV header. On the GUI thread that is a stall the user feels; in a job the
window stays responsive and the list fills when the answer arrives.

Each job opens the project's :class:`~studio.core.gallery.store.Gallery`, does one thing and closes it again, so
no connection is shared between threads and a project that is closed meanwhile holds no open file. Results are
plain values (item dicts, numpy ``uint8`` thumbnails), which the widget turns into rows and QImages.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import wave
from pathlib import Path

import numpy as np
from PIL import Image

from studio.core import words
from studio.core.gallery.store import Gallery, GalleryItem
from studio.core.jobs import JobContext, JobError

THUMB = 96  # the longest side of a listed picture's thumbnail, in pixels (rows show it at 48, sharp on HiDPI)
TEXT_CAP = 256 * 1024  # characters of one stored variant read back (the writer's longest is far below)
MAX_THUMB_SOURCE = 4096  # a stored picture larger than this on a side is not decoded for a thumbnail
NOUNS = {"image": "picture", "text": "text", "speech": "clip"}  # what each panel's history lists


def noun(panel: str) -> str:
    """What a panel's items are called in sentences: "picture", "text", "clip"."""
    return NOUNS.get(panel, "item")


def created_words(created: str) -> str:
    """An item's time as the history says it, in local time: "Dec 06, 10:22"."""
    try:
        when = _dt.datetime.fromisoformat(created).astimezone()
    except (TypeError, ValueError):
        return ""
    return when.strftime("%b %d, %H:%M")


def _thumbnail(path: Path) -> np.ndarray | None:
    """The picture at ``path`` as uint8 (H, W, 3), at most :data:`THUMB` on a side (small pictures as they are,
    so the row scales them up sharp); None when it cannot be read."""
    try:
        with Image.open(path) as picture:
            if max(picture.size) > MAX_THUMB_SOURCE:
                return None
            rgb = picture.convert("RGB")
            if max(rgb.size) > THUMB:
                rgb.thumbnail((THUMB, THUMB), Image.Resampling.LANCZOS)
            return np.asarray(rgb, np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _pixels(path: Path) -> np.ndarray | None:
    """The whole stored picture as uint8 (H, W, 3) (what the canvas enlarges and exports), or None."""
    try:
        with Image.open(path) as picture:
            if max(picture.size) > MAX_THUMB_SOURCE:
                return None
            return np.asarray(picture.convert("RGB"), np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _duration(path: Path, settings: dict) -> float | None:
    """A clip's length in seconds: as recorded in its settings, else from its WAV header."""
    stored = settings.get("duration")
    if isinstance(stored, (int, float)) and not isinstance(stored, bool) and stored >= 0:
        return float(stored)
    try:
        with wave.open(str(path), "rb") as clip:
            return clip.getnframes() / max(1, clip.getframerate())
    except (OSError, EOFError, wave.Error):
        return None


def _texts(gallery: Gallery, item: GalleryItem) -> list[str]:
    """A writer generation's variants, read back from its .txt files ("" for a missing one)."""
    texts = []
    for index in range(len(item.files)):
        try:
            with open(gallery.file_path(item, index), encoding="utf-8", errors="replace") as file:
                texts.append(file.read(TEXT_CAP))
        except (OSError, JobError):
            texts.append("")
    return texts


class ListItems:
    """Job: one page of a panel's history, newest first, with what each row shows → ``{"items": [item dicts, each
    with "thumb" (pictures), "texts" (writer generations) or "duration" (clips)], "total": how many match,
    "runs": run ids that have items, "all": how many the panel has in all}``.

    ``migrate_writer``: bring the writer's old ``outputs/writer/history.json`` in first (once per project)."""

    kind = "task"

    def __init__(
        self,
        root: Path,
        panel: str,
        run_id: str | None = None,
        favourites: bool = False,
        search: str = "",
        limit: int = 500,
        migrate_writer: bool = False,
    ) -> None:
        self.root, self.panel, self.run_id = Path(root), panel, run_id
        self.favourites, self.search, self.limit, self.migrate_writer = favourites, search, limit, migrate_writer
        self.title = f"Reading the {noun(panel)} history"

    def __call__(self, ctx: JobContext) -> dict:
        if self.migrate_writer:
            from studio.core.gallery.record import import_writer_history

            import_writer_history(self.root)
        filters = {"panel": self.panel, "run_id": self.run_id, "favourites": self.favourites, "search": self.search}
        with Gallery(self.root) as gallery:
            items = gallery.items(**filters, limit=self.limit)
            total = gallery.count(**filters)
            everything = gallery.count(panel=self.panel)
            runs = gallery.runs(self.panel)
            rows = []
            for item in items:
                ctx.check()
                rows.append(self._row(gallery, item))
        return {"items": rows, "total": total, "runs": runs, "all": everything}

    @staticmethod
    def _row(gallery: Gallery, item: GalleryItem) -> dict:
        row = item.as_dict()
        if not item.files:
            return row
        try:
            path = gallery.file_path(item, 0)
        except JobError:
            return row
        if item.kind == "image":
            row["thumb"] = _thumbnail(path)
        elif item.kind == "text":
            row["texts"] = _texts(gallery, item)
        elif item.kind == "audio":
            row["duration"] = _duration(path, item.settings)
        return row


class ChangeItems:
    """Job: star, unstar, delete (soft: the files stay) or restore items → ``{"op", "ids", "changed"}``."""

    kind = "task"
    OPS = ("star", "unstar", "delete", "restore")

    def __init__(self, root: Path, op: str, ids: list[str]) -> None:
        if op not in self.OPS:
            raise ValueError(f"op is one of {self.OPS}, not {op!r}")
        self.root, self.op, self.ids = Path(root), op, list(ids)
        self.title = {
            "star": "Starring",
            "unstar": "Unstarring",
            "delete": "Deleting",
            "restore": "Restoring",
        }[op] + f" {words.count(len(self.ids), 'item')}"

    def __call__(self, ctx: JobContext) -> dict:
        with Gallery(self.root) as gallery:
            if self.op in ("star", "unstar"):
                changed = gallery.set_favourite(self.ids, self.op == "star")
            elif self.op == "delete":
                changed = gallery.delete(self.ids)
            else:
                changed = gallery.restore(self.ids)
        return {"op": self.op, "ids": list(self.ids), "changed": int(changed)}


class ExportItems:
    """Job: copy the items' files into ``folder`` under readable names → the paths written (as strings)."""

    kind = "task"

    def __init__(self, root: Path, ids: list[str], folder: Path, panel: str = "") -> None:
        self.root, self.ids, self.folder = Path(root), list(ids), Path(folder)
        self.title = f"Exporting {words.count(len(self.ids), noun(panel))}"

    def __call__(self, ctx: JobContext) -> list[str]:
        try:
            with Gallery(self.root) as gallery:
                return [str(p) for p in gallery.export(self.ids, self.folder)]
        except OSError as exc:
            raise JobError(f"Could not export to {self.folder}: {exc.strerror or exc}. Pick another folder.") from exc


class Tagged:
    """A job whose result comes back as ``{"tag": tag, "result": ...}``: the history widget runs its writes one
    after another through one slot and needs to know which one finished."""

    kind = "task"

    def __init__(self, job, tag: str) -> None:
        self.job, self.tag = job, tag
        self.title = str(getattr(job, "title", "") or "Updating the gallery")

    def __call__(self, ctx: JobContext) -> dict:
        return {"tag": self.tag, "result": self.job(ctx)}


class ReopenPicture:
    """Job: make a kept picture again from its settings (``regenerate.Regenerate``) and read the stored one beside
    it → ``{"item", "image" (made again), "original" (as kept, or None), "identical"}``."""

    kind = "task"
    title = "Making the picture again"

    def __init__(self, root: Path, item_id: str, device: str = "cpu") -> None:
        self.root, self.item_id, self.device = Path(root), item_id, device

    def __call__(self, ctx: JobContext) -> dict:
        from studio.core.gallery.regenerate import Regenerate
        from studio.core.training.devices import threads_beside_a_window, torch_threads

        with torch_threads(threads_beside_a_window()):  # a core stays with the window
            result = dict(Regenerate(self.root, self.item_id, self.device)(ctx))
        original = None
        with Gallery(self.root) as gallery, contextlib.suppress(JobError):
            item = gallery.get(self.item_id)
            if item is not None and item.files:
                original = _pixels(gallery.file_path(item, 0))
        item_values = result.get("item")
        if isinstance(item_values, GalleryItem):
            result["item"] = item_values.as_dict()
        result["original"] = original
        return result


class FavouritePictures:
    """Job: the canvas's starred pictures with their whole pixels (the Favourites filter enlarges, varies and
    exports them like any tile) → ``[{"item": item dict, "pixels": uint8 (H, W, 3)}]``, newest first."""

    kind = "task"
    title = "Reading the favourite pictures"

    def __init__(self, root: Path, limit: int = 500) -> None:
        self.root, self.limit = Path(root), limit

    def __call__(self, ctx: JobContext) -> list[dict]:
        found = []
        with Gallery(self.root) as gallery:
            for item in gallery.items(panel="image", favourites=True, limit=self.limit):
                ctx.check()
                if not item.files:
                    continue
                with contextlib.suppress(JobError):
                    pixels = _pixels(gallery.file_path(item, 0))
                    if pixels is not None:
                        found.append({"item": item.as_dict(), "pixels": pixels})
        return found


class LoadClip:
    """Job: a kept clip's samples, to hear it as it was made (no voice needed) → ``{"item", "samples" (float32),
    "sample_rate"}``."""

    kind = "task"
    title = "Opening the kept clip"
    MAX_SECONDS = 30 * 60  # a clip longer than this is not a clip the speech panel made

    def __init__(self, root: Path, item_id: str) -> None:
        self.root, self.item_id = Path(root), item_id

    def __call__(self, ctx: JobContext) -> dict:
        from studio.core.speech.wav import read_wav

        with Gallery(self.root) as gallery:
            item = gallery.get(self.item_id)
            if item is None or item.kind != "audio" or not item.files:
                raise JobError("This clip is no longer in the gallery.")
            path = gallery.file_path(item, 0)
        length = _duration(path, {})
        if length is None or length > self.MAX_SECONDS:
            raise JobError(f"The kept clip {path.name} cannot be read; Reopen speaks it again instead.")
        try:
            samples, rate = read_wav(path)
        except (OSError, RuntimeError, ValueError) as exc:  # soundfile's LibsndfileError is a RuntimeError
            raise JobError(
                f"The kept clip {path.name} cannot be read ({exc}); Reopen speaks it again instead."
            ) from exc
        return {"item": item.as_dict(), "samples": samples, "sample_rate": rate}
