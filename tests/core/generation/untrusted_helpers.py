"""Hostile run folders for the tests of studio.core.untrusted's use in generation: a real tiny network's weights
with a config.json that lies about its sizes, and a child-process runner that measures a command's own peak
memory (so a refusal that allocates nothing can be told from one that builds a 25 GB network first)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
MEL = {
    "sample_rate": 22050,
    "n_mels": 80,
    "n_fft": 1024,
    "hop_length": 256,
    "win_length": 1024,
    "f_min": 0.0,
    "f_max": 8000.0,
}


def tiny_tts_config(**changes):
    """A Tacotron 2 small enough to build and run in milliseconds (the phoneme table's real symbol count)."""
    from studio.core.datasets import phonemes
    from studio.core.nets.tts import TtsConfig

    values = dict(
        n_symbols=len(phonemes.SYMBOLS),
        n_mels=80,
        reduction=3,
        embed_dim=16,
        prenet_dim=8,
        attention_rnn_dim=16,
        decoder_rnn_dim=16,
        attention_dim=8,
        location_filters=4,
        location_kernel=7,
        postnet_dim=8,
        postnet_convs=2,
    )
    values.update(changes)
    return TtsConfig(**values)


def tts_model_block(config, mel: dict | None = None) -> dict:
    """The "model" block a TTS run's config.json carries for ``config`` (describe()'s dict, as the engine writes it)."""
    from studio.core.datasets import phonemes

    return {
        "kind": "tts",
        "mel": dict(mel or MEL),
        "language": "en-us",
        "phonemizer": phonemes.phonemizer_name(),
        "symbols_version": phonemes.SYMBOLS_VERSION,
        "config": config.to_dict(),
        "weights": "tts",
        "ema": False,
    }


def make_tts_run(project: Path, run_id: str, config=None, mel: dict | None = None) -> Path:
    """A TTS run folder laid out as the engine writes it, with untrained weights of ``config``."""
    from safetensors.torch import save_file

    from studio.core.atomic import atomic_write_json
    from studio.core.nets.tts import Tacotron2

    config = config or tiny_tts_config()
    network = Tacotron2(config)
    model = tts_model_block(config, mel)
    folder = project / "runs" / run_id
    (folder / "checkpoints").mkdir(parents=True)
    atomic_write_json(
        folder / "config.json",
        {
            "family": "tts",
            "dataset": "voice",
            "preset": "fast",
            "config": {},
            "model": model,
            "seed": 0,
            "device": "cpu",
            "run_id": run_id,
            "created": "2026-01-01T00:00:00+00:00",
            "schema": 1,
        },
    )
    stem = folder / "checkpoints" / "step-000010"
    save_file(
        {f"tts.{k}": v.contiguous() for k, v in network.state_dict().items()}, str(stem.with_suffix(".safetensors"))
    )
    atomic_write_json(stem.with_suffix(".json"), {"step": 10, "metrics": {}, "family": "tts"})
    return folder


def edit_model(folder: Path, section: str | None = None, **changes) -> Path:
    """Change config.json's "model" block (or its sub-block ``section``: "config", "mel") in place: the weights
    stay those of the real, small network."""
    path = folder / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    target = config["model"] if section is None else config["model"][section]
    target.update(changes)
    path.write_text(json.dumps(config), encoding="utf-8")
    return folder


def copy_run(source: Path, run_id: str) -> Path:
    import shutil

    target = source.parent / run_id
    shutil.copytree(source, target)
    config = json.loads((target / "config.json").read_text(encoding="utf-8"))
    config["run_id"] = run_id
    (target / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return target


def run_measured(args: list[str], timeout: float = 120.0) -> dict:
    """Run ``python -m studio *args`` in a child process: its exit status, wall seconds, its own peak resident
    memory in MB (wait4's rusage for that child alone; RUSAGE_CHILDREN would be the largest of every child this
    test process ever had), and its stderr. A child still running after ``timeout`` is killed (status -9)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "QT_QPA_PLATFORM": "offscreen",
    }
    with tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "studio", *args], stdout=subprocess.DEVNULL, stderr=err, cwd=REPO, env=env
        )
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        seconds = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace").strip()
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return {"status": proc.returncode, "seconds": seconds, "peak_mb": usage.ru_maxrss * scale / 2**20, "stderr": stderr}


def write_empty_tensors_header(path, count: int) -> int:
    """A safetensors file whose header lists ``count`` empty float tensors (no data), written 10,000 entries at
    a time. Every entry has the same length, so the header's length is known before it is written. Returns the
    header's length in bytes."""
    entry = '"t{:07d}":{{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}'
    width = len(entry.format(0))
    length = 2 + count * width + (count - 1)  # braces and commas
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", length) + b"{")
        for start in range(0, count, 10_000):
            chunk = ",".join(entry.format(i) for i in range(start, min(count, start + 10_000)))
            handle.write((("," if start else "") + chunk).encode())
        handle.write(b"}")
    return length
