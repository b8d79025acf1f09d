"""Synthetic shading agrees with the synthetic normals: the photo side of a pair shows the relief."""

import numpy as np

from normalgen.vectors import normals_from_height
from normalgen_training import shading, synth


def _hill(size=64):
    yy, xx = np.mgrid[0:size, 0:size] - size / 2 + 0.5
    return 12.0 * np.exp(-(xx**2 + yy**2) / (2 * 8.0**2))


def _render(height, elevation, azimuth):
    light = shading.Light(shading.direction(elevation, azimuth), np.ones(3), 0.05)
    lighting = shading.Lighting("test", [light], np.zeros(3), 0.0)
    normals = normals_from_height(height)
    albedo = np.full(height.shape + (3,), 0.5)
    return shading.shade(albedo, normals, height, lighting, roughness=1.0, specular=0.0).mean(-1)


def test_a_hill_is_bright_on_the_side_facing_the_light():
    h = _hill()
    right_lit = _render(h, 45, 0)  # light toward +X: the right flank faces it
    up_lit = _render(h, 45, 90)  # light toward +Y: the flank nearer row 0 faces it
    mid = h.shape[0] // 2
    assert right_lit[mid, mid + 6] > right_lit[mid, mid - 6] + 0.1
    assert up_lit[mid - 6, mid] > up_lit[mid + 6, mid] + 0.1


def test_cast_shadows_fall_away_from_the_light():
    # A ridge along the columns at x = 32; a low sun from +X shadows the ground on its left only.
    h = np.zeros((32, 64))
    h[:, 30:34] = 20.0
    vis = shading.cast_shadow(h, shading.direction(20, 0), softness=0.05)
    assert vis[:, 20:28].mean() < 0.2
    assert vis[:, 36:44].mean() > 0.9


def test_generated_photos_show_their_relief():
    # How much of a photo's brightness the true normals explain (a linear fit of luminance on
    # n). The first generator buried the shading under prints and stains (median 0.12 on these
    # seeds) and the network learned that brightness says little about shape; this one: 0.27.
    def explained(photo, normals):
        lum = photo.astype(np.float64).mean(-1).ravel()
        a = np.c_[normals.reshape(-1, 3), np.ones(lum.size)]
        coef, *_ = np.linalg.lstsq(a, lum, rcond=None)
        return 1 - np.mean((a @ coef - lum) ** 2) / max(lum.var(), 1e-12)

    scores = [explained(*synth.make_pair(seed, 96)[:2]) for seed in range(40)]
    assert np.median(scores) > 0.2


def test_sky_irradiance_of_open_planes():
    # Flat open ground sees the whole sky; an open plane tilted by theta sees (1 + cos theta) / 2.
    assert np.allclose(shading.sky_irradiance(np.dstack([np.zeros((4, 4))] * 2 + [np.ones((4, 4))]), None), 1.0)
    for theta in (20, 45, 70):
        t = np.radians(theta)
        n = np.broadcast_to(np.array([np.sin(t), 0.0, np.cos(t)], np.float32), (4, 4, 3))
        assert np.allclose(shading.sky_irradiance(n, None), (1 + np.cos(t)) / 2, atol=0.02), theta


def test_sky_irradiance_in_a_trench_is_the_view_factor_of_its_opening():
    # The floor's centre of a long trench sees the sky through a slot: its cosine-weighted share
    # is 1/sqrt(1 + (2d/w)^2) for depth d and width w (here w + 1: the walls' top edges are the
    # pixels beside the w sunk ones). Marching the horizon in pixel steps lands 0.02-0.05 above
    # (w = 8, 16 and 24 tried). The first generator's occlusion gave about 0.5 for 0.27.
    for w, d in ((8, 16), (16, 16)):
        h = np.full((64, 64), float(d))
        h[:, 24:24 + w] = 0.0
        n = normals_from_height(h, wrap=True)
        e = shading.sky_irradiance(n, h)
        floor = e[32, 24 + w // 2 - 1:24 + w // 2 + 1].mean()
        assert abs(floor - 1 / np.sqrt(1 + (2 * d / (w + 1)) ** 2)) < 0.05, (w, d, floor)
        assert np.allclose(e[:, 44:60], 1.0, atol=1e-3)  # open ground above stays open


def test_interreflection_lights_cavities_not_open_ground():
    h = np.full((64, 64), 16.0)
    h[:, 28:36] = 0.0
    n = normals_from_height(h, wrap=True)
    seen = shading.sky_irradiance(n, h)
    radiance = np.full((64, 64, 3), 0.4)
    bright = shading.interreflection(np.full((64, 64, 3), 0.8), radiance, seen)
    dark = shading.interreflection(np.full((64, 64, 3), 0.2), radiance, seen)
    assert np.allclose(bright[:, 5:20], 0.0, atol=1e-6)
    assert bright[32, 31, 0] > 0.2  # most of the floor's hemisphere is walls lit at 0.4
    assert bright[32, 31, 0] > 4 * dark[32, 31, 0]  # more than linearly: bounces bounce again


def test_interreflection_lights_a_tilted_facet_from_the_ground_below_its_horizon():
    # On gentle waves nothing rises above a facet's tangent plane, but a facet tilted by t still
    # looks at surface with the (1 - cos t) / 2 of its hemisphere below the horizontal: Cycles
    # lights it from there, and so must the generator (before the tenth session it got nothing).
    x = np.arange(128)
    h = np.tile(np.tan(np.radians(20.0)) * 128 / (2 * np.pi) * np.sin(2 * np.pi * x / 128), (64, 1))
    n = normals_from_height(h, wrap=True)
    seen = shading.sky_irradiance(n, h)
    albedo, radiance = 0.1, 1.0
    bounce = shading.interreflection(np.full((64, 128, 3), albedo), np.full((64, 128, 3), radiance), seen)
    steepest = bounce[:, 0, 0].mean()  # sin's steepest point, tilted 20 degrees
    assert steepest >= albedo * radiance * (1 - np.cos(np.radians(20.0))) / 2 * 0.95, steepest
