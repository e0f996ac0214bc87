"""What every training setting means, in words a designer reads: a label, a one-line tooltip (what it does and when
to change it), its choices or its range, and the section of the Advanced form it sits in.

Why a table of its own beside the family table (:mod:`studio.core.training.families`): a setting such as
``lr`` or ``batch_size`` belongs to every family, so describing it per family would repeat the same words seven
times, while a family may still say what a shared key means for it (:data:`_FOR_FAMILY`: ``width`` is the GAN's
channel count but the vocoder's first layer). The table is plain data and imports no torch and no Qt: the
Training panel builds its form from it at start-up (rule 6 of ARCHITECTURE.md), the CLI could print it, and a
test fails when a family gains a setting nobody described (tests/core/training/test_setting_docs.py).

The ranges are what the form lets a user type, not the engine's limits: each is inside what the recipes accept
and what a run folder may claim (:data:`studio.core.untrusted.LIMITS`, checked by that test), so a value the form
takes is one the run can use and the studio can load again. Choices repeat what the recipes accept (the GAN
losses, the picture fits, the precisions); that test compares them with the recipes' own lists, which import
torch and so cannot be read here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from studio.core import words
from studio.core.nets.image_sizes import RESOLUTIONS

# The Advanced form's sections, in the order it shows them.
DATA, MODEL, LEARNING, CHECKS, SAVING, SPEED = (
    "Data",
    "Model size",
    "Learning",
    "Checks and previews",
    "Saving",
    "Speed",
)
GROUPS = (DATA, MODEL, LEARNING, CHECKS, SAVING, SPEED)


@dataclass(frozen=True)
class Choice:
    """One allowed value of a setting and its name in a drop-down (``tip``: what picking it means)."""

    value: Any
    label: str
    tip: str = ""


@dataclass(frozen=True)
class SettingDoc:
    """A setting as the user meets it. ``low``/``high`` bound a number (inclusive); ``needs`` is the
    ``(key, value)`` another setting must have for this one to act (the EMA's smoothing acts only with EMA on);
    ``unit`` follows a whole number in its field ("steps")."""

    label: str
    tip: str
    group: str
    choices: tuple[Choice, ...] = ()
    low: float | None = None
    high: float | None = None
    needs: tuple[str, Any] | None = None
    unit: str = ""

    def allowed(self) -> tuple:
        return tuple(choice.value for choice in self.choices)


def _range(label: str, tip: str, group: str, low: float, high: float, unit: str = "", **more) -> SettingDoc:
    return SettingDoc(label, tip, group, low=low, high=high, unit=unit, **more)


_STEPS = " steps"
_MAX_STEPS = 10_000_000

# -- the table: key -> description (the form shows each section in this order) -----------------------------------------
DOCS: dict[str, SettingDoc] = {
    # data: what the model learns from
    "resolution": SettingDoc(
        "Picture size",
        "Size of the pictures the model learns and makes; larger is sharper but trains slower and needs more memory.",
        DATA,
        choices=tuple(
            Choice(size, f"{size} px", f"Learns and makes pictures of {size} × {size} pixels") for size in RESOLUTIONS
        ),
    ),
    "fit": SettingDoc(
        "Non-square pictures",
        "How pictures that are not square become square: cropping keeps the centre, padding keeps all of it.",
        DATA,
        choices=(
            Choice("crop", "Crop", "Cut the long side to the middle square (the edges are lost)"),
            Choice("pad", "Pad", "Keep the whole picture and fill the short side with a border"),
        ),
    ),
    "conditional": SettingDoc(
        "Learn the classes",
        "Learns each class (sub-folder) apart, so you can ask for pictures of one class; needs 2 or more classes.",
        DATA,
    ),
    "dataset_b": SettingDoc(
        "Style B dataset",
        "The dataset of pictures in the other style, by name; empty uses a dataset with exactly two class folders.",
        DATA,
    ),
    "diffaugment": SettingDoc(
        "Augmentation",
        "Random changes to real and made pictures so a small dataset is not memorised; off above ~10,000 pictures.",
        DATA,
        choices=(
            Choice("color,translation,cutout", "Strong", "Colour, shift and cutout: for a few hundred pictures"),
            Choice("color,translation", "Medium", "Colour and shift: for a few thousand pictures"),
            Choice("translation", "Light", "Shift only: keeps colours exactly as in the dataset"),
            Choice("color,translation,cutout,flip", "Strongest", "Strong, plus mirroring: for pictures without text"),
            Choice("", "Off", "No augmentation: for large datasets (10,000 pictures or more)"),
        ),
    ),
    "tokenizer": SettingDoc(
        "Text units",
        "What the model reads and writes: characters suit small texts in any language, word pieces large English ones.",
        DATA,
        choices=(
            Choice("char", "Characters", "Any language, any text size; best under about 1 MB of text"),
            Choice("bpe", "Word pieces", "Byte-pair encoding (BPE): more text per context; for 1 MB of text or more"),
        ),
    ),
    "vocab_size": _range(
        "Word pieces",
        "How many word pieces the tokenizer learns (word pieces only); 4,096 suits most texts, more needs more text.",
        DATA,
        258,
        65_536,
        needs=("tokenizer", "bpe"),
    ),
    "n_mels": _range(
        "Mel bands",
        "Frequency bands of the spectrogram the model works with; keep 80 so a voice and its vocoder match.",
        DATA,
        8,
        512,
    ),
    "max_clip_seconds": _range(
        "Longest clip (s)",
        "Clips longer than this are left out (they are slow and hard to align); raise it if many clips are skipped.",
        DATA,
        1.0,
        600.0,
    ),
    "segment_frames": _range(
        "Training window",
        "Length of the audio pieces it learns from, in mel frames (32 ≈ 0.4 s); longer helps low voices, costs memory.",
        DATA,
        4,
        512,
        " frames",
    ),
    # model size: bigger learns more, trains slower, needs more memory
    "z_dim": _range(
        "Latent size",
        "How many random numbers each picture is drawn from; more allows more variety. The default suits most data.",
        MODEL,
        1,
        1024,
    ),
    "width": _range(
        "Network width",
        "Channels in the network's layers: wider learns finer detail but trains slower and needs more memory.",
        MODEL,
        2,
        1024,
    ),
    "n_blocks": _range(
        "Restyling blocks",
        "Residual blocks between the generator's shrinking and growing halves; more can restyle more, slower.",
        MODEL,
        1,
        32,
    ),
    "latent_channels": _range(
        "Code channels",
        "Channels of the squeezed code in the middle of the check model; fewer squeeze harder. Rarely worth changing.",
        MODEL,
        1,
        256,
    ),
    "disc_width": _range(
        "Judge width",
        "Channels of the discriminators that judge the audio; wider judges push for more natural sound, train slower.",
        MODEL,
        1,
        512,
    ),
    "spectral_norm": SettingDoc(
        "Steady judge",
        "Keeps the discriminator (the judge) from over-reacting, which makes GAN training steadier; leave it on.",
        MODEL,
    ),
    "block_size": _range(
        "Context length",
        "How many tokens the model sees at once; longer remembers more of the text but is slower and needs memory.",
        MODEL,
        8,
        8192,
        " tokens",
    ),
    "n_layer": _range(
        "Layers",
        "How many layers are stacked; more layers learn more complex writing but train slower.",
        MODEL,
        1,
        16,
    ),
    "n_head": _range(
        "Attention heads",
        "Parallel attention heads in each layer; the embedding size must be a multiple of it.",
        MODEL,
        1,
        64,
    ),
    "n_embd": _range(
        "Embedding size",
        "Size of each token's inner representation; larger writes richer text but trains slower and needs memory.",
        MODEL,
        8,
        4096,
    ),
    "n_hidden": _range(
        "Memory size",
        "Size of the recurrent memory; larger remembers more of what it wrote but trains slower.",
        MODEL,
        16,
        8192,
    ),
    "bias": SettingDoc(
        "Bias terms",
        "Adds a bias to every layer; off is a little faster and usually as good.",
        MODEL,
    ),
    "dropout": _range(
        "Dropout",
        "Share of connections switched off at random while learning, against over-fitting; raise it for small data.",
        MODEL,
        0.0,
        0.9,
    ),
    "rnn_dropout": _range(
        "Memory dropout",
        "Share of the recurrent memory dropped at random while learning; raise it for a small voice dataset.",
        MODEL,
        0.0,
        0.9,
    ),
    "reduction": _range(
        "Frames per step",
        "Audio frames made per decoder step: 3 aligns soonest but sounds rougher, 2 sounds better, 1 best but slowest.",
        MODEL,
        1,
        8,
    ),
    "embed_dim": _range(
        "Text embedding",
        "Size of each phoneme's representation; larger learns more nuance but needs more speech to train.",
        MODEL,
        16,
        2048,
    ),
    "prenet_dim": _range(
        "Pre-net size",
        "Size of the layers that read the previous audio frame; the presets scale it with the model.",
        MODEL,
        16,
        2048,
    ),
    "attention_rnn_dim": _range(
        "Attention memory",
        "Size of the memory that tracks where in the text the voice is; the presets scale it with the model.",
        MODEL,
        16,
        4096,
    ),
    "decoder_rnn_dim": _range(
        "Decoder memory",
        "Size of the memory that makes each audio frame; larger sounds better given enough speech.",
        MODEL,
        16,
        4096,
    ),
    "attention_dim": _range(
        "Attention size",
        "Size of the attention that links the audio to the text; 128 works for almost every voice.",
        MODEL,
        16,
        2048,
    ),
    "postnet_dim": _range(
        "Post-net size",
        "Size of the layers that polish the spectrogram; larger is crisper but slower.",
        MODEL,
        16,
        2048,
    ),
    "upsample_rates": SettingDoc(
        "Upsampling steps",
        "How each mel frame is stretched into 256 audio samples (the steps multiply to 256); keep 8 · 8 · 2 · 2.",
        MODEL,
        choices=(
            Choice("8,8,2,2", "8 · 8 · 2 · 2", "HiFi-GAN's standard: four stages"),
            Choice("8,8,4", "8 · 8 · 4", "Three stages: faster, a little rougher"),
            Choice("4,4,4,4", "4 · 4 · 4 · 4", "Four even stages: smoother, slower"),
        ),
    ),
    "max_frames_per_symbol": _range(
        "Speech length limit",
        "Ends a sentence after this many frames per phoneme, so a voice that never learned to stop does not run on.",
        MODEL,
        1,
        100,
    ),
    # learning: the schedule, the optimizer, the losses
    "steps": _range(
        "Training steps",
        "How many batches the model learns from; more learn more but take longer. Presets fit it to their time.",
        LEARNING,
        1,
        _MAX_STEPS,
    ),
    "batch_size": _range(
        "Batch size",
        "Examples learned from at once; larger is steadier but needs more memory. Lower it if memory runs out.",
        LEARNING,
        1,
        4096,
    ),
    "lr": _range(
        "Learning rate",
        "How big each learning step is; lower it if the loss jumps or explodes, raise it if learning is very slow.",
        LEARNING,
        1e-7,
        1.0,
    ),
    "warmup_steps": _range(
        "Warm-up",
        "Steps over which the learning rate rises from zero at the start; raise it if the first steps are unstable.",
        LEARNING,
        0,
        _MAX_STEPS,
        _STEPS,
    ),
    "min_lr_ratio": _range(
        "Final rate (× start)",
        "Where the learning rate ends, as a share of where it started: 1 keeps it constant, lower settles the model.",
        LEARNING,
        0.0,
        1.0,
    ),
    "weight_decay": _range(
        "Weight decay",
        "Pulls the weights gently towards zero against over-fitting; raise it a little if validation loss climbs.",
        LEARNING,
        0.0,
        1.0,
    ),
    "adam_beta1": _range(
        "Momentum",
        "How much each update carries on from the last (Adam's beta1); GANs use 0 so the players do not overshoot.",
        LEARNING,
        0.0,
        0.999,
    ),
    "adam_beta2": _range(
        "Step-size memory",
        "How long the optimizer remembers past update sizes (Adam's beta2); 0.99 suits small batches, 0.999 large.",
        LEARNING,
        0.0,
        0.9999,
    ),
    "grad_clip": _range(
        "Update limit",
        "Caps the size of each update so one bad batch cannot wreck the model; 0 is off. Lower it if the loss spikes.",
        LEARNING,
        0.0,
        1000.0,
    ),
    "ema": SettingDoc(
        "Smoothed copy (EMA)",
        "Keeps a slowly averaged copy of the weights for previews and generation: cleaner results, one more copy.",
        LEARNING,
    ),
    "ema_decay": _range(
        "EMA smoothing",
        "How slowly the averaged copy follows training: closer to 1 is smoother but lags; 0.999 suits long runs.",
        LEARNING,
        0.0,
        0.9999,
        needs=("ema", True),
    ),
    "loss": SettingDoc(
        "GAN loss",
        "How the two networks score each other; hinge is the steady default. Try another if every picture looks alike.",
        LEARNING,
        choices=(
            Choice("hinge", "Hinge", "Steady on small datasets (the default)"),
            Choice("nonsaturating", "Classic", "Non-saturating: the original GAN loss, as in StyleGAN"),
            Choice("wgan-gp", "Wasserstein", "WGAN-GP: slower but hard to collapse; needs no update limit"),
        ),
    ),
    "r1_gamma": _range(
        "Judge penalty (R1)",
        "Penalises a discriminator that reacts sharply to real pictures; try 1–10 if training is unstable, 0 is off.",
        LEARNING,
        0.0,
        1000.0,
    ),
    "cycle_weight": _range(
        "Round-trip weight",
        "How strongly A to B and back must give the picture back; higher keeps content, lower lets style go further.",
        LEARNING,
        0.0,
        100.0,
    ),
    "identity_weight": _range(
        "Colour keeping",
        "Share of the round-trip weight asking each generator to leave its own style alone; 0 is off, 0.5 the paper's.",
        LEARNING,
        0.0,
        10.0,
    ),
    "beta": _range(
        "Map smoothness (β)",
        "How strongly the VAE keeps its map of pictures smooth: higher blends better but draws softer pictures.",
        LEARNING,
        0.0,
        100.0,
    ),
    "prior_active": _range(
        "Numbers in use",
        "Share of the latent numbers each picture is expected to use; lower gives fewer, more distinct sliders.",
        LEARNING,
        0.01,
        0.9,
    ),
    "kl_warmup_steps": _range(
        "Smoothness warm-up",
        "Steps over which smoothness grows from zero, so pictures are rebuilt first; raise it if previews stay blobs.",
        LEARNING,
        0,
        _MAX_STEPS,
        _STEPS,
    ),
    "guided_attention": _range(
        "Alignment guide",
        "How strongly the voice is nudged to read the text in order; helps on small datasets. 0 turns it off.",
        LEARNING,
        0.0,
        100.0,
    ),
    "guided_sigma": _range(
        "Guide tolerance",
        "How far the reading pace may stray from even; larger lets the pace vary more.",
        LEARNING,
        0.01,
        1.0,
    ),
    "gate_weight": _range(
        "Stop-signal weight",
        "How much learning when to stop speaking counts; raise it if sentences run on after their end.",
        LEARNING,
        0.0,
        100.0,
    ),
    "gate_pos_weight": _range(
        "Stop-frame boost",
        "Extra weight on the rare frames where speech ends; raise it if the voice does not stop.",
        LEARNING,
        0.0,
        1000.0,
    ),
    "mel_weight": _range(
        "Spectrogram weight",
        "How much matching the spectrogram counts against fooling the judges; HiFi-GAN's 45 keeps training steady.",
        LEARNING,
        0.0,
        1000.0,
    ),
    "fm_weight": _range(
        "Feature-match weight",
        "How much matching the judges' inner features counts; HiFi-GAN's 2 suits almost every voice.",
        LEARNING,
        0.0,
        1000.0,
    ),
    "early_stopping_patience": _range(
        "Early stop after",
        "Stops after this many checks without a better validation loss, against over-fitting; 0 never stops early.",
        LEARNING,
        0,
        1000,
        " checks",
    ),
    # checks and previews: what the panel shows while it trains
    "log_every": _range(
        "Log every",
        "How often a row of numbers is written for the curves; lower gives finer curves and a larger log.",
        CHECKS,
        1,
        100_000,
        _STEPS,
    ),
    "eval_every": _range(
        "Check every",
        "How often the model is scored on held-out data; lower catches over-fitting sooner but slows training.",
        CHECKS,
        1,
        _MAX_STEPS,
        _STEPS,
    ),
    "eval_count": _range(
        "Pictures per check",
        "How many pictures the quality score compares at each check; more is steadier, each check takes longer.",
        CHECKS,
        16,
        10_000,
    ),
    "eval_windows": _range(
        "Passages per check",
        "How many held-out passages each check scores; more gives a steadier validation loss, each check longer.",
        CHECKS,
        1,
        100_000,
    ),
    "eval_clips": _range(
        "Clips per check",
        "How many held-out clips each check scores; more gives a steadier score, each check takes longer.",
        CHECKS,
        1,
        1000,
    ),
    "sample_every": _range(
        "Preview every",
        "How often preview samples are made; lower it to watch closely, raise it to train a little faster.",
        CHECKS,
        1,
        _MAX_STEPS,
        _STEPS,
    ),
    "preview_count": _range(
        "Pictures per preview",
        "How many pictures each preview shows; more shows more variety, previews take longer.",
        CHECKS,
        1,
        64,
    ),
    "preview_tokens": _range(
        "Preview length",
        "How much text each preview writes, in tokens (characters or word pieces).",
        CHECKS,
        1,
        10_000,
        " tokens",
    ),
    "preview_temperature": _range(
        "Preview creativity",
        "Randomness of preview texts: lower is safer and more repetitive, higher more surprising; 0 is no randomness.",
        CHECKS,
        0.0,
        2.0,
    ),
    # saving
    "checkpoint_every": _range(
        "Save every",
        "How often a checkpoint is saved; lower loses less work if something goes wrong but uses more disk.",
        SAVING,
        1,
        _MAX_STEPS,
        _STEPS,
    ),
    "checkpoint_minutes": _range(
        "Save every (min)",
        "Also saves after this many minutes, whatever the step; lower it on a computer that may sleep or crash.",
        SAVING,
        0.5,
        1440.0,
    ),
    "keep_last": _range(
        "Checkpoints to keep",
        "How many recent checkpoints stay on disk (the best is always kept); lower it to save disk space.",
        SAVING,
        1,
        1000,
    ),
    # speed and repeatability
    "precision": SettingDoc(
        "Number precision",
        "Half precision trains faster in less GPU memory; Automatic picks for the device. Full if the loss shows NaN.",
        SPEED,
        choices=(
            Choice("auto", "Automatic", "bf16 on a GPU that has it, else fp16; full on a CPU"),
            Choice("fp32", "Full (fp32)", "Slowest and most exact: if half precision gives NaN losses"),
            Choice("bf16", "Half (bf16)", "Fast and steady on recent GPUs (RTX 30 series and newer)"),
            Choice("fp16", "Half (fp16)", "Fast on older GPUs; the loss is scaled to stay in range"),
        ),
    ),
    "micro_batch": _range(
        "Memory chunks",
        "Learns each batch in chunks of this size to save memory (same result, slower); 0 takes the whole batch.",
        SPEED,
        0,
        4096,
    ),
    "compile": SettingDoc(
        "Compile the model",
        "Compiles the network for faster GPU steps after a slow first minute; leave off on a CPU or for short runs.",
        SPEED,
    ),
    "seed": _range(
        "Random seed",
        "Starting point of every random choice: the same seed and settings repeat a run; change it for a variation.",
        SPEED,
        0,
        2_147_483_647,
    ),
}

# What a shared key means for one family, where the shared words would mislead.
_FOR_FAMILY: dict[tuple[str, str], dict[str, Any]] = {
    ("vocoder", "width"): {
        "label": "Generator width",
        "tip": "Channels of the generator's first layer; wider sounds more natural but runs slower on a CPU.",
        "low": 2,
        "high": 1024,
    },
    ("cyclegan", "loss"): {
        "choices": (
            Choice("lsgan", "Least squares", "LSGAN: the CycleGAN paper's loss (the default)"),
            Choice("hinge", "Hinge", "The image GAN's loss: sometimes steadier on small datasets"),
        ),
    },
    ("cyclegan", "disc_width"): {
        "tip": "Channels of the discriminators that judge each style; wider judges push for more faithful style.",
        "low": 1,
        "high": 512,
    },
    ("cyclegan", "width"): {"low": 2, "high": 512},  # the network refuses wider (nets/cyclegan.py MAX_WIDTH)
    ("cyclegan", "eval_count"): {
        "tip": "How many pictures of each style every check transfers and scores; more is steadier, checks slower.",
    },
    ("sparse_vae", "beta"): {
        "label": "Sparsity (β)",
        "tip": "How hard each picture is held to few latent numbers: higher gives clearer sliders, softer pictures.",
    },
    ("vae", "z_dim"): {
        "tip": "Numbers in the map each picture is placed on; more keeps more detail, fewer gives smoother blends.",
    },
    ("lstm", "block_size"): {
        "label": "Training passage",
        "tip": "Length in tokens of the passages it learns from; it still writes texts of any length.",
    },
    ("lstm", "n_layer"): {
        "tip": "How many recurrent layers are stacked; 2 or 3 suit most texts, more train slower.",
    },
    ("tts", "dropout"): {
        "label": "Pre-net dropout",
        "tip": "Share of the pre-net switched off at random, also while speaking; Tacotron 2 needs about 0.5 to align.",
    },
    ("tts", "n_mels"): {
        "tip": "Frequency bands of the voice's spectrogram; keep 80 so the voice matches its vocoder.",
    },
}


def describe(key: str, family: str | None = None) -> SettingDoc | None:
    """The description of ``key`` (as ``family`` means it, when it says more), or None for an undescribed key."""
    base = DOCS.get(key)
    extra = _FOR_FAMILY.get((family or "", key))
    if base is None or not extra:
        return base
    return replace(base, **extra)


def label(key: str, family: str | None = None) -> str:
    """The setting's human name; for a key nobody described (a test's own family), its words capitalised."""
    doc = describe(key, family)
    if doc is not None:
        return doc.label
    text = key.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def ordered(keys: Iterable[str], family: str | None = None) -> list[str]:
    """``keys`` in the form's order: by section (:data:`GROUPS`), then as the table lists them; undescribed keys
    last, in their own order."""
    table = list(DOCS)
    keys = list(keys)

    def place(key: str) -> tuple[int, int, int]:
        doc = describe(key, family)
        if doc is None:
            return (len(GROUPS), 0, keys.index(key))
        return (GROUPS.index(doc.group), table.index(key), 0)

    return sorted(keys, key=place)


def format_number(value: float) -> str:
    """1e-07, 0.0002, 0.999, 1,024: as a person would type it back (plain decimals down to 0.0001)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return words.number(value)
    if value != 0 and (abs(value) < 1e-4 or abs(value) >= 1e6):
        return f"{value:.0e}" if float(f"{value:.0e}") == value else f"{value:.3e}"
    return f"{value:g}"


def problem(key: str, value: Any, family: str | None = None) -> str | None:
    """Why ``value`` cannot be used for ``key``, in a sentence; None when it can (or nobody described the key)."""
    doc = describe(key, family)
    if doc is None:
        return None
    if doc.choices:
        if value in doc.allowed():
            return None
        names = ", ".join(choice.label for choice in doc.choices)
        return f"{doc.label} must be one of: {names}."
    if doc.low is None or doc.high is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value) or not doc.low <= value <= doc.high:
        low, high = format_number(_as_type(doc.low, value)), format_number(_as_type(doc.high, value))
        return f"{doc.label} must be between {low} and {high}."
    return None


def _as_type(bound: float, like: Any) -> float:
    return int(bound) if isinstance(like, int) and float(bound).is_integer() else float(bound)


def config_problems(config: Mapping[str, Any], family: str | None = None) -> dict[str, str]:
    """key -> why its value cannot be used: each value alone (:func:`problem`) and the rules that tie two settings
    together (the recipes refuse those too, but only once a run starts)."""
    found = {key: text for key in config if (text := problem(key, config[key], family))}
    if "micro_batch" in config and "batch_size" in config and config["micro_batch"] > config["batch_size"]:
        found.setdefault("micro_batch", f"{label('micro_batch')} must be 0 or at most the batch size.")
    if {"n_embd", "n_head"} <= set(config) and config["n_head"] > 0 and config["n_embd"] % config["n_head"]:
        found.setdefault("n_embd", f"{label('n_embd')} must be a multiple of the attention heads ({config['n_head']}).")
    return found


def fixed_by_data(keys: Iterable[str], classes: int | None) -> dict[str, tuple[Any, str]]:
    """Settings the dataset decides: key -> (the value it forces, why), for a dataset with ``classes`` class labels
    (None: not known yet, so nothing is forced). The engine ignores "Learn the classes" with fewer than two
    classes (studio/core/training/image_gan.py), so the form shows it off rather than promising it."""
    fixed: dict[str, tuple[Any, str]] = {}
    if "conditional" in keys and classes is not None and classes < 2:
        fixed["conditional"] = (
            False,
            f"Needs a dataset with 2 or more classes (sub-folders); this one has {words.count(classes, 'class')}.",
        )
    return fixed
