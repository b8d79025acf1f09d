"""Height from normals: Frankot-Chellappa integration of the slope field (FFT / DCT).

The normals give the height's gradient, p = dh/dx = -nx/nz and q = dh/drow = +ny/nz (OpenGL: +Y is
up and image rows go down). The height whose gradient is closest to (p, q) in the least-squares
sense is, in Fourier space, H = -j (wx P + wy Q) / (wx² + wy²): one FFT, one division, one
inverse FFT. The FFT assumes a periodic image, which is exactly right for a seamless texture.
Any other photo is treated as if mirrored to 2H x 2W (even in h, so p is odd across vertical
mirrors and q across horizontal ones), which is periodic and seamless. That mirrored problem
is a cosine transform (DCT-II) of h and sine transforms (DST-II) of the slopes on H x W itself,
so it is solved that way: a quarter of the pixels, about a quarter of the memory and time. (The
mirrored FFT also kept the slopes' Nyquist terms, which the sine transforms leave out, so the two
are close, not equal: within about 1e-4 of the height's range on smooth slopes, and within
0.1-0.3% on pixel-rough ones, more on a few rows or an odd small size, up to 4% was seen.)
Height is only defined up to an offset and a scale, so it is returned stretched to [0, 1].
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
    nz = np.maximum(n[..., 2], _MIN_NZ)
    p = -n[..., 0] / nz
    q = n[..., 1] / nz
    del nz
    if periodic:
        return _integrate_periodic(p, q, row_weight)
    return _integrate_mirrored(p, q, row_weight)


def _integrate_periodic(p: np.ndarray, q: np.ndarray, row_weight: float = 1.0) -> np.ndarray:
    """Least-squares h with dh/dx = p (along columns) and dh/drow = q, the second weighted by
    row_weight, periodic borders."""
    rows, cols = p.shape
    wy = (2 * np.pi * fft.fftfreq(rows)).astype(np.float32)[:, None]
    wx = (2 * np.pi * fft.rfftfreq(cols)).astype(np.float32)[None, :]
    denom = wx**2 + row_weight * wy**2
    denom[denom == 0] = 1.0  # the mean height is free: keep it 0
    spectrum = (-1j * wx * fft.rfft2(p, workers=-1) - 1j * row_weight * wy * fft.rfft2(q, workers=-1)) / denom
    spectrum[0, 0] = 0.0
    return fft.irfft2(spectrum, s=(rows, cols), workers=-1).astype(np.float32)


def _integrate_mirrored(p: np.ndarray, q: np.ndarray, row_weight: float = 1.0) -> np.ndarray:
    """As `_integrate_periodic` on the 2H x 2W mirror extension, cropped back, solved on H x W.

    h = sum a[l, k] cos(wy_l (row + 1/2)) cos(wx_k (x + 1/2)), wx_k = pi k / W, wy_l = pi l / H: the
    DCT-II of h. Its x slope is -wx_k a[l, k] times a sine in x, whose DST-II index is k - 1,
    and likewise along the rows; so a = -(wx P + row_weight wy Q) / (wx² + row_weight wy²) with
    P and Q the slopes' coefficients shifted by one, and h is the inverse DCT of a."""
    rows, cols = p.shape
    # p: cosines down the rows, sines along x; q: the other way round.
    slopes_x = fft.dst(fft.dct(p, type=2, axis=0, workers=-1), type=2, axis=1, workers=-1)
    del p
    wx = (np.pi * np.arange(cols) / cols).astype(np.float32)[None, :]
    wy = (np.pi * np.arange(rows) / rows).astype(np.float32)[:, None]
    a = np.zeros((rows, cols), np.float32)
    a[:, 1:] = -wx[:, 1:] * slopes_x[:, :-1]
    del slopes_x
    slopes_y = fft.dct(fft.dst(q, type=2, axis=0, workers=-1), type=2, axis=1, workers=-1)
    del q
    a[1:, :] -= np.float32(row_weight) * wy[1:] * slopes_y[:-1, :]
    del slopes_y
    denom = wx**2 + np.float32(row_weight) * wy**2
    denom[denom == 0] = 1.0  # the mean height is free: keep it 0 (and a zero row weight, its column)
    a /= denom
    del denom
    a[0, 0] = 0.0
    return fft.idct(fft.idct(a, type=2, axis=0, workers=-1), type=2, axis=1, workers=-1).astype(np.float32, copy=False)
