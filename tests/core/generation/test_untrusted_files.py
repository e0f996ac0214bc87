"""studio.core.untrusted: the safetensors header read on its own, the documented limits, and the meta-device
shapes a description is compared with. Every hostile file is made here, in tmp_path; the big ones are written in
chunks or as sparse files, so the test process never holds them in memory."""

from __future__ import annotations

import json
import re
import struct
import time
import tracemalloc

import pytest
from untrusted_helpers import write_empty_tensors_header

from studio.core import untrusted
from studio.core.jobs import JobError
from studio.core.untrusted import DamagedFile, OverLimit


def measure(call):
    """(exception raised by ``call``, seconds, peak bytes Python allocated meanwhile)."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        call()
    except JobError as exc:
        raised = exc
    else:
        raised = None
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return raised, seconds, peak


def test_a_real_checkpoints_header_is_read_exactly(tmp_path):
    import torch
    from safetensors.torch import save_file

    path = tmp_path / "w.safetensors"
    save_file(
        {
            "a.weight": torch.zeros(3, 4),
            "a.bias": torch.zeros(4, dtype=torch.float16),
            "count": torch.zeros((), dtype=torch.int64),
            "empty": torch.zeros(0, 5),
        },
        str(path),
        metadata={"format": "pt"},
    )
    assert untrusted.read_safetensors_header(path) == {
        "a.weight": ("F32", (3, 4)),
        "a.bias": ("F16", (4,)),
        "count": ("I64", ()),
        "empty": ("F32", (0, 5)),
    }


def test_a_million_empty_tensors_are_refused_quickly_and_without_memory(tmp_path):
    """Before: 27 s and 1.9 GB inside safetensors' parser. The 60 MB header is over the cap: refused from its
    first 8 bytes."""
    path = tmp_path / "million.safetensors"
    length = write_empty_tensors_header(path, 1_000_000)
    assert length > untrusted.HEADER_CAP and path.stat().st_size == 8 + length
    raised, seconds, peak = measure(lambda: untrusted.read_safetensors_header(path))
    assert isinstance(raised, OverLimit), raised
    assert f"{length:,} bytes, over the limit of {untrusted.HEADER_CAP:,}" in str(raised)
    assert str(path) in str(raised)
    assert seconds < 0.5 and peak < 1 << 20, (seconds, peak)


def test_too_many_tensors_under_the_header_cap_are_refused_after_one_small_read(tmp_path):
    path = tmp_path / "many.safetensors"
    count = untrusted.MAX_TENSORS + 5_000
    length = write_empty_tensors_header(path, count)
    assert length < untrusted.HEADER_CAP
    raised, seconds, peak = measure(lambda: untrusted.read_safetensors_header(path))
    assert isinstance(raised, OverLimit) and f"lists {count:,} tensors, over the limit of 20,000" in str(raised)
    assert seconds < 2.0 and peak < 64 << 20, (seconds, peak)  # one header's JSON, never a tensor


def test_a_header_over_the_cap_is_refused_without_being_read(tmp_path):
    """A sparse file: its header length says HEADER_CAP + 1 and the "header" is zeros. Had it been read, it would be
    reported as not JSON (DamagedFile) and 4 MB would have been allocated."""
    path = tmp_path / "big-header.safetensors"
    length = untrusted.HEADER_CAP + 1
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", length))
        handle.truncate(8 + length)
    raised, seconds, peak = measure(lambda: untrusted.read_safetensors_header(path))
    assert isinstance(raised, OverLimit) and "over the limit of 4,194,304" in str(raised)
    assert peak < untrusted.HEADER_CAP // 4 and seconds < 0.5


@pytest.mark.parametrize(
    "problem, header, data",
    [
        ("longer than the file", None, b""),
        ("not JSON", b"{not json", b""),
        ("unknown type", {"x": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}, b"\0" * 16),
        ("invalid shape", {"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}, b""),
        ("bytes for a shape", {"x": {"dtype": "F32", "shape": [1_000_000_000_000], "data_offsets": [0, 4]}}, b"\0" * 4),
        ("overlap or leave gaps", {"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8),
        ("cut short", {"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8),
        ("cut short", {"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 8),  # trailing bytes
    ],
)
def test_damaged_headers_are_damaged_files(tmp_path, problem, header, data):
    path = tmp_path / "bad.safetensors"
    raw = header if isinstance(header, bytes) else json.dumps(header or {}).encode()
    length = len(raw) + (1000 if header is None else 0)
    path.write_bytes(struct.pack("<Q", length) + raw + data)
    with pytest.raises(DamagedFile, match=problem if problem != "longer than the file" else "the file has"):
        untrusted.read_safetensors_header(path)


def test_limits_name_the_file_the_value_and_the_limit(tmp_path):
    where = tmp_path / "config.json"
    with pytest.raises(OverLimit) as caught:
        untrusted.check_model({"kind": "gpt", "n_layer": 2000, "n_embd": 512}, where)
    message = str(caught.value)
    assert str(where) in message and "n_layer is 2,000, above the limit of 64" in message
    assert not re.search(r"\.\s+[A-Z]", message) and message.endswith(").")  # one sentence
    for model, text in [
        ({"kind": "lstm", "vocab_size": 1e8}, "vocab_size is 100,000,000, above the limit of 262,144"),
        ({"kind": "gpt", "n_embd": "512"}, "n_embd is '512', not a whole number"),
        ({"kind": "gpt", "n_head": True}, "not a whole number"),
        ({"kind": "gpt", "dropout": float("nan")}, "not a number"),
        ({"kind": "gan", "width": 2.5}, "not a whole number"),
        ({"kind": "gan", "classes": ["c"] * 10_001}, "class list has 10,001 names"),
        ({"kind": "tts", "config": {"decoder_rnn_dim": 30000}}, "decoder_rnn_dim is 30,000, above the limit of 4,096"),
        ({"kind": "tts", "config": {"max_frames_per_symbol": 1e7}}, "max_frames_per_symbol is 10,000,000"),
        ({"kind": "tts", "mel": {"n_fft": 1e8}}, "n_fft is 100,000,000, above the limit of 16,384"),
        ({"kind": "tts", "mel": {"sample_rate": 1}}, "sample_rate is 1, below the limit of 4,000"),
        ({"kind": "tts", "mel": {"n_fft": 1024, "win_length": 2048}}, "win_length 2,048 is longer than its n_fft"),
        ({"kind": "tts", "mel": {"n_fft": 16384, "hop_length": 16}}, "over 16 times its hop_length"),
        ({"kind": "vocoder", "config": {"upsample_rates": [8] * 9}}, "upsample_rates has 9 entries"),
        ({"kind": "vocoder", "config": {"resblock_dilations": [1, 3, 5000]}}, "resblock_dilations is 5,000"),
        (
            {"kind": "vocoder", "config": {"upsample_rates": [8, 8, 2, 2, 2]}, "mel": {"hop_length": 256}},
            "multiply to 512 samples per mel frame, but its mel settings have 256",
        ),
    ]:
        with pytest.raises(OverLimit, match=text):
            untrusted.check_model(model, where)


def test_the_studios_own_presets_and_defaults_are_within_the_limits(tmp_path):
    """Limits generous enough for anything the presets make: every limited key of every family's defaults and
    presets, and the describe() shapes of the networks they build."""
    from studio.core.datasets import audio_cache
    from studio.core.nets.tts import TtsConfig
    from studio.core.nets.vocoder import VocoderConfig
    from studio.core.training import families

    assert (untrusted.LIMITS["mel"]["sample_rate"].low, untrusted.LIMITS["mel"]["sample_rate"].high) == (
        audio_cache.MIN_SAMPLE_RATE,
        audio_cache.MAX_SAMPLE_RATE,
    )  # the same range the audio cache accepts
    where = tmp_path / "config.json"
    checked = 0
    opened = [spec.id for spec in families.available() if spec.panel is not None]
    assert set(opened) <= set(untrusted.LIMITS)  # every family whose runs a panel opens has its bounds
    for family in opened:
        for preset in [None, *families.presets(family)]:
            config = families.resolve_config(family, preset)
            if isinstance(config.get("upsample_rates"), str):  # the vocoder recipe keeps "8,8,2,2"
                config["upsample_rates"] = [int(r) for r in config["upsample_rates"].split(",")]
            table = untrusted.LIMITS[family]
            untrusted.check_values(where, config, table)
            checked += len(set(config) & set(table))
    assert checked > 50
    untrusted.check_model(
        {
            "kind": "tts",
            "config": TtsConfig(n_symbols=200).to_dict(),
            "mel": {
                "sample_rate": 22050,
                "n_mels": 80,
                "n_fft": 1024,
                "hop_length": 256,
                "win_length": 1024,
                "f_min": 0.0,
                "f_max": 8000.0,
            },
        },
        where,
    )
    untrusted.check_model(
        {
            "kind": "vocoder",
            "config": VocoderConfig(width=256).to_dict(),
            "mel": {"sample_rate": 22050, "hop_length": 256, "n_fft": 1024, "win_length": 1024},
        },
        where,
    )
    for resolution in (32, 64, 128, 256):
        untrusted.check_model({"kind": "gan", "resolution": resolution, "z_dim": 128, "width": 96}, where)


def test_meta_shapes_match_the_real_networks_and_allocate_nothing():
    """The shapes a description is compared with are exactly the real network's, for every family, and building
    them costs no parameter memory (a 15-billion-parameter GPT) and no torch._dynamo import."""
    import subprocess
    import sys

    code = """
import sys, time
from studio.core.untrusted import expected_shapes
from studio.core.nets.gpt import build_gpt
from studio.core.nets.lstm import build_lstm
from studio.core.nets.gan import build_generator
from studio.core.nets.vae import build_vae
from studio.core.nets.tts import build_tts, TtsConfig
from studio.core.nets.vocoder import build_generator as build_vocoder, VocoderConfig
cases = [(build_gpt, {"kind": "gpt", "vocab_size": 70, "block_size": 16, "n_layer": 2, "n_head": 2, "n_embd": 8}),
         (build_lstm, {"kind": "lstm", "vocab_size": 70, "n_embd": 8, "n_hidden": 12, "n_layer": 2}),
         (build_generator, {"resolution": 64, "z_dim": 8, "width": 4, "num_classes": 3}),
         (build_vae, {"resolution": 32, "z_dim": 8, "width": 4, "num_classes": 2}),
         (build_tts, {"config": TtsConfig(n_symbols=50, embed_dim=16, prenet_dim=8, attention_rnn_dim=16,
                                          decoder_rnn_dim=16, attention_dim=8, postnet_dim=8).to_dict()}),
         (build_vocoder, {"config": VocoderConfig(width=8).to_dict()})]
for build, model in cases:
    real = {k: tuple(v.shape) for k, v in build(model).state_dict().items()}
    assert expected_shapes(build, model) == real, build
start = time.perf_counter()
huge = expected_shapes(build_gpt, {"kind": "gpt", "vocab_size": 262144, "block_size": 8192, "n_layer": 64,
                                   "n_head": 32, "n_embd": 4096})
print(len(huge), time.perf_counter() - start, "torch._dynamo" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    tensors, seconds, dynamo = out.stdout.split()
    assert int(tensors) == 773 and float(seconds) < 3.0 and dynamo == "False"


def test_weights_must_match_the_description(tmp_path):
    where = tmp_path / "w.safetensors"
    untrusted.check_weights_match({"a": (2, 3)}, {"a": (2, 3)}, where)
    with pytest.raises(DamagedFile, match=r"describes a as 2 x 3, but this file holds 3 x 2"):
        untrusted.check_weights_match({"a": (2, 3)}, {"a": (3, 2)}, where)
    with pytest.raises(
        DamagedFile,
        match=r"describes 2 tensors and 7 parameters, but this file holds 1 tensors "
        r"and 6 parameters \(first missing: b\)",
    ):
        untrusted.check_weights_match({"a": (2, 3), "b": (1,)}, {"a": (2, 3)}, where)
    with pytest.raises(OverLimit, match="500,000,000"):
        untrusted.check_weights_match({"a": (100_000, 10_000)}, {"a": (100_000, 10_000)}, where)


def test_json_files_are_size_capped_before_reading(tmp_path):
    path = tmp_path / "config.json"
    with open(path, "wb") as handle:
        handle.truncate(untrusted.CONFIG_CAP + 1)  # sparse: zeros, never JSON
    raised, _, peak = measure(lambda: untrusted.read_json(path))
    assert isinstance(raised, OverLimit) and "4,194,305 bytes, over the limit of 4,194,304" in str(raised)
    assert peak < 1 << 20
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="nested too deeply"):
        untrusted.read_json(path)


def test_training_configs_of_received_runs_are_checked_too(tmp_path):
    """What ``train --resume`` of a received run calls before its recipe builds networks."""
    where = tmp_path / "config.json"
    untrusted.check_training_config("gpt", {"n_layer": 6, "n_embd": 384, "lr": 1.0}, where)
    untrusted.check_training_config("reference", {"width": 10**9}, where)  # no limits for this family
    with pytest.raises(OverLimit, match="n_layer is 2,000, above the limit of 64"):
        untrusted.check_training_config("gpt", {"n_layer": 2000}, where)
    untrusted.check_training_config("vocoder", {"upsample_rates": "8,8,2,2", "width": 128}, where)
    with pytest.raises(OverLimit, match="upsample_rates is 4,096, above the limit of 64"):
        untrusted.check_training_config("vocoder", {"upsample_rates": "4096,2"}, where)
    with pytest.raises(OverLimit, match="not whole numbers"):
        untrusted.check_training_config("vocoder", {"upsample_rates": "8,x"}, where)
