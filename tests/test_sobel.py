"""The classic luminance-as-height method: orientation, conventions, detail, seamless borders."""

import numpy as np
import pytest

from normalgen import generate_normal_map
from normalgen.sobel import detail_weights, linear_luminance, sobel_normals
from normalgen.vectors import angular_error_deg


def hill_photo(size=41, sigma=6.0):
    y, x = np.mgrid[:size, :size] - size // 2
    g = np.exp(-(x**2 + y**2) / (2 * sigma**2))
    return np.repeat((0.1 + 0.8 * g)[..., None], 3, axis=-1).astype(np.float32)


def test_bright_hill_points_outward_in_opengl():
    n = sobel_normals(hill_photo(), detail=1.0)
    c = 20
    assert n[c, c + 5, 0] > 0.05 and n[c, c - 5, 0] < -0.05  # right of the peak leans right
    assert n[c - 5, c, 1] > 0.05 and n[c + 5, c, 1] < -0.05  # above the peak leans up (+Y up)
    assert abs(n[c, c, 0]) < 1e-3 and abs(n[c, c, 1]) < 1e-3


def test_directx_flips_green_and_strength_scales_slope():
    photo = hill_photo()
    gl = generate_normal_map(photo, method="sobel", detail=1.0)
    dx = generate_normal_map(photo, method="sobel", detail=1.0, convention="directx")
    np.testing.assert_allclose(dx[..., 1], -gl[..., 1], atol=1e-7)
    assert gl[15, 20, 1] > 0.05 and dx[15, 20, 1] < -0.05
    flat = generate_normal_map(photo, method="sobel", strength=0.0)
    np.testing.assert_array_equal(flat, np.broadcast_to([0, 0, 1], flat.shape))
    one = generate_normal_map(photo, method="sobel", detail=1.0)
    two = generate_normal_map(photo, method="sobel", detail=1.0, strength=2.0)
    np.testing.assert_allclose(two[..., :2] / two[..., 2:], 2 * one[..., :2] / one[..., 2:], atol=1e-4)


def test_luminance_is_linearised():
    mid = linear_luminance(np.full((1, 1, 3), 0.5, np.float32))[0, 0]
    assert mid == pytest.approx(0.214, abs=1e-3)  # sRGB 0.5 is 21.4 % linear light


def test_detail_moves_weight_between_fine_and_coarse():
    fine, coarse = detail_weights(1.0), detail_weights(0.0)
    assert fine.argmax() == 0 and coarse.argmax() == len(coarse) - 1
    assert fine.sum() == pytest.approx(1) and coarse.sum() == pytest.approx(1)
    noise = np.random.default_rng(0).random((64, 64, 3)).astype(np.float32)
    a = sobel_normals(noise, detail=1.0)
    b = sobel_normals(noise, detail=0.0)
    # Fine detail follows pixel noise: far steeper on average than the coarse mix.
    assert np.mean(1 - a[..., 2]) > 3 * np.mean(1 - b[..., 2])


def test_seamless_wraps_borders():
    y, x = np.mgrid[:48, :64]
    # Tileable, and with its steepest slope right at the wrap borders.
    g = 0.5 + 0.4 * np.sin(2 * np.pi * x / 64 + np.pi / 2) * np.cos(2 * np.pi * y / 48)
    photo = np.repeat(g[..., None], 3, axis=-1).astype(np.float32)
    n = sobel_normals(photo, detail=0.8, seamless=True)
    shifted = sobel_normals(np.roll(photo, (10, 17), axis=(0, 1)), detail=0.8, seamless=True)
    # With wrapped borders, the filter commutes with a circular shift: no border is special.
    assert angular_error_deg(np.roll(n, (10, 17), axis=(0, 1)), shifted).max() < 0.1  # float32 arccos floor
    mirrored = sobel_normals(np.roll(photo, (10, 17), axis=(0, 1)), detail=0.8, seamless=False)
    assert angular_error_deg(np.roll(n, (10, 17), axis=(0, 1)), mirrored).max() > 1.0


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (1, 300), (300, 1)])
@pytest.mark.parametrize("seamless", [False, True])
def test_any_size(shape, seamless):
    photo = np.random.default_rng(0).integers(0, 255, (*shape, 3), dtype=np.uint8)
    n = generate_normal_map(photo, method="sobel", seamless=seamless)
    assert n.shape == (*shape, 3) and n.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(n, axis=-1), 1.0, atol=1e-5)
