"""RGB encoding, conventions, strength and the height -> normals reference."""

import numpy as np
import pytest

from normalgen.errors import NormalgenError
from normalgen.vectors import (
    angular_error_deg,
    apply_strength,
    convert_convention,
    normal_map_problem,
    decode_rgb,
    encode_rgb,
    invert_relief,
    normalize,
    normals_from_height,
)


def gaussian_hill(size=33, sigma=5.0):
    y, x = np.mgrid[:size, :size] - size // 2
    return np.exp(-(x**2 + y**2) / (2 * sigma**2)).astype(np.float32)


def random_normals(shape, seed=0):
    v = np.random.default_rng(seed).normal(size=(*shape, 3))
    v[..., 2] = np.abs(v[..., 2]) + 0.2
    return normalize(v)


def test_encode_decode_round_trip():
    n = random_normals((16, 16))
    rgb = encode_rgb(n)
    assert rgb.min() >= 0 and rgb.max() <= 1
    np.testing.assert_allclose(rgb, (n + 1) / 2, atol=1e-6)  # no gamma: a normal map is data
    np.testing.assert_allclose(decode_rgb(rgb), n, atol=1e-6)
    # 8-bit quantisation costs well under a degree.
    assert angular_error_deg(decode_rgb(np.round(rgb * 255) / 255), n).max() < 0.5


def test_flat_is_128_128_255():
    rgb = encode_rgb(np.array([0.0, 0.0, 1.0]))
    np.testing.assert_allclose(rgb, [0.5, 0.5, 1.0])


def test_opengl_hill_orientation_and_directx_flips_green():
    n = normals_from_height(gaussian_hill(), scale=10.0, wrap=False)
    c = 16
    assert n[c, c + 4, 0] > 0.1  # right of the peak: slopes down to the right, normal leans right
    assert n[c - 4, c, 1] > 0.1  # above the peak (smaller row): +Y is up, normal leans up
    dx = convert_convention(n, "opengl", "directx")
    np.testing.assert_array_equal(dx[..., 1], -n[..., 1])
    np.testing.assert_array_equal(dx[..., [0, 2]], n[..., [0, 2]])
    np.testing.assert_array_equal(convert_convention(n, "OpenGL", "opengl"), n)


def test_strength():
    n = random_normals((8, 8))
    np.testing.assert_array_equal(apply_strength(n, 0.0), np.broadcast_to([0, 0, 1], n.shape))
    np.testing.assert_allclose(apply_strength(n, 1.0), n)
    doubled = apply_strength(n, 2.0)
    np.testing.assert_allclose(doubled[..., :2] / doubled[..., 2:], 2 * n[..., :2] / n[..., 2:], rtol=1e-4)
    for bad in (-1.0, float("inf"), float("nan"), 1e40, "strong"):
        with pytest.raises(NormalgenError, match="strength must be"):
            apply_strength(n, bad)
    steep = apply_strength(n, 100.0)  # the largest allowed: still finite unit vectors
    np.testing.assert_allclose(np.linalg.norm(steep, axis=-1), 1.0, atol=1e-5)


def test_inverted_relief_is_the_negated_height_in_either_convention():
    hill = gaussian_hill()
    raised = normals_from_height(hill, scale=10.0, wrap=False)
    sunk = normals_from_height(-hill, scale=10.0, wrap=False)
    np.testing.assert_allclose(invert_relief(raised), sunk, atol=1e-6)
    np.testing.assert_allclose(invert_relief(invert_relief(raised)), raised, atol=0)
    dx = convert_convention(raised, "opengl", "directx")  # DirectX maps invert the same way
    np.testing.assert_allclose(invert_relief(dx), convert_convention(sunk, "opengl", "directx"), atol=1e-6)
    assert np.shares_memory(invert_relief(raised), raised) is False  # the caller's map is left alone


def test_normal_map_problem_tells_real_maps_from_grey_black_and_inward_ones():
    n = random_normals((32, 32))
    n[..., 2] = np.abs(n[..., 2])
    assert normal_map_problem(np.round(encode_rgb(n) * 255) / 255) is None  # 8-bit rounding is fine
    assert normal_map_problem(encode_rgb(np.broadcast_to([0, 0, 1.0], (8, 8, 3)))) is None  # flat
    height = np.random.default_rng(1).uniform(0, 1, (32, 32, 1))
    assert "grey" in normal_map_problem(np.repeat(height, 3, axis=-1))
    assert "not unit vectors" in normal_map_problem(np.clip(encode_rgb(n) * 0.5 + 0.25 + height * 0.01, 0, 1))
    inward = n * np.array([1, 1, -1])
    assert "point into the surface" in normal_map_problem(encode_rgb(inward))
    padded = encode_rgb(n)
    padded[:, :12] = 0  # an atlas with 3/8 black padding is still a normal map
    assert normal_map_problem(padded) is None
    padded[:, :20] = 0
    assert normal_map_problem(padded) == "it is mostly black"
