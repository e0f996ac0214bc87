"""The networks' config dataclasses (studio/core/nets/config.py): keyword-only, round trips through a run's
``describe()`` and ``from_dict``, old descriptions still build the very networks they built before, and the
sampling methods give the shapes their docstrings promise.

The literal tensor and parameter counts below were measured with the networks as they were before the configs
existed (positional constructors); a checkpoint saved then loads only if they still hold."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from studio.core.nets import autoencoder, gan, gpt, lstm, tts, vae, vocoder
from studio.core.nets.config import NetConfig

ROOT = Path(__file__).resolve().parents[3]

# describe() dicts exactly as the code before the configs wrote them (the GAN and VAE ones are the training tests'
# expectations, the GPT one is the shipped starter model's).
GAN_DESCRIPTION = {
    "kind": "gan",
    "resolution": 32,
    "z_dim": 32,
    "width": 16,
    "num_classes": 3,
    "classes": ["circle", "square", "triangle"],
    "weights": "generator",
    "ema": True,
}
VAE_DESCRIPTION = {**GAN_DESCRIPTION, "kind": "vae", "z_dim": 16, "width": 32, "weights": "vae", "ema": False}
LSTM_DESCRIPTION = {
    "kind": "lstm",
    "n_embd": 16,
    "n_hidden": 24,
    "n_layer": 2,
    "dropout": 0.2,
    "vocab_size": 40,
    "tokenizer": "char",
    "eot_id": 39,
    "weights": "model",
    "ema": False,
}
TTS_CONFIG = {
    "n_symbols": 50,
    "n_mels": 80,
    "reduction": 3,
    "embed_dim": 16,
    "encoder_convs": 3,
    "encoder_kernel": 5,
    "prenet_dim": 8,
    "attention_rnn_dim": 16,
    "decoder_rnn_dim": 16,
    "attention_dim": 8,
    "location_filters": 4,
    "location_kernel": 7,
    "postnet_dim": 8,
    "postnet_convs": 2,
    "dropout": 0.5,
    "rnn_dropout": 0.1,
    "gate_threshold": 0.5,
    "max_frames_per_symbol": 25,
}
VOCODER_CONFIG = {
    "n_mels": 80,
    "upsample_rates": [8, 8, 2, 2],
    "width": 16,
    "resblock_kernels": [3, 7, 11],
    "resblock_dilations": [1, 3, 5],
    "disc_width": 2,
}


def starter_gpt_description() -> dict:
    return json.loads((ROOT / "models" / "starter-shakespeare" / "config.json").read_text())["model"]


def tensors_and_parameters(network: torch.nn.Module) -> tuple[int, int]:
    return len(network.state_dict()), sum(p.numel() for p in network.parameters())


def shapes(network: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {name: tuple(value.shape) for name, value in network.state_dict().items()}


# -- old descriptions build the networks they always built -------------------------------------------------------
@pytest.mark.parametrize(
    "build, description, counts",
    [
        (gan.build_generator, GAN_DESCRIPTION, (20, 75_171)),
        (vae.build_vae, VAE_DESCRIPTION, (17, 498_115)),
        (gpt.build_gpt, starter_gpt_description(), (28, 836_992)),
        (lstm.build_lstm, LSTM_DESCRIPTION, (12, 9_872)),
        (tts.build_tts, {"kind": "tts", "config": TTS_CONFIG}, (63, 28_009)),
        (vocoder.build_generator, {"kind": "vocoder", "config": VOCODER_CONFIG}, (234, 22_896)),
    ],
    ids=["gan", "vae", "gpt", "lstm", "tts", "vocoder"],
)
def test_descriptions_written_before_the_configs_build_the_same_networks(build, description, counts):
    assert tensors_and_parameters(build(description)) == counts


def test_named_shapes_of_old_image_descriptions():
    assert {k: v for k, v in shapes(gan.build_generator(GAN_DESCRIPTION)).items() if "weight" in k} == {
        "stem.weight": (32, 64, 4, 4),
        "norms.0.gain.weight": (3, 64),
        "norms.0.bias.weight": (3, 64),
        "ups.0.weight": (64, 32, 4, 4),
        "norms.1.gain.weight": (3, 32),
        "norms.1.bias.weight": (3, 32),
        "ups.1.weight": (32, 16, 4, 4),
        "norms.2.gain.weight": (3, 16),
        "norms.2.bias.weight": (3, 16),
        "to_rgb.weight": (16, 3, 4, 4),
    }
    found = shapes(vae.build_vae(VAE_DESCRIPTION))
    assert (found["embed.weight"], found["to_latent.weight"], found["from_latent.weight"]) == (
        (3, 32),
        (32, 2080),
        (2048, 48),
    )


def test_image_networks_keep_their_sizes_as_attributes():
    """The generation code reads ``num_classes`` from a loaded network (what its weights were trained with)."""
    G, V = gan.build_generator(GAN_DESCRIPTION), vae.build_vae(VAE_DESCRIPTION)
    assert (G.resolution, G.z_dim, G.width, G.num_classes) == (32, 32, 16, 3)
    assert (V.resolution, V.z_dim, V.width, V.num_classes) == (32, 16, 32, 3)
    D = gan.Discriminator(gan.DiscriminatorConfig(resolution=64, width=4, num_classes=2))
    assert (D.resolution, D.width, D.num_classes) == (64, 4, 2)


def test_a_missing_key_takes_the_default_the_old_code_used():
    """The migration rule: the old build function read a GAN description without num_classes as 0."""
    old = {k: v for k, v in GAN_DESCRIPTION.items() if k not in ("num_classes", "classes")}
    assert gan.GeneratorConfig.from_dict(old).num_classes == 0
    assert shapes(gan.build_generator(old)) == shapes(gan.build_generator({**old, "num_classes": 0}))
    assert "norms.0.gain.weight" not in shapes(gan.build_generator(old))
    for config_class, values, key in [
        (tts.TtsConfig, TTS_CONFIG, "max_frames_per_symbol"),
        (vocoder.VocoderConfig, VOCODER_CONFIG, "disc_width"),
        (gpt.GPTConfig, starter_gpt_description(), "dropout"),
        (lstm.LSTMConfig, LSTM_DESCRIPTION, "n_layer"),
    ]:
        without = config_class.from_dict({k: v for k, v in values.items() if k != key})
        default = next(f.default for f in config_class.__dataclass_fields__.values() if f.name == key)
        assert getattr(without, key) == default and getattr(config_class.from_dict(values), key) == values[key]


def test_unknown_keys_are_ignored_and_required_ones_are_named():
    newer = {**GAN_DESCRIPTION, "a_size_from_a_newer_studio": 7, "notes": "text"}
    assert gan.GeneratorConfig.from_dict(newer) == gan.GeneratorConfig.from_dict(GAN_DESCRIPTION)
    for config_class, values, key in [
        (gan.GeneratorConfig, GAN_DESCRIPTION, "resolution"),
        (vae.VaeConfig, VAE_DESCRIPTION, "resolution"),
        (gpt.GPTConfig, starter_gpt_description(), "vocab_size"),
        (lstm.LSTMConfig, LSTM_DESCRIPTION, "vocab_size"),
        (tts.TtsConfig, TTS_CONFIG, "n_symbols"),
    ]:
        with pytest.raises(ValueError, match=f"has no {key}"):
            config_class.from_dict({k: v for k, v in values.items() if k != key})
    with pytest.raises(ValueError, match="JSON object"):
        gan.GeneratorConfig.from_dict([32])


def test_values_are_converted_to_the_field_types_or_refused_by_name():
    config = gan.GeneratorConfig.from_dict({**GAN_DESCRIPTION, "resolution": 32.0, "width": 16.0})
    assert (config.resolution, config.width) == (32, 16) and type(config.width) is int
    assert vocoder.VocoderConfig.from_dict(VOCODER_CONFIG).upsample_rates == (8, 8, 2, 2)
    assert type(gpt.GPTConfig.from_dict({"vocab_size": 5, "dropout": 0}).dropout) is float
    for config_class, values in [
        (gan.GeneratorConfig, {**GAN_DESCRIPTION, "width": "16"}),
        (gan.GeneratorConfig, {**GAN_DESCRIPTION, "width": 16.5}),
        (gan.GeneratorConfig, {**GAN_DESCRIPTION, "z_dim": True}),
        (gpt.GPTConfig, {**starter_gpt_description(), "bias": 1}),
        (vocoder.VocoderConfig, {**VOCODER_CONFIG, "upsample_rates": "8,8,2,2"}),
        (vocoder.VocoderConfig, {**VOCODER_CONFIG, "resblock_kernels": [3, "7"]}),
    ]:
        with pytest.raises(ValueError, match=r"(width|z_dim|bias|upsample_rates|resblock_kernels) must be"):
            config_class.from_dict(values)


# -- round trips --------------------------------------------------------------------------------------------------
CONFIGS = [
    gan.GeneratorConfig(resolution=128, z_dim=7, width=5, num_classes=4),
    gan.DiscriminatorConfig(resolution=64, width=3, num_classes=2, spectral_norm=False),
    vae.VaeConfig(resolution=256, z_dim=9, width=2, num_classes=1),
    gpt.GPTConfig(vocab_size=11, block_size=12, n_layer=3, n_head=2, n_embd=8, dropout=0.25, bias=False),
    lstm.LSTMConfig(vocab_size=13, n_embd=6, n_hidden=7, n_layer=3, dropout=0.5),
    tts.TtsConfig(**{**TTS_CONFIG, "reduction": 2, "gate_threshold": 0.25}),
    vocoder.VocoderConfig(**{**VOCODER_CONFIG, "upsample_rates": (4, 4, 4, 4), "resblock_kernels": (3,)}),
    autoencoder.AutoencoderConfig(width=3, latent_channels=5),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: type(c).__name__)
def test_every_config_round_trips_through_json(config):
    assert isinstance(config, NetConfig)
    saved = json.loads(json.dumps(config.to_dict()))  # what config.json holds
    assert type(config).from_dict(saved) == config
    assert list(saved) == list(type(config).field_names())


def _recipe(recipe_class, **attributes):
    """A recipe with only the attributes net_config() and describe() read (no dataset, no cache)."""
    recipe = object.__new__(recipe_class)
    vars(recipe).update(attributes)
    return recipe


def test_every_family_describes_its_network_with_its_config():
    """describe() holds the generating network's config, and the family's build function rebuilds it."""
    from studio.core.training.image_gan import GanRecipe
    from studio.core.training.image_vae import VaeRecipe
    from studio.core.training.speech_tts import TtsRecipe
    from studio.core.training.speech_vocoder import VocoderRecipe
    from studio.core.training.text_gpt import GptRecipe
    from studio.core.training.text_lstm import LstmRecipe

    classes = ["a", "b"]
    image = {"resolution": 64, "z_dim": 12, "width": 6, "spectral_norm": False, "ema": True}
    text = {"block_size": 16, "n_layer": 2, "n_head": 2, "n_embd": 8, "dropout": 0.1, "bias": False}
    text |= {"n_hidden": 10, "tokenizer": "char", "ema": False}
    tokenizer = SimpleNamespace(eot_id=3)
    mel = {"sample_rate": 22050, "hop_length": 256}
    cases = [
        (GanRecipe, dict(config=image, num_classes=2, classes=classes), gan.build_generator),
        (VaeRecipe, dict(config=image, num_classes=2, classes=classes), vae.build_vae),
        (GptRecipe, dict(config=text, vocab_size=30, tokenizer=tokenizer), gpt.build_gpt),
        (LstmRecipe, dict(config=text, vocab_size=30, tokenizer=tokenizer), lstm.build_lstm),
    ]
    for recipe_class, attributes, build in cases:
        recipe = _recipe(recipe_class, **attributes)
        description = json.loads(json.dumps(recipe.describe()))
        config = recipe.net_config()
        assert type(config).from_dict(description) == config, recipe_class
        assert build(description).config == config
        assert description["kind"] == recipe.family
    gan_recipe = _recipe(GanRecipe, config=image, num_classes=2, classes=classes)
    assert gan_recipe.discriminator_config() == gan.DiscriminatorConfig(
        resolution=64, width=6, num_classes=2, spectral_norm=False
    )
    assert set(gan_recipe.describe()) == set(GAN_DESCRIPTION)  # the same keys as before the configs

    tts_config = tts.TtsConfig(**TTS_CONFIG)
    speech = dict(mel=mel, language="en-us", phonemizer="espeak-ng", symbols_version=1, config={"ema": False})
    description = json.loads(json.dumps(_recipe(TtsRecipe, net_config=tts_config, **speech).describe()))
    assert tts.TtsConfig.from_dict(description["config"]) == tts_config
    assert tts.build_tts(description).config == tts_config
    voc = _recipe(
        VocoderRecipe, mel=mel, rates=(8, 8, 2, 2), config={"n_mels": 80, "width": 16, "disc_width": 2, "ema": True}
    )
    description = json.loads(json.dumps(voc.describe()))
    assert vocoder.VocoderConfig.from_dict(description["config"]) == voc.net_config()
    assert vocoder.build_generator(description).config == voc.net_config()


# -- keyword-only ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "network, config_class, positional",
    [
        (gan.Generator, gan.GeneratorConfig, (64, 128, 64)),
        (gan.Discriminator, gan.DiscriminatorConfig, (64, 64)),
        (vae.ConvVAE, vae.VaeConfig, (64, 64, 32)),
        (gpt.GPT, gpt.GPTConfig, (65,)),
        (lstm.LSTMLM, lstm.LSTMConfig, (65,)),
        (tts.Tacotron2, tts.TtsConfig, (50,)),
        (vocoder.Generator, vocoder.VocoderConfig, (80,)),
        (vocoder.Discriminator, vocoder.VocoderConfig, (80,)),
        (autoencoder.TinyAutoencoder, autoencoder.AutoencoderConfig, (16, 8)),
    ],
)
def test_sizes_cannot_be_passed_by_position(network, config_class, positional):
    with pytest.raises(TypeError):
        config_class(*positional)
    with pytest.raises(TypeError, match=f"{network.__name__} takes a {config_class.__name__}"):
        network(positional[0])
    with pytest.raises(TypeError):
        network(*positional, 1)  # one argument, the config: never a list of sizes


def test_configs_refuse_sizes_no_network_has():
    for make in [
        lambda: gan.GeneratorConfig(resolution=48),
        lambda: gan.GeneratorConfig(resolution=32, z_dim=0),
        lambda: gan.DiscriminatorConfig(resolution=32, num_classes=-1),
        lambda: vae.VaeConfig(resolution=512),
        lambda: vae.VaeConfig(resolution=32, width=0),
        lambda: autoencoder.AutoencoderConfig(latent_channels=0),
    ]:
        with pytest.raises(ValueError):
            make()


# -- sampling ----------------------------------------------------------------------------------------------------
def test_image_networks_generate_pictures_without_gradients():
    G = gan.Generator(gan.GeneratorConfig(resolution=32, z_dim=8, width=4, num_classes=2)).eval()
    V = vae.ConvVAE(vae.VaeConfig(resolution=64, z_dim=6, width=4)).eval()
    z, labels = torch.randn(3, 8), torch.tensor([0, 1, 1])
    pictures = G.generate(z, labels)
    assert pictures.shape == (3, 3, 32, 32) and not pictures.requires_grad and pictures.abs().max() <= 1
    assert torch.equal(pictures, G(z, labels).detach())
    z = torch.randn(5, 6)
    assert V.generate(z).shape == (5, 3, 64, 64) and torch.equal(V.generate(z), V.decode(z).detach())
    first = V.sample(4, generator=torch.Generator().manual_seed(1))
    again = V.sample(4, generator=torch.Generator().manual_seed(1))
    assert first.shape == (4, 3, 64, 64) and not first.requires_grad and torch.equal(first, again)
    assert torch.equal(first, V.decode(torch.randn(4, 6, generator=torch.Generator().manual_seed(1))).detach())
    with pytest.raises(ValueError, match="class-conditional"):
        G.generate(torch.randn(1, 8))


def test_language_models_generate_appended_tokens():
    prompt = torch.tensor([[1, 2, 3], [4, 5, 6]])
    for network in [
        gpt.GPT(gpt.GPTConfig(vocab_size=9, block_size=4, n_layer=1, n_head=1, n_embd=4)),
        lstm.LSTMLM(lstm.LSTMConfig(vocab_size=9, n_embd=4, n_hidden=5, n_layer=1)),
    ]:
        out = network.eval().generate(prompt, 6, temperature=0.0)
        assert out.shape == (2, 9) and torch.equal(out[:, :3], prompt) and int(out.max()) < 9


def test_speech_networks_synthesize_the_documented_shapes():
    tts_config = tts.TtsConfig(**TTS_CONFIG)
    mel, frames, alignments = tts.Tacotron2(tts_config).eval().infer(torch.tensor([[5, 6, 7, 8]]), max_steps=4)
    S = alignments.shape[1]
    assert mel.shape == (1, 3 * S, 80) and alignments.shape == (1, S, 4) and 1 <= S <= 4
    assert int(frames[0]) % 3 == 0 and not mel.requires_grad
    G = vocoder.Generator(vocoder.VocoderConfig(**VOCODER_CONFIG))
    audio = G.generate(torch.randn(2, 80, 5))
    assert audio.shape == (2, 5 * 256) and not audio.requires_grad and audio.abs().max() <= 1


# -- one definition of the picture sizes ------------------------------------------------------------------------
def test_the_image_cache_and_the_networks_share_one_torch_free_list_of_sizes():
    from studio.core.datasets import image_cache
    from studio.core.nets import image_sizes

    assert image_cache.RESOLUTIONS is image_sizes.RESOLUTIONS == (32, 64, 128, 256)
    code = "import sys, studio.core.nets.image_sizes, studio.core.nets.config; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr[-1000:]
