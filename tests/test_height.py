"""Frankot-Chellappa height from normals: recovers a known height, both border modes."""

import numpy as np

from normalgen.height import height_from_normals
from normalgen.vectors import normals_from_height


def correlation(a, b):
    return np.corrcoef(a.ravel(), b.ravel())[0, 1]


def test_periodic_height_is_recovered():
    y, x = np.mgrid[:64, :96] / np.array([64, 96])[:, None, None]
    h = np.sin(2 * np.pi * x) + 0.5 * np.cos(4 * np.pi * y) + 0.3 * np.sin(2 * np.pi * (x + 2 * y))
    normals = normals_from_height(h, scale=3.0, wrap=True)
    out = height_from_normals(normals, periodic=True)
    assert out.shape == h.shape and out.dtype == np.float32
    assert out.min() == 0.0 and out.max() == 1.0
    assert correlation(out, h) > 0.99


def test_non_periodic_height_is_recovered_by_mirroring():
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:80, :120].astype(np.float64)
    h = 0.02 * x - 0.01 * y  # a tilt: not periodic at all
    for cy, cx, s in rng.uniform([0, 0, 4], [80, 120, 12], size=(6, 3)):
        h += np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s**2))
    normals = normals_from_height(h, scale=2.0, wrap=False)
    assert correlation(height_from_normals(normals, periodic=False), h) > 0.99
    # Integrating the same field as if periodic is clearly worse: the mirroring matters.
    assert correlation(height_from_normals(normals, periodic=True), h) < 0.98


def test_flat_normals_give_constant_height():
    flat = np.zeros((5, 7, 3), np.float32)
    flat[..., 2] = 1
    np.testing.assert_array_equal(height_from_normals(flat), np.full((5, 7), 0.5, np.float32))
