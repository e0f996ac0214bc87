"""Must-use words, enforced: a variant that lacks one is written again (new seed, steered harder each try) until
it has them all, within a bounded number of tries and time, and the result says which words each variant still
lacks.

The model is a rigged bigram of a corpus where "organic" is rare (text_helpers.BigramLM): left alone it almost
never writes the word, so a variant that has it after enforcement got it from the retries, not by luck."""

from __future__ import annotations

import pytest
from text_helpers import bigram_model

CORPUS = ("the tea is fresh and green and calm. " * 10) + "organic tea. "


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model():
    return bigram_model("char", CORPUS)


def _settings(**values):
    from studio.core.generation.sampling import SamplingSettings

    base = dict(max_tokens=60, temperature=1.0, top_p=1.0, seed=3, required_words=["organic"])
    return SamplingSettings(**{**base, **values}).checked()


def _write(model, settings, variants: int, **job):
    """Run the job's writing step on ``model``; returns (result, the text each column shows at the end, the
    restarts announced)."""
    from studio.core.generation.text_jobs import GenerateText
    from studio.core.jobs import JobContext

    columns: dict[int, str] = {}
    restarts: list[dict] = []

    def on_metrics(item: dict) -> None:
        if item.get("restart"):  # what the panel does: clear the column, then show the new try
            restarts.append(item)
            columns[item["variant"]] = item["text"]
        else:
            columns[item["variant"]] = columns.get(item["variant"], "") + item["text"]

    result = GenerateText("unused", "the ", settings, variants=variants, **job).write(
        JobContext(on_metrics=on_metrics), model, settings, variants
    )
    return result, [columns.get(i, "") for i in range(variants)], restarts


def test_every_variant_gets_the_must_use_word_when_enforced(model):
    from studio.core.generation.sampling import missing_words

    plain, _, none = _write(model, _settings(), 4)
    assert not none and plain["tries"] == [1, 1, 1, 1]
    assert sum(bool(m) for m in plain["missing"]) >= 3  # left alone the model rarely writes it

    result, shown, restarts = _write(model, _settings(enforce_required=True), 4)
    assert result["missing"] == [[], [], [], []], result["texts"]
    assert all(missing_words(text, ["organic"]) == [] for text in result["texts"])
    assert shown == result["texts"]  # what streamed into each column is the text kept
    assert max(result["tries"]) > 1 and restarts  # words came from new tries, each announced first
    for i, tries in enumerate(result["tries"]):  # the first try is the plain one; retries use fresh seeds
        if tries == 1:
            assert result["texts"][i] == plain["texts"][i] and result["seeds"][i] == 3 + i
    seeds = [r["seed"] for r in restarts]
    assert len(set(seeds)) == len(seeds) and not set(seeds) & {3, 4, 5, 6}
    steer = [r["steer"] for r in restarts if r["variant"] == restarts[0]["variant"]]
    assert steer == sorted(steer) and steer[0] > 0  # steered a little harder each try


def test_an_impossible_word_is_reported_after_the_bounded_tries(model):
    settings = _settings(required_words=["organic", "velvet"], banned_words=["v"], enforce_required=True)
    result, shown, restarts = _write(model, settings, 2, tries=3)
    assert result["tries"] == [3, 3]  # bounded: no more tries than allowed
    assert all("velvet" in missing for missing in result["missing"])  # never-use "v" rules it out: reported
    assert shown == result["texts"]  # the try kept (fewest missing words) is what the column shows
    assert len([r for r in restarts if r["text"] == ""]) == 4  # two new tries per variant, each announced


def test_the_time_bound_stops_new_tries(model):
    result, _, restarts = _write(model, _settings(enforce_required=True), 2, seconds=0.0)
    assert result["tries"] == [1, 1] and not restarts


def test_enforcing_is_a_checked_setting():
    from studio.core.generation.sampling import SamplingSettings
    from studio.core.jobs import JobError

    with pytest.raises(JobError, match="required words"):
        SamplingSettings(enforce_required="yes").checked()
    assert SamplingSettings.from_dict({"enforce_required": True}).checked().to_dict()["enforce_required"] is True
