"""Surface colour for synthetic materials: partly tied to the height field, partly independent.

Tied: dirt in grooves and cavities, worn (lighter) convex edges, a colour per brick or cell.
Independent: stains, paint patches, colour noise and printed patterns, so that "dark" does not
simply mean "low" and the network must read shading rather than colour.
Returns linear RGB in (0, 1).
"""

from __future__ import annotations

import colorsys

import numpy as np

from . import noise


def _random_color(rng, sat_max=0.6):
    h, s, v = rng.random(), rng.uniform(0, sat_max) ** 1.5, rng.uniform(0.12, 0.9)
    return np.array(colorsys.hsv_to_rgb(h, s, v)) ** 2.2  # sRGB-ish -> linear


def random_albedo(rng: np.random.Generator, height: np.ndarray, groove: np.ndarray, part: np.ndarray) -> np.ndarray:
    size = height.shape[0]
    # How busy the surface colour is, independent of the relief. Mostly low: in a photo an artist
    # takes of a texture the relief shows. A generator where prints and stains routinely bury the
    # shading (the first version) teaches the network that brightness says nothing about shape.
    clutter = rng.uniform(0.0, 1.0) ** 2
    base = _random_color(rng)
    alt = _random_color(rng)
    alb = np.ones((size, size, 3)) * base
    # A colour per brick / cell / thread.
    if rng.random() < 0.7:
        alb = alb * (1.0 + rng.uniform(0.0, 0.6) * (part[..., None] - 0.5))
    if rng.random() < 0.3:
        alb = alb + (alt - base) * (part[..., None] > rng.uniform(0.3, 0.8))
    # Grooves (mortar, gaps) often have their own colour.
    if groove.any() and rng.random() < 0.8:
        mortar = _random_color(rng, 0.3)
        alb = alb + (mortar - alb) * (groove[..., None] * rng.uniform(0.3, 1.0))
    # Cavity dirt and edge wear, from the height field.
    cav = noise.periodic_blur(height, rng.uniform(2, 8)) - height
    cav = cav / (np.abs(cav).std() + 1e-9)
    if rng.random() < 0.6:
        alb = alb * np.clip(1.0 - rng.uniform(0.0, 0.25) * np.clip(cav, 0, 3), 0.2, 1)[..., None]
    if rng.random() < 0.4:
        alb = alb * np.clip(1.0 + rng.uniform(0.0, 0.2) * np.clip(-cav, 0, 3), 1, 1.8)[..., None]
    # Independent of height: stains, colour noise, printed patterns.
    if rng.random() < 0.5:
        stain = noise.spectral_noise(rng, size, beta=rng.uniform(2, 3.5))
        alb = alb * np.exp(clutter * rng.uniform(0.03, 0.3) * stain)[..., None]
    if rng.random() < 0.1:
        paint = noise.spectral_noise(rng, size, beta=3.0) > rng.uniform(0.3, 1.5)
        alb = alb + (_random_color(rng, 0.9) - alb) * (paint[..., None] * clutter)
    if rng.random() < 0.5:
        alb = alb * (1.0 + clutter * rng.uniform(0.02, 0.15) * rng.standard_normal((size, size, 1)))
    if rng.random() < 0.5:
        alb = alb * (1.0 + clutter * rng.uniform(0.0, 0.2) * noise.spectral_noise(rng, size, beta=1.0)[..., None])
    if rng.random() < 0.05:
        alb = _printed_pattern(rng, size, alb, clutter)
    return np.clip(alb, 0.01, 0.95)


def plain_albedo(rng: np.random.Generator, size: int) -> np.ndarray:
    """One colour with a faint grain: plaster, sand, concrete, paint. Brightness is then shading.

    The first stage of training uses these, so the network learns to read shading before it has
    to tell shading from colour (see pretrained/train_shipped.sh)."""
    alb = np.ones((size, size, 3)) * _random_color(rng)
    alb = alb * (1.0 + rng.uniform(0.0, 0.04) * rng.standard_normal((size, size, 1)))
    return np.clip(alb, 0.01, 0.95)


def _printed_pattern(rng, size, alb, opacity):
    """Stripes, checks or dots printed on the surface, unrelated to its relief."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    k = int(rng.integers(2, 16))
    kind = rng.integers(3)
    if kind == 0:
        mask = np.sin(2 * np.pi * k * (xx if rng.random() < 0.5 else yy)) > 0
    elif kind == 1:
        mask = (np.floor(xx * k) + np.floor(yy * k)) % 2 == 0
    else:
        mask = np.hypot(xx * k % 1 - 0.5, yy * k % 1 - 0.5) < rng.uniform(0.1, 0.4)
    return alb + (_random_color(rng, 0.9) - alb) * (mask[..., None] * opacity * rng.uniform(0.3, 1.0))
