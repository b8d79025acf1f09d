"""What decides how far off the one-side-light model reads a photo's slopes? Its causes, one by one.

    python benchmarks/scale_causes.py --train A.npz... --val B.npz... [--plain NAME...] [--jobs 2]
    python benchmarks/scale_causes.py --val B.npz...      # only each validation cache's report

The caches are `benchmarks/scale_regressor.py cache` files: for each photo, the model's mean
error at 49 gains on its slopes, so each photo's best gain (the factor its slopes needed) is known.
For each training photo made by the generator, this recovers what the generator drew for it and
measures its ground truth:

- the light: the key light's elevation, its share of a flat plane's irradiance (sun against sky and
  fill), and the set-up (`lighting` in index.tsv);
- the camera: the tone curve (sRGB, filmic or gamma);
- the material: plain or mixed albedo (`--plain` names the folders made with `--albedo plain`) and
  the relief families (`kind`);
- the relief: its RMS slope and the share of its slope energy at wavelengths over about 50 pixels
  (a Gaussian low-pass of sigma 8 per 256 pixels: "broad"), both from the true normals;
- for photos lit by the sun, the contrast a unit of slope makes, as `contrast_per_slope.py`
  measures it (c sin(elevation)).

The light and the tone curve are not in index.tsv: each pair is made again from its seed
(`synth.make_pair`) with the shading left out, which draws the same random numbers, and the
replay is checked against the index's lighting and slope. It prints how much of the variance of
the log best gain each cause explains (R² of a least-squares fit), the best gain by true slope,
by contrast per slope and by broadness, and, for each validation cache, the error at gain 1,
with the gain that the photo's true RMS slope calls for (an oracle: it reads the truth), and at
each photo's own best gain, per `index.tsv` kind where the folder has kinds.
"""

from __future__ import annotations

import argparse
import os
import sys
from multiprocessing import Pool
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from contrast_per_slope import contrast_per_unit_slope  # noqa: E402
from scale_regressor import AT_1, GAINS, LOG0, STEP, read_index  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SLOPE_BINS = (5, 7, 9, 12, 15, 18, 22, 27, 33, 40)
SETUPS = ("sun", "grazing", "overcast", "flash", "two")


def folder_of(name: str) -> Path:
    """A cache's folder name ('data/fit61', 'blender-dev') -> its path."""
    for candidate in (Path(name), ROOT / name, ROOT / "data" / Path(name).name, ROOT.parent / "shared" / name):
        if (candidate / "index.tsv").exists():
            return candidate
    raise SystemExit(f"cannot find the folder {name!r} of a cached photo")


def _long_waves(t: np.ndarray) -> np.ndarray:
    """The part of a slope field at wavelengths over about 50 pixels per 256 (Gaussian, sigma 8)."""
    return cv2.GaussianBlur(t, (0, 0), 8 * t.shape[0] / 256, borderType=cv2.BORDER_REFLECT)


def _slopes(normals: np.ndarray, channels: slice = slice(0, 2)) -> np.ndarray:
    return (normals[..., channels] / np.maximum(normals[..., 2:3], 0.05)).astype(np.float32)


def relief(normals: np.ndarray) -> tuple[float, float]:
    """-> (RMS slope in degrees, share of the slope energy at long wavelengths: "broadness")."""
    t = _slopes(normals)
    energy = float((t**2).sum(-1).mean())
    return float(np.degrees(np.arctan(np.sqrt(energy)))), float((_long_waves(t) ** 2).sum(-1).mean() / max(energy, 1e-12))


def band_recovery(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """How much of the true slope along the light (x, the photo turned so its light is on the
    right) the prediction recovers, at long wavelengths (as in `relief`) and short ones: the
    least-squares factor of the prediction's band on the truth's. 1 is read at full size."""
    def split(n):
        t = _slopes(n, slice(0, 1))[..., 0]
        low = _long_waves(t)
        return low, t - low

    (pl, ps), (tl, ts) = split(pred), split(truth)
    return (float((pl * tl).sum() / max((tl * tl).sum(), 1e-9)), float((ps * ts).sum() / max((ts * ts).sum(), 1e-9)))


_DRAWN: list = []  # what the patched generator noted, per process
_LIGHTS: list = []


def _patch_generator() -> None:
    """In this process, make the generator skip its shading and note its tone curve. Once."""
    from normalgen_training import camera, synth

    if getattr(synth, "_scale_causes_patched", False):
        return
    develop = camera.develop

    def shade(alb, normals, height, lighting, *args, **kwargs):  # the shading draws no random numbers
        _LIGHTS.append(lighting)
        return np.full(alb.shape, 0.5, np.float32)

    def recording_develop(radiance, rng, curve=None):
        class Recorder:  # the generator's own rng, with its choice of tone curve noted
            def __getattr__(self, name):
                return getattr(rng, name)

            def choice(self, options, *args, **kwargs):
                picked = rng.choice(options, *args, **kwargs)
                _DRAWN.append(str(picked))
                return picked

        return develop(radiance, Recorder(), curve)

    synth.shading.shade, synth.camera.develop = shade, recording_develop
    synth._scale_causes_patched = True


def replay(job: tuple[str, dict, int, str]) -> dict:
    """Make one pair again without its shading; -> the tone curve and the key light's share."""
    from normalgen_training import synth

    _patch_generator()
    folder, row, size, albedo = job
    _DRAWN.clear()
    _LIGHTS.clear()
    _, _, meta = synth.make_pair(int(row["seed"]), size, albedo, "canonical")
    if meta["lighting"] != row["lighting"] or abs(meta["slope_deg"] - float(row["slope_deg"])) > 0.01:
        raise SystemExit(f"{folder}/{row['id']}: the replay does not match index.tsv (wrong --plain?)")
    lighting = _LIGHTS[0]
    horizontal = [float(np.mean(light.color)) * max(float(light.direction[2]), 0.0) for light in lighting.lights]
    return {"curve": _DRAWN[0], "key_share": horizontal[0] / (sum(horizontal) + float(np.mean(lighting.sky)))}


def describe(cache_path: str, plain: set[str], jobs: int, with_generator: bool) -> dict:
    """Per photo of a cache: its best log gain, errors, and the causes listed in the docstring."""
    from normalgen.imageio import read_normal_map, read_photo

    from normalgen.orientation import light_side, turn_for_light, turn_vectors

    z = np.load(cache_path, allow_pickle=True)
    rows, out = {}, {"errs": z["errs"], "log_gain": LOG0 + STEP * z["errs"].argmin(1)}
    info, jobs_list = [], []
    where = {int(i): (key[3:], k) for key in z.files if key.startswith("idx") for k, i in enumerate(z[key])}
    preds = {} if with_generator else {key[4:]: z[key] for key in z.files if key.startswith("pred")}
    for j, m in enumerate(z["meta"]):
        folder = folder_of(str(m[0]))
        if folder not in rows:
            rows[folder] = {r["id"]: r for r in read_index(folder)}
        row = rows[folder][m[1]]
        normals = read_normal_map(folder / f"{m[1]}_normal.png")
        slope, broad = relief(normals)
        item = {"kind": row["kind"], "slope": slope, "broad": broad, "setup": row.get("lighting", "sun"),
                "elevation": float(row["light_elevation"]), "plain": folder.name in plain}
        if item["setup"] == "sun":
            item["contrast"] = contrast_per_unit_slope(read_photo(folder / f"{m[1]}_color.png"), normals,
                                                       np.radians(item["elevation"]),
                                                       np.radians(float(row["light_azimuth"])))
        if with_generator:
            jobs_list.append((str(folder), row, normals.shape[0], "plain" if item["plain"] else "mixed"))
        else:  # a validation cache: what its prediction recovers, band by band
            side, k = where[j]
            turn = turn_for_light(light_side(float(row["light_azimuth"])))
            truth = turn_vectors(np.rot90(normals, turn), turn)
            item["recovery"] = band_recovery(preds[side][k].astype(np.float32), truth)
        info.append(item)
    if with_generator:
        with Pool(jobs) as pool:
            for item, drawn in zip(info, pool.map(replay, jobs_list, chunksize=16)):
                item.update(drawn)
    out["info"] = info
    return out


def r2(columns: list[np.ndarray], y: np.ndarray) -> float:
    x = np.column_stack(columns + [np.ones(len(y))])
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    return 1 - float(((y - x @ coef) ** 2).mean() / y.var())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", nargs="*", default=[], help="caches of generator photos")
    ap.add_argument("--val", nargs="+", default=[], help="caches to score the slope oracle on")
    ap.add_argument("--plain", nargs="*", default=[], help="names of the folders made with --albedo plain")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    if not args.train and not args.val:
        ap.error("give --train caches, --val caches, or both")
    best = causes(args) if args.train else {}
    for path in args.val:
        report(path, args, best)


def causes(args) -> dict[int, int]:
    """Print what explains the training caches' best gains; -> the best gain's index per slope bin."""
    parts = [describe(p, set(args.plain), args.jobs, True) for p in args.train]
    y = np.concatenate([p["log_gain"] for p in parts])
    errs = np.concatenate([p["errs"] for p in parts])
    info = [i for p in parts for i in p["info"]]
    col = {k: np.array([i[k] for i in info]) for k in ("slope", "broad", "elevation", "key_share", "plain")}
    log_slope = np.log(col["slope"])
    layers = [set(i["kind"].replace("+", " ").replace("-", " ").split()) for i in info]
    family = [np.array([f in names for names in layers], float) for f in sorted(set().union(*layers))]
    setup = [np.array([i["setup"] == s for i in info], float) for s in SETUPS[:-1]]
    curve = [np.array([i["curve"] == c for i in info], float) for c in ("srgb", "filmic")]
    light = [np.log(np.tan(np.radians(np.minimum(col["elevation"], 85)))), np.log(col["key_share"] + 0.02)] + setup
    print(f"{len(y)} training photos; variance of the log best gain {y.var():.3f}")
    print("share of that variance explained (R²):")
    for name, cols in [("light elevation", light[:1]), ("key light's share of the irradiance", light[1:2]),
                       ("light (elevation, share, set-up)", light), ("tone curve", curve),
                       ("albedo plain or mixed", [col["plain"].astype(float)]), ("relief families", family),
                       ("light + camera + albedo + families", light + curve + [col["plain"].astype(float)] + family),
                       ("true RMS slope", [log_slope]), ("true RMS slope + broadness", [log_slope, col["broad"]]),
                       ("everything", light + curve + [col["plain"].astype(float)] + family + [log_slope, col["broad"]])]:
        print(f"  {name:<38} {r2(cols, y):.3f}")
    sun = np.array(["contrast" in i for i in info]) & (col["slope"] >= 8)
    contrast = np.log(np.clip([i.get("contrast", 1.0) for i in info], 0.05, None))
    print(f"  sun photos steeper than 8°: contrast per slope {r2([contrast[sun]], y[sun]):.3f}, "
          f"true slope {r2([log_slope[sun]], y[sun]):.3f} ({sun.sum()} photos)")

    def table(title, values, edges, mask):
        print(title)
        for lo, hi in zip(edges[:-1], edges[1:]):
            k = mask & (values >= lo) & (values < hi)
            if k.sum() >= 5:
                print(f"  [{lo:g}, {hi:g}): median best gain {np.exp(np.median(y[k])):.2f}, "
                      f"median RMS slope {np.median(col['slope'][k]):.1f}° ({k.sum()} photos)")

    table("by true RMS slope (degrees):", col["slope"], (0,) + SLOPE_BINS + (90,), np.ones(len(y), bool))
    table("sun photos steeper than 8°, by contrast per slope:", np.exp(contrast), (0, 0.45, 0.65, 0.9, 1.3, 20), sun)
    table("photos steeper than 10°, by broadness:", col["broad"], (0, 0.05, 0.15, 0.3, 0.6, 1.01), col["slope"] >= 10)

    key = np.digitize(col["slope"], SLOPE_BINS)
    return {k: int(errs[key == k].mean(0).argmin()) for k in set(key)}


def report(path: str, args, best: dict[int, int]) -> None:
    """A validation cache: its error at gain 1, with the gain its true slope calls for (when the
    training caches gave `best`) and at each photo's best gain, and the band recovery."""
    v = describe(path, set(args.plain), args.jobs, False)
    e = v["errs"]
    slopes = np.array([i["slope"] for i in v["info"]])
    by_slope = np.array([e[j, best.get(int(np.digitize(s, SLOPE_BINS)), AT_1)] for j, s in enumerate(slopes)])
    called_for = f", the gain its true slope calls for {by_slope.mean():.2f}°" if best else ""
    print(f"{Path(path).name}: gain 1 {e[:, AT_1].mean():.2f}°{called_for}, each photo's best {e.min(1).mean():.2f}°")
    lit = np.array([i["setup"] in ("sun", "grazing", "two") for i in v["info"]])
    broad = lit & (np.array([i["broad"] for i in v["info"]]) >= 0.1)
    recovery = np.array([i["recovery"] for i in v["info"]])
    for name, k in (("directionally lit photos", lit), ("those with a broadness of 0.1 or more", broad)):
        if k.sum():
            print(f"  {name} ({k.sum()}): along-light slope recovered, median: long waves "
                  f"{np.median(recovery[k, 0]):.2f}, short waves {np.median(recovery[k, 1]):.2f}")
    kinds = [i["kind"] for i in v["info"]]
    if len(set(kinds)) <= 12:
        for kind in sorted(set(kinds)):
            k = np.array([x == kind for x in kinds])
            oracle, called_for = "", ""
            if best:
                called = np.median([GAINS[best.get(int(np.digitize(s, SLOPE_BINS)), AT_1)] for s in slopes[k]])
                oracle, called_for = f" / {by_slope[k].mean():.2f}", f"; its slope calls for {called:.2f}"
            print(f"  {kind:<13} RMS slope {np.median(slopes[k]):4.1f}°, broadness {np.median([i['broad'] for i, kk in zip(v['info'], k) if kk]):.3f}: "
                  f"{e[k, AT_1].mean():.2f}{oracle} / {e[k].min(1).mean():.2f}°; "
                  f"median best gain {np.median(GAINS[e[k].argmin(1)]):.2f}{called_for}; "
                  f"recovered long/short {np.median(recovery[k, 0]):.2f}/{np.median(recovery[k, 1]):.2f}")


if __name__ == "__main__":
    main()
