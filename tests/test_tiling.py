"""Tiled prediction machinery, checked with exact numpy "networks" (no Keras needed).

A local filter is the ideal fully convolutional net: its tiled output must equal its one-pass
output exactly wherever a tile's dropped margin covers its reach. Any misplaced tile, wrong
weight or wrong border mode shows up as a large difference.
"""

import numpy as np
import pytest
from scipy import ndimage

from normalgen.inference import DEFAULT_OVERLAP, DEFAULT_TILE
from normalgen.tiling import plan_tiles, predict_tiled


def box3(tiles):
    """3x3 mean with zero padding at the tile's own edges (like a conv's 'same' padding)."""
    return ndimage.uniform_filter(tiles, size=(1, 3, 3, 1), mode="constant")


def identity(tiles):
    return tiles


def image(shape, seed=0):
    return np.random.default_rng(seed).random((*shape, 3)).astype(np.float32)


@pytest.mark.parametrize("wrap", [False, True])
def test_redundancy_of_the_default_tiles_for_big_images(wrap):
    for side in (4096, 8192, 16384):
        plan = plan_tiles(side, side, tile=DEFAULT_TILE, overlap=DEFAULT_OVERLAP, stride=16, wrap=wrap)
        assert plan.redundancy <= 1.3, (side, plan.redundancy)
        assert max(plan.tile_shape) <= DEFAULT_TILE
    wide = plan_tiles(300, 16384, tile=DEFAULT_TILE, overlap=DEFAULT_OVERLAP, stride=16, wrap=wrap)
    assert wide.rows.tile == 368 and len(wide.rows.starts) == 1


def test_tiles_share_one_stride_grid():
    plan = plan_tiles(1000, 777, tile=256, overlap=64, stride=16, wrap=False)
    for axis in (plan.rows, plan.cols):
        assert axis.tile % 16 == 0
        assert len({s % 16 for s in axis.starts}) == 1
        assert axis.starts[0] < 0 and axis.starts[-1] + axis.tile > axis.length  # border context


@pytest.mark.parametrize("wrap", [False, True])
def test_tiled_equals_one_pass_for_a_local_filter(wrap):
    img = image((136, 200))
    mode = "wrap" if wrap else "mirror"
    reference = ndimage.uniform_filter(img, size=(3, 3, 1), mode=mode)
    done = []
    tiled = predict_tiled(
        box3, img, tile=64, overlap=16, stride=16, wrap=wrap, batch=3, progress=lambda d, t: done.append((d, t))
    )
    np.testing.assert_allclose(tiled, reference, atol=1e-5)
    n = plan_tiles(136, 200, tile=64, overlap=16, stride=16, wrap=wrap).n_tiles
    assert n > 6 and done[-1] == (n, n) and len(done) == -(-n // 3)


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (1, 300), (300, 1), (33, 16), (250, 70)])
@pytest.mark.parametrize("wrap", [False, True])
def test_any_size_round_trips_through_identity(shape, wrap):
    img = image(shape)
    out = predict_tiled(identity, img, tile=64, overlap=32, stride=16, wrap=wrap, batch=4)
    assert out.shape == img.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, img, rtol=1e-5)


def test_predict_fn_sees_only_full_stride_multiple_tiles():
    shapes = []

    def spy(tiles):
        shapes.append(tiles.shape)
        return tiles[..., :2]

    out = predict_tiled(spy, image((100, 37)), tile=48, overlap=16, stride=16, wrap=False, batch=2)
    assert out.shape == (100, 37, 2)
    assert all(s[1] % 16 == 0 and s[2] % 16 == 0 and s[1] <= 48 and s[2] <= 48 for s in shapes)
    assert all(s[0] <= 2 for s in shapes)


def test_bad_tiling_arguments_are_rejected():
    with pytest.raises(ValueError):
        plan_tiles(10, 10, tile=40, overlap=16, stride=16, wrap=False)  # tile not a multiple
    with pytest.raises(ValueError):
        plan_tiles(10, 10, tile=64, overlap=8, stride=16, wrap=False)  # overlap off the grid
    with pytest.raises(ValueError):
        plan_tiles(0, 10, tile=64, overlap=16, stride=16, wrap=False)
