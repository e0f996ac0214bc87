"""A trained language model (any family the family table sends to the text panel: a GPT, an LSTM) loaded for
writing: token ids in, next-token logits out.

What this module settles, so that :mod:`.sampling` only has to choose tokens:

* **Which run and checkpoint.** A run folder as the engine writes it: config.json whose "model" block is the
  recipe's describe() (``{"kind": "gpt"|"lstm", ...constructor fields, "tokenizer", "eot_id"}``), the
  tokenizer the model was trained with in ``tokenizer.json`` beside it (a model is useless with any other
  tokenizer, so it travels with the run), and ``checkpoints/step-NNNNNN.safetensors``. EMA weights are
  preferred when the checkpoint has them, as for images: they are what the previews used.
* **Bytes, not strings.** Every token id maps to the exact bytes it stands for (:attr:`TextModel.token_bytes`):
  a character, one raw UTF-8 byte of the character tokenizer's fallback, or a byte-level BPE token, which can
  end in the middle of a Chinese character or an emoji. Sampling joins bytes and decodes only complete
  characters, so streamed pieces never contain half a character, and the text is exactly what
  ``tokenizer.decode`` gives for the same ids.
* **The context window.** The family table says whether a model has one (``Generator.window``: the describe()
  key that holds it). A GPT sees at most ``block_size`` positions (learned position embeddings). Prompt prefill
  and incremental decoding both go through the network's KV cache (``forward_cached``), which slides by itself
  when full (studio/core/nets/gpt.py: it re-encodes the newest half window from position
  0, so a token costs O(context) and the context never shrinks below half a window). An LSTM has no window:
  its state (h, c) simply carries on. :meth:`Context.recompute` is the no-cache reference (nanoGPT's: a full
  forward over the last ``block_size`` tokens for every new token), used by the speed benchmark.

Loading is safe against files received from others: weights come from safetensors, config and tokenizer
are JSON. Cheap to import: torch loads when a model does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.datasets import tokenizers
from studio.core.generation.run_models import load_generator, read_run_config, resolve_run_folder
from studio.core.jobs import JobError
from studio.core.training import families

log = logging.getLogger(__name__)

PANEL = "text"  # the families whose models this module loads: those the family table sends to the text panel
TOKENIZER_FILE = "tokenizer.json"


# -- finding runs -----------------------------------------------------------------------------------------------
def read_text_config(run_folder: str | Path) -> dict:
    """config.json of a run, checked to be a language model (a family of the text panel)."""
    return read_run_config(run_folder, families.for_panel(PANEL), "a text writer")


def resolve_text_run(project_root: str | Path, run: str) -> Path:
    """The folder of run ``run`` in the project, a starter model of that name in models/, or for "latest" the
    newest language-model run with a checkpoint."""
    return resolve_run_folder(project_root, run, read_text_config, families.for_panel(PANEL))


# -- token bytes --------------------------------------------------------------------------------------------------
def token_bytes_table(tokenizer) -> list[bytes]:
    """The exact bytes of every token id (eot: none).

    For byte-level BPE the vocabulary stores each token as GPT-2's printable stand-ins for bytes; mapping
    them back gives the raw bytes, including tokens that hold only part of a character (which
    ``decode([id])`` would turn into U+FFFD)."""
    kind = getattr(tokenizer, "kind", "")
    table = [b""] * int(tokenizer.vocab_size)
    if kind == "char":
        for i, char in enumerate(tokenizer.chars):
            table[i] = char.encode("utf-8", "surrogatepass")
        for value in range(256):
            table[tokenizer.byte_base + value] = bytes([value])
        return table
    if kind == "bpe":
        vocab = tokenizer.to_json()["hf"]["model"]["vocab"]
        to_byte = {char: byte for byte, char in _bytes_to_unicode().items()}
        for piece, i in vocab.items():
            if 0 <= int(i) < len(table):
                table[int(i)] = bytes(to_byte[c] for c in piece)
        return table
    raise JobError(f"This run's tokenizer ({kind or 'unknown'}) is not one AIGC Studio can write with.")


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table (the one byte-level BPE vocabularies are written in)."""
    printable = (
        list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in chars), strict=True))


# -- the model ----------------------------------------------------------------------------------------------------
@dataclass
class TextModel:
    """A loaded GPT or LSTM in eval mode, its tokenizer, and where it came from."""

    kind: str  # the family id (describe()'s "kind")
    tokenizer: Any
    network: Any = field(repr=False)  # nn.Module with forward_cached(idx, cache) -> (logits, cache)
    run_id: str = ""
    step: int = 0
    folder: Path | None = None
    device: str = "cpu"
    block_size: int | None = None  # None: no window (an LSTM)
    ema: bool = False
    token_bytes: list[bytes] = field(default=None, repr=False)  # type: ignore[arg-type]  # __post_init__ fills it

    def __post_init__(self) -> None:
        if self.token_bytes is None:
            self.token_bytes = token_bytes_table(self.tokenizer)

    @property
    def eot_id(self) -> int:
        return int(self.tokenizer.eot_id)

    @property
    def vocab_size(self) -> int:
        return int(self.tokenizer.vocab_size)

    def context(self) -> Context:
        return Context(self)

    def describe(self) -> dict:
        return {"run_id": self.run_id, "step": self.step, "kind": self.kind, "tokenizer": self.tokenizer.kind}


class Context:
    """The tokens a model has seen and its cache (GPT) or state (LSTM); :meth:`feed` returns the next logits.

    Not thread-safe (one per generation); the network itself is shared read-only."""

    def __init__(self, model: TextModel) -> None:
        self.model = model
        self.ids: list[int] = []
        self._cache = None

    def feed(self, ids: list[int]):
        """Append ``ids`` (at least one) and return float32 logits (V,) for the token after them (CPU)."""
        import torch

        ids = [int(i) for i in ids]
        self.ids.extend(ids)
        with torch.inference_mode():
            idx = torch.tensor([ids], dtype=torch.long, device=self.model.device)
            logits, self._cache = self.model.network.forward_cached(idx, self._cache)
        return logits[0, -1].float().cpu()

    def recompute(self, ids: list[int]):
        """Logits after ``ids`` with no cache at all: a full forward over the window (the reference that
        the cache must match, and the baseline of the speed benchmark)."""
        import torch

        self.ids.extend(int(i) for i in ids)
        block = self.model.block_size
        window = self.ids[-block:] if block is not None else self.ids
        with torch.inference_mode():
            idx = torch.tensor([window], dtype=torch.long, device=self.model.device)
            logits = self.model.network(idx)[0]  # forward(idx) -> (logits, loss)
        return logits[0, -1].float().cpu()


# -- loading ------------------------------------------------------------------------------------------------------
def load_text_model(run_folder: str | Path, step: int | None = None, device: str = "cpu") -> TextModel:
    """Load a GPT or LSTM, its tokenizer and its weights (``step``: newest checkpoint when None).

    Every way a run can be unusable (not a text run, no checkpoint, a damaged or mismatched file) is a
    :class:`JobError` with a sentence that says which file and what to do."""

    run_folder = Path(run_folder)
    config = read_text_config(run_folder)
    model = config["model"]
    run_id = str(config.get("run_id") or run_folder.name)
    try:
        tokenizer = tokenizers.load(run_folder / TOKENIZER_FILE)
    except FileNotFoundError as exc:
        raise JobError(
            f"The run {run_id} has no {TOKENIZER_FILE}, so its model cannot turn text into tokens; "
            f"train the run again with this version of AIGC Studio."
        ) from exc
    except Exception as exc:  # OSError, ValueError, KeyError, the HF parser's own errors
        raise JobError(f"The {TOKENIZER_FILE} of {run_id} is damaged; the run cannot be used for writing.") from exc
    (network, loaded_step, ema, state), generator = load_generator(run_folder, step, model, "used for writing", run_id)
    if int(tokenizer.vocab_size) > _vocab_rows(model, state):
        raise JobError(
            f"The {TOKENIZER_FILE} of {run_id} does not belong to its model (it has more tokens than "
            f"the model knows); the run cannot be used for writing."
        )
    network.to(device)
    block = int(model[generator.window]) if generator.window else None
    log.info("loaded %s step %d (%s weights) on %s", run_id, loaded_step, "EMA" if ema else "raw", device)
    return TextModel(
        kind=model["kind"],
        tokenizer=tokenizer,
        network=network,
        run_id=run_id,
        step=loaded_step,
        folder=run_folder,
        device=str(device),
        block_size=block,
        ema=ema,
    )


def _vocab_rows(model: dict, state: dict) -> int:
    if model.get("vocab_size") is not None:
        return int(model["vocab_size"])
    return max((int(v.shape[0]) for k, v in state.items() if k.endswith("weight") and v.dim() == 2), default=0)
