"""project.json shared by several writers: every change is re-read and written under the project's lock, so
two imports and a finishing run running at once are all recorded; a read-only project is never written; a
project file with an unusable format version says so in one sentence."""

import json
import subprocess
import sys
import threading
import time

import pytest
from PIL import Image

from studio.core.jobs import JobError
from studio.core.project import (
    SCHEMA_VERSION,
    create_project,
    open_or_create_project,
    open_project,
    set_read_only,
    update_project,
)


def _studio(*args, timeout=120):
    return subprocess.Popen(
        [sys.executable, "-m", "studio", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _texts(folder, count: int, word: str):
    folder.mkdir(parents=True)
    for i in range(count):
        (folder / f"{word}{i}.txt").write_text(f"{word} number {i}, written for the test. " * 3, encoding="utf-8")
    return folder


def _pictures(folder, count: int):
    folder.mkdir(parents=True)
    for i in range(count):
        Image.new("RGB", (48, 48), (i * 9 % 256, 80, 200)).save(folder / f"p{i}.png")
    return folder


def test_a_change_made_from_a_stale_copy_no_longer_loses_another_writers_change(tmp_path):
    root = create_project(tmp_path / "p").root
    update_project(root, lambda p: p.datasets.__setitem__("shapes", {"kind": "image"}))
    update_project(root, lambda p: p.runs.append("run-1"))
    update_project(root, lambda p: p.datasets.__setitem__("copy", {"kind": "text"}))
    project = open_project(root)
    assert project.datasets == {"shapes": {"kind": "image"}, "copy": {"kind": "text"}}
    assert project.runs == ["run-1"]


def test_many_threads_updating_at_once_are_all_recorded(tmp_path):
    root = create_project(tmp_path / "p").root
    errors = []

    def add(index: int) -> None:
        try:
            for round_ in range(5):
                update_project(root, lambda p, r=round_: p.datasets.__setitem__(f"d{index}-{r}", {"n": index}))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(open_project(root).datasets) == 30


def test_two_imports_and_a_finishing_run_at_once_are_all_recorded(tmp_path):
    """Two `aigc-studio dataset import` processes into one new project, and a run listed meanwhile (what a
    training run does when it starts): afterwards project.json lists both datasets and the run."""
    from studio.core.training.job import _add_run_to_project

    project = tmp_path / "Shared"
    pictures, texts = _pictures(tmp_path / "pics", 60), _texts(tmp_path / "copy", 60, "line")
    first = _studio("dataset", "import", "--project", str(project), "--name", "pics", "--workers", "1", str(pictures))
    second = _studio("dataset", "import", "--project", str(project), "--name", "copy", "--workers", "1", str(texts))
    while not (project / "project.json").exists() and first.poll() is None:
        time.sleep(0.01)
    _add_run_to_project(project, "20250101-000000-reference")  # while both imports run
    for process in (first, second):
        _out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err
    data = json.loads((project / "project.json").read_text(encoding="utf-8"))
    assert set(data["datasets"]) == {"pics", "copy"}
    assert data["datasets"]["pics"]["items"] == 60 and data["datasets"]["copy"]["kind"] == "text"
    assert data["runs"] == ["20250101-000000-reference"]


def test_two_threads_creating_one_new_project_both_get_it(tmp_path):
    root = tmp_path / "new"
    results, errors = [], []

    def make() -> None:
        try:
            results.append(open_or_create_project(root).root)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(results) == 4 and len(set(results)) == 1


def test_a_read_only_project_is_never_written(tmp_path):
    project = create_project(tmp_path / "p")
    before = project.file.read_bytes()
    set_read_only(project.root, True)
    try:
        for attempt in (
            lambda: update_project(project.root, lambda p: p.runs.append("x")),
            project.save,
            lambda: open_or_create_project(project.root),
        ):
            with pytest.raises(
                JobError, match="open read-only in this window, because another AIGC Studio window is working on it"
            ):
                attempt()
        assert open_project(project.root).name == "p"  # reading stays fine
    finally:
        set_read_only(project.root, False)
    assert project.file.read_bytes() == before
    update_project(project.root, lambda p: p.runs.append("x"))  # writable again
    assert open_project(project.root).runs == ["x"]


@pytest.mark.parametrize("version", [-1, "abc", 1.5, True, None, [1]])
def test_an_unusable_schema_version_is_named_in_one_sentence(tmp_path, version):
    root = tmp_path / "odd"
    root.mkdir()
    text = json.dumps({"name": "Odd", "schema_version": version, "datasets": {}, "runs": []})
    (root / "project.json").write_text(text)
    with pytest.raises(JobError) as refused:
        open_project(root)
    message = str(refused.value)
    assert f"has an unusable format version ({json.dumps(version)})" in message
    assert f"whole number from 0 to {SCHEMA_VERSION}" in message and message.count(". ") <= 1
    assert (root / "project.json").read_text() == text  # not changed


def test_the_cli_says_what_is_wrong_with_the_schema_version(tmp_path):
    for version, expected in (
        (-1, "unusable format version (-1)"),
        (SCHEMA_VERSION + 1, "saved by a newer version of AIGC Studio"),
    ):
        root = tmp_path / f"v{version}"
        root.mkdir()
        (root / "project.json").write_text(json.dumps({"name": "x", "schema_version": version}))
        done = subprocess.run(
            [sys.executable, "-m", "studio", "project", "info", str(root)], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 1 and expected in done.stderr, done.stderr
        assert "unexpected problem" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("field, value", [("datasets", "faces"), ("runs", 5)])
def test_datasets_and_runs_of_the_wrong_type_are_refused_plainly(tmp_path, field, value):
    root = tmp_path / "odd"
    root.mkdir()
    (root / "project.json").write_text(json.dumps({"name": "x", "schema_version": 1, field: value}))
    with pytest.raises(JobError, match=f"its “{field}” entry is"):
        open_project(root)
