"""Does the skew of the brightness gradient say where the light comes from? (Twentieth session.)

    python benchmarks/side_from_skew.py DIR... [--sigma 0,1,2]

The idea: walking away from a light across relief, a cast shadow begins gradually (the slope
turns from the light and its shading fades to the terminator) and ends abruptly (where the
blocker's shadow stops), so the derivative of log brightness along the light should have a
long tail of one sign, while Lambert shading alone is the same for a bump lit from one side
and a dent lit from the other. For each photo, the skewness of the derivative of log luminance
(linear, Gaussian-blurred by sigma) is computed along 72 directions; the direction of the most
negative skew is taken as the light's. Prints, per folder and per index.tsv kind (or lighting),
the median error of that azimuth against the index's, how often it names the right side of the
four (`normalgen.orientation.light_side`, 0.25 is chance), and how often it is within 90° (the
right half, 0.5 is chance).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from normalgen.imageio import read_photo  # noqa: E402
from normalgen.orientation import light_side  # noqa: E402
from normalgen_training.evaluate import _index_column  # noqa: E402
from normalgen_training.pairing import find_pairs  # noqa: E402

THETAS = np.arange(0, 360, 5)


def skew_azimuth(photo: np.ndarray, sigma: float) -> float:
    """The azimuth (degrees counter-clockwise from +X, Y up) along which the derivative of log
    luminance is most negatively skewed."""
    lin = np.where(photo <= 0.04045, photo / 12.92, ((photo + 0.055) / 1.055) ** 2.4)
    log = np.log(lin @ np.array([0.2126, 0.7152, 0.0722], np.float32) + 0.01).astype(np.float32)
    if sigma > 0:
        log = cv2.GaussianBlur(log, (0, 0), sigma)
    gx = (np.roll(log, -1, 1) - np.roll(log, 1, 1))[4:-4, 4:-4].ravel()
    gy = -(np.roll(log, -1, 0) - np.roll(log, 1, 0))[4:-4, 4:-4].ravel()  # picture's up is +Y
    skews = []
    for t in np.radians(THETAS):
        g = gx * np.cos(t) + gy * np.sin(t)
        skews.append(np.mean(g**3) / (np.mean(g**2) ** 1.5 + 1e-12))
    return float(THETAS[int(np.argmin(skews))])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--sigma", default="0,1,2", help="blurs to try, comma-separated")
    args = ap.parse_args()
    for folder in args.dirs:
        pairs, _ = find_pairs([folder])
        azimuths = _index_column(pairs, "light_azimuth", 3)
        groups = _index_column(pairs, "lighting", None) or _index_column(pairs, "kind", 1)
        items = []
        for pair in pairs:
            key = (pair.color.parent, pair.color.stem.rsplit("_", 1)[0])
            if key in azimuths:
                items.append((read_photo(pair.color), float(azimuths[key]), groups.get(key, "?")))
        for sigma in (float(s) for s in args.sigma.split(",")):
            rows = {}
            for photo, truth, group in items:
                est = skew_azimuth(photo, sigma)
                err = abs((est - truth + 180) % 360 - 180)
                rows.setdefault(group, []).append((err, light_side(est) == light_side(truth)))
            every = [r for rs in rows.values() for r in rs]
            print(f"{folder} sigma {sigma:g}: {len(every)} photos")
            for name, rs in sorted(rows.items()) + [("overall", every)]:
                errs = np.array([e for e, _ in rs])
                print(f"  {name:18s} {len(rs):4d}  median error {np.median(errs):4.0f}°  "
                      f"side {np.mean([s for _, s in rs]):.2f}  within 90° {np.mean(errs < 90):.2f}")


if __name__ == "__main__":
    main()
