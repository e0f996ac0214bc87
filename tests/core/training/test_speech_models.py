"""The trainable own voice: the Tacotron 2 and HiFi-GAN networks, their recipes trained through the real engine
on 16 clips that espeak-ng speaks at test time (with their transcripts), and the trained checkpoints speaking
through studio/core/generation/speech_model.py (Griffin-Lim and the vocoder).

The clips, the imported dataset and the two 50-step runs are made once per module; tiny network sizes keep
the whole file to seconds on one CPU thread."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from training_helpers import assert_identical, final_weights, logged_steps

from studio.core.datasets import phonemes
from studio.core.datasets.importer import ImportDataset
from studio.core.jobs import Cancelled, JobContext, JobError, run_job
from studio.core.nets import tts, vocoder
from studio.core.speech.mel import MelFrontEnd, griffin_lim
from studio.core.training import TrainJob, families, runs
from studio.core.training.checkpoints import complete_steps

THREADS = 1  # as the image tests: tiny models gain nothing from a second thread on a busy machine
SENTENCES = [
    "Hello there.",
    "Good morning to you.",
    "The sun is bright.",
    "We sell fresh bread.",
    "Open every day.",
    "Call us now.",
    "A new season begins.",
    "Try it today.",
    "Quality you can trust.",
    "Made with care.",
    "Thank you for waiting.",
    "See you soon.",
    "Big savings this week.",
    "Find your style.",
    "Simple and fast.",
    "Welcome home.",
]
# tiny networks: every run below takes seconds on one thread
TTS_SETTINGS = {
    "reduction": 3,
    "embed_dim": 32,
    "prenet_dim": 16,
    "attention_rnn_dim": 48,
    "decoder_rnn_dim": 48,
    "attention_dim": 16,
    "postnet_dim": 16,
    "batch_size": 8,
    "lr": 3e-3,
    "warmup_steps": 5,
    "log_every": 1,
    "eval_every": 25,
    "sample_every": 50,
    "checkpoint_every": 25,
}
VOCODER_SETTINGS = {
    "width": 16,
    "disc_width": 1,
    "segment_frames": 8,
    "batch_size": 4,
    "lr": 5e-3,
    "log_every": 1,
    "eval_every": 25,
    "sample_every": 50,
    "checkpoint_every": 25,
    "eval_clips": 2,
}
MEL = {
    "sample_rate": 22050,
    "n_mels": 80,
    "n_fft": 1024,
    "hop_length": 256,
    "win_length": 1024,
    "f_min": 0.0,
    "f_max": 8000.0,
}


def synthesize(text: str) -> np.ndarray:
    from studio.core.speech import espeak

    if not espeak.available():
        pytest.skip(f"espeak-ng cannot be loaded here: {espeak.error()}")
    return espeak.synthesize(text)


def make_voice_project(root: Path) -> Path:
    """16 espeak clips with an LJSpeech metadata.csv, plus 2 clips without any transcript in their own
    dataset "hum", imported with the real importer."""
    source = root / "voice"
    source.mkdir(parents=True)
    lines = []
    for i, sentence in enumerate(SENTENCES):
        soundfile.write(source / f"clip{i:02d}.wav", synthesize(sentence), 22050, subtype="PCM_16")
        lines.append(f"clip{i:02d}|{sentence}")
    (source / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    untranscribed = root / "hum"
    untranscribed.mkdir()
    for i in range(2):
        soundfile.write(untranscribed / f"take{i}.wav", synthesize(SENTENCES[i]), 22050, subtype="PCM_16")
    project = root / "Voice"
    run_job(ImportDataset(project, "voice", [source], kind="audio", workers=1))
    run_job(ImportDataset(project, "hum", [untranscribed], kind="audio", workers=1))
    return project


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def voice_template(tmp_path_factory) -> Path:
    return make_voice_project(tmp_path_factory.mktemp("voice"))


def _train(project: Path, family: str, settings: dict, steps: int = 50, **kwargs) -> tuple[TrainJob, float]:
    job = TrainJob(
        project, "voice", family, preset="fast", overrides=settings, steps=steps, cpu_threads=THREADS, **kwargs
    )
    started = time.perf_counter()
    job(JobContext())
    return job, time.perf_counter() - started


@pytest.fixture(scope="module")
def trained(voice_template, tmp_path_factory):
    """One project with a 50-step TTS run and a 50-step vocoder run (the module's shared runs)."""
    root = tmp_path_factory.mktemp("trained")
    project = root / "Voice"
    shutil.copytree(voice_template, project)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIGC_STUDIO_HOME", str(root / "studio-home"))
        before = torch.get_num_threads()
        torch.set_num_threads(THREADS)
        try:
            tts_job, tts_s = _train(project, "tts", TTS_SETTINGS)
            vocoder_job, vocoder_s = _train(project, "vocoder", VOCODER_SETTINGS)
        finally:
            torch.set_num_threads(before)
    print(f"TTS 50 steps: {tts_s:.1f} s, vocoder 50 steps: {vocoder_s:.1f} s")
    return {"project": project, "tts": tts_job, "vocoder": vocoder_job}


@pytest.fixture
def voice(voice_template, tmp_path) -> Path:
    target = tmp_path / "Voice"
    shutil.copytree(voice_template, target)
    return target


def _first_and_last(run_folder: Path, key: str) -> tuple[float, float]:
    """The value logged at step 1 (the untrained model) and the mean of the last 5 steps (one small batch
    is noisy, the vocoder's random windows especially)."""
    values = [line[key] for line in runs.read_metrics(run_folder) if key in line]
    assert len(values) == 50
    return values[0], float(np.mean(values[-5:]))


# -- networks -------------------------------------------------------------------------------------------------------
def test_tacotron_shapes_reduction_and_bounded_inference():
    config = tts.TtsConfig(
        n_symbols=len(phonemes.SYMBOLS),
        reduction=3,
        embed_dim=16,
        prenet_dim=8,
        attention_rnn_dim=16,
        decoder_rnn_dim=16,
        attention_dim=8,
        postnet_dim=8,
        max_frames_per_symbol=6,
    )
    model = tts.Tacotron2(config)
    tokens = torch.randint(5, 60, (3, 11))
    lengths = torch.tensor([11, 7, 4])  # not sorted: the encoder packs with enforce_sorted=False
    before, after, gates, alignments = model(tokens, lengths, torch.randn(3, 30, 80))
    assert before.shape == after.shape == (3, 30, 80)
    assert gates.shape == (3, 10) and alignments.shape == (3, 10, 11)
    assert torch.allclose(alignments.sum(-1), torch.ones(3, 10), atol=1e-5)
    assert float(alignments[2, :, 4:].detach().abs().max()) == 0.0  # no attention on padding
    model.eval()
    model.config.gate_threshold = 2.0  # never stops: the cap (6 frames per symbol) must end it
    mel, frames, steps = model.infer(tokens[:1, :5], generator=torch.Generator().manual_seed(0))
    assert mel.shape == (1, 30, 80) and int(frames[0]) == 30 and steps.shape == (1, 10, 5)
    again, _, _ = model.infer(tokens[:1, :5], generator=torch.Generator().manual_seed(0))
    assert torch.equal(mel, again)  # a seeded pre-net: the same text gives the same frames

    calls = []

    def stop():
        calls.append(1)
        if len(calls) == 3:
            raise Cancelled()

    with pytest.raises(Cancelled):
        model.infer(tokens[:1], check=stop)


def test_guided_attention_map_and_loss():
    W = tts.guided_attention_weights(torch.tensor([10, 5]), torch.tensor([20, 8]), N=10, S=20)
    assert W.shape == (2, 20, 10)
    assert float(W[0, 0, 0]) == 0.0 and float(W[0, 19, 9]) < 0.1  # the diagonal is free
    assert float(W[0, 0, 9]) > 0.9  # the far corner costs nearly 1
    assert float(W[1, 8:].abs().max()) == 0.0 and float(W[1, :, 5:].abs().max()) == 0.0  # masked by lengths
    diagonal = torch.zeros(1, 20, 10)
    diagonal[0, torch.arange(20), torch.arange(20) // 2] = 1.0
    anti = diagonal.flip(2)
    lengths, steps = torch.tensor([10]), torch.tensor([20])
    assert float(tts.guided_attention_loss(diagonal, lengths, steps)) < 0.05
    assert float(tts.guided_attention_loss(anti, lengths, steps)) > 0.5
    assert float(tts.diagonality(diagonal, lengths, steps)) > 0.95


def test_hifigan_upsamples_by_the_hop_and_discriminates():
    config = vocoder.VocoderConfig(width=16, disc_width=2)
    assert config.hop_length == 256
    G, D = vocoder.Generator(config), vocoder.Discriminator(config)
    audio = G(torch.randn(2, 80, 7))
    assert audio.shape == (2, 1, 7 * 256) and float(audio.detach().abs().max()) <= 1.0
    logits, features = D(audio)
    assert len(logits) == len(features) == 5 + 3
    assert float(vocoder.discriminator_loss(logits, logits).detach()) > 0
    assert vocoder.VocoderConfig.from_dict(config.to_dict()) == config


# -- recipes through the engine -------------------------------------------------------------------------------------
@pytest.mark.slow
def test_tts_trains_50_steps_and_its_loss_falls(trained):
    job = trained["tts"]
    first, last = _first_and_last(job.run_folder, "mel")
    print(f"TTS mel L1 {first:.3f} -> {last:.3f}")
    assert last < first * 0.6
    line = runs.read_metrics(job.run_folder)[-1]
    assert line["step"] == 50 and {"loss", "mel", "gate", "attention"} <= line.keys()
    evaluation = [line for line in runs.read_metrics(job.run_folder) if "val_loss" in line]
    assert evaluation and 0.0 <= evaluation[-1]["val_align"] <= 1.0
    model = runs.read_config(job.run_folder)["model"]
    assert model["kind"] == "tts" and model["mel"] == MEL and model["language"] == "en-us"
    assert model["phonemizer"] == phonemes.phonemizer_name() and model["symbols_version"] == phonemes.SYMBOLS_VERSION
    assert model["config"]["reduction"] == 3 and model["config"]["n_symbols"] == len(phonemes.SYMBOLS)
    wav, png = (job.run_folder / "samples" / "step-000050.wav"), (job.run_folder / "samples" / "step-000050.png")
    samples, rate = soundfile.read(wav)
    assert rate == 22050 and len(samples) > 0.3 * rate  # three sentences and two pauses at least
    from PIL import Image

    assert Image.open(png).size[0] >= 320


@pytest.mark.slow
def test_vocoder_trains_50_steps_on_all_clips_and_its_mel_loss_falls(trained):
    job = trained["vocoder"]
    first, last = _first_and_last(job.run_folder, "mel")
    print(f"vocoder mel L1 {first:.3f} -> {last:.3f}")
    assert last < first * 0.6
    line = runs.read_metrics(job.run_folder)[-1]
    assert {"loss_d", "loss_g", "feature_matching", "adversarial"} <= line.keys()
    model = runs.read_config(job.run_folder)["model"]
    assert model == {
        "kind": "vocoder",
        "mel": MEL,
        "weights": "generator",
        "ema": False,
        "config": {
            "n_mels": 80,
            "upsample_rates": [8, 8, 2, 2],
            "width": 16,
            "resblock_kernels": [3, 7, 11],
            "resblock_dilations": [1, 3, 5],
            "disc_width": 1,
        },
    }
    assert (job.run_folder / "samples" / "step-000050.wav").is_file()
    assert (job.run_folder / "samples" / "step-000050.png").is_file()


@pytest.mark.slow
def test_checkpoints_speak_through_griffin_lim_and_the_vocoder(trained):
    from studio.core.generation import speech_model

    project, tts_folder, vocoder_folder = trained["project"], trained["tts"].run_folder, trained["vocoder"].run_folder
    voice = speech_model.load_tts(tts_folder, None, "cpu")
    assert voice.sample_rate == 22050 and voice.language == "en-us" and voice.step == 50 and voice.mel == MEL
    mel, alignment = voice.mel_for(voice.phoneme_ids("Good morning."))
    assert mel.dtype == np.float32 and mel.shape[1] == 80 and len(mel) > 0 and np.isfinite(mel).all()
    assert alignment.shape[0] == len(mel)
    assert np.array_equal(mel, voice.mel_for(voice.phoneme_ids("Good morning."))[0])  # deterministic
    samples = griffin_lim(mel, voice.mel)
    assert samples.dtype == np.float32 and len(samples) == len(mel) * 256
    assert float(np.sqrt(np.mean(samples**2))) > 1e-3  # not silent

    assert speech_model.find_vocoder(project, tts_folder) == vocoder_folder
    neural = speech_model.vocoder_models.get(vocoder_folder)
    assert speech_model.vocoder_models.get(vocoder_folder) is neural  # cached
    audio = neural.vocode(mel)
    assert audio.dtype == np.float32 and len(audio) == len(mel) * 256 and float(np.abs(audio).max()) > 1e-3

    listed = {run["family"]: run for run in speech_model.list_speech_runs(project)}
    assert listed["tts"]["steps"] == [25, 50] and listed["tts"]["language"] == "en-us"
    assert listed["vocoder"]["run_id"] == vocoder_folder.name and listed["vocoder"]["mel"] == MEL
    with pytest.raises(JobError, match="not a trained voice"):
        speech_model.load_tts(vocoder_folder)
    with pytest.raises(JobError, match="no checkpoint at step 7"):
        speech_model.load_vocoder(vocoder_folder, 7)


def test_griffin_lim_inverts_the_cache_mels_of_a_real_clip():
    """espeak speech -> the cache's log-mel -> Griffin-Lim -> log-mel again: close (the mel convention and
    the frame alignment match; an off-by-half-hop or power/magnitude mix-up doubles the error)."""

    clip = synthesize("The quick brown fox jumps over the lazy dog.")
    clip = clip[: len(clip) // 256 * 256]
    front = MelFrontEnd()
    mel = front(torch.from_numpy(clip)).T.numpy()
    rebuilt = griffin_lim(mel, MEL, n_iter=32)
    assert len(rebuilt) == len(clip)
    error = float(np.abs(front(torch.from_numpy(rebuilt)).T.numpy() - mel).mean())
    print(f"Griffin-Lim round trip: mean |log-mel error| {error:.3f}")
    assert error < 0.3


def test_tts_needs_transcripts_and_the_vocoder_does_not(voice):
    """And refusals come in plain words: no transcripts, only over-long clips, rates that miss the hop."""
    with pytest.raises(JobError, match="has a transcript"):
        TrainJob(voice, "hum", "tts", preset="fast", overrides=TTS_SETTINGS, steps=1, cpu_threads=THREADS)(JobContext())
    job = TrainJob(
        voice,
        "hum",
        "vocoder",
        preset="fast",
        overrides={**VOCODER_SETTINGS, "sample_every": 100},
        steps=2,
        cpu_threads=THREADS,
    )
    assert job(JobContext())["step"] == 2
    with pytest.raises(JobError, match="longer than max_clip_seconds"):
        TrainJob(
            voice,
            "voice",
            "tts",
            preset="fast",
            overrides={**TTS_SETTINGS, "max_clip_seconds": 0.2},
            steps=1,
            cpu_threads=THREADS,
        )(JobContext())
    with pytest.raises(JobError, match="multiply to 128"):
        TrainJob(
            voice,
            "voice",
            "vocoder",
            preset="fast",
            overrides={**VOCODER_SETTINGS, "upsample_rates": "8,8,2"},
            steps=1,
            cpu_threads=THREADS,
        )(JobContext())


def _stop_at(step: int, key: str) -> JobContext:
    ctx = JobContext()
    ctx._on_metrics = lambda values: ctx.cancel() if values.get("step") == step and key in values else None
    return ctx


@pytest.mark.parametrize("family", ["tts", "vocoder"])
@pytest.mark.slow
def test_resume_equals_straight_run(voice, family):
    """4 steps + stop + resume + 4 steps == 8 steps straight, bit for bit (pre-net dropout, batch norm
    statistics, random vocoder windows and both GAN players included). Short runs: every step draws from
    the same random streams, so 4 + 4 checks what 10 + 10 would, at less than half the cost."""
    settings = {
        **(TTS_SETTINGS if family == "tts" else VOCODER_SETTINGS),
        "log_every": 1,
        "eval_every": 4,
        "sample_every": 100,
        "checkpoint_every": 4,
        "seed": 3,
    }
    straight = TrainJob(voice, "voice", family, preset="fast", overrides=settings, steps=8, cpu_threads=THREADS)
    straight(JobContext())
    first = TrainJob(voice, "voice", family, preset="fast", overrides=settings, steps=8, cpu_threads=THREADS)
    with pytest.raises(Cancelled):
        first(_stop_at(4, "loss" if family == "tts" else "loss_g"))
    assert complete_steps(first.run_folder / "checkpoints")[-1] == 4
    TrainJob(voice, "voice", family, resume=first.run_id, cpu_threads=THREADS)(JobContext())
    assert_identical(final_weights(straight.run_folder), final_weights(first.run_folder))
    assert logged_steps(first.run_folder) == list(range(1, 9))


def test_speech_families_are_registered_for_audio_datasets():
    for family in ("tts", "vocoder"):
        info = families.spec(family)
        assert info.kinds == ("audio",) and info.description.endswith(".")
        assert set(families.presets(family)) == {"fast", "balanced", "best"}
        for preset in ("fast", "balanced", "best"):
            families.resolve_config(family, preset)
        assert families.load_recipe_class(family).preview_kind == "audio"
    assert families.default_config("tts")["reduction"] == 2
    assert families.default_config("vocoder")["upsample_rates"] == "8,8,2,2"
