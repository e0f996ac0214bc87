"""The gallery store: items persist with their settings, filter and search, star, delete and come back, survive two
processes writing at once, and a hostile or damaged database file is refused or its bad rows skipped."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading

import pytest
from gallery_helpers import add_items, insert_row

from studio.core.gallery import GALLERY_FOLDER, Gallery
from studio.core.gallery.store import DB_NAME, SCHEMA
from studio.core.jobs import JobError


@pytest.fixture
def root(tmp_path):
    folder = tmp_path / "Project"
    folder.mkdir()
    return folder


def _fill(gallery: Gallery) -> dict:
    """An image grid of 3 (one batch), a text and a clip; returns them by name."""
    grid = gallery.add_many(
        [
            {
                "kind": "image",
                "panel": "image",
                "settings": {"seed": 42, "latent_index": i},
                "run_id": "run-a",
                "step": 100,
                "title": f"Seed 42 · image {i + 1}",
                "payloads": [(".png", bytes([i]) * 10)],
                "created": "2026-01-01T10:00:00+00:00",
            }
            for i in range(3)
        ]
    )
    text = gallery.add(
        "text",
        "text",
        {"prompt": "Ode to coffee", "sampling": {"seed": 1}},
        run_id="run-b",
        title="Ode to coffee",
        text="Ode to coffee\n\nThe Straße of 100% arabica_beans",
        payloads=[(".txt", b"Variante eins"), (".txt", b"two")],
        created="2026-01-02T10:00:00+00:00",
    )
    clip = gallery.add(
        "audio",
        "speech",
        {"voice": "system:en-us", "script": "Hello there."},
        run_id="system:en-us",
        title="Hello there.",
        text="Hello there.",
        payloads=[(".wav", b"RIFF")],
        created="2026-01-03T10:00:00+00:00",
    )
    return {"grid": grid, "text": text, "clip": clip}


def test_items_persist_with_settings_newest_first_and_filter_after_reopening(root):
    with Gallery(root) as gallery:
        made = _fill(gallery)
        assert gallery.set_favourite([made["grid"][1].id, made["clip"].id], True) == 2
        assert gallery.set_favourite([made["clip"].id], True) == 0  # already starred: nothing changed
    with Gallery(root) as again:  # a restart: a new object, a new connection
        listed = again.items()
        assert [i.title for i in listed] == [
            "Hello there.",
            "Ode to coffee",
            "Seed 42 · image 1",  # a batch (a grid) keeps its own order under "newest first"
            "Seed 42 · image 2",
            "Seed 42 · image 3",
        ]
        text = again.get(made["text"].id)
        assert text is not None and text.settings == {"prompt": "Ode to coffee", "sampling": {"seed": 1}}
        assert text.run_id == "run-b" and text.step is None and len(text.files) == 2
        assert again.file_path(text, 0).read_text(encoding="utf-8") == "Variante eins"
        assert [i.id for i in again.items(panel="image")] == [i.id for i in made["grid"]]
        assert [i.step for i in again.items(panel="image")] == [100, 100, 100]
        assert [i.kind for i in again.items(kind="audio")] == ["audio"]
        assert [i.title for i in again.items(run_id="run-b")] == ["Ode to coffee"]
        assert {i.id for i in again.items(favourites=True)} == {made["grid"][1].id, made["clip"].id}
        assert again.count() == 5 and again.count(panel="image", favourites=True) == 1
        assert again.runs() == ["system:en-us", "run-b", "run-a"]  # most recently used first
        assert again.runs(panel="image") == ["run-a"]
        assert [i.title for i in again.items(limit=2, offset=1)] == ["Ode to coffee", "Seed 42 · image 1"]


def test_search_is_a_case_insensitive_substring_with_wildcards_taken_literally(root):
    with Gallery(root) as gallery:
        made = _fill(gallery)
        text_id = made["text"].id
        assert [i.id for i in gallery.items(search="COFFEE")] == [text_id]
        assert [i.id for i in gallery.items(search="straße")] == [text_id]
        assert [i.id for i in gallery.items(search="STRASSE")] == [text_id]  # Unicode case folding, not ASCII only
        assert [i.id for i in gallery.items(search="100%")] == [text_id]
        assert gallery.items(search="1%0") == []  # % is not a wildcard
        assert [i.id for i in gallery.items(search="arabica_b")] == [text_id]
        assert gallery.items(search="arabica_x") == [] and gallery.items(search="a_a") == []  # _ is not one either
        assert len(gallery.items(search="seed 42")) == 3 and gallery.count(search="seed 42") == 3


def test_delete_hides_keeps_files_and_restore_brings_back_then_purge_removes(root):
    with Gallery(root) as gallery:
        made = _fill(gallery)
        grid = made["grid"]
        files = [gallery.file_path(i) for i in grid]
        assert gallery.delete([grid[0].id, grid[2].id]) == 2
        assert [i.id for i in gallery.items(panel="image")] == [grid[1].id]
        assert {i.id for i in gallery.items(deleted=True)} == {grid[0].id, grid[2].id}
        assert all(path.is_file() for path in files)  # soft: undoable
    with Gallery(root) as gallery:
        assert gallery.restore([grid[0].id]) == 1  # undo, after a restart
        assert [i.id for i in gallery.items(panel="image")] == [grid[0].id, grid[1].id]
        assert gallery.purge_deleted() == 1
        assert gallery.get(grid[2].id) is None and not files[2].exists()
        assert files[0].is_file() and files[1].is_file()
        assert gallery.count(deleted=True) == 0


def test_files_live_under_the_gallery_folder_of_the_project(root):
    with Gallery(root) as gallery:
        item = gallery.add("image", "image", {}, payloads=[(".PNG", b"png")], created="2026-03-04T05:06:07+00:00")
        assert item.files == (f"outputs/gallery/files/2026-03/{item.id}-1.png",)
        path = gallery.file_path(item)
        assert path == (root / item.files[0]).resolve() and path.read_bytes() == b"png"
        with pytest.raises(JobError):
            gallery.add("image", "image", {}, payloads=[("/../x", b"")])
        with pytest.raises(JobError):
            gallery.add("video", "image", {})
        with pytest.raises(JobError):
            gallery.add("image", "image", {"not json": object()})
        assert gallery.count() == 1  # the refused ones wrote nothing


def test_two_gallery_objects_and_threads_lose_nothing(root):
    first, second = Gallery(root), Gallery(root)
    threads = [
        threading.Thread(target=lambda g=g, t=t: [g.add("text", "text", {"t": t}, title=f"{t}{i}") for i in range(20)])
        for g, t in ((first, "a"), (second, "b"), (first, "c"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert first.count() == second.count() == 60
    first.close()
    second.close()


def test_two_processes_appending_50_items_each_lose_nothing(root):
    context = multiprocessing.get_context("spawn")  # a fresh interpreter each, as two app windows are
    with context.Pool(2) as pool:
        done = pool.starmap(add_items, [(str(root), "left", 50), (str(root), "right", 50)])
    assert done == [50, 50]
    with Gallery(root) as gallery:
        items = gallery.items(limit=1000)
        assert len(items) == 100
        assert sorted(i.title for i in items if i.title.startswith("left")) == sorted(f"left {i}" for i in range(50))
        assert all(gallery.file_path(i).read_bytes() == b"x" for i in items)


def test_hostile_rows_are_skipped_and_never_reach_files_outside(root):
    outside = root.parent / "secret.txt"
    outside.write_text("secret")
    (root / "project.json").write_text("{}")
    with Gallery(root) as gallery:
        good = gallery.add("image", "image", {"seed": 1}, title="good")
    bad = [
        {"id": "a" * 32, "files": ["../secret.txt"]},
        {"id": "b" * 32, "files": ["outputs/gallery/files/../../../secret.txt"]},
        {"id": "c" * 32, "files": ["project.json"]},  # inside the project, but not a gallery file
        {"id": "d" * 32, "files": [str(outside)]},
        {"id": "e" * 32, "settings": "[1, 2]"},
        {"id": "1" * 32, "settings": "not json"},
        {"id": "2" * 32, "kind": "script"},
        {"id": "3" * 32, "step": "twelve"},  # ("12" would be stored as the integer 12: the column's affinity)
        {"id": "8" * 32, "step": -3},
        {"id": "4" * 32, "created": "yesterday"},
        {"id": "../../x", "title": "bad id"},
        {"id": "5" * 32, "files": '{"a": 1}'},
        {"id": "9" * 32, "title": "x" * 10_000},
    ]
    for values in bad:
        insert_row(root, **values)
    insert_row(root, id="7" * 32, files=["../secret.txt"], deleted=1)
    with Gallery(root) as gallery:
        assert [(i.title, i.id) for i in gallery.items()] == [("good", good.id)]
        assert gallery.count() == 1
        assert gallery.get("a" * 32) is None and gallery.get("c" * 32) is None
        assert gallery.get(good.id) is not None
    insert_row(root, id="6" * 32, settings='{"a": ' + "[" * 1500 + "]" * 1500 + "}")  # too deep to parse
    with Gallery(root) as gallery:
        assert [i.id for i in gallery.items()] == [good.id]  # (counted: only reading the row shows it is bad)
        gallery.purge_deleted()  # the hostile deleted row goes, and its "file" outside is not touched
        assert outside.read_text() == "secret" and (root / "project.json").is_file()


def test_a_damaged_file_is_a_plain_error_and_can_be_moved_aside(root):
    folder = root / GALLERY_FOLDER
    folder.mkdir(parents=True)
    (folder / DB_NAME).write_bytes(b"this is not a database at all" * 200)
    gallery = Gallery(root)
    with pytest.raises(JobError, match=r"damaged or was not written by AIGC Studio.*Rename or delete it"):
        gallery.items()
    moved = gallery.move_aside()
    assert moved is not None and moved.read_bytes().startswith(b"this is not")
    assert gallery.items() == [] and gallery.add("text", "text", {}).kind == "text"
    gallery.close()


def test_a_newer_gallery_or_one_with_triggers_is_refused_in_plain_words(root):
    with Gallery(root) as gallery:
        gallery.add("text", "text", {})
    conn = sqlite3.connect(root / GALLERY_FOLDER / DB_NAME)
    conn.execute(f"PRAGMA user_version = {SCHEMA + 1}")
    conn.close()
    with pytest.raises(JobError, match="newer AIGC Studio"):
        Gallery(root).items()
    conn = sqlite3.connect(root / GALLERY_FOLDER / DB_NAME)
    conn.execute(f"PRAGMA user_version = {SCHEMA}")
    conn.execute("CREATE TRIGGER wipe AFTER INSERT ON items BEGIN DELETE FROM items; END")
    conn.commit()
    conn.close()
    with pytest.raises(JobError, match="trigger"):
        Gallery(root).add("text", "text", {})


def test_export_copies_with_readable_names_and_never_overwrites(root, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with Gallery(root) as gallery:
        made = _fill(gallery)
        (out / "ode-to-coffee-1.txt").write_text("mine")
        written = gallery.export([made["text"].id, made["grid"][0].id], out)
        names = sorted(p.name for p in written)
        assert names == ["ode-to-coffee-1-2.txt", "ode-to-coffee-2.txt", "run-a-s42-01.png"]
        assert (out / "ode-to-coffee-1.txt").read_text() == "mine"
        assert (out / "ode-to-coffee-1-2.txt").read_text(encoding="utf-8") == "Variante eins"
        again = gallery.export([made["grid"][0].id], out)
        assert [p.name for p in again] == ["run-a-s42-01-2.png"]
        assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_a_files_folder_linked_out_of_the_project_is_not_written_through(root, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    month = root / GALLERY_FOLDER / "files" / "2026-03"
    month.parent.mkdir(parents=True)
    month.symlink_to(elsewhere, target_is_directory=True)
    with Gallery(root) as gallery, pytest.raises(JobError, match="leads outside the project"):
        gallery.add("image", "image", {}, payloads=[(".png", b"png")], created="2026-03-04T05:06:07+00:00")
    assert list(elsewhere.iterdir()) == []
    with Gallery(root) as gallery:
        assert gallery.count() == 0
