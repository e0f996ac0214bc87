"""The offline quality scores rank pictures the way a person would: real pictures of the same kind score
best, blurred ones worse, noise worst; a collapsed generator (one picture over and over) keeps precision but
loses recall; and the numbers are exactly repeatable."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from studio.core.quality import FEATURE_SIZE, quality_scores


def shapes(count: int, seed: int, size: int = 48) -> torch.Tensor:
    """Coloured discs and squares on coloured backgrounds, (N, 3, size, size) in [-1, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    pictures = np.empty((count, size, size, 3), np.float32)
    for i in range(count):
        pictures[i] = rng.uniform(-1, 1, 3)
        cx, cy, r = [*rng.uniform(size * 0.3, size * 0.7, 2).tolist(), rng.uniform(size * 0.12, size * 0.3)]
        mask = ((xx - cx) ** 2 + (yy - cy) ** 2 < r * r) if i % 2 else ((abs(xx - cx) < r) & (abs(yy - cy) < r))
        pictures[i][mask] = rng.uniform(-1, 1, 3)
    return torch.from_numpy(pictures).permute(0, 3, 1, 2).contiguous()


def blurred(images: torch.Tensor) -> torch.Tensor:
    small = F.interpolate(images, scale_factor=0.25, mode="bilinear", antialias=True)
    return F.interpolate(small, size=images.shape[-2:], mode="bilinear")


@pytest.fixture(scope="module")
def real():
    return shapes(96, seed=1)


@pytest.fixture(scope="module")
def held_out():
    return shapes(96, seed=2)


def test_a_set_against_itself_scores_perfectly(real):
    scores = quality_scores(real, real)
    assert abs(scores["fid"]) < 0.01 and scores["precision"] == 1.0 and scores["recall"] == 1.0
    assert abs(scores["kid"]) < 0.1 * quality_scores(real, blurred(real))["kid"]  # unbiased: ~0 give or take


def test_scores_rank_real_then_blurred_then_noise(real, held_out):
    same_kind = quality_scores(real, held_out)
    blurry = quality_scores(real, blurred(held_out))
    noise = quality_scores(real, torch.rand_like(held_out, generator=None) * 2 - 1)
    assert same_kind["kid"] < blurry["kid"] < noise["kid"]
    assert same_kind["fid"] < blurry["fid"] < noise["fid"]
    assert same_kind["precision"] > 0.5 and noise["precision"] < 0.1
    assert blurry["fid"] > 5 * same_kind["fid"]  # a 4× blur is not a near miss: it is far from real


def test_mode_collapse_keeps_precision_but_loses_recall(real, held_out):
    collapsed = held_out[:1].repeat(len(held_out), 1, 1, 1) + 0.01 * torch.randn(
        held_out.shape, generator=torch.Generator().manual_seed(0)
    )
    varied = quality_scores(real, held_out)
    one = quality_scores(real, collapsed)
    assert one["recall"] < 0.2 < varied["recall"]
    assert one["kid"] > varied["kid"]


def test_scores_are_repeatable_and_resolution_independent(real, held_out):
    assert quality_scores(real, held_out) == quality_scores(real, held_out)
    small = quality_scores(F.interpolate(real, size=32, mode="area"), F.interpolate(held_out, size=32, mode="area"))
    noise = quality_scores(F.interpolate(real, size=32, mode="area"), torch.rand(96, 3, 32, 32) * 2 - 1)
    assert small["kid"] < noise["kid"] and FEATURE_SIZE == 64


def test_too_few_pictures_are_refused_in_words(real):
    with pytest.raises(ValueError, match="at least two"):
        quality_scores(real[:1], real)
