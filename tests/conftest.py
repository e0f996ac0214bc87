"""Shared test set-up: Qt renders offscreen, and every test gets its own studio home folder, so no test
reads or writes a real user's settings, logs or projects. Benchmarks run only with ``--benchmark``."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_addoption(parser):
    parser.addoption("--benchmark", action="store_true", default=False,
                     help="run the opt-in benchmarks in tests/benchmarks (they write JSON results)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--benchmark"):
        return
    skip = pytest.mark.skip(reason="benchmark: run with --benchmark")
    for item in items:
        if "benchmark" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def studio_home(tmp_path, monkeypatch):
    home = tmp_path / "studio-home"
    monkeypatch.setenv("AIGC_STUDIO_HOME", str(home))
    return home
