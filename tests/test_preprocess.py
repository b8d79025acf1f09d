"""Input normalisation: whole-image statistics, the same for a batch as one by one."""

import numpy as np

from normalgen.preprocess import normalize_photo


def test_zero_mean_unit_std_per_image():
    x = np.random.default_rng(0).random((2, 20, 30, 3)).astype(np.float32) * [0.2, 0.5, 0.9]
    y = normalize_photo(x)
    assert y.dtype == np.float32 and y.shape == x.shape
    assert np.abs(y.mean(axis=(1, 2))).max() < 1e-5
    assert np.allclose(y.reshape(2, -1).std(axis=1), 1.0, atol=1e-5)
    assert np.array_equal(normalize_photo(x[1]), y[1])


def test_exposure_and_white_balance_do_not_change_the_input():
    x = np.random.default_rng(1).random((16, 16, 3)).astype(np.float32) * 0.5
    assert np.allclose(normalize_photo(x), normalize_photo(x * 1.7 + 0.1), atol=1e-5)


def test_flat_photo_stays_finite():
    y = normalize_photo(np.full((4, 5, 3), 0.3, np.float32))
    assert np.isfinite(y).all() and np.abs(y).max() < 1e-5
