"""Decode one (photo, normal map) pair: the photo as stored, the map as OpenGL unit vectors.

Kept apart from `dataset` (patches for Keras) so that `relight` and evaluation scripts read pairs
without loading Keras.
"""

from __future__ import annotations

import cv2
import numpy as np

from normalgen.imageio import read_normal_map, read_photo
from normalgen.vectors import convert_convention, normalize

from .pairing import Pair


def load_pair(pair: Pair, max_side: int | None = None):
    """-> (photo float32 sRGB [0,1], normals float32 OpenGL unit vectors), same size.

    The photo is read as stored, like its normal map: an EXIF rotation turns only the photo's
    pixels, and a texture tool may or may not have applied it when it made the normal map.
    Raises ValueError when the two images differ in size.
    """
    photo = read_photo(pair.color, upright=False)
    normals = convert_convention(read_normal_map(pair.normal, convention=pair.convention, check=True), pair.convention, "opengl")
    if photo.shape[:2] != normals.shape[:2]:
        raise ValueError(f"{pair.color} is {photo.shape[1]}x{photo.shape[0]} but its normal map is "
                         f"{normals.shape[1]}x{normals.shape[0]}")
    short = min(photo.shape[:2])
    if max_side and short > max_side:
        f = max_side / short
        size = (int(round(photo.shape[1] * f)), int(round(photo.shape[0] * f)))
        photo = cv2.resize(photo, size, interpolation=cv2.INTER_AREA)
        normals = normalize(cv2.resize(normals, size, interpolation=cv2.INTER_AREA))
    return photo.astype(np.float32), normals.astype(np.float32)


def skip_reason(pair: Pair, exc: Exception) -> str:
    """Why a pair cannot be used: the error, naming its file once, without a final full stop."""
    message = str(exc).rstrip(". ")
    if pair.color.name not in message and pair.normal.name not in message:
        message = f"{pair.color}: {message}"
    return message
