"""Family "tts": a phoneme Tacotron 2 (studio/core/nets/tts.py) on the audio cache; also what the speech
families share (:class:`SpeechRecipe`: the cache, mel settings, WAV and picture previews).

Data: only clips with a transcript train the acoustic model (a clip without one says nothing the model
could learn to read), and none longer than ``max_clip_seconds``; the vocoder family uses them all. A
training item is one clip: its phoneme ids plus end-of-sentence, and its log-mel frames padded with
silence to a multiple of the reduction factor r.
Batches are padded to their longest item; the masks keep padding out of every loss.

Loss per step: mel L1 before and after the post-net (L1 rather than Tacotron 2's MSE: log-mels of
small, noisy datasets have outliers, and L1 over-smooths less), the stop-token BCE (with ``gate_pos_weight``
because a clip has one "stop" step among hundreds), and the guided-attention loss times
``guided_attention`` — the term that makes the alignment form on a few hundred clips.

Randomness: the pre-net's dropout and the encoder's draw from torch's global generator (seeded and saved
in checkpoints by the engine), so a resumed run is bit-identical to an uninterrupted one on the CPU.
Evaluation reseeds inside the engine's forked RNG so two evaluations differ only by the weights.

Evaluation (validation clips with transcripts, teacher-forced): "val_loss" is the mel L1 after the
post-net; "val_align" the attention's diagonality (0-1, see :func:`studio.core.nets.tts.diagonality`),
which rises from ~0.4 to above 0.9 as the model learns to read.

Previews: the fixed :data:`TEST_SENTENCES` of the dataset's language, synthesized free-running (what a
user will hear, not the flattering teacher-forced version) in one batch, vocoded with Griffin-Lim and
joined by 0.3 s pauses into ``samples/step-NNNNNN.wav``, plus the first sentence's attention as
``samples/step-NNNNNN.png`` (encoder steps up, decoder steps right: a diagonal line means it reads along).
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from studio.core.atomic import atomic_write_bytes
from studio.core.datasets import phonemes
from studio.core.datasets.audio import encode_wav
from studio.core.datasets.audio_cache import AudioCache, BuildAudioCache
from studio.core.datasets.phonemes import EOS_ID, PAD_ID
from studio.core.jobs import JobError, run_job
from studio.core.nets.tts import SILENCE, Tacotron2, TtsConfig, diagonality, guided_attention_loss, input_ids
from studio.core.speech.mel import MEL_KEYS, griffin_lim
from studio.core.training.recipe_base import Phase, Recipe, adamw

EVAL_SEED = 1234
PREVIEW_SEED = 4321
PAUSE_S = 0.3  # silence between the test sentences in a preview
PREVIEW_GRIFFIN_LIM_ITERS = 32
# A preview stops a sentence at 12 frames per symbol (about twice a normal speaking rate) when the gate has not
# fired: early in training it never does, and 25 (the model's own cap) would make each preview ~10 s of babble
# per sentence and cost seconds of Griffin-Lim on every preview.
PREVIEW_FRAMES_PER_SYMBOL = 12

# What every preview says, so a user hears the same words improve. Short, everyday sentences with the
# sounds of the language; keys are language prefixes ("en-us" -> "en"), English is the fallback.
TEST_SENTENCES = {
    "en": ["The quick brown fox jumps over the lazy dog.", "Welcome to our new collection.", "How are you today?"],
    "de": ["Der schnelle braune Fuchs springt über den faulen Hund.", "Willkommen in unserer neuen Kollektion."],
    "fr": ["Le renard brun rapide saute par-dessus le chien paresseux.", "Bienvenue dans notre nouvelle collection."],
    "es": ["El rápido zorro marrón salta sobre el perro perezoso.", "Bienvenidos a nuestra nueva colección."],
    "it": ["La volpe veloce salta sopra il cane pigro.", "Benvenuti nella nostra nuova collezione."],
    "pt": ["A rápida raposa marrom pula sobre o cão preguiçoso.", "Bem-vindos à nossa nova coleção."],
    "nl": ["De snelle bruine vos springt over de luie hond.", "Welkom bij onze nieuwe collectie."],
    "zh": ["敏捷的棕色狐狸跳过了懒狗。", "欢迎光临我们的新品系列。"],
    "cmn": ["敏捷的棕色狐狸跳过了懒狗。", "欢迎光临我们的新品系列。"],
    "ja": ["こんにちは、今日はいい天気ですね。", "新しいコレクションへようこそ。"],
}


def test_sentences(language: str) -> list[str]:
    code = (language or "en").lower()
    return TEST_SENTENCES.get(code) or TEST_SENTENCES.get(code.split("-")[0]) or TEST_SENTENCES["en"]


class SpeechRecipe(Recipe):
    """What the speech families share: the audio cache, its mel settings, WAV and PNG previews."""

    preview_kind = "audio"
    metric = "val_loss"

    def __init__(self, config: dict, data: AudioCache, device: torch.device) -> None:
        super().__init__(config, data, device)
        self.check_settings(config)
        params = data.info["params"]
        self.mel = {key: params[key] for key in MEL_KEYS}
        self.sample_rate, self.hop = int(params["sample_rate"]), int(params["hop_length"])

    @classmethod
    def check_settings(cls, config: dict) -> None:
        if config["n_mels"] < 8:
            raise JobError("n_mels must be at least 8 (80 is the usual choice).")

    @classmethod
    def prepare_data(cls, dataset_folder: Path, config: dict, ctx) -> None:
        cls.check_settings(config)
        run_job(BuildAudioCache(dataset_folder, n_mels=int(config["n_mels"])), ctx)

    @classmethod
    def open_data(cls, dataset_folder: Path, config: dict) -> AudioCache:
        return AudioCache.open(dataset_folder, n_mels=int(config["n_mels"]))

    def _mel_tensor(self, i: int) -> torch.Tensor:
        """Clip ``i``'s log-mel frames, (T, M) float32 on the CPU."""
        return torch.from_numpy(np.asarray(self.data.mel(int(i)), dtype=np.float32))

    def write_wav(self, samples: np.ndarray, folder: Path, step: int) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"step-{step:06d}.wav"
        atomic_write_bytes(
            path, encode_wav(np.clip(samples, -1.0, 1.0).astype(np.float32), self.sample_rate), durable=False
        )
        return path

    @staticmethod
    def write_png(picture: np.ndarray, folder: Path, step: int) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"step-{step:06d}.png"
        buffer = io.BytesIO()
        Image.fromarray(picture).save(buffer, format="PNG")
        atomic_write_bytes(path, buffer.getvalue(), durable=False)
        return path


# -- pictures (PIL/numpy only) ----------------------------------------------------------------------------------------
_VIRIDIS = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], np.float32)


def heatmap(
    values: np.ndarray, low: float | None = None, high: float | None = None, min_width: int = 320, min_height: int = 160
) -> np.ndarray:
    """(rows, cols) values -> RGB uint8 picture with row 0 at the *bottom* (a spectrogram's lowest band, an
    alignment's first symbol), viridis-like colours, each cell enlarged to at least ``min_width`` x
    ``min_height`` pixels overall (nearest neighbour, so cells stay crisp)."""
    values = np.nan_to_num(np.asarray(values, np.float32))
    if values.size == 0:
        values = np.zeros((1, 1), np.float32)
    low = float(values.min()) if low is None else low
    high = float(values.max()) if high is None else high
    scaled = np.clip((values - low) / max(high - low, 1e-6), 0.0, 1.0) * (len(_VIRIDIS) - 1)
    index = np.minimum(scaled.astype(np.int64), len(_VIRIDIS) - 2)
    frac = (scaled - index)[..., None]
    rgb = _VIRIDIS[index] * (1 - frac) + _VIRIDIS[index + 1] * frac
    rgb = rgb[::-1]  # row 0 at the bottom
    rows, cols = values.shape
    ry, rx = max(1, math.ceil(min_height / rows)), max(1, math.ceil(min_width / cols))
    return np.repeat(np.repeat(rgb, ry, axis=0), rx, axis=1).round().astype(np.uint8)


def stack_pictures(pictures: list[np.ndarray], gap: int = 4) -> np.ndarray:
    """Pictures one above the other (first on top), padded to the widest, white gaps between."""
    width = max(p.shape[1] for p in pictures)
    parts = []
    for i, picture in enumerate(pictures):
        if i:
            parts.append(np.full((gap, width, 3), 255, np.uint8))
        pad = np.full((picture.shape[0], width - picture.shape[1], 3), 255, np.uint8)
        parts.append(np.concatenate([picture, pad], axis=1))
    return np.concatenate(parts, axis=0)


# -- the acoustic model -----------------------------------------------------------------------------------------------
class TtsRecipe(SpeechRecipe):
    family = "tts"
    model_name = "tts"
    net_fields = (
        "reduction",
        "embed_dim",
        "prenet_dim",
        "attention_rnn_dim",
        "decoder_rnn_dim",
        "attention_dim",
        "postnet_dim",
        "dropout",
        "rnn_dropout",
        "max_frames_per_symbol",
    )

    def __init__(self, config: dict, data: AudioCache, device: torch.device) -> None:
        super().__init__(config, data, device)

        params = data.info["params"]
        self.language = str(params.get("language") or phonemes.DEFAULT_LANGUAGE)
        self.phonemizer = str(params.get("phonemizer") or phonemes.phonemizer_name())
        self.symbols_version = int(params.get("symbols_version") or phonemes.SYMBOLS_VERSION)
        transcribed = np.array([data.has_transcript(i) for i in range(len(data))], bool)
        if not transcribed.any():
            raise JobError(
                "None of the clips in this dataset has a transcript, so the voice has nothing to learn "
                "to say. Add a metadata.csv (lines “clip id|text”) or a .txt file beside each clip and "
                "import the recordings again; clips without text can still train a vocoder."
            )
        # very long clips cost memory and time quadratically (attention over every symbol at every step) and
        # are usually badly transcribed paragraphs: they are left out, not cut (the text could not be cut along)
        frames = np.diff(np.asarray(data.mel_offsets, np.int64))
        fits = np.less_equal(frames, float(config["max_clip_seconds"]) * self.sample_rate / self.hop)
        usable = transcribed & fits
        train = np.asarray([i for i in data.train_indices if usable[i]], np.int64)
        val = np.asarray([i for i in data.val_indices if usable[i]], np.int64)
        if len(train) == 0 and len(val) == 0:
            raise JobError(
                f"Every clip with a transcript is longer than max_clip_seconds "
                f"({config['max_clip_seconds']:g} s). Cut the recordings into sentences, or raise "
                f"max_clip_seconds."
            )
        self.train_items = train if len(train) else val  # every transcribed clip was put aside: train on them
        self.val_items = val
        self.r = int(config["reduction"])
        self.net_config = self._net_config()
        self.preview_ids = self._preview_ids()

    @classmethod
    def check_settings(cls, config: dict) -> None:
        super().check_settings(config)
        if not 1 <= config["reduction"] <= 5:
            raise JobError("reduction (mel frames per decoder step) must be between 1 and 5; 2 suits most voices.")
        for key in ("embed_dim", "prenet_dim", "attention_rnn_dim", "decoder_rnn_dim", "attention_dim", "postnet_dim"):
            if config[key] < 2:
                raise JobError(f"{key} must be at least 2.")
        if config["embed_dim"] % 2:
            raise JobError(
                f"embed_dim must be even (the encoder's two LSTM directions share it); it is {config['embed_dim']}."
            )
        if not 0.0 <= config["dropout"] < 1.0 or not 0.0 <= config["rnn_dropout"] < 1.0:
            raise JobError("dropout and rnn_dropout must be at least 0 and below 1.")
        if config["max_clip_seconds"] <= 0:
            raise JobError("max_clip_seconds must be above 0.")
        if config["guided_sigma"] <= 0 or config["guided_attention"] < 0:
            raise JobError("guided_sigma must be above 0 and guided_attention 0 (off) or more.")

    def _net_config(self) -> TtsConfig:
        return TtsConfig(
            n_symbols=len(phonemes.SYMBOLS),
            n_mels=int(self.config["n_mels"]),
            **{name: self.config[name] for name in self.net_fields},
        )

    def _preview_ids(self) -> list[list[int]]:
        ids = []
        for sentence in test_sentences(self.language):
            try:
                ids.append(input_ids(phonemes.phoneme_ids(sentence, self.language), phonemes.EOS_ID))
            except ValueError:  # no espeak voice for it: the preview speaks what it can
                ids.append(input_ids(phonemes.symbols_to_ids(phonemes.characters(sentence)), phonemes.EOS_ID))
        return ids

    # -- what to train ----------------------------------------------------------------------------------------------
    def build_models(self) -> dict[str, nn.Module]:
        return {self.model_name: Tacotron2(self.net_config)}

    def build_optimizers(self, models):
        betas = (0.9, 0.999)
        return {
            self.model_name: adamw(
                models[self.model_name].parameters(), self.config["lr"], self.config["weight_decay"], self.device, betas
            )
        }

    def phases(self) -> list[Phase]:
        return [Phase(self.model_name, self.tts_loss)]

    def ema_models(self) -> list[str]:
        return [self.model_name]

    def describe(self) -> dict:
        return {
            "kind": "tts",
            "mel": dict(self.mel),
            "language": self.language,
            "phonemizer": self.phonemizer,
            "symbols_version": self.symbols_version,
            "config": self.net_config.to_dict(),
            "weights": self.model_name,
            "ema": bool(self.config["ema"]),
        }

    # -- batches ----------------------------------------------------------------------------------------------------
    def train_size(self) -> int:
        return len(self.train_items)

    def batch_of(self, clips) -> dict:
        """Padded tensors for the clips ``clips`` (cache indices): tokens (B, N), token_lengths (B,),
        mels (B, T, M) with T a multiple of r (padding = silence), frame_lengths (B,), step_lengths (B,)."""

        ids = [input_ids(self.data.phoneme_ids(int(i)), EOS_ID) for i in clips]
        mels = [self._mel_tensor(i) for i in clips]
        B, r, M = len(clips), self.r, int(self.config["n_mels"])
        N = max(len(x) for x in ids)
        frames = torch.tensor([max(1, len(m)) for m in mels], dtype=torch.long)
        T = int(math.ceil(int(frames.max()) / r) * r)
        tokens = torch.full((B, N), PAD_ID, dtype=torch.long)
        padded = torch.full((B, T, M), SILENCE, dtype=torch.float32)
        for b, (x, m) in enumerate(zip(ids, mels, strict=True)):
            tokens[b, : len(x)] = torch.as_tensor(x)
            padded[b, : len(m)] = m
        batch = {
            "tokens": tokens,
            "token_lengths": torch.tensor([len(x) for x in ids], dtype=torch.long),
            "mels": padded,
            "frame_lengths": frames,
            "step_lengths": (frames + r - 1) // r,
        }
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def load_batch(self, positions) -> dict:
        return self.batch_of(self.train_items[np.asarray(positions, np.int64)])

    def tts_loss(self, models, batch):
        before, after, gates, alignments = models[self.model_name](
            batch["tokens"], batch["token_lengths"], batch["mels"]
        )
        mel_before, mel_after = self._mel_l1(before, batch), self._mel_l1(after, batch)
        steps = batch["step_lengths"]
        step_mask = torch.arange(gates.shape[1], device=gates.device)[None] < steps[:, None]
        target = (torch.arange(gates.shape[1], device=gates.device)[None] >= (steps - 1)[:, None]).float()
        pos_weight = torch.tensor(float(self.config["gate_pos_weight"]), device=gates.device)
        gate = F.binary_cross_entropy_with_logits(gates.float()[step_mask], target[step_mask], pos_weight=pos_weight)
        attention = guided_attention_loss(alignments, batch["token_lengths"], steps, float(self.config["guided_sigma"]))
        loss = (
            mel_before
            + mel_after
            + float(self.config["gate_weight"]) * gate
            + float(self.config["guided_attention"]) * attention
        )
        return loss, {
            "loss": loss.detach(),
            "mel": mel_after.detach(),
            "mel_before": mel_before.detach(),
            "gate": gate.detach(),
            "attention": attention.detach(),
        }

    @staticmethod
    def _mel_l1(predicted: torch.Tensor, batch: dict) -> torch.Tensor:
        """Mean |predicted - target| over the real frames (padding excluded)."""
        mask = torch.arange(predicted.shape[1], device=predicted.device)[None] < batch["frame_lengths"][:, None]
        difference = (predicted.float() - batch["mels"]).abs() * mask[..., None]
        return difference.sum() / (mask.sum() * predicted.shape[2]).clamp(min=1)

    # -- reports ----------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, models) -> dict[str, float]:
        if len(self.val_items) == 0:
            return {}
        torch.manual_seed(EVAL_SEED)  # the pre-net's dropout: inside the engine's forked RNG, so training is unmoved
        model = models[self.model_name]
        size = int(self.config["batch_size"])
        mel_sum = align_sum = 0.0
        for start in range(0, len(self.val_items), size):
            clips = self.val_items[start : start + size]
            batch = self.batch_of(clips)
            _, after, _, alignments = model(batch["tokens"], batch["token_lengths"], batch["mels"])
            mel_sum += float(self._mel_l1(after, batch)) * len(clips)
            align_sum += float(
                diagonality(
                    alignments, batch["token_lengths"], batch["step_lengths"], float(self.config["guided_sigma"])
                )
            ) * len(clips)
        count = len(self.val_items)
        return {"val_loss": mel_sum / count, "val_align": align_sum / count}

    @torch.no_grad()
    def synthesize_batch(self, model: Tacotron2, ids: list[list[int]]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Free-running mels (T, M) and alignments (S, N) of several id lists in one batch (fixed seed)."""

        tokens = torch.full((len(ids), max(len(x) for x in ids)), PAD_ID, dtype=torch.long)
        for b, x in enumerate(ids):
            tokens[b, : len(x)] = torch.as_tensor(x)
        lengths = torch.tensor([len(x) for x in ids], dtype=torch.long)
        generator = torch.Generator(device=self.device).manual_seed(PREVIEW_SEED)
        max_steps = math.ceil(int(lengths.max()) * PREVIEW_FRAMES_PER_SYMBOL / self.r)
        mels, frames, alignments = model.infer(
            tokens.to(self.device), lengths.to(self.device), generator=generator, max_steps=max_steps
        )
        out_mels, out_alignments = [], []
        for b in range(len(ids)):
            T = int(frames[b])
            out_mels.append(mels[b, :T].float().cpu().numpy())
            out_alignments.append(alignments[b, : math.ceil(T / self.r), : len(ids[b])].float().cpu().numpy())
        return out_mels, out_alignments

    @torch.no_grad()
    def preview(self, models, step: int, folder: Path) -> dict | None:
        mels, alignments = self.synthesize_batch(models[self.model_name], self.preview_ids)
        pause = np.zeros(int(PAUSE_S * self.sample_rate), np.float32)
        pieces = []
        for i, mel in enumerate(mels):
            if i:
                pieces.append(pause)
            pieces.append(griffin_lim(mel, self.mel, n_iter=PREVIEW_GRIFFIN_LIM_ITERS))
        samples = np.concatenate(pieces) if pieces else pause
        wav = self.write_wav(samples, folder, step)
        png = self.write_png(heatmap(alignments[0].T, 0.0, 1.0), folder, step)  # (N, S): symbols up, steps right
        seconds = len(samples) / self.sample_rate
        return {
            "path": str(wav),
            "image": str(png),
            "caption": f"Step {step:,}: the test sentences ({seconds:.1f} s, Griffin-Lim) and the first one's "
            f"attention — a clean diagonal means the voice reads along the text",
        }
