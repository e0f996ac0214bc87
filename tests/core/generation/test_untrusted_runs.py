"""Run folders someone sent: sizes in config.json are checked against documented limits and against the
checkpoint's safetensors header before a network is built, and every loop bounded by a file is capped.

Before (issue 14, measured by a reviewer and again here with a 3 GB kill switch): n_layer 2,000, a vocabulary of
1e8, a TTS decoder_rnn_dim of 30,000 and a mel n_fft of 1e8 each reached 3 GB within 2-6 s (then OOM); a
max_frames_per_symbol of 1e7 was still decoding after 90 s; a header of a million empty tensors cost 17.7 s and
1.9 GB. Each is now a one-sentence refusal: the CLI's take under half a second and 40 MB (no torch is imported)."""

from __future__ import annotations

import os
import time
import types

import numpy as np
import pytest
from text_helpers import make_text_run
from untrusted_helpers import (
    copy_run,
    edit_model,
    make_tts_run,
    run_measured,
    tiny_tts_config,
    write_empty_tensors_header,
)

from studio.core.jobs import JobError
from studio.core.untrusted import OverLimit

needs_wait4 = pytest.mark.skipif(not hasattr(os, "wait4"), reason="measures a child's memory with os.wait4")


@pytest.fixture
def hostile(tmp_path):
    """A project with a real tiny GPT and a real tiny TTS run, and copies whose config.json lies."""
    from studio.core.project import create_project

    root = tmp_path / "Hostile"
    create_project(root, "Hostile")
    gpt = make_text_run(root, "20260101-000000-gpt", train_steps=0)
    tts = make_tts_run(root, "20260101-000001-tts")
    edit_model(copy_run(gpt, "gpt-layers"), n_layer=2000, n_embd=512, n_head=8)
    edit_model(copy_run(gpt, "gpt-vocab"), vocab_size=100_000_000)
    edit_model(copy_run(tts, "tts-decoder"), "config", decoder_rnn_dim=30000)
    edit_model(copy_run(tts, "tts-nfft"), "mel", n_fft=100_000_000, win_length=100_000_000)
    edit_model(copy_run(tts, "tts-frames"), "config", max_frames_per_symbol=10_000_000)
    return root


HOSTILE = [
    ("gpt-layers", "n_layer is 2,000, above the limit of 64"),
    ("gpt-vocab", "vocab_size is 100,000,000, above the limit of 262,144"),
    ("tts-decoder", "decoder_rnn_dim is 30,000, above the limit of 4,096"),
    ("tts-nfft", "n_fft is 100,000,000, above the limit of 16,384"),
    ("tts-frames", "max_frames_per_symbol is 10,000,000, above the limit of 100"),
]


@needs_wait4
@pytest.mark.parametrize("run_id, refusal", HOSTILE)
def test_generate_refuses_hostile_sizes_at_once_in_one_sentence(hostile, tmp_path, run_id, refusal):
    if run_id.startswith("gpt"):
        args = ["generate", "text", "--project", str(hostile), "--run", run_id, "--prompt", "hi", "--max-tokens", "5"]
    else:
        args = [
            "generate",
            "speech",
            "--project",
            str(hostile),
            "--voice",
            run_id,
            "--text",
            "Hello there.",
            "--out",
            str(tmp_path / "out.wav"),
        ]
    result = run_measured(args)
    assert result["status"] == 2, result  # refused as an unusable argument, before any job starts
    message = result["stderr"]
    assert refusal in message and str(hostile / "runs" / run_id / "config.json") in message
    assert "\n" not in message and "Traceback" not in message
    assert result["seconds"] < 10 and result["peak_mb"] < 1024, result  # measured: ~0.3 s, 20-40 MB


@pytest.mark.parametrize("run_id, refusal", HOSTILE)
def test_loading_refuses_hostile_sizes_before_building(hostile, run_id, refusal):
    """The library path too (the panels load through it without the CLI's early checks)."""
    from studio.core.generation.speech_model import load_tts
    from studio.core.generation.text_model import load_text_model

    load = load_text_model if run_id.startswith("gpt") else load_tts
    start = time.perf_counter()
    with pytest.raises(OverLimit, match=refusal):
        load(hostile / "runs" / run_id)
    assert time.perf_counter() - start < 2.0


def test_latest_skips_a_hostile_run(hostile):
    from studio.core.generation.text_model import resolve_text_run

    newest = edit_model(copy_run(hostile / "runs" / "20260101-000000-gpt", "20990101-000000-gpt"), n_layer=5000)
    assert resolve_text_run(hostile, "latest") == hostile / "runs" / "20260101-000000-gpt"
    assert newest.is_dir()


def test_sizes_within_the_limits_must_match_the_weights(hostile):
    """A description inside every limit that is not the weights' own: refused from the header, before the
    network is built (the 60-layer GPT would be fine to build; a 15-billion-parameter one would not)."""
    from studio.core.generation.text_model import load_text_model

    runs = hostile / "runs"
    deeper = edit_model(copy_run(runs / "20260101-000000-gpt", "gpt-deeper"), n_layer=60)
    with pytest.raises(
        JobError,
        match=r"damaged or incomplete; pick another checkpoint.*describes 725 tensors .* "
        r"but this file holds 29 tensors .*do not belong together",
    ):
        load_text_model(deeper)
    wider = edit_model(copy_run(runs / "20260101-000000-gpt", "gpt-wider"), vocab_size=200_000)
    with pytest.raises(JobError, match=r"describes lm_head.weight as 200,000 x 32, but this file holds \d+ x 32"):
        load_text_model(wider)
    huge = edit_model(
        copy_run(runs / "20260101-000000-gpt", "gpt-huge"),
        n_layer=64,
        n_head=32,
        n_embd=4096,
        vocab_size=262_144,
        block_size=8192,
    )
    start = time.perf_counter()
    with pytest.raises(OverLimit, match=r"15,069,356,032 parameters, over the limit of 500,000,000"):
        load_text_model(huge)
    assert time.perf_counter() - start < 3.0
    assert load_text_model(runs / "20260101-000000-gpt").step == 10  # the honest run still loads


def _million_tensor_checkpoint(folder) -> None:
    write_empty_tensors_header(folder / "checkpoints" / "step-000010.safetensors", 1_000_000)


def test_a_header_of_a_million_tensors_is_refused_before_safetensors_parses_it(project):
    from generation_helpers import GAN

    from studio.core.generation.image_model import load_image_model

    folder = project / "runs" / GAN
    _million_tensor_checkpoint(folder)
    start = time.perf_counter()
    with pytest.raises(
        OverLimit,
        match=r"step-000010.safetensors is refused: its safetensors header is "
        r"[\d,]+ bytes, over the limit of 4,194,304",
    ):
        load_image_model(folder)
    assert time.perf_counter() - start < 1.0  # before: 17.7 s in safetensors' parser


@pytest.mark.slow
@needs_wait4
def test_generate_image_with_a_million_tensor_header_costs_no_more_than_an_honest_run(project, tmp_path):
    """End to end, both children import torch (~600 MB here): the refusal may add nothing on top of that.
    Measured: 611 MB and 1.8 s, against 1.9 GB and 17.7 s before."""
    from generation_helpers import GAN, GAN_CLASSES

    honest = run_measured(
        [
            "generate",
            "image",
            "--project",
            str(project),
            "--run",
            GAN_CLASSES,
            "--count",
            "1",
            "--out",
            str(tmp_path / "honest"),
        ]
    )
    assert honest["status"] == 0, honest
    _million_tensor_checkpoint(project / "runs" / GAN)
    hostile = run_measured(
        [
            "generate",
            "image",
            "--project",
            str(project),
            "--run",
            GAN,
            "--count",
            "1",
            "--out",
            str(tmp_path / "hostile"),
        ]
    )
    assert hostile["status"] == 1 and "over the limit of 4,194,304" in hostile["stderr"], hostile
    assert hostile["peak_mb"] < honest["peak_mb"] + 64, (honest, hostile)
    assert hostile["seconds"] < 10, hostile


@pytest.fixture
def one_thread():
    """Tiny decoders step thousands of times; on a busy 2-core machine a second thread makes each step 100x slower
    (measured: 11.7 s against 0.12 s for 400 steps), as in the training tests."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_a_voice_that_never_stops_is_cut_at_the_sentence_cap(one_thread):
    """The gate never fires (threshold 1.0): the decoder runs to its cap, which is the smaller of
    max_frames_per_symbol x symbols and MAX_SENTENCE_SECONDS at the voice's mel settings."""
    import math

    from studio.core import untrusted
    from studio.core.generation.speech_model import TrainedTts
    from studio.core.nets.tts import Tacotron2

    config = tiny_tts_config(gate_threshold=1.0, max_frames_per_symbol=100)
    slow_mel = {
        "sample_rate": 4000,
        "n_mels": 80,
        "n_fft": 2048,
        "hop_length": 1024,
        "win_length": 2048,
        "f_min": 0.0,
        "f_max": 2000.0,
    }  # 3.9 frames per second: 300 s is 1,171 frames
    voice = TrainedTts(network=Tacotron2(config).eval(), mel=slow_mel, language="en-us", phonemizer="x")
    mel, _ = voice.mel_for([5] * 39)  # 40 symbols with end-of-sentence: 4,000 frames by max_frames_per_symbol
    cap = untrusted.decoder_frames_cap(slow_mel)
    assert cap == 1171 and len(mel) == math.ceil(cap / 3) * 3
    fast_mel = dict(slow_mel, sample_rate=22050, hop_length=256, n_fft=1024, win_length=1024)
    mel, _ = TrainedTts(network=voice.network, mel=fast_mel, language="en-us", phonemizer="x").mel_for([5] * 2)
    assert len(mel) == math.ceil(3 * 100 / 3) * 3  # 3 symbols x 100 frames: the per-symbol cap binds here


def test_the_decoder_has_a_hard_cap_whatever_it_is_asked(monkeypatch, one_thread):
    import torch

    from studio.core.nets import tts

    monkeypatch.setattr(tts, "MAX_DECODER_STEPS", 7)
    network = tts.Tacotron2(tiny_tts_config(gate_threshold=1.0)).eval()
    mel, frames, alignments = network.infer(torch.tensor([[5, 6, 7]]), max_steps=10**9)
    assert alignments.shape[1] == 7 and int(frames[0]) == 7 * 3 and mel.shape[1] == 21


def test_griffin_lim_refuses_a_spectrogram_too_big_for_memory():
    from studio.core import untrusted
    from studio.core.speech.mel import griffin_lim

    mel = {
        "sample_rate": 192000,
        "n_mels": 80,
        "n_fft": 16384,
        "hop_length": 1024,
        "win_length": 16384,
        "f_min": 0.0,
        "f_max": None,
    }
    frames = untrusted.MAX_SPECTROGRAM_BINS // (16384 // 2 + 1) + 1
    start = time.perf_counter()
    with pytest.raises(JobError, match="too long for Griffin-Lim"):
        griffin_lim(np.zeros((frames, 80), np.float32), mel)
    assert time.perf_counter() - start < 1.0


def test_a_walk_from_a_received_png_is_bounded_before_its_frames_are_made():
    from studio.core.generation.png_settings import walk_source

    model = types.SimpleNamespace(z_dim=16)
    points = [{"seed": 0, "latent_index": 0}, {"seed": 0, "latent_index": 1}]
    start = time.perf_counter()
    with pytest.raises(JobError, match=r"2,000,000,000 frames is too long \(the limit is 4,096\)"):
        walk_source(model, {"points": points, "frames_per_leg": 10**9, "loop": True})
    with pytest.raises(JobError, match="incomplete"):
        walk_source(model, {"points": points * 5000, "frames_per_leg": 1})
    assert time.perf_counter() - start < 1.0
    assert len(walk_source(model, {"points": points, "frames_per_leg": 3}).frames) == 6
