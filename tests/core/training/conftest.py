"""A tiny image project shared by the training tests: 24 noise pictures in two classes (a few validation
items), imported with the real importer. Built once per session and copied per test (import costs ~1 s)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from training_helpers import make_project


@pytest.fixture(scope="session")
def _template_project(tmp_path_factory) -> Path:
    return make_project(tmp_path_factory.mktemp("template"))


@pytest.fixture
def project(_template_project, tmp_path) -> Path:
    """A fresh copy of the tiny project (its dataset cache not built yet)."""
    target = tmp_path / "Project"
    shutil.copytree(_template_project, target)
    return target


@pytest.fixture
def poisoned():
    """Registers family "poisoned" (see training_helpers.PoisonedRecipe) for one test, then removes it."""
    from dataclasses import replace

    from training_helpers import PoisonedRecipe

    from studio.core.training import families

    reference = families.spec("reference")
    families.register(replace(reference, id="poisoned", recipe="training_helpers:PoisonedRecipe"))
    PoisonedRecipe.nan_calls, PoisonedRecipe.nan_from, PoisonedRecipe.oom_above = set(), None, None
    PoisonedRecipe.val_losses, PoisonedRecipe.two_phases, PoisonedRecipe.first_phase_items = [], False, 0
    yield PoisonedRecipe
    families.unregister("poisoned")
