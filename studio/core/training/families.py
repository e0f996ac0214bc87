"""The family table: one record per model family, and the one place that says what a family is.

Adding a family means writing its network (studio/core/nets), its recipe (a :class:`~studio.core.training.
recipe_base.Recipe` subclass) and **one** :func:`register` call with a :class:`FamilySpec`. Everything else
reads the record, nothing else names a family id:

* the Training panel: the model list for a dataset's kind, the description, the presets and their titles
  (:data:`PRESET_TITLES`), the resolution choice, and every setting with its default (:func:`default_config`);
  what each setting is called, its tooltip, choices and range live beside the table, in
  :mod:`studio.core.training.setting_docs` (shared keys such as ``lr`` are described once, not per family): a
  family that adds a setting describes it there, and tests/core/training/test_setting_docs.py fails until it does;
* the engine: the recipe class (``recipe``, a ``"module:Class"`` string, imported when a run starts);
* "Open in …" on a checkpoint, and which runs each creation panel lists (``panel``);
* loading a trained model to generate with it, and the starter-model export (``generator``: which network of a
  checkpoint generates, how to rebuild it from the run's ``describe()``, and the method sampling calls);
* the CLI: ``train --model`` and the ``generate`` commands;
* the model suggested for a dataset (:mod:`studio.core.training.suggest`): the table's order, and
  ``recommended_below`` for a family made for small sets;
* "best model in N minutes" (:mod:`studio.core.training.planning`): ``budget_min_steps``.

One thing stays beside the table on purpose: the bounds a stranger's run folder may claim for a family's network
sizes, :data:`studio.core.untrusted.LIMITS` (keyed by the family id, each bound with its reason), which the
security checks own. A family without an entry is still checked against its weights' shapes and the parameter cap.

A run's config.json records the family id twice: as ``"family"``, and as ``"kind"`` in the ``"model"`` block
(the recipe's ``describe()``); generation looks the family up by the model's kind.

The record is plain data and this module imports no torch: the Training panel builds its forms from it at
start-up, and rule 6 of ARCHITECTURE.md keeps the window fast. The classes and functions the strings name are
imported only when a run starts or a model loads (:func:`import_object`). Anchor: napari's
``layer_to_controls`` table, one entry per layer type instead of an ``if`` per type in every widget.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from studio.core.jobs import JobError
from studio.core.nets.image_sizes import RESOLUTIONS

PRESET_KEYS = ("fast", "balanced", "best")
PRESET_TITLES = {"fast": "Fast preview", "balanced": "Balanced", "best": "Best quality"}
# How long each preset may take on the device it runs on: a preset's steps are cut to fit (see
# studio/core/training/planning.py), so on a 2-core CPU every preset ends within the hour.
PRESET_MINUTES = {"fast": 5.0, "balanced": 20.0, "best": 60.0}
PANELS = ("image", "text", "speech")  # the creation panels that open a family's models
PREVIEWS = ("image", "text", "audio")  # what a family's training previews are
DATASET_KINDS = ("image", "text", "audio")
OUTPUTS = ("image", "text", "mel", "audio", "transfer")  # what a generating network makes (see Generator.makes)


class ConfigError(JobError):
    """An unusable setting (unknown family, preset or key, or a value of the wrong type): the CLI exits 2."""


@dataclass(frozen=True)
class Generator:
    """The network of a checkpoint that generates, and how the creation side drives it.

    Every field is data or a ``"module:function"`` string rather than an ``if`` on the family id in the
    generation code: an image family samples through ``forward`` (a GAN's generator) or ``decode`` (a VAE),
    and only a family that names an ``encode`` method can rebuild or morph pictures."""

    weights: str  # its prefix in a checkpoint's keys: "generator" -> "generator.*" (and "ema.generator.*")
    build: str  # "module:function" rebuilding it from the run's describe() dict (any device, meta included)
    # What it makes: "image" (latents -> pictures), "text" (tokens -> next-token logits), "mel" (a voice:
    # phoneme ids -> log-mel frames), "audio" (a vocoder: log-mel frames -> samples) or "transfer" (pictures of one
    # style -> the same pictures in another: ``sample`` is then (x (N, 3, H, W), "a2b" | "b2a") -> (N, 3, H, W)).
    # The speech panel tells voices from vocoders by it; the image canvas tells transfer models from generators.
    makes: str
    sample: str = "forward"  # the method sampling calls: for images, (z (N, z_dim), labels | None) -> (N, 3, R, R)
    encode: str = ""  # pictures -> latents: (x (N, 3, R, R), labels) -> (mu, logvar); "" when it has none
    window: str = ""  # the describe() key of the context window in tokens (a GPT's block_size); "" for none

    def load_builder(self) -> Callable[[dict], Any]:
        """The build function (imports its module, and so torch)."""
        return import_object(self.build)


@dataclass(frozen=True)
class FamilySpec:
    """Everything the studio knows about one family without importing torch (see the module docstring)."""

    id: str  # "gan": the run folder's suffix, config.json's "family" and describe()'s "kind", --model
    title: str  # "Image GAN (DCGAN)": the Training panel's model list
    description: str  # one or two sentences under the model list: what it learns and when to pick it
    kinds: tuple[str, ...]  # the dataset kinds it trains on ("image", "text", "audio")
    recipe: str  # "package.module:Class", imported when a run starts
    preview: str  # what its training previews are: "image", "text" or "audio"
    short: str = ""  # "GAN": in a model's facts and in messages ("pick a GAN or VAE run"); empty: the id in capitals
    panel: str | None = None  # the creation panel that opens its checkpoints; None: no panel generates with it
    generator: Generator | None = None  # what generates (required when a panel opens it)
    resolutions: tuple[int, ...] = ()  # picture sizes it trains at, when there is a choice (the panel offers them)
    defaults: Mapping[str, Any] = field(default_factory=dict)  # family settings (engine ones: ENGINE_DEFAULTS)
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # PRESET_KEYS -> overrides
    # On a CPU, what changes in each preset on top of ``presets`` (smaller models: a CPU does in an hour what a
    # GPU does in minutes, so the GPU sizes would train too few steps to learn anything there)
    cpu_presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # The suggested model for a dataset with fewer usable items than this (studio/core/training/suggest.py): a
    # family made for small sets says so here rather than the suggestion naming it; 0: chosen by table order only
    recommended_below: int = 0
    # "Best model in N minutes" (studio/core/training/planning.py) widens an image network only while the budget
    # still trains this many steps at the wider size (below it a wider network learns less than a narrower one);
    # 0: the budget keeps the preset's width and fills the time with steps
    budget_min_steps: int = 0

    @property
    def label(self) -> str:
        return self.short or self.id.upper()

    def check(self) -> None:
        """Refuse a record the rest of the studio could not use (a programming error, so ValueError)."""
        problems = []
        if not self.id or not self.id.replace("_", "").replace("-", "").isalnum():
            problems.append(f"id {self.id!r} must be letters, digits, - and _ (it names run folders)")
        if not set(self.kinds) <= set(DATASET_KINDS) or not self.kinds:
            problems.append(f"kinds {self.kinds!r} must be some of {DATASET_KINDS}")
        if self.preview not in PREVIEWS:
            problems.append(f"preview {self.preview!r} must be one of {PREVIEWS}")
        if self.panel is not None and self.panel not in PANELS:
            problems.append(f"panel {self.panel!r} must be one of {PANELS} or None")
        if self.panel is not None and self.generator is None:
            problems.append("a family a panel opens needs a generator")
        if self.generator is not None and self.generator.makes not in OUTPUTS:
            problems.append(f"generator.makes {self.generator.makes!r} must be one of {OUTPUTS}")
        if not set(self.presets) <= set(PRESET_KEYS) or not set(self.cpu_presets) <= set(self.presets):
            problems.append(f"presets {sorted(self.presets)} must be some of {PRESET_KEYS}, cpu_presets of those")
        if self.recommended_below < 0:
            problems.append(f"recommended_below {self.recommended_below} must be 0 (never) or more items")
        if self.budget_min_steps < 0:
            problems.append(f"budget_min_steps {self.budget_min_steps} must be 0 (never widen) or more steps")
        references = {"recipe": self.recipe, "generator.build": self.generator.build if self.generator else None}
        for name, reference in references.items():
            if reference is not None and ":" not in reference:
                problems.append(f"{name} {reference!r} must be 'module:name'")
        if problems:
            raise ValueError(f"Family {self.id!r}: " + "; ".join(problems) + ".")


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


# -- the registry ------------------------------------------------------------------------------------------------------
def register(spec: FamilySpec) -> None:
    """Add (or replace) a family; the registrations below are the built-in ones, tests register their own."""
    spec.check()
    _FAMILIES[spec.id] = spec


def unregister(family: str) -> None:
    _FAMILIES.pop(family, None)


def available() -> list[FamilySpec]:
    """Every family, in registration order (the Training panel's order)."""
    return list(_FAMILIES.values())


def spec(family: str) -> FamilySpec:
    try:
        return _FAMILIES[family]
    except KeyError:
        names = ", ".join(sorted(_FAMILIES)) or "none"
        raise ConfigError(f"There is no model family “{family}”. Available: {names}.") from None


def find(family: object) -> FamilySpec | None:
    """The family of that id, or None (a run of a family this installation does not have, or no id at all)."""
    return _FAMILIES.get(family) if isinstance(family, str) else None


# -- questions the other layers ask ------------------------------------------------------------------------------------
def panel_of(family: object) -> str | None:
    """The creation panel that opens models of ``family`` ("image", "text", "speech"), None if none does."""
    found = find(family)
    return found.panel if found is not None else None


def for_panel(panel: str) -> list[FamilySpec]:
    """The families whose models the creation panel ``panel`` lists."""
    return [spec for spec in _FAMILIES.values() if spec.panel == panel]


def making(output: str) -> list[FamilySpec]:
    """The families whose generating network makes ``output`` (see :attr:`Generator.makes`)."""
    return [spec for spec in _FAMILIES.values() if spec.generator is not None and spec.generator.makes == output]


def ids(specs: Iterable[FamilySpec]) -> tuple[str, ...]:
    return tuple(spec.id for spec in specs)


def labels(specs: Iterable[FamilySpec]) -> str:
    """ "GAN or VAE": the families' short names for a sentence ("none" when there are none)."""
    names = [spec.label for spec in specs]
    if not names:
        return "none"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def generator(family: str) -> Generator:
    """The generating network of ``family`` (a ConfigError for a family without one, e.g. the reference check)."""
    found = spec(family)
    if found.generator is None:
        raise ConfigError(f"{found.title} has no network that generates; it cannot be used to make anything.")
    return found.generator


def resolutions() -> tuple[int, ...]:
    """Every picture size some family trains at, smallest first (the dataset cache's choices)."""
    return tuple(sorted({size for spec in _FAMILIES.values() for size in spec.resolutions}))


def import_object(reference: str) -> Any:
    """The object a ``"package.module:name"`` string names (imports the module: torch, for recipes and nets)."""
    module_name, _, name = reference.partition(":")
    return getattr(importlib.import_module(module_name), name)


def load_recipe_class(family: str):
    return import_object(spec(family).recipe)


# -- settings: defaults <- preset <- overrides -------------------------------------------------------------------------
def presets(family: str, device_kind: str | None = None) -> dict[str, dict]:
    """Each preset's overrides; on a ``"cpu"`` device with the family's CPU sizes on top."""
    found = spec(family)
    cpu = device_kind == "cpu"
    return {
        name: {**values, **(found.cpu_presets.get(name, {}) if cpu else {})} for name, values in found.presets.items()
    }


def default_config(family: str) -> dict:
    """Every hyperparameter of ``family`` with its default (int/float/bool/str only)."""
    return {**ENGINE_DEFAULTS, **spec(family).defaults}


def resolve_config(
    family: str, preset: str | None = "balanced", overrides: dict | None = None, device_kind: str | None = None
) -> dict:
    """defaults <- preset (its CPU sizes on a ``"cpu"`` device) <- overrides, each override checked against the
    default's type.

    Overrides may be strings (from ``--set key=value``): they are converted to the default's type, so a
    typo such as ``lr=fast`` is refused here in plain words rather than failing deep inside torch.
    """
    config = default_config(family)
    if preset:
        table = presets(family, device_kind)
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


# == the built-in families =============================================================================================
register(
    FamilySpec(
        id="reference",
        title="Reference autoencoder",
        short="Reference",
        description="A tiny convolutional autoencoder on 32 px pictures: trains in seconds on a CPU. It checks "
        "the data, the engine and the device end to end before a long run.",
        kinds=("image",),
        recipe="studio.core.training.reference:ReferenceRecipe",
        preview="image",
        panel=None,  # it rebuilds pictures to check the data path; it makes nothing new, so no panel opens it
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
        id="gan",
        title="Image GAN (DCGAN)",
        short="GAN",
        description="Learns to invent new pictures that look like your dataset; with class folders it can "
        "make pictures of a chosen class. Best with a few hundred pictures or more.",
        kinds=("image",),
        recipe="studio.core.training.image_gan:GanRecipe",
        preview="image",
        panel="image",
        # the generator alone (a checkpoint also holds the discriminator); its forward maps latents to pictures
        generator=Generator(weights="generator", build="studio.core.nets.gan:build_generator", makes="image"),
        resolutions=RESOLUTIONS,
        budget_min_steps=2000,
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
        # a CPU: wider networks only; the time cap (PRESET_MINUTES) sets the steps
        cpu_presets={"balanced": {"width": 48, "batch_size": 32}, "best": {"width": 64, "batch_size": 32}},
    )
)

register(
    FamilySpec(
        id="vae",
        title="Image VAE",
        short="VAE",
        description="Learns a smooth map of your pictures: it rebuilds them, blends between them and draws "
        "new, softer-looking ones; trains steadily even on small datasets.",
        kinds=("image",),
        recipe="studio.core.training.image_vae:VaeRecipe",
        preview="image",
        panel="image",
        # the whole VAE: pictures come from its decoder, and its encoder lets the canvas rebuild and morph pictures
        generator=Generator(
            weights="vae", build="studio.core.nets.vae:build_vae", makes="image", sample="decode", encode="encode"
        ),
        resolutions=RESOLUTIONS,
        budget_min_steps=1500,
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
        cpu_presets={"balanced": {"width": 24, "batch_size": 32}, "best": {"width": 32, "batch_size": 32}},
    )
)

# The lightweight GAN (FastGAN, Liu et al. 2021): the image model for small sets. The GAN engine settings above
# with two of FastGAN's own: Adam betas (0.5, 0.999) and batch 32 or less (the paper trains with batch 8 on 100
# pictures); previews, the quality score and generation use the EMA generator (decay 0.999, as the paper's).
# Recommended below 5,000 pictures: the paper's few-shot sets are 60 to 5,000 pictures (at 10,000 and more its
# advantage over bigger GANs is gone). Its steps cost ~2.5x a DCGAN step of the same width on a CPU (the GLUs
# double each convolution's output), so the CPU presets are narrow and 32 px, 64 px for "best"; a GPU trains at
# 128 and 256 px.
register(
    FamilySpec(
        id="lightweight_gan",
        title="Image GAN for small sets (FastGAN)",
        short="Lightweight GAN",
        description="Invents new pictures like yours from as few as a hundred: a light generator and a "
        "discriminator that must also redraw your pictures keep it from over-fitting. Recommended below "
        "5,000 pictures; with class folders it can make a chosen class.",
        kinds=("image",),
        recipe="studio.core.training.image_lightweight_gan:LightweightGanRecipe",
        preview="image",
        panel="image",
        # the generator alone (a checkpoint also holds the discriminator and its decoders)
        generator=Generator(
            weights="generator", build="studio.core.nets.lightweight_gan:build_generator", makes="image"
        ),
        resolutions=RESOLUTIONS,
        recommended_below=5000,
        budget_min_steps=2000,
        defaults={
            "resolution": 128,
            "fit": "crop",
            "z_dim": 128,
            "width": 64,
            "conditional": True,
            "loss": "hinge",
            "diffaugment": "color,translation,cutout",
            "spectral_norm": True,
            "r1_gamma": 0.0,
            "lr": 2e-4,
            "adam_beta1": 0.5,
            "adam_beta2": 0.999,
            "warmup_steps": 0,
            "min_lr_ratio": 1.0,
            "grad_clip": 0.0,
            "ema": True,
            "ema_decay": 0.999,
            "batch_size": 32,
            "steps": 20000,
            "eval_every": 1000,
            "sample_every": 500,
            "checkpoint_every": 1000,
            "eval_count": 256,
            "preview_count": 8,
        },
        presets={
            "fast": {
                "resolution": 128,
                "steps": 5000,
                "width": 32,
                "eval_every": 500,
                "sample_every": 250,
                "checkpoint_every": 500,
            },
            "balanced": {"resolution": 128, "steps": 20000, "width": 64},
            "best": {
                "resolution": 256,
                "steps": 50000,
                "width": 64,
                "eval_every": 2000,
                "checkpoint_every": 2000,
            },
        },
        # a CPU: a 32 px preview (64 px for "best") with narrow networks; the time cap sets the steps. A shorter EMA
        # (half-life 70-140 steps, not 700): a CPU run is a few thousand steps, and after 800 steps on 538 icons the
        # 0.999 EMA generator scored KID 2,009 while the raw one scored 0.76 and a 0.99 EMA 0.70 (its weights still
        # held 45 % of the untrained ones, under batch-norm statistics copied from the raw generator)
        cpu_presets={
            "fast": {"resolution": 32, "width": 16, "batch_size": 16, "ema_decay": 0.99},
            "balanced": {"resolution": 32, "width": 24, "batch_size": 32, "ema_decay": 0.995},
            "best": {"resolution": 64, "width": 16, "batch_size": 32, "ema_decay": 0.995},
        },
    )
)

# Style transfer (CycleGAN, Zhu et al. 2017): the paper's engine settings, each for a reason:
# - Adam lr 2e-4, betas (0.5, 0.999), no weight decay: the paper's own; beta1 0.5 (not the studio GAN's 0) because
#   the cycle and identity terms dominate the generators' loss and want some momentum;
# - no warm-up, cosine decay to 0 (min_lr_ratio 0): the paper keeps the rate for half the run, then decays it
#   linearly to 0; a cosine to 0 ends in the same place and spends as long near the start;
# - no gradient clipping (as the GAN: the discriminators' gradients are large by design), EMA off (as the paper;
#   the decay to 0 smooths the end); batch 4 rather than the paper's 1: instance norm keeps pictures independent,
#   so a batch only averages the gradient and keeps a GPU busy.
register(
    FamilySpec(
        id="cyclegan",
        title="Style transfer (CycleGAN)",
        short="CycleGAN",
        description="Learns to turn pictures of one style into another, and back: product photos into "
        "watercolours, say. Pick a second dataset as style B, or use a dataset with two class folders.",
        kinds=("image",),
        recipe="studio.core.training.image_cyclegan:CycleGanRecipe",
        preview="image",
        panel="image",
        # both generators as one network; it transfers pictures (makes="transfer"), it does not sample latents
        generator=Generator(
            weights="generators",
            build="studio.core.nets.cyclegan:build_generators",
            makes="transfer",
            sample="transfer",
        ),
        resolutions=RESOLUTIONS,
        budget_min_steps=1000,
        defaults={
            "resolution": 128,
            "fit": "crop",
            "dataset_b": "",
            "width": 64,
            "n_blocks": 6,
            "disc_width": 64,
            "loss": "lsgan",
            "cycle_weight": 10.0,
            "identity_weight": 0.5,
            "lr": 2e-4,
            "adam_beta1": 0.5,
            "adam_beta2": 0.999,
            "warmup_steps": 0,
            "min_lr_ratio": 0.0,
            "grad_clip": 0.0,
            "ema": False,
            "batch_size": 4,
            "steps": 20000,
            "eval_every": 1000,
            "sample_every": 500,
            "checkpoint_every": 1000,
            "eval_count": 32,
            "preview_count": 6,
        },
        # GPU: the paper's 128 px network (6 residual blocks) at half and full width, and its 256 px one (9 blocks)
        presets={
            "fast": {
                "resolution": 128,
                "steps": 5000,
                "width": 32,
                "disc_width": 32,
                "eval_every": 500,
                "sample_every": 250,
                "checkpoint_every": 500,
            },
            "balanced": {"resolution": 128, "steps": 20000, "width": 64, "n_blocks": 6},
            "best": {
                "resolution": 256,
                "steps": 60000,
                "width": 64,
                "n_blocks": 9,
                "eval_every": 2000,
                "checkpoint_every": 2000,
            },
        },
        # a CPU: 32 px (fast) or 64 px and narrow networks, batch 2 (a 128 px step of the GPU sizes takes seconds
        # there; on one thread of a 2-core CPU a fast step took 0.13 s, a balanced one 0.33 s); the time cap sets
        # the steps
        cpu_presets={
            "fast": {"resolution": 32, "width": 16, "n_blocks": 3, "disc_width": 16, "batch_size": 2},
            "balanced": {"resolution": 64, "width": 16, "n_blocks": 4, "disc_width": 16, "batch_size": 2},
            "best": {"resolution": 64, "width": 24, "n_blocks": 6, "disc_width": 24, "batch_size": 2},
        },
    )
)

# The sparse VAE (variational sparse coding, Tonolini et al. 2019; studio/core/nets/sparse_vae.py says why a
# spike-and-slab prior): the plain VAE's engine settings and blocks, with beta 2 and the KL priced per 32 px
# picture so that about 8 of 64 latent numbers stay in use per picture at every resolution
# (studio/core/training/image_sparse_vae.py gives the measurements). The canvas talks to it in a standard-normal
# noise space (decode_noise / encode_noise), so grids, variations, walks, rebuilds and morphs work as for the
# VAE; its attribute sliders read the sparse code (studio/core/generation/attributes.py).
register(
    FamilySpec(
        id="sparse_vae",
        title="Image VAE with sliders (sparse)",
        short="Sparse VAE",
        description="A VAE in which each picture uses only a few of its numbers, so each number tends to "
        "control one thing: the canvas turns the most-used ones into sliders for editing pictures. "
        "Rebuilds a little less sharply than the plain VAE.",
        kinds=("image",),
        recipe="studio.core.training.image_sparse_vae:SparseVaeRecipe",
        preview="image",
        panel="image",
        # the whole network, as the VAE's; the canvas samples and encodes through its noise space
        generator=Generator(
            weights="vae",
            build="studio.core.nets.sparse_vae:build_sparse_vae",
            makes="image",
            sample="decode_noise",
            encode="encode_noise",
        ),
        resolutions=RESOLUTIONS,
        budget_min_steps=1500,
        defaults={
            "resolution": 128,
            "fit": "crop",
            "z_dim": 64,
            "width": 32,
            "conditional": True,
            "beta": 2.0,
            "prior_active": 0.1,
            "kl_warmup_steps": 1000,
            "batch_size": 64,
            "steps": 10000,
            "eval_every": 500,
            "sample_every": 500,
            "checkpoint_every": 1000,
            "eval_count": 256,
            "preview_count": 8,
        },
        # a GPU at 128 and 256 px; a CPU at 32 and 64 px with the VAE's CPU widths (the time cap sets the steps)
        presets={
            "fast": {"resolution": 128, "steps": 2000, "width": 16, "batch_size": 32, "kl_warmup_steps": 300},
            "balanced": {"resolution": 128, "steps": 10000, "width": 32, "batch_size": 64},
            "best": {
                "resolution": 256,
                "steps": 30000,
                "width": 32,
                "batch_size": 64,
                "ema": True,
                "kl_warmup_steps": 3000,
            },
        },
        cpu_presets={
            "fast": {"resolution": 32},
            "balanced": {"resolution": 64, "width": 24, "batch_size": 32},
            "best": {"resolution": 64, "width": 32, "batch_size": 32},
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
        id="gpt",
        title="Text GPT (transformer)",
        short="GPT",
        description="Learns to write like your texts: product copy, slogans, posts, stories. A small GPT "
        "(nanoGPT-style transformer); the best quality of the text models, and fast on a GPU.",
        kinds=("text",),
        recipe="studio.core.training.text_gpt:GptRecipe",
        preview="text",
        panel="text",
        # learned position embeddings: it sees at most block_size tokens (the KV cache slides past that)
        generator=Generator(weights="gpt", build="studio.core.nets.gpt:build_gpt", makes="text", window="block_size"),
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
        # a CPU: between nanoGPT's CPU model (fast) and a 4.8 M model with a 128-token context (best); the time cap
        # sets the steps (balanced: ~1.8 M parameters)
        cpu_presets={
            "balanced": {"block_size": 128, "n_layer": 4, "n_head": 4, "n_embd": 192, "batch_size": 16},
            "best": {
                "block_size": 128,
                "n_layer": 6,
                "n_head": 8,
                "n_embd": 256,
                "batch_size": 24,
                "lr": 1e-3,
                "warmup_steps": 200,
            },
        },
    )
)

register(
    FamilySpec(
        id="lstm",
        title="Text LSTM (recurrent)",
        short="LSTM",
        description="A lighter text model: trains quickly on a CPU and on small datasets, and writes texts of "
        "any length at a steady speed. Usually a little less fluent than the GPT.",
        kinds=("text",),
        recipe="studio.core.training.text_lstm:LstmRecipe",
        preview="text",
        panel="text",
        # no window: its state (h, c) carries on however long the text grows
        generator=Generator(weights="lstm", build="studio.core.nets.lstm:build_lstm", makes="text"),
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
        cpu_presets={
            "balanced": {"block_size": 128, "n_embd": 192, "n_hidden": 384, "batch_size": 16},
            "best": {"block_size": 128, "n_embd": 256, "n_hidden": 512, "n_layer": 2, "batch_size": 32},
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
# Tacotron 2's layer sizes at a half and a quarter of the paper's (the presets below, on a GPU and on a CPU)
_TTS_HALF = {"embed_dim": 256, "prenet_dim": 128, "attention_rnn_dim": 512, "decoder_rnn_dim": 512, "postnet_dim": 256}
_TTS_QUARTER = {
    "embed_dim": 128,
    "prenet_dim": 64,
    "attention_rnn_dim": 256,
    "decoder_rnn_dim": 256,
    "postnet_dim": 128,
}

register(
    FamilySpec(
        id="tts",
        title="Own voice (Tacotron 2)",
        short="TTS",
        description="Learns to read text aloud in the voice of your recordings (clips with transcripts). Best "
        "with 15 minutes of clean speech or more; pair it with a vocoder trained on the same clips.",
        kinds=("audio",),
        recipe="studio.core.training.speech_tts:TtsRecipe",
        preview="audio",
        panel="speech",
        # a voice: phoneme ids -> log-mel frames, decoded free-running by infer()
        generator=Generator(weights="tts", build="studio.core.nets.tts:build_tts", makes="mel", sample="infer"),
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
                **_TTS_QUARTER,
                "batch_size": 16,
                "eval_every": 250,
                "sample_every": 500,
                "checkpoint_every": 500,
            },
            "balanced": {
                "steps": 20000,
                "reduction": 2,
                **_TTS_HALF,
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
        # a CPU: the fast sizes at r = 2 (balanced) and the GPU's balanced sizes (best); the time cap sets the steps
        cpu_presets={
            "balanced": {
                "reduction": 2,
                **_TTS_QUARTER,
            },
            "best": {
                **_TTS_HALF,
                "batch_size": 16,
            },
        },
    )
)

# Vocoder engine settings: HiFi-GAN's (AdamW betas (0.8, 0.99), weight decay 0.01, lr 2e-4), with the image
# GAN's reasons for no warm-up and no gradient clipping; a cosine decay to lr/10 stands in for the paper's
# per-epoch exponential decay (0.999 per epoch ends near the same place). EMA off, as in the paper.
register(
    FamilySpec(
        id="vocoder",
        title="Vocoder (HiFi-GAN)",
        short="vocoder",
        description="Turns mel spectrograms into natural-sounding audio for your own voice, far better than the "
        "built-in Griffin-Lim. Trains on every clip, transcripts or not.",
        kinds=("audio",),
        recipe="studio.core.training.speech_vocoder:VocoderRecipe",
        preview="audio",
        panel="speech",
        # log-mel frames -> samples; the speech panel offers it for the voices whose mel settings it shares
        generator=Generator(weights="generator", build="studio.core.nets.vocoder:build_generator", makes="audio"),
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
        cpu_presets={
            "balanced": {"width": 64, "disc_width": 8, "batch_size": 8},
            "best": {"width": 128, "disc_width": 8, "batch_size": 8},
        },
    )
)
