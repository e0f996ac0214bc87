"""torch and torchaudio: the pinned pair, the installed pair, and the plain sentence when they do not match."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest

from studio.core import audio_check, audio_stack
from studio.core.jobs import JobError

ROOT = Path(__file__).resolve().parents[2]


def _pins() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    pins = {}
    for dep in deps:
        match = re.fullmatch(r"(torch|torchaudio)==([\w.+]+)", dep.replace(" ", ""))
        if match:
            pins[match.group(1)] = match.group(2)
    return pins


def test_pyproject_pins_one_exact_pair_and_the_module_knows_it():
    pins = _pins()
    assert set(pins) == {"torch", "torchaudio"}, "torch and torchaudio must both be pinned with =="
    assert (pins["torch"], pins["torchaudio"]) == audio_stack.PINNED_PAIR
    assert audio_stack.release(pins["torch"]) == audio_stack.release(pins["torchaudio"])


def test_the_installed_pair_is_one_release_and_loads():
    torch_version, audio_version = audio_stack.installed_versions()
    assert audio_stack.pair_problem() is None, (torch_version, audio_version)
    assert audio_stack.release(torch_version) == audio_stack.PINNED_PAIR[0]
    torchaudio = audio_stack.import_torchaudio()
    assert audio_stack.release(torchaudio.__version__) == audio_stack.release(audio_version)


def test_a_mismatch_is_one_sentence_naming_both_versions_and_the_fix():
    problem = audio_stack.pair_problem(("2.11.0+cu130", "2.11.1"))
    assert problem is not None
    assert "torchaudio 2.11.1" in problem and "torch 2.11.0+cu130" in problem
    assert "pip install torch==2.11.0 torchaudio==2.11.0" in problem
    assert ". " not in problem and "\n" not in problem  # one sentence


def test_build_tags_do_not_count_as_a_mismatch_and_a_missing_torchaudio_does():
    assert audio_stack.pair_problem(("2.11.0+cu130", "2.11.0+cpu")) is None
    assert audio_stack.pair_problem((None, None)) is None
    missing = audio_stack.pair_problem(("2.11.0", None))
    assert missing and "not installed" in missing


def test_a_torchaudio_that_cannot_load_raises_the_sentence_not_a_traceback(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchaudio", None)  # makes "import torchaudio" raise ImportError
    with pytest.raises(JobError) as caught:
        audio_stack.import_torchaudio()
    assert "pip install torch==" in str(caught.value)


def test_the_audio_stack_resamples_and_makes_mels():
    assert audio_check.check_audio_stack() == "ok"


def test_the_audio_check_reports_a_broken_torchaudio(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchaudio", None)
    monkeypatch.setitem(sys.modules, "torchaudio.functional", None)
    report = audio_check.check_audio_stack()
    assert report != "ok" and "torchaudio" in report


def test_every_command_warns_about_a_mismatched_pair(monkeypatch, tmp_path, capsys):
    from studio import cli

    monkeypatch.setattr(audio_stack, "installed_versions", lambda: ("2.11.0+cu130", "2.11.1"))
    assert cli.main(["project", "create", str(tmp_path / "p")]) == 0
    err = capsys.readouterr().err
    assert "Warning: torchaudio 2.11.1 does not work with torch 2.11.0+cu130" in err
    assert "Traceback" not in err
