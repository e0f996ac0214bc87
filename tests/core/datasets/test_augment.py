"""DiffAugment ops: shapes kept, gradients flow, deterministic with a generator, and each op does what its
name says (flip flips, cutout zeroes a square, translation shifts with a zero border)."""

import numpy as np
import pytest
import torch

from studio.core.datasets import augment as aug


def batch(n=8, size=16, seed=0) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "flip", aug.DEFAULT_POLICY])
def test_shape_and_dtype_are_kept_and_the_input_is_untouched(policy):
    x = batch()
    before = x.clone()
    y = aug.augment(x, policy, torch.Generator().manual_seed(1))
    assert y.shape == x.shape and y.dtype == x.dtype
    assert torch.equal(x, before)


def test_gradients_flow_through_every_op():
    x = batch().requires_grad_(True)
    y = aug.augment(x, aug.DEFAULT_POLICY, torch.Generator().manual_seed(2))
    (y * torch.linspace(0, 1, y.numel()).view_as(y)).sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape and x.grad.abs().sum() > 0


def test_same_seed_same_output_other_seed_other_output():
    x = batch()
    a = aug.augment(x, generator=torch.Generator().manual_seed(7))
    b = aug.augment(x, generator=torch.Generator().manual_seed(7))
    c = aug.augment(x, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_hflip_mirrors_only_the_chosen_images():
    x = batch(2)
    y = aug.hflip(x, torch.tensor([True, False]))
    assert torch.equal(y[0], x[0].flip(-1)) and torch.equal(y[1], x[1])
    assert torch.equal(y[0, :, :, 0], x[0, :, :, -1])


def test_random_flip_is_either_identity_or_mirror_and_both_happen():
    x = batch(64)
    y = aug.flip(x, torch.Generator().manual_seed(0))
    flipped = [bool(torch.equal(y[i], x[i].flip(-1))) for i in range(64)]
    kept = [bool(torch.equal(y[i], x[i])) for i in range(64)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True)) and any(flipped) and any(kept)


def test_translate_moves_content_and_fills_the_border_with_zero():
    x = batch(1)
    y = aug.translate(x, shift_x=torch.tensor([2]), shift_y=torch.tensor([-1]))  # right 2, up 1
    assert torch.equal(y[0, :, :-1, 2:], x[0, :, 1:, :-2])
    assert (y[0, :, :, :2] == 0).all() and (y[0, :, -1, :] == 0).all()


def test_random_translation_is_a_shift_within_the_ratio():
    x = batch(6, size=16)
    y = aug.translation(x, ratio=0.125, generator=torch.Generator().manual_seed(3))  # up to 2 px
    for i in range(6):
        matches = [
            (sx, sy)
            for sx in range(-2, 3)
            for sy in range(-2, 3)
            if torch.equal(y[i : i + 1], aug.translate(x[i : i + 1], torch.tensor([sx]), torch.tensor([sy])))
        ]
        assert matches, f"image {i} is not a shift of its input"


def test_erase_zeroes_exactly_the_rectangle():
    x = torch.ones(1, 3, 10, 10)
    y = aug.erase(x, top=torch.tensor([2]), left=torch.tensor([3]), height=4, width=5)
    assert (y[0, :, 2:6, 3:8] == 0).all() and y.sum() == 3 * (100 - 20)


def test_cutout_zeroes_one_square_per_image():
    x = torch.ones(16, 3, 16, 16)
    y = aug.cutout(x, ratio=0.5, generator=torch.Generator().manual_seed(4))
    for image in y:
        holes = (image == 0).all(dim=0)
        rows, cols = torch.nonzero(holes, as_tuple=True)
        assert 0 < holes.sum() <= 64  # an 8×8 square, possibly partly outside the image
        box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        assert box == holes.sum()  # the zeros form one solid rectangle
        assert (image[:, ~holes] == 1).all()


def test_colour_jitter_keeps_geometry_and_brightness_is_one_offset_per_image():
    x = batch(4)
    delta = aug.brightness(x, torch.Generator().manual_seed(5)) - x
    per_image = delta.flatten(1)
    assert torch.allclose(per_image, per_image[:, :1].expand_as(per_image), atol=1e-6)
    assert (per_image.abs() <= 0.5).all()
    y = aug.color(x, torch.Generator().manual_seed(5))
    assert y.shape == x.shape and not torch.equal(y, x)


def test_unknown_policy_names_are_refused():
    with pytest.raises(ValueError, match="blur"):
        aug.augment(batch(), "color,blur")
    x = batch()
    assert aug.augment(x, "") is x


def test_preview_grid_is_uint8_nhwc_and_reproducible():
    images = np.random.default_rng(0).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    grid = aug.preview_grid(images, "color,translation,cutout,flip", seed=9, n=8)
    assert grid.shape == (8, 16, 16, 3) and grid.dtype == np.uint8
    assert np.array_equal(grid, aug.preview_grid(images, "color,translation,cutout,flip", seed=9, n=8))
    plain = aug.preview_grid(images, "", seed=9, n=5)
    assert np.array_equal(plain, images[[0, 1, 2, 0, 1]])  # exact uint8 round trip, images cycled


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_batch_with_a_cpu_generator_matches_the_cpu_result():
    x = batch()
    on_cpu = aug.augment(x, generator=torch.Generator().manual_seed(3))
    on_gpu = aug.augment(x.cuda(), generator=torch.Generator().manual_seed(3))
    assert torch.allclose(on_gpu.cpu(), on_cpu, atol=1e-5)
