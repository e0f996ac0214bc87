"""Paths read from project files stay inside the project; names made from their values are plain file names.

Every file a user receives is hostile (ARCHITECTURE.md): a manifest, a run record or a checkpoint index may
say ``../../../../etc/passwd``, an absolute path, or name a symlink that points out of the project. Reading
or writing such a path would leak a file into a training stream (and from there into a model the user
shares) or overwrite one outside the project. So a path read from a project file is never joined and opened
as it is: it goes through :func:`resolve_inside` (or :func:`inside`, or a :class:`PathGuard` for many), which
resolves it the way the OS will when opening it (``..`` steps, absolute paths, symlinks, Windows drives) and
requires the result to lie strictly inside the folder it belongs to.

A *missing* file is not refused here: it is inside, just absent, and the reader reports it as unreadable in
its own words. A path is judged at the moment it is resolved; a symlink swapped in afterwards by another
process on the same machine is beyond what a desktop app can defend against, and is not the threat here
(files received from someone else are).

Values that become file names (a manifest ``id`` in ``items/<id>-v2.wav``) go through :func:`safe_name`:
only ASCII letters, digits, ``-``, ``_`` and inner dots, no separators, no leading dot, no Windows device
names, bounded length.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from pathlib import Path

from studio.core.jobs import JobError

MAX_NAME = 64  # characters in a name made from an id: far below every file system's 255-byte limit
MAX_PATH_TEXT = 4096  # a path read from a file longer than this is refused without touching the disk
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
)


def _as_text(relative: object) -> str | None:
    """The path as text, or None when the value cannot be a path at all (not a string, empty, NUL inside)."""
    if isinstance(relative, os.PathLike):
        relative = os.fspath(relative)
    if not isinstance(relative, str) or not relative or len(relative) > MAX_PATH_TEXT or "\x00" in relative:
        return None
    return relative


def _fold(name: str) -> str:
    """Names compared as a case- and normalization-insensitive file system (macOS, Windows) would: there
    ``LINK.png`` opens the symlink ``link.png``. On other systems a false match only costs one ``realpath``."""
    return unicodedata.normalize("NFC", name).casefold()


class PathGuard:
    """Resolves many paths under one root cheaply: each distinct parent folder is resolved once, and each
    file costs one ``lstat`` (to follow it when it is a symlink). Plain string operations (``os.path``), not
    pathlib, because a manifest of 100,000 items is checked every time it is opened.

    ``bulk=True`` (a whole manifest at load) lists each parent folder once instead (``scandir`` knows which
    names are symlinks without a ``stat`` each): 100,000 items cost one directory listing, not 100,000
    ``lstat`` calls. Readers about to open a file use the default, which looks at the file itself right then.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).resolve()
        self._root = os.fspath(self.root)
        self._prefix = os.path.normcase(os.path.join(self._root, ""))  # "<root>/": a path inside starts with it
        self._parents: dict[str, str | None] = {}
        self._links: dict[str, frozenset[str]] = {}  # resolved folder -> names of the symlinks in it (bulk)

    def resolve(self, relative: object) -> Path | None:
        """The resolved path of ``relative`` (taken relative to the root) when it lies strictly inside the
        root, else None. Never raises for any value read from a file."""
        found = self.check(relative)
        return None if found is None else Path(found)

    def check(self, relative: object, bulk: bool = False) -> str | None:
        """:meth:`resolve` as a string (no Path object: the fast path for many entries)."""
        text = _as_text(relative)
        if text is None:
            return None
        parent, name = os.path.split(text)
        if os.path.isabs(text) or os.path.splitdrive(text)[0] or name in ("", ".", ".."):
            return self._full(text)  # absolute, drive-relative, or ending in a dot step: resolve it all
        folder = self._parent(parent)
        if folder is None:
            return None
        candidate = os.path.join(folder, name)
        try:
            if _fold(name) in self._symlinks(folder) if bulk else stat.S_ISLNK(os.lstat(candidate).st_mode):
                candidate = os.path.realpath(candidate)
        except FileNotFoundError:
            pass  # missing: inside, just absent (the reader says it cannot be read)
        except (OSError, ValueError):  # a name the OS rejects
            return None
        return candidate if self._inside(candidate) else None

    def _inside(self, candidate: str) -> bool:
        return os.path.normcase(candidate).startswith(self._prefix)

    def _parent(self, parent: str) -> str | None:
        if parent not in self._parents:
            try:
                resolved: str | None = os.path.realpath(os.path.join(self._root, parent)) if parent else self._root
            except (OSError, ValueError):
                resolved = None
            if resolved is not None and resolved != self._root and not self._inside(resolved):
                resolved = None
            self._parents[parent] = resolved
        return self._parents[parent]

    def _symlinks(self, folder: str) -> frozenset[str]:
        if folder not in self._links:
            try:
                with os.scandir(folder) as listing:
                    self._links[folder] = frozenset(_fold(e.name) for e in listing if e.is_symlink())
            except OSError:  # a folder that does not exist (yet) holds no symlinks
                self._links[folder] = frozenset()
        return self._links[folder]

    def _full(self, text: str) -> str | None:
        try:
            candidate = os.path.realpath(os.path.join(self._root, text))
        except (OSError, ValueError):
            return None
        return candidate if self._inside(candidate) else None


def resolve_inside(root: str | os.PathLike, relative: object) -> Path | None:
    """``root / relative`` resolved (``..``, absolute paths and symlinks followed) when it stays strictly
    inside ``root``; None when it points outside or is not a usable path. For one path; use a
    :class:`PathGuard` for many under the same root."""
    return PathGuard(root).resolve(relative)


def inside(root: str | os.PathLike, relative: object, what: str = "A path in a project file") -> Path:
    """Like :func:`resolve_inside`, but a path outside is refused with a plain :class:`JobError`.

    ``what`` starts the sentence: ``inside(run, record["checkpoint"], "The checkpoint")`` says
    "The checkpoint path “../../x” points outside the folder …, so it is not opened."
    """
    resolved = resolve_inside(root, relative)
    if resolved is None:
        shown = str(relative)[:200]
        raise JobError(f"{what} path “{shown}” points outside the folder {Path(root)}, so it is not opened.")
    return resolved


def safe_name(value: object, default: str = "item", max_length: int = MAX_NAME) -> str:
    """A plain file name made from ``value`` (an id, a title): unsafe characters become ``_``, no separators,
    no ``..``, no leading dot, not a Windows device name, at most ``max_length`` characters. Ids the studio
    writes itself (``000123``) come back unchanged."""
    name = _UNSAFE.sub("_", str(value)).strip("._")  # no leading dot (hidden, "..") and no trailing dot (Windows)
    name = re.sub(r"\.{2,}", ".", name)[:max_length].rstrip("._")
    if not name:
        return default
    if name.split(".")[0].upper() in _WINDOWS_DEVICES:
        name = f"_{name}"[:max_length]
    return name
