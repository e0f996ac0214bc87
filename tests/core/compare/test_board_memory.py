"""A board of 10 checkpoints keeps one model in memory at a time: at every column exactly one loaded model of the
run is alive, and the process's resident memory does not grow with the number of checkpoints rendered."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest
from board_helpers import make_big_gan_run, weights_bytes

from studio.core.compare.board import RenderBoard
from studio.core.generation import image_model
from studio.core.generation.image_model import ImageModel
from studio.core.jobs import JobContext

STATM = Path("/proc/self/statm")


def resident_bytes() -> int:
    return int(STATM.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not STATM.is_file(), reason="resident memory is read from /proc (Linux)")
def test_a_ten_checkpoint_board_holds_one_model_at_a_time(tmp_path):
    folder = make_big_gan_run(tmp_path / "Project", checkpoints=10)
    size = weights_bytes(folder)
    assert size > 8 * 2**20  # big enough that one model more per column would show
    alive: list[int] = []
    resident: list[int] = []

    def on_preview(preview: dict) -> None:  # the first cell of each column: its model is loaded right now
        if preview["row"] == 0:
            alive.append(sum(type(o) is ImageModel and o.folder == folder for o in gc.get_objects()))
            resident.append(resident_bytes())

    board = RenderBoard(tmp_path / "Project", [folder.name], seeds=1)(JobContext(on_preview=on_preview))
    assert board["model_loads"] == 10 and len(resident) == 10
    assert alive == [1] * 10
    growth = max(resident[2:]) - resident[1]  # after the first columns have warmed the allocator
    print(f"weights {size / 2**20:.1f} MB; resident per column (MB): {[round(r / 2**20) for r in resident]}")
    assert growth < 2 * size, f"resident memory grew {growth / 2**20:.0f} MB over 8 checkpoints"
    assert image_model._models._models == {}
