"""normalgen.alpha and generate_normal_map on photos with transparency: what lies under a
transparent pixel is never read, and the map is flat there."""

import numpy as np
import pytest

from normalgen import generate_normal_map
from normalgen.alpha import fill_transparent, split_alpha, unit_alpha
from normalgen.vectors import normalize, scale_slopes


def relief_photo(h=64, w=80):
    yy, xx = np.mgrid[:h, :w]
    grey = 0.5 + 0.3 * np.sin(xx / 4.0) * np.cos(yy / 5.0)
    return np.repeat(grey[..., None], 3, axis=-1).astype(np.float32)


def disc(h=64, w=80, r=22.0):
    yy, xx = np.mgrid[:h, :w]
    return ((xx - w / 2) ** 2 + (yy - h / 2) ** 2 < r * r).astype(np.float32)


def test_split_alpha_scales_by_type_and_ignores_an_opaque_one():
    rgb = np.zeros((2, 3, 3), np.uint8)
    for dtype, top in ((np.uint8, 255), (np.uint16, 65535), (np.float32, 1.0)):
        a = np.array([[top, 0, top], [top, top, top]], dtype)
        color, alpha = split_alpha(np.dstack([rgb.astype(dtype), a]))
        assert color.shape == (2, 3, 3) and alpha.dtype == dtype
        np.testing.assert_allclose(unit_alpha(alpha), [[1, 0, 1], [1, 1, 1]])
        assert split_alpha(np.dstack([rgb.astype(dtype), np.full((2, 3), top, dtype)]))[1] is None
    assert split_alpha(rgb)[1] is None


def test_fill_keeps_opaque_pixels_and_pulls_the_neighbours_colour_into_holes():
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[:, :30] = (200, 40, 40)  # red half
    rgb[:, 30:] = (40, 40, 200)  # blue half
    alpha = np.ones((40, 60), np.float32)
    alpha[15:25, 5:15] = 0  # a hole in the red half ...
    rgb[15:25, 5:15] = (0, 255, 0)  # ... over something green
    filled = fill_transparent(rgb, alpha)
    assert filled.dtype == np.uint8
    np.testing.assert_array_equal(filled[alpha == 1], rgb[alpha == 1])
    hole = filled[15:25, 5:15].reshape(-1, 3).astype(int)
    assert (hole[:, 0] > 150).all() and (hole[:, 1] < 60).all() and (hole[:, 2] < 100).all()  # red, not green


def test_an_alpha_of_0_everywhere_is_no_alpha():
    # 32-bit TGA and BMP writers often leave the fourth byte 0; viewers show such files opaque.
    rgb = (relief_photo() * 255).astype(np.uint8)
    rgba = np.dstack([rgb, np.zeros(rgb.shape[:2], np.uint8)])
    assert split_alpha(rgba)[1] is None
    np.testing.assert_array_equal(generate_normal_map(rgba, method="sobel"), generate_normal_map(rgb, method="sobel"))


def test_nan_under_transparent_pixels_is_not_read_either():
    rgb, alpha = relief_photo(), disc()
    photo = np.where(alpha[..., None] > 0, rgb, np.nan).astype(np.float32)
    n = generate_normal_map(np.dstack([photo, alpha]), method="sobel")
    assert np.isfinite(n).all()
    clean = generate_normal_map(np.dstack([np.where(alpha[..., None] > 0, rgb, 0.0), alpha]).astype(np.float32),
                                method="sobel")
    np.testing.assert_allclose(n, clean, atol=1e-6)


def test_an_empty_photo_with_alpha_is_one_sentence():
    from normalgen.errors import ImageError

    with pytest.raises(ImageError, match="must be an"):
        generate_normal_map(np.zeros((0, 5, 4), np.uint8), method="sobel")


@pytest.mark.parametrize("method", ["model", "sobel"])
def test_what_lies_under_transparent_pixels_is_never_read(tiny_model, method):
    rgb, alpha = relief_photo(), disc()
    model = tiny_model if method == "model" else None
    maps = []
    for under in (np.zeros_like(rgb), np.ones_like(rgb), np.random.default_rng(1).random(rgb.shape)):
        photo = np.where(alpha[..., None] > 0, rgb, under).astype(np.float32)
        maps.append(generate_normal_map(np.dstack([photo, alpha]), model=model, method=method, strength=2.0))
    for other in maps[1:]:
        np.testing.assert_allclose(other, maps[0], atol=1e-6)
    np.testing.assert_allclose(maps[0][alpha == 0], np.broadcast_to([0, 0, 1], (int((alpha == 0).sum()), 3)),
                               atol=1e-6)
    assert np.degrees(np.arccos(maps[0][alpha == 1][:, 2])).max() > 2  # the relief inside is there


def test_a_cut_out_on_black_gets_no_wall_around_it():
    rgb, alpha = relief_photo(), disc()
    on_black = np.where(alpha[..., None] > 0, rgb, 0.0).astype(np.float32)
    tilt = lambda n: np.degrees(np.arccos(np.clip(n[..., 2], -1, 1)))
    ignored = tilt(generate_normal_map(on_black, method="sobel"))  # alpha not given: black is read
    used = tilt(generate_normal_map(np.dstack([on_black, alpha]), method="sobel"))
    inside = alpha > 0
    assert used[inside].max() < 0.7 * ignored[inside].max()


def test_the_map_is_flattened_by_scaling_its_slopes_by_alpha():
    n = normalize(np.random.default_rng(2).normal(size=(5, 6, 3)) * [1, 1, 0] + [0, 0, 1]).astype(np.float32)
    slopes = n[..., :2] / n[..., 2:]
    alpha = np.linspace(0, 1, 30, dtype=np.float32).reshape(5, 6)
    out = scale_slopes(n, alpha[..., None])  # what generate_normal_map does with a photo's alpha
    np.testing.assert_allclose(out[..., :2] / out[..., 2:], slopes * alpha[..., None], atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), 1.0, atol=1e-6)


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (1, 300), (300, 1), (257, 513)])
def test_any_size_and_pixel_type(shape):
    rng = np.random.default_rng(4)
    alpha = (rng.random(shape) > 0.5).astype(np.float32)
    alpha.flat[0] = 1.0 if alpha.size > 1 else 0.5  # something opaque; a 1x1 photo half transparent
    for dtype, top in ((np.uint8, 255), (np.uint16, 65535), (np.float32, 1.0)):
        rgb = (rng.random((*shape, 3)) * top).astype(dtype)
        n = generate_normal_map(np.dstack([rgb, (alpha * top).astype(dtype)]), method="sobel")
        assert n.shape == (*shape, 3) and np.isfinite(n).all()
        np.testing.assert_array_equal(n[alpha == 0], np.broadcast_to([0, 0, 1], (int((alpha == 0).sum()), 3)))
        filled = fill_transparent(rgb, (alpha * top).astype(dtype))
        assert filled.dtype == dtype
        np.testing.assert_array_equal(filled[alpha == 1], rgb[alpha == 1])
        as_float = fill_transparent(rgb, (alpha * top).astype(dtype), as_float=True)
        assert as_float.dtype == np.float32
        np.testing.assert_allclose(as_float[alpha == 1], rgb[alpha == 1] / top, atol=1e-6)
