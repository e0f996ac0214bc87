"""A damaged training cache is rebuilt, never reported up to date (issue 14, point 6).

Truncated or padded data files, a sidecar that does not parse or lies about its shapes, an index that does not
add up: the build notices and rebuilds with a plain message, and opening one refuses in one sentence instead
of failing inside numpy's memmap.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from studio.core.datasets import tokenizers
from studio.core.datasets.audio_cache import AudioCache, BuildAudioCache, audio_cache_folder
from studio.core.datasets.cache_common import cache_problem
from studio.core.datasets.image_cache import BuildImageCache, ImageCache
from studio.core.datasets.importer import ImportDataset, dataset_folder
from studio.core.datasets.text_cache import BuildTextCache, TextCache, text_cache_folder
from studio.core.jobs import JobContext, JobError, run_job


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _build(job) -> tuple[dict, list[str]]:
    messages: list[str] = []
    result = run_job(job, JobContext(on_progress=lambda fraction, message: messages.append(message)))
    return result, messages


@pytest.fixture
def text_dataset(tmp_path) -> Path:
    source = tmp_path / "texts"
    source.mkdir()
    for i in range(6):
        (source / f"t{i}.txt").write_text(f"Paragraph {i}: the quick brown fox jumps.\n" * 20, encoding="utf-8")
    run_job(ImportDataset(tmp_path / "P", "copy", [source], kind="text", workers=1))
    return dataset_folder(tmp_path / "P", "copy")


@pytest.fixture
def image_dataset(tmp_path) -> Path:
    source = tmp_path / "pics"
    source.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(source / f"p{i}.png")
    run_job(ImportDataset(tmp_path / "P", "pics", [source], kind="image", workers=1))
    return dataset_folder(tmp_path / "P", "pics")


@pytest.fixture
def audio_dataset(tmp_path) -> Path:
    source = tmp_path / "voice"
    source.mkdir()
    for i in range(2):
        t = np.arange(int(0.8 * 22050)) / 22050
        soundfile.write(
            source / f"c{i}.wav",
            (0.3 * np.sin(2 * np.pi * 220 * (i + 1) * t)).astype(np.float32),
            22050,
            subtype="PCM_16",
        )
    run_job(ImportDataset(tmp_path / "P", "voice", [source], kind="audio", workers=1))
    return dataset_folder(tmp_path / "P", "voice")


# -- text ------------------------------------------------------------------------------------------------------------
def test_a_truncated_train_bin_is_rebuilt_and_opens_again(text_dataset):
    run_job(BuildTextCache(text_dataset, "char"))
    good = np.array(TextCache.open(text_dataset, "char").train)
    train_bin = text_cache_folder(text_dataset, "char") / "train.bin"
    _truncate(train_bin)

    with pytest.raises(JobError, match="damaged") as caught:
        TextCache.open(text_dataset, "char")
    assert "train.bin" in str(caught.value) and "mmap" not in str(caught.value)

    result, messages = _build(BuildTextCache(text_dataset, "char"))
    assert result["up_to_date"] is False and "train.bin" in result["damaged"]
    assert any("damaged" in m and "rebuilding" in m for m in messages)
    assert np.array_equal(np.array(TextCache.open(text_dataset, "char").train), good)
    assert run_job(BuildTextCache(text_dataset, "char"))["up_to_date"] is True


@pytest.mark.parametrize(
    "damage",
    [
        "padded val.bin",
        "sidecar not json",
        "sidecar lies",
        "tokenizer not json",
        "bad dtype",
        "token past the vocabulary",
        "tokenizer of another size",
    ],
)
def test_other_text_damage_is_noticed(text_dataset, damage):
    run_job(BuildTextCache(text_dataset, "char"))
    folder = text_cache_folder(text_dataset, "char")
    sidecar = folder / "cache.json"
    if damage == "padded val.bin":
        (folder / "val.bin").write_bytes((folder / "val.bin").read_bytes() + b"\0\0")
    elif damage == "sidecar not json":
        sidecar.write_text(sidecar.read_text()[:40])
    elif damage == "sidecar lies":
        info = json.loads(sidecar.read_text())
        sidecar.write_text(json.dumps({**info, "train_tokens": info["train_tokens"] * 1000}))
    elif damage == "tokenizer not json":
        (folder / "tokenizer.json").write_text("{")
    elif damage == "token past the vocabulary":
        tokens = np.fromfile(folder / "train.bin", dtype=np.uint16)
        tokens[3] = 60000
        tokens.tofile(folder / "train.bin")
    elif damage == "tokenizer of another size":
        tokenizer = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
        tokenizer["chars"] = tokenizer["chars"][:-1]
        (folder / "tokenizer.json").write_text(json.dumps(tokenizer), encoding="utf-8")
    else:
        info = json.loads(sidecar.read_text())
        sidecar.write_text(json.dumps({**info, "dtype": "object"}))
    if damage != "sidecar not json":  # an unparsable sidecar simply means "no cache"
        assert cache_problem(folder / "cache.json") is not None
        with pytest.raises(JobError, match="damaged"):
            TextCache.open(text_dataset, "char")
    result = run_job(BuildTextCache(text_dataset, "char"))
    assert result["up_to_date"] is False and result["damaged"]
    assert len(TextCache.open(text_dataset, "char").train) > 0


# -- images ----------------------------------------------------------------------------------------------------------
def test_a_truncated_image_cache_is_rebuilt_and_opens_again(image_dataset):
    run_job(BuildImageCache(image_dataset, 32))
    good = np.array(ImageCache.open(image_dataset, 32).images)
    pixels = image_dataset / "cache" / "images_32_crop.u8"
    _truncate(pixels, 0.3)

    assert not ImageCache.is_current(image_dataset, 32)
    with pytest.raises(JobError, match="damaged"):
        ImageCache.open(image_dataset, 32)

    result, messages = _build(BuildImageCache(image_dataset, 32))
    assert result["up_to_date"] is False and "images_32_crop.u8" in result["damaged"]
    assert any("damaged" in m for m in messages)
    assert np.array_equal(np.array(ImageCache.open(image_dataset, 32).images), good)


@pytest.mark.parametrize("damage", ["npz garbage", "labels out of range", "shape lies"])
def test_other_image_damage_is_noticed(image_dataset, damage):
    run_job(BuildImageCache(image_dataset, 32))
    stem = image_dataset / "cache" / "images_32_crop"
    if damage == "npz garbage":
        stem.with_suffix(".npz").write_bytes(b"PK\x03\x04 not really a zip")
    elif damage == "labels out of range":
        buffer = stem.with_suffix(".npz")
        with np.load(buffer) as data:
            split = data["split"]
        np.savez(buffer, labels=np.full(len(split), 99, np.int64), split=split)
    else:
        info = json.loads(stem.with_suffix(".json").read_text())
        info["shape"] = [len(info["ids"]) * 2, 32, 32, 3]
        stem.with_suffix(".json").write_text(json.dumps(info))
    with pytest.raises(JobError, match="damaged"):
        ImageCache.open(image_dataset, 32)
    assert run_job(BuildImageCache(image_dataset, 32))["up_to_date"] is False
    assert len(ImageCache.open(image_dataset, 32)) == 6


# -- audio -----------------------------------------------------------------------------------------------------------
def test_a_truncated_mel_file_is_rebuilt(audio_dataset):
    run_job(BuildAudioCache(audio_dataset))
    frames = AudioCache.open(audio_dataset).info["frames"]
    _truncate(audio_cache_folder(audio_dataset, 22050, 80, 256) / "mels.f16")
    with pytest.raises(JobError, match="damaged"):
        AudioCache.open(audio_dataset)
    result = run_job(BuildAudioCache(audio_dataset))
    assert result["up_to_date"] is False and "mels.f16" in result["damaged"]
    assert AudioCache.open(audio_dataset).mels.shape == (frames, 80)


def test_an_audio_index_that_does_not_add_up_is_rebuilt(audio_dataset):
    run_job(BuildAudioCache(audio_dataset))
    index = audio_cache_folder(audio_dataset, 22050, 80, 256) / "index.npz"
    with np.load(index) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["mel_offsets"] = arrays["mel_offsets"][::-1].copy()  # runs backwards
    np.savez(index, **arrays)
    with pytest.raises(JobError, match="damaged"):
        AudioCache.open(audio_dataset)
    assert run_job(BuildAudioCache(audio_dataset))["up_to_date"] is False
    assert len(AudioCache.open(audio_dataset)) == 2


def test_an_absurd_sample_rate_in_the_manifest_is_refused(audio_dataset):
    manifest = json.loads((audio_dataset / "manifest.json").read_text(encoding="utf-8"))
    manifest["options"]["sample_rate"] = 10**9
    (audio_dataset / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(JobError, match="sample rate"):
        run_job(BuildAudioCache(audio_dataset))


# -- tokenizer files -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data",
    [
        [],
        {"format": "something else"},
        {"format": tokenizers.FORMAT, "kind": "virus"},
        {"format": tokenizers.FORMAT, "kind": "char", "chars": "abc"},
        {"format": tokenizers.FORMAT, "kind": "char", "chars": ["ab", "c"]},
        {"format": tokenizers.FORMAT, "kind": "char", "chars": ["a", "a"]},
        {"format": tokenizers.FORMAT, "kind": "char", "chars": [1, 2]},
    ],
)
def test_a_malformed_tokenizer_is_a_plain_value_error(data):
    with pytest.raises(ValueError):
        tokenizers.from_json(data)


def test_an_oversized_tokenizer_file_is_refused_unread(tmp_path):
    big = tmp_path / "tokenizer.json"
    with open(big, "wb") as handle:
        handle.truncate(tokenizers.MAX_FILE_BYTES + 1)  # sparse: no disk space used, nothing to parse
    with pytest.raises(ValueError, match="larger than"):
        tokenizers.load(big)
