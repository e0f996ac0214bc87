"""Find every file in what the user dropped: files, folders (recursively) and .zip archives.

Safety rules, because a dropped folder or a received archive may be hostile:

* Symbolic links are never followed out of the dropped tree. A link to a file inside the tree is read; a
  link to a folder is not entered (that is how loops are avoided); a broken or looping link is reported.
* Zip entries with absolute paths or ``..`` are refused (they would write outside their folder in a
  naive extractor), and archives are bounded in entry count, entry size, total size and compression ratio
  so a zip bomb is refused instead of filling memory. Archives inside archives are not opened.
* A whole archive is judged from its index before any entry is read: the sizes its entries declare
  together must stay within :data:`MAX_ARCHIVE_RATIO` times the archive's own size (once that total is
  over :data:`ARCHIVE_RATIO_FLOOR`), and all archives of one drop together within an
  :class:`ExpansionBudget` (an absolute cap and the free space on the project's disk). A refused archive
  yields one :class:`SourceFile` with ``refused=True`` and a reason that names the sizes, so the importer
  can say "refused as a possible zip bomb" whatever kind was asked for. (A refused archive is one file in
  the report: counting the thousands of entries a bomb claims would itself be the attack.)
* File names that are not valid UTF-8 (Linux allows any bytes) are shown with ``%XX`` escapes
  (:func:`printable`): the report and the manifest must be valid JSON, while the file itself is still read
  through its real name.
* Nothing is ever written, moved or deleted here: this module only reads.

Every file found yields a :class:`SourceFile`, and every file that cannot be read yields one too, with a
``problem``: the import report accounts for each file the user gave.
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from zlib import error as zlib_error

from studio.core.datasets.base import format_bytes

MAX_FILE_BYTES = 1 << 30  # 1 GiB: nothing a designer imports as one item is larger
MAX_ZIP_ENTRIES = 200_000
MAX_ZIP_TOTAL_BYTES = 8 << 30  # uncompressed, all archives of one drop together
MAX_ZIP_RATIO = 200  # uncompressed / compressed, for entries over 1 MiB
# A whole archive: what its entries declare together / the archive's size on disk. Deflate tops out at
# about 1030x (long runs of one byte); real photo, audio and text folders zip at 1-10x, flat-colour BMP
# logos at up to ~100x. 300 entries of 1 MiB of zeros in a 344 KB zip is 900x.
MAX_ARCHIVE_RATIO = 200
ARCHIVE_RATIO_FLOOR = 64 << 20  # an archive unpacking to less than this is never a threat, whatever its ratio
NON_UTF8_NAME = "the file name is not valid UTF-8: its odd bytes are shown as %XX"
_SKIP_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}


def printable(text: str) -> str:
    """``text`` with every lone surrogate written as an escape, so it can be encoded as UTF-8 (JSON, Qt).

    Python hands file names that are not valid UTF-8 over as lone surrogates (PEP 383: byte 0xFF becomes
    U+DCFF); writing one to a UTF-8 file raises "surrogates not allowed". Such a byte shows as ``%FF`` (as
    in URLs), any other lone surrogate (a broken UTF-16 name on Windows) as ``%uD800``. Not a backslash
    escape: backslashes and slashes separate folders in the paths the report shows and labels come from.
    Valid text is returned as is.
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    out = []
    for char in text:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(f"%{code - 0xDC00:02X}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append(f"%u{code:04X}")
        else:
            out.append(char)
    return "".join(out)


@dataclass
class ExpansionBudget:
    """How much all archives of one drop may unpack to together: ``limit`` bytes (an absolute cap), and
    no more than ``free_disk`` (the free space where the dataset is written; None = not checked).

    Checked against each archive's index before any entry is read; an archive that does not fit is
    refused whole. Items are about as large as what they were made from (compressed audio grows when stored
    as WAV), so the free-space check is a first line, not a promise: a disk that fills during the import
    still stops it with a plain sentence and a consistent manifest (see ``importer``)."""

    limit: int = MAX_ZIP_TOTAL_BYTES
    free_disk: int | None = None
    used: int = 0

    @classmethod
    def for_folder(cls, folder: str | Path) -> ExpansionBudget:
        """The budget for a dataset written under ``folder`` (which may not exist yet)."""
        place = Path(folder).absolute()
        while not place.exists() and place.parent != place:
            place = place.parent
        try:
            free: int | None = shutil.disk_usage(place).free
        except OSError:
            free = None
        return cls(free_disk=free)

    def refusal(self, declared: int, archive_size: int) -> str | None:
        """Why an archive declaring ``declared`` unpacked bytes is refused, or None (then it is counted)."""
        if declared > ARCHIVE_RATIO_FLOOR and declared > MAX_ARCHIVE_RATIO * max(1, archive_size):
            return (
                f"archive refused as a possible zip bomb: it would unpack to {format_bytes(declared)} from "
                f"{format_bytes(archive_size)} ({declared / max(1, archive_size):.0f} times its size; "
                f"at most {MAX_ARCHIVE_RATIO} times is accepted)"
            )
        if self.used + declared > self.limit:
            return (
                f"archive refused: it would unpack to {format_bytes(declared)}, more than the "
                f"{format_bytes(self.limit)} one import accepts from archives; unpack it yourself and drop "
                "the folder"
            )
        if self.free_disk is not None and self.used + declared > self.free_disk:
            return (
                f"archive refused: it would unpack to {format_bytes(declared)} but only "
                f"{format_bytes(self.free_disk - self.used)} are free on the project's disk"
            )
        self.used += declared
        return None


@dataclass
class SourceFile:
    """One file as the user gave it. ``rel`` is what the user sees (the dropped item's name first)."""

    rel: str
    origin: str  # absolute path, or "<archive path>!<member>"
    size: int
    path: Path | None = None  # set for files on disk (workers read them themselves)
    reader: Callable[[], bytes] | None = None  # set for archive members (read on demand, bounded in size)
    problem: str | None = None  # set when the file cannot be used at all
    refused: bool = False  # the problem is a safety refusal (a possible zip bomb, over the unpack budget)
    note: str | None = None  # something the report should say about the name (NON_UTF8_NAME)

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


def iter_sources(sources: Sequence[str | Path], budget: ExpansionBudget | None = None) -> Iterator[SourceFile]:
    """Every file below every source, in a stable (sorted) order. ``budget`` bounds what all archives
    together may unpack to (default: the absolute cap only, no free-space check)."""
    budget = budget if budget is not None else ExpansionBudget()
    for source in sources:
        yield from map(_readable_names, _iter_one(Path(source).expanduser(), budget))


def _iter_one(path: Path, budget: ExpansionBudget) -> Iterator[SourceFile]:
    if path.is_symlink() and not path.exists():
        yield SourceFile(path.name, str(path), 0, problem="broken or looping shortcut (symbolic link)")
    elif path.is_dir():
        yield from _walk_folder(path, budget)
    elif path.is_file() and path.suffix.lower() == ".zip":
        yield from _walk_zip(path, path.name, budget)
    elif path.is_file():
        yield _disk_file(path, path.name, path.resolve().parent)
    else:
        yield SourceFile(path.name, str(path), 0, problem="not found")


def _readable_names(source: SourceFile) -> SourceFile:
    """Escape a name that is not valid UTF-8 in what is shown and stored; ``path`` keeps the real name."""
    rel, origin = printable(source.rel), printable(source.origin)
    if rel != source.rel or origin != source.origin:
        source.rel, source.origin, source.note = rel, origin, NON_UTF8_NAME
    return source


def _disk_file(path: Path, rel: str, tree_root: Path) -> SourceFile:
    origin = str(path.absolute())
    try:
        if path.is_symlink():
            target = path.resolve(strict=True)
            if tree_root not in target.parents and target != tree_root:
                return SourceFile(
                    rel, origin, 0, problem="shortcut (symbolic link) pointing outside the dropped folder"
                )
        info = path.stat()
    except (OSError, RuntimeError):
        return SourceFile(rel, origin, 0, problem="broken or looping shortcut (symbolic link)")
    if not stat.S_ISREG(info.st_mode):
        return SourceFile(rel, origin, 0, problem="not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        return SourceFile(rel, origin, info.st_size, problem=f"file too large ({info.st_size / 1e9:.1f} GB)")
    return SourceFile(rel, origin, info.st_size, path=path)


def _walk_folder(root: Path, budget: ExpansionBudget) -> Iterator[SourceFile]:
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
                yield from _walk_zip(path, rel, budget)
            else:
                yield _disk_file(path, rel, tree_root)


def _rel(root: Path, path: Path) -> str:
    return str(PurePosixPath(root.name) / PurePosixPath(*path.relative_to(root).parts))


def _unsafe_member(name: str) -> bool:
    posix = PurePosixPath(name.replace("\\", "/"))
    return posix.is_absolute() or ".." in posix.parts or (len(name) > 1 and name[1] == ":")


def _walk_zip(archive: Path, rel: str, budget: ExpansionBudget) -> Iterator[SourceFile]:
    """Entries of one archive. The archive stays open while its entries are read lazily, so a large
    archive is never held in memory at once. The whole archive is refused first when the sizes its
    index declares break the ratio or the drop's expansion budget (see the module docstring)."""
    origin = str(archive.absolute())
    try:
        zf = zipfile.ZipFile(archive)
        members = [m for m in zf.infolist() if not m.is_dir()]
        size = archive.stat().st_size
    except (zipfile.BadZipFile, OSError, ValueError) as exc:  # ValueError: a name flagged UTF-8 that is not
        yield SourceFile(rel, origin, 0, problem=f"not a readable zip archive ({exc})")
        return
    if len(members) > MAX_ZIP_ENTRIES:
        yield SourceFile(rel, origin, size, problem=f"archive has too many files ({len(members):,})", refused=True)
        return
    wanted = [m for m in members if not _ignored_member(m.filename)]
    refusal = budget.refusal(sum(m.file_size for m in wanted if not _unsafe_member(m.filename)), size)
    if refusal:
        yield SourceFile(rel, origin, size, problem=refusal, refused=True)
        return
    for member in wanted:
        member_rel = f"{rel}/{member.filename}"
        member_origin = f"{origin}!{member.filename}"
        if _unsafe_member(member.filename):
            yield SourceFile(member_rel, member_origin, 0, problem="unsafe path in archive (refused)")
            continue
        problem = _member_problem(member)
        if problem is None and PurePosixPath(member.filename).name.lower().endswith(".zip"):
            problem = "archive inside an archive (not opened)"
        if problem:
            yield SourceFile(
                member_rel, member_origin, member.file_size, problem=problem, refused="zip bomb" in problem
            )
            continue
        yield SourceFile(member_rel, member_origin, member.file_size, reader=partial(_read_bounded, zf, member))


def _ignored_member(filename: str) -> bool:
    """Finder and Windows litter that is skipped silently, as in folders."""
    name = PurePosixPath(filename).name
    return name in _SKIP_NAMES or name.startswith("._") or filename.startswith("__MACOSX/")


def _member_problem(member: zipfile.ZipInfo) -> str | None:
    if member.flag_bits & 0x1:
        return "password-protected archive entry"
    if member.file_size > MAX_FILE_BYTES:
        return f"archive entry too large ({member.file_size / 1e9:.1f} GB)"
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
