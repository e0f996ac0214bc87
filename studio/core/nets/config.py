"""The base of every network's config dataclass: keyword-only fields, and reading and writing the dicts that a
run's config.json holds (a recipe's ``describe()``), old ones included. Torch-free.

The pattern, the same for every net in studio/core/nets (nanoGPT's ``GPT(GPTConfig(...))``): a network's
constructor takes exactly one argument, its config, and the config's fields are keyword-only
(``GeneratorConfig(resolution=64, width=32)``; ``GeneratorConfig(64, 32)`` is a TypeError, and so is
``Generator(64)``). Why a config rather than keyword-only sizes on every constructor: the config is what a
checkpoint carries (``describe()`` writes it, the build functions read it), what the untrusted-file checks
bound, and what the training recipe and the generation code must agree on, so it exists as one value anyway;
and no size can be passed in the wrong place (the old ``Generator(64, 128, 64)`` meant resolution, z_dim and
width, the old ``Discriminator(64, 64)`` resolution and width). The building blocks inside a net (a residual
block, a conditional batch norm) take the few sizes they need, as torch's own layers do.

:meth:`NetConfig.from_dict` is how a saved description becomes a config again. Its rules, so that every run
the studio ever wrote keeps loading:

1. **Only the config's own fields are read; every other key is ignored.** A ``describe()`` dict holds run
   facts beside the sizes ("kind", "classes", "weights", "ema", "tokenizer", ...), and a run written by a
   newer studio may hold a size this version does not know. The network is built from the keys it knows;
   if an unknown key changed the shapes, the weights check (studio/core/untrusted.py) refuses the checkpoint
   by name before anything is loaded.
2. **A missing key takes the field's default, and a field added later must default to what the code did
   before it existed** (the migration: a GAN description without ``num_classes``, which the old build
   function read as 0, is still an unconditional generator). Fields without a default (a vocabulary size, a
   resolution) are required: a dict without one is a ValueError naming the key.
3. **Values are converted to the field's type**: whole numbers written as 64.0 become 64 (the old build
   functions called ``int()``), JSON lists become tuples; anything else (text, a fraction where a count
   belongs, true/false where a number belongs) is a ValueError naming the key.
"""

from __future__ import annotations

import dataclasses
import operator
import typing
from collections.abc import Mapping
from typing import Any, Self, TypeVar

C = TypeVar("C", bound="NetConfig")


@dataclasses.dataclass(kw_only=True)
class NetConfig:
    """Base class of the config dataclasses (subclasses are ``@dataclass(kw_only=True)`` too)."""

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Self:
        """The config a saved description holds (the rules are in the module docstring)."""
        if not isinstance(values, Mapping):
            raise ValueError(f"a network description is a JSON object, not {type(values).__name__}")
        types = typing.get_type_hints(cls)
        kept: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name in values:
                kept[f.name] = _convert(f.name, types[f.name], values[f.name])
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ValueError(f"the description has no {f.name}")
        return cls(**kept)

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON values (tuples as lists), in declaration order."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {name: (list(value) if isinstance(value, tuple) else value) for name, value in values.items()}


def _convert(name: str, kind: Any, value: Any) -> Any:
    """``value`` as the field type ``kind`` (int, float, bool, str or tuple[int, ...]); ValueError otherwise."""
    if typing.get_origin(kind) is tuple:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{name} must be a list, not {value!r:.40}")
        item = typing.get_args(kind)[0]
        return tuple(_convert(name, item, v) for v in value)
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if not isinstance(value, bool):
            try:
                return operator.index(value)  # int and NumPy integers; not floats or text
            except TypeError:
                pass
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif kind is str:
        if isinstance(value, str):
            return value
    else:
        raise TypeError(f"{name}: NetConfig fields are int, float, bool, str or tuple[int, ...], not {kind}")
    raise ValueError(f"{name} must be {getattr(kind, '__name__', kind)}, not {value!r:.40}")


def require_config(config: object, kind: type[C], network: str) -> C:
    """``config`` when it is a ``kind``; otherwise a TypeError that names the one way to build ``network`` (code
    written for the old positional constructors, such as ``Generator(64, 128, 64)``, fails here, by name)."""
    if not isinstance(config, kind):
        raise TypeError(
            f"{network} takes a {kind.__name__}: {network}({kind.__name__}(name=value, ...)), "
            f"not {type(config).__name__}."
        )
    return config
