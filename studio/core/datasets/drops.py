"""What a drop onto the Dataset panel holds, judged cheaply before anything is imported.

The panel asks these questions on the GUI thread while the user is still dragging, so they read directory
listings and zip indexes only, never file contents. The import job itself decides each file's kind again,
from the real files (see :mod:`studio.core.datasets.importer`); these guesses only pick a sensible dataset
name and message.
"""

from __future__ import annotations

import itertools
import os
import zipfile
from collections import Counter
from pathlib import Path

from studio.core.datasets.importer import kind_of_suffix

# sources is light (os, zipfile, dataclasses): no numpy or PIL on the GUI thread
from studio.core.datasets.sources import printable
from studio.core.words import count

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


def guess_kind(paths: list[Path]) -> str | None:
    """The kind most of the dropped files are (None when no known file was seen). Transcripts next to
    audio clips (``metadata.csv``, ``clip.txt`` beside ``clip.wav``) count for the clips, not as text."""
    names = peek_names(paths)
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
    if not counts:
        return None
    return max((IMAGE, TEXT, AUDIO), key=lambda k: counts[k])


def default_dataset_name(paths: list[Path], kind: str | None) -> str:
    """A dropped folder's name, a dropped archive's name, or a plain name for the kind."""
    if len(paths) == 1 and (paths[0].is_dir() or paths[0].suffix.lower() == ".zip"):
        name = paths[0].name if paths[0].is_dir() else paths[0].stem
    else:
        name = DEFAULT_NAMES.get(kind or "", "imported")
    name = "".join("-" if c in _FORBIDDEN else c for c in printable(name)).strip().lstrip(".")  # printable: a
    # folder whose name is not UTF-8 gives a name the manifest and project.json can hold
    return name or DEFAULT_NAMES.get(kind or "", "imported")


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
