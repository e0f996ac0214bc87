"""One project shared by the board tests, built once per session and copied per test: a 3-checkpoint GAN and a
3-checkpoint GPT trained through the real engine (a few seconds together), and a hand-made 3-checkpoint voice."""

from __future__ import annotations

import shutil

import pytest
import torch
from board_helpers import GAN_SETTINGS, GPT_SETTINGS, add_text_dataset, make_image_project, make_voice_run, train


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models gain nothing from a second thread on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def _template(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("board")
    with pytest.MonkeyPatch.context() as patch:  # session scope: no per-test studio home yet
        patch.setenv("AIGC_STUDIO_HOME", str(root / "studio-home"))
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            project = make_image_project(root)
            gan = train(project, "shapes", "gan", GAN_SETTINGS)
            add_text_dataset(project)
            gpt = train(project, "copy", "gpt", GPT_SETTINGS)
        finally:
            torch.set_num_threads(before)
        voice = make_voice_run(project)
    return {"project": project, "gan": gan.name, "gpt": gpt.name, "voice": voice.name}


@pytest.fixture
def board_project(_template, tmp_path) -> dict:
    """A fresh copy of the project (no board cache yet): {"project": Path, "gan", "gpt", "voice": run ids}."""
    target = tmp_path / "Project"
    shutil.copytree(_template["project"], target)
    return {**_template, "project": target}
