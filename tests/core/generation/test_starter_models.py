"""Starter models: the ones shipped in models/ load and generate with the normal code, and a run becomes a
starter model with only what generation needs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from generation_helpers import make_run
from safetensors.torch import load_file, save_file

from studio.core.generation import image_model, starter, text_model
from studio.core.generation.image_jobs import GenerateGrid
from studio.core.generation.run_models import starter_folders
from studio.core.generation.sampling import SamplingSettings
from studio.core.generation.text_jobs import GenerateText
from studio.core.jobs import JobError, run_job
from studio.core.project import create_project
from studio.paths import models_dir

SHIPPED = {"starter-shapes": "gan", "starter-shakespeare": "gpt"}
CARD_KEYS = {
    "title",
    "description",
    "data",
    "data_licence",
    "licence",
    "trained_with",
    "retrain",
    "family",
    "parameters",
    "trained_steps",
    "final_metrics",
    "bytes",
}


def test_every_shipped_starter_model_has_a_card_and_stays_small():
    names = {folder.name: folder for folder in starter_folders()}
    assert set(SHIPPED) <= set(names)
    for name, kind in SHIPPED.items():
        folder = names[name]
        card = starter.read_card(folder)
        assert set(card) >= CARD_KEYS, f"{name}: card lacks {CARD_KEYS - set(card)}"
        assert card["kind"] == kind and card["retrain"].startswith("python packaging/make_starter_models.py")
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and p.name != starter.CARD)
        assert size == card["bytes"] and size + len(json.dumps(card)) < starter.MAX_BYTES
        weights = list((folder / "checkpoints").glob("*.safetensors"))
        assert len(weights) == 1 and not list(folder.rglob("*.state.pt"))  # no training state shipped


def test_the_starter_gan_draws_each_of_its_classes(tmp_path):
    project = create_project(tmp_path / "P").root
    folder = image_model.resolve_run(project, "starter-shapes")
    assert folder == models_dir() / "starter-shapes"
    grids = [
        run_job(GenerateGrid(folder, None, seed=5, count=4, class_name=name))["images"]
        for name in ("circle", "square", "triangle")
    ]
    for images in grids:
        assert images.shape == (4, 32, 32, 3) and images.dtype == np.uint8
        assert images.std() > 10  # pictures, not a flat colour
    assert not np.array_equal(grids[0], grids[1])


def test_the_starter_writer_writes(tmp_path):
    project = create_project(tmp_path / "P").root
    folder = text_model.resolve_text_run(project, "starter-shakespeare")
    settings = SamplingSettings(max_tokens=60, seed=1, temperature=0.8)
    result = run_job(GenerateText(folder, "ROMEO:", settings))
    text = result["texts"][0]
    assert len(text) >= 40 and sum(ch.isalpha() for ch in text) > 20
    assert run_job(GenerateText(folder, "ROMEO:", settings))["texts"][0] == text  # seeded: the same again


def test_a_run_becomes_a_starter_model_with_only_the_generator(tmp_path, monkeypatch):
    project = tmp_path / "P"
    run = make_run(project, "20260101-000001-gan", "gan", classes=("a", "b"), steps=(10, 20))
    stem = run / "checkpoints" / "step-000020"
    weights = load_file(str(stem.with_suffix(".safetensors")))
    weights["discriminator.conv.weight"] = torch.ones(4, 4)
    save_file(weights, str(stem.with_suffix(".safetensors")))
    torch.save({"optimizer": {}}, stem.with_suffix(".state.pt"))
    (run / "metrics.jsonl").write_text('{"step": 10}\n')

    models = tmp_path / "models"
    card = starter.export_starter(run, models / "starter-test", {"data": "drawn", "licence": "MIT"})
    target = models / "starter-test"
    assert card["trained_steps"] == 20 and card["weights"] == "EMA" and card["data"] == "drawn"
    assert json.loads((target / "model_card.json").read_text())["bytes"] == card["bytes"]
    kept = load_file(str(target / "checkpoints" / "step-000020.safetensors"))
    assert kept and all(key.startswith("ema.generator.") for key in kept)
    assert sorted(p.name for p in target.rglob("*") if p.is_file()) == [
        "config.json",
        "model_card.json",
        "step-000020.json",
        "step-000020.safetensors",
    ]

    monkeypatch.setattr("studio.paths.models_dir", lambda: models)
    folder = image_model.resolve_run(project, "starter-test")
    assert folder == target
    original = run_job(GenerateGrid(run, 20, seed=3, count=2, class_name="b"))["images"]
    shipped = run_job(GenerateGrid(folder, None, seed=3, count=2, class_name="b"))["images"]
    assert np.array_equal(original, shipped)  # the same pictures as the run's own EMA generator


def test_exporting_a_model_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    run = make_run(tmp_path / "P", "20260101-000001-gan", "gan")
    monkeypatch.setattr(starter, "MAX_BYTES", 1000)
    with pytest.raises(JobError, match="over the"):
        starter.export_starter(run, tmp_path / "models" / "big", {})
