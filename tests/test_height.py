"""Frankot-Chellappa height from normals: recovers a known height, both border modes."""

import numpy as np
import pytest

from normalgen.height import height_from_normals, integrate_normals
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


def mirrored_fft_reference(normals, row_weight=1.0):
    """The earlier implementation: the slopes mirrored to 2H x 2W and integrated by FFT."""
    from normalgen.height import _integrate_periodic

    rows, cols = normals.shape[:2]
    nz = np.maximum(normals[..., 2], 1e-3)
    p, q = -normals[..., 0] / nz, normals[..., 1] / nz
    p = np.block([[p, -p[:, ::-1]], [p[::-1], -p[::-1, ::-1]]])
    q = np.block([[q, q[:, ::-1]], [-q[::-1], -q[::-1, ::-1]]])
    return _integrate_periodic(p, q, row_weight)[:rows, :cols]


@pytest.mark.parametrize("shape, row_weight", [((64, 96), 1.0), ((37, 53), 1.0), ((50, 41), 0.3), ((2, 9), 1.0)])
def test_the_cosine_solve_matches_the_mirrored_fft(shape, row_weight):
    # --height on an 8192² photo took 6.5 GiB and longer than the network with the mirrored FFT;
    # the DCT solve on H x W must give the same surface.
    from scipy import ndimage

    rng = np.random.default_rng(sum(shape))
    h = ndimage.gaussian_filter(rng.standard_normal(shape).cumsum(0).cumsum(1), 2)
    normals = normals_from_height(h, wrap=False)
    old = mirrored_fft_reference(normals, row_weight)
    new = integrate_normals(normals, row_weight=row_weight)
    assert new.shape == shape and new.dtype == np.float32
    assert correlation(old, new) > 0.9999
    np.testing.assert_allclose(new - new.mean(), old - old.mean(), atol=1e-3 * max(1.0, np.ptp(old)))
