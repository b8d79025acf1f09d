"""Input normalisation: the one function both inference and training call before the network.

Photos arrive as float32 sRGB in [0, 1] (H, W, 3). The network sees each channel minus the
image's mean, divided by the image's overall standard deviation: exposure, white balance and
contrast then matter less, and the shading pattern is what is left. Statistics are taken over the
*whole* image (never per tile), so tiled and one-pass inference see the same input.
"""

from __future__ import annotations

import numpy as np

_EPS = 1.0 / 255.0


def normalize_photo(photo: np.ndarray) -> np.ndarray:
    """(H, W, 3) or (N, H, W, 3) float sRGB in [0, 1] -> float32 normalised network input."""
    photo = np.asarray(photo, dtype=np.float32)
    axes = (-3, -2)
    mean = photo.mean(axis=axes, keepdims=True)
    centered = photo - mean
    std = np.sqrt((centered**2).mean(axis=(-3, -2, -1), keepdims=True))
    return (centered / np.maximum(std, _EPS)).astype(np.float32)
