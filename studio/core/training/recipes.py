"""The model families the engine can train, their default hyperparameters and presets.

This module imports no torch: the Training panel builds its forms (one field per key of
:func:`default_config`) at start-up, and rule 6 of ARCHITECTURE.md keeps the window fast. The recipe class
itself (which needs torch) is loaded only when a run starts, from the ``"module:Class"`` string of its spec.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from studio.core.jobs import JobError

PRESET_TITLES = {"fast": "Fast preview", "balanced": "Balanced", "best": "Best quality"}


class ConfigError(JobError):
    """An unusable setting (unknown family, preset or key, or a value of the wrong type): the CLI exits 2."""


@dataclass(frozen=True)
class RecipeInfo:
    """What the panel lists: ``kinds`` are the dataset kinds ("image", "text", "audio") it trains on."""

    family: str
    title: str
    kinds: tuple[str, ...]
    description: str
    resolutions: tuple[int, ...] = ()  # picture sizes it trains at, when there is a choice (the panel offers them)


@dataclass(frozen=True)
class FamilySpec:
    """Everything the registry knows about one family without importing torch."""

    info: RecipeInfo
    recipe: str  # "package.module:Class", imported when a run starts
    defaults: dict = field(default_factory=dict)  # family hyperparameters (engine settings come from ENGINE_DEFAULTS)
    presets: dict = field(default_factory=dict)  # "fast" | "balanced" | "best" -> overrides


# Settings every family shares: they drive the engine (schedule, precision, checkpoints, callbacks).
ENGINE_DEFAULTS: dict = {
    "steps": 1000,
    "batch_size": 32,
    "micro_batch": 0,  # 0 = the whole batch at once; smaller values accumulate gradients
    "lr": 2e-3,
    "weight_decay": 0.0,
    "warmup_steps": 50,
    "min_lr_ratio": 0.1,  # cosine decays to lr * min_lr_ratio
    "grad_clip": 1.0,  # 0 = no clipping
    "ema": False,
    "ema_decay": 0.99,
    "precision": "auto",  # auto | fp32 | bf16 | fp16 (auto: bf16 on CUDA when supported, else fp16; fp32 on CPU)
    "compile": False,
    "seed": 0,
    "log_every": 10,
    "eval_every": 100,
    "sample_every": 200,
    "checkpoint_every": 200,
    "checkpoint_minutes": 10.0,
    "keep_last": 3,
    "early_stopping_patience": 0,  # evaluations without improvement before stopping; 0 = off
}

_FAMILIES: dict[str, FamilySpec] = {}


def register(spec: FamilySpec) -> None:
    """Add (or replace) a family. Later issues register theirs here; tests register test recipes."""
    _FAMILIES[spec.info.family] = spec


def unregister(family: str) -> None:
    _FAMILIES.pop(family, None)


def available() -> list[RecipeInfo]:
    return [spec.info for spec in _FAMILIES.values()]


def spec(family: str) -> FamilySpec:
    try:
        return _FAMILIES[family]
    except KeyError:
        names = ", ".join(sorted(_FAMILIES)) or "none"
        raise ConfigError(f"There is no model family “{family}”. Available: {names}.") from None


def presets(family: str) -> dict[str, dict]:
    return {name: dict(values) for name, values in spec(family).presets.items()}


def default_config(family: str) -> dict:
    """Every hyperparameter of ``family`` with its default (int/float/bool/str only)."""
    return {**ENGINE_DEFAULTS, **spec(family).defaults}


def resolve_config(family: str, preset: str | None = "balanced", overrides: dict | None = None) -> dict:
    """defaults <- preset <- overrides, with each override checked against the default's type.

    Overrides may be strings (from ``--set key=value``): they are converted to the default's type, so a
    typo such as ``lr=fast`` is refused here in plain words rather than failing deep inside torch.
    """
    config = default_config(family)
    if preset:
        table = presets(family)
        if preset not in table:
            raise ConfigError(f"There is no preset “{preset}” for {family}. Choose one of: {', '.join(table)}.")
        config.update(table[preset])
    for key, value in (overrides or {}).items():
        if key not in config:
            raise ConfigError(f"“{key}” is not a setting of {family}. Settings: {', '.join(sorted(config))}.")
        config[key] = coerce(key, value, config[key])
    check_config(config)
    return config


def coerce(key: str, value, default):
    """Convert ``value`` to the type of ``default`` (bool before int: bool is a subclass of int)."""
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                    raise ValueError(value)
                return lowered in ("true", "1", "yes", "on")
            return bool(value)
        if isinstance(default, int):
            number = float(value)
            if number != int(number):
                raise ValueError(value)
            return int(number)
        if isinstance(default, float):
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        kind = {bool: "true or false", int: "a whole number", float: "a number"}.get(type(default), "text")
        raise ConfigError(f"The setting {key} must be {kind}, not “{value}”.") from None


def check_config(config: dict) -> None:
    """Refuse values no run could use, with the reason."""
    positive = ("steps", "batch_size", "log_every", "eval_every", "sample_every", "checkpoint_every", "keep_last")
    for key in positive:
        if config[key] < 1:
            raise ConfigError(f"The setting {key} must be at least 1 (it is {config[key]}).")
    if config["micro_batch"] < 0 or config["micro_batch"] > config["batch_size"]:
        raise ConfigError("micro_batch must be between 0 (the whole batch) and batch_size.")
    if config["lr"] <= 0:
        raise ConfigError("The learning rate (lr) must be above 0.")
    if config["precision"] not in ("auto", "fp32", "bf16", "fp16"):
        raise ConfigError("precision must be one of auto, fp32, bf16, fp16.")
    if not 0.0 <= config["ema_decay"] < 1.0:
        raise ConfigError("ema_decay must be at least 0 and below 1.")


def load_recipe_class(family: str):
    module_name, _, class_name = spec(family).recipe.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


register(
    FamilySpec(
        info=RecipeInfo(
            "reference",
            "Reference autoencoder",
            ("image",),
            "A tiny convolutional autoencoder on 32 px pictures: trains in seconds on a CPU. It checks "
            "the data, the engine and the device end to end before a long run.",
        ),
        recipe="studio.core.training.reference:ReferenceRecipe",
        defaults={"resolution": 32, "fit": "crop", "width": 16, "latent_channels": 8, "preview_count": 8},
        presets={
            "fast": {"steps": 200, "width": 8, "batch_size": 16},
            "balanced": {"steps": 1000, "width": 16, "batch_size": 32},
            "best": {"steps": 4000, "width": 32, "batch_size": 64, "ema": True, "lr": 1e-3},
        },
    )
)

# GANs get their own engine settings, each for a reason:
# - lr 2e-4 with Adam betas (0.0, 0.99): the StyleGAN/BigGAN choice; beta1 = 0 keeps no momentum, which
#   would otherwise carry each player's update past the moving target the other player is;
# - warmup_steps 0 and min_lr_ratio 1.0 (a constant rate): the two players must keep learning at the same
#   pace, and a warm-up or a decay changes both at once without helping that balance; EMA does the
#   smoothing a decay would;
# - grad_clip 0: the discriminator's gradient norms are routinely far above 1, so clipping at 1 would quietly
#   rescale the loss's balance (and defeat WGAN-GP, whose critic must stay unclipped);
# - ema on with decay 0.999 (a half-life of ~700 steps): previews, the quality score and generation use it.
register(
    FamilySpec(
        info=RecipeInfo(
            "gan",
            "Image GAN (DCGAN)",
            ("image",),
            "Learns to invent new pictures that look like your dataset; with class folders it can "
            "make pictures of a chosen class. Best with a few hundred pictures or more.",
            resolutions=(32, 64, 128, 256),
        ),
        recipe="studio.core.training.image_gan:GanRecipe",
        defaults={
            "resolution": 64,
            "fit": "crop",
            "z_dim": 128,
            "width": 64,
            "conditional": True,
            "loss": "hinge",
            "diffaugment": "color,translation,cutout",
            "spectral_norm": True,
            "r1_gamma": 0.0,
            "lr": 2e-4,
            "adam_beta1": 0.0,
            "adam_beta2": 0.99,
            "warmup_steps": 0,
            "min_lr_ratio": 1.0,
            "grad_clip": 0.0,
            "ema": True,
            "ema_decay": 0.999,
            "batch_size": 64,
            "steps": 20000,
            "eval_every": 1000,
            "sample_every": 500,
            "checkpoint_every": 1000,
            "eval_count": 256,
            "preview_count": 8,
        },
        presets={
            "fast": {
                "steps": 3000,
                "width": 32,
                "batch_size": 32,
                "eval_every": 500,
                "sample_every": 250,
                "checkpoint_every": 500,
            },
            "balanced": {"steps": 20000, "width": 64, "batch_size": 64},
            "best": {"steps": 60000, "width": 96, "batch_size": 64, "eval_every": 2000, "checkpoint_every": 2000},
        },
    )
)

register(
    FamilySpec(
        info=RecipeInfo(
            "vae",
            "Image VAE",
            ("image",),
            "Learns a smooth map of your pictures: it rebuilds them, blends between them and draws "
            "new, softer-looking ones; trains steadily even on small datasets.",
            resolutions=(32, 64, 128, 256),
        ),
        recipe="studio.core.training.image_vae:VaeRecipe",
        defaults={
            "resolution": 64,
            "fit": "crop",
            "z_dim": 64,
            "width": 32,
            "conditional": True,
            "beta": 1.0,
            "kl_warmup_steps": 1000,
            "batch_size": 64,
            "steps": 10000,
            "eval_every": 500,
            "sample_every": 500,
            "checkpoint_every": 1000,
            "eval_count": 256,
            "preview_count": 8,
        },
        presets={
            "fast": {"steps": 2000, "width": 16, "batch_size": 32, "kl_warmup_steps": 300},
            "balanced": {"steps": 10000, "width": 32, "batch_size": 64},
            "best": {"steps": 30000, "width": 64, "batch_size": 64, "ema": True, "kl_warmup_steps": 3000},
        },
    )
)

# Language models. Shared engine settings, each for a reason:
# - AdamW betas (0.9, 0.99) and weight decay 0.1 on 2-D weights: nanoGPT's choice for small char models
#   (beta2 0.99 rather than 0.95 because a step holds few tokens, so the second moment needs a longer memory);
# - warmup 100 steps then cosine to lr/10 (min_lr_ratio 0.1), gradient clipping at 1.0: nanoGPT's schedule;
# - dropout 0.2 and early stopping after 6 evaluations without a better val_loss: copywriting datasets are
#   small (10 KB–10 MB), so a model sees the same text hundreds of times and over-fits; the best
#   checkpoint is kept whatever happens later;
# - EMA off: for language models it gains little over the cosine decay's end, and costs a model copy;
# - tokenizer "char" by default: it works for any language (Chinese characters are single tokens) and on
#   small data; "bpe" with vocab_size ~4096 packs ~3-4 times more text into a window on larger English data.
_TEXT_COMMON = {
    "tokenizer": "char",
    "vocab_size": 4096,
    "dropout": 0.2,
    "adam_beta2": 0.99,
    "weight_decay": 0.1,
    "lr": 1e-3,
    "warmup_steps": 100,
    "min_lr_ratio": 0.1,
    "grad_clip": 1.0,
    "early_stopping_patience": 6,
    "eval_windows": 200,
    "preview_tokens": 200,
    "preview_temperature": 0.8,
    "eval_every": 250,
    "sample_every": 250,
    "checkpoint_every": 500,
}

register(
    FamilySpec(
        info=RecipeInfo(
            "gpt",
            "Text GPT (transformer)",
            ("text",),
            "Learns to write like your texts: product copy, slogans, posts, stories. A small GPT "
            "(nanoGPT-style transformer); the best quality of the text models, and fast on a GPU.",
        ),
        recipe="studio.core.training.text_gpt:GptRecipe",
        defaults={
            **_TEXT_COMMON,
            "block_size": 256,
            "n_layer": 6,
            "n_head": 6,
            "n_embd": 384,
            "bias": False,
            "batch_size": 32,
            "steps": 5000,
        },
        # fast: nanoGPT's CPU shakespeare model (0.8 M parameters; 2,000 steps took 14.6 min on a shared 2-core
        # cloud CPU, tests/benchmarks/test_nanogpt_shakespeare.py, and less on a desktop CPU's free cores);
        # balanced: nanoGPT's shakespeare_char GPU model (10.7 M); best: 25 M with a 512-token context.
        presets={
            "fast": {
                "steps": 2000,
                "block_size": 64,
                "n_layer": 4,
                "n_head": 4,
                "n_embd": 128,
                "dropout": 0.1,
                "batch_size": 12,
                "eval_every": 200,
                "sample_every": 200,
            },
            "balanced": {"steps": 5000, "block_size": 256, "n_layer": 6, "n_head": 6, "n_embd": 384, "batch_size": 32},
            "best": {
                "steps": 20000,
                "block_size": 512,
                "n_layer": 8,
                "n_head": 8,
                "n_embd": 512,
                "batch_size": 32,
                "lr": 6e-4,
                "warmup_steps": 500,
                "eval_every": 500,
                "sample_every": 500,
                "checkpoint_every": 1000,
            },
        },
    )
)

register(
    FamilySpec(
        info=RecipeInfo(
            "lstm",
            "Text LSTM (recurrent)",
            ("text",),
            "A lighter text model: trains quickly on a CPU and on small datasets, and writes texts of "
            "any length at a steady speed. Usually a little less fluent than the GPT.",
        ),
        recipe="studio.core.training.text_lstm:LstmRecipe",
        defaults={
            **_TEXT_COMMON,
            "block_size": 128,
            "n_embd": 256,
            "n_hidden": 512,
            "n_layer": 2,
            "lr": 2e-3,
            "weight_decay": 0.0,
            "batch_size": 32,
            "steps": 3000,
        },
        presets={
            "fast": {
                "steps": 1000,
                "block_size": 64,
                "n_embd": 128,
                "n_hidden": 256,
                "batch_size": 16,
                "dropout": 0.1,
                "eval_every": 200,
                "sample_every": 200,
            },
            "balanced": {"steps": 3000, "block_size": 128, "n_embd": 256, "n_hidden": 512},
            "best": {
                "steps": 10000,
                "block_size": 256,
                "n_embd": 384,
                "n_hidden": 1024,
                "n_layer": 3,
                "eval_every": 500,
                "sample_every": 500,
                "checkpoint_every": 1000,
            },
        },
    )
)

# Speech. Both families read the audio cache (80 log-mel bands, hop 256: HiFi-GAN's convention, so the two
# models of one voice always agree on what a frame is).
# TTS engine settings, each for a reason:
# - lr 1e-3 with AdamW (0.9, 0.999) and weight decay 1e-6, gradient clipping at 1.0: Tacotron 2's own (NVIDIA's
#   recipe); clipping matters, an attention RNN's gradients spike when the alignment jumps;
# - warm-up 200 steps, cosine to lr/10: the attention forms in the first few hundred steps, and a gentle start
#   keeps the guided-attention term in charge while it does;
# - batch 16: a voice dataset is small (10-60 minutes), and a CPU step costs one LSTM pass per decoder step;
# - reduction 2 and guided attention 1.0 (sigma 0.2, Tachibana et al.): alignment forms on ~20 minutes of speech
#   (see studio/core/nets/tts.py);
# - EMA off: the cosine decay's end does the smoothing, and previews should show the weights that train.
register(
    FamilySpec(
        info=RecipeInfo(
            "tts",
            "Own voice (Tacotron 2)",
            ("audio",),
            "Learns to read text aloud in the voice of your recordings (clips with transcripts). Best "
            "with 15 minutes of clean speech or more; pair it with a vocoder trained on the same clips.",
        ),
        recipe="studio.core.training.speech_tts:TtsRecipe",
        defaults={
            "n_mels": 80,
            "reduction": 2,
            "embed_dim": 256,
            "prenet_dim": 128,
            "attention_rnn_dim": 512,
            "decoder_rnn_dim": 512,
            "attention_dim": 128,
            "postnet_dim": 256,
            "dropout": 0.5,
            "rnn_dropout": 0.1,
            "max_frames_per_symbol": 25,
            "max_clip_seconds": 20.0,
            "guided_attention": 1.0,
            "guided_sigma": 0.2,
            "gate_weight": 1.0,
            "gate_pos_weight": 5.0,
            "lr": 1e-3,
            "weight_decay": 1e-6,
            "warmup_steps": 200,
            "min_lr_ratio": 0.1,
            "grad_clip": 1.0,
            "batch_size": 16,
            "steps": 20000,
            "eval_every": 500,
            "sample_every": 1000,
            "checkpoint_every": 1000,
        },
        # fast: r = 3 and half-size layers: 3x fewer decoder steps, the alignment forms soonest, it runs on a CPU
        #       (a first listen in an hour or two); it sounds buzzy;
        # balanced: r = 2 with layers half of Tacotron 2's (7 M parameters): the size that fits 15-60 minutes of
        #       one voice without over-fitting; a GPU run of a few hours;
        # best: Tacotron 2's full size (28 M) for an hour or more of speech; a day on a GPU.
        presets={
            "fast": {
                "steps": 5000,
                "reduction": 3,
                "embed_dim": 128,
                "prenet_dim": 64,
                "attention_rnn_dim": 256,
                "decoder_rnn_dim": 256,
                "postnet_dim": 128,
                "batch_size": 16,
                "eval_every": 250,
                "sample_every": 500,
                "checkpoint_every": 500,
            },
            "balanced": {
                "steps": 20000,
                "reduction": 2,
                "embed_dim": 256,
                "prenet_dim": 128,
                "attention_rnn_dim": 512,
                "decoder_rnn_dim": 512,
                "postnet_dim": 256,
                "batch_size": 16,
            },
            "best": {
                "steps": 60000,
                "reduction": 2,
                "embed_dim": 512,
                "prenet_dim": 256,
                "attention_rnn_dim": 1024,
                "decoder_rnn_dim": 1024,
                "postnet_dim": 512,
                "batch_size": 32,
                "eval_every": 1000,
                "sample_every": 2000,
                "checkpoint_every": 2000,
            },
        },
    )
)

# Vocoder engine settings: HiFi-GAN's (AdamW betas (0.8, 0.99), weight decay 0.01, lr 2e-4), with the image
# GAN's reasons for no warm-up and no gradient clipping; a cosine decay to lr/10 stands in for the paper's
# per-epoch exponential decay (0.999 per epoch ends near the same place). EMA off, as in the paper.
register(
    FamilySpec(
        info=RecipeInfo(
            "vocoder",
            "Vocoder (HiFi-GAN)",
            ("audio",),
            "Turns mel spectrograms into natural-sounding audio for your own voice, far better than the "
            "built-in Griffin-Lim. Trains on every clip, transcripts or not.",
        ),
        recipe="studio.core.training.speech_vocoder:VocoderRecipe",
        defaults={
            "n_mels": 80,
            "upsample_rates": "8,8,2,2",
            "width": 128,
            "disc_width": 16,
            "segment_frames": 32,
            "mel_weight": 45.0,
            "fm_weight": 2.0,
            "adam_beta1": 0.8,
            "adam_beta2": 0.99,
            "lr": 2e-4,
            "weight_decay": 0.01,
            "warmup_steps": 0,
            "min_lr_ratio": 0.1,
            "grad_clip": 0.0,
            "batch_size": 16,
            "steps": 50000,
            "eval_every": 1000,
            "sample_every": 1000,
            "checkpoint_every": 1000,
            "eval_clips": 8,
        },
        # fast: a quarter-width generator (72 K parameters, real time many times over on a CPU) and thin
        #       discriminators: the one size a CPU can train (20,000 steps, ~5 h here); a GPU trains the others;
        # balanced: HiFi-GAN V2's generator (0.9 M parameters) with discriminators at half the paper's width;
        # best: a generator twice V2's width with the paper's discriminators, on longer windows (GPU).
        presets={
            "fast": {
                "steps": 20000,
                "width": 32,
                "disc_width": 4,
                "batch_size": 8,
                "segment_frames": 32,
                "eval_every": 500,
                "sample_every": 500,
                "checkpoint_every": 500,
            },
            "balanced": {"steps": 50000, "width": 128, "disc_width": 16, "batch_size": 16},
            "best": {
                "steps": 200000,
                "width": 256,
                "disc_width": 32,
                "batch_size": 16,
                "segment_frames": 40,
                "eval_every": 2000,
                "sample_every": 2000,
                "checkpoint_every": 2000,
            },
        },
    )
)
