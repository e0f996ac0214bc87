import json
import os

import pytest

from studio.core import atomic
from studio.core.jobs import JobError
from studio.core.project import SCHEMA_VERSION, create_project, is_project, open_or_create_project, open_project


def test_create_makes_the_folder_layout_and_round_trips(tmp_path):
    project = create_project(tmp_path / "Brand Kit")
    assert project.name == "Brand Kit"
    for sub in ("datasets", "runs", "outputs"):
        assert (project.root / sub).is_dir()
    data = json.loads(project.file.read_text(encoding="utf-8"))
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["name"] == "Brand Kit" and data["datasets"] == {} and data["runs"] == []

    project.datasets["logos"] = {"kind": "image"}
    project.runs.append("run-1")
    project.save()
    again = open_project(project.root)
    assert again.datasets == {"logos": {"kind": "image"}} and again.runs == ["run-1"]
    assert again.created == project.created


def test_create_refuses_to_overwrite_an_existing_project(tmp_path):
    create_project(tmp_path / "p")
    with pytest.raises(JobError, match="already a project"):
        create_project(tmp_path / "p")
    assert open_or_create_project(tmp_path / "p").name == "p"


def test_interrupted_write_keeps_the_previous_project_file(tmp_path, monkeypatch):
    project = create_project(tmp_path / "p", "Before")
    before = project.file.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("power cut between temp file and rename")

    monkeypatch.setattr(atomic.os, "replace", crash)
    project.name = "After"
    project.datasets["half-written"] = {"x": 1}
    with pytest.raises(OSError):
        project.save()
    monkeypatch.undo()

    assert project.file.read_bytes() == before
    reopened = open_project(project.root)
    assert reopened.name == "Before" and reopened.datasets == {}
    assert [p.name for p in project.root.iterdir() if p.name.endswith(".tmp")] == []


def test_disk_full_during_write_keeps_the_previous_file(tmp_path, monkeypatch):
    project = create_project(tmp_path / "p")
    before = project.file.read_bytes()
    real_fsync = os.fsync

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(OSError):
        project.save()
    monkeypatch.setattr(atomic.os, "fsync", real_fsync)
    assert project.file.read_bytes() == before


def test_old_schema_is_migrated(tmp_path):
    root = tmp_path / "old"
    root.mkdir()
    (root / "project.json").write_text(json.dumps({"name": "Old", "datasets": ["faces", "copy"]}))
    project = open_project(root)
    assert project.schema_version == SCHEMA_VERSION
    assert project.datasets == {"faces": {}, "copy": {}} and project.runs == []


def test_newer_schema_is_refused_without_touching_the_file(tmp_path):
    root = tmp_path / "future"
    root.mkdir()
    text = json.dumps({"name": "Future", "schema_version": SCHEMA_VERSION + 5})
    (root / "project.json").write_text(text)
    with pytest.raises(JobError, match="newer version"):
        open_project(root)
    assert (root / "project.json").read_text() == text


def test_unknown_keys_from_newer_minor_versions_survive_a_save(tmp_path):
    project = create_project(tmp_path / "p")
    data = json.loads(project.file.read_text())
    data["palette"] = ["#5B5BD6"]
    project.file.write_text(json.dumps(data))
    reopened = open_project(project.root)
    reopened.save()
    assert json.loads(project.file.read_text())["palette"] == ["#5B5BD6"]


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", "\udcff"])
def test_broken_project_files_give_a_plain_message(tmp_path, content):
    root = tmp_path / "broken"
    root.mkdir()
    (root / "project.json").write_bytes(content.encode("utf-8", "surrogateescape"))
    with pytest.raises(JobError, match=r"cannot be read|expected format"):
        open_project(root)


def test_a_plain_folder_is_not_a_project(tmp_path):
    assert not is_project(tmp_path)
    with pytest.raises(JobError, match="not an AIGC Studio project"):
        open_project(tmp_path)


def test_written_files_get_the_usual_permissions_not_private_temp_file_ones(tmp_path):
    import stat

    from studio.core.atomic import atomic_write_bytes

    mask = os.umask(0o022)
    os.umask(mask)
    fresh = atomic_write_bytes(tmp_path / "export.png", b"picture")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~mask  # as open() would make it, not mkstemp's 0600
    fresh.chmod(0o640)
    atomic_write_bytes(fresh, b"new picture")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o640  # a replaced file keeps the mode its owner gave it
