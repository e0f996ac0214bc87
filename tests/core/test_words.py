"""The one count helper: grammar at 0, 1 and 2, thousands separators, irregular and multi-word nouns."""

from __future__ import annotations

import numpy as np
import pytest

from studio.core import words


@pytest.mark.parametrize(
    "n,text",
    [(0, "0 files"), (1, "1 file"), (2, "2 files"), (1000, "1,000 files"), (1287, "1,287 files"), (-1, "-1 files")],
)
def test_count_agrees_with_the_number(n, text):
    assert words.count(n, "file") == text


def test_regular_plurals():
    cases = {
        "file": "files",
        "class": "classes",
        "box": "boxes",
        "patch": "patches",
        "copy": "copies",
        "key": "keys",
        "duplicate paragraph": "duplicate paragraphs",
    }
    assert {one: words.plural_of(one) for one in cases} == cases


def test_custom_plurals_and_nouns_that_do_not_change():
    assert words.count(2, "person", "people") == "2 people"
    assert words.count(1, "person", "people") == "1 person"
    assert words.count(3, "clip with no transcript", "clips with no transcript") == "3 clips with no transcript"
    assert words.count(5, "series", "series") == "5 series"


def test_of_takes_the_noun_from_the_total():
    assert words.of(1, 1, "file") == "1 of 1 file"
    assert words.of(3, 1287, "picture") == "3 of 1,287 pictures"
    assert words.of(0, 2, "clip") == "0 of 2 clips"
    assert words.of(1, 2, "class", "classes") == "1 of 2 classes"


def test_numbers_from_numpy_and_whole_floats_print_as_counts():
    assert words.count(np.int64(1234), "item") == "1,234 items"
    assert words.count(1.0, "step") == "1 step"
    assert words.count(2500.0, "step") == "2,500 steps"
    assert words.count(1.5, "second") == "1.5 seconds"


def test_verb_agrees():
    assert [words.verb(n, "is", "are") for n in (0, 1, 2)] == ["are", "is", "are"]
