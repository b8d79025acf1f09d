"""Height from normals: Frankot-Chellappa integration of the slope field (FFT).

The normals give the height's gradient, p = dh/dx = -nx/nz and q = dh/drow = +ny/nz (OpenGL: +Y is
up and image rows go down). The height whose gradient is closest to (p, q) in the least-squares
sense is, in Fourier space, H = -j (wx P + wy Q) / (wx² + wy²): one FFT, one division, one
inverse FFT. The FFT assumes a periodic image, which is exactly right for a seamless texture; any
other photo is first extended by mirroring to 2H x 2W (even in h, so p is odd across vertical
mirrors and q across horizontal ones), which is periodic and seamless, then cropped back. Height
is only defined up to an offset and a scale, so it is returned stretched to [0, 1].
"""

from __future__ import annotations

import numpy as np
from scipy import fft

_MIN_NZ = 1e-3  # grazing normals would give infinite slopes


def height_from_normals(normals: np.ndarray, *, periodic: bool = False) -> np.ndarray:
    """(H, W, 3) OpenGL unit normals -> (H, W) float32 height in [0, 1] (white = high)."""
    height = integrate_normals(normals, periodic=periodic)
    span = float(height.max() - height.min())
    if span <= 1e-12:
        return np.full(height.shape, 0.5, np.float32)
    return ((height - height.min()) / span).astype(np.float32)


def integrate_normals(normals: np.ndarray, *, periodic: bool = False, row_weight: float = 1.0) -> np.ndarray:
    """(H, W, 3) OpenGL unit normals -> (H, W) float32 height in pixel units, mean zero: the
    least-squares surface itself, before `height_from_normals` stretches it to [0, 1].

    row_weight weighs the slope along the rows' direction (Y) against the slope along X in the
    least squares: 1 trusts both alike; near 0 builds the surface from the X slopes alone
    (benchmarks/light_components.py, where X is the light's direction)."""
    n = np.asarray(normals, dtype=np.float32)
    rows, cols = n.shape[:2]
    nz = np.maximum(n[..., 2], _MIN_NZ)
    p = -n[..., 0] / nz
    q = n[..., 1] / nz
    if not periodic:
        p = np.block([[p, -p[:, ::-1]], [p[::-1], -p[::-1, ::-1]]])
        q = np.block([[q, q[:, ::-1]], [-q[::-1], -q[::-1, ::-1]]])
    return _integrate_periodic(p, q, row_weight)[:rows, :cols]


def _integrate_periodic(p: np.ndarray, q: np.ndarray, row_weight: float = 1.0) -> np.ndarray:
    """Least-squares h with dh/dx = p (along columns) and dh/drow = q, the second weighted by
    row_weight, periodic borders."""
    rows, cols = p.shape
    wy = (2 * np.pi * fft.fftfreq(rows)).astype(np.float32)[:, None]
    wx = (2 * np.pi * fft.rfftfreq(cols)).astype(np.float32)[None, :]
    denom = wx**2 + row_weight * wy**2
    denom[0, 0] = 1.0  # the mean height is free: keep it 0
    spectrum = (-1j * wx * fft.rfft2(p) - 1j * row_weight * wy * fft.rfft2(q)) / denom
    spectrum[0, 0] = 0.0
    return fft.irfft2(spectrum, s=(rows, cols)).astype(np.float32)
