"""What the speech tests share: a pitch estimate and a tiny Piper voice exported at test time (a module,
not conftest.py, so test files can import it by a name no other test folder uses)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

TEST_SENTENCE = "Hello world, this is a tiny voice."
PIPER_RATE = 16000
HOP = 256  # samples per phoneme id at length_scale 1 in the tiny model


def dominant_pitch(samples: np.ndarray, sample_rate: int) -> float:
    """Median autocorrelation pitch (Hz) of the loud 93 ms frames of a voice."""
    out = []
    for start in range(0, len(samples) - 2048, 1024):
        frame = samples[start : start + 2048]
        if np.abs(frame).max() < 0.1:
            continue
        corr = np.correlate(frame, frame, "full")[2047:]
        lo, hi = sample_rate // 500, sample_rate // 50
        out.append(sample_rate / (lo + int(np.argmax(corr[lo:hi]))))
    return float(np.median(out))


def export_tiny_model(path: Path, speakers: bool = False) -> None:
    """A stand-in for a Piper VITS model with Piper's exact inputs and outputs: ``input`` int64 [1, N],
    ``input_lengths`` int64 [1], ``scales`` float32 [3] -> float32 [1, 1, samples]. It makes N * 256 *
    length_scale samples of a tone whose frequency follows the id under each sample, so a test can check that
    the ids, the length and length_scale all reach the model."""
    import torch

    class Tiny(torch.nn.Module):
        def forward(self, input, input_lengths, scales, sid=None):  # Piper's input name
            per_id = HOP * scales[1]
            total = (input_lengths[0].float() * per_id).long()
            t = torch.arange(total, dtype=torch.float32)
            index = torch.clamp((t / per_id).long(), max=input.shape[1] - 1)
            ids = input[0].index_select(0, index).float()
            if sid is not None:  # each speaker an octave apart
                ids = ids * (1.0 + sid[0].float())
            return (0.3 * torch.sin(t * (0.02 + 0.002 * ids))).view(1, 1, -1)

    args = (torch.tensor([[1, 5, 7, 2]]), torch.tensor([4]), torch.tensor([0.667, 1.0, 0.8]))
    names = ["input", "input_lengths", "scales"]
    if speakers:
        args, names = (*args, torch.tensor([0])), [*names, "sid"]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Tiny(),
            args,
            str(path),
            input_names=names,
            output_names=["output"],
            opset_version=15,
            dynamo=False,
            dynamic_axes={"input": {0: "batch", 1: "phonemes"}, "output": {0: "batch", 2: "time"}},
        )


def piper_config(symbols) -> dict:
    id_map = {"_": [0], "^": [1], "$": [2]}
    for symbol in symbols:
        id_map.setdefault(symbol, [len(id_map)])
    return {
        "audio": {"sample_rate": PIPER_RATE, "quality": "x_low"},
        "espeak": {"voice": "en-us"},
        "phoneme_type": "espeak",
        "num_speakers": 1,
        "dataset": "tiny",
        "inference": {"noise_scale": 0.667, "length_scale": 1.0, "noise_w": 0.8},
        "phoneme_id_map": id_map,
    }
