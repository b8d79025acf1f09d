"""Tiled prediction: run a fully convolutional net over an image of any size in bounded memory.

A whole 8192² photo through the U-Net at once would need tens of GiB of activations, so the image
is cut into fixed-size tiles, a few tiles go through the net per call, and the predictions are
blended back into one float32 output. How, and why:

* Each axis is covered by n tiles of one length t (a multiple of the net's stride, at most `tile`)
  that overlap their neighbours by `overlap` pixels. t is shrunk to the smallest length that
  still covers the axis with n tiles, so the work done ("redundancy" = computed pixels / output
  pixels) stays near 1: about 1.2x for big images with a 768 tile and a 64 overlap, where
  DeepBump's half-tile overlap costs up to 4x.
* All tile starts lie on one grid of the stride (so `overlap` is a multiple of it): the U-Net
  pools by 16, and two tiles shifted by a non-multiple would see different pooling grids and
  disagree by many degrees in their overlap.
* A tile's prediction is weighted by a separable window that is 0 across the outer quarter of an
  overlap it shares with a neighbour and rises to 1 across the middle half (a raised cosine).
  Neighbouring ramps are complementary, so the cross-fade has no seam, and the pixels a tile
  predicts with the least context (its edges, where the net's zero padding shows) do not count.
  The summed weights are separable too (a row profile times a column profile): dividing by them
  needs two 1-D arrays, not a full-size weight map.
* Pixels outside the image are read through an index map, never padded in memory. Normal mode:
  mirror reflection (edge not repeated), with at least half an overlap of it at each border so
  border pixels are predicted as well as inner ones; it also pads sizes that are not a multiple
  of the stride. Seamless mode: wrap-around; the tiles lie on a circle and the tile that
  straddles the wrap border blends like any other, so the result tiles seamlessly.
* An axis shorter than a tile gets a single tile (one pass); a 1-pixel image is a tile of that
  one pixel. Memory is the input, the output and one batch of tiles; nothing else grows with the
  image.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

PredictFn = Callable[[np.ndarray], np.ndarray]
ProgressFn = Callable[[int, int], None]


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def _ramp(distance: np.ndarray, width: int) -> np.ndarray:
    """Blend weight at `distance` pixels from a tile edge shared with a `width`-pixel overlap.

    0 across the outer quarter of the overlap (the pixels a tile predicts with the least context
    are dropped), a raised-cosine rise across the middle half, 1 beyond. The neighbour's ramp is
    the mirror image, so the two weights sum to 1 everywhere in the overlap.
    """
    x = np.clip((distance + 0.5 - width / 4) / max(width / 2, 1), 0.0, 1.0)
    return (np.sin(0.5 * np.pi * x) ** 2).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class AxisPlan:
    """How the tiles cover one image axis: tile length and tile starts in image coordinates.

    Starts may lie before 0 or tiles may run past the end: those pixels are read reflected (or
    wrapped, when `wrap`) and, unless wrapped, never written.
    """

    length: int
    tile: int
    starts: tuple[int, ...]
    wrap: bool

    @classmethod
    def make(cls, length: int, tile: int, overlap: int, stride: int, wrap: bool) -> "AxisPlan":
        """Cover [0, length) with tiles whose starts all lie on one stride grid.

        `tile` and `overlap` must be multiples of `stride`. Aligned starts matter: the net pools
        by `stride`, so two tiles shifted by a non-multiple of it would see different pooling
        grids and disagree in their overlap.
        """
        if wrap:
            # n tiles on a circle, gaps of whole strides (the last one absorbs length % stride).
            padded = _round_up(length, stride)
            n = -(-padded // (tile - overlap))
            q, r = divmod(padded // stride, n)
            gaps = [(q + 1) * stride] * r + [q * stride] * (n - r)
            starts = np.cumsum([0] + gaps[:-1])
            return cls(length, max(gaps) + overlap, tuple(int(s) for s in starts), wrap)
        # The canvas: the image plus half an overlap of mirrored context at each border (so a
        # border pixel is predicted as well as a pixel between two tiles), up to whole strides.
        canvas = _round_up(length + 2 * (overlap // 2), stride)
        phase = -((canvas - length) // 2)
        if canvas <= tile:
            return cls(length, canvas, (phase,), wrap)
        n = -(-(canvas - overlap) // (tile - overlap))
        t = _round_up(-(-(canvas + (n - 1) * overlap) // n), stride)
        extra = n * t - (n - 1) * overlap - canvas  # whole strides, split over both borders
        first = phase - (extra // stride // 2) * stride
        return cls(length, t, tuple(first + k * (t - overlap) for k in range(n)), wrap)

    def sources(self, k: int) -> np.ndarray:
        """Image indices tile k reads (mirror-reflected or wrapped into [0, length))."""
        pos = np.arange(self.starts[k], self.starts[k] + self.tile)
        if self.wrap:
            return pos % self.length
        if self.length == 1:
            return np.zeros_like(pos)
        period = 2 * (self.length - 1)
        pos = pos % period
        return np.where(pos < self.length, pos, period - pos)

    def segments(self, k: int) -> list[tuple[slice, slice]]:
        """(slice of tile k, slice of the image) pairs that put the tile's output in place.

        One pair, clipped to the image, normally; in wrap mode one per lap around the image (a
        tile longer than the image writes some pixels more than once, and they add up).
        """
        start, end = self.starts[k], self.starts[k] + self.tile
        if not self.wrap:
            lo, hi = max(start, 0), min(end, self.length)
            return [(slice(lo - start, hi - start), slice(lo, hi))]
        pairs, pos = [], start
        while pos < end:
            i = pos % self.length
            n = min(self.length - i, end - pos)
            pairs.append((slice(pos - start, pos - start + n), slice(i, i + n)))
            pos += n
        return pairs

    def window(self, k: int) -> np.ndarray:
        """Blend weights along tile k: ramps across the overlap with each neighbour, else 1."""
        n, d = len(self.starts), np.arange(self.tile)
        w = np.ones(self.tile, np.float32)
        if self.wrap or k > 0:
            prev_end = self.starts[k - 1] + self.tile - (self.length if k == 0 else 0)
            w *= _ramp(d, prev_end - self.starts[k])
        if self.wrap or k < n - 1:
            next_start = self.starts[(k + 1) % n] + (self.length if k == n - 1 else 0)
            w *= _ramp(self.tile - 1 - d, self.starts[k] + self.tile - next_start)
        return w

    def total_weight(self) -> np.ndarray:
        """Sum of all tiles' windows at each image position (always > 0)."""
        total = np.zeros(self.length, np.float32)
        for k in range(len(self.starts)):
            w = self.window(k)
            for tile_part, image_part in self.segments(k):
                total[image_part] += w[tile_part]
        return total


@dataclasses.dataclass(frozen=True)
class TilePlan:
    """The tile grid over an image: every row tile combined with every column tile."""

    rows: AxisPlan
    cols: AxisPlan

    @property
    def n_tiles(self) -> int:
        return len(self.rows.starts) * len(self.cols.starts)

    @property
    def tile_shape(self) -> tuple[int, int]:
        return self.rows.tile, self.cols.tile

    @property
    def redundancy(self) -> float:
        """Pixels the net computes / pixels of the output (1.0 = no wasted work)."""
        computed = self.n_tiles * self.rows.tile * self.cols.tile
        return computed / (self.rows.length * self.cols.length)


def plan_tiles(
    height: int, width: int, *, tile: int, overlap: int, stride: int, wrap: bool
) -> TilePlan:
    """The tile grid predict_tiled would use (exposed so callers can report its redundancy)."""
    if height < 1 or width < 1:
        raise ValueError(f"cannot tile an empty {height}x{width} image")
    if stride < 1 or tile < stride or tile % stride:
        raise ValueError(f"tile size {tile} must be a positive multiple of the stride {stride}")
    if not 0 <= overlap <= tile // 2 or overlap % stride:
        raise ValueError(
            f"tile overlap {overlap} must be a multiple of the stride {stride}, at most half the"
            f" tile ({tile})"
        )
    return TilePlan(
        AxisPlan.make(height, tile, overlap, stride, wrap),
        AxisPlan.make(width, tile, overlap, stride, wrap),
    )


def predict_tiled(
    predict_fn: PredictFn,
    image: np.ndarray,
    *,
    tile: int,
    overlap: int,
    stride: int,
    wrap: bool,
    batch: int,
    progress: ProgressFn | None = None,
) -> np.ndarray:
    """Run `predict_fn` over `image` tile by tile and blend the results.

    predict_fn: (N, th, tw, C) float32 -> (N, th, tw, K), for any th, tw multiple of `stride`.
    image: (H, W, C) float32, already normalised as a whole. Returns (H, W, K) float32, the
    weighted mean of the overlapping predictions (vectors are not renormalised here).
    wrap: treat the image as periodic (seamless textures). batch: tiles per predict_fn call.
    progress: called as progress(tiles_done, tiles_total) after every call.
    """
    height, width = image.shape[:2]
    plan = plan_tiles(height, width, tile=tile, overlap=overlap, stride=stride, wrap=wrap)
    rows, cols = plan.rows, plan.cols
    jobs = [(i, j) for i in range(len(rows.starts)) for j in range(len(cols.starts))]
    out = None
    for first in range(0, len(jobs), batch):
        chunk = jobs[first : first + batch]
        tiles = np.stack([image[np.ix_(rows.sources(i), cols.sources(j))] for i, j in chunk])
        preds = np.asarray(predict_fn(tiles), dtype=np.float32)
        if out is None:
            out = np.zeros((height, width, preds.shape[-1]), np.float32)
        for (i, j), pred in zip(chunk, preds):
            pred = pred * rows.window(i)[:, None, None] * cols.window(j)[None, :, None]
            for tile_rows, image_rows in rows.segments(i):
                for tile_cols, image_cols in cols.segments(j):
                    out[image_rows, image_cols] += pred[tile_rows, tile_cols]
        if progress is not None:
            progress(first + len(chunk), len(jobs))
    out /= rows.total_weight()[:, None, None]
    out /= cols.total_weight()[None, :, None]
    return out
