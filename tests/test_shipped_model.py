"""The shipped weights themselves: they load, tile without seams, and keep tileable photos
tileable."""

import numpy as np
import pytest

from normalgen.pretrained import CANONICAL_MODEL_PATH, DEFAULT_MODEL_PATH

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


@pytest.mark.skipif(not CANONICAL_MODEL_PATH.exists(), reason="no shipped one-side-light weights")
@pytest.mark.parametrize("side, azimuth", [("right", 0.0), ("top", 90.0), ("left", 180.0), ("bottom", 270.0)])
def test_the_one_side_light_model_reads_the_relief_when_told_the_side(side, azimuth):
    """A smooth random surface (mean slope 30 degrees), rendered Lambertian under a sun at 45
    degrees from `side`: told that side, the shipped one-side-light model beats the flat map by
    a fifth and its slopes along the light correlate with the truth; told the opposite side, it
    reads the relief inverted, worse than flat (the ambiguity the hint resolves)."""
    from scipy import ndimage

    from normalgen.inference import generate_normal_map
    from normalgen.model import config_of
    from normalgen.model_loading import load_model
    from normalgen.vectors import angular_error_deg, normals_from_height

    model = load_model(None, light_from=side)
    assert config_of(model).light == "canonical"
    h = ndimage.gaussian_filter(np.random.default_rng(0).normal(size=(128, 128)), 4, mode="wrap") * 40
    truth = normals_from_height(h)
    e, a = np.radians(45.0), np.radians(azimuth)
    sun = np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)], np.float32)
    photo = np.repeat((np.clip(0.8 * (truth @ sun) + 0.15, 0, 1) ** (1 / 2.2))[..., None], 3, -1)
    flat = float(np.degrees(np.arccos(truth[..., 2])).mean())
    told = generate_normal_map(photo.astype(np.float32), model=model, light_from=side)
    opposite = {"right": "left", "left": "right", "top": "bottom", "bottom": "top"}[side]
    wrong = generate_normal_map(photo.astype(np.float32), model=model, light_from=opposite)
    along = 0 if side in ("right", "left") else 1
    assert float(angular_error_deg(told, truth).mean()) < 0.8 * flat
    assert np.corrcoef(told[..., along].ravel(), truth[..., along].ravel())[0, 1] > 0.6
    assert float(angular_error_deg(wrong, truth).mean()) > flat


@pytest.mark.skipif(not CANONICAL_MODEL_PATH.exists(), reason="no shipped one-side-light weights")
def test_the_one_side_light_model_tiles_within_one_degree():
    """Without batch norm the network reads wide context, so its tiles share 192 px
    (`tile_overlap`); with the 64 px the default model needs, seams differed by up to 11 degrees."""
    from normalgen.imageio import read_photo
    from normalgen.inference import WIDE_OVERLAP, generate_normal_map, tile_overlap
    from normalgen.model import config_of
    from normalgen.model_loading import load_model
    from normalgen.vectors import angular_error_deg

    model = load_model(None, light_from="top")
    assert tile_overlap(config_of(model)) == WIDE_OVERLAP
    photo = read_photo(EXAMPLES / "gravel.png")[:512, :480]
    one_pass = generate_normal_map(photo, model=model, light_from="top", tile_size=960)
    tiled = generate_normal_map(photo, model=model, light_from="top", tile_size=384)
    assert angular_error_deg(tiled, one_pass).max() <= 1.0
