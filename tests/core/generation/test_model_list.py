"""What the creation panels list, read in core from the family table and the runs' files: the image panel gets
the GAN and VAE runs (newest first) and the image starter, never the reference check; a damaged run is left out;
the speech panel learns whether a run is a voice or a vocoder."""

from __future__ import annotations

import json
from pathlib import Path

from studio.core.generation import model_list
from studio.core.generation.speech_model import run_role


def test_each_panel_lists_the_runs_of_its_families_then_its_starters(project):
    (project / "runs" / "20260101-000000-gan" / "status.json").write_text(json.dumps({"state": "finished"}))
    images = model_list.list_models(project, "image")
    assert [(m.run_id, m.source) for m in images] == [
        ("20260101-000002-vae", "project"),
        ("20260101-000001-gan", "project"),
        ("20260101-000000-gan", "project"),
        ("starter-shapes", "starter"),
    ]
    vae, _, conditional, _ = images
    assert (vae.label, vae.can_encode, vae.classes) == ("VAE", True, [])
    assert (conditional.label, conditional.can_encode, conditional.classes) == ("GAN", False, ["circle", "square"])
    assert conditional.steps == [5, 10] and conditional.state == "finished" and conditional.resolution > 0
    texts = model_list.list_models(project, "text")
    assert [(m.run_id, m.kind, m.label) for m in texts] == [("starter-shakespeare", "gpt", "GPT")]
    assert model_list.list_models(None, "image")[0].run_id == "starter-shapes"  # no project: the starters


def test_a_run_whose_config_cannot_be_read_is_left_out(project):
    (project / "runs" / "20260101-000001-gan" / "config.json").write_text("{not json")
    (project / "runs" / "20260101-000000-gan" / "config.json").write_bytes(b" " * (2 << 20))  # over the size cap
    assert [m.run_id for m in model_list.list_models(project, "image")] == ["20260101-000002-vae", "starter-shapes"]


def test_the_speech_panel_tells_voices_from_vocoders_by_the_family_table(project, tmp_path):
    def run(family: str) -> Path:
        folder = tmp_path / f"run-{family}"
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps({"family": family, "model": {"kind": family}}))
        return folder

    assert run_role(run("tts")) == "voice" and run_role(run("vocoder")) == "vocoder"
    assert run_role(project / "runs" / "20260101-000000-gan") == ""  # another panel's family
    assert run_role(tmp_path / "nowhere") == ""


def test_a_renamed_run_is_listed_with_its_name(project):
    from studio.core.training import runs

    runs.set_run_name(project / "runs" / "20260101-000001-gan", "Spring icons")
    named = {m.run_id: m.name for m in model_list.list_models(project, "image")}
    assert named["20260101-000001-gan"] == "Spring icons" and named["20260101-000000-gan"] == ""
    assert named["starter-shapes"] == ""  # a starter is listed by its own name
