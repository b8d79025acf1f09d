"""The shipped weights themselves: they load, tile without seams, and keep tileable photos
tileable."""

import numpy as np
import pytest

from normalgen.pretrained import DEFAULT_MODEL_PATH

pytestmark = pytest.mark.skipif(not DEFAULT_MODEL_PATH.exists(), reason="no shipped weights in pretrained/")

EXAMPLES = DEFAULT_MODEL_PATH.parent.parent / "examples"


@pytest.fixture(scope="module")
def shipped():
    from normalgen.model_loading import load_model

    return load_model(None)


def test_tiled_matches_one_pass_within_one_degree(shipped):
    # A photo that fits in one pass, predicted again with small tiles (default overlap): the
    # inference issue's bar is 1 degree anywhere.
    from normalgen.imageio import read_photo
    from normalgen.inference import generate_normal_map
    from normalgen.vectors import angular_error_deg

    photo = read_photo(EXAMPLES / "gravel.png")[:320, :288]
    one_pass = generate_normal_map(photo, model=shipped, tile_size=336)
    tiled = generate_normal_map(photo, model=shipped, tile_size=192)
    assert angular_error_deg(tiled, one_pass).max() <= 1.0


def test_seamless_map_of_a_tileable_photo_tiles(shipped):
    from normalgen.inference import generate_normal_map
    from normalgen.vectors import angular_error_deg
    from normalgen_training.synth import make_pair

    photo, _, _ = make_pair(5, 128)  # synthetic materials are tileable
    n = generate_normal_map(photo, model=shipped, seamless=True)
    inside = np.percentile(angular_error_deg(n[:, 1:], n[:, :-1]), 99)
    across = max(angular_error_deg(n[:, 0], n[:, -1]).max(), angular_error_deg(n[0], n[-1]).max())
    assert across <= max(inside, 1.0) * 1.5
