"""Speech speed on this machine: the real-time factor (compute seconds per second of audio; below 1 is faster
than real time) of the three kinds of voice, and training steps per second of the two speech recipes.

- system voice: espeak-ng (studio.core.speech.espeak.synthesize);
- Griffin-Lim voice: a balanced-size Tacotron 2 (7 M parameters) + Griffin-Lim, 32 iterations;
- neural voice: the same Tacotron 2 + the HiFi-GAN generator of the vocoder's "fast" and "balanced" presets.

Weights are random (speed does not depend on what a model learned), so the TTS is made to decode exactly
as many frames as espeak-ng needs for the same sentence (a trained voice speaking at espeak's pace) instead
of stopping on its untrained gate. Each sentence is synthesized on its own, as the Speech panel does. Piper's
medium voices run at about 0.03 on a desktop CPU (the issue's reference figure).

Training speed: steps per second of each recipe's "fast" and "balanced" presets on 16 espeak clips (batch
sizes as the presets set them), through the real engine without evaluation, previews or checkpoints;
on CUDA too when a GPU is present."""

import math
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.benchmark, pytest.mark.timeout(1800)]  # minutes on a busy 2-core CPU

TEXT = [
    "Welcome to our spring collection.",
    "Every piece is made by hand, in small batches, from natural materials.",
    "Order before Friday and delivery is free.",
    "Thank you for listening.",
]
RATE = 22050


def _timed(function, repeats: int = 3):
    """(median seconds, last result) over ``repeats`` calls after one warm-up call."""
    result = function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return float(np.median(times)), result


def _mel_params():
    return {
        "sample_rate": RATE,
        "n_mels": 80,
        "n_fft": 1024,
        "hop_length": 256,
        "win_length": 1024,
        "f_min": 0.0,
        "f_max": 8000.0,
    }


def _tts_network(preset: str):
    from studio.core.datasets import phonemes
    from studio.core.nets.tts import Tacotron2, TtsConfig
    from studio.core.training import families

    config = families.resolve_config("tts", preset)
    fields = (
        "reduction",
        "embed_dim",
        "prenet_dim",
        "attention_rnn_dim",
        "decoder_rnn_dim",
        "attention_dim",
        "postnet_dim",
        "dropout",
        "rnn_dropout",
    )
    net = Tacotron2(TtsConfig(n_symbols=len(phonemes.SYMBOLS), **{k: config[k] for k in fields}))
    net.config.gate_threshold = 2.0  # never fires: decode the planned number of steps
    return net.eval()


def _vocoder_network(preset: str):
    from studio.core.nets.vocoder import Generator, VocoderConfig
    from studio.core.training import families

    config = families.resolve_config("vocoder", preset)
    return Generator(VocoderConfig(width=config["width"], disc_width=config["disc_width"])).eval()


def _plan(espeak):
    """Per sentence: (phoneme ids + EOS, mel frames espeak-ng takes to say it)."""
    from studio.core.datasets import phonemes
    from studio.core.nets.tts import input_ids

    return [(input_ids(phonemes.phoneme_ids(s), phonemes.EOS_ID), len(espeak.synthesize(s)) // 256) for s in TEXT]


def _speak(net, plan, vocode):
    import torch

    pieces = []
    with torch.inference_mode():
        for ids, frames in plan:
            r = net.config.reduction
            mel, _lengths, _ = net.infer(
                torch.tensor([ids]), max_steps=math.ceil(frames / r), generator=torch.Generator().manual_seed(0)
            )
            pieces.append(vocode(mel[0, :frames].numpy()))
    return np.concatenate(pieces)


def _real_time_factors(espeak, threads: int) -> dict:
    import torch

    from studio.core.speech.mel import griffin_lim

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        results = {}
        seconds, audio = _timed(lambda: np.concatenate([espeak.synthesize(s) for s in TEXT]))
        audio_s = len(audio) / espeak.SAMPLE_RATE
        results["system_voice"] = {"rtf": round(seconds / audio_s, 4), "audio_s": round(audio_s, 2)}

        plan = _plan(espeak)
        tts = _tts_network("balanced")
        mel = _mel_params()
        seconds, audio = _timed(lambda: _speak(tts, plan, lambda m: np.zeros(len(m) * 256, np.float32)))
        audio_s = len(audio) / RATE
        results["tts_balanced_only"] = {
            "rtf": round(seconds / audio_s, 4),
            "audio_s": round(audio_s, 2),
            "parameters": sum(p.numel() for p in tts.parameters()),
        }
        seconds, audio = _timed(lambda: _speak(tts, plan, lambda m: griffin_lim(m, mel, 32)))
        results["griffin_lim_voice"] = {"rtf": round(seconds / (len(audio) / RATE), 4)}
        for preset in ("fast", "balanced"):
            generator = _vocoder_network(preset)

            def vocode(m, generator=generator):
                with torch.inference_mode():
                    return generator(torch.from_numpy(m.T.copy())[None])[0, 0].numpy()

            seconds, audio = _timed(lambda: _speak(tts, plan, vocode))
            vocoder_s, _ = _timed(lambda: [vocode(np.zeros((frames, 80), np.float32)) for _, frames in plan])
            results[f"neural_voice_{preset}_vocoder"] = {
                "rtf": round(seconds / (len(audio) / RATE), 4),
                "vocoder_only_rtf": round(vocoder_s / (len(audio) / RATE), 4),
                "vocoder_parameters": sum(p.numel() for p in generator.parameters()),
            }
        return results
    finally:
        torch.set_num_threads(previous)


def test_speech_real_time_factors(record_benchmark):
    """With one thread and with all: on a shared machine two torch threads spin-wait against other
    processes and can be slower than one (the image tests saw the same), so both are recorded."""
    import os

    from studio.core.speech import espeak

    if not espeak.available():
        pytest.skip(f"espeak-ng cannot be loaded: {espeak.error()}")
    results = {"text_sentences": len(TEXT)}
    for threads in sorted({1, os.cpu_count() or 1}):
        results[f"threads_{threads}"] = _real_time_factors(espeak, threads)
    record_benchmark("speech_rtf", results)
    assert results["threads_1"]["system_voice"]["rtf"] < 1.0


@pytest.fixture
def voice_project(tmp_path):
    import soundfile

    from studio.core.datasets.importer import ImportDataset
    from studio.core.jobs import run_job
    from studio.core.speech import espeak

    if not espeak.available():
        pytest.skip(f"espeak-ng cannot be loaded: {espeak.error()}")
    source = tmp_path / "voice"
    source.mkdir()
    sentences = [
        f"{a} {b}."
        for a in ("Fresh bread", "New shoes", "Good coffee", "Warm socks")
        for b in ("every morning", "for the whole family", "at a fair price", "made to last")
    ]
    for i, sentence in enumerate(sentences):
        soundfile.write(source / f"c{i:02d}.wav", espeak.synthesize(sentence), RATE, subtype="PCM_16")
    (source / "metadata.csv").write_text("".join(f"c{i:02d}|{s}\n" for i, s in enumerate(sentences)))
    run_job(ImportDataset(tmp_path / "P", "voice", [source], kind="audio", workers=1))
    return tmp_path / "P"


def _steps_per_second(project: Path, family: str, preset: str, device: str, steps: int) -> float:
    import torch

    from studio.core.datasets.importer import dataset_folder
    from studio.core.jobs import JobContext
    from studio.core.training import families
    from studio.core.training.engine import Engine

    config = families.resolve_config(family, preset, {"steps": 10_000})
    recipe_class = families.load_recipe_class(family)
    folder = dataset_folder(project, "voice")
    recipe_class.prepare_data(folder, config, JobContext())
    recipe = recipe_class(config, recipe_class.open_data(folder, config), torch.device(device))
    engine = Engine(recipe, config, torch.device(device))
    engine.train_step()  # warm-up (kernels, allocator)
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(steps):
        engine.train_step()
    if device == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - started)


def test_speech_training_steps_per_second(voice_project, record_benchmark):
    import torch

    results = {"threads": torch.get_num_threads()}
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        for family in ("tts", "vocoder"):
            for preset in ("fast", "balanced"):
                steps = 3 if device == "cpu" else 20
                value = _steps_per_second(voice_project, family, preset, device, steps)
                results[f"{family}_{preset}_{device}_steps_per_s"] = round(value, 3)
    if torch.cuda.is_available():
        results["cuda_device"] = torch.cuda.get_device_name(0)
    record_benchmark("speech_training_speed", results)
    assert all(value > 0 for key, value in results.items() if key.endswith("_per_s"))
