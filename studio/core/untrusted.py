"""Bounds on files a user may have received from someone else: checked before anything is allocated.

A run folder, a starter model or a Piper voice is data a stranger may have written (ARCHITECTURE.md: "every
file a user receives is hostile"). Nothing in them can run code (JSON and safetensors only), but their
*numbers* decide how much memory and time the studio spends: a config.json that says ``n_layer: 2000`` used
to build a 25 GB network before the weights were even looked at, and a safetensors header listing a million
empty tensors took 27 s and 1.9 GB inside the safetensors parser before it was refused. So, in this order,
before a network is built or a weights file is handed to a library:

1. **Files are size-capped before they are read** (:func:`read_json`): a config.json of a few KB cannot
   become a gigabyte of JSON.
2. **Every value a network or a sound is built from is checked against a documented limit** (:data:`LIMITS`,
   one reason per limit): generous enough for anything the studio's own presets make and for sensible
   ``--set`` overrides, far below what exhausts memory. :func:`check_model` does it per model kind, including
   the mel settings a voice is vocoded with and the decoding length of a trained voice;
   :func:`check_piper_config` does it for a Piper ``.onnx.json``.
3. **The safetensors header is read on its own** (:func:`read_safetensors_header`: 8 bytes of length, then at
   most :data:`HEADER_CAP` bytes of JSON, at most :data:`MAX_TENSORS` entries, every tensor's bytes inside the
   file and the tensors tiling the data exactly, as safetensors requires), so a hostile header never reaches
   the library's own parser.
4. **The network the config describes is compared with the header's shapes** (:func:`expected_shapes` builds
   it on PyTorch's ``meta`` device, which allocates no memory; :func:`check_weights_match` compares names and
   shapes one by one). Because the header's offsets are checked against the file's real size, a config can then
   never make the studio allocate more than the weights file actually holds, and :data:`MAX_PARAMETERS` caps
   even that.

Every refusal is :class:`OverLimit` (a :class:`~studio.core.jobs.JobError`): one plain sentence naming the
file, the value and the limit. A file that is merely damaged (torn, not JSON) raises :class:`DamagedFile`,
so callers keep their own "damaged, pick another checkpoint" wording for it.

Cheap to import (no torch; :func:`expected_shapes` imports it when called).
"""

from __future__ import annotations

import functools
import json
import math
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.core.jobs import JobError

# -- caps on files --------------------------------------------------------------------------------------------------
# The largest checkpoint the studio writes is a vocoder trained with the "best" preset and EMA on: generator,
# discriminators and the EMA generator make 630 tensors and an 85 KB header (measured by building those networks
# on the meta device; the shipped starter models have 20-28 tensors and 2-3 KB headers). 4 MiB is ~50x that
# header and still parses in tens of milliseconds; safetensors' own cap is 100 MB, which is what let a header of a
# million empty tensors (60 MB) cost 27 s and 1.9 GB.
HEADER_CAP = 4 * 2**20
# ~30x the 630 tensors of the largest checkpoint the studio writes (a 64-layer GPT with EMA has ~1,550).
MAX_TENSORS = 20_000
# The largest preset network is the "best" TTS at 28 M parameters (GPT best: 25 M). 500 M (2 GB of float32, a
# GPT-2 medium) leaves room for big --set overrides on a GPU and stays loadable on a 16 GB desktop.
MAX_PARAMETERS = 500_000_000
# A run's config.json is ~2-5 KB (a GAN's class names: ~50 bytes each, at most MAX_CLASSES of them).
CONFIG_CAP = 4 * 2**20
# A Piper .onnx.json is 5-20 KB (its phoneme map); a pronunciation dictionary of 10,000 entries is ~500 KB.
SMALL_JSON_CAP = 4 * 2**20

# safetensors' element types and their sizes in bytes (the ones a PyTorch checkpoint can hold).
DTYPE_BYTES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E5M2": 1,
    "F8_E4M3": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}
MAX_RANK = 8  # the studio's tensors have 1-4 dimensions


class DamagedFile(JobError):
    """A file that cannot be what it claims to be (torn, not JSON, offsets outside the file). ``problem`` is the
    detail, as a clause ("its header is not JSON")."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path, self.problem = Path(path), problem
        super().__init__(f"{Path(path)} is damaged: {problem}.")


class OverLimit(JobError):
    """A value in a received file is outside the documented limit: refused before anything is allocated.
    ``problem`` is the clause naming the value and the limit ("n_layer is 2,000, above the limit of 64 ...")."""

    def __init__(self, path: Path, problem: str, what: str = "the file") -> None:
        self.path, self.problem = Path(path), problem
        super().__init__(
            f"{Path(path)} is refused: {problem}, so {what} is not opened (the file is damaged or was altered)."
        )


# -- size-capped JSON -----------------------------------------------------------------------------------------------
def read_json(path: str | Path, cap: int = CONFIG_CAP, what: str = "the file") -> Any:
    """JSON of ``path``, refused unread when the file is over ``cap`` bytes. OSError and ValueError (not JSON,
    or nested too deeply for the parser) propagate, so callers keep their own "missing" and "damaged" messages."""
    path = Path(path)
    size = path.stat().st_size
    if size > cap:
        raise OverLimit(path, f"it is {size:,} bytes, over the limit of {cap:,} bytes for this kind of file", what)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except RecursionError as exc:  # "[[[[…" a million deep: not a studio file
        raise ValueError(f"{path.name} is nested too deeply to be a studio file") from exc


# -- the safetensors header ---------------------------------------------------------------------------------------
def read_safetensors_header(path: str | Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """``{tensor name: (dtype, shape)}`` of a safetensors file, read from its header alone.

    Reads 8 bytes (the header's length, little-endian), refuses a header over :data:`HEADER_CAP` without reading
    it, then at most that many bytes of JSON; refuses more than :data:`MAX_TENSORS` tensors, unknown dtypes,
    negative or absurd shapes, and data offsets that do not tile the rest of the file exactly (what safetensors
    itself requires). Raises :class:`OverLimit` for a limit, :class:`DamagedFile` for anything else."""
    path = Path(path)
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size < 8:
            raise DamagedFile(path, f"it is {size} bytes long, too short for a safetensors header")
        (length,) = struct.unpack("<Q", handle.read(8))
        if 8 + length > size:
            raise DamagedFile(path, f"its header says it is {length:,} bytes long, but the file has {size:,} bytes")
        if length > HEADER_CAP:
            raise OverLimit(
                path,
                f"its safetensors header is {length:,} bytes, over the limit of {HEADER_CAP:,} "
                f"(the studio's largest checkpoints have headers under 100 KB)",
                "the checkpoint",
            )
        raw = handle.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DamagedFile(path, "its safetensors header is not JSON") from exc
    if not isinstance(header, dict):
        raise DamagedFile(path, "its safetensors header is not a table of tensors")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise DamagedFile(path, "its safetensors metadata is not text")
    if len(header) > MAX_TENSORS:
        raise OverLimit(
            path,
            f"its header lists {len(header):,} tensors, over the limit of {MAX_TENSORS:,} (the "
            f"studio's largest checkpoints hold about 630)",
            "the checkpoint",
        )
    entries = {name: _tensor_entry(path, name, entry) for name, entry in header.items()}
    _check_tiling(path, entries, size - 8 - length)
    return {name: (dtype, shape) for name, (dtype, shape, _, _) in entries.items()}


def _tensor_entry(path: Path, name: str, entry: Any) -> tuple[str, tuple[int, ...], int, int]:
    """(dtype, shape, begin, end) of one header entry, checked for types and for its byte count."""
    short = name[:60]
    if not isinstance(entry, dict):
        raise DamagedFile(path, f"its header entry {short!r} is not a tensor")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in DTYPE_BYTES:
        raise DamagedFile(path, f"the tensor {short!r} has the unknown type {str(dtype)[:20]!r}")
    if not isinstance(shape, list) or len(shape) > MAX_RANK or not all(_natural(d) for d in shape):
        raise DamagedFile(path, f"the tensor {short!r} has an invalid shape")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(_natural(o) for o in offsets)
        or offsets[0] > offsets[1]
    ):
        raise DamagedFile(path, f"the tensor {short!r} has invalid data offsets")
    nbytes = math.prod(shape) * DTYPE_BYTES[dtype]
    if offsets[1] - offsets[0] != nbytes:
        raise DamagedFile(
            path, f"the tensor {short!r} has {offsets[1] - offsets[0]:,} bytes for a shape of {nbytes:,} bytes"
        )
    return dtype, tuple(shape), offsets[0], offsets[1]


def _natural(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_tiling(path: Path, entries: dict, data_bytes: int) -> None:
    """The tensors must cover the data after the header exactly, in order, without gaps or overlaps."""
    position = 0
    for _, _, begin, end in sorted(entries.values(), key=lambda e: (e[2], e[3])):
        if begin != position:
            raise DamagedFile(path, "its tensors overlap or leave gaps (the file is torn or was edited)")
        position = end
    if position != data_bytes:
        raise DamagedFile(
            path,
            f"its tensors need {position:,} bytes of data, but the file holds {data_bytes:,} "
            f"(it is torn or was cut short)",
        )


# -- limits on the values networks and sounds are built from ----------------------------------------------------------
@dataclass(frozen=True)
class Limit:
    """``low <= value <= high`` (``whole``: an integer), with the reason the bound was chosen."""

    low: float
    high: float
    reason: str
    whole: bool = True


_VOCAB = Limit(
    1,
    262_144,
    "character vocabularies hold a few hundred to ~20,000 ids and BPE defaults to 4,096; 262,144 is 5x GPT-2's 50,257",
)
_DROPOUT = Limit(0.0, 0.999, "a probability below 1", whole=False)

LIMITS: dict[str, dict[str, Limit]] = {
    # studio/core/nets/gpt.py GPTConfig (presets: fast 4x128, balanced 6x384, best 8x512 with a 512-token window)
    "gpt": {
        "vocab_size": _VOCAB,
        "block_size": Limit(
            1,
            8_192,
            "the presets use 64 to 512 tokens; every position is a row of weights and of each layer's key-value cache",
        ),
        "n_layer": Limit(1, 64, "the presets use 4 to 8 layers"),
        "n_head": Limit(1, 64, "the presets use 4 to 8 heads"),
        "n_embd": Limit(1, 4_096, "the presets use 128 to 512"),
        "dropout": _DROPOUT,
    },
    # studio/core/nets/lstm.py LSTMConfig (presets: 128-384 wide, 256-1,024 hidden, 2-3 layers)
    "lstm": {
        "vocab_size": _VOCAB,
        "n_embd": Limit(1, 4_096, "the presets use 128 to 384"),
        "n_hidden": Limit(1, 8_192, "the presets use 256 to 1,024"),
        "n_layer": Limit(1, 16, "the presets use 2 or 3 layers"),
        "dropout": _DROPOUT,
    },
    # studio/core/nets/gan.py and vae.py (presets: width 8-96, z_dim 64 or 128, one class per class folder)
    "gan": {
        "resolution": Limit(32, 256, "the studio trains at 32, 64, 128 or 256 px"),
        "z_dim": Limit(1, 4_096, "the presets use 64 or 128"),
        "width": Limit(1, 1_024, "the presets use 8 to 96"),
        "num_classes": Limit(0, 10_000, "one class per class folder of a dataset"),
    },
    # studio/core/nets/tts.py TtsConfig (presets: fast, balanced and Tacotron 2's full size as "best")
    "tts": {
        "n_symbols": Limit(1, 4_096, "the phoneme table has about 200 symbols"),
        "n_mels": Limit(1, 512, "the audio cache uses 80 mel bands"),
        "reduction": Limit(1, 8, "the presets use 2 or 3 frames per decoder step"),
        "embed_dim": Limit(1, 2_048, "the presets use 128 to 512"),
        "encoder_convs": Limit(0, 16, "Tacotron 2 uses 3"),
        "encoder_kernel": Limit(1, 63, "Tacotron 2 uses 5"),
        "prenet_dim": Limit(1, 2_048, "the presets use 64 to 256"),
        "attention_rnn_dim": Limit(1, 4_096, "the presets use 256 to 1,024"),
        "decoder_rnn_dim": Limit(1, 4_096, "the presets use 256 to 1,024"),
        "attention_dim": Limit(1, 2_048, "the presets use 128"),
        "location_filters": Limit(1, 512, "Tacotron 2 uses 32"),
        "location_kernel": Limit(1, 255, "Tacotron 2 uses 31"),
        "postnet_dim": Limit(1, 2_048, "the presets use 128 to 512"),
        "postnet_convs": Limit(1, 16, "Tacotron 2 uses 5"),
        "dropout": _DROPOUT,
        "rnn_dropout": _DROPOUT,
        "gate_threshold": Limit(0.0, 1.0, "a probability", whole=False),
        "max_frames_per_symbol": Limit(
            1,
            100,
            "25 is the default, about 4x a normal speaking rate; it bounds how "
            "long a voice that never learned to stop keeps talking",
        ),
    },
    # studio/core/nets/vocoder.py VocoderConfig (presets: width 32-256; rates 8,8,2,2 for the cache's hop of 256)
    "vocoder": {
        "n_mels": Limit(1, 512, "the audio cache uses 80 mel bands"),
        "width": Limit(1, 2_048, "the presets use 32 to 256 (HiFi-GAN V1: 512)"),
        "disc_width": Limit(1, 512, "the presets use 4 to 32"),
        "upsample_rates": Limit(1, 64, "HiFi-GAN uses 2 to 8 per layer"),
        "resblock_kernels": Limit(1, 63, "HiFi-GAN uses 3, 7 and 11"),
        "resblock_dilations": Limit(1, 64, "HiFi-GAN uses 1, 3 and 5"),
    },
    # the "mel" block of a TTS or vocoder run (studio/core/speech/mel.py: MelFrontEnd and Griffin-Lim)
    "mel": {
        "sample_rate": Limit(4_000, 192_000, "the audio cache accepts 4-192 kHz"),
        "n_mels": Limit(1, 512, "the audio cache uses 80 mel bands"),
        "n_fft": Limit(16, 16_384, "the audio cache uses 1,024; 16,384 is 85 ms at 192 kHz"),
        "hop_length": Limit(16, 16_384, "the audio cache uses 256"),
        "win_length": Limit(16, 16_384, "the audio cache uses 1,024"),
        "f_min": Limit(0.0, 96_000.0, "half the highest sample rate", whole=False),
        "f_max": Limit(0.0, 96_000.0, "half the highest sample rate", whole=False),
    },
    # a Piper voice's .onnx.json (Piper's voices: 16,000 or 22,050 Hz, scales 0.333-1.0, up to 904 speakers)
    "piper": {
        "sample_rate": Limit(8_000, 48_000, "Piper voices are 16,000 or 22,050 Hz"),
        "length_scale": Limit(0.1, 5.0, "Piper voices use about 1.0; 5 already speaks five times slower", whole=False),
        "noise_scale": Limit(0.0, 2.0, "Piper voices use 0.333 to 0.667", whole=False),
        "noise_w": Limit(0.0, 2.0, "Piper voices use about 0.8", whole=False),
        "num_speakers": Limit(1, 10_000, "the largest Piper voice (libritts_r) has 904 speakers"),
        "phonemes": Limit(3, 10_000, "Piper's phoneme maps hold about 150 phonemes"),
        "ids_per_phoneme": Limit(1, 16, "Piper maps a phoneme to one id"),
        "phoneme_id": Limit(0, 65_535, "Piper's ids are below 256"),
    },
}
LIMITS["vae"] = LIMITS["gan"]
# studio/core/nets/lightweight_gan.py GeneratorConfig: the GAN's sizes (presets: width 16-64, z_dim 128)
LIMITS["lightweight_gan"] = LIMITS["gan"]
# studio/core/nets/sparse_vae.py SparseVaeConfig: the VAE's sizes and the prior's share of latent numbers in use
LIMITS["sparse_vae"] = {
    **LIMITS["vae"],
    "prior_active": Limit(0.0, 1.0, "a share of the latent numbers (the presets use 0.1)", whole=False),
}
# studio/core/nets/cyclegan.py CycleGanConfig (presets: width 16-64, 6 or 9 residual blocks)
LIMITS["cyclegan"] = {
    "resolution": LIMITS["gan"]["resolution"],
    "width": Limit(1, 512, "the presets use 16 to 64"),
    "n_blocks": Limit(1, 32, "the presets use 6 or 9 residual blocks"),
}

MAX_LIST = 8  # upsample rates, resblock kernels and dilations per vocoder (HiFi-GAN: 3 or 4 of each)
MAX_CLASSES = 10_000
MAX_OVERLAP = 16  # n_fft / hop_length: the audio cache overlaps frames 4x; more only multiplies Griffin-Lim's work

# How long one sentence may sound, whatever a voice's files say: 5 minutes (a 300-character sentence, the longest
# studio/core/speech/text.py makes, takes ~25 s at a normal rate, ~100 s at the slowest speed setting). At 48 kHz
# that is 58 MB of float32, and a trained voice's decoder stops there even if it never learned to.
MAX_SENTENCE_SECONDS = 300.0
# How long one Piper phoneme id may sound (ids include the pads between phonemes: ~0.04 s each at normal speed,
# 0.8 s at length_scale 5 and the slowest speed setting).
MAX_SECONDS_PER_ID = 1.0
# Phoneme ids fed to a Piper voice in one call: a 300-character sentence makes ~700 (phonemes and their pads).
MAX_PIPER_IDS = 4_096
# Griffin-Lim keeps ~4 complex spectrograms of (n_fft / 2 + 1) x frames; 2^25 bins is 256 MB each. A 5-minute
# sentence at the cache's settings (513 x 25,840) is 13 M bins.
MAX_SPECTROGRAM_BINS = 2**25


def check_value(where: str | Path, key: str, value: Any, limit: Limit, what: str = "the run") -> float:
    """``value`` checked against ``limit`` (booleans, text, NaN and infinities refused); returns it as a number.
    ``where`` names the file in the message."""
    kind = "a whole number" if limit.whole else "a number"
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or (limit.whole and value != int(value))
    ):
        raise OverLimit(Path(where), f"its {key} is {str(value)[:40]!r}, not {kind}", what)
    if not limit.low <= value <= limit.high:
        side = "above" if value > limit.high else "below"
        bound = limit.high if value > limit.high else limit.low
        raise OverLimit(
            Path(where), f"its {key} is {_number(value)}, {side} the limit of {_number(bound)} ({limit.reason})", what
        )
    return int(value) if limit.whole else float(value)


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() and abs(value) < 1e18 else f"{value:g}"


def check_values(where: str | Path, values: dict, table: dict[str, Limit], what: str = "the run") -> None:
    """Every key of ``table`` present in ``values`` (lists: every element, at most :data:`MAX_LIST` of them)."""
    for key, limit in table.items():
        if key not in values or values[key] is None:
            continue
        value = values[key]
        if isinstance(value, (list, tuple)):
            if not 1 <= len(value) <= MAX_LIST:
                raise OverLimit(Path(where), f"its {key} has {len(value):,} entries, not 1 to {MAX_LIST}", what)
            for item in value:
                check_value(where, key, item, limit, what)
        else:
            check_value(where, key, value, limit, what)


def check_model(model: Any, where: str | Path) -> None:
    """Check a run's "model" block (describe()'s dict in config.json, ``where`` names that file): its network sizes
    against :data:`LIMITS` for its kind (a family's id; a family without an entry gets the other checks only), its
    class list, and for a model that carries mel settings (the speech families) those settings and a vocoder's
    upsampling against them. The sizes are read where describe() keeps them: under "config" when it has one,
    else at the top level. Pure Python: call it before any weights are read. Unknown kinds are left to the caller
    (it refuses them by name)."""
    if not isinstance(model, dict):
        return
    config = model.get("config")
    sizes = config if isinstance(config, dict) else model
    table = LIMITS.get(str(model.get("kind")))
    if table is not None:
        check_values(where, sizes, table)
    classes = model.get("classes")
    if classes is not None and (not isinstance(classes, list) or len(classes) > MAX_CLASSES):
        raise OverLimit(
            Path(where),
            f"its class list has {len(classes) if isinstance(classes, list) else 0:,} "
            f"names, over the limit of {MAX_CLASSES:,}",
            "the run",
        )
    mel = model.get("mel")
    if isinstance(mel, dict):
        check_mel(mel, where)
        rates = sizes.get("upsample_rates")
        if isinstance(rates, list):  # a vocoder: its upsampling must make exactly one hop of samples per frame
            product = math.prod(int(r) for r in rates)
            if product != int(mel.get("hop_length") or 0):
                raise OverLimit(
                    Path(where),
                    f"its upsample_rates multiply to {product:,} samples per mel "
                    f"frame, but its mel settings have {mel.get('hop_length')}",
                    "the run",
                )


def check_training_config(family: str, config: dict, where: str | Path) -> None:
    """The hyperparameters of a run's config.json ("config": the recipe's settings, which name the network's sizes
    with the same keys as its describe()) against :data:`LIMITS`, for ``train --resume`` of a run someone sent:
    call it before the recipe builds its networks. Families without limits (the reference autoencoder) pass."""
    table = LIMITS.get(family)
    if not table or not isinstance(config, dict):
        return
    values = dict(config)
    rates = values.get("upsample_rates")
    if isinstance(rates, str):  # the vocoder recipe keeps "8,8,2,2"
        try:
            values["upsample_rates"] = [int(r) for r in rates.split(",") if r.strip()]
        except ValueError:
            raise OverLimit(
                Path(where), f"its upsample_rates {rates[:40]!r} are not whole numbers", "the run"
            ) from None
    check_values(where, values, table)


def check_mel(mel: dict, where: str | Path) -> None:
    """The mel settings of a voice or vocoder run: each in range, the window inside the FFT, frames overlapping
    at most :data:`MAX_OVERLAP` times."""
    check_values(where, mel, LIMITS["mel"])
    n_fft, hop, win = (mel.get(k) for k in ("n_fft", "hop_length", "win_length"))
    if isinstance(n_fft, (int, float)) and isinstance(win, (int, float)) and win > n_fft:
        raise OverLimit(
            Path(where), f"its win_length {_number(win)} is longer than its n_fft {_number(n_fft)}", "the run"
        )
    if isinstance(n_fft, (int, float)) and isinstance(hop, (int, float)) and n_fft > MAX_OVERLAP * hop:
        raise OverLimit(
            Path(where),
            f"its n_fft {_number(n_fft)} is over {MAX_OVERLAP} times its hop_length "
            f"{_number(hop)} (the audio cache uses 4 times)",
            "the run",
        )


def decoder_frames_cap(mel: dict) -> int:
    """The most mel frames a trained voice may produce for one sentence: :data:`MAX_SENTENCE_SECONDS` of audio
    at the voice's (checked) sample rate and hop."""
    return max(1, int(MAX_SENTENCE_SECONDS * int(mel["sample_rate"]) / int(mel["hop_length"])))


# -- Piper ------------------------------------------------------------------------------------------------------------
def check_piper_config(config: dict, where: str | Path) -> None:
    """A Piper ``.onnx.json`` (already parsed, size-capped by :func:`read_json`): sample rate, inference scales,
    speaker count and phoneme map within :data:`LIMITS` ["piper"]."""
    table = LIMITS["piper"]
    what = "the voice"
    audio = config["audio"] if isinstance(config.get("audio"), dict) else {}
    check_value(where, "sample_rate", audio.get("sample_rate"), table["sample_rate"], what)
    inference = config.get("inference") or {}
    if not isinstance(inference, dict):
        raise OverLimit(Path(where), "its inference settings are not a table", what)
    check_values(where, inference, {k: table[k] for k in ("length_scale", "noise_scale", "noise_w")}, what)
    if config.get("num_speakers") is not None:
        check_value(where, "num_speakers", config["num_speakers"], table["num_speakers"], what)
    id_map = config.get("phoneme_id_map")
    if isinstance(id_map, dict):
        check_value(where, "number of phonemes", len(id_map), table["phonemes"], what)
        for ids in id_map.values():
            if not isinstance(ids, list):
                raise OverLimit(Path(where), "its phoneme map holds an entry that is not a list of ids", what)
            check_value(where, "ids per phoneme", len(ids), table["ids_per_phoneme"], what)
            for i in ids:
                check_value(where, "phoneme id", i, table["phoneme_id"], what)


def piper_samples_cap(ids: int, sample_rate: int) -> int:
    """The most samples a Piper voice may return for ``ids`` phoneme ids (see :data:`MAX_SECONDS_PER_ID`)."""
    seconds = min(MAX_SENTENCE_SECONDS, MAX_SECONDS_PER_ID * max(1, ids))
    return int(seconds * sample_rate)


# -- config vs weights ------------------------------------------------------------------------------------------------
def expected_shapes(build: Callable[[dict], Any], model: dict) -> dict[str, tuple[int, ...]]:
    """``{name: shape}`` of the state dict of the network ``build(model)`` makes, built on the meta device (no
    memory is allocated for parameters; call :func:`check_model` first so the module count is bounded too)."""
    import torch

    with torch.device("meta"), _shapes_only_mode()():
        network = build(model)
    return {name: tuple(value.shape) for name, value in network.state_dict().items()}


# In-place initializers a constructor runs; on a meta tensor there are no values to fill.
_FILLS = frozenset(
    {
        "normal_",
        "uniform_",
        "fill_",
        "zero_",
        "trunc_normal_",
        "bernoulli_",
        "exponential_",
        "random_",
        "copy_",
        "orthogonal_",
    }
)


@functools.lru_cache(maxsize=1)
def _shapes_only_mode():
    """The TorchFunctionMode class below (defined on first use: this module does not import torch)."""
    from torch.overrides import TorchFunctionMode

    class ShapesOnly(TorchFunctionMode):
        """Builds on the meta device without running the ops whose meta kernels are Python decompositions: the
        first of those imports torch._dynamo (measured: 2 s, which every ``generate`` would pay). Initializers
        return their tensor unchanged and weight normalization's two ops return the right shapes; anything else
        runs as usual, so a new op is at worst slower, never wrong."""

        def __torch_function__(self, func, types, args=(), kwargs=None):
            import torch

            kwargs = kwargs or {}
            name = getattr(func, "__name__", "")
            first = args[0] if args else kwargs.get("tensor", kwargs.get("input"))  # nn.init passes tensor=
            if isinstance(first, torch.Tensor) and first.is_meta:
                if name in _FILLS:
                    return first
                if name == "norm_except_dim":  # weight_norm's g: v's shape with 1 on every axis but ``dim``
                    dim = args[2] if len(args) > 2 else kwargs.get("dim", 0)
                    if dim == -1:
                        return torch.empty((), device="meta", dtype=first.dtype)
                    shape = [1] * first.dim()
                    shape[dim] = first.shape[dim]
                    return torch.empty(shape, device="meta", dtype=first.dtype)
                if name == "_weight_norm":  # weight_norm's weight: v's shape
                    return torch.empty_like(first)
            return func(*args, **kwargs)

    return ShapesOnly


def check_weights_match(
    expected: dict[str, tuple[int, ...]], found: dict[str, tuple[int, ...]], where: str | Path
) -> None:
    """Refuse a description of over :data:`MAX_PARAMETERS` parameters (:class:`OverLimit`), and one whose
    tensors are not exactly those of the weights file ``where`` (:class:`DamagedFile`; ``found`` holds the header's
    shapes of the network's keys, prefix removed). Names the first difference, so a shape that grew (``n_embd``)
    shows which tensor."""
    parameters = sum(math.prod(shape) for shape in expected.values())
    if parameters > MAX_PARAMETERS:
        raise OverLimit(
            Path(where),
            f"the run's config.json describes a network of {parameters:,} parameters, "
            f"over the limit of {MAX_PARAMETERS:,} (the largest preset has 28,000,000)",
            "the run",
        )
    if expected == found:
        return
    held = sum(math.prod(shape) for shape in found.values())
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing or extra:
        detail = (
            f"the run's config.json describes {len(expected):,} tensors and {parameters:,} parameters, but "
            f"this file holds {len(found):,} tensors and {held:,} parameters "
            f"({'first missing: ' + missing[0][:60] if missing else 'first extra: ' + extra[0][:60]})"
        )
    else:
        name = next(n for n in sorted(expected) if expected[n] != found[n])
        detail = (
            f"the run's config.json describes {name[:60]} as {_shape(expected[name])}, but this file "
            f"holds {_shape(found[name])}"
        )
    raise DamagedFile(Path(where), f"{detail}; the description and the weights do not belong together")


def _shape(shape: tuple[int, ...]) -> str:
    return " x ".join(f"{d:,}" for d in shape) or "a single number"
