"""Physically based shading of a height field: the "photo" side of a synthetic pair.

Everything is in linear light and wraps at the borders. Heights are in pixel units, the same scale
the ground-truth normals are computed at, so shading and normals describe one surface.
Directions are OpenGL tangent space: X right, Y up (towards image row 0), Z toward the camera.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from . import noise


@dataclasses.dataclass
class Light:
    direction: np.ndarray  # unit vector toward the light
    color: np.ndarray  # linear RGB irradiance
    shadow_softness: float = 0.3


@dataclasses.dataclass
class Lighting:
    name: str
    lights: list
    sky: np.ndarray  # linear RGB irradiance of a uniform sky dome
    sky_occlusion: float  # how much the relief hides of the sky: 1 physical, 0 none


def direction(elevation_deg: float, azimuth_deg: float) -> np.ndarray:
    """Unit vector toward a light at `elevation` above the surface, `azimuth` from +X toward +Y."""
    e, a = np.radians(elevation_deg), np.radians(azimuth_deg)
    return np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])


LIGHT_MODES = ("any", "canonical")
CANONICAL_SECTOR_DEG = 45.0  # "canonical": the key light's azimuth lies within this of +X


def canonical_azimuth(azimuth_deg: float) -> float:
    """The azimuth a quarter turn of the picture brings into [-45, 45) degrees (light from the right)."""
    return float((azimuth_deg + CANONICAL_SECTOR_DEG) % 90.0 - CANONICAL_SECTOR_DEG)


def key_azimuth(lighting: Lighting) -> float:
    """Azimuth in degrees (from +X toward +Y) of the first, strongest light."""
    d = lighting.lights[0].direction
    return float(np.degrees(np.arctan2(d[1], d[0])))


def key_elevation(lighting: Lighting) -> float:
    """Elevation in degrees above the surface of the first, strongest light."""
    return float(np.degrees(np.arcsin(np.clip(lighting.lights[0].direction[2], -1.0, 1.0))))


def random_lighting(rng: np.random.Generator, light_mode: str = "any") -> Lighting:
    """Sun and sky, overcast, near-flash, grazing, or two lights: varied on purpose.

    light_mode "canonical" turns the key light (the first) about the Z axis by whole quarter turns
    until its azimuth lies within 45 degrees of +X: the picture a quarter-turned camera would take.
    The random draws are the same in both modes, so the surfaces and set-ups match seed for seed.
    """
    lighting = _draw_lighting(rng)
    if light_mode == "canonical":
        lighting.lights[0].direction = direction(key_elevation(lighting), canonical_azimuth(key_azimuth(lighting)))
    elif light_mode != "any":
        raise ValueError(f"unknown light mode {light_mode!r}: use one of {', '.join(LIGHT_MODES)}")
    return lighting


def _draw_lighting(rng: np.random.Generator) -> Lighting:
    def warm_cold():
        t = rng.uniform(-1, 1)
        return np.array([1 + 0.15 * t, 1.0, 1 - 0.15 * t])

    # Directional light most of the time: it is what makes relief readable in a photo. Overcast
    # and flash (shading that says little about slope direction) stay in the mix, rarer.
    kind = rng.choice(["sun", "overcast", "flash", "grazing", "two"], p=[0.45, 0.125, 0.125, 0.15, 0.15])
    sky_col = np.array([0.8, 0.9, 1.1]) * rng.uniform(0.7, 1.2)

    def sun_softness():
        # The sun is 0.53 degrees across (softness, the penumbra's growth per unit of distance,
        # about 0.005): against Cycles its shadows are hard, and the first generator's 0.05-0.5
        # made them several times too soft. Haze and larger lamps soften them, less often.
        return float(np.exp(rng.uniform(np.log(0.003), np.log(0.08))))

    # Sky occlusion is physical (1): the occlusion term itself now matches a path tracer's.
    if kind == "sun":
        sun = Light(direction(rng.uniform(20, 75), rng.uniform(0, 360)), warm_cold() * rng.uniform(2, 5),
                    sun_softness())
        return Lighting("sun", [sun], sky_col * rng.uniform(0.1, 0.6), 1.0)
    if kind == "grazing":
        sun = Light(direction(rng.uniform(8, 25), rng.uniform(0, 360)), warm_cold() * rng.uniform(2, 5),
                    sun_softness())
        return Lighting("grazing", [sun], sky_col * rng.uniform(0.05, 0.4), 1.0)
    if kind == "overcast":
        # A dome brighter toward one side gives soft directional shading.
        soft = Light(direction(rng.uniform(40, 90), rng.uniform(0, 360)), np.ones(3) * rng.uniform(0.0, 0.6), 2.0)
        return Lighting("overcast", [soft], np.ones(3) * rng.uniform(0.8, 1.5), 1.0)
    if kind == "flash":
        flash = Light(direction(rng.uniform(70, 90), rng.uniform(0, 360)), np.ones(3) * rng.uniform(2, 4), 0.05)
        return Lighting("flash", [flash], sky_col * rng.uniform(0.0, 0.15), 1.0)
    key = Light(direction(rng.uniform(20, 70), rng.uniform(0, 360)), warm_cold() * rng.uniform(2, 4),
                float(np.exp(rng.uniform(np.log(0.005), np.log(0.3)))))
    fill = Light(direction(rng.uniform(20, 70), rng.uniform(0, 360)), warm_cold() * rng.uniform(0.3, 1.5), 0.6)
    return Lighting("two", [key, fill], sky_col * rng.uniform(0.05, 0.3), 1.0)


def _sample_wrapped(h: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """h shifted by a sub-pixel offset (dx columns, dy rows), bilinear, wrapping around."""
    size_y, size_x = h.shape
    mx = (np.arange(size_x) + dx).astype(np.float32)[None, :].repeat(size_y, 0)  # remap wants float32 maps
    my = (np.arange(size_y) + dy).astype(np.float32)[:, None].repeat(size_x, 1)
    return cv2.remap(h.astype(np.float32), mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)


def cast_shadow(height: np.ndarray, light_dir: np.ndarray, softness: float, max_dist: float = 64.0) -> np.ndarray:
    """Visibility of the light in [0, 1] by marching the height field toward it."""
    horiz = float(np.hypot(light_dir[0], light_dir[1]))
    if horiz < 1e-3:
        return np.ones_like(height, dtype=np.float32)
    tan_e = light_dir[2] / horiz
    step_x, step_y = light_dir[0] / horiz, -light_dir[1] / horiz  # +Y is up = toward row 0
    h = height.astype(np.float32)
    lit = np.ones_like(h)
    t = 1.0
    while t <= max_dist:
        above = _sample_wrapped(h, step_x * t, step_y * t) - h - t * tan_e
        lit = np.minimum(lit, 1.0 - np.clip(above / (softness * t + 0.5), 0.0, 1.0))
        t = t + max(1.0, t * 0.25)
    return lit


HORIZON_DIRS = 16  # azimuth slices of the sky, centred between the axes: see _slice_azimuth


def _slice_azimuth(k: int) -> float:
    """Azimuth in radians of sky slice k. Offset by half a slice, so that no slice runs exactly
    along the grooves of bricks, planks and tiles (mostly on the axes): a slice along a groove
    sees open sky down its whole length and would count its whole wedge as open."""
    return 2.0 * np.pi * (k + 0.5) / HORIZON_DIRS


def _upsample_wrapped(img: np.ndarray, factor: int) -> np.ndarray:
    """Bilinear upsampling of a tileable (..., H, W) stack by an integer factor, wrapping around."""
    size_y, size_x = img.shape[-2:]
    pad = np.pad(img, [(0, 0)] * (img.ndim - 2) + [(1, 1), (1, 1)], mode="wrap")
    flat = pad.reshape((-1,) + pad.shape[-2:])
    up = np.stack([cv2.resize(a, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR) for a in flat])
    up = up[:, factor:factor + size_y * factor, factor:factor + size_x * factor]
    return up.reshape(img.shape[:-2] + up.shape[-2:])


def horizon_tangents(height: np.ndarray, max_dist: float = 64.0) -> np.ndarray:
    """(HORIZON_DIRS, H, W): tangent of the elevation (>= 0) of the height field's horizon in each
    azimuth slice (slice k at _slice_azimuth(k) from +X toward +Y), marched out to max_dist px."""
    h = height.astype(np.float32)
    out = np.empty((HORIZON_DIRS,) + h.shape, np.float32)
    for k in range(HORIZON_DIRS):
        a = _slice_azimuth(k)
        dx, dy = np.cos(a), -np.sin(a)  # +Y is up = toward row 0
        best = np.zeros_like(h)
        t = 1.0
        while t <= max_dist:
            best = np.maximum(best, (_sample_wrapped(h, dx * t, dy * t) - h) / t)
            t += max(1.0, 0.3 * t)
        out[k] = best
    return out


def sky_visibility(normals: np.ndarray, height: np.ndarray | None, coarse: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """-> (open, seen): irradiance from a uniform sky of radiance 1/pi on each pixel as a share of
    a flat open ground's, without and with the relief hiding parts of the sky. `open` is 1 on flat
    ground and (1 + n_z) / 2 on a tilted plane; `seen` is less in cavities.

    Each azimuth slice contributes the cosine-weighted sky above its horizon (or above the pixel's
    own tangent plane, whichever is higher): for a normal with component t along the slice and
    horizon elevation a, t * (pi/2 - a - sin(2a)/2) + n_z * cos(a)^2, averaged over slices.
    coarse > 1 works on normals and heights averaged down by that factor (heights rescaled with it,
    so slopes keep their values) and scales the result back up: coarse**2 times faster, for the
    generator's 2x renders, whose detail the camera averages away. Checked against Cycles by
    benchmarks/shading_vs_cycles.py: the generator's first occlusion term (the solid-angle share of
    the sky above the horizon) darkened cavities about three times too much.
    """
    n = normals.astype(np.float32)
    if coarse > 1:
        size_y, size_x = n.shape[:2]
        n = n.reshape(size_y // coarse, coarse, size_x // coarse, coarse, 3).mean(axis=(1, 3))
        n = n / np.linalg.norm(n, axis=-1, keepdims=True)
        small = None if height is None else (
            height.reshape(size_y // coarse, coarse, size_x // coarse, coarse).mean(axis=(1, 3)) / coarse)
        both = np.stack(sky_visibility(n, small))
        return tuple(np.clip(_upsample_wrapped(both, coarse), 0.0, 1.0))
    tan_h = horizon_tangents(height) if height is not None else None
    nz = np.maximum(n[..., 2], 1e-6)

    def share(t, u):  # one slice's cosine-weighted sky above elevation arctan(u)
        c2 = 1.0 / (1.0 + u * u)
        return t * (np.pi / 2 - np.arctan(u) - u * c2) + nz * c2

    open_, seen = np.zeros(n.shape[:2], np.float32), np.zeros(n.shape[:2], np.float32)
    for k in range(HORIZON_DIRS):
        a = _slice_azimuth(k)
        t = n[..., 0] * np.float32(np.cos(a)) + n[..., 1] * np.float32(np.sin(a))
        tangent = np.maximum(-t, 0.0) / nz
        open_ += share(t, tangent)
        seen += share(t, np.maximum(tan_h[k], tangent)) if tan_h is not None else 0.0
    open_ = np.clip(open_ / HORIZON_DIRS, 0.0, 1.0)
    seen = np.clip(seen / HORIZON_DIRS, 0.0, 1.0) if tan_h is not None else open_
    return open_, np.minimum(seen, open_)


def sky_irradiance(normals: np.ndarray, height: np.ndarray | None) -> np.ndarray:
    """The sky irradiance each pixel receives (sky_visibility's `seen`; with height None, `open`)."""
    return sky_visibility(normals, height)[1]


def interreflection(albedo: np.ndarray, radiance: np.ndarray, sky_seen: np.ndarray, sigma: float = 6.0) -> np.ndarray:
    """Light bounced between parts of the relief, which a path tracer adds and direct shading lacks.

    `sky_seen` is the share of a flat open ground's sky irradiance that each pixel receives
    (sky_visibility's `seen`). The rest of its cosine-weighted hemisphere, 1 - sky_seen, looks at
    surface: the walls of a cavity, and on a facet tilted by t the (1 - cos t) / 2 below the
    horizon, where it faces the ground. Those directions are taken to shine with the blurred
    radiance around the pixel; further bounces add a geometric series. (Until the tenth session
    only the relief's own horizon, open - seen, was counted: a tilted facet got no light from the
    ground it leans toward, and the bounce was 0.74 of Cycles'.) On the generator's own height
    fields under sun and sky this follows Cycles' four-bounce renders
    (benchmarks/bounce_vs_cycles.py), which add 2-3% to gentle relief and 15-30% to steep.
    """
    blocked = np.clip(1.0 - sky_seen, 0.0, 1.0)[..., None]
    around = noise.periodic_blur(radiance, sigma)
    return albedo * blocked * around / (1.0 - np.clip(albedo * blocked, 0.0, 0.9))


def shade(albedo: np.ndarray, normals: np.ndarray, height: np.ndarray, lighting: Lighting,
          roughness: float, specular: float, bounce: bool = True, coarse: int = 1) -> np.ndarray:
    """Linear radiance seen from straight above: Lambert + GGX specular per light, a sky occluded by
    the relief, and (bounce) the light interreflected between parts of the relief. coarse: the
    sky's share is found on normals and heights averaged down by this factor (sky_visibility)."""
    n = normals.astype(np.float32)
    sky_open, sky_seen = sky_visibility(n, height, coarse)
    sky_vis = sky_open - lighting.sky_occlusion * (sky_open - sky_seen)
    diffuse = lighting.sky[None, None, :] * sky_vis[..., None]
    gloss = np.zeros_like(diffuse)
    a2 = max(roughness, 0.05) ** 4
    nv = np.clip(n[..., 2], 1e-4, 1.0)
    for light in lighting.lights:
        L = light.direction.astype(np.float32)
        nl = np.clip(n @ L, 0.0, 1.0)
        vis = cast_shadow(height, L, light.shadow_softness)
        Hv = L + np.array([0, 0, 1], np.float32)
        Hv = Hv / np.linalg.norm(Hv)
        nh = np.clip(n @ Hv, 0.0, 1.0)
        D = a2 / (np.pi * (nh * nh * (a2 - 1.0) + 1.0) ** 2)
        k = (roughness + 1.0) ** 2 / 8.0
        G = (nl / (nl * (1 - k) + k)) * (nv / (nv * (1 - k) + k))
        vh = float(np.clip(Hv[2], 0, 1))
        F = specular + (1 - specular) * (1 - vh) ** 5
        spec = D * G * F / (4.0 * nv * np.maximum(nl, 1e-4) + 1e-6) * nl
        diffuse = diffuse + (nl * vis)[..., None] * light.color[None, None, :]
        gloss = gloss + (spec * vis)[..., None] * light.color[None, None, :]
    out = albedo * diffuse + gloss
    if bounce:
        out = out + interreflection(albedo, albedo * diffuse, sky_seen)
    return out
