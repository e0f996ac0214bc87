"""What a drop onto the Dataset panel holds, judged cheaply before anything is imported.

The panel asks these questions on the GUI thread while the user is still dragging, so they read directory
listings and zip indexes only, never file contents. The import job itself decides each file's kind again,
from the real files (see :mod:`studio.core.datasets.importer`); these guesses pick the new dataset's name and
the words of the drop overlay. :class:`DropPlan` holds both targets of a drop (a new dataset, or the selected
one) so that what the overlay says and what the panel then imports come from the same decision.
"""

from __future__ import annotations

import itertools
import os
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from studio.core.datasets.importer import kind_of_suffix

# sources is light (os, zipfile, dataclasses): no numpy or PIL on the GUI thread
from studio.core.datasets.sources import printable
from studio.core.words import count, verb

IMAGE, TEXT, AUDIO = "image", "text", "audio"
KIND_NOUN = {IMAGE: ("picture", "pictures"), TEXT: ("text file", "text files"), AUDIO: ("clip", "clips")}
DEFAULT_NAMES = {IMAGE: "images", TEXT: "copy", AUDIO: "voice"}
PEEK_FILES = 400  # how many file names a drop is sampled by to guess its kind (cheap: names only)
_FORBIDDEN = '<>:"/\\|?*'


def peek_names(paths: list[Path], limit: int = PEEK_FILES) -> list[str]:
    """Up to ``limit`` file names inside what was dropped: directory listings and zip indexes only, never
    file contents, so this stays cheap on the GUI thread."""
    names: list[str] = []
    for path in paths:
        if len(names) >= limit:
            break
        try:
            if path.is_dir():
                for root, dirs, files in os.walk(path):
                    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                    names += [os.path.join(root, f) for f in files if not f.startswith(".")]
                    if len(names) >= limit:
                        break
            elif path.suffix.lower() == ".zip":
                with zipfile.ZipFile(path) as archive:
                    names += [i.filename for i in itertools.islice(archive.infolist(), limit) if not i.is_dir()]
            else:
                names.append(str(path))
        except (OSError, zipfile.BadZipFile):
            continue
    return names[:limit]


def count_kinds(names: list[str]) -> Counter:
    """How many of ``names`` are of each kind. Transcripts next to audio clips (``metadata.csv``, ``clip.txt``
    beside ``clip.wav``) count for the clips, not as text, as the import job sorts them."""
    kinds = {n: kind_of_suffix(Path(n).suffix.lower()) for n in names}
    clip_stems = {os.path.splitext(n)[0] for n, k in kinds.items() if k == AUDIO}
    counts: Counter = Counter()
    for name, kind in kinds.items():
        if kind is None:
            continue
        if (
            kind == TEXT
            and clip_stems
            and (Path(name).name.lower() == "metadata.csv" or os.path.splitext(name)[0] in clip_stems)
        ):
            continue
        counts[kind] += 1
    return counts


def main_kind(counts: Counter) -> str | None:
    """The kind most files are (None when no known file was seen); ties go to images, then text."""
    if not counts:
        return None
    return max((IMAGE, TEXT, AUDIO), key=lambda k: counts[k])


def guess_kind(paths: list[Path]) -> str | None:
    """The kind most of the dropped files are (None when no known file was seen)."""
    return main_kind(count_kinds(peek_names(paths)))


def default_dataset_name(paths: list[Path], kind: str | None) -> str:
    """A dropped folder's name, a dropped archive's name, or a plain name for the kind."""
    if len(paths) == 1 and (paths[0].is_dir() or paths[0].suffix.lower() == ".zip"):
        name = paths[0].name if paths[0].is_dir() else paths[0].stem
    else:
        name = DEFAULT_NAMES.get(kind or "", "imported")
    name = "".join("-" if c in _FORBIDDEN else c for c in printable(name)).strip().lstrip(".")  # printable: a
    # folder whose name is not UTF-8 gives a name the manifest and project.json can hold
    return name or DEFAULT_NAMES.get(kind or "", "imported")


def unique_name(base: str, taken: Iterable[str], sibling_kinds: Iterable[str] = ()) -> str:
    """``base``, or ``base-2``, ``base-3``… : the first name no dataset has (case-insensitively: a folder
    "Icons" is the folder "icons" on macOS and Windows), and whose ``<name>-<kind>`` siblings for
    ``sibling_kinds`` are free too, so a split drop never pours its stray files into an existing dataset."""
    used = {n.lower() for n in taken}
    suffixes = list(sibling_kinds)

    def free(name: str) -> bool:
        return name.lower() not in used and all(f"{name}-{k}".lower() not in used for k in suffixes)

    if free(base):
        return base
    number = 2
    while not free(f"{base}-{number}"):
        number += 1
    return f"{base}-{number}"


@dataclass(frozen=True)
class DropPlan:
    """What a drop onto the Dataset panel will do, decided before the user lets go, so the overlay's words and
    the import that follows come from one place and cannot disagree.

    Two targets: a **new dataset** named after the dropped folder or archive (the default: a name already taken
    gets a number), whose files of other kinds go to ``<name>-<kind>`` siblings, as the import job splits a
    mixed drop; and **add to** the selected dataset, offered only when the drop is of its kind, which imports
    with that kind fixed, so files of another kind are skipped (with a reason) and never make a dataset.
    """

    paths: tuple[Path, ...]
    kind: str | None  # the kind most of the files are; None when none was recognized
    counts: Counter  # files per kind among those looked at
    complete: bool  # every file was looked at (the counts are exact), not only the first PEEK_FILES
    base: str  # the name the drop suggests (the folder's or archive's)
    new_name: str  # the new dataset's name: ``base``, numbered when taken
    add_to: str | None  # the selected dataset, when adding to it is offered

    def strays(self, into: str | None) -> list[str]:
        """The kinds in the drop other than the one dataset ``into``'s kind (the new dataset's: ``kind``)."""
        return [k for k in (IMAGE, TEXT, AUDIO) if k != into and self.counts[k]]

    def siblings(self) -> dict[str, str]:
        """kind → the separate dataset a new-dataset drop puts those files in."""
        return {k: f"{self.new_name}-{k}" for k in self.strays(self.kind)} if self.kind else {}

    def new_title(self) -> str:
        return f"New dataset “{self.new_name}”"

    def add_title(self) -> str:
        return f"Add to “{self.add_to}”" if self.add_to else ""

    def new_text(self) -> str:
        """What dropping on the new-dataset target does, in one or two plain sentences."""
        what = self._what()
        if self.kind is None:
            return (
                f"No pictures, text or audio files were seen at a glance in {what}; the studio checks every file "
                f"and makes a new dataset “{self.new_name}” only if it finds some."
            )
        if self.new_name != self.base:
            text = f"“{self.base}” is already taken, so a new dataset “{self.new_name}” is made from {what}."
        else:
            text = f"A new dataset “{self.new_name}” is made from {what}."
        for kind, sibling in self.siblings().items():
            go = self._verb([kind], "goes", "go")
            text += f" Among them, {self._files(kind)} {go} to a separate dataset “{sibling}”."
        return text

    def add_text(self) -> str:
        """What dropping on the add-to target does (empty when that target is not offered)."""
        if not self.add_to or self.kind is None:
            return ""
        files, are = self._files(self.kind), self._verb([self.kind], "is", "are")
        text = (
            f"{files[:1].upper()}{files[1:]} {are} checked and added to “{self.add_to}”; "
            "files it already holds are not added twice."
        )
        strays = self.strays(self.kind)
        if strays:
            others = " and ".join(self._files(k) for k in strays)
            are = self._verb(strays, "is", "are")
            text += f" Among them, {others} {are} skipped: “{self.add_to}” holds {KIND_NOUN[self.kind][1]} only."
        return text

    def _files(self, kind: str) -> str:
        """ "12 pictures" when every file was counted, "pictures" when only a sample was."""
        one, many = KIND_NOUN[kind]
        return count(self.counts[kind], one, many) if self.complete else many

    def _verb(self, kinds: list[str], singular: str, plural: str) -> str:
        """The verb agreeing with :meth:`_files` of ``kinds`` ("1 text file is", "text files are")."""
        return verb(sum(self.counts[k] for k in kinds) if self.complete else 2, singular, plural)

    def _what(self) -> str:
        if len(self.paths) == 1:
            path = self.paths[0]
            if path.is_dir():
                return f"the folder “{printable(path.name)}”"
            if path.suffix.lower() == ".zip":
                return f"the archive “{printable(path.name)}”"
            return f"“{printable(path.name)}”"
        return f"the {count(len(self.paths), 'item')} you dropped"


def plan_drop(
    paths: list[Path], taken: Iterable[str], selected: str | None = None, selected_kind: str | None = None
) -> DropPlan:
    """The :class:`DropPlan` for dropping ``paths`` on a project whose datasets (and dataset folders) are
    ``taken``, with ``selected`` (of ``selected_kind``) selected in the panel. Names only, no file contents."""
    names = peek_names(paths, PEEK_FILES + 1)
    complete = len(names) <= PEEK_FILES
    counts = count_kinds(names[:PEEK_FILES])
    kind = main_kind(counts)
    base = default_dataset_name(paths, kind)
    strays = [k for k in (IMAGE, TEXT, AUDIO) if k != kind and counts[k]] if kind else []
    return DropPlan(
        paths=tuple(paths),
        kind=kind,
        counts=counts,
        complete=complete,
        base=base,
        new_name=unique_name(base, taken, strays),
        add_to=selected if selected and kind is not None and kind == selected_kind else None,
    )


plural = count  # the name the Dataset panel imports; new code calls studio.core.words.count


def import_summary(name: str, result: dict) -> str:
    """One plain sentence about what an import did."""
    usable = int(result.get("ok", 0)) + int(result.get("fixed", 0))
    parts = [f"{usable:,} ready to use"]
    if result.get("fixed"):
        parts[0] += f" ({result['fixed']:,} fixed)"
    if result.get("skipped"):
        parts.append(f"{result['skipped']:,} skipped")
    if result.get("duplicates"):
        parts.append(count(int(result["duplicates"]), "duplicate"))
    if result.get("transcripts"):
        parts.append(count(int(result["transcripts"]), "transcript file"))
    text = f"Imported {count(int(result.get('total', 0)), 'file')} into “{name}”: " + ", ".join(parts) + "."
    split = result.get("split_into") or {}
    if split:
        pieces = []
        for other in split:
            kind = other.rsplit("-", 1)[-1]
            pieces.append(f"the {KIND_NOUN.get(kind, ('', 'other files'))[1]} to “{other}”")
        text += " Your drop mixed kinds of files, so they were split: " + " and ".join(pieces) + "."
    refused = [str(r.get("source", "")) for r in result.get("refused") or []]
    if refused:  # a refused zip bomb is named, not only counted among the skipped files
        more = f" and {len(refused) - 2:,} more" if len(refused) > 2 else ""
        text += f" Refused for safety (see the report): {', '.join(refused[:2])}{more}."
    return text
