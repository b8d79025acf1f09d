"""normalgen.orientation: quarter turns of normal maps, and choosing the turn that puts the light
on the right; generate_normal_map with a "canonical light" model."""

import dataclasses

import numpy as np
import pytest

from normalgen import generate_normal_map
from normalgen.model import ModelConfig, build_model, config_of
from normalgen.model_loading import inference_model
from normalgen.errors import ModelError, NormalgenError
from normalgen.orientation import (
    choose_turn,
    mirror_mean,
    probe_crops,
    stored_light_side,
    turn_for_light,
    turn_normals,
    turn_scores,
)
from normalgen.preprocess import normalize_photo
from normalgen.vectors import normals_from_height


def bump(size=48, cx=20.0, cy=14.0):
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    return 8.0 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 40.0)


@pytest.mark.parametrize("k", [0, 1, 2, 3, -1, 5])
def test_turned_normals_are_the_normals_of_the_turned_surface(k):
    h = bump()
    expected = normals_from_height(np.rot90(h, k))
    got = turn_normals(normals_from_height(h), k)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_a_turn_and_its_inverse_give_back_the_map():
    n = normals_from_height(bump(size=40) + np.linspace(0, 3, 40)[None, :])
    for k in range(4):
        np.testing.assert_allclose(turn_normals(turn_normals(n, k), -k), n, atol=1e-6)


def lambert_photo(h, azimuth_deg, elevation_deg=40.0):
    n = normals_from_height(h)
    e, a = np.radians(elevation_deg), np.radians(azimuth_deg)
    light = np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)], np.float32)
    shade = np.clip(n @ light, 0.0, 1.0)
    return np.repeat(shade[..., None], 3, axis=-1)


def surface(size=64, seed=3):
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    return ndimage.gaussian_filter(rng.normal(size=(size, size)), 3) * 60


def stand_in_network(h, light_turns, sure_turns):
    """A stand-in for a trained canonical network, for the photo of surface `h`.

    Shown the photo turned so its light lies on the X axis (turn % 2 == light_turns % 2), it
    returns the true surface under `sure_turns` and a shallower copy under the opposite turn; a
    quarter turn off, it returns an unrelated bumpy surface that does not explain the shading.
    """
    truth = normals_from_height(h)
    other = normals_from_height(surface(h.shape[0], seed=99))

    def predict_for_turn(k):
        if k % 2 != light_turns % 2:
            return turn_normals(other, k)
        n = turn_normals(truth, k).copy()
        if k != sure_turns % 4:
            n[..., :2] *= 0.5
            n /= np.linalg.norm(n, axis=-1, keepdims=True)
        return n

    return predict_for_turn


@pytest.mark.parametrize("light_turns, sure_turns", [(0, 0), (0, 2), (1, 1), (1, 3)])
def test_the_axis_explains_the_shading_and_the_side_is_the_surer_turn(monkeypatch, light_turns, sure_turns):
    """choose_turn's two rules: the axis whose predictions explain the photo's brightness
    (Lambertian fit), then the side on it where the network predicts the steeper surface."""
    h = surface()
    photo = lambert_photo(h, 90.0 * ((-light_turns) % 4))
    predict_for_turn = stand_in_network(h, light_turns, sure_turns)
    calls = []

    def predict(batch):
        k = len(calls) % 4  # turn_scores asks for turns 0, 1, 2, 3 in order
        calls.append(k)
        return np.stack([predict_for_turn(k)] * len(batch))

    assert choose_turn(predict, photo, stride=16) == sure_turns
    scores = turn_scores(predict, probe_crops(photo, stride=16))
    on_axis = scores["fit"][light_turns % 2] + scores["fit"][light_turns % 2 + 2]
    off_axis = scores["fit"][1 - light_turns % 2] + scores["fit"][3 - light_turns % 2]
    assert on_axis > off_axis + 0.5


def test_probe_crops_cover_small_and_large_images():
    assert probe_crops(np.zeros((40, 70, 3)), stride=16).shape == (2, 32, 32, 3)
    assert probe_crops(np.zeros((600, 300, 3)), stride=16).shape == (2, 256, 256, 3)
    assert probe_crops(np.zeros((5, 9, 3)), stride=16).shape == (1, 16, 16, 3)


@pytest.fixture(scope="module")
def canonical_model():
    import keras

    keras.utils.set_random_seed(11)
    model = build_model(ModelConfig(base_filters=4, depth=2, input_norm="relative", light="canonical"))
    head = model.get_layer("slope")
    head.kernel.assign(head.kernel * 10.0)
    return model


def test_the_light_mode_survives_saving(canonical_model, tmp_path):
    import keras

    path = tmp_path / "canon.keras"
    canonical_model.save(path)
    loaded = keras.models.load_model(path, compile=False)
    assert config_of(loaded).light == "canonical"
    assert config_of(loaded).input_norm == "relative"


@pytest.mark.parametrize("turn", [1, 2, 3])
def test_a_canonical_model_sees_the_photo_turned_and_the_map_comes_back(canonical_model, monkeypatch, turn):
    """generate_normal_map turns the photo by the chosen turn, and turns the prediction (pixels
    and vectors) back: the same as turning the photo by hand for a model that is not canonical."""
    import normalgen.orientation

    monkeypatch.setattr(normalgen.orientation, "choose_turn", lambda predict, x, stride: turn)
    monkeypatch.setattr(normalgen.orientation, "mirror_mean", lambda predict: predict)  # tested below
    twin = build_model(dataclasses.replace(config_of(canonical_model), light="any"))
    twin.set_weights(canonical_model.get_weights())
    rng = np.random.default_rng(0)
    photo = rng.random((48, 80, 3)).astype(np.float32)
    got = generate_normal_map(photo, model=canonical_model, tile_size=64)
    expected = turn_normals(generate_normal_map(np.rot90(photo, turn), model=twin, tile_size=64), -turn)
    assert got.shape == (48, 80, 3)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.abs(got[..., :2]).mean() > 0.05  # a busy map, so a wrong turn could not pass
    directx = generate_normal_map(photo, model=canonical_model, convention="directx", tile_size=64)
    np.testing.assert_allclose(directx[..., 1], -got[..., 1], atol=1e-6)


@pytest.mark.parametrize("side, azimuth", [("right", 0.0), ("top", 90.0), ("left", 180.0), ("bottom", 270.0)])
def test_the_turn_for_a_named_side_brings_that_light_to_the_right(side, azimuth):
    """A bump lit from `side` (OpenGL: top is +Y), turned by turn_for_light(side), is lit from
    the right: its right flank is the bright one, as in a photo lit from azimuth 0."""
    h = bump(size=48, cx=23.5, cy=23.5)
    turned = np.rot90(lambert_photo(h, azimuth)[..., 0], turn_for_light(side))
    lit_from_right = lambert_photo(h, 0.0)[..., 0]
    np.testing.assert_allclose(turned, lit_from_right, atol=1e-5)
    assert turned[24, 30] > turned[24, 18] + 0.2


@pytest.mark.parametrize("side", ["right", "top", "left", "bottom"])
def test_a_named_light_side_sets_the_turn_without_guessing(canonical_model, monkeypatch, side):
    """light_from=<side>: the photo is turned by turn_for_light(side) (choose_turn is not asked),
    and the map comes back turned, vectors too."""
    import normalgen.orientation

    def refuse(*args):
        raise AssertionError("choose_turn must not run when the light side is given")

    monkeypatch.setattr(normalgen.orientation, "choose_turn", refuse)
    monkeypatch.setattr(normalgen.orientation, "mirror_mean", lambda predict: predict)  # tested below
    twin = build_model(dataclasses.replace(config_of(canonical_model), light="any"))
    twin.set_weights(canonical_model.get_weights())
    photo = np.random.default_rng(1).random((48, 64, 3)).astype(np.float32)
    k = turn_for_light(side)
    got = generate_normal_map(photo, model=canonical_model, light_from=side, tile_size=64)
    expected = turn_normals(generate_normal_map(np.rot90(photo, k), model=twin, tile_size=64), -k)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_a_light_side_needs_a_canonical_model_and_a_known_name(canonical_model, tiny_model):
    photo = np.full((32, 32, 3), 0.5, np.float32)
    with pytest.raises(ModelError, match="any side"):
        generate_normal_map(photo, model=tiny_model, light_from="top")
    with pytest.raises(NormalgenError, match="unknown light side 'north'"):
        generate_normal_map(photo, model=canonical_model, light_from="north")
    # Sobel has no use for the light; the hint is accepted and changes nothing.
    np.testing.assert_array_equal(generate_normal_map(photo, method="sobel", light_from="left"),
                                  generate_normal_map(photo, method="sobel"))


def mirror_rows(normals):
    """An OpenGL map mirrored top to bottom, vectors too (Y negated)."""
    out = np.flip(normals, axis=-3).copy()
    out[..., 1] *= -1.0
    return out


def test_the_mirror_mean_is_symmetric_and_leaves_a_symmetric_reading_alone(canonical_model):
    """mirror_mean(predict) reads mirrored tiles as the mirror of its reading of the tiles, for
    a network that does not; and a reading that already does so is left as it is."""
    net = inference_model(canonical_model, "float32")
    tiles = np.random.default_rng(2).random((2, 32, 48, 3)).astype(np.float32) * 2.0 - 1.0
    plain = net.predict_on_batch(tiles)
    assert np.abs(net.predict_on_batch(tiles[:, ::-1].copy()) - mirror_rows(plain)).max() > 0.05
    both = mirror_mean(net.predict_on_batch)
    np.testing.assert_allclose(both(tiles[:, ::-1].copy()), mirror_rows(both(tiles)), atol=1e-5)
    np.testing.assert_allclose(both(tiles), 0.5 * (plain + mirror_rows(net.predict_on_batch(tiles[:, ::-1].copy()))),
                               atol=1e-6)
    # Already symmetric, so averaging it with its mirror again changes nothing (the Y sign included).
    np.testing.assert_allclose(mirror_mean(both)(tiles), both(tiles), atol=1e-5)


@pytest.mark.parametrize("side", ["right", "top", "left", "bottom"])
def test_a_map_told_the_side_is_symmetric_about_the_light_axis(canonical_model, side):
    """Told the light's side, a canonical model reads a photo and its mirror across the light's
    axis (top-bottom for right and left, left-right for top and bottom) as mirrors of each
    other: the mirror keeps the light where it is, and both readings are averaged."""
    # One 64² tile, so the tile plan is symmetric too and only the network's reading is tested.
    photo = np.random.default_rng(3).random((64, 64, 3)).astype(np.float32)
    axis, component = (0, 1) if side in ("right", "left") else (1, 0)
    got = generate_normal_map(photo, model=canonical_model, light_from=side, tile_size=64)
    mirrored = np.flip(generate_normal_map(np.flip(photo, axis), model=canonical_model, light_from=side,
                                           tile_size=64), axis).copy()
    mirrored[..., component] *= -1.0
    assert np.abs(got[..., :2]).mean() > 0.05
    np.testing.assert_allclose(mirrored, got, atol=2e-5)


SIDE_VECTORS = {"right": (1.0, 0.0), "top": (0.0, 1.0), "left": (-1.0, 0.0), "bottom": (0.0, -1.0)}


def lit_side(photo, h):
    """The side a Lambert-shaded `photo` of the height field `h` is lit from: the one whose
    direction the brightness follows best (OpenGL: +Y is the top of the picture)."""
    n = normals_from_height(h)
    lum = photo[..., 0] - photo[..., 0].mean()
    scores = {s: float(np.sum(lum * (n[..., 0] * v[0] + n[..., 1] * v[1]))) for s, v in SIDE_VECTORS.items()}
    return max(scores, key=scores.get)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("stored_side, azimuth", [("right", 0.0), ("top", 90.0), ("left", 180.0), ("bottom", 270.0)])
def test_the_light_side_as_displayed_maps_to_the_stored_grid(orientation, stored_side, azimuth):
    # A stored grid lit from a known side, shown upright the way imageio turns it: the side the
    # light lands on there, mapped back, must be the stored side (mirrors included).
    from normalgen.imageio import orientation_to_upright

    h = surface(size=64)[:, :48]  # not square: a transpose cannot pass for a turn
    stored = lambert_photo(h, azimuth)
    assert lit_side(stored, h) == stored_side
    shown_h = orientation_to_upright(h[..., None], orientation)[..., 0]
    shown = lit_side(orientation_to_upright(stored, orientation), shown_h)
    assert stored_light_side(shown, orientation) == stored_side
    assert stored_light_side("auto", orientation) == "auto"
