"""Family "gpt": a GPT language model (studio/core/nets/gpt.py) on the text cache; also the shared base
:class:`TextRecipe` of the text families ("lstm" in text_lstm.py).

Data: the cache is nanoGPT's layout, one flat stream of token ids for training and one for validation
(every item followed by end-of-text). A training example is a window of ``block_size + 1`` tokens: x is
its first ``block_size``, y the same shifted by one.

Which windows a step reads — exact resume, every part of the text seen, distinct data per GPU:
the engine's sampler permutes ``range(train_size())`` per epoch (a pure function of seed and epoch), where
an "item" is one ``block_size`` chunk of the training stream; a window starts at its chunk's first token plus
a random shift in ``[0, block_size)`` drawn with ``torch.randint`` from torch's global CPU generator. The
engine seeds that generator and saves it in every checkpoint, so a resumed run reads exactly the windows the
uninterrupted one would have; the sampler gives each DDP rank different chunks; and one epoch covers the
whole text once (nanoGPT draws start positions uniformly with replacement instead, which leaves ~37 % of
the windows unread per "epoch" and makes "epochs" meaningless). Drawing on the CPU keeps the stream the same
whatever the training device.

Evaluation reads a fixed set of evenly spaced validation windows (``eval_windows`` of them, or as many
non-overlapping ones as the text holds), so two evaluations differ only by the weights; it reports the
mean per-token cross-entropy ("val_loss", nats, the number nanoGPT prints) and its exponential
("val_perplexity"). Previews continue a fixed prompt (the first ``PROMPT_TOKENS`` tokens of the validation
text) with a fixed-seed sampler, so the user watches the same sentence improve.

Optimizer (nanoGPT's): AdamW with betas (0.9, adam_beta2), weight decay only on 2-D weights (matmuls and
embeddings); biases and LayerNorm gains are not decayed, since shrinking them toward 0 only hurts.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from studio.core.atomic import atomic_write_bytes
from studio.core.datasets.text_cache import BuildTextCache, TextCache
from studio.core.jobs import JobError, run_job
from studio.core.nets.config import NetConfig
from studio.core.nets.gpt import GPT, GPTConfig, pick_next
from studio.core.training.recipe_base import Phase, Recipe, adamw

PROMPT_TOKENS = 32  # the preview's prompt: the start of the validation text
PREVIEW_SEED = 4321  # the same sampling noise at every preview


class TextRecipe(Recipe):
    """What the text families share: the cache, windows, evaluation, previews, the tokenizer file.

    Subclasses set ``family`` and ``model_fields`` (the settings that are fields of the network's config) and
    implement ``net_config`` and ``build_models``; ``describe()`` writes the config's fields."""

    preview_kind = "text"
    metric = "val_loss"
    model_name = "model"  # the key of the network in build_models() and in checkpoints

    def __init__(self, config: dict, data: TextCache, device: torch.device) -> None:
        super().__init__(config, data, device)
        self.check_settings(config)
        self.tokenizer = data.tokenizer
        self.vocab_size = int(data.vocab_size)
        self.train_tokens, self.val_tokens = data.train, data.val
        if len(self.train_tokens) < 2:
            raise JobError(
                "The dataset has too little training text to learn from (under two tokens). Import more text."
            )
        # A text shorter than one window trains on windows as long as it allows (the model keeps block_size).
        self.window = min(int(config["block_size"]), len(self.train_tokens) - 1)
        self.max_start = len(self.train_tokens) - self.window - 1  # a window is window + 1 tokens

    @classmethod
    def check_settings(cls, config: dict) -> None:
        if config["tokenizer"] not in ("char", "bpe"):
            raise JobError("The tokenizer must be “char” (characters) or “bpe” (word pieces).")
        if config["block_size"] < 1:
            raise JobError("block_size must be at least 1.")
        if config["tokenizer"] == "bpe" and config["vocab_size"] < 258:
            raise JobError(
                "A BPE vocabulary needs at least 258 entries (the 256 bytes, one merge and "
                "end-of-text); 4096 suits most datasets."
            )
        if not 0.0 <= config["dropout"] < 1.0:
            raise JobError("dropout must be at least 0 and below 1.")

    @classmethod
    def prepare_data(cls, dataset_folder: Path, config: dict, ctx) -> None:
        cls.check_settings(config)
        run_job(BuildTextCache(dataset_folder, config["tokenizer"], config["vocab_size"]), ctx)

    @classmethod
    def open_data(cls, dataset_folder: Path, config: dict) -> TextCache:
        return TextCache.open(dataset_folder, config["tokenizer"], config["vocab_size"])

    # -- what to train ----------------------------------------------------------------------------------
    model_fields: tuple[str, ...] = ()

    def model_settings(self) -> dict:
        """The network's config fields (vocab_size from the fitted tokenizer, not the config's cap)."""
        settings = {name: self.config[name] for name in self.model_fields}
        settings["vocab_size"] = self.vocab_size
        return settings

    def net_config(self) -> NetConfig:
        """The network's config, from :meth:`model_settings`."""
        raise NotImplementedError

    def build_optimizers(self, models):
        model = models[self.model_name]
        decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
        no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
        groups = [
            {"params": decay, "weight_decay": float(self.config["weight_decay"])},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        betas = (0.9, float(self.config["adam_beta2"]))
        return {self.model_name: adamw(groups, self.config["lr"], self.config["weight_decay"], self.device, betas)}

    def phases(self) -> list[Phase]:
        return [Phase(self.model_name, self.lm_loss)]

    def ema_models(self) -> list[str]:
        return [self.model_name]

    def lm_loss(self, models, batch):
        x, y = batch
        _, loss = models[self.model_name](x, y)
        return loss, {"loss": loss.detach()}

    def describe(self) -> dict:
        return {
            "kind": self.family,
            **self.net_config().to_dict(),
            "tokenizer": self.config["tokenizer"],
            "eot_id": int(self.tokenizer.eot_id),
            "weights": self.model_name,
            "ema": bool(self.config["ema"]),
        }

    def run_files(self) -> dict[str, bytes]:
        return {"tokenizer.json": (json.dumps(self.tokenizer.to_json(), ensure_ascii=False) + "\n").encode("utf-8")}

    # -- batches ----------------------------------------------------------------------------------------
    def train_size(self) -> int:
        """Chunks of ``window`` tokens that cover every window start (see the module docstring)."""
        return max(1, math.ceil((self.max_start + 1) / self.window))

    def _windows(self, tokens: np.ndarray, starts: np.ndarray, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, y) of shape (B, length) for windows starting at ``starts``: one fancy index into the memmap."""
        rows = np.asarray(tokens[starts[:, None] + np.arange(length + 1)], dtype=np.int64)
        batch = torch.from_numpy(rows)
        if self.device.type == "cuda":
            batch = batch.pin_memory().to(self.device, non_blocking=True)
        else:
            batch = batch.to(self.device)
        return batch[:, :-1], batch[:, 1:]

    def load_batch(self, positions) -> tuple[torch.Tensor, torch.Tensor]:
        chunks = torch.as_tensor(np.asarray(positions, dtype=np.int64))
        shift = torch.randint(self.window, (len(chunks),))  # torch's global CPU generator: checkpointed
        starts = (chunks * self.window + shift) % (self.max_start + 1)
        return self._windows(self.train_tokens, starts.numpy(), self.window)

    # -- reports ----------------------------------------------------------------------------------------
    def eval_starts(self) -> tuple[np.ndarray, int]:
        """(start positions, window length) of the validation windows: evenly spaced, the same every time."""
        n = len(self.val_tokens)
        if n < 2:
            return np.zeros(0, np.int64), 0
        length = min(int(self.config["block_size"]), n - 1)
        last = n - length - 1
        count = max(1, min(int(self.config["eval_windows"]), last // length + 1))
        return np.unique(np.linspace(0, last, count).round().astype(np.int64)), length

    @torch.no_grad()
    def evaluate(self, models) -> dict[str, float]:
        starts, length = self.eval_starts()
        if len(starts) == 0:
            return {}
        model = models[self.model_name]
        total, count = 0.0, 0
        for i in range(0, len(starts), int(self.config["batch_size"])):
            x, y = self._windows(self.val_tokens, starts[i : i + int(self.config["batch_size"])], length)
            _, loss = model(x, y)
            total += float(loss) * y.numel()
            count += y.numel()
        val_loss = total / count
        return {"val_loss": val_loss, "val_perplexity": math.exp(min(val_loss, 50.0))}

    def prompt_ids(self) -> np.ndarray:
        """The preview prompt: the first tokens of the validation text (the training text when it is short)."""
        source = self.val_tokens if len(self.val_tokens) > PROMPT_TOKENS else self.train_tokens
        ids = np.asarray(source[:PROMPT_TOKENS], dtype=np.int64)
        eot = np.flatnonzero(ids == self.tokenizer.eot_id)
        return ids[: eot[0]] if len(eot) and eot[0] > 0 else ids

    @torch.no_grad()
    def continuation(self, model: Any, prompt: np.ndarray, count: int, temperature: float) -> list[int]:
        """``count`` new ids after ``prompt`` with the model's cache, sampled from a fixed-seed CPU generator
        (greedy when ``temperature`` is 0); stops early at end-of-text. The prompt is read after an
        end-of-text id, which is how every text but the first one starts in the training stream (the
        generation core does the same). ``model``: a GPT or an LSTM, any nn.Module with
        ``forward_cached(idx, state) -> (logits, state)``."""
        generator = torch.Generator().manual_seed(PREVIEW_SEED)
        ids = np.concatenate([[self.tokenizer.eot_id], prompt])
        idx = torch.as_tensor(ids, dtype=torch.long, device=self.device)[None]
        logits, state = model.forward_cached(idx, None)
        out: list[int] = []
        for _ in range(count):
            token = pick_next(logits[:, -1].float(), temperature, None, generator)
            if int(token) == self.tokenizer.eot_id:
                break
            out.append(int(token))
            logits, state = model.forward_cached(token, state)
        return out

    @torch.no_grad()
    def preview(self, models, step: int, folder: Path) -> dict | None:
        prompt = self.prompt_ids()
        if len(prompt) == 0:
            return None
        temperature = float(self.config["preview_temperature"])
        new = self.continuation(models[self.model_name], prompt, int(self.config["preview_tokens"]), temperature)
        prompt_text, text = self.tokenizer.decode(prompt.tolist()), self.tokenizer.decode(new)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"step-{step:06d}.txt"
        atomic_write_bytes(path, (prompt_text + text).encode("utf-8"), durable=False)
        how = "greedy" if temperature <= 0 else f"temperature {temperature:g}, the same seed each time"
        return {"path": str(path), "caption": f"Step {step:,}: the model continues “{_short(prompt_text)}” ({how})"}


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class GptRecipe(TextRecipe):
    family = "gpt"
    model_fields = ("block_size", "n_layer", "n_head", "n_embd", "dropout", "bias")

    @classmethod
    def check_settings(cls, config: dict) -> None:
        super().check_settings(config)
        if min(config["n_layer"], config["n_head"], config["n_embd"]) < 1:
            raise JobError("n_layer, n_head and n_embd must all be at least 1.")
        if config["n_embd"] % config["n_head"]:
            raise JobError(
                f"n_embd ({config['n_embd']}) must be a multiple of n_head ({config['n_head']}): "
                "each attention head gets an equal share of it."
            )

    def net_config(self) -> GPTConfig:
        return GPTConfig(**self.model_settings())

    def build_models(self) -> dict[str, nn.Module]:
        return {self.model_name: GPT(self.net_config())}
