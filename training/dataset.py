"""Patches for training: decode pairs (cached), crop, augment, normalise — in parallel, prefetched.

`PatchDataset` is a `keras.utils.PyDataset`, so the same pipeline feeds the TensorFlow, JAX and
PyTorch backends; `workers` threads decode and augment ahead of the training step (OpenCV and
NumPy release the GIL), `max_queue_size` batches are prefetched.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np

from normalgen.imageio import exif_rotation
from normalgen.preprocess import normalize_photo

from . import augment
from .pair_loading import load_pair, skip_reason
from .pairing import Pair


class PairCache:
    """Decoded pairs, least recently used first out, within a memory budget in bytes.

    Large textures are reduced so their short side is at most `max_side` on first load: training
    patches are small and randomly downscaled anyway, and it keeps a 4K library in memory. Pairs
    are kept as float16 (a photo's step of 1/2048 and a normal's 0.03 degrees are below what
    8-bit files hold), twice as many as float32 would: about 340 of 1024² in the default 4 GiB.
    `get` returns them so; crops are made float32 (augment.random_crop).
    """

    def __init__(self, budget_bytes: int = 4 << 30, max_side: int = 1024):
        self.budget, self.max_side = budget_bytes, max_side
        self._items: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, pair: Pair):
        with self._lock:
            if pair.color in self._items:
                self._items.move_to_end(pair.color)
                return self._items[pair.color]
        item = tuple(a.astype(np.float16) for a in load_pair(pair, self.max_side))
        size = item[0].nbytes + item[1].nbytes
        with self._lock:
            if pair.color in self._items:  # another thread loaded it meanwhile: keep one copy
                self._items.move_to_end(pair.color)
                return self._items[pair.color]
            self._items[pair.color] = item
            self._bytes += size
            while self._bytes > self.budget and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._bytes -= old[0].nbytes + old[1].nbytes
        return item


CHECK_THREADS = 4  # at most: a 4K pair takes about 1 GiB while it is decoded


def check_pairs(pairs: list[Pair], min_side: int, cache: PairCache | None = None,
                threads: int | None = None, progress=None) -> tuple[list[Pair], list[str]]:
    """Drop pairs that cannot be decoded, differ in size, or are smaller than `min_side`; warn
    about photos whose EXIF rotation is ignored (see load_pair).

    Pairs are decoded by `threads` threads (default: one per CPU core, at most CHECK_THREADS;
    OpenCV releases the GIL) through `cache` when one is given, so that training starts with the
    pairs it has just checked in memory instead of decoding them a second time. The order of
    `pairs` is kept. `progress(done, total)` is called after each pair.
    """
    load = cache.get if cache is not None else load_pair

    def check(p: Pair) -> tuple[bool, list[str]]:
        try:
            photo, _ = load(p)
        except Exception as exc:  # a user's corrupt file must not stop training
            return False, [f"{skip_reason(p, exc)}; pair skipped"]
        if min(photo.shape[:2]) < min_side:
            return False, [f"{p.color}: smaller than {min_side} pixels; pair skipped"]
        if exif_rotation(p.color) != 1:
            return True, [f"{p.color}: its EXIF rotation is ignored, so that it lines up with its normal map "
                          "as stored"]
        return True, []

    good, warnings = [], []
    with ThreadPoolExecutor(threads or min(os.cpu_count() or 1, CHECK_THREADS)) as pool:
        for done, (p, (ok, notes)) in enumerate(zip(pairs, pool.map(check, pairs)), 1):
            warnings += notes
            if ok:
                good.append(p)
            if progress is not None:
                progress(done, len(pairs))
    return good, warnings


class PatchDataset(keras.utils.PyDataset):
    """Random augmented patches: x = normalised photo (B, P, P, 3), y = OpenGL normals (B, P, P, 3)."""

    def __init__(self, pairs: list[Pair], *, patch: int = 128, batch_size: int = 16, steps: int = 200,
                 seed: int = 0, cache: PairCache | None = None, scale_range=(0.5, 1.0), augment: bool = True,
                 input_norm: str = "relative", light: str = "any", stream: int = 0, stride: int = 16, **kwargs):
        super().__init__(**kwargs)
        if not pairs:
            raise ValueError("no training pairs")
        self.pairs, self.patch, self.batch_size, self.steps = pairs, patch, batch_size, steps
        self.seed, self.scale_range, self.augment = seed, scale_range, augment
        self.stream = stream  # another stream of patches from the same seed (one per training machine)
        self.input_norm = input_norm  # the model's: see normalgen.preprocess
        self.light = light  # the model's: "canonical" keeps a light from the right there
        self.stride = stride  # validation crops are cut to a multiple of it: the network's 2**depth
        self.cache = cache or PairCache()
        self.epoch = 0

    def __len__(self):
        if not self.augment:  # validation: every pair once, in order
            return -(-len(self.pairs) // self.batch_size)
        return self.steps

    def on_epoch_end(self):
        self.epoch += 1

    def __getitem__(self, index):
        if not self.augment:
            return self._validation_batch(index)
        rng = np.random.default_rng([self.seed, self.epoch, index] + ([self.stream] if self.stream else []))
        xs, ys = [], []
        for _ in range(self.batch_size):
            pair = self.pairs[int(rng.integers(len(self.pairs)))]
            photo, normals = self.cache.get(pair)
            p, n = augment.random_crop(rng, photo, normals, self.patch, self.scale_range)
            p, n = augment.random_geometry(rng, p, n, self.light)
            p = augment.photometric(rng, p)
            xs.append(normalize_photo(p, method=self.input_norm))
            ys.append(n)
        return np.stack(xs), np.stack(ys).astype(np.float32)

    def endless(self, threads: int = 2):
        """Batches epoch after epoch, from `epoch` on, made by `threads` threads at most two
        each ahead of the one taken (fit() does this for a PyDataset; a custom loop uses this)."""
        with ThreadPoolExecutor(max(1, threads)) as pool:
            while True:
                ahead = deque()
                for i in range(len(self)):
                    ahead.append(pool.submit(self.__getitem__, i))
                    if len(ahead) > 2 * threads:
                        yield ahead.popleft().result()
                while ahead:
                    yield ahead.popleft().result()
                self.on_epoch_end()

    def _validation_batch(self, index):
        """Centre crops, no augmentation: patch² or, when a photo of the batch is smaller, the
        batch's smallest side, cut to a multiple of the network's stride."""
        batch = [self.cache.get(pair) for pair in self.pairs[index * self.batch_size:(index + 1) * self.batch_size]]
        side = min([self.patch] + [min(photo.shape[:2]) for photo, _ in batch])
        side = side // self.stride * self.stride  # one side per batch
        xs, ys = [], []
        for photo, normals in batch:
            y0, x0 = (photo.shape[0] - side) // 2, (photo.shape[1] - side) // 2
            xs.append(normalize_photo(photo[y0:y0 + side, x0:x0 + side], method=self.input_norm))
            ys.append(normals[y0:y0 + side, x0:x0 + side])
        return np.stack(xs), np.stack(ys).astype(np.float32)


def evaluate_pairs(predict, pairs: list[Pair], skipped: list[str]):
    """Run `predict(pair, photo) -> normals` on whole images; yield (pair, predicted normals, true
    normals). A pair that cannot be read is left out, and why is added to `skipped`."""
    for pair in pairs:
        try:
            photo, truth = load_pair(pair)
        except Exception as exc:  # one user's corrupt file must not stop the evaluation
            skipped.append(skip_reason(pair, exc))
            continue
        yield pair, predict(pair, photo), truth
