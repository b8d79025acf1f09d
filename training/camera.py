"""Camera effects: linear radiance in, an 8-bit sRGB "photo" out.

Exposure, white balance, a tone curve (plain sRGB with clipping, a filmic log + sigmoid curve like
the AgX and Filmic view transforms, or a gamma with contrast), sensor noise, lens blur and JPEG.
Blur and noise wrap around so the photo stays tileable (JPEG blocks do not, and need not).
"""

from __future__ import annotations

import cv2
import numpy as np

from . import noise


def _srgb_encode(x):
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def _filmic(x, rng):
    lo, hi = rng.uniform(5, 9), rng.uniform(5, 9)  # stops below / above middle grey
    ev = np.log2(np.maximum(x, 1e-6) / 0.18)
    t = np.clip((ev + lo) / (lo + hi), 0, 1)
    c = rng.uniform(1.2, 2.2)  # contrast of the sigmoid
    s = t**c / (t**c + (1 - t) ** c)
    return s ** rng.uniform(0.9, 1.25)


CURVES = ("srgb", "filmic", "gamma")


def develop(radiance: np.ndarray, rng: np.random.Generator, curve: str | None = None) -> np.ndarray:
    """Linear RGB radiance -> uint8 sRGB photo.

    `curve` forces the tone curve (one of CURVES). The random choice is still drawn, so the
    exposure and white balance stay those of the unforced photo; blur, noise and JPEG, drawn
    after the curve's own parameters, may differ.
    """
    if curve is not None and curve not in CURVES:
        raise ValueError(f"unknown tone curve {curve!r}: use one of {', '.join(CURVES)}")
    x = radiance * (rng.uniform(0.12, 0.6) / max(float(np.mean(radiance)), 1e-6))  # auto exposure
    x = x * np.array([rng.uniform(0.85, 1.15), 1.0, rng.uniform(0.85, 1.15)])  # white balance
    if rng.random() < 0.3:  # photon noise, before the tone curve
        x = np.maximum(x + rng.uniform(0.002, 0.02) * rng.standard_normal(x.shape) * np.sqrt(x + 0.01), 0)
    drawn = str(rng.choice(["srgb", "filmic", "filmic", "gamma"]))
    curve = curve or drawn
    if curve == "srgb":
        y = _srgb_encode(x)
    elif curve == "filmic":
        y = _filmic(x, rng)
    else:
        y = np.clip(x, 0, 1) ** (1 / rng.uniform(1.8, 2.6))
        c = rng.uniform(0.8, 1.3)
        y = np.clip(0.5 + c * (y - 0.5), 0, 1)
    if rng.random() < 0.5:
        y = noise.periodic_blur(y, rng.uniform(0.3, 1.2))
    if rng.random() < 0.3:
        y = y + rng.uniform(0.002, 0.015) * rng.standard_normal(y.shape)
    img = np.clip(np.round(y * 255.0), 0, 255).astype(np.uint8)
    if rng.random() < 0.35:
        ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(55, 97))])
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(img)
