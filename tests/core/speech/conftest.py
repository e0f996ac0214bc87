"""Fixtures of the speech tests: espeak-ng availability, a tiny Piper voice exported at test time."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from speech_helpers import TEST_SENTENCE, export_tiny_model, piper_config


@pytest.fixture(autouse=True)
def _needs_espeak():
    from studio.core.speech import espeak

    if not espeak.available():
        pytest.skip(f"espeak-ng not loadable here: {espeak.error()}")


@pytest.fixture(scope="session")
def _tiny_onnx(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("piper") / "model.onnx"
    export_tiny_model(path)
    return path


@pytest.fixture
def tiny_piper(tmp_path, _tiny_onnx) -> Path:
    """``<tmp>/download/en_US-tiny-x_low.onnx`` + ``.onnx.json`` whose id map covers the test sentences."""
    from studio.core.speech import espeak

    folder = tmp_path / "download"
    folder.mkdir()
    onnx = folder / "en_US-tiny-x_low.onnx"
    onnx.write_bytes(_tiny_onnx.read_bytes())
    text = TEST_SENTENCE + " One. Two, three! The quick brown fox jumps over the lazy dog."
    symbols = list(unicodedata.normalize("NFD", espeak.phonemize(text))) + list(" ,.!?")
    (folder / "en_US-tiny-x_low.onnx.json").write_text(json.dumps(piper_config(symbols)), encoding="utf-8")
    return onnx
