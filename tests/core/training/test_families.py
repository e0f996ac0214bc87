"""The family table: every built-in record points at code that exists and agrees with it, the questions other
layers ask are answered from the records, and a record no layer could use is refused when it is registered."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from studio.core.training import families
from studio.core.training.families import FamilySpec, Generator


def test_every_built_in_record_names_importable_code_that_agrees_with_it():
    for spec in families.available():
        recipe = families.load_recipe_class(spec.id)
        assert recipe.family == spec.id and recipe.preview_kind == spec.preview
        assert set(spec.presets) == set(families.PRESET_KEYS)
        if spec.generator is not None:
            assert callable(spec.generator.load_builder())
        assert (spec.panel is None) == (spec.id == "reference")  # only the engine check has no panel


def test_the_other_layers_questions_are_answered_from_the_records():
    assert families.ids(families.for_panel("image"))[:2] == ("gan", "vae")  # then the families added later
    assert families.ids(families.for_panel("text")) == ("gpt", "lstm")
    assert families.ids(families.for_panel("speech")) == ("tts", "vocoder")
    assert families.labels([families.spec("gan"), families.spec("vae")]) == "GAN or VAE"
    assert families.ids(families.making("mel")) == ("tts",) and families.ids(families.making("audio")) == ("vocoder",)
    assert families.panel_of("lstm") == "text" and families.panel_of("reference") is None
    assert families.panel_of("no-such-family") is None and families.panel_of(None) is None
    assert families.generator("vae").encode == "encode" and families.generator("gan").encode == ""
    assert families.generator("gpt").window == "block_size" and families.generator("lstm").window == ""
    assert families.resolutions() == (32, 64, 128, 256)
    with pytest.raises(families.ConfigError, match="has no network that generates"):
        families.generator("reference")


def test_a_record_no_layer_could_use_is_refused_at_registration():
    toy = FamilySpec(
        id="toy",
        title="Toy",
        description="A toy.",
        kinds=("image",),
        recipe="toy_module:ToyRecipe",
        preview="image",
        panel="image",
        generator=Generator(weights="generator", build="toy_module:build", makes="image"),
    )
    families.register(toy)
    try:
        assert families.spec("toy") is toy and families.labels(families.for_panel("image")).startswith("GAN, VAE, ")
        assert families.labels(families.for_panel("image")).endswith(" or TOY")  # the short name: the id in capitals
    finally:
        families.unregister("toy")
    assert families.find("toy") is None
    for broken, problem in [
        (replace(toy, generator=None), "a family a panel opens needs a generator"),
        (replace(toy, panel="canvas"), "panel 'canvas' must be one of"),
        (replace(toy, kinds=("video",)), "kinds ('video',) must be some of"),
        (replace(toy, preview="gif"), "preview 'gif' must be one of"),
        (replace(toy, presets={"quick": {}}), "presets ['quick'] must be some of"),
        (replace(toy, recipe="toy_module.ToyRecipe"), "recipe 'toy_module.ToyRecipe' must be 'module:name'"),
        (replace(toy, id="toy family"), "id 'toy family' must be letters"),
    ]:
        with pytest.raises(ValueError, match=re.escape(problem)):
            families.register(broken)
        assert families.find(broken.id) is None
