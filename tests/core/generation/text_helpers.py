"""Language-model runs for the text generation tests, laid out exactly as the training engine writes them
(config.json with describe()'s "model" block, tokenizer.json in the run folder, checkpoints/step-NNNNNN.
safetensors + .json), from the real GPT / LSTM networks trained for a few CPU steps on a tiny corpus.

:class:`BigramLM` is a rigged test-only model: next-token logits are the (sharpened) log bigram counts of a
corpus, so a model fitted on text full of a banned word *wants* that word with near certainty after its
first letters. A few-step GPT only leans that way; the bigram makes "banned words never appear" a test
that fails at once if the mask leaks (without the mask it writes the word in nearly every sample)."""

from __future__ import annotations

from pathlib import Path

BANNED_CORPUS = (
    "free shipping and a free gift! get it free today. free returns, free samples, totally free. "
    "免费送货 免费礼品 免费 🎁 free 😀 "
) * 20


class BigramLM:
    """forward(idx) -> (logits, None) and forward_cached(idx, cache) -> (logits, cache), as GPT / LSTMLM."""

    def __init__(self, table) -> None:
        self.table = table  # (V, V) float32 logits of the next token given the current one

    @classmethod
    def fit(cls, tokenizer, text: str, sharpness: float = 3.0) -> BigramLM:
        import torch

        ids = torch.tensor([tokenizer.eot_id, *tokenizer.encode(text)], dtype=torch.long)
        vocab = tokenizer.vocab_size
        counts = torch.full((vocab, vocab), 0.01)
        counts.index_put_((ids[:-1], ids[1:]), torch.ones(len(ids) - 1), accumulate=True)
        return cls((sharpness * counts.log()).float())

    def forward(self, idx, targets=None):
        return self.table[idx], None

    __call__ = forward

    def forward_cached(self, idx, cache=None):
        return self.table[idx], cache


def fit_tokenizer(kind: str, text: str, vocab_size: int = 320):
    from studio.core.datasets.tokenizers import BPETokenizer, CharTokenizer

    return (
        CharTokenizer.fit([text])
        if kind == "char"
        else BPETokenizer.train([text], vocab_size=vocab_size, min_frequency=1)
    )


def bigram_model(kind: str, text: str = BANNED_CORPUS):
    """A :class:`TextModel` whose network is a :class:`BigramLM` of ``text`` (no run folder)."""
    from studio.core.generation.text_model import TextModel

    tokenizer = fit_tokenizer(kind, text)
    return TextModel(kind="gpt", tokenizer=tokenizer, network=BigramLM.fit(tokenizer, text), run_id="bigram")


def train(network, ids, block: int, steps: int, seed: int = 0, lr: float = 3e-3) -> None:
    """A few Adam steps on random windows of ``ids`` (enough for a tiny model to pick up the corpus' words)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    data = torch.tensor(ids, dtype=torch.long)
    optimizer = torch.optim.Adam(network.parameters(), lr=lr)
    network.train()
    for _ in range(steps):
        starts = torch.randint(0, len(data) - block - 1, (16,), generator=generator)
        x = torch.stack([data[s : s + block] for s in starts.tolist()])
        y = torch.stack([data[s + 1 : s + block + 1] for s in starts.tolist()])
        _, loss = network(x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    network.eval()


def make_text_run(
    project: Path,
    run_id: str,
    kind: str = "gpt",
    tokenizer: str = "char",
    text: str = BANNED_CORPUS,
    steps=(10,),
    train_steps: int = 60,
    ema: bool = False,
    created: str = "2026-01-01T00:00:00+00:00",
    **fields,
) -> Path:
    """A GPT or LSTM run trained ``train_steps`` steps on ``text``, with checkpoints at ``steps``."""
    import torch
    from safetensors.torch import save_file

    from studio.core.atomic import atomic_write_json

    torch.manual_seed(0)
    tok = fit_tokenizer(tokenizer, text)
    if kind == "gpt":
        from studio.core.nets.gpt import build_gpt

        model = {
            "kind": "gpt",
            "vocab_size": tok.vocab_size,
            "block_size": 32,
            "n_layer": 2,
            "n_head": 2,
            "n_embd": 32,
            "dropout": 0.0,
            "bias": True,
            **fields,
        }
        network, block = build_gpt(model), model["block_size"]
    else:
        from studio.core.nets.lstm import build_lstm

        model = {
            "kind": "lstm",
            "vocab_size": tok.vocab_size,
            "n_embd": 32,
            "n_hidden": 48,
            "n_layer": 1,
            "dropout": 0.0,
            **fields,
        }
        network, block = build_lstm(model), 32
    model.update({"tokenizer": tokenizer, "eot_id": int(tok.eot_id), "ema": ema})
    ids = [tok.eot_id, *tok.encode(text)]
    train(network, ids, block, train_steps)
    folder = project / "runs" / run_id
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "samples").mkdir()
    atomic_write_json(
        folder / "config.json",
        {
            "family": kind,
            "dataset": "copy",
            "preset": "fast",
            "config": {"tokenizer": tokenizer},
            "model": model,
            "seed": 0,
            "device": "cpu",
            "created": created,
            "run_id": run_id,
            "schema": 1,
        },
    )
    tok.save(folder / "tokenizer.json")
    for step in steps:
        weights = {f"model.{k}": v.contiguous().clone() for k, v in network.state_dict().items()}
        if ema:  # the engine writes EMA weights as ema.<model>.<param>
            for key, value in list(weights.items()):
                weights[f"ema.{key}"] = value.clone()
        stem = folder / "checkpoints" / f"step-{step:06d}"
        save_file(weights, str(stem.with_suffix(".safetensors")))
        atomic_write_json(stem.with_suffix(".json"), {"step": step, "metrics": {}, "family": kind})
    return folder
