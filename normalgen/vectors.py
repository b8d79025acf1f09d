"""Normal-vector maths: RGB encoding, conventions, strength, angular error.

A normal map stores a unit vector per pixel as RGB = (n + 1) / 2. OpenGL convention (the default,
Blender's): X right, Y up, Z toward the viewer. DirectX: the same with Y (green) flipped.
All arrays here are (..., 3) float32 unit vectors in the named convention.
"""

from __future__ import annotations

import math

import numpy as np

from normalgen.errors import NormalgenError

CONVENTIONS = ("opengl", "directx")
MAX_STRENGTH = 100.0  # far past any useful exaggeration; far below where the maths overflows


def check_convention(convention: str) -> str:
    c = str(convention).lower()
    if c not in CONVENTIONS:
        raise ValueError(f"unknown normal-map convention {convention!r}: use 'opengl' or 'directx'")
    return c


def _lengths(v: np.ndarray) -> np.ndarray:
    """|v| over the last axis, (..., 1) float32 (einsum: a fraction of np.linalg.norm's time)."""
    return np.sqrt(np.einsum("...i,...i->...", v, v))[..., None]


def normalize(v: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    return v / np.maximum(_lengths(v), np.float32(eps))


def convert_convention(normals: np.ndarray, source: str, target: str) -> np.ndarray:
    """Flip green when going between OpenGL and DirectX; a copy otherwise."""
    out = np.array(normals, dtype=np.float32, copy=True)
    if check_convention(source) != check_convention(target):
        out[..., 1] *= -1.0
    return out


def encode_rgb(normals: np.ndarray) -> np.ndarray:
    """Unit vectors -> float RGB in [0, 1] ((n + 1) / 2). No gamma: a normal map is data."""
    return np.clip((np.asarray(normals, dtype=np.float32) + 1.0) * 0.5, 0.0, 1.0)


def decode_rgb(rgb: np.ndarray) -> np.ndarray:
    """Float RGB in [0, 1] -> unit vectors (2 * rgb - 1, renormalised; a zero vector becomes +Z)."""
    v = np.asarray(rgb, dtype=np.float32) * np.float32(2.0) - np.float32(1.0)
    norm = _lengths(v)
    v /= np.maximum(norm, np.float32(1e-6))
    zero = norm[..., 0] <= 1e-6
    if zero.any():
        v[zero] = (0.0, 0.0, 1.0)
    return v


_PROBLEM_SAMPLE = 1 << 20  # pixels normal_map_problem looks at, at most


def normal_map_problem(rgb: np.ndarray) -> str | None:
    """Why float RGB in [0, 1] cannot be an encoded normal map, or None when it can be.

    A grey image (a height or mask map saved under a normal map's name) has equal channels; an
    encoded unit vector has length 1, where a height-like image's are far from it; a tangent-space
    normal points out of the surface (blue at least a half). Black pixels (the padding of atlases,
    trim sheets and decals) are left out of the last two tests, and each needs most pixels to
    fail: 8-bit rounding, JPEG, blurred mipmaps and steep maps stay well inside the limits.
    Every test is a share of pixels, so an image larger than about a megapixel is judged on a
    regular grid of a megapixel of them (a 4K map in a fraction of the time).
    """
    rgb = np.asarray(rgb)
    if rgb.ndim == 3 and rgb.shape[0] * rgb.shape[1] > _PROBLEM_SAMPLE:
        step = math.ceil(math.sqrt(rgb.shape[0] * rgb.shape[1] / _PROBLEM_SAMPLE))
        rgb = rgb[::step, ::step]
    v = np.asarray(rgb, dtype=np.float32)[..., :3].reshape(-1, 3) * 2.0 - 1.0
    if v.size == 0:
        return None
    if np.mean(np.ptp(v, axis=-1) < 1.5 / 255) > 0.95:
        return "it is grey (red, green and blue equal), like a height or mask map"
    total = v.shape[0]
    v = v[np.max(v, axis=-1) > -0.96]  # not black
    if v.shape[0] < 0.5 * total:
        return "it is mostly black"
    off = float(np.median(np.abs(np.linalg.norm(v, axis=-1) - 1.0)))
    if off > 0.25:
        return f"its pixels are not unit vectors (typical length off by {off:.2f}), like a height or colour map"
    inward = float(np.mean(v[:, 2] < -0.05))
    if inward > 0.5:
        return f"{inward:.0%} of its vectors point into the surface (blue under a half)"
    return None


def check_strength(strength: float) -> float:
    """`strength` as a float, or NormalgenError unless it is a number from 0 to MAX_STRENGTH."""
    try:
        value = float(strength)
    except (TypeError, ValueError):
        raise NormalgenError(f"strength must be a number, not {strength!r}.") from None
    if not (math.isfinite(value) and 0.0 <= value <= MAX_STRENGTH):
        raise NormalgenError(f"strength must be between 0 and {MAX_STRENGTH:g}, not {strength}.")
    return value


def apply_strength(normals: np.ndarray, strength: float) -> np.ndarray:
    """Scale the slope (x/z, y/z) by `strength` and renormalise: 0 is flat, 1 leaves it as is."""
    strength = check_strength(strength)
    n = np.asarray(normals, dtype=np.float32)
    if strength == 1.0:
        return n.copy()
    return scale_slopes(n, strength)


def scale_slopes(normals: np.ndarray, factor, out: np.ndarray | None = None) -> np.ndarray:
    """Each normal's slope (x/z, y/z) times `factor` (a number, or an (..., 1) array with one
    factor per pixel), renormalised, into `out` (which may be `normals` itself); unchecked
    (`apply_strength` checks a strength first)."""
    n = np.asarray(normals, dtype=np.float32)
    if out is None:
        out = np.empty(n.shape, np.float32)  # built in place: this runs on bands of an 8192² map
    np.divide(n[..., :2], np.maximum(n[..., 2:3], 1e-4), out=out[..., :2])
    out[..., :2] *= factor
    out[..., 2] = 1.0
    out /= np.linalg.norm(out, axis=-1, keepdims=True)  # at least 1: z is 1
    return out


def invert_relief(normals: np.ndarray) -> np.ndarray:
    """Turn the relief inside out: negate every slope (X and Y), keep Z. What was raised comes out
    sunk, as the normals of the negated height field; the same operation in either convention."""
    n = np.array(normals, dtype=np.float32)
    n[..., :2] *= -1.0
    return n


def angular_error_deg(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-pixel angle between two unit-vector fields, in degrees."""
    dot = np.sum(normalize(pred) * normalize(truth), axis=-1)
    return np.degrees(np.arccos(np.clip(dot, -1.0, 1.0))).astype(np.float32)


def normals_from_height(height: np.ndarray, scale: float = 1.0, wrap: bool = True) -> np.ndarray:
    """OpenGL normals of a height field (rows go down the image, so +Y is -row).

    `scale` is height units per pixel step. Central differences; periodic borders when `wrap`.
    """
    h = np.asarray(height, dtype=np.float64) * scale
    if wrap:
        dx = (np.roll(h, -1, axis=1) - np.roll(h, 1, axis=1)) * 0.5
        dy_rows = (np.roll(h, -1, axis=0) - np.roll(h, 1, axis=0)) * 0.5
    else:
        dy_rows, dx = np.gradient(h)
    # dh/dy with +Y up is -dh/drow.
    n = np.stack([-dx, dy_rows, np.ones_like(h)], axis=-1)
    return normalize(n)
