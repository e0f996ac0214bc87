"""`aigc-studio compare`: one JSON line and an HTML file; plain refusals with exit code 2."""

from __future__ import annotations

import json

import pytest

from studio.cli import main


def test_compare_prints_one_json_line_and_writes_the_board(board_project, tmp_path, capsys):
    project, run_id = board_project["project"], board_project["gan"]
    out = tmp_path / "board.html"
    args = ["compare", "--project", str(project), "--run", run_id, "--checkpoints", "4,12", "--seeds", "2"]
    assert main([*args, "--out", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["file"] == str(out) and out.is_file()
    assert result["checkpoints"] == [4, 12] and result["cells"] == 4
    assert (result["modality"], result["runs"], result["cached_cells"], result["rendered_cells"]) == (
        "image",
        [run_id],
        0,
        4,
    )
    assert out.read_text(encoding="utf-8").count("<img") == 4

    assert main([*args, "--out", str(out)]) == 0  # again: every cell from the cache
    assert json.loads(capsys.readouterr().out)["cached_cells"] == 4


def test_compare_text_with_prompts_and_latest(board_project, tmp_path, capsys):
    project = board_project["project"]
    out = tmp_path / "copy.html"
    code = main(
        ["compare", "--project", str(project), "--run", board_project["gpt"], "--prompt", "Taste", "--out", str(out)]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["modality"] == "text" and result["cells"] == 3 * 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--run", "missing"], "There is no run “missing”"),
        (["--run", "GAN", "--checkpoints", "4,x"], "--checkpoints takes steps"),
        (["--run", "GAN", "--checkpoints", "7"], "no checkpoint at step 7"),
        (["--run", "GAN", "--run", "GPT"], "same kind of thing"),
    ],
)
def test_unusable_arguments_exit_2_with_one_sentence(board_project, tmp_path, capsys, extra, message):
    extra = [{"GAN": board_project["gan"], "GPT": board_project["gpt"]}.get(a, a) for a in extra]
    out = tmp_path / "board.html"
    assert main(["compare", "--project", str(board_project["project"]), *extra, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and len(captured.err.strip().splitlines()) == 1 and captured.out == ""
    assert not out.exists()


def test_a_folder_that_is_no_project_exits_2(tmp_path, capsys):
    code = main(["compare", "--project", str(tmp_path), "--run", "latest", "--out", str(tmp_path / "b.html")])
    assert code == 2 and "not an AIGC Studio project" in capsys.readouterr().err
