"""A past run's previews are read back from its samples/ folder the way the engine reported them live."""

from __future__ import annotations

from studio.core.training import runs


def test_previews_are_listed_by_step_with_their_kind_and_picture(tmp_path):
    samples = tmp_path / "run" / "samples"
    samples.mkdir(parents=True)
    for name in (
        "step-000500.wav",
        "step-000500.png",
        "step-000250.wav",
        "step-000250.png",
        "step-001000.txt",
        "step-000100.png",
        "notes.md",
        "step-000100.png.tmp",
    ):
        (samples / name).write_bytes(b"x")
    found = runs.previews(tmp_path / "run")
    assert [(p["step"], p["kind"]) for p in found] == [(100, "image"), (250, "audio"), (500, "audio"), (1000, "text")]
    assert found[1]["path"].endswith("step-000250.wav") and found[1]["image"].endswith("step-000250.png")
    assert "image" not in found[0] and found[0]["path"].endswith("step-000100.png")
    assert [p["step"] for p in runs.previews(tmp_path / "run", limit=2)] == [500, 1000]
    assert runs.previews(tmp_path / "missing") == []
