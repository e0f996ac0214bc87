"""Every training setting has a human description: each key of each family's config is described, the values the
family's own defaults and presets use are inside what the form accepts, the drop-downs offer exactly what the
recipes accept, and the form's ranges stay inside the bounds a run folder may claim (so what the form takes, the
studio can load again)."""

from __future__ import annotations

import inspect
import math
from dataclasses import replace

import pytest

from studio.core.training import families, setting_docs
from studio.core.training.setting_docs import describe


def _configs(spec) -> list[tuple[str, dict]]:
    """The family's defaults and every preset of it, on a GPU and on a CPU, resolved as a run would."""
    found = [("defaults", families.default_config(spec.id))]
    for device in (None, "cpu"):
        for preset in spec.presets:
            config = families.resolve_config(spec.id, preset, device_kind=device)
            found.append((f"{preset} on {device or 'gpu'}", config))
    return found


def undescribed(spec) -> list[str]:
    """The keys of ``spec``'s config (defaults and presets) that have no description."""
    keys = {**families.ENGINE_DEFAULTS, **spec.defaults}
    for values in (*spec.presets.values(), *spec.cpu_presets.values()):
        keys.update(values)
    return sorted(key for key in keys if describe(key, spec.id) is None)


def test_every_setting_of_every_family_is_described():
    for spec in families.available():
        assert undescribed(spec) == [], f"{spec.title} has settings without a description"


def test_a_family_that_gains_an_undescribed_setting_is_caught():
    gan = families.spec("gan")
    grown = replace(gan, id="grown", defaults={**gan.defaults, "new_knob": 3})
    assert undescribed(grown) == ["new_knob"]


def test_labels_and_tooltips_read_as_plain_words():
    for spec in families.available():
        keys = list(families.default_config(spec.id))
        labels = [describe(key, spec.id).label for key in keys]
        assert len(set(labels)) == len(labels), f"{spec.title}: two settings share a label"
        for key, label in zip(keys, labels, strict=True):
            doc = describe(key, spec.id)
            assert "_" not in label and label[:1].isupper() and len(label) <= 20, (key, label)
            assert "\n" not in doc.tip and 30 <= len(doc.tip) <= 125 and doc.tip.endswith("."), (key, doc.tip)
            assert doc.group in setting_docs.GROUPS
            for choice in doc.choices:  # a drop-down in the card's narrow column: short names, the rest in tips
                assert len(choice.label) <= 13 and choice.tip, (key, choice)
    for key in ("z_dim", "diffaugment", "r1_gamma", "adam_beta1", "ema_decay", "n_embd", "lr"):  # the raw ones
        assert describe(key).label.lower() != key.replace("_", " "), f"{key}: the label only respells the key"
    assert describe("ema").label != describe("ema_decay").label
    assert describe("ema_decay").needs == ("ema", True)


def test_the_families_own_values_are_all_accepted():
    for spec in families.available():
        for where, config in _configs(spec):
            assert setting_docs.config_problems(config, spec.id) == {}, f"{spec.id} {where}"


def test_values_out_of_range_get_a_plain_message():
    assert setting_docs.problem("lr", 5.0) == "Learning rate must be between 1e-07 and 1."
    assert setting_docs.problem("lr", math.nan) is not None
    assert setting_docs.problem("batch_size", 0) == "Batch size must be between 1 and 4,096."
    assert setting_docs.problem("precision", "fp8") == (
        "Number precision must be one of: Automatic, Full (fp32), Half (bf16), Half (fp16)."
    )
    assert [setting_docs.format_number(v) for v in (2e-4, 1e-6, 0.999, 4096, 20.0)] == [
        "0.0002",
        "1e-06",
        "0.999",
        "4,096",
        "20",
    ]
    assert setting_docs.problem("lr", 3e-4) is None and setting_docs.problem("no_such_key", -1) is None
    gpt = families.default_config("gpt")
    assert setting_docs.config_problems({**gpt, "n_embd": 100, "n_head": 6}, "gpt") == {
        "n_embd": "Embedding size must be a multiple of the attention heads (6)."
    }
    assert "micro_batch" in setting_docs.config_problems({**gpt, "micro_batch": 64, "batch_size": 32}, "gpt")


def test_choices_are_what_the_recipes_accept():
    from studio.core.datasets.audio_cache import BuildAudioCache
    from studio.core.datasets.augment import parse_policy
    from studio.core.datasets.image_cache import FITS
    from studio.core.nets import gan
    from studio.core.training.speech_vocoder import parse_rates
    from studio.core.training.text_gpt import GptRecipe

    assert set(describe("loss").allowed()) == set(gan.LOSSES)
    assert set(describe("fit").allowed()) == set(FITS)
    assert set(describe("resolution").allowed()) == set(families.resolutions())
    hop = inspect.signature(BuildAudioCache).parameters["hop_length"].default
    for rates in describe("upsample_rates").allowed():
        assert math.prod(parse_rates(rates)) == hop
    for policy in describe("diffaugment").allowed():
        parse_policy(policy)  # raises on an operation the GAN does not have
    gan_config = families.default_config("gan")
    for precision in describe("precision").allowed():
        families.check_config({**gan_config, "precision": precision})
    with pytest.raises(families.ConfigError):
        families.check_config({**gan_config, "precision": "fp8"})
    text_config = families.default_config("gpt")
    for tokenizer in describe("tokenizer").allowed():
        GptRecipe.check_settings({**text_config, "tokenizer": tokenizer})
    for spec in families.available():  # every default is one of its choices
        for key, value in families.default_config(spec.id).items():
            doc = describe(key, spec.id)
            if doc.choices:
                assert value in doc.allowed(), (spec.id, key, value)
                assert all(type(c.value) is type(value) for c in doc.choices), (spec.id, key)


def test_ranges_stay_inside_what_a_run_folder_may_claim():
    from studio.core.untrusted import LIMITS

    for spec in families.available():
        for key, limit in LIMITS.get(spec.id, {}).items():
            doc = describe(key, spec.id)
            if doc is None or doc.low is None:
                continue
            assert limit.low <= doc.low and doc.high <= limit.high, (spec.id, key, (doc.low, doc.high), limit)


def test_a_setting_that_needs_another_names_one_of_the_same_family():
    for spec in families.available():
        config = families.default_config(spec.id)
        for key in config:
            needs = describe(key, spec.id).needs
            if needs is not None:
                other, value = needs
                assert other in config and setting_docs.problem(other, value, spec.id) is None, (spec.id, key)


def test_the_form_order_follows_the_sections():
    keys = setting_docs.ordered(families.default_config("gan"), "gan")
    groups = [describe(key, "gan").group for key in keys]
    assert groups == sorted(groups, key=setting_docs.GROUPS.index)
    assert keys.index("ema") < keys.index("ema_decay") and keys[0] == "resolution"
    assert setting_docs.ordered(["zeta_knob", "lr", "alpha_knob"]) == ["lr", "zeta_knob", "alpha_knob"]


def test_a_one_class_dataset_turns_off_learning_the_classes():
    keys = families.default_config("gan")
    value, why = setting_docs.fixed_by_data(keys, classes=1)["conditional"]
    assert value is False and "has 1 class." in why and "2 or more classes" in why
    assert setting_docs.fixed_by_data(keys, classes=3) == {}
    assert setting_docs.fixed_by_data(keys, classes=None) == {}  # not known yet: nothing is forced
    assert setting_docs.fixed_by_data(families.default_config("gpt"), classes=1) == {}
