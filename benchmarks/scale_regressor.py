"""Can a photo say how much to scale the one-side-light model's slopes? A direct test.

    python benchmarks/scale_regressor.py cache OUT.npz DIR... [--model M]
    python benchmarks/scale_regressor.py groups --train A.npz... --val B.npz...
    python benchmarks/scale_regressor.py fit --train A.npz... --val B.npz... [--epochs 14]
                                         [--loss mse|curve] [--lr 5e-4] [--down 2]

The model reads each photo's slopes at the wrong size by one factor per photo (pretrained/
EXPERIMENTS.md, thirteenth session), and no statistic of its own prediction shows which factor.
This asks whether the *photo and the prediction together* do, with the most direct set-up there
is: a small CNN that sees both and outputs one number, the log of the gain for that photo.

`cache` reads every pair of each folder (its `index.tsv` gives the light's azimuth: the
generator's `light_azimuth` column, or blender-dev's fourth column), turns the photo so its light
is on the right, predicts whole photos with the mirror mean (as `convert --light-from SIDE` does;
no tiling, so scores differ from `eval` by up to 0.1°), and stores the turned photo, the
prediction, and the photo's mean angular error at 49 gains from 0.25 to 6 (a gain multiplies the
slopes, like `--strength`).

`groups` is the ceiling of what knowing a photo's light set-up or its true slope (the generator's
`slope_deg`) is worth: the best single gain of each group of training photos, applied to the
validation photos by their group (read from the generator's `index.tsv`; an oracle, not a
method). It also prints, over the training photos, how the prediction's own mean tilt, the true
slope and the best gain correlate.

`fit` trains the CNN (five levels of two 3×3 convolutions, 16-96 filters, stride 2, global mean
and max, a dense layer; the inputs are the normalised photo and the predicted slopes, shrunk by
`--down`) on the training caches and prints, each epoch, for each validation cache: the error
at gain 1, with the CNN's gain, and with each photo's best gain. `--loss curve` trains on the
error curve itself (the mean angle at the predicted gain, interpolated); `mse` on the log of the
best gain; `slope` on the log of the generator's drawn slope, a check that the CNN learns
anything from these inputs (its validation columns are then left out). The training loss is
printed beside the variance of its target, what a constant scores under `mse` and `slope`: a
CNN that finds nothing stays there.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

GAINS = np.exp(np.linspace(np.log(0.25), np.log(6.0), 49)).astype(np.float32)
LOG0, STEP = float(np.log(GAINS[0])), float(np.log(GAINS[1] / GAINS[0]))
AT_1 = int(np.argmin(abs(GAINS - 1)))


def error_curve(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Mean angular error (degrees) of `pred` with its slopes multiplied by each of GAINS."""
    t = pred[..., :2] / np.maximum(pred[..., 2:3], 1e-3)
    tr = truth / np.linalg.norm(truth, axis=-1, keepdims=True)
    along, t2 = (t * tr[..., :2]).sum(-1), (t * t).sum(-1)
    return np.array([np.degrees(np.arccos(np.clip((g * along + tr[..., 2]) / np.sqrt(1 + g * g * t2), -1, 1))).mean()
                     for g in GAINS], np.float32)


def read_index(folder: Path) -> list[dict]:
    with open(folder / "index.tsv") as f:
        header = f.readline()
    names = None if header.startswith("id\t") else ["id", "kind", "light_elevation", "light_azimuth"]
    with open(folder / "index.tsv") as f:
        return list(csv.DictReader(f, fieldnames=names, delimiter="\t"))


def cache(out: str, folders: list[str], model_path: str | None) -> None:
    from normalgen.imageio import read_normal_map, read_photo
    from normalgen.model_loading import inference_model, load_model
    from normalgen.orientation import light_side, mirror_mean, turn_for_light, turn_vectors
    from normalgen.preprocess import normalize_photo
    from normalgen.pretrained import CANONICAL_MODEL_PATH

    net = inference_model(load_model(model_path or str(CANONICAL_MODEL_PATH), light_from="right"))
    predict = mirror_mean(net.predict_on_batch)
    photos, preds, curves, meta, start = [], [], [], [], time.perf_counter()
    for folder in map(Path, folders):
        for row in read_index(folder):
            turn = turn_for_light(light_side(float(row["light_azimuth"])))
            photo = np.ascontiguousarray(np.rot90(read_photo(folder / f"{row['id']}_color.png"), turn))
            truth = turn_vectors(np.rot90(read_normal_map(folder / f"{row['id']}_normal.png"), turn), turn)
            pred = np.asarray(predict(normalize_photo(photo.astype(np.float32), method="relative")[None]), np.float32)[0]
            pred /= np.linalg.norm(pred, axis=-1, keepdims=True)
            photos.append((np.clip(photo, 0, 1) * 255 + 0.5).astype(np.uint8))
            preds.append(pred.astype(np.float16))
            curves.append(error_curve(pred, truth))
            meta.append((folder.name, row["id"], row.get("lighting", "sun"), float(row.get("slope_deg", "nan"))))
        print(f"{folder}: {len(photos)} photos, {time.perf_counter() - start:.0f} s", flush=True)
    save = {"errs": np.stack(curves), "meta": np.array(meta, dtype=object)}
    for side in sorted({p.shape[0] for p in photos}):  # one array per photo size
        idx = [i for i, p in enumerate(photos) if p.shape[0] == side]
        save.update({f"photo{side}": np.stack([photos[i] for i in idx]),
                     f"pred{side}": np.stack([preds[i] for i in idx]), f"idx{side}": np.array(idx)})
    np.savez(out, **save)
    e = save["errs"]
    print(f"saved {out}: at gain 1 {e[:, AT_1].mean():.2f}°, each photo at its best gain {e.min(1).mean():.2f}°")


def groups(train: list[str], val: list[str]) -> None:
    caches = [np.load(p, allow_pickle=True) for p in train]
    errs, meta = np.concatenate([c["errs"] for c in caches]), np.concatenate([c["meta"] for c in caches])
    keys = {"light set-up": lambda m: m[2],
            "true slope": lambda m: int(np.digitize(m[3], [6, 10, 15, 20, 25, 30])),
            "both": lambda m: (m[2], int(np.digitize(m[3], [8, 16, 25])))}
    for path in val:
        v = np.load(path, allow_pickle=True)
        line = f"{Path(path).name}: gain 1 {v['errs'][:, AT_1].mean():.2f}°"
        for name, key in keys.items():
            best = {k: errs[[key(m) == k for m in meta]].mean(0).argmin() for k in {key(m) for m in meta}}
            line += f", best gain per {name} {np.mean([v['errs'][j, best.get(key(m), AT_1)] for j, m in enumerate(v['meta'])]):.2f}°"
        print(line + f", per photo {v['errs'].min(1).mean():.2f}°")
    # What the prediction itself says about scale: its mean tilt against the true slope and the best gain.
    tilt = np.log(np.concatenate([
        [np.degrees(np.arccos(np.clip(p[..., 2].astype(np.float32), -1, 1))).mean() for p in c[f"pred{k[5:]}"]]
        for c in caches for k in c.files if k.startswith("photo")]))
    offsets = np.cumsum([0] + [len(c["errs"]) for c in caches])[:-1]
    order = np.concatenate([c[k] + o for c, o in zip(caches, offsets) for k in c.files if k.startswith("idx")])
    true_slope = np.log([float(m[3]) for m in meta])[order]
    best_gain = (LOG0 + STEP * errs.argmin(1))[order]
    print(f"training photos: corr(log predicted mean tilt, log true slope) {np.corrcoef(tilt, true_slope)[0, 1]:+.2f}, "
          f"corr(log best gain, log true slope) {np.corrcoef(best_gain, true_slope)[0, 1]:+.2f}, "
          f"corr(log best gain, log predicted mean tilt) {np.corrcoef(best_gain, tilt)[0, 1]:+.2f}")


def fit(args) -> None:
    import cv2
    import keras
    from keras import layers, ops

    from normalgen.preprocess import normalize_photo

    def load(path):  # [(inputs (N, h, w, 5) float16, error curves (N, 49))] per photo size
        z = np.load(path, allow_pickle=True)
        out = []
        for key in (k for k in z.files if k.startswith("photo")):
            side = key[5:]
            xs = []
            for photo, pred in zip(z[key], z[f"pred{side}"]):
                p = pred.astype(np.float32)
                x = np.concatenate([normalize_photo(photo.astype(np.float32) / 255, method="relative"),
                                    p[..., :2] / np.maximum(p[..., 2:3], 0.05)], -1)
                if args.down > 1:
                    x = cv2.resize(x, (x.shape[1] // args.down, x.shape[0] // args.down), interpolation=cv2.INTER_AREA)
                xs.append(x.astype(np.float16))
            idx = z[f"idx{side}"]
            keep = np.array([float(z["meta"][i][3]) >= args.min_slope for i in idx]) if args.min_slope else None
            if keep is not None:  # only photos whose relief is at least this steep (NaN slope: left out)
                idx, xs = idx[keep], [x for x, k in zip(xs, keep) if k]
                if not len(idx):
                    continue
            y = z["errs"][idx]
            if args.loss == "slope":  # the generator's slope_deg column, as a 49-wide row like the curves
                y = np.repeat(np.log([float(z["meta"][i][3]) for i in idx])[:, None], len(GAINS), 1)
            out.append((np.stack(xs), y.astype(np.float32)))
        return out

    def curve_at(errs, log_gain):  # the error curve read at the predicted gain, linearly
        errs, log_gain = ops.cast(errs, "float32"), ops.cast(log_gain, "float32")
        x = ops.clip((log_gain[:, 0] - LOG0) / STEP, 0.0, len(GAINS) - 1.001)
        i0 = ops.floor(x)
        f, i0 = x - i0, ops.cast(i0, "int32")
        return (ops.sum(errs * ops.one_hot(i0, len(GAINS)), -1) * (1 - f)
                + ops.sum(errs * ops.one_hot(i0 + 1, len(GAINS)), -1) * f)

    def mse(errs, log_gain):
        target = LOG0 + STEP * ops.cast(ops.argmin(ops.cast(errs, "float32"), -1), "float32")
        return ops.square(ops.cast(log_gain, "float32")[:, 0] - target)

    inp = keras.Input((None, None, 5))
    x = inp
    for filters in (16, 32, 48, 64, 96):
        x = layers.Conv2D(filters, 3, strides=2, padding="same", activation="gelu")(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="gelu")(x)
    x = layers.Concatenate()([layers.GlobalAveragePooling2D()(x), layers.GlobalMaxPooling2D()(x)])
    x = layers.Dense(64, activation="gelu")(x)
    model = keras.Model(inp, layers.Dense(1, kernel_initializer=keras.initializers.RandomNormal(stddev=0.01))(x))
    def slope(log_slope, out):
        return ops.square(ops.cast(out, "float32")[:, 0] - ops.cast(log_slope, "float32")[:, 0])

    model.compile(optimizer=keras.optimizers.Adam(args.lr), loss={"mse": mse, "curve": curve_at, "slope": slope}[args.loss])

    train = [s for p in args.train for s in load(p)]
    vals = [(f"{Path(p).stem}:{s[0].shape[1] * args.down}", s) for p in args.val for s in load(p)]
    if args.loss == "slope":
        target = np.concatenate([y[:, 0] for _, y in train])
        print(f"{len(target)} training photos; var(log true slope) {target.var():.3f}")
    else:
        target = np.concatenate([LOG0 + STEP * e.argmin(1) for _, e in train])
        print(f"{len(target)} training photos; var(log best gain) {target.var():.3f}")
    rng = np.random.default_rng(args.seed)
    flip = np.array([1, 1, 1, 1, -1], np.float32)  # the top-bottom mirror keeps the light on the right

    def score(xs, errs):
        lg = np.concatenate([np.asarray(model.predict_on_batch(xs[i:i + 8].astype(np.float32)), np.float32)
                             for i in range(0, len(xs), 8)])
        return errs[:, AT_1].mean(), float(np.mean(curve_at(errs, lg))), errs.min(1).mean(), float(np.std(lg))

    for epoch in range(1, args.epochs + 1):
        start, losses = time.perf_counter(), []
        order = [(s, i) for s, (xs, _) in enumerate(train) for i in rng.permutation(len(xs))]
        rng.shuffle(order)
        pending: dict[int, list[int]] = {}
        def step(s, idx):
            xs = train[s][0][idx].astype(np.float32)
            mirrored = rng.random(len(idx)) < 0.5
            xs[mirrored] = xs[mirrored][:, ::-1] * flip
            losses.append(float(model.train_on_batch(xs, train[s][1][idx])))

        for s, i in order:  # batches of one photo size each, fewer photos when larger
            pending.setdefault(s, []).append(i)
            if len(pending[s]) == max(2, args.batch * (256 // args.down) ** 2 // train[s][0].shape[1] ** 2):
                step(s, pending.pop(s))
        for s, idx in pending.items():  # the remainders
            step(s, idx)
        line = f"epoch {epoch}: train loss {np.mean(losses):.3f} ({time.perf_counter() - start:.0f} s)"
        for name, (xs, errs) in vals if args.loss != "slope" else []:
            line += " | {} {:.2f} / {:.2f} / {:.2f}° (sd log gain {:.2f})".format(name, *score(xs, errs))
        print(line, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("cache")
    c.add_argument("out")
    c.add_argument("folders", nargs="+")
    c.add_argument("--model", default=None)
    for name in ("groups", "fit"):
        p = sub.add_parser(name)
        p.add_argument("--train", nargs="+", required=True)
        p.add_argument("--val", nargs="+", required=True)
    f = sub.choices["fit"]
    f.add_argument("--epochs", type=int, default=14)
    f.add_argument("--loss", choices=["mse", "curve", "slope"], default="mse",
                   help="slope: learn the log of the true mean slope instead (generator caches only), a check "
                        "that the CNN can learn something from these inputs")
    f.add_argument("--lr", type=float, default=5e-4)
    f.add_argument("--batch", type=int, default=16, help="photos of 256² per step (fewer when larger)")
    f.add_argument("--down", type=int, default=2, help="shrink the inputs by this factor")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--min-slope", type=float, default=0.0,
                   help="keep only photos whose generator slope (slope_deg) is at least this, in degrees: "
                        "steep relief casts the shadows that could show its size")
    args = ap.parse_args()
    if args.command == "cache":
        cache(args.out, args.folders, args.model)
    elif args.command == "groups":
        groups(args.train, args.val)
    else:
        fit(args)


if __name__ == "__main__":
    main()
