"""Procedural height-field families for synthetic training materials, all tileable.

Each family is `family(rng, size) -> Layer`: a height field (arbitrary units; the generator rescales
it to a chosen slope later), a `groove` mask in [0, 1] (mortar, gaps, cracks: where dirt collects)
and a `part` field in [0, 1] (a random value per brick, cell or plank, for albedo variation).
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from . import noise


@dataclasses.dataclass
class Layer:
    height: np.ndarray
    groove: np.ndarray
    part: np.ndarray


def _grid(size: int):
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    return xx, yy


def _smoothstep(e0, e1, x):
    t = np.clip((x - e0) / np.maximum(e1 - e0, 1e-9), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _rotated_lattice(rng, size, warp=0.0):
    """Coordinates (u, v) in tile units along a direction (a, b) with small integers, so that any
    pattern periodic in u and v with integer periods stays periodic on the torus."""
    a, b = [(1, 0), (1, 0), (1, 0), (0, 1), (1, 1), (2, 1), (1, 2), (3, 1), (1, 3), (3, 2)][rng.integers(10)]
    a = -a if rng.random() < 0.5 else a
    xx, yy = _grid(size)
    wx, wy = noise.warp_field(rng, size, warp)
    xx, yy = xx + wx, yy + wy
    u = (a * xx + b * yy) / size
    v = (-b * xx + a * yy) / size
    return u, v, (a, b)


def _lattice_to_xy(size, ab, u, v):
    a, b = ab
    n = a * a + b * b
    return size * (a * u - b * v) / n, size * (b * u + a * v) / n


def fbm(rng, size, zoom=1):
    beta = rng.uniform(1.6, 3.2)
    if zoom > 1:  # broad: the spectrum steep enough that its slope sits in the lowest octaves
        beta = beta + 1.2
    h = noise.spectral_noise(rng, size, beta=beta, fmin=rng.uniform(1, 4) / zoom ** 0.5)
    if rng.random() < 0.3:  # terraced / eroded look
        h = np.round(h * rng.uniform(1, 4)) + 0.6 * h
    part = noise.spectral_noise(rng, size, beta=3.0)
    return Layer(h, np.zeros_like(h), _to_unit(part))


def ridged(rng, size, zoom=1):
    octaves, base_freq = int(rng.integers(2, 6)), rng.uniform(2, 8)
    if zoom > 1:
        octaves, base_freq = max(1, octaves - int(np.log2(zoom))), max(1.0, base_freq / zoom)
    h = noise.ridged_noise(rng, size, octaves=octaves, base_freq=base_freq)
    if rng.random() < 0.5:
        h = -h  # ridges become cracks/valleys
    return Layer(h, _to_unit(-h) ** 4, _to_unit(noise.spectral_noise(rng, size)))


def cells(rng, size, zoom=1):
    """Voronoi cells: cobbles (domed), flat stones with gaps, or faceted crystals."""
    n = max(3, int(rng.integers(6, 160)) // zoom**2)
    f1, f2, idx, pts = noise.voronoi(rng, size, n, jitter=rng.uniform(0.6, 1.0))
    edge = f2 - f1
    cell_px = size / np.sqrt(n)
    gap = rng.uniform(0.0, 0.08) * cell_px
    table = rng.random(len(pts))
    mode = rng.integers(3)
    if mode == 0:  # cobbles: rounded domes
        h = _smoothstep(gap, gap + rng.uniform(0.15, 0.6) * cell_px, edge) ** rng.uniform(0.4, 1.0)
    elif mode == 1:  # flat stones, bevelled, each at its own height
        h = _smoothstep(gap, gap + rng.uniform(0.03, 0.15) * cell_px, edge) * (0.6 + 0.4 * table[idx])
    else:  # cones / crystals: height grows away from the cell border linearly
        h = np.minimum(edge / cell_px, 0.5)
    h = h + 0.1 * rng.random() * noise.spectral_noise(rng, size, beta=2.0)
    groove = 1.0 - _smoothstep(0.0, gap + 0.05 * cell_px, edge)
    return Layer(h, groove, table[idx])


def bricks(rng, size, zoom=1):
    """Bricks, tiles or planks: a rotated lattice of rectangles with mortar and bevels."""
    u, v, ab = _rotated_lattice(rng, size, warp=rng.choice([0.0, 0.0, 1.5]))
    kind = rng.choice(["brick", "tile", "plank"])
    scale = np.sqrt(ab[0] ** 2 + ab[1] ** 2)
    if kind == "tile":
        nrows = max(1, int(rng.integers(2, 12)) * 2 // zoom)
        ncols = nrows
        offset = 0.0
    elif kind == "plank":
        nrows = max(2, int(rng.integers(2, 10)) * 2 // zoom // 2 * 2)
        ncols = max(1, nrows // int(rng.integers(3, 8)))
        offset = float(rng.choice([0.5, 0.25]))
    else:
        nrows = max(2, int(rng.integers(3, 14)) * 2 // zoom // 2 * 2)
        ncols = max(1, int(round(nrows / rng.uniform(1.6, 3.0))))
        offset = 0.5
    V = v * nrows
    row = np.floor(V)
    U = u * ncols + offset * np.mod(row, 2)
    col = np.floor(U)
    fu, fv = U - col, V - row
    bw = size / (ncols * scale)  # brick width in pixels
    bh = size / (nrows * scale)
    d = np.minimum(np.minimum(fu, 1 - fu) * bw, np.minimum(fv, 1 - fv) * bh)
    mortar = rng.uniform(0.5, max(0.6, 0.12 * bh)) if rng.random() < 0.85 else 0.0
    bevel = rng.uniform(0.5, max(0.6, 0.35 * min(bw, bh)))
    profile = _smoothstep(mortar, mortar + bevel, d)
    if rng.random() < 0.5:
        profile = np.sqrt(profile)  # rounded edges
    cx, cy = _lattice_to_xy(size, ab, (col + 0.5 - offset * np.mod(row, 2)) / ncols,
                            (row + 0.5) / nrows)
    table = noise.white_lookup(rng, size)
    part = noise.sample_at(table, cx, cy)
    tilt = rng.uniform(0.0, 0.25)
    h = profile * (1.0 + tilt * (part - 0.5))
    if kind == "plank":  # wood grain along the plank
        grain = np.sin(2 * np.pi * (v * nrows * rng.uniform(3, 12)) + 3 * noise.spectral_noise(rng, size, beta=3))
        h = h + rng.uniform(0.0, 0.05) * grain * profile
    return Layer(h, 1.0 - _smoothstep(0.0, mortar + 0.5, d), part)


def waves(rng, size, zoom=1):
    """Ripples, corrugation and grooves: periodic profiles across warped stripes."""
    k = max(1, int(rng.integers(2, 24)) // zoom)
    u, v, ab = _rotated_lattice(rng, size, warp=rng.choice([0.0, 3.0, 10.0, 25.0]))
    t = u * k
    shape = rng.integers(3)
    frac = t - np.floor(t)
    if shape == 0:
        h = np.sin(2 * np.pi * t)
    elif shape == 1:
        h = 1 - 2 * np.abs(frac - 0.5) * 2  # triangle
    else:
        h = _smoothstep(0.0, rng.uniform(0.05, 0.3), np.minimum(frac, 1 - frac))  # grooves
    return Layer(h, _to_unit(-h) ** 3, _to_unit(noise.spectral_noise(rng, size, beta=3)))


def bumps(rng, size, zoom=1):
    """Rivets, studs, dimples or pebbles: domes at random or regular positions."""
    if rng.random() < 0.5:
        n = max(2, int(rng.integers(4, 120)) // zoom**2)
        f1, _, idx, pts = noise.voronoi(rng, size, n, jitter=1.0)
        r = rng.uniform(0.15, 0.5) * size / np.sqrt(n)
    else:
        u, v, ab = _rotated_lattice(rng, size)
        k = max(1, int(rng.integers(3, 16)) // zoom)
        fu, fv = u * k - np.floor(u * k), v * k - np.floor(v * k)
        scale = size / (k * np.sqrt(ab[0] ** 2 + ab[1] ** 2))
        f1 = np.hypot(fu - 0.5, fv - 0.5) * scale
        r = rng.uniform(0.15, 0.45) * scale
    dome = np.sqrt(np.clip(1 - (f1 / r) ** 2, 0, 1))
    if rng.random() < 0.5:
        dome = _smoothstep(0, 1, dome)
    sign = -1.0 if rng.random() < 0.25 else 1.0  # dimples
    return Layer(sign * dome, (f1 > r).astype(np.float64) * 0.3, (dome > 0).astype(np.float64))


def weave(rng, size, zoom=1):
    """Woven fabric or basket: two thread sets passing over and under."""
    u, v, ab = _rotated_lattice(rng, size, warp=rng.choice([0.0, 2.0]))
    k = max(2, int(rng.integers(4, 32)) // zoom // 2 * 2)
    U, V = u * k, v * k
    fu, fv = U - np.floor(U), V - np.floor(V)
    thread_a = np.sqrt(np.clip(np.sin(np.pi * fv), 0, 1))
    thread_b = np.sqrt(np.clip(np.sin(np.pi * fu), 0, 1))
    over = 0.5 + 0.5 * np.sin(np.pi * (U + np.floor(V)))
    under = 0.5 + 0.5 * np.sin(np.pi * (V + np.floor(U)) + np.pi)
    h = np.maximum(thread_a * (0.4 + 0.6 * over), thread_b * (0.4 + 0.6 * under))
    return Layer(h, 1 - _smoothstep(0.0, 0.4, h), (thread_a * over > thread_b * under).astype(np.float64))


def scratches(rng, size):
    """Thin grooves along random lines (drawn on a 3x3 canvas and folded, so they wrap)."""
    canvas = np.zeros((3 * size, 3 * size), np.float32)
    n = int(rng.integers(5, 80))
    main_angle = rng.uniform(0, np.pi)
    for _ in range(n):
        ang = main_angle + rng.normal(0, 0.3) if rng.random() < 0.7 else rng.uniform(0, np.pi)
        length = rng.uniform(0.05, 0.8) * size
        cx, cy = rng.uniform(size, 2 * size, 2)
        dx, dy = np.cos(ang) * length / 2, np.sin(ang) * length / 2
        cv2.line(canvas, (int(cx - dx), int(cy - dy)), (int(cx + dx), int(cy + dy)),
                 float(rng.uniform(0.3, 1.0)), int(rng.integers(1, 3)), lineType=cv2.LINE_AA)
    folded = canvas.reshape(3, size, 3, size).sum(axis=(0, 2))
    h = -noise.periodic_blur(folded.astype(np.float64), rng.uniform(0.4, 1.2))
    return Layer(h, _to_unit(-h), np.zeros_like(h))


def cracks(rng, size):
    """Cracks: a random subset of Voronoi borders, cut into a surface."""
    n = int(rng.integers(4, 60))
    f1, f2, idx, pts = noise.voronoi(rng, size, n, jitter=1.0)
    edge = f2 - f1 + 2.0 * noise.spectral_noise(rng, size, beta=2.5, fmin=2)
    width = rng.uniform(0.7, 3.0)
    keep = noise.spectral_noise(rng, size, beta=3.0) > rng.uniform(-1.0, 0.5)
    crack = (1.0 - _smoothstep(0.0, width, np.abs(edge))) * keep
    return Layer(-crack, crack, np.zeros_like(crack))


FAMILIES = {
    "fbm": fbm,
    "ridged": ridged,
    "cells": cells,
    "bricks": bricks,
    "waves": waves,
    "bumps": bumps,
    "weave": weave,
    "scratches": scratches,
    "cracks": cracks,
}
# Families that make a whole material on their own (scratches and cracks only decorate one).
BASE_FAMILIES = ["fbm", "ridged", "cells", "bricks", "waves", "bumps", "weave"]
DETAIL_FAMILIES = ["fbm", "ridged", "scratches", "cracks", "bumps", "cells"]


def _to_unit(x):
    lo, hi = float(np.min(x)), float(np.max(x))
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


def slope_magnitude(h: np.ndarray) -> np.ndarray:
    """|grad h| per pixel (central differences, wrapping: the fields tile)."""
    gx = (np.roll(h, -1, 1) - np.roll(h, 1, 1)) * 0.5
    gy = (np.roll(h, -1, 0) - np.roll(h, 1, 0)) * 0.5
    return np.sqrt(gx * gx + gy * gy)


def rms_slope(h: np.ndarray) -> float:
    return float(np.sqrt(np.mean(slope_magnitude(h) ** 2)))


def layered_height(rng: np.random.Generator, size: int, base: str | None = None,
                   details: bool = True, zoom: int = 1) -> tuple[Layer, str]:
    """A base family plus 0-2 detail layers at smaller amplitude. Returns the layer and its name.

    base names the base family instead of drawing one, and details=False leaves the detail layers
    out (benchmarks/family_scale.py); with the defaults the draws, and so every seed's pair, are
    unchanged. zoom > 1 draws the base family with about `zoom` times fewer features across the
    tile (fewer waves, cells, bricks, bumps, threads; a steeper fBm spectrum), so its slope lives
    at long wavelengths: broad undulations, big stones, wide ripples. Detail layers are unchanged.
    """
    name = base if base is not None else str(rng.choice(BASE_FAMILIES))
    base = FAMILIES[name](rng, size, zoom) if zoom > 1 else FAMILIES[name](rng, size)
    if zoom > 1:
        name = f"{name}/{zoom}"
    h = base.height / max(rms_slope(base.height), 1e-9)
    # Raised or sunk, even odds: bricks proud of their mortar or mortar proud of the bricks
    # (raised grout, embossed tiles), domed or dished cells. A generator that always sinks the
    # joints teaches "the dark lines are low" instead of reading the light: on blender-dev, whose
    # bricks have raised mortar, that prior picked the wrong side of the light on every brick.
    if rng.random() < 0.5:
        h = -h
        name = "-" + name
    groove = base.groove.copy()
    for _ in range(int(rng.choice([0, 1, 1, 2])) if details else 0):
        det_name = str(rng.choice(DETAIL_FAMILIES))
        det = FAMILIES[det_name](rng, size)
        amount = rng.uniform(0.05, 0.6)
        h = h + amount * det.height / max(rms_slope(det.height), 1e-9)
        groove = np.maximum(groove, det.groove * amount)
        name += "+" + det_name
    return Layer(h, np.clip(groove, 0, 1), base.part), name
