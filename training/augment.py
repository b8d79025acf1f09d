"""Training-pair augmentation. Geometry moves the photo AND the normal vectors; colour only the photo.

Vectors are OpenGL (X right, Y up = toward row 0). Turning the picture a quarter turn
counter-clockwise (np.rot90) turns every vector the same way: (x, y) -> (-y, x). A mirror left-right
negates x; top-bottom negates y. Uniform scaling leaves the vectors alone (the surface is the same,
seen from further away), so the normal map is area-averaged and renormalised.
"""

from __future__ import annotations

import cv2
import numpy as np

from normalgen.orientation import turn_normals
from normalgen.vectors import normalize


def rot90(photo: np.ndarray, normals: np.ndarray, k: int):
    """Rotate both by k quarter turns counter-clockwise (the vectors with the picture)."""
    return np.ascontiguousarray(np.rot90(photo, k)), turn_normals(normals, k)


def flip_lr(photo: np.ndarray, normals: np.ndarray):
    n = normals[:, ::-1].copy()
    n[..., 0] *= -1
    return np.ascontiguousarray(photo[:, ::-1]), n


def flip_ud(photo: np.ndarray, normals: np.ndarray):
    n = normals[::-1].copy()
    n[..., 1] *= -1
    return np.ascontiguousarray(photo[::-1]), n


def random_crop(rng, photo, normals, patch: int, scale_range=(0.5, 1.0)):
    """A patch×patch crop at a random uniform scale (1 = native, 0.5 = seen from twice as far), float32."""
    h, w = photo.shape[:2]
    s = rng.uniform(*scale_range)
    side = int(round(patch / s))
    side = min(side, h, w)
    y = int(rng.integers(0, h - side + 1))
    x = int(rng.integers(0, w - side + 1))
    p = photo[y:y + side, x:x + side].astype(np.float32)  # a cached pair is float16 (dataset.PairCache)
    n = normals[y:y + side, x:x + side].astype(np.float32)
    if side != patch:
        interp = cv2.INTER_AREA if side > patch else cv2.INTER_LINEAR
        p = cv2.resize(p, (patch, patch), interpolation=interp)
        n = normalize(cv2.resize(n, (patch, patch), interpolation=interp))
    return p, n


def random_geometry(rng, photo, normals, light: str = "any"):
    """One of the 8 symmetries of the square, applied to both.

    light="canonical": the photo's light comes from the right (+X, within 45 degrees) and must
    stay there, so only the symmetries that keep it there are drawn: none, or a top-bottom mirror.
    """
    if light == "canonical":
        return flip_ud(photo, normals) if rng.random() < 0.5 else (photo, normals)
    photo, normals = rot90(photo, normals, int(rng.integers(4)))
    if rng.random() < 0.5:
        photo, normals = flip_lr(photo, normals)
    return photo, normals


def photometric(rng, photo: np.ndarray) -> np.ndarray:
    """Float sRGB photo in [0, 1] -> jittered exposure, contrast, gamma, white balance, saturation,
    noise and blur. Never touches the normals."""
    x = photo.astype(np.float32)
    # Mild: the synthetic camera already varies the tone curve, and contrast is what tells the
    # network how steep a slope is (see normalgen.preprocess), so jitter here blurs that cue.
    x = x ** rng.uniform(0.85, 1.2)
    x = x * rng.uniform(0.7, 1.3) * np.array([rng.uniform(0.9, 1.1), 1.0, rng.uniform(0.9, 1.1)], np.float32)
    gray = x.mean(axis=-1, keepdims=True)
    x = gray + (x - gray) * rng.uniform(0.0, 1.5)
    x = 0.5 + (x - 0.5) * rng.uniform(0.85, 1.15)
    if rng.random() < 0.2:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.3, 1.0))
    if rng.random() < 0.2:
        x = x + rng.normal(0, rng.uniform(0.003, 0.02), x.shape).astype(np.float32)
    return np.clip(x, 0.0, 1.0)
