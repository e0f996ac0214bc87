"""The project's gallery: every picture, text and clip made in the canvas, writer or speech panel, with the
settings that make it again.

Where it lives: ``outputs/gallery/gallery.sqlite`` (one row per item: metadata and its settings as JSON) and
``outputs/gallery/files/<yyyy-mm>/<id>-<n><suffix>`` (the PNG / TXT / WAV payloads, written atomically before
their row is committed). The folder travels with the project when it is zipped.

Why SQLite (the standard library's ``sqlite3``) rather than a JSONL file:

* **ACID across processes.** Two windows on one project (or a window and the CLI) add items at the same time.
  SQLite serializes writers with its own file locks (``BEGIN IMMEDIATE`` plus a ``busy_timeout``), and WAL mode
  lets readers go on while one writes; a JSONL file needs a lock of our own around every append and every
  rewrite, and a torn last line after a crash.
* **Queries without reading everything.** The history lists 50 newest items of one panel, one run, favourites
  or a search: an indexed query, not a parse of every line ever written (a year of use is tens of thousands).
* **Changes are single-row updates.** Starring, deleting (soft) and restoring an item update one row in one
  transaction; in JSONL each is either a rewrite of the whole file or an appended "event" that every reader
  must replay, and the file then needs a hand-written compaction.
* **No compaction of our own.** Deleted rows are reused by SQLite; ``Empty trash`` is a ``DELETE``.

The database file is hostile like every file a user receives (a shared project): it is opened with
``trusted_schema=OFF``, refused when it holds triggers or views (we create none; they would run on our writes),
refused in plain words when its ``user_version`` is newer than this studio, and every row read is validated
(types, kinds, sizes, settings a JSON object, file paths inside the gallery's files folder) and skipped when bad;
queries also filter out the cheaply detectable bad rows in SQL so counts and pages agree with what is listed. A
damaged file raises a :class:`~studio.core.jobs.JobError` that says what to do (:meth:`Gallery.move_aside`
starts a fresh gallery and keeps the damaged file beside it).

Threads: one connection per :class:`Gallery`, opened lazily, shared by the GUI thread and job threads under a
lock (``check_same_thread=False``); every operation is one transaction.

Payload files are written with ``durable=False`` (renamed into place, never half-written, not fsynced one by one:
a 64-picture grid would otherwise cost 128 fsyncs) before the row that names them is committed durably; a power
cut can at worst leave an item whose file is missing, which :meth:`Gallery.file_path` callers report and
regeneration remakes. A crash between the files and the commit leaves unreferenced files only, never a row
without files.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import sqlite3
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from studio.core.atomic import atomic_write_bytes
from studio.core.jobs import JobError
from studio.core.safe_paths import PathGuard, inside, safe_name

log = logging.getLogger(__name__)

GALLERY_FOLDER = Path("outputs") / "gallery"  # relative to the project root
DB_NAME = "gallery.sqlite"
FILES = "files"
KINDS = ("image", "text", "audio")
PANELS = ("image", "text", "speech")  # the creation panels' panel ids
SCHEMA = 1  # PRAGMA user_version of the database this studio writes

# Limits on what a row may hold: far above anything the panels make (a writer entry of 8 variants of 4,096
# tokens is ~150 KB of text), far below what would make listing a page slow or a shared file exhaust memory.
MAX_TITLE = 200
MAX_TEXT = 1_000_000
MAX_SETTINGS = 1_000_000  # bytes of settings JSON
MAX_RUN_ID = 200
MAX_FILES = 64  # payloads of one item (a writer generation: one per variant, at most 8)
MAX_PAYLOAD = 512 * 2**20  # one payload file (a 10-minute WAV is 26 MB)
MAX_LIMIT = 10_000  # items per page
BUSY_MS = 10_000  # how long a writer waits for another process's transaction
_IN_CLAUSE = 500  # ids per IN (...) statement (below SQLite's smallest host-parameter limit, 999)

_ID = re.compile(r"[0-9a-f]{32}")
_CREATED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00")
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}")
_CREATED_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]+00:00"  # _CREATED in SQL
_COLUMNS = "id, kind, panel, created, run_id, step, title, text, settings, files, favourite, deleted"
# Rows a query can reject in SQL already, so that count() and a page's LIMIT agree with the rows listed; the
# Python checks in _item() remain the guard (paths, JSON shape, sizes).
_SANE = (
    f"kind IN {KINDS!r} AND panel IN {PANELS!r} AND typeof(id) = 'text' AND typeof(created) = 'text'"
    " AND typeof(run_id) = 'text' AND typeof(step) IN ('integer', 'null') AND typeof(title) = 'text'"
    " AND typeof(text) = 'text' AND typeof(settings) = 'text' AND json_valid(settings)"
    " AND json_type(settings) = 'object' AND typeof(files) = 'text' AND json_valid(files)"
    " AND json_type(files) = 'array' AND favourite IN (0, 1) AND deleted IN (0, 1)"
    f" AND (step IS NULL OR step >= 0) AND created GLOB '{_CREATED_GLOB}'"
    f" AND length(id) = 32 AND length(title) <= {MAX_TITLE} AND length(text) <= {MAX_TEXT}"
    f" AND length(settings) <= {MAX_SETTINGS} AND length(run_id) <= {MAX_RUN_ID}"
    " AND NOT EXISTS (SELECT 1 FROM json_each(files) WHERE type != 'text'"
    " OR substr(value, 1, 22) != 'outputs/gallery/files/' OR instr(value, '..') OR instr(value, '\\'))"
)
_CREATE = (
    """CREATE TABLE IF NOT EXISTS items (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        batch INTEGER NOT NULL,
        kind TEXT NOT NULL,
        panel TEXT NOT NULL,
        created TEXT NOT NULL,
        run_id TEXT NOT NULL DEFAULT '',
        step INTEGER,
        title TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '',
        haystack TEXT NOT NULL DEFAULT '',
        settings TEXT NOT NULL,
        files TEXT NOT NULL,
        favourite INTEGER NOT NULL DEFAULT 0,
        deleted INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX IF NOT EXISTS items_newest ON items (deleted, created DESC, batch DESC, seq)",
    "CREATE INDEX IF NOT EXISTS items_run ON items (run_id)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
_EXPECTED_COLUMNS = frozenset(
    {"seq", "id", "batch", "kind", "panel", "created", "run_id", "step", "title", "text", "haystack"}
    | {"settings", "files", "favourite", "deleted"}
)


@dataclass(frozen=True)
class GalleryItem:
    """One kept creation. ``files`` are project-relative POSIX paths (``outputs/gallery/files/...``)."""

    id: str  # uuid4 hex
    kind: str  # "image" | "text" | "audio"
    panel: str  # "image" | "text" | "speech"
    created: str  # ISO 8601 UTC, seconds ("2026-01-31T12:00:00+00:00")
    run_id: str  # the model's run id, a starter's name, a voice id ("system:en-us"); "" if none
    step: int | None  # checkpoint step; None when not applicable / newest
    title: str  # short display line
    text: str  # searchable text (prompt + generated text; the script for speech)
    settings: dict = field(hash=False)  # everything needed to regenerate (JSON-able)
    files: tuple[str, ...] = ()
    favourite: bool = False
    deleted: bool = False

    def as_dict(self) -> dict:
        """Plain values (files as a list) for a job's result and Qt signals."""
        return {
            "id": self.id,
            "kind": self.kind,
            "panel": self.panel,
            "created": self.created,
            "run_id": self.run_id,
            "step": self.step,
            "title": self.title,
            "text": self.text,
            "settings": dict(self.settings),
            "files": list(self.files),
            "favourite": self.favourite,
            "deleted": self.deleted,
        }

    @classmethod
    def from_dict(cls, values: dict) -> GalleryItem:
        """The inverse of :meth:`as_dict` (a job's result back in the GUI thread)."""
        return cls(
            id=str(values["id"]),
            kind=str(values["kind"]),
            panel=str(values["panel"]),
            created=str(values["created"]),
            run_id=str(values.get("run_id") or ""),
            step=values.get("step"),
            title=str(values.get("title") or ""),
            text=str(values.get("text") or ""),
            settings=dict(values.get("settings") or {}),
            files=tuple(values.get("files") or ()),
            favourite=bool(values.get("favourite")),
            deleted=bool(values.get("deleted")),
        )


def now() -> str:
    """The current time as the gallery stores it: ISO 8601, UTC, whole seconds."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def created_from_timestamp(seconds: float) -> str | None:
    """A POSIX timestamp (the writer history's "time") in the gallery's format, or None when it is not one."""
    try:
        return datetime.fromtimestamp(float(seconds), UTC).replace(microsecond=0).isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _escape_like(text: str) -> str:
    """``text`` as a LIKE pattern that matches it literally (``%`` and ``_`` are wildcards otherwise)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _haystack(title: str, text: str) -> str:
    """What search looks in: title and text case-folded in Python, because SQLite's LIKE folds ASCII only
    ("Ä" would not find "ä"); the query is folded the same way."""
    return f"{title}\n{text}".casefold()


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    ids = [v for v in dict.fromkeys(values) if isinstance(v, str) and _ID.fullmatch(v)]
    for start in range(0, len(ids), _IN_CLAUSE):
        yield ids[start : start + _IN_CLAUSE]


def _db_error(exc: sqlite3.Error, path: Path) -> JobError:
    """A sqlite3 error as the plain sentence the panel shows."""
    name = getattr(exc, "sqlite_errorname", "")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return JobError(
            "The gallery is busy: another AIGC Studio window or command is writing to it. Try again in a moment."
        )
    if name.startswith("SQLITE_FULL"):
        return JobError(f"The disk holding {path.parent} is full, so the gallery could not be saved; free some space.")
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")):
        return JobError(
            f"The gallery file {path} cannot be opened for writing ({exc}); check that the project folder is "
            "writable (not on a read-only disk or share)."
        )
    if name.startswith("SQLITE_IOERR"):
        return JobError(f"The disk failed while reading or writing the gallery file {path} ({exc}); try again.")
    return JobError(
        f"The gallery file {path} is damaged or was not written by AIGC Studio ({exc}). Rename or delete it to "
        "start a new gallery (the pictures, texts and clips stay in its files folder)."
    )


class Gallery:
    """The gallery of the project at ``project_root`` (see the module docstring). Safe to share between the GUI
    thread and job threads; every method is one transaction."""

    def __init__(self, project_root: str | Path) -> None:
        self.root = Path(project_root).resolve()
        self.folder = self.root / GALLERY_FOLDER
        self.path = self.folder / DB_NAME
        self.files_folder = self.folder / FILES
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._guard: PathGuard | None = None

    # -- connection -----------------------------------------------------------------------------------------------
    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        inside(self.root, GALLERY_FOLDER / DB_NAME, "The gallery file")  # a symlinked outputs/ pointing away
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JobError(
                f"The gallery folder {self.folder} cannot be created ({exc}); check that the project folder is "
                "writable."
            ) from exc
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_MS / 1000, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise _db_error(exc, self.path) from exc
        try:
            conn.execute("PRAGMA trusted_schema = OFF")  # a shared file's schema may not call functions on our writes
            conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
            conn.execute("PRAGMA cell_size_check = ON")  # detect a damaged page rather than read past it
            self._prepare(conn)
            conn.execute("PRAGMA synchronous = FULL")  # a committed item survives a power cut
        except sqlite3.Error as exc:
            conn.close()
            raise _db_error(exc, self.path) from exc
        except JobError:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """Check the schema version and shape; create the tables on first use."""
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA:
            raise JobError(
                f"The gallery of this project was written by a newer AIGC Studio (gallery version {version}; this "
                f"one reads up to {SCHEMA}). Update AIGC Studio to see and add to it."
            )
        kinds = {row[0] for row in conn.execute("SELECT type FROM sqlite_master")}
        if kinds - {"table", "index"}:
            raise JobError(
                f"The gallery file {self.path} holds {', '.join(sorted(kinds - {'table', 'index'}))} that AIGC "
                "Studio never creates, so it is not opened (it may have been edited by another program). Rename "
                "or delete it to start a new gallery."
            )
        if version < SCHEMA:
            with contextlib.suppress(sqlite3.OperationalError):  # a read-only folder: the default journal still works
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                if int(conn.execute("PRAGMA user_version").fetchone()[0]) < SCHEMA:  # another process may have won
                    for statement in _CREATE:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {SCHEMA}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        columns = {row[1] for row in conn.execute("PRAGMA table_info(items)")}
        if not columns >= _EXPECTED_COLUMNS:
            raise JobError(
                f"The gallery file {self.path} was not written by AIGC Studio (its items table lacks "
                f"{', '.join(sorted(_EXPECTED_COLUMNS - columns))}). Rename or delete it to start a new gallery."
            )

    def _run(self, work: Callable[[sqlite3.Connection], Any], write: bool = False) -> Any:
        """``work(conn)`` in one transaction (``BEGIN IMMEDIATE`` for writes: the write lock is taken up front,
        so two processes never deadlock upgrading read locks); sqlite errors become plain JobErrors."""
        with self._lock:
            conn = self._connect()
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    result = work(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise _db_error(exc, self.path) from exc
            return result

    def move_aside(self) -> Path | None:
        """Rename a damaged gallery file (and its WAL) to ``gallery.damaged-<time>.sqlite`` so the next use starts
        a new gallery; the payload files stay. Returns the new name, or None when there was no file."""
        with self._lock:
            self.close()
            if not self.path.exists():
                return None
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            target = self.folder / f"gallery.damaged-{stamp}.sqlite"
            os.replace(self.path, target)
            for extra in ("-wal", "-shm"):
                side = self.path.with_name(self.path.name + extra)
                if side.exists():
                    os.replace(side, target.with_name(target.name + extra))
            return target

    # -- adding ---------------------------------------------------------------------------------------------------
    def add(
        self,
        kind: str,
        panel: str,
        settings: dict,
        *,
        run_id: str = "",
        step: int | None = None,
        title: str = "",
        text: str = "",
        payloads: Sequence[tuple[str, bytes]] = (),
        created: str | None = None,
        favourite: bool = False,
    ) -> GalleryItem:
        """Keep one item; ``payloads`` (``(".png", bytes)``...) become its files. See :meth:`add_many`."""
        record = {
            "kind": kind,
            "panel": panel,
            "settings": settings,
            "run_id": run_id,
            "step": step,
            "title": title,
            "text": text,
            "payloads": payloads,
            "created": created,
            "favourite": favourite,
        }
        return self.add_many([record])[0]

    def add_many(self, records: Sequence[dict], once: str | None = None) -> list[GalleryItem]:
        """Keep many items in one transaction (a 64-picture grid is 64 items, committed together). Each record
        holds :meth:`add`'s arguments by name. ``once``: a meta key; when it is already set nothing is added
        (and [] returned), else it is set in the same transaction (a one-time import that two processes may
        start together)."""
        items = [self._new_item(record) for record in records]
        payloads = [list(record.get("payloads") or ()) for record in records]
        written: list[Path] = []
        try:
            for item, data in zip(items, payloads, strict=True):
                for relative, (_suffix, content) in zip(item.files, data, strict=True):
                    target = self._resolve_file(relative)  # a symlinked month folder must not lead out
                    if target is None:
                        raise JobError(
                            f"The gallery's files folder {self.files_folder} leads outside the project (a link?), "
                            "so nothing was written there; replace it with a plain folder."
                        )
                    written.append(atomic_write_bytes(target, content, durable=False))
            added = self._run(lambda conn: self._insert(conn, items, once), write=True)
        except BaseException:
            for path in written:
                with contextlib.suppress(OSError):
                    path.unlink()
            raise
        if not added:
            for path in written:
                with contextlib.suppress(OSError):
                    path.unlink()
            return []
        return items

    def _new_item(self, record: dict) -> GalleryItem:
        kind, panel, settings = record.get("kind"), record.get("panel"), record.get("settings")
        if kind not in KINDS or panel not in PANELS:
            raise JobError(f"A gallery item is a {', '.join(KINDS)} made in the {', '.join(PANELS)} panel.")
        if not isinstance(settings, dict):
            raise JobError("A gallery item needs its settings (a dictionary) to be made again.")
        _settings_json(settings)  # JSON-able and not too large, or a plain error now, before any file is written
        step = record.get("step")
        if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
            raise JobError(f"A checkpoint step is a whole number from 0, not {step!r}.")
        created = record.get("created") or now()
        if not isinstance(created, str) or not _CREATED.fullmatch(created):
            raise JobError(f"The time of a gallery item must look like 2026-01-31T12:00:00+00:00, not {created!r}.")
        item_id = uuid.uuid4().hex
        month = created[:7]
        files = []
        for n, payload in enumerate(record.get("payloads") or (), start=1):
            suffix, content = payload
            if not isinstance(suffix, str) or not _SUFFIX.fullmatch(suffix):
                raise JobError(f"A gallery file needs a suffix such as .png, not {suffix!r}.")
            if not isinstance(content, (bytes, bytearray, memoryview)) or len(content) > MAX_PAYLOAD:
                raise JobError(f"A gallery file is bytes of at most {MAX_PAYLOAD // 2**20} MB.")
            files.append(str(PurePosixPath(*GALLERY_FOLDER.parts, FILES, month, f"{item_id}-{n}{suffix.lower()}")))
        if len(files) > MAX_FILES:
            raise JobError(f"A gallery item holds at most {MAX_FILES} files.")
        return GalleryItem(
            id=item_id,
            kind=kind,
            panel=panel,
            created=created,
            run_id=str(record.get("run_id") or "")[:MAX_RUN_ID],
            step=step,
            title=" ".join(str(record.get("title") or "").split())[:MAX_TITLE],
            text=str(record.get("text") or "")[:MAX_TEXT],
            settings=dict(settings),
            files=tuple(files),
            favourite=bool(record.get("favourite")),
            deleted=False,
        )

    @staticmethod
    def _insert(conn: sqlite3.Connection, items: list[GalleryItem], once: str | None) -> bool:
        if once is not None:
            if conn.execute("SELECT 1 FROM meta WHERE key = ?", (once,)).fetchone():
                return False
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (once, now()))
        batch = int(conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM items").fetchone()[0])
        conn.executemany(
            "INSERT INTO items (id, batch, kind, panel, created, run_id, step, title, text, haystack, settings, files,"
            " favourite, deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
            [
                (
                    item.id,
                    batch,
                    item.kind,
                    item.panel,
                    item.created,
                    item.run_id,
                    item.step,
                    item.title,
                    item.text,
                    _haystack(item.title, item.text),
                    _settings_json(item.settings),
                    json.dumps(list(item.files)),
                    int(item.favourite),
                )
                for item in items
            ],
        )
        return True

    # -- reading --------------------------------------------------------------------------------------------------
    def items(
        self,
        *,
        panel: str | None = None,
        kind: str | None = None,
        run_id: str | None = None,
        favourites: bool = False,
        search: str = "",
        deleted: bool = False,
        limit: int = 500,
        offset: int = 0,
    ) -> list[GalleryItem]:
        """Items newest first (a batch such as a grid in its own order), filtered; bad rows are skipped."""
        where, params = self._where(panel, kind, run_id, favourites, search, deleted)
        limit = max(0, min(int(limit), MAX_LIMIT))
        offset = max(0, int(offset))
        sql = f"SELECT {_COLUMNS} FROM items WHERE {where} ORDER BY created DESC, batch DESC, seq ASC LIMIT ? OFFSET ?"
        rows = self._run(lambda conn: conn.execute(sql, [*params, limit, offset]).fetchall())
        return [item for item in map(self._item, rows) if item is not None]

    def count(
        self,
        *,
        panel: str | None = None,
        kind: str | None = None,
        run_id: str | None = None,
        favourites: bool = False,
        search: str = "",
        deleted: bool = False,
    ) -> int:
        """How many items :meth:`items` would list with the same filters (without a limit). Rows that only
        reading them shows to be bad (a symlinked file, JSON nested too deep to parse) are counted yet not listed."""
        where, params = self._where(panel, kind, run_id, favourites, search, deleted)
        return int(
            self._run(lambda conn: conn.execute(f"SELECT COUNT(*) FROM items WHERE {where}", params).fetchone()[0])
        )

    def get(self, item_id: str) -> GalleryItem | None:
        """The item (deleted or not), or None when there is none or its row is not valid."""
        if not isinstance(item_id, str) or not _ID.fullmatch(item_id):
            return None
        row = self._run(lambda conn: conn.execute(f"SELECT {_COLUMNS} FROM items WHERE id = ?", (item_id,)).fetchone())
        return self._item(row) if row is not None else None

    def runs(self, panel: str | None = None) -> list[str]:
        """The distinct run ids of the listed items (most recently used first), for a filter."""
        where, params = self._where(panel, None, None, False, "", False)
        sql = f"SELECT run_id FROM items WHERE {where} AND run_id != '' GROUP BY run_id ORDER BY MAX(created) DESC"
        rows = self._run(lambda conn: conn.execute(sql, params).fetchall())
        return [r[0] for r in rows if isinstance(r[0], str) and 0 < len(r[0]) <= MAX_RUN_ID]

    @staticmethod
    def _where(
        panel: str | None, kind: str | None, run_id: str | None, favourites: bool, search: str, deleted: bool
    ) -> tuple[str, list]:
        clauses: list[str] = [_SANE, "deleted = ?"]
        params: list[int | str] = [int(bool(deleted))]
        for column, value in (("panel", panel), ("kind", kind), ("run_id", run_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(str(value))
        if favourites:
            clauses.append("favourite = 1")
        needle = " ".join(str(search or "").split()).casefold()
        if needle:
            clauses.append("haystack LIKE ? ESCAPE '\\'")
            params.append(f"%{_escape_like(needle)}%")
        return " AND ".join(clauses), params

    def _item(self, row: Sequence[Any]) -> GalleryItem | None:
        """A row as an item when every field is what the studio writes; else None (and a log line)."""
        try:
            item_id, kind, panel, created, run_id, step, title, text, settings, files, favourite, deleted = row
            ok = (
                isinstance(item_id, str)
                and _ID.fullmatch(item_id) is not None
                and kind in KINDS
                and panel in PANELS
                and isinstance(created, str)
                and _CREATED.fullmatch(created) is not None
                and isinstance(run_id, str)
                and len(run_id) <= MAX_RUN_ID
                and (step is None or (isinstance(step, int) and step >= 0))
                and isinstance(title, str)
                and len(title) <= MAX_TITLE
                and isinstance(text, str)
                and len(text) <= MAX_TEXT
                and isinstance(settings, str)
                and len(settings) <= MAX_SETTINGS
                and isinstance(files, str)
                and len(files) <= MAX_FILES * 300
                and favourite in (0, 1)
                and deleted in (0, 1)
            )
            if not ok:
                raise ValueError("a field has the wrong type or size")
            values = json.loads(settings)
            paths = json.loads(files)
            if not isinstance(values, dict) or not isinstance(paths, list) or len(paths) > MAX_FILES:
                raise ValueError("settings are not an object or files not a list")
            if not all(self._file_inside(p) for p in paths):
                raise ValueError("a file path points outside the gallery's files folder")
        except (ValueError, TypeError, RecursionError) as exc:
            log.warning("Skipped a gallery row of %s: %s", self.path, exc)
            return None
        return GalleryItem(
            item_id,
            kind,
            panel,
            created,
            run_id,
            step,
            title,
            text,
            values,
            tuple(paths),
            bool(favourite),
            bool(deleted),
        )

    def _file_inside(self, relative: object) -> bool:
        return self._resolve_file(relative) is not None

    def _resolve_file(self, relative: object) -> Path | None:
        """The absolute path of a stored file path when it names a file inside ``outputs/gallery/files`` (after
        ``..``, symlinks and absolute paths are resolved); None otherwise. Stricter than "inside the project":
        Empty trash deletes these files, and must never delete ``project.json`` because a row said so."""
        prefix = f"{GALLERY_FOLDER.as_posix()}/{FILES}/"
        if not isinstance(relative, str) or not relative.startswith(prefix) or "\\" in relative:
            return None
        if self._guard is None:
            self._guard = PathGuard(self.files_folder)
        return self._guard.resolve(relative[len(prefix) :])

    # -- changing -------------------------------------------------------------------------------------------------
    def set_favourite(self, item_ids: Sequence[str], on: bool) -> int:
        """Star (or unstar) items; returns how many changed."""
        return self._update("favourite = ?", int(bool(on)), "favourite != ?", item_ids)

    def delete(self, item_ids: Sequence[str]) -> int:
        """Soft delete: the items are hidden from the lists, their files kept; :meth:`restore` undoes it."""
        return self._update("deleted = ?", 1, "deleted != ?", item_ids)

    def restore(self, item_ids: Sequence[str]) -> int:
        """The undo of :meth:`delete`; returns how many came back."""
        return self._update("deleted = ?", 0, "deleted != ?", item_ids)

    def _update(self, assignment: str, value: int, changed: str, item_ids: Sequence[str]) -> int:
        ids = list(_chunks(list(item_ids)))

        def work(conn: sqlite3.Connection) -> int:
            total = 0
            for chunk in ids:
                marks = ", ".join("?" * len(chunk))
                sql = f"UPDATE items SET {assignment} WHERE {changed} AND id IN ({marks})"
                total += conn.execute(sql, [value, value, *chunk]).rowcount
            return total

        return int(self._run(work, write=True)) if ids else 0

    def purge_deleted(self) -> int:
        """Empty the trash: remove the deleted items' rows, then their files (a file of a bad row is left alone).
        Returns how many items were removed."""

        def work(conn: sqlite3.Connection) -> list[GalleryItem | None]:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM items WHERE deleted = 1").fetchall()
            conn.execute("DELETE FROM items WHERE deleted = 1")
            return [self._item(row) for row in rows]

        removed = self._run(work, write=True)
        for item in removed:
            for relative in item.files if item is not None else ():
                path = self._resolve_file(relative)
                if path is not None:
                    with contextlib.suppress(OSError):
                        path.unlink()
        return len(removed)

    def setting_values(self, key: str, panel: str | None = None) -> set[str]:
        """The distinct text values of the top-level setting ``key`` over every item, deleted ones included (the
        writer import skips generations already kept)."""
        if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", key):
            raise ValueError(f"not a setting name: {key!r}")
        sql = "SELECT DISTINCT json_extract(settings, ?) FROM items WHERE json_valid(settings)"
        params: list[str] = [f"$.{key}"]
        if panel is not None:
            sql += " AND panel = ?"
            params.append(panel)
        rows = self._run(lambda conn: conn.execute(sql, params).fetchall())
        return {row[0] for row in rows if isinstance(row[0], str)}

    def is_done(self, key: str) -> bool:
        """Whether a one-time step (``add_many(once=key)``) has run."""
        return bool(self._run(lambda conn: conn.execute("SELECT 1 FROM meta WHERE key = ?", (key,)).fetchone()))

    # -- files ----------------------------------------------------------------------------------------------------
    def file_path(self, item: GalleryItem, index: int = 0) -> Path:
        """The absolute path of the item's file ``index``, checked to stay inside the gallery's files folder."""
        if not 0 <= index < len(item.files):
            raise JobError(f"This {item.kind} has {len(item.files)} stored file(s), not one numbered {index + 1}.")
        path = self._resolve_file(item.files[index])
        if path is None:
            raise JobError(
                f"The stored file “{item.files[index][:200]}” points outside the gallery, so it is not opened."
            )
        return path

    def export(self, item_ids: Sequence[str], folder: str | Path) -> list[Path]:
        """Copy the items' files into ``folder`` under readable names (``<title>.png``, ``-2`` when one exists),
        never overwriting a file there. Files that are missing are skipped; returns the paths written."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for item_id in dict.fromkeys(item_ids):
            item = self.get(item_id)
            if item is None:
                continue
            for index in range(len(item.files)):
                source = self.file_path(item, index)
                if not source.is_file():
                    log.warning("Gallery export: %s is missing", source)
                    continue
                stem = export_stem(item, index)
                written.append(_copy_new(source, folder, stem, source.suffix.lower()))
        return written


def export_stem(item: GalleryItem, index: int) -> str:
    """A file name (without suffix) that says what the file is: the image's own export name
    (``starter-shapes-s42-03``), else the title's words; a variant number when an item has several files."""
    stem = ""
    if item.kind == "image":
        from studio.core.generation.image_jobs import default_name

        try:
            settings = {"run_id": item.run_id or "image", **item.settings}
            stem = default_name(settings, int(settings.get("scale", 1) or 1)).rsplit(".", 1)[0]
        except (AttributeError, KeyError, TypeError, ValueError):  # settings of another shape: the title instead
            stem = ""
    if not stem:
        stem = "-".join(re.findall(r"[^\W_]+", item.title.lower())[:8]) or item.kind
    if len(item.files) > 1:
        stem = f"{stem}-{index + 1}"
    return safe_name(stem, item.kind, 80)


def _copy_new(source: Path, folder: Path, stem: str, suffix: str) -> Path:
    """Copy ``source`` to ``folder/<stem><suffix>`` (``<stem>-2<suffix>``... when taken), never replacing a file:
    the copy is made under a temporary name, then hard-linked to a free name (which fails, rather than replaces,
    when another program took the name in between)."""
    fd, tmp_name = tempfile.mkstemp(prefix=".gallery-", suffix=".tmp", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        shutil.copyfile(source, tmp)
        for n in range(1, 100_000):
            target = folder / (f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}")
            if target.exists() or target.is_symlink():
                continue
            try:
                os.link(tmp, target)
            except FileExistsError:
                continue
            except OSError:  # no hard links on this file system (FAT, some shares): exclusive create instead
                try:
                    with open(target, "xb") as out, open(tmp, "rb") as src:
                        shutil.copyfileobj(src, out)
                except FileExistsError:
                    continue
            return target
        raise JobError(f"{folder} already holds too many files named {stem}; pick another folder.")
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _settings_json(settings: dict) -> str:
    try:
        text = json.dumps(settings, ensure_ascii=False, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise JobError(f"The settings of a gallery item must be plain JSON values ({exc}).") from exc
    if len(text) > MAX_SETTINGS:
        raise JobError(f"The settings of a gallery item are over {MAX_SETTINGS:,} characters.")
    return text
