"""Find every file in what the user dropped: files, folders (recursively) and .zip archives.

Safety rules, because a dropped folder or a received archive may be hostile:

* Symbolic links are never followed out of the dropped tree. A link to a file inside the tree is read; a
  link to a folder is not entered (that is how loops are avoided); a broken or looping link is reported.
* Zip entries with absolute paths or ``..`` are refused (they would write outside their folder in a
  naive extractor), and archives are bounded in entry count, entry size, total size and compression ratio
  so a zip bomb is refused instead of filling memory. Archives inside archives are not opened.
* Nothing is ever written, moved or deleted here: this module only reads.

Every file found yields a :class:`SourceFile`, and every file that cannot be read yields one too, with a
``problem``: the import report accounts for each file the user gave.
"""

from __future__ import annotations

import os
import stat
import zipfile
from zlib import error as zlib_error
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from functools import partial
from typing import Callable, Iterator

MAX_FILE_BYTES = 1 << 30  # 1 GiB: nothing a designer imports as one item is larger
MAX_ZIP_ENTRIES = 200_000
MAX_ZIP_TOTAL_BYTES = 8 << 30  # uncompressed
MAX_ZIP_RATIO = 200  # uncompressed / compressed, for entries over 1 MiB
_SKIP_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}


@dataclass
class SourceFile:
    """One file as the user gave it. ``rel`` is what the user sees (the dropped item's name first)."""

    rel: str
    origin: str  # absolute path, or "<archive path>!<member>"
    size: int
    path: Path | None = None  # set for files on disk (workers read them themselves)
    reader: Callable[[], bytes] | None = None  # set for archive members (read on demand, bounded in size)
    problem: str | None = None  # set when the file cannot be used at all

    @property
    def name(self) -> str:
        return PurePosixPath(self.rel).name

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.rel).suffix.lower()

    def read(self) -> bytes:
        """The file's bytes. Raises OSError (or ValueError for a lying archive entry) when unreadable."""
        if self.reader is not None:
            return self.reader()
        assert self.path is not None
        return self.path.read_bytes()


def iter_sources(sources: list[str | Path]) -> Iterator[SourceFile]:
    """Every file below every source, in a stable (sorted) order."""
    for source in sources:
        path = Path(source).expanduser()
        if path.is_symlink() and not path.exists():
            yield SourceFile(path.name, str(path), 0, problem="broken or looping shortcut (symbolic link)")
        elif path.is_dir():
            yield from _walk_folder(path)
        elif path.is_file() and path.suffix.lower() == ".zip":
            yield from _walk_zip(path, path.name)
        elif path.is_file():
            yield _disk_file(path, path.name, path.resolve().parent)
        else:
            yield SourceFile(path.name, str(path), 0, problem="not found")


def _disk_file(path: Path, rel: str, tree_root: Path) -> SourceFile:
    origin = str(path.absolute())
    try:
        if path.is_symlink():
            target = path.resolve(strict=True)
            if tree_root not in target.parents and target != tree_root:
                return SourceFile(rel, origin, 0, problem="shortcut (symbolic link) pointing outside the dropped folder")
        info = path.stat()
    except (OSError, RuntimeError):
        return SourceFile(rel, origin, 0, problem="broken or looping shortcut (symbolic link)")
    if not stat.S_ISREG(info.st_mode):
        return SourceFile(rel, origin, 0, problem="not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        return SourceFile(rel, origin, info.st_size, problem=f"file too large ({info.st_size / 1e9:.1f} GB)")
    return SourceFile(rel, origin, info.st_size, path=path)


def _walk_folder(root: Path) -> Iterator[SourceFile]:
    tree_root = root.resolve()
    for folder, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        here = Path(folder)
        for dirname in list(dirnames):
            if (here / dirname).is_symlink():  # os.walk lists it but (followlinks=False) never enters it
                rel = _rel(root, here / dirname)
                yield SourceFile(rel, str(here / dirname), 0, problem="shortcut to a folder (not followed)")
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for filename in sorted(filenames):
            if filename in _SKIP_NAMES or filename.startswith("._"):
                continue
            path = here / filename
            rel = _rel(root, path)
            if path.suffix.lower() == ".zip" and not path.is_symlink():
                yield from _walk_zip(path, rel)
            else:
                yield _disk_file(path, rel, tree_root)


def _rel(root: Path, path: Path) -> str:
    return str(PurePosixPath(root.name) / PurePosixPath(*path.relative_to(root).parts))


def _unsafe_member(name: str) -> bool:
    posix = PurePosixPath(name.replace("\\", "/"))
    return posix.is_absolute() or ".." in posix.parts or (len(name) > 1 and name[1] == ":")


def _walk_zip(archive: Path, rel: str) -> Iterator[SourceFile]:
    """Entries of one archive. The archive stays open while its entries are read lazily, so a large
    archive is never held in memory at once."""
    origin = str(archive.absolute())
    try:
        zf = zipfile.ZipFile(archive)
        members = [m for m in zf.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        yield SourceFile(rel, origin, 0, problem=f"not a readable zip archive ({exc})")
        return
    if len(members) > MAX_ZIP_ENTRIES:
        yield SourceFile(rel, origin, 0, problem=f"archive has too many files ({len(members)})")
        return
    total = 0
    for member in members:
        member_rel = f"{rel}/{member.filename}"
        member_origin = f"{origin}!{member.filename}"
        name = PurePosixPath(member.filename).name
        if name in _SKIP_NAMES or name.startswith("._") or member.filename.startswith("__MACOSX/"):
            continue
        if _unsafe_member(member.filename):
            yield SourceFile(member_rel, member_origin, 0, problem="unsafe path in archive (refused)")
            continue
        problem = _member_problem(member, total)
        if problem is None and name.lower().endswith(".zip"):
            problem = "archive inside an archive (not opened)"
        if problem:
            yield SourceFile(member_rel, member_origin, member.file_size, problem=problem)
            continue
        total += member.file_size
        yield SourceFile(member_rel, member_origin, member.file_size, reader=partial(_read_bounded, zf, member))


def _member_problem(member: zipfile.ZipInfo, total_so_far: int) -> str | None:
    if member.flag_bits & 0x1:
        return "password-protected archive entry"
    if member.file_size > MAX_FILE_BYTES:
        return f"archive entry too large ({member.file_size / 1e9:.1f} GB)"
    if total_so_far + member.file_size > MAX_ZIP_TOTAL_BYTES:
        return "archive unpacks to more than 8 GB (refused as a possible zip bomb)"
    if member.file_size > (1 << 20) and member.file_size > MAX_ZIP_RATIO * max(1, member.compress_size):
        return "suspicious compression ratio (refused as a possible zip bomb)"
    return None


def _read_bounded(zf: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    """Read an entry, refusing to go past its declared size (headers can lie about it)."""
    chunks, read = [], 0
    try:
        with zf.open(member) as handle:
            while chunk := handle.read(1 << 20):
                read += len(chunk)
                if read > member.file_size or read > MAX_FILE_BYTES:
                    raise ValueError("archive entry is larger than its header says")
                chunks.append(chunk)
    except (zipfile.BadZipFile, RuntimeError, EOFError, zlib_error) as exc:
        raise ValueError(f"damaged archive entry ({exc})") from exc
    return b"".join(chunks)
