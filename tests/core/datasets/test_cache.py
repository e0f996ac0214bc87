"""Training caches: images (memmap geometry, labels, split, batches), text (tokenizer round trips, token
bins), audio (mel frames, phonemes), atomic rebuilds and staleness. Tiny synthetic datasets, a few seconds."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image

from studio.core.datasets import phonemes
from studio.core.datasets.audio_cache import AudioCache, BuildAudioCache
from studio.core.datasets.cache_common import manifest_fingerprint, token_dtype
from studio.core.datasets.image_cache import BuildImageCache, ImageCache, load_square
from studio.core.datasets.importer import ImportDataset, dataset_folder
from studio.core.datasets.manifest import Manifest
from studio.core.datasets.split import assign_split
from studio.core.datasets.text_cache import BuildTextCache, TextCache, text_cache_folder
from studio.core.datasets.tokenizers import BPETokenizer, CharTokenizer, load
from studio.core.jobs import Cancelled, JobContext, JobError, run_job

RED = (255, 0, 0)


# -- fixtures ------------------------------------------------------------------------------------------------------
def noise_png(path: Path, seed: int, size=(48, 40)) -> None:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)


def three_bands(width=200, height=100) -> np.ndarray:
    """Green left quarter, red middle half, blue right quarter."""
    array = np.zeros((height, width, 3), np.uint8)
    array[:, : width // 4] = (0, 255, 0)
    array[:, width // 4 : 3 * width // 4] = RED
    array[:, 3 * width // 4 :] = (0, 0, 255)
    return array


@pytest.fixture
def image_dataset(tmp_path) -> Path:
    """Two classes of 10 noise images each (so both get a validation item), plus a pure red image."""
    source = tmp_path / "drop"
    for i in range(10):
        noise_png(source / "cat" / f"c{i}.png", seed=i)
        noise_png(source / "dog" / f"d{i}.png", seed=100 + i)
    Image.new("RGB", (64, 48), RED).save(source / "cat" / "red.png")
    run_job(ImportDataset(tmp_path / "P", "pics", [source], kind="image", workers=1))
    return dataset_folder(tmp_path / "P", "pics")


def entry_index(folder: Path, source_name: str) -> int:
    usable = Manifest.load(folder).usable()
    return next(i for i, e in enumerate(usable) if e["source"].endswith(source_name))


# -- images --------------------------------------------------------------------------------------------------------
def test_image_cache_matches_the_manifest(image_dataset):
    result = run_job(BuildImageCache(image_dataset, resolution=32, fit="crop"))
    assert result["count"] == 21 and result["unreadable"] == 0
    cache = ImageCache.open(image_dataset, 32, "crop")
    usable = Manifest.load(image_dataset).usable()

    assert isinstance(cache.images, np.memmap) and cache.images.dtype == np.uint8
    assert cache.images.shape == (21, 32, 32, 3) and not cache.images.flags.writeable
    assert (image_dataset / "cache" / "images_32_crop.u8").stat().st_size == 21 * 32 * 32 * 3
    assert cache.classes == ["cat", "dog"]
    assert cache.labels.dtype == np.int64
    assert [cache.classes[i] for i in cache.labels] == [e["label"] for e in usable]
    assert cache.ids == [e["id"] for e in usable]
    assert cache.val_indices.tolist() == [i for i, e in enumerate(usable) if e["split"] == "val"]
    assert cache.train_indices.tolist() == [i for i, e in enumerate(usable) if e["split"] == "train"]
    assert len(cache.val_indices) == 2  # one per class
    red = cache.images[entry_index(image_dataset, "red.png")]
    assert np.abs(red.astype(int) - RED).max() <= 1


def test_batch_is_nchw_in_minus_one_to_one(image_dataset):
    run_job(BuildImageCache(image_dataset, resolution=32))
    cache = ImageCache.open(image_dataset, 32)
    picks = [3, 0, 7]
    x = cache.batch(picks, device="cpu")
    assert x.shape == (3, 3, 32, 32) and x.dtype == torch.float32 and x.is_contiguous()
    assert x.min() >= -1.0 and x.max() <= 1.0
    expected = torch.from_numpy(cache.images[picks].astype(np.float32) / 127.5 - 1.0).permute(0, 3, 1, 2)
    assert torch.allclose(x, expected, atol=1e-6)
    red = cache.batch([entry_index(image_dataset, "red.png")])[0]
    assert torch.allclose(red[:, 5, 5], torch.tensor([1.0, -1.0, -1.0]), atol=0.01)
    cache.preload("cpu")
    assert torch.equal(cache.batch(picks), x)
    assert cache.batch(picks, channels_last=True).is_contiguous(memory_format=torch.channels_last)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_batch_and_preload_on_cuda(image_dataset):
    run_job(BuildImageCache(image_dataset, resolution=32))
    cache = ImageCache.open(image_dataset, 32)
    on_gpu = cache.batch(torch.tensor([1, 2]), device="cuda")
    assert on_gpu.is_cuda and torch.equal(on_gpu.cpu(), cache.batch([1, 2]))
    cache.preload("cuda")
    assert torch.equal(cache.batch(torch.tensor([1, 2], device="cuda"), device="cuda"), on_gpu)


def test_crop_fills_the_square_and_pad_keeps_the_whole_width(tmp_path):
    Image.fromarray(three_bands()).save(tmp_path / "wide.png")
    crop = load_square(tmp_path / "wide.png", 32, "crop").astype(int)
    assert (crop[..., 0] >= 200).all() and (crop[..., 1:] <= 20).all()  # only the red middle survives
    pad = load_square(tmp_path / "wide.png", 32, "pad", background=(255, 255, 255)).astype(int)
    assert (pad[:8] == 255).all() and (pad[24:] == 255).all()  # 200×100 -> 32×16 content, centred
    assert (pad[8:24, 0] == (0, 255, 0)).all() and (pad[8:24, 31] == (0, 0, 255)).all()  # both edges kept
    assert (pad[8:24, 16] == RED).all()


def test_draft_decoded_jpeg_matches_a_full_decode(tmp_path):
    rng = np.random.default_rng(0)
    photo = np.kron(rng.integers(0, 256, (24, 32, 3)), np.ones((32, 32, 1))).astype(np.uint8)  # 1024×768 blocks
    Image.fromarray(photo).save(tmp_path / "photo.jpg", quality=90)
    fast = load_square(tmp_path / "photo.jpg", 64, "crop").astype(float)
    with Image.open(tmp_path / "photo.jpg") as full:
        side = 768
        reference = np.asarray(
            full.convert("RGB").resize((64, 64), Image.Resampling.LANCZOS, box=(128, 0, 128 + side, side))
        ).astype(float)
    assert np.abs(fast - reference).mean() < 4.0


def test_cache_is_reused_then_refused_when_stale(image_dataset):
    assert run_job(BuildImageCache(image_dataset, 32))["up_to_date"] is False
    assert run_job(BuildImageCache(image_dataset, 32))["up_to_date"] is True
    assert ImageCache.is_current(image_dataset, 32)
    manifest = Manifest.load(image_dataset)
    manifest.exclude([manifest.usable()[0]["id"]], "test")
    manifest.save()
    assert not ImageCache.is_current(image_dataset, 32)
    with pytest.raises(JobError, match="changed"):
        ImageCache.open(image_dataset, 32)
    assert len(ImageCache.open(image_dataset, 32, verify=False)) == 21  # still readable when asked
    run_job(BuildImageCache(image_dataset, 32))
    assert len(ImageCache.open(image_dataset, 32)) == 20
    (image_dataset / "cache" / "images_32_crop.u8").unlink()  # deleted by hand: no cache, not a crash
    assert not ImageCache.is_current(image_dataset, 32)
    assert run_job(BuildImageCache(image_dataset, 32))["up_to_date"] is False


def test_cancel_leaves_no_cache_and_no_temporary_files(image_dataset):
    ctx = JobContext(on_progress=lambda fraction, message: ctx.cancel() if fraction > 0 else None)
    with pytest.raises(Cancelled):
        run_job(BuildImageCache(image_dataset, 32), ctx)
    assert sorted(p.name for p in (image_dataset / "cache").iterdir()) == []
    with pytest.raises(JobError, match="no training cache"):
        ImageCache.open(image_dataset, 32)


def hand_made_dataset(folder: Path, count: int) -> None:
    """A manifest written directly (no import): many tiny items for the process-pool path."""
    manifest = Manifest(folder=folder, name="hand", kind="image")
    for i in range(count):
        noise_png(folder / "items" / f"{i:06d}.png", seed=i, size=(40, 30))
        manifest.entries.append(
            {
                "id": f"{i:06d}",
                "source": f"s{i}.png",
                "status": "ok",
                "sha256": str(i),
                "item": f"items/{i:06d}.png",
                "label": "ab"[i % 2],
            }
        )
    (folder / "items" / "000005.png").write_bytes(b"not a png")  # an item damaged after import
    assign_split(manifest)
    manifest.save()


def test_process_pool_gives_the_same_cache_and_survives_a_damaged_item(tmp_path):
    folder = tmp_path / "hand"
    hand_made_dataset(folder, 70)
    serial = run_job(BuildImageCache(folder, 32, fit="pad", workers=1))
    first = np.array(ImageCache.open(folder, 32, "pad").images)
    pooled = run_job(BuildImageCache(folder, 32, fit="pad", workers=2, force=True))
    cache = ImageCache.open(folder, 32, "pad")
    assert serial["unreadable"] == pooled["unreadable"] == 1
    assert np.array_equal(np.asarray(cache.images), first)
    assert cache.split[5] == -1 and 5 not in cache.train_indices and 5 not in cache.val_indices
    assert cache.info["unreadable"][0]["id"] == "000005"


def test_fingerprint_follows_split_and_labels(image_dataset):
    usable = Manifest.load(image_dataset).usable()
    before = manifest_fingerprint(usable)
    usable[0]["split"] = "val" if usable[0]["split"] == "train" else "train"
    assert manifest_fingerprint(usable) != before


def test_bad_parameters_are_refused(image_dataset):
    with pytest.raises(JobError):
        BuildImageCache(image_dataset, resolution=48)
    with pytest.raises(JobError):
        BuildImageCache(image_dataset, fit="stretch")
    with pytest.raises(JobError, match="image"):
        run_job(BuildTextCache(image_dataset))


# -- text ----------------------------------------------------------------------------------------------------------
TEXTS = [
    f"Paragraph {i}: the quick brown fox jumps over the lazy dog.\n中文测试{chr(0x4E00 + 37 * i)}，"
    f"emoji {chr(0x1F600 + i)}👍🏽 and e\u0301 café.\n"
    for i in range(10)
]


@pytest.fixture
def text_dataset(tmp_path) -> Path:
    source = tmp_path / "texts"
    source.mkdir()
    for i, text in enumerate(TEXTS):
        (source / f"t{i}.txt").write_text(text, encoding="utf-8")
    run_job(ImportDataset(tmp_path / "P", "copy", [source], kind="text", workers=1))
    return dataset_folder(tmp_path / "P", "copy")


def split_texts(folder: Path) -> tuple[list[str], list[str]]:
    usable = Manifest.load(folder).usable()
    read = [(folder / e["item"]).read_text(encoding="utf-8") for e in usable]
    return (
        [t for t, e in zip(read, usable, strict=True) if e["split"] == "train"],
        [t for t, e in zip(read, usable, strict=True) if e["split"] == "val"],
    )


@pytest.mark.parametrize("kind, vocab", [("char", 4096), ("bpe", 320)])
def test_text_cache_round_trips_train_and_val(text_dataset, kind, vocab):
    result = run_job(BuildTextCache(text_dataset, tokenizer=kind, vocab_size=vocab))
    cache = TextCache.open(text_dataset, kind, vocab)
    train, val = split_texts(text_dataset)
    assert len(val) == 1 and result["val_from_training_tail"] is False
    assert cache.info["dtype"] == "uint16" and cache.train.dtype == np.uint16 and isinstance(cache.val, np.memmap)
    folder = text_cache_folder(text_dataset, kind, vocab)
    assert (folder / "val.bin").stat().st_size == 2 * len(cache.val)
    assert cache.tokenizer.decode(cache.train.tolist()) == "".join(train)
    assert cache.tokenizer.decode(cache.val.tolist()) == "".join(val)  # unseen characters survive too
    assert int((cache.train == cache.tokenizer.eot_id).sum()) == len(train)  # one end-of-text per item
    assert cache.train.max() < cache.tokenizer.vocab_size


def test_char_tokenizer_learns_from_training_text_only(text_dataset):
    run_job(BuildTextCache(text_dataset, "char"))
    tokenizer = TextCache.open(text_dataset, "char").tokenizer
    train, val = split_texts(text_dataset)
    unseen = set(val[0]) - set("".join(train))
    assert unseen and not unseen & set(tokenizer.chars)  # val-only characters use the byte fallback


def test_one_long_text_gets_validation_from_its_tail(tmp_path):
    source = tmp_path / "novel"
    source.mkdir()
    text = "".join(f"Line {i} of the only chapter, 第{i}行.\n" for i in range(200))
    (source / "novel.txt").write_text(text, encoding="utf-8")
    run_job(ImportDataset(tmp_path / "P", "novel", [source], kind="text", workers=1))
    folder = dataset_folder(tmp_path / "P", "novel")
    result = run_job(BuildTextCache(folder, "char"))
    cache = TextCache.open(folder, "char")
    assert result["val_from_training_tail"] is True
    train, val = cache.tokenizer.decode(cache.train.tolist()), cache.tokenizer.decode(cache.val.tolist())
    assert train + val == text and val.startswith("Line ") and 0.05 < len(val) / len(text) < 0.15


def test_token_bins_switch_to_uint32_only_past_65536_ids():
    assert token_dtype(65536) == np.uint16 and token_dtype(65537) == np.uint32


@pytest.mark.parametrize("tokenizer_class", [CharTokenizer, BPETokenizer])
def test_tokenizers_round_trip_any_unicode_and_reload(tmp_path, tokenizer_class):
    corpus = ["The quick brown fox.\n", "你好，世界！", "naïve café 😀"] * 5
    tokenizer = CharTokenizer.fit(corpus) if tokenizer_class is CharTokenizer else BPETokenizer.train(corpus, 300)
    hard = "unseen 🦄👩‍👩‍👧 ᚠᛇᚻ e\u0301\u0302 \x00\t\r\n<|endoftext|> 𝔘𝔫𝔦 \U0010ffff 中文"
    for text in [*corpus, hard, ""]:
        ids = tokenizer.encode(text)
        assert tokenizer.decode(ids) == text
        assert tokenizer.eot_id not in ids and all(0 <= i < tokenizer.vocab_size for i in ids)
    tokenizer.save(tmp_path / "tok.json")
    again = load(tmp_path / "tok.json")
    assert type(again) is tokenizer_class and again.encode(hard) == tokenizer.encode(hard)
    assert json.loads((tmp_path / "tok.json").read_text(encoding="utf-8"))["kind"] == tokenizer_class.kind


# -- audio ---------------------------------------------------------------------------------------------------------
def tone(path: Path, seconds: float, freq: float, rate: int = 22050) -> None:
    t = np.arange(int(seconds * rate)) / rate
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate, subtype="PCM_16")


@pytest.fixture
def audio_dataset(tmp_path) -> Path:
    source = tmp_path / "voice"
    source.mkdir()
    for i in range(3):
        tone(source / f"clip{i}.wav", 0.75 + 0.25 * i, 220.0 * (i + 1))
    (source / "metadata.csv").write_text("clip0|Hello world, this is a test.\nclip1|A second line?\n", encoding="utf-8")
    run_job(ImportDataset(tmp_path / "P", "voice", [source], kind="audio", workers=1))
    return dataset_folder(tmp_path / "P", "voice")


def test_audio_cache_mels_clips_and_phonemes(audio_dataset):
    result = run_job(BuildAudioCache(audio_dataset))
    cache = AudioCache.open(audio_dataset)
    usable = Manifest.load(audio_dataset).usable()
    assert len(cache) == 3 and result["clips"] == 3
    assert cache.mels.dtype == np.float16 and cache.mels.shape[1] == 80 and cache.audio.dtype == np.int16
    for i, entry in enumerate(usable):
        clip = cache.clip(i)
        with soundfile.SoundFile(audio_dataset / entry["item"]) as f:
            assert len(clip) == f.frames
        assert cache.mel(i).shape == (len(clip) // 256, 80)
        assert np.isfinite(cache.mel(i)).all() and cache.mel(i).min() >= np.float16(np.log(1e-5))
        assert cache.has_transcript(i) == bool(entry.get("transcript"))
    transcribed = [i for i, e in enumerate(usable) if e.get("transcript")]
    assert len(transcribed) == 2
    assert all(len(cache.phoneme_ids(i)) > 0 for i in transcribed)
    assert cache.info["params"]["phonemizer"] == phonemes.phonemizer_name()
    louder = int(np.argmax(cache.mel(0).astype(np.float32).mean(axis=0)))
    assert louder < 20  # a 220 Hz tone lights up the low mel bands


def test_phonemes_with_espeak():
    if not phonemes.espeak_available():
        pytest.skip(f"espeak-ng not loadable here: {phonemes.espeak_error()}")
    ipa = phonemes.phonemize("Hello, world?")
    assert ipa.startswith("h") and "," in ipa and ipa.endswith("?") and "ˈ" in ipa
    ids = phonemes.phoneme_ids("Hello world")
    assert ids and phonemes.UNK_ID not in ids
    assert phonemes.ids_to_symbols(ids) == phonemes.phonemize("Hello world")
    with pytest.raises(ValueError):
        phonemes.phonemize("x", "no-such-language")


def test_character_fallback_when_espeak_is_missing(monkeypatch, audio_dataset):
    monkeypatch.setattr(phonemes, "_engine", lambda: None)
    assert phonemes.espeak_available() is False and phonemes.phonemizer_name() == "characters"
    assert phonemes.phonemize("  Hello,\n World ") == "hello, world"
    ids = phonemes.phoneme_ids("Hello")
    assert ids == [phonemes.SYMBOL_TO_ID[c] for c in "hello"]
    run_job(BuildAudioCache(audio_dataset))
    cache = AudioCache.open(audio_dataset)
    assert cache.info["params"]["phonemizer"] == "characters"
    assert cache.info["phonemes"][0] == "hello world, this is a test."
