"""Defaults that follow the data (studio.core.training.suggest): datasets imported with the real importer, caches
built with the real cache job, and facts made by hand for the edges. No torch, no Qt."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from studio.core.datasets.image_cache import BuildImageCache
from studio.core.datasets.importer import ImportDataset, dataset_folder
from studio.core.datasets.manifest import Manifest
from studio.core.jobs import JobError, run_job
from studio.core.training import families
from studio.core.training.suggest import (
    CHAR_TOKENIZER_MAX_CHARS,
    DatasetFacts,
    image_cache_resolution,
    read_facts,
    suggest,
)


def _pictures(source: Path, labels: tuple[str, ...], side: int, count: int = 4) -> None:
    rng = np.random.default_rng(side)
    for label in labels:
        (source / label).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            Image.fromarray(rng.integers(0, 256, (side, side + 8, 3), dtype=np.uint8)).save(source / label / f"{i}.png")


def _import(tmp_path: Path, name: str, source: Path, kind: str) -> Path:
    run_job(ImportDataset(tmp_path / "Project", name, [source], kind=kind, workers=1))
    return dataset_folder(tmp_path / "Project", name)


def _age(path: Path, seconds_ago: float) -> None:
    """Sidecars written in the same second would tie on mtime; the tests say which one is newer."""
    stamp = path.stat().st_mtime - seconds_ago
    os.utime(path, (stamp, stamp))


def test_the_module_imports_neither_torch_nor_qt():
    code = "import sys, studio.core.training.suggest; print('torch' in sys.modules, 'PySide6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_pictures_in_two_classes_with_a_32px_cache_suggest_the_conditional_gan_at_32px(tmp_path):
    _pictures(tmp_path / "drop", ("cats", "dogs"), side=40)
    folder = _import(tmp_path, "pets", tmp_path / "drop", "image")
    run_job(BuildImageCache(folder, resolution=32, workers=1))
    facts = read_facts(folder)
    assert facts == DatasetFacts(kind="image", items=8, classes=2, cache_resolution=32, typical_side=40)
    # the table lists the reference autoencoder first: it is a test model, never the suggestion
    assert next(s.id for s in families.available() if "image" in s.kinds) == "reference"
    suggestion = suggest(facts)
    assert suggestion.family == "lightweight_gan"  # 8 pictures: the GAN made for small sets (its record says so)
    assert suggestion.settings == {"resolution": 32, "conditional": True}
    assert any("cache" in reason for reason in suggestion.reasons)


def test_one_class_is_unconditional_and_without_a_cache_the_pictures_size_caps_the_resolution(tmp_path):
    _pictures(tmp_path / "small", ("logos",), side=40)
    small = read_facts(_import(tmp_path, "small", tmp_path / "small", "image"))
    assert small.classes == 1 and small.cache_resolution is None and small.typical_side == 40
    assert suggest(small).settings == {"resolution": 32, "conditional": False}  # 40 px pictures fill 32, not 64
    big = replace(small, typical_side=900)
    chosen = families.spec(str(suggest(big).family))
    assert suggest(big).settings["resolution"] == chosen.defaults["resolution"]  # not blown up
    tiny = replace(small, typical_side=12)
    assert suggest(tiny).settings["resolution"] == min(chosen.resolutions)
    # the VAE gets the same data-driven settings: the rule reads the family's keys, not its id
    settings = suggest(replace(small, cache_resolution=128), [families.spec("vae")]).settings
    assert settings == {"resolution": 128, "conditional": False}


def test_the_current_cache_wins_over_a_newer_stale_one(tmp_path):
    _pictures(tmp_path / "drop", ("a", "b"), side=40)
    folder = _import(tmp_path, "pics", tmp_path / "drop", "image")
    run_job(BuildImageCache(folder, resolution=32, workers=1))
    _age(folder / "cache" / "images_32_crop.json", 60)
    manifest = Manifest.load(folder)
    manifest.exclude([manifest.usable()[0]["id"]], "exclude")
    manifest.save()
    run_job(BuildImageCache(folder, resolution=64, workers=1))  # the newest, current for the reduced set
    assert read_facts(folder).cache_resolution == 64
    manifest = Manifest.load(folder)
    manifest.undo()  # back to every picture: the 32 px cache is current again, the newer 64 px one stale
    manifest.save()
    assert read_facts(folder).cache_resolution == 32
    assert image_cache_resolution(folder) == 64  # without the manifest's fingerprint: the newest


def test_damaged_or_foreign_cache_sidecars_are_ignored(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "images_32_crop.json").write_text("{not json")
    (cache / "images_64_crop.json").write_text(json.dumps(["a", "list"]))
    (cache / "images_128_crop.json").write_text(json.dumps({"kind": "text", "params": {"resolution": 128}}))
    (cache / "images_256_crop.json").write_text(json.dumps({"kind": "image", "params": {"resolution": "256"}}))
    assert image_cache_resolution(tmp_path) is None
    (cache / "images_64_pad.json").write_text(json.dumps({"kind": "image", "params": {"resolution": 64}}))
    assert image_cache_resolution(tmp_path) == 64


def test_a_few_pages_of_copy_suggest_the_character_gpt_and_a_large_corpus_bpe(tmp_path):
    source = tmp_path / "copy"
    source.mkdir()
    for i in range(3):
        (source / f"ad{i}.txt").write_text(f"Fresh coffee every Monday, offer {i}. 新鲜咖啡！\n" * 20, encoding="utf-8")
    facts = read_facts(_import(tmp_path, "copy", source, "text"))
    assert facts.kind == "text" and facts.items == 3
    assert facts.characters == 3 * 20 * len("Fresh coffee every Monday, offer 0. 新鲜咖啡！\n")  # characters, not bytes
    suggestion = suggest(facts)
    assert suggestion.family == "gpt" and suggestion.settings == {"tokenizer": "char"}
    assert suggest(replace(facts, characters=CHAR_TOKENIZER_MAX_CHARS)).settings == {"tokenizer": "bpe"}
    assert suggest(replace(facts, characters=None)).settings == {}  # unknown size: the family's own default


def _tone(path: Path, hz: float) -> None:
    t = np.arange(22050) / 22050
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), 22050, subtype="PCM_16")


def test_transcribed_clips_suggest_a_voice_and_untranscribed_ones_a_vocoder(tmp_path):
    voice, hum = tmp_path / "voice", tmp_path / "hum"
    for source, transcribed in ((voice, 3), (hum, 1)):
        source.mkdir()
        for i in range(4):
            _tone(source / f"clip{i}.wav", 220 + 40 * i)
        lines = [f"clip{i}|Sentence number {i}." for i in range(transcribed)]
        (source / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    voice_facts = read_facts(_import(tmp_path, "voice", voice, "audio"))
    hum_facts = read_facts(_import(tmp_path, "hum", hum, "audio"))
    assert (voice_facts.items, voice_facts.transcribed) == (4, 3)
    assert (hum_facts.items, hum_facts.transcribed) == (4, 1)
    assert suggest(voice_facts).family == "tts"
    assert suggest(hum_facts).family == "vocoder"
    assert suggest(replace(voice_facts, transcribed=2)).family == "vocoder"  # half is not most
    assert suggest(replace(voice_facts, items=0, transcribed=0)).family == "vocoder"


def test_the_table_decides_what_is_offered():
    facts = DatasetFacts(kind="image", items=10, classes=1, cache_resolution=32)
    reference = families.spec("reference")
    only_test_models = suggest(facts, [reference])
    assert only_test_models.family == "reference" and only_test_models.settings == {}  # it has no size choice
    assert suggest(facts, [families.spec("gpt")]).family is None
    assert "No model trains on image datasets" in suggest(facts, []).reasons[0]


def test_an_unreadable_manifest_is_a_plain_error(tmp_path):
    (tmp_path / "manifest.json").write_text("{broken")
    with pytest.raises(JobError, match="cannot be read"):
        read_facts(tmp_path)
