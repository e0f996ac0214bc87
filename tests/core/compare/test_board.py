"""The comparison board job: columns per checkpoint with the same rows, cells that differ by checkpoint, the cell
cache (content-keyed, memoized hashes, no model load on reopening), cancel within a second, and plain refusals."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from studio.core.compare import cells
from studio.core.compare.board import DEFAULT_SENTENCES, RenderBoard, load_board_cache
from studio.core.generation import image_model, text_jobs
from studio.core.generation.png_settings import read_settings, regenerate
from studio.core.jobs import Cancelled, JobContext, JobError
from studio.core.training import runs


def render(project: Path, run_ids, **options) -> tuple[dict, list[dict]]:
    """The board and every preview it reported, in order."""
    previews: list[dict] = []
    board = RenderBoard(project, run_ids, **options)(JobContext(on_preview=previews.append))
    return board, previews


def pixels(project: Path, cell: dict) -> np.ndarray:
    return np.asarray(Image.open(project / cell["file"]).convert("RGB"))


def test_gan_board_has_a_column_per_checkpoint_and_the_same_seeds_in_every_column(board_project):
    project, run_id = board_project["project"], board_project["gan"]
    board, previews = render(project, [run_id], seeds=3)

    assert board["modality"] == "image"
    assert [c["step"] for c in board["columns"]] == [4, 8, 12]
    assert [c["best"] for c in board["columns"]].count(True) == 1
    assert all("val_fid" in c["metrics"] and "loss_d" not in c["metrics"] for c in board["columns"])
    assert board["columns"][0]["checkpoint"] == f"runs/{run_id}/checkpoints/step-000004.json"
    assert [r["key"] for r in board["rows"]] == ["seed-0", "seed-1", "seed-2"]
    assert [r["label"] for r in board["rows"]] == ["Seed 0", "Seed 1", "Seed 2"]
    run = board["runs"][0]
    assert run["family"] == "gan" and run["family_title"] == "Image GAN (DCGAN)" and run["dataset"] == "shapes"
    assert run["settings"]["resolution"] == 32 and run["settings"]["steps"] == 12 and run["class"] == "circles"
    assert (board["model_loads"], board["rendered_cells"], board["cached_cells"]) == (3, 9, 0)
    # one preview per cell, each carrying the cell as the board holds it
    assert sorted((p["column"], p["row"]) for p in previews) == [(c, r) for c in range(3) for r in range(3)]
    assert all(board["cells"][p["column"]][p["row"]]["file"] == p["cell"]["file"] for p in previews)

    grid = [[pixels(project, cell) for cell in column] for column in board["cells"]]
    assert grid[0][0].shape == (32, 32, 3)
    for r in range(3):  # the same seed differs between checkpoints: their weights alone differ
        assert not np.array_equal(grid[0][r], grid[1][r]) and not np.array_equal(grid[1][r], grid[2][r])
    assert not np.array_equal(grid[0][0], grid[0][1])  # and seeds differ within a column

    # a cell is the PNG the canvas exports for that seed: "Open PNG" regenerates its exact pixels
    settings = read_settings(project / board["cells"][2][1]["file"])
    assert (settings["run_id"], settings["step"], settings["seed"], settings["latent_index"]) == (run_id, 12, 1, 0)
    try:
        assert np.array_equal(regenerate(project, settings), grid[2][1])
    finally:
        image_model.clear_cache()


def test_reopening_the_board_loads_no_model_and_rerendering_gives_the_same_cells(board_project):
    project, run_id = board_project["project"], board_project["gan"]
    first, _ = render(project, [run_id], seeds=2)
    second, previews = render(project, [run_id], seeds=2)
    assert (second["model_loads"], second["cached_cells"], second["rendered_cells"]) == (0, 6, 0)
    assert len(previews) == 6
    assert second["cells"] == first["cells"]
    cached = {cell["file"]: (project / cell["file"]).read_bytes() for column in first["cells"] for cell in column}
    assert load_board_cache(project, [run_id], seeds=2)["missing_cells"] == 0

    shutil.rmtree(project / "runs" / run_id / "board")  # the cache is gone: the same cells are drawn again
    third, _ = render(project, [run_id], seeds=2)
    assert third["model_loads"] == 3
    assert {cell["file"]: (project / cell["file"]).read_bytes() for c in third["cells"] for cell in c} == cached

    more, _ = render(project, [run_id], seeds=3)  # one more seed: only its cells are new
    assert (more["cached_cells"], more["rendered_cells"], more["model_loads"]) == (6, 3, 3)
    assert image_model._models._models == {}  # the canvas's model cache was left alone


def test_checkpoint_hashes_are_memoized_and_cells_follow_the_weights_content(board_project, monkeypatch):
    project, run_id = board_project["project"], board_project["gan"]
    render(project, [run_id], seeds=1)
    memo = json.loads((project / "runs" / run_id / "board" / cells.HASHES).read_text())
    assert sorted(memo) == [f"checkpoints/step-{s:06d}.safetensors" for s in (4, 8, 12)]

    hashed: list[Path] = []
    real = cells._hash_file
    monkeypatch.setattr(cells, "_hash_file", lambda path, check: hashed.append(path) or real(path, check))
    render(project, [run_id], seeds=1)
    assert hashed == []  # same size and time: read from the memo

    # a run resumed from an earlier step rewrites a checkpoint in place: its column is rendered anew
    folder = project / "runs" / run_id / "checkpoints"
    shutil.copyfile(folder / "step-000004.safetensors", folder / "step-000012.safetensors")
    board, _ = render(project, [run_id], seeds=1)
    assert [p.name for p in hashed] == ["step-000012.safetensors"]
    assert board["model_loads"] == 0  # its content is step 4's, whose cell is cached
    assert board["cells"][2][0]["file"] == board["cells"][0][0]["file"]


def test_gpt_board_writes_after_the_runs_preview_prompt_and_the_users(board_project):
    project, run_id = board_project["project"], board_project["gpt"]
    text_jobs.clear_cache()  # what earlier tests (the gallery's) loaded: the board must add nothing to it
    board, previews = render(project, [run_id], prompts=["Our coffee is", "  "])
    assert board["modality"] == "text" and [c["step"] for c in board["columns"]] == [4, 8, 12]
    assert [r["key"] for r in board["rows"]] == ["prompt-0", "prompt-1"]
    own = board["rows"][0]["label"]
    assert own.startswith("Offer ") and board["rows"][0]["prompt"] == own  # the start of the validation text
    samples = sorted((project / "runs" / run_id / "samples").glob("step-*.txt"))
    assert samples and samples[-1].read_text(encoding="utf-8").startswith(own)  # what the previews continued
    assert board["rows"][1] == {"key": "prompt-1", "label": "Our coffee is", "prompt": "Our coffee is"}
    assert board["render"]["sampling"]["max_tokens"] == 120 and board["render"]["sampling"]["seed"] == 0
    assert len(previews) == 6 and board["model_loads"] == 3
    texts = [[cell["text"] for cell in column] for column in board["cells"]]
    assert all(isinstance(t, str) and t for column in texts for t in column)
    assert (project / board["cells"][0][1]["file"]).read_bytes().decode("utf-8") == texts[0][1]
    for r in range(2):
        assert len({column[r] for column in texts}) == 3  # every checkpoint writes its own text
    assert text_jobs._models._models == {}

    again, _ = render(project, [run_id], prompts=["Our coffee is"])
    assert (again["model_loads"], again["cached_cells"]) == (0, 6)
    assert [[cell["text"] for cell in column] for column in again["cells"]] == texts


def test_voice_board_reads_the_test_sentences_with_every_checkpoint(board_project):
    project, run_id = board_project["project"], board_project["voice"]
    board, _ = render(project, [run_id])
    assert board["modality"] == "audio" and board["render"]["vocoder"] == "griffinlim"
    assert [r["label"] for r in board["rows"]] == list(DEFAULT_SENTENCES)
    assert [c["step"] for c in board["columns"]] == [10, 20, 30]
    clips = []
    for column in board["cells"]:
        for cell in column:
            samples, rate = soundfile.read(project / cell["file"], dtype="float32")
            assert rate == 22050 and cell["seconds"] == pytest.approx(len(samples) / rate, abs=1e-3)
            clips.append(samples)
    assert len(clips) == 6 and any(len(c) for c in clips)
    assert render(project, [run_id])[0]["model_loads"] == 0


def test_cancel_from_another_thread_stops_the_board_within_a_second(board_project):
    project, run_id = board_project["project"], board_project["gpt"]
    cancelled_at: list[float] = []
    first_preview = threading.Event()

    def cancel_soon() -> None:
        first_preview.wait(30)
        cancelled_at.append(time.perf_counter())
        ctx.cancel()

    def on_preview(_preview: dict) -> None:
        if not first_preview.is_set():
            first_preview.set()
            deadline = time.monotonic() + 5  # hold the job until the other thread has asked to stop
            while not ctx.cancelled and time.monotonic() < deadline:
                time.sleep(0.001)

    ctx = JobContext(on_preview=on_preview)
    canceller = threading.Thread(target=cancel_soon)
    canceller.start()
    job = RenderBoard(project, [run_id], prompts=["Our coffee is", "Fresh", "Taste the"])
    with pytest.raises(Cancelled):
        job(ctx)
    stopped = time.perf_counter()
    canceller.join(5)
    assert cancelled_at and stopped - cancelled_at[0] < 1.0
    # what was finished stays cached
    assert load_board_cache(project, [run_id], prompts=["Our coffee is", "Fresh", "Taste the"])["cached_cells"] == 1


def test_two_runs_on_the_same_dataset_share_the_board(board_project):
    project, run_id = board_project["project"], board_project["gan"]
    twin = f"{run_id}-2"
    shutil.copytree(project / "runs" / run_id, project / "runs" / twin)
    board, _ = render(project, [run_id, twin], checkpoints=[4, 12], seeds=1)
    assert [(c["run_id"], c["step"]) for c in board["columns"]] == [(run_id, 4), (run_id, 12), (twin, 4), (twin, 12)]
    assert [r["run_id"] for r in board["runs"]] == [run_id, twin]
    assert board["cells"][0][0]["file"].startswith(f"runs/{run_id}/board/")
    assert board["cells"][2][0]["file"].startswith(f"runs/{twin}/board/")

    config = runs.read_config(project / "runs" / twin)
    (project / "runs" / twin / "config.json").write_text(json.dumps({**config, "dataset": "other"}))
    with pytest.raises(JobError, match="different datasets"):
        RenderBoard(project, [run_id, twin]).check()
    with pytest.raises(JobError, match=r"makes pictures and .* makes text"):
        RenderBoard(project, [run_id, board_project["gpt"]]).check()
    with pytest.raises(JobError, match="two different runs"):
        RenderBoard(project, [run_id, run_id]).check()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"runs": ["nope"]}, "There is no run “nope”"),
        ({"runs": ["../../etc"]}, "There is no run"),
        ({"runs": []}, "one run, or of two runs"),
        ({"checkpoints": [5]}, "no checkpoint at step 5 .*steps 4, 8, 12"),
        ({"checkpoints": []}, "at least one checkpoint"),
        ({"seeds": 0}, "from 1 to 16"),
        ({"prompts": ["a", "b", "c", "d"]}, "at most 3 prompts"),
    ],
)
def test_unusable_arguments_are_refused_in_plain_words(board_project, options, message):
    arguments = {"runs": [board_project["gpt" if "prompts" in options else "gan"]], **options}
    with pytest.raises(JobError, match=message):
        RenderBoard(board_project["project"], **arguments).check()


def test_latest_is_the_newest_run_that_generates_and_a_board_cache_outside_the_project_is_refused(
    board_project, tmp_path
):
    project = board_project["project"]
    newest = next(info.run_id for info in runs.list_runs(project) if info.family in ("gan", "gpt"))
    assert [run.run_id for run in RenderBoard(project, ["latest"]).plan().runs] == [newest]
    with pytest.raises(JobError, match="no run with a saved checkpoint"):  # no second run of that kind
        RenderBoard(project, ["latest", "latest"]).check()

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (project / "runs" / board_project["gan"] / "board").symlink_to(outside, target_is_directory=True)
    with pytest.raises(JobError, match="points outside"):
        RenderBoard(project, [board_project["gan"]], seeds=1)(JobContext())
    assert list(outside.iterdir()) == []


def test_a_damaged_checkpoint_leaves_its_column_empty_and_the_others_render(board_project):
    project, run_id = board_project["project"], board_project["gan"]
    weights = project / "runs" / run_id / "checkpoints" / "step-000008.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    board, previews = render(project, [run_id], seeds=2)
    assert "step 8" in board["columns"][1]["error"] and "damaged" in board["columns"][1]["error"]
    assert board["cells"][1] == [None, None] and all(board["cells"][c][r] for c in (0, 2) for r in range(2))
    assert len(previews) == 4 and board["model_loads"] == 2  # the damaged one never loaded
    assert "error" not in board["columns"][0]


def test_without_its_dataset_a_text_run_writes_a_new_text(board_project):
    project, run_id = board_project["project"], board_project["gpt"]
    shutil.rmtree(project / "datasets" / "copy")
    board, _ = render(project, [run_id], prompts=["Taste"])
    assert board["rows"][0] == {"key": "prompt-0", "label": "A new text (no prompt)", "prompt": ""}
    assert board["rows"][1]["prompt"] == "Taste" and all(column[0]["text"] for column in board["cells"])


def test_vocoder_board_turns_the_system_voices_reading_back_into_sound(board_project):
    from board_helpers import make_vocoder_run

    from studio.core.speech import espeak

    if not espeak.available():
        pytest.skip(f"a vocoder is compared on espeak-ng's reading, and espeak-ng cannot be loaded: {espeak.error()}")
    project = board_project["project"]
    run_id = make_vocoder_run(project).name
    board, _ = render(project, [run_id], sentences=["Hello there."])
    assert [c["step"] for c in board["columns"]] == [10, 20] and [r["label"] for r in board["rows"]] == ["Hello there."]
    clips = [soundfile.read(project / column[0]["file"], dtype="float32")[0] for column in board["cells"]]
    assert all(len(clip) > 0.3 * 22050 for clip in clips) and not np.array_equal(clips[0], clips[1])
    assert len(RenderBoard(project, [board_project["voice"], run_id]).plan().columns) == 5  # both speak "voice"
    config = runs.read_config(project / "runs" / run_id)
    (project / "runs" / run_id / "config.json").write_text(json.dumps({**config, "dataset": "hum"}))
    with pytest.raises(JobError, match="different datasets"):
        RenderBoard(project, [board_project["voice"], run_id]).check()
