"""Can a small CNN learn which side a photo's light comes from? (The fifth session's experiment.)

    python benchmarks/side_classifier.py TRAIN_DIR... --val DIR --dev DIR [--minutes 12] [--patch 128]
                                         [--min-slope DEG]

A scorer network (4 levels of two 3x3 convs, global mean, one logit) rates each of a photo's four
quarter turns; a softmax over the four is trained to pick the turn that brings the light to the
right. Training photos are canonical-light pairs (`normalgen synth --light canonical`, light
within 45 degrees of +X), cropped, mirrored top-bottom and turned at random; overcast and flash
set-ups are left out (they have no side). After each epoch of 200 steps x 16 photos it prints the
training accuracy over the four turns (0.25 chance, 0.5 the axis alone) and, on whole photos of
--val and --dev (index.tsv with a light azimuth), how often the side is right given the true axis
(`side`) and how often the whole turn is (`4way`). Measured in pretrained/EXPERIMENTS.md's fifth session:
the side stayed at chance. --min-slope keeps only training and validation photos whose index.tsv
says their RMS slope is at least DEG degrees (deep relief, which casts shadows: the sixth
session's test of whether a side can be learned there); photos without that column are all kept.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers, ops  # noqa: E402

from normalgen.imageio import read_photo  # noqa: E402
from normalgen.orientation import light_side, turn_for_light  # noqa: E402
from normalgen.preprocess import normalize_photo  # noqa: E402
from normalgen_training.evaluate import _index_column  # noqa: E402
from normalgen_training.pairing import find_pairs  # noqa: E402

DIRECTIONAL = {"sun", "grazing", "two"}  # set-ups with a key light; overcast and flash have no side


def load(folders, min_slope: float | None = None) -> list[tuple[str, float, str]]:
    """(photo path, light azimuth, kind) of the pairs in `folders` that are lit by a key light: those
    whose index.tsv says so, and every pair of an index without a lighting column (blender-dev);
    with min_slope, only those at least that steep (RMS, degrees) where the index has a slope_deg."""
    pairs, _ = find_pairs(folders)
    lighting = _index_column(pairs, "lighting", None)
    azimuths = _index_column(pairs, "light_azimuth", 3)
    slopes = _index_column(pairs, "slope_deg", None)
    kinds = _index_column(pairs, "kind", 1)
    items = []
    for pair in pairs:
        key = (pair.color.parent, pair.color.stem.rsplit("_", 1)[0])
        steep = min_slope is None or key not in slopes or float(slopes[key]) >= min_slope
        if key in azimuths and lighting.get(key, "sun") in DIRECTIONAL and steep:
            items.append((str(pair.color), float(azimuths[key]), kinds.get(key, "?")))
    return items


def prep(path: str) -> np.ndarray:
    """The network input, as the shipped lit model sees it ("relative"), kept as float16."""
    return normalize_photo(read_photo(path)).astype(np.float16)


def scorer(width: int = 24) -> keras.Model:
    """Photo -> one logit: how much it looks lit from the right."""
    inp = keras.Input((None, None, 3))
    x = inp
    for f in (width, 2 * width, 4 * width, 5 * width):
        x = layers.Conv2D(f, 3, padding="same", activation="relu")(x)
        x = layers.Conv2D(f, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(5 * width, 3, padding="same", activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, layers.Dense(1, dtype="float32")(x), name="side_scorer")


class FourTurns(keras.Model):
    """(B, 4, P, P, 3), a batch of photos each under its four quarter turns -> (B, 4) logits."""

    def __init__(self, scorer_model: keras.Model, **kwargs):
        super().__init__(**kwargs)
        self.scorer = scorer_model

    def call(self, x):
        shape = ops.shape(x)
        y = self.scorer(ops.reshape(x, (-1, shape[2], shape[3], 3)))
        return ops.reshape(y, (-1, 4))


def batches(imgs, patch: int, batch_size: int, rng):
    """(B, 4, P, P, 3) crops under their four quarter turns, and the turn that puts the light right."""
    while True:
        x = np.empty((batch_size, 4, patch, patch, 3), np.float32)
        y = np.empty(batch_size, np.int32)
        for b in range(batch_size):
            im = imgs[rng.integers(len(imgs))]
            top, left = rng.integers(0, im.shape[0] - patch + 1, 2)
            crop = im[top:top + patch, left:left + patch].astype(np.float32)
            if rng.random() < 0.5:
                crop = crop[::-1]  # a top-bottom mirror keeps the light on the right
            j = int(rng.integers(4))
            crop = np.rot90(crop, j)  # the light now needs -j turns to be on the right again
            for k in range(4):
                x[b, k] = np.rot90(crop, k)
            y[b] = (-j) % 4
        yield x, y


def side_right(s: keras.Model, photos, axis_given: bool = True) -> list[bool]:
    """For each whole photo (network input, light azimuth), whether its turn is picked right: of
    the two on the true axis, or of all four."""
    each = []
    for x, azimuth in photos:
        logits = np.array([float(s.predict_on_batch(np.ascontiguousarray(np.rot90(x, k))[None])[0, 0])
                           for k in range(4)])
        true = turn_for_light(light_side(azimuth))
        if axis_given:
            pick = true if logits[true] >= logits[(true + 2) % 4] else (true + 2) % 4
        else:
            pick = int(np.argmax(logits))
        each.append(bool(pick == true))
    return each


def share(right: list[bool]) -> float:
    return sum(right) / max(len(right), 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("train", nargs="+")
    ap.add_argument("--val", nargs="+", required=True)
    ap.add_argument("--dev", required=True)
    ap.add_argument("--minutes", type=float, default=12)
    ap.add_argument("--patch", type=int, default=128)
    ap.add_argument("--min-slope", type=float, default=None, help="train and validate on steeper photos only")
    ap.add_argument("--save", default=None, help="where to keep the scorer after each epoch")
    args = ap.parse_args()
    keras.config.set_dtype_policy("mixed_bfloat16")
    rng = np.random.default_rng(0)
    t = time.time()
    imgs = [prep(p) for p, _, _ in load(args.train, args.min_slope)]
    # Whole validation photos are read once, not every epoch.
    val = [(prep(p).astype(np.float32), az) for p, az, _ in load(args.val, args.min_slope)]
    dev_items = load([args.dev])
    dev = [(prep(p).astype(np.float32), az) for p, az, _ in dev_items]
    print(f"loaded {len(imgs)} training, {len(val)} val and {len(dev)} dev photos in {time.time() - t:.0f} s",
          flush=True)
    s = scorer()
    m = FourTurns(s)
    sched = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=int(args.minutes * 60 / 0.6), alpha=0.05)
    m.compile(keras.optimizers.Adam(sched), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
    gen = batches(imgs, args.patch, 16, rng)
    t0, ep = time.time(), 0
    while time.time() - t0 < args.minutes * 60:
        h = m.fit(gen, steps_per_epoch=200, epochs=ep + 1, initial_epoch=ep, verbose=0)
        ep += 1
        dev_right = side_right(s, dev)
        print(f"epoch {ep} {time.time() - t0:.0f} s: loss {h.history['loss'][-1]:.3f} "
              f"accuracy {h.history['accuracy'][-1]:.3f}, val side {share(side_right(s, val)):.3f}, "
              f"dev side {share(dev_right):.3f}, dev 4way {share(side_right(s, dev, axis_given=False)):.3f}",
              flush=True)
        if args.save:
            s.save(args.save)
    by_kind: dict[str, list[bool]] = {}
    for (_, _, kind), ok in zip(dev_items, dev_right):
        by_kind.setdefault(kind, []).append(ok)
    print("dev side by kind, last epoch: " + ", ".join(
        f"{k} {sum(v)}/{len(v)}" for k, v in sorted(by_kind.items())), flush=True)

if __name__ == "__main__":
    main()
