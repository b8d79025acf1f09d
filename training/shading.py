"""Physically based shading of a height field: the "photo" side of a synthetic pair.

Everything is in linear light and wraps at the borders. Heights are in pixel units, the same scale
the ground-truth normals are computed at, so shading and normals describe one surface.
Directions are OpenGL tangent space: X right, Y up (towards image row 0), Z toward the camera.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np


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
    sky_occlusion: float  # how strongly ambient occlusion darkens the sky term (0..1)


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


def random_lighting(rng: np.random.Generator, light_mode: str = "any") -> Lighting:
    """Sun and sky, overcast, near-flash, grazing, or two lights: varied on purpose.

    light_mode "canonical" turns the key light (the first) about the Z axis by whole quarter turns
    until its azimuth lies within 45 degrees of +X: the picture a quarter-turned camera would take.
    The random draws are the same in both modes, so the surfaces and set-ups match seed for seed.
    """
    lighting = _draw_lighting(rng)
    if light_mode == "canonical":
        key = lighting.lights[0]
        elevation = float(np.degrees(np.arcsin(np.clip(key.direction[2], -1.0, 1.0))))
        key.direction = direction(elevation, canonical_azimuth(key_azimuth(lighting)))
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
    if kind == "sun":
        sun = Light(direction(rng.uniform(20, 75), rng.uniform(0, 360)), warm_cold() * rng.uniform(2, 5),
                    rng.uniform(0.05, 0.5))
        return Lighting("sun", [sun], sky_col * rng.uniform(0.1, 0.6), rng.uniform(0.5, 1.0))
    if kind == "grazing":
        sun = Light(direction(rng.uniform(8, 25), rng.uniform(0, 360)), warm_cold() * rng.uniform(2, 5),
                    rng.uniform(0.05, 0.5))
        return Lighting("grazing", [sun], sky_col * rng.uniform(0.05, 0.4), rng.uniform(0.5, 1.0))
    if kind == "overcast":
        # A dome brighter toward one side gives soft directional shading.
        soft = Light(direction(rng.uniform(40, 90), rng.uniform(0, 360)), np.ones(3) * rng.uniform(0.0, 0.6), 2.0)
        return Lighting("overcast", [soft], np.ones(3) * rng.uniform(0.8, 1.5), 1.0)
    if kind == "flash":
        flash = Light(direction(rng.uniform(70, 90), rng.uniform(0, 360)), np.ones(3) * rng.uniform(2, 4), 0.05)
        return Lighting("flash", [flash], sky_col * rng.uniform(0.0, 0.15), rng.uniform(0.3, 1.0))
    key = Light(direction(rng.uniform(20, 70), rng.uniform(0, 360)), warm_cold() * rng.uniform(2, 4), 0.3)
    fill = Light(direction(rng.uniform(20, 70), rng.uniform(0, 360)), warm_cold() * rng.uniform(0.3, 1.5), 0.6)
    return Lighting("two", [key, fill], sky_col * rng.uniform(0.05, 0.3), rng.uniform(0.5, 1.0))


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


def ambient_occlusion(height: np.ndarray, max_dist: int = 32) -> np.ndarray:
    """Horizon-based AO in 8 directions: the unoccluded share of the sky, in [0, 1]."""
    h = height.astype(np.float32)
    dirs = [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)]
    total = np.zeros_like(h)
    for dx, dy in dirs:
        norm = float(np.hypot(dx, dy))
        horizon = np.zeros_like(h)
        t = 1
        while t <= max_dist:
            shifted = np.roll(h, shift=(-dy * t, -dx * t), axis=(0, 1))
            horizon = np.maximum(horizon, (shifted - h) / (t * norm))
            t *= 2
        total += 1.0 - np.sin(np.arctan(horizon))
    return total / len(dirs)


def shade(albedo: np.ndarray, normals: np.ndarray, height: np.ndarray, lighting: Lighting,
          roughness: float, specular: float) -> np.ndarray:
    """Linear radiance seen from straight above: Lambert + GGX specular per light, plus sky."""
    n = normals.astype(np.float32)
    ao = ambient_occlusion(height)
    sky_vis = 1.0 - lighting.sky_occlusion * (1.0 - ao)
    sky_irr = 0.5 * (1.0 + n[..., 2])
    out = albedo * lighting.sky[None, None, :] * (sky_irr * sky_vis)[..., None]
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
        out = out + (albedo * nl[..., None] + spec[..., None]) * (vis * 1.0)[..., None] * light.color[None, None, :]
    return out
