"""Family "vocoder": a small HiFi-GAN (studio/core/nets/vocoder.py) on the audio cache — every clip, with or
without a transcript (it only needs audio and its mel frames).

A training item is one clip; each step reads a random ``segment_frames``-frame window of it (the start
drawn with ``torch.randint`` from torch's global CPU generator, which the engine seeds and saves, so a
resumed run reads the same windows), the cached mel frames as input and the matching
``segment_frames * hop`` samples as the target. Clips shorter than a window are padded with silence.

One engine step is two phases, as in the image GAN: the discriminators (multi-period + multi-scale) learn
to tell real from generated windows (least-squares loss), then the generator learns from the mel L1 (x
``mel_weight``, 45 in the paper: by far the strongest signal early on, and what makes HiFi-GAN train
steadily on little data), feature matching (x ``fm_weight``) and the adversarial loss. The mel of the
generated audio is computed with the cache's own front end (:class:`MelFrontEnd`) in fp32 (STFTs in half
precision lose the quiet bands).

Evaluation: "val_loss" is the mel L1 between the validation clips (the first ``eval_clips``, each cut to
``EVAL_SECONDS``) and the mels of their vocoded versions. Previews: the first validation clip vocoded
from its mel (``step-NNNNNN.wav``) and a picture of the real mel over the generated one (``.png``).

Engine settings (the paper's, for the same reasons as the image GAN's): AdamW betas (0.8, 0.99), weight
decay 0.01, no warm-up, no gradient clipping (a discriminator's gradient norms are routinely far above 1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from studio.core.jobs import JobError
from studio.core.nets.tts import SILENCE
from studio.core.nets.vocoder import (
    Discriminator,
    Generator,
    VocoderConfig,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
)
from studio.core.speech.mel import MelFrontEnd
from studio.core.training.recipe_base import Phase, adamw
from studio.core.training.speech_tts import SpeechRecipe, heatmap, stack_pictures

EVAL_SECONDS = 4.0  # validation and preview clips are cut to this
PREVIEW_SECONDS = 6.0


def parse_rates(text: str) -> tuple[int, ...]:
    try:
        rates = tuple(int(part) for part in str(text).replace(" ", "").split(",") if part)
    except ValueError:
        rates = ()
    if not rates or any(rate < 1 for rate in rates):
        raise JobError(f"upsample_rates must be whole numbers separated by commas, such as 8,8,2,2 (it is “{text}”).")
    return rates


class VocoderRecipe(SpeechRecipe):
    family = "vocoder"

    def __init__(self, config: dict, data, device: torch.device) -> None:
        super().__init__(config, data, device)
        rates = parse_rates(config["upsample_rates"])
        if int(np.prod(rates)) != self.hop:
            raise JobError(
                f"The upsample_rates ({config['upsample_rates']}) multiply to {int(np.prod(rates))}, but "
                f"the audio cache has {self.hop} samples per mel frame; use rates that multiply to "
                f"{self.hop}, such as 8,8,2,2."
            )
        self.rates = rates
        train, val = np.asarray(data.train_indices, np.int64), np.asarray(data.val_indices, np.int64)
        if len(train) == 0 and len(val) == 0:
            raise JobError("The dataset has no usable clips to train a vocoder on. Import some recordings first.")
        self.train_items = train if len(train) else val
        self.val_items = val
        self.frames = int(config["segment_frames"])
        self._front = None

    @classmethod
    def check_settings(cls, config: dict) -> None:
        super().check_settings(config)
        parse_rates(config["upsample_rates"])
        if config["width"] < 2 or config["disc_width"] < 1:
            raise JobError("width must be at least 2 and disc_width at least 1.")
        if config["segment_frames"] < 4:
            raise JobError("segment_frames must be at least 4 (32 frames, about 0.4 s, is the usual choice).")

    def net_config(self) -> VocoderConfig:
        return VocoderConfig(
            n_mels=int(self.config["n_mels"]),
            upsample_rates=self.rates,
            width=int(self.config["width"]),
            disc_width=int(self.config["disc_width"]),
        )

    def front(self):
        """The cache's mel transform on the training device (built once)."""
        if self._front is None:
            m = self.mel
            self._front = MelFrontEnd(
                int(m["sample_rate"]),
                int(m["n_mels"]),
                int(m["n_fft"]),
                int(m["hop_length"]),
                int(m["win_length"]),
                float(m["f_min"]),
                None if m["f_max"] is None else float(m["f_max"]),
            )
            self._front.transform.to(self.device)
        return self._front

    def mel_of(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, 1, L) audio -> (B, M, L // hop) log-mels, in fp32 whatever the step's autocast."""
        with torch.autocast(audio.device.type, enabled=False):
            return self.front()(audio.float().squeeze(1))

    # -- what to train ----------------------------------------------------------------------------------------------
    def build_models(self) -> dict[str, nn.Module]:
        c = self.net_config()
        return {"generator": Generator(c), "discriminator": Discriminator(c)}

    def build_optimizers(self, models):
        c = self.config
        betas = (float(c["adam_beta1"]), float(c["adam_beta2"]))
        return {
            name: adamw(models[name].parameters(), c["lr"], c["weight_decay"], self.device, betas)
            for name in ("discriminator", "generator")
        }

    def phases(self) -> list[Phase]:
        return [Phase("discriminator", self.discriminator_loss), Phase("generator", self.generator_loss)]

    def ema_models(self) -> list[str]:
        return ["generator"]

    def describe(self) -> dict:
        return {
            "kind": "vocoder",
            "mel": dict(self.mel),
            "config": self.net_config().to_dict(),
            "weights": "generator",
            "ema": bool(self.config["ema"]),
        }

    # -- batches ----------------------------------------------------------------------------------------------------
    def train_size(self) -> int:
        return len(self.train_items)

    def load_batch(self, positions):
        """(mel (B, M, F), audio (B, 1, F * hop)) of random windows of the clips at ``positions``."""

        clips = self.train_items[np.asarray(positions, np.int64)]
        F_, hop, M = self.frames, self.hop, int(self.config["n_mels"])
        mels = torch.full((len(clips), F_, M), SILENCE, dtype=torch.float32)
        audio = torch.zeros(len(clips), F_ * hop, dtype=torch.float32)
        for b, i in enumerate(clips):
            mel = self.data.mel(int(i))
            T = len(mel)
            start = int(torch.randint(max(1, T - F_ + 1), (1,)))  # global CPU generator: checkpointed
            take = min(F_, T - start)
            if take > 0:
                mels[b, :take] = torch.from_numpy(np.asarray(mel[start : start + take], np.float32))
                clip = np.asarray(self.data.clip(int(i))[start * hop : (start + take) * hop], np.float32) / 32768.0
                audio[b, : len(clip)] = torch.from_numpy(clip)
        return (
            mels.transpose(1, 2).contiguous().to(self.device, non_blocking=True),
            audio.unsqueeze(1).to(self.device, non_blocking=True),
        )

    def discriminator_loss(self, models, batch):
        mel, real = batch
        with torch.no_grad():
            fake = models["generator"](mel)
        logits, _ = models["discriminator"](torch.cat([real, fake.to(real.dtype)]))
        real_logits = [x[: len(real)] for x in logits]
        fake_logits = [x[len(real) :] for x in logits]
        loss = discriminator_loss(real_logits, fake_logits)
        return loss, {"loss_d": loss.detach()}

    def generator_loss(self, models, batch):
        mel, real = batch
        fake = models["generator"](mel)
        mel_loss = F.l1_loss(self.mel_of(fake), self.mel_of(real))
        D = models["discriminator"]
        with torch.no_grad():
            _, real_features = D(real)
        fake_logits, fake_features = D(fake)
        adversarial = generator_adversarial_loss(fake_logits)
        matching = feature_matching_loss(real_features, fake_features)
        loss = float(self.config["mel_weight"]) * mel_loss + float(self.config["fm_weight"]) * matching + adversarial
        return loss, {
            "loss_g": loss.detach(),
            "mel": mel_loss.detach(),
            "feature_matching": matching.detach(),
            "adversarial": adversarial.detach(),
        }

    # -- reports ----------------------------------------------------------------------------------------------------
    def _clip_mel(self, i: int, seconds: float) -> torch.Tensor:
        frames = max(1, int(seconds * self.sample_rate / self.hop))
        return self._mel_tensor(i)[:frames]

    @torch.no_grad()
    def evaluate(self, models) -> dict[str, float]:
        if len(self.val_items) == 0:
            return {}
        G = models["generator"]
        total, count = 0.0, 0
        for i in self.val_items[: int(self.config["eval_clips"])]:
            mel = self._clip_mel(int(i), EVAL_SECONDS).to(self.device)
            if len(mel) == 0:
                continue
            audio = G(mel.T[None])
            total += float(F.l1_loss(self.mel_of(audio)[0].T, mel)) * len(mel)
            count += len(mel)
        return {"val_loss": total / count} if count else {}

    @torch.no_grad()
    def preview(self, models, step: int, folder: Path) -> dict | None:
        clips = np.concatenate([self.val_items, self.train_items])
        if len(clips) == 0:
            return None
        mel = self._clip_mel(int(clips[0]), PREVIEW_SECONDS).to(self.device)
        audio = models["generator"](mel.T[None]).float()
        samples = audio[0, 0].cpu().numpy()
        wav = self.write_wav(samples, folder, step)
        real, made = mel.float().cpu().numpy().T, self.mel_of(audio)[0].float().cpu().numpy()
        low, high = float(real.min()), float(real.max())
        png = self.write_png(stack_pictures([heatmap(real, low, high), heatmap(made, low, high)]), folder, step)
        which = "a validation clip" if len(self.val_items) else "a training clip"
        return {
            "path": str(wav),
            "image": str(png),
            "caption": f"Step {step:,}: {which} rebuilt from its mel frames "
            f"({len(samples) / self.sample_rate:.1f} s); picture: the real mel (top) and the "
            f"generated one (bottom)",
        }
