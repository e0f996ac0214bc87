"""The panels' adapters and the tests' fakes satisfy the same Protocols (studio/ui/backends/contracts.py): every
method the contract names exists on both and takes the contract's positional arguments, so a fake cannot drift
from the real adapter without a test saying which method and how."""

from __future__ import annotations

import inspect

import pytest
from test_canvas_panel import FakeCanvasBackend
from test_speech_panel import FakeSpeechBackend
from test_text_writer_panel import FakeWriterBackend
from test_training_panel import FakeBackend as FakeTrainingBackend

from studio.ui.backends.canvas import CanvasBackend
from studio.ui.backends.contracts import (
    CanvasContract,
    RunPreviews,
    SpeechContract,
    TrainingContract,
    WriterContract,
)
from studio.ui.backends.speech import SpeechBackend
from studio.ui.backends.training import TrainingBackend
from studio.ui.backends.writer import WriterBackend

POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def contract_methods(protocol: type) -> list[str]:
    """The methods a Protocol itself declares (not those of typing's machinery)."""
    return sorted(name for name, value in vars(protocol).items() if not name.startswith("_") and callable(value))


def mismatches(protocol: type, implementation: object) -> list[str]:
    """What keeps ``implementation`` from being called as the panels call ``protocol``'s methods: a missing
    method, too few positional parameters, or parameters the contract never passes that have no default."""
    problems = []
    for name in contract_methods(protocol):
        method = getattr(implementation, name, None)
        if not callable(method):
            problems.append(f"{name}: missing")
            continue
        wanted = [p for p in inspect.signature(getattr(protocol, name)).parameters.values() if p.name != "self"]
        assert all(p.kind is inspect.Parameter.POSITIONAL_ONLY for p in wanted), f"{name}: contract not positional"
        given = list(inspect.signature(method).parameters.values())
        positional = [p for p in given if p.kind in POSITIONAL]
        takes_rest = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in given)
        required = [p for p in positional if p.default is inspect.Parameter.empty]
        keyword_only = [p.name for p in given if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is p.empty]
        if len(positional) < len(wanted) and not takes_rest:
            problems.append(f"{name}: takes {len(positional)} arguments, the contract passes {len(wanted)}")
        if len(required) > len(wanted):
            problems.append(f"{name}: requires {[p.name for p in required[len(wanted) :]]}, never passed")
        if keyword_only:
            problems.append(f"{name}: requires keyword-only {keyword_only}, never passed")
    return problems


CASES = [
    (CanvasContract, CanvasBackend()),
    (CanvasContract, FakeCanvasBackend()),
    (WriterContract, WriterBackend()),
    (WriterContract, FakeWriterBackend()),
    (SpeechContract, SpeechBackend()),
    (SpeechContract, FakeSpeechBackend()),
    (TrainingContract, TrainingBackend()),
    (TrainingContract, FakeTrainingBackend()),
    (RunPreviews, TrainingBackend()),
]


@pytest.mark.parametrize(
    ("protocol", "implementation"), CASES, ids=[f"{p.__name__}-{type(i).__name__}" for p, i in CASES]
)
def test_adapters_and_fakes_satisfy_their_contract(protocol, implementation):
    assert isinstance(implementation, protocol)
    assert mismatches(protocol, implementation) == []


def test_the_check_names_what_a_drifted_fake_gets_wrong():
    class Drifted:
        def available(self) -> bool:
            return True

        def list_models(self):  # forgot the project root
            return []

        def templates(self, language):  # wants an argument the panel never passes
            return []

        def build_prompt(self, template_id, fields, *, strict):
            return ""

    assert not isinstance(Drifted(), WriterContract)  # the generation job and history are missing too
    problems = mismatches(WriterContract, Drifted())
    assert "list_models: takes 0 arguments, the contract passes 1" in problems
    assert "templates: requires ['language'], never passed" in problems
    assert "build_prompt: requires keyword-only ['strict'], never passed" in problems
    assert "generate_job: missing" in problems and "write_text: missing" in problems
