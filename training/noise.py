"""Tileable noise primitives on an S x S torus (every function here wraps around at the borders).

All take a `numpy.random.Generator`, so a sample is a pure function of its seed.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def spectral_noise(rng: np.random.Generator, size: int, beta: float = 2.0, fmin: float = 1.0,
                   fmax: float | None = None) -> np.ndarray:
    """fBm-like noise by spectral synthesis: white noise shaped by 1/f**(beta/2) in amplitude.

    Frequencies are in cycles per tile; only [fmin, fmax] is kept. Periodic by construction.
    Returned with zero mean and unit standard deviation.
    """
    fmax = fmax or size / 2
    white = rng.standard_normal((size, size))
    spec = np.fft.rfft2(white)
    fy = np.fft.fftfreq(size)[:, None] * size
    fx = np.fft.rfftfreq(size)[None, :] * size
    f = np.sqrt(fx * fx + fy * fy)
    amp = np.where((f >= fmin) & (f <= fmax), 1.0 / np.maximum(f, 1e-6) ** (beta / 2.0), 0.0)
    out = np.fft.irfft2(spec * amp, s=(size, size))
    return _standardize(out)


def ridged_noise(rng: np.random.Generator, size: int, octaves: int = 4, base_freq: float = 3.0) -> np.ndarray:
    """Ridged multifractal-ish noise: sum of 1 - |band noise|, sharp crests, in [0, 1]."""
    out = np.zeros((size, size))
    amp, total = 1.0, 0.0
    freq = base_freq
    for _ in range(octaves):
        band = spectral_noise(rng, size, beta=0.0, fmin=freq, fmax=freq * 2.0)
        out += amp * (1.0 - np.abs(np.tanh(band)))**2
        total += amp
        amp *= 0.5
        freq *= 2.0
        if freq > size / 3:
            break
    return out / total


def voronoi(rng: np.random.Generator, size: int, cells: int, jitter: float = 1.0):
    """Periodic Worley noise. Returns (f1, f2, cell_id, centers): distances in pixels to the nearest
    and second-nearest feature points, the nearest point's index, and the points (x, y)."""
    side = max(1, int(round(np.sqrt(cells))))
    gy, gx = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    base = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float64) + 0.5
    pts = (base + (rng.random(base.shape) - 0.5) * jitter) * (size / side)
    pts = np.mod(pts, size)
    tree = cKDTree(pts, boxsize=size)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    q = np.stack([xx.ravel(), yy.ravel()], axis=1)
    d, idx = tree.query(q, k=2)
    shape = (size, size)
    return d[:, 0].reshape(shape), d[:, 1].reshape(shape), idx[:, 0].reshape(shape), pts


def white_lookup(rng: np.random.Generator, size: int) -> np.ndarray:
    """A periodic table of uniform [0, 1) values, read at a feature's centre for per-feature randomness."""
    return rng.random((size, size))


def sample_at(table: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Nearest lookup of a periodic table at (possibly out-of-range) pixel coordinates."""
    s = table.shape[0]
    return table[np.mod(np.floor(y).astype(np.int64), s), np.mod(np.floor(x).astype(np.int64), s)]


def warp_field(rng: np.random.Generator, size: int, amount: float, freq: float = 4.0):
    """A smooth periodic displacement (dx, dy) in pixels for domain warping."""
    if amount <= 0:
        z = np.zeros((size, size))
        return z, z
    dx = spectral_noise(rng, size, beta=3.0, fmin=1.0, fmax=freq * 2)
    dy = spectral_noise(rng, size, beta=3.0, fmin=1.0, fmax=freq * 2)
    return dx * amount, dy * amount


def periodic_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with wrap-around borders (via FFT), sigma in pixels."""
    if sigma <= 0:
        return img
    size_y, size_x = img.shape[:2]
    fy = np.fft.fftfreq(size_y)[:, None]
    fx = np.fft.rfftfreq(size_x)[None, :]
    g = np.exp(-2.0 * (np.pi * sigma) ** 2 * (fx * fx + fy * fy))
    if img.ndim == 2:
        return np.fft.irfft2(np.fft.rfft2(img) * g, s=img.shape)
    return np.stack([periodic_blur(img[..., c], sigma) for c in range(img.shape[2])], axis=-1)


def _standardize(x: np.ndarray) -> np.ndarray:
    x = x - x.mean()
    return x / max(float(x.std()), 1e-12)
