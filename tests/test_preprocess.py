"""Input normalisation: relative linear radiance, whole-image statistics, batch = one by one."""

import numpy as np

from normalgen.preprocess import normalize_photo, srgb_to_linear


def _to_srgb(lin):
    lin = np.clip(lin, 0, 1)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055).astype(np.float32)


def test_srgb_decoding_matches_the_standard():
    x = np.array([0.0, 0.04045, 0.5, 1.0], np.float32).reshape(1, 4, 1).repeat(3, -1)
    lin = srgb_to_linear(x, np.empty_like(x))[0, :, 0]
    assert np.allclose(lin, [0.0, 0.0031308, 0.2140411, 1.0], atol=1e-6)


def test_mean_is_zero_per_channel_and_batch_equals_one_by_one():
    x = np.random.default_rng(0).random((2, 20, 30, 3)).astype(np.float32) * [0.2, 0.5, 0.9]
    y = normalize_photo(x)
    assert y.dtype == np.float32 and y.shape == x.shape
    assert np.abs(y.mean(axis=(1, 2))).max() < 1e-4
    assert np.array_equal(normalize_photo(x[1]), y[1])


def test_exposure_and_white_balance_cancel_but_contrast_does_not():
    rng = np.random.default_rng(1)
    lin = 0.2 + 0.1 * rng.random((16, 16, 3)).astype(np.float32)
    base = normalize_photo(_to_srgb(lin))
    brighter_and_bluer = normalize_photo(_to_srgb(lin * [1.4, 1.6, 2.0]))
    assert np.allclose(base, brighter_and_bluer, atol=1e-4)
    # The same surface twice as steep shows twice the relative contrast, and the input keeps it.
    mean = lin.mean(axis=(0, 1))
    steeper = normalize_photo(_to_srgb(mean + 2 * (lin - mean)))
    assert np.allclose(steeper, 2 * base, atol=1e-4)


def test_in_place_reuses_the_array_and_agrees():
    x = np.random.default_rng(2).random((1100, 7, 3)).astype(np.float32)  # more than one band
    expected = normalize_photo(x)
    y = normalize_photo(x, in_place=True)
    assert np.shares_memory(x, y) and np.array_equal(y, expected)


def test_flat_and_black_photos_stay_finite():
    assert np.abs(normalize_photo(np.full((4, 5, 3), 0.3, np.float32))).max() < 1e-5
    assert np.isfinite(normalize_photo(np.zeros((4, 5, 3), np.float32))).all()


def test_std_method_is_zero_mean_unit_std_and_unknown_methods_fail():
    import pytest

    x = np.random.default_rng(3).random((2, 20, 30, 3)).astype(np.float32) * [0.2, 0.5, 0.9]
    y = normalize_photo(x, method="std")
    assert np.abs(y.mean(axis=(1, 2))).max() < 1e-5
    assert np.allclose(y.reshape(2, -1).std(axis=1), 1.0, atol=1e-5)
    assert np.array_equal(normalize_photo(x[1], method="std"), y[1])
    with pytest.raises(ValueError):
        normalize_photo(x, method="gamma")
