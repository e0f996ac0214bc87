"""The text families ("gpt", "lstm") and their networks: learning, the KV cache / carried state, the run's
tokenizer, exact resume and the window sampler. Tiny models, CPU, one thread."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from training_helpers import assert_identical, final_weights, logged_steps

from studio.core.datasets import tokenizers
from studio.core.datasets.importer import ImportDataset
from studio.core.jobs import Cancelled, JobContext, run_job
from studio.core.nets.gpt import GPT, GPTConfig, KVCache, build_gpt, sliding_contexts
from studio.core.nets.lstm import LSTMLM, LSTMConfig, build_lstm
from studio.core.training import TrainJob, families, runs

torch.set_num_threads(1)

TINY = {
    "block_size": 32,
    "n_layer": 2,
    "n_head": 2,
    "n_embd": 32,
    "n_hidden": 48,
    "dropout": 0.0,
    "batch_size": 8,
    "lr": 3e-3,
    "warmup_steps": 5,
    "log_every": 1,
    "eval_every": 10,
    "sample_every": 10,
    "checkpoint_every": 10,
    "keep_last": 2,
    "eval_windows": 16,
    "preview_tokens": 20,
    "seed": 5,
}
FAMILY_KEYS = {"gpt": {"n_hidden"}, "lstm": {"n_head", "bias"}}

ENGLISH = "Fresh roasted coffee, delivered to your door every Monday. Taste the morning!\n"
CHINESE = "新鲜烘焙的咖啡，每周一送到您家门口。品尝清晨的味道！\n"
EMOJI = "☕️ Good morning! 👍🏽 Order now 🚚💨 and smile 😀\n"
MIXED = "限时优惠 Limited offer: 买一送一 (buy one get one) ☕️ — only €4.99!\n"


def settings(family: str, **extra) -> dict:
    return {k: v for k, v in {**TINY, **extra}.items() if k not in FAMILY_KEYS[family]}


@pytest.fixture(scope="module")
def _text_template(tmp_path_factory) -> Path:
    """12 short copywriting texts (one or two become validation items), imported with the real importer."""
    root = tmp_path_factory.mktemp("text")
    source = root / "drop"
    source.mkdir()
    lines = [ENGLISH, CHINESE, EMOJI, MIXED]
    for i in range(12):
        body = "".join(lines[(i + j) % 4] for j in range(6)) + f"Offer number {i}.\n"
        (source / f"ad{i:02d}.txt").write_text(body * 3, encoding="utf-8")
    run_job(ImportDataset(root / "Project", "ads", [source], kind="text", workers=1))
    return root / "Project"


@pytest.fixture
def project(_text_template, tmp_path) -> Path:
    target = tmp_path / "Project"
    shutil.copytree(_text_template, target)
    return target


def train_job(project: Path, family: str, steps: int, **extra) -> TrainJob:
    return TrainJob(
        project,
        "ads",
        family,
        preset="fast",
        overrides=settings(family, **extra),
        steps=steps,
        device="cpu",
        cpu_threads=1,
    )


def train(project: Path, family: str, steps: int, **extra) -> TrainJob:
    job = train_job(project, family, steps, **extra)
    job(JobContext())
    return job


# -- learning ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["gpt", "lstm"])
def test_loss_falls_on_a_small_corpus_and_previews_are_text(project, family):
    job = train(project, family, 60)
    lines = runs.read_metrics(job.run_folder)
    model = runs.read_config(job.run_folder)["model"]
    uniform = math.log(model["vocab_size"])  # the loss of a model that knows nothing
    assert lines[0]["loss"] > 0.8 * uniform
    final = lines[-1]
    assert final["step"] == 60 and final["loss"] < 0.7 * uniform and final["val_loss"] < 0.7 * uniform
    assert final["val_perplexity"] == pytest.approx(math.exp(final["val_loss"]), rel=1e-6)
    preview = (job.run_folder / "samples" / "step-000060.txt").read_text(encoding="utf-8")
    assert len(preview) > 10 and "\ufffd" not in preview[:10]  # the prompt: the start of a validation text


# -- generation equals full recomputation ------------------------------------------------------------------------
def greedy_cached(model, prompt: torch.Tensor, count: int) -> list[int]:
    logits, cache = model.forward_cached(prompt, None)
    out = []
    for _ in range(count):
        token = logits[:, -1].argmax(-1, keepdim=True)
        out.append(int(token))
        logits, cache = model.forward_cached(token, cache)
    return out


def tiny_gpt(block_size: int = 16) -> GPT:
    """Random weights in float64: the cached and the full computation then agree to ~1e-15, so a greedy
    choice can only differ through a real bug, never through rounding."""
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=23, block_size=block_size, n_layer=2, n_head=2, n_embd=16)).double().eval()


def test_gpt_kv_cache_equals_recomputation_token_for_token_past_block_size():
    model, block, prompt_length, count = tiny_gpt(16), 16, 5, 60
    prompt = torch.tensor([[3, 1, 4, 1, 5]])
    cached = greedy_cached(model, prompt, count)
    tokens = prompt[0].tolist()
    for start, stop in sliding_contexts(prompt_length + count - 1, prompt_length, block):
        logits, _ = model(torch.tensor([tokens[start:stop]]))
        tokens.append(int(logits[0, -1].argmax()))
    assert cached == tokens[prompt_length:]
    # inside the window the cache is nanoGPT's own generate() exactly
    reference = model.generate(prompt, block - prompt_length, temperature=0)[0, prompt_length:].tolist()
    assert cached[: block - prompt_length] == reference

    # a random text read one token at a time: the logits (not just the argmax) match at every position,
    # across three slides of the window
    text = torch.randint(0, 23, (1, 70), generator=torch.Generator().manual_seed(3))
    logits, cache = model.forward_cached(text[:, :prompt_length], None)
    contexts = sliding_contexts(70, prompt_length, block)
    for (start, stop), position in zip(contexts, range(prompt_length, 71), strict=True):
        expected, _ = model(text[:, start:stop])
        assert torch.allclose(logits[0, -1], expected[0, -1], atol=1e-9), (start, stop)
        if position < 70:
            logits, cache = model.forward_cached(text[:, position : position + 1], cache)
    assert min(stop - start for start, stop in contexts[block:]) >= block // 2  # never below half a window
    assert max(stop - start for start, stop in contexts) == block


def test_gpt_cache_reads_chunks_and_long_prompts_like_a_full_forward():
    model = tiny_gpt(16)
    idx = torch.randint(0, 23, (2, 14), generator=torch.Generator().manual_seed(1))
    full, _ = model(idx)
    first, cache = model.forward_cached(idx[:, :6], None)
    second, cache = model.forward_cached(idx[:, 6:], cache)  # several new tokens after a cache: masked
    assert isinstance(cache, KVCache) and cache.position == 14
    assert torch.allclose(torch.cat([first, second], 1), full, atol=1e-10)

    long = torch.randint(0, 23, (1, 40), generator=torch.Generator().manual_seed(2))
    logits, cache = model.forward_cached(long, None)  # a prompt longer than the window: its last window
    assert logits.shape == (1, 16, 23) and cache.position == 16
    assert torch.allclose(logits, model(long[:, -16:])[0], atol=1e-10)


def test_lstm_greedy_with_state_equals_recomputation_past_the_training_window():
    torch.manual_seed(0)
    model = LSTMLM(LSTMConfig(vocab_size=23, n_embd=16, n_hidden=24, n_layer=2)).double().eval()
    with torch.no_grad():  # larger weights than the initialization: greedy choices then vary with the context
        for param in model.parameters():
            param.normal_(0.0, 1.0)
    prompt = torch.tensor([[3, 1, 4, 1, 5]])
    cached = greedy_cached(model, prompt, 60)
    tokens = prompt[0].tolist()
    for _ in range(60):  # the whole history every time (an LSTM has no window)
        logits, _ = model(torch.tensor([tokens]))
        tokens.append(int(logits[0, -1].argmax()))
    assert cached == tokens[5:] and len(set(cached)) > 3
    text = torch.randint(0, 23, (1, 50), generator=torch.Generator().manual_seed(3))
    stepped = [model.forward_cached(text[:, :1], None)]
    for i in range(1, 50):
        stepped.append(model.forward_cached(text[:, i : i + 1], stepped[-1][1]))
    assert torch.allclose(torch.cat([logits for logits, _ in stepped], 1), model(text)[0], atol=1e-9)


# -- the run's tokenizer and description ------------------------------------------------------------------------
@pytest.mark.parametrize("kind, vocab", [("char", 4096), ("bpe", 400)])
def test_the_saved_runs_tokenizer_round_trips_every_script(project, kind, vocab):
    job = train(project, "gpt", 2, tokenizer=kind, vocab_size=vocab)
    tokenizer = tokenizers.load(job.run_folder / "tokenizer.json")
    assert tokenizer.kind == kind
    for text in (ENGLISH, CHINESE, EMOJI, MIXED, "unseen: 🦄 ᚠᛇᚻ e\u0301 𝔘𝔫𝔦 \t\r\n", ""):
        ids = tokenizer.encode(text)
        assert tokenizer.decode(ids) == text and tokenizer.eot_id not in ids

    model = runs.read_config(job.run_folder)["model"]
    assert model["kind"] == "gpt" and model["tokenizer"] == kind
    assert model["eot_id"] == tokenizer.eot_id and model["vocab_size"] == tokenizer.vocab_size
    net = build_gpt(model)  # a generator rebuilds the network from the description and loads the weights
    weights = final_weights(job.run_folder)
    net.load_state_dict({k[len("model.") :]: v for k, v in weights.items() if k.startswith("model.")})


def test_lstm_description_rebuilds_the_network(project):
    job = train(project, "lstm", 2)
    model = runs.read_config(job.run_folder)["model"]
    assert model["kind"] == "lstm" and {"n_embd", "n_hidden", "n_layer", "dropout", "eot_id"} <= model.keys()
    net = build_lstm(model)
    weights = final_weights(job.run_folder)
    net.load_state_dict({k[len("model.") :]: v for k, v in weights.items() if k.startswith("model.")})


# -- exact resume -----------------------------------------------------------------------------------------------
def stop_at(step: int) -> JobContext:
    ctx = JobContext()
    ctx._on_metrics = lambda values: ctx.cancel() if values.get("step") == step and "loss" in values else None
    return ctx


def test_gpt_twenty_steps_straight_equal_ten_plus_resume_plus_ten(project):
    extra = {"dropout": 0.1, "ema": True}  # dropout and EMA: every random stream and state must resume
    straight = train(project, "gpt", 20, **extra)
    first = train_job(project, "gpt", 20, **extra)
    with pytest.raises(Cancelled):
        first(stop_at(10))
    resumed = TrainJob(project, "ads", "gpt", resume=first.run_id, device="cpu", cpu_threads=1)
    assert resumed(JobContext())["step"] == 20 and resumed.run_folder == first.run_folder
    assert_identical(final_weights(straight.run_folder), final_weights(first.run_folder))
    assert logged_steps(first.run_folder) == list(range(1, 21))


# -- windows ----------------------------------------------------------------------------------------------------
def test_windows_are_shifted_pairs_covering_the_text_once_per_epoch(project):
    from studio.core.training.text_gpt import GptRecipe

    config = families.resolve_config("gpt", "fast", settings("gpt"))
    GptRecipe.prepare_data(project / "datasets" / "ads", config, JobContext())
    recipe = GptRecipe(config, GptRecipe.open_data(project / "datasets" / "ads", config), torch.device("cpu"))
    chunks = np.arange(recipe.train_size())
    x, y = recipe.load_batch(chunks)
    assert x.shape == y.shape == (len(chunks), 32) and x.dtype == torch.long
    assert torch.equal(x[:, 1:], y[:, :-1])
    tokens = torch.from_numpy(np.asarray(recipe.train_tokens, np.int64))
    starts = [next(s for s in range(len(tokens)) if torch.equal(tokens[s : s + 32], row)) for row in x[:4]]
    assert all(
        32 * c <= s < 32 * (c + 1) for c, s in zip(range(4), starts, strict=True)
    )  # chunk c's window starts in chunk c
    assert recipe.train_size() * 32 >= recipe.max_start + 1  # the chunks cover every possible start


@pytest.mark.parametrize("family", ["gpt", "lstm"])
def test_presets_are_valid_networks(family):
    for preset in families.presets(family):
        config = families.resolve_config(family, preset)
        if family == "gpt":
            GPTConfig(
                vocab_size=100,
                **{k: config[k] for k in ("block_size", "n_layer", "n_head", "n_embd", "dropout", "bias")},
            )
        else:
            LSTMConfig(vocab_size=100, **{k: config[k] for k in ("n_embd", "n_hidden", "n_layer", "dropout")})
    assert families.spec(family).kinds == ("text",)


def test_gpt_shares_its_embedding_and_scales_residual_projections():
    model = GPT(GPTConfig(vocab_size=50, block_size=8, n_layer=8, n_head=2, n_embd=64))
    assert model.lm_head.weight is model.transformer.wte.weight
    proj = model.transformer.h[0].attn.c_proj.weight.std().item()
    fc = model.transformer.h[0].mlp.c_fc.weight.std().item()
    assert proj == pytest.approx(0.02 / math.sqrt(16), rel=0.15) and fc == pytest.approx(0.02, rel=0.1)
