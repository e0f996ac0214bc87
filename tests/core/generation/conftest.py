"""Fixtures of the generation tests: a project with hand-made runs (see generation_helpers)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from generation_helpers import make_run


@pytest.fixture
def one_torch_thread():
    """The text tests' sampling on one torch thread (as a window's job runs it), restored afterwards."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def _template(tmp_path_factory) -> Path:
    from studio.core.project import create_project

    root = tmp_path_factory.mktemp("generation") / "Project"
    create_project(root, "Generation")
    make_run(
        root,
        "20260101-000000-gan",
        "gan",
        classes=("circle", "square"),
        steps=(5, 10),
        created="2026-01-01T00:00:00+00:00",
    )
    make_run(root, "20260101-000001-gan", "gan", created="2026-01-01T00:00:01+00:00")
    make_run(root, "20260101-000002-vae", "vae", ema=False, created="2026-01-01T00:00:02+00:00")
    ref = root / "runs" / "20260101-000003-reference"
    ref.mkdir(parents=True)
    (ref / "config.json").write_text(
        json.dumps({"family": "reference", "model": {"kind": "autoencoder"}, "created": "2026-01-01T00:00:03+00:00"})
    )
    return root


@pytest.fixture
def project(_template, tmp_path) -> Path:
    """A fresh copy of the project (so a test may damage files), and an empty model cache."""
    from studio.core.generation.image_model import clear_cache

    target = tmp_path / "Project"
    shutil.copytree(_template, target)
    clear_cache()
    yield target
    clear_cache()
