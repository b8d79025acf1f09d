"""Geometric augmentation must turn the vectors with the picture."""

import numpy as np
import pytest

from normalgen.vectors import angular_error_deg, normals_from_height
from normalgen_training import augment


def _bump(size=64, cx=20, cy=40):
    yy, xx = np.mgrid[0:size, 0:size]
    return 8.0 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * 6.0**2))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_rot90_matches_normals_of_rotated_height(k):
    h = _bump()
    n = normals_from_height(h, wrap=False)
    photo = np.random.default_rng(0).random((64, 64, 3)).astype(np.float32)
    p2, n2 = augment.rot90(photo, n, k)
    expected = normals_from_height(np.rot90(h, k), wrap=False)
    assert np.array_equal(p2, np.rot90(photo, k))
    assert angular_error_deg(n2, expected).max() < 0.05  # float32 arccos resolution


def test_rot90_quarter_turn_moves_the_slope_the_right_way():
    # The bump's right flank faces +X. A quarter turn counter-clockwise puts that flank on top, facing +Y.
    n = normals_from_height(_bump(cx=32, cy=32), wrap=False)
    _, n2 = augment.rot90(np.zeros((64, 64, 3)), n, 1)
    assert n[32, 40, 0] > 0.2  # right of the peak: +X
    assert n2[24, 32, 1] > 0.2  # above the peak after the turn: +Y
    assert abs(n2[24, 32, 0]) < 1e-6


def test_flips_match_normals_of_flipped_height():
    h = _bump()
    n = normals_from_height(h, wrap=False)
    photo = np.zeros((64, 64, 3), np.float32)
    _, lr = augment.flip_lr(photo, n)
    _, ud = augment.flip_ud(photo, n)
    assert angular_error_deg(lr, normals_from_height(h[:, ::-1], wrap=False)).max() < 0.05  # float32 arccos resolution
    assert angular_error_deg(ud, normals_from_height(h[::-1], wrap=False)).max() < 0.05  # float32 arccos resolution


def test_random_crop_keeps_unit_vectors_and_size():
    rng = np.random.default_rng(1)
    n = normals_from_height(_bump(128, 60, 60), wrap=False)
    p, n2 = augment.random_crop(rng, np.zeros((128, 128, 3), np.float32), n, 48, (0.5, 1.0))
    assert p.shape == (48, 48, 3) and n2.shape == (48, 48, 3)
    assert np.allclose(np.linalg.norm(n2, axis=-1), 1.0, atol=1e-5)


def test_photometric_changes_only_the_photo():
    rng = np.random.default_rng(2)
    photo = np.random.default_rng(3).random((32, 32, 3)).astype(np.float32)
    out = augment.photometric(rng, photo)
    assert out.shape == photo.shape and out.min() >= 0 and out.max() <= 1
    assert not np.allclose(out, photo)


def test_validation_batches_cover_every_pair_once_unaugmented(tmp_path):
    from normalgen.preprocess import normalize_photo
    from normalgen_training import synth
    from normalgen_training.dataset import PatchDataset, load_pair
    from normalgen_training.pairing import find_pairs

    synth.write_dataset(tmp_path, 5, 48, seed=2)
    pairs, _ = find_pairs([tmp_path])
    ds = PatchDataset(pairs, patch=32, batch_size=2, augment=False)
    batches = [ds[i] for i in range(len(ds))]
    assert len(ds) == 3 and sum(len(x) for x, _ in batches) == 5
    photo, normals = load_pair(pairs[4])
    x, y = batches[2]
    # The cache keeps pairs as float16 (dataset.PairCache): equal to within its rounding.
    assert np.allclose(y[0], normals[8:40, 8:40], atol=1e-3)
    assert np.allclose(x[0], normalize_photo(photo[8:40, 8:40]), atol=3e-3)
    assert np.array_equal(ds[1][0], batches[1][0])  # the same every time


def test_canonical_geometry_keeps_a_light_from_the_right_on_the_right():
    """light="canonical" draws only the identity and the top-bottom mirror: both keep a slope that
    faces +X facing +X (a quarter turn or a left-right mirror would move the light)."""
    h = _bump()
    photo = np.repeat(h[..., None], 3, axis=-1).astype(np.float32)
    normals = normals_from_height(h)
    seen = set()
    rng = np.random.default_rng(0)
    for _ in range(40):
        p, n = augment.random_geometry(rng, photo, normals, light="canonical")
        if np.array_equal(p, photo):
            seen.add("identity")
            np.testing.assert_array_equal(n, normals)
        else:
            np.testing.assert_array_equal(p, photo[::-1])
            assert angular_error_deg(n, normals_from_height(h[::-1])).max() < 0.05
            seen.add("mirror")
    assert seen == {"identity", "mirror"}
