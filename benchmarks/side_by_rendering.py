"""Can rendering tell which of two opposite sides a photo's light comes from?

    python benchmarks/side_by_rendering.py DIR [--normals truth|predicted] [--model PATH]

Lambert shading cannot tell a bump lit from one side from a dent lit from the other; sky
occlusion (cavities are darker) and cast shadows (a bump's fall outside it, a dent's inside) can.
For each photo in DIR (pairs plus an index.tsv with its light azimuth), the two hypotheses on the
light's true axis are rendered and compared with the photo:

- `--normals truth`: the true normals lit from the true side against the mirrored normals
  (x and y negated: the same surface inverted) lit from the opposite side. An upper bound.
- `--normals predicted`: the one-side-light model's prediction told one side against its
  mirror told the other, and the same from the other side's prediction; the margins add up.
  Prints the mean error of the map each choice leads to, beside the one told the true side.

Each hypothesis is integrated to a height field (heights scaled x1, x2, x4: predictions are too
shallow), rendered with `normalgen_training.shading` (occlusion; shadows from a sun at 30, 50 or
70 degrees) and fitted to the photo's linear luminance as a * lambert * shadow + b * sky * occlusion
+ c with a, b >= 0; the better fit (R²) wins. `--terms` keeps only occlusion or only shadows.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--normals", choices=("truth", "predicted"), default="truth")
    ap.add_argument("--terms", choices=("both", "occlusion", "shadows"), default="both")
    ap.add_argument("--model", default=None, help="default: the shipped one-side-light model")
    args = ap.parse_args()

    import numpy as np
    from scipy.optimize import nnls

    from normalgen import pretrained
    from normalgen.height import integrate_normals
    from normalgen.inference import generate_normal_map
    from normalgen.model_loading import load_model
    from normalgen.orientation import SIDES, light_side
    from normalgen.preprocess import srgb_to_linear
    from normalgen.vectors import angular_error_deg
    from normalgen_training.dataset import load_pair
    from normalgen_training.evaluate import _index_column
    from normalgen_training.pairing import find_pairs
    from normalgen_training.shading import cast_shadow, direction, sky_irradiance

    def fit(lum, n, azimuth, gains):
        best, h0 = -np.inf, integrate_normals(n)
        for g in gains:
            h = h0 * g
            sky = sky_irradiance(n, h if args.terms != "shadows" else None)
            for elevation in (30.0, 50.0, 70.0):
                light = direction(elevation, azimuth).astype(np.float32)
                vis = cast_shadow(h, light, 0.005) if args.terms != "occlusion" else 1.0
                a = np.stack([(np.clip(n @ light, 0, 1) * vis).ravel(), sky.ravel(),
                              np.ones(lum.size), -np.ones(lum.size)], axis=1)
                coef, _ = nnls(a, lum.ravel())
                best = max(best, 1.0 - float((lum.ravel() - a @ coef).var()) / float(lum.var()))
        return best

    mirror = np.array([-1.0, -1.0, 1.0], np.float32)
    pairs, _ = find_pairs([args.dir])
    key = lambda p: (p.color.parent, p.color.stem.rsplit("_", 1)[0])
    kinds = _index_column(pairs, "kind", 1)
    azimuths = _index_column(pairs, "light_azimuth", 3)
    model = None
    if args.normals == "predicted":
        model = load_model(args.model or pretrained.CANONICAL_MODEL_PATH, light_from="right")
    right, chosen_err, told_err = {}, {}, {}
    for pair in pairs:
        kind = kinds.get(key(pair), "all").split("+")[0].lstrip("-")
        azimuth = float(azimuths[key(pair)])
        side = light_side(azimuth)
        other = SIDES[(SIDES.index(side) + 2) % 4]
        az_side = 90.0 * SIDES.index(side)
        photo, truth = load_pair(pair)
        lum = srgb_to_linear(photo, np.empty_like(photo)).mean(axis=-1)
        if args.normals == "truth":
            margin = fit(lum, truth, azimuth, (1.0,)) - fit(lum, truth * mirror, azimuth + 180.0, (1.0,))
        else:
            gains = (1.0, 2.0, 4.0)
            pred = {s: generate_normal_map(photo, model=model, light_from=s) for s in (side, other)}
            margin = (fit(lum, pred[side], az_side, gains) - fit(lum, pred[side] * mirror, az_side + 180, gains)
                      + fit(lum, pred[other] * mirror, az_side, gains) - fit(lum, pred[other], az_side + 180, gains))
            err = {s: float(angular_error_deg(pred[s], truth).mean()) for s in pred}
            chosen_err.setdefault(kind, []).append(err[side] if margin > 0 else err[other])
            told_err.setdefault(kind, []).append(err[side])
        right.setdefault(kind, []).append(margin > 0)
    print(f"{'kind':<16}{'right side':>12}" + (f"{'chosen°':>10}{'told°':>8}" if chosen_err else ""))
    for kind in sorted(right):
        line = f"{kind:<16}{sum(right[kind]):>6} of {len(right[kind]):<3}"
        if chosen_err:
            line += f"{np.mean(chosen_err[kind]):>10.2f}{np.mean(told_err[kind]):>8.2f}"
        print(line)
    total = [x for v in right.values() for x in v]
    line = f"{'overall':<16}{sum(total):>6} of {len(total):<3}"
    if chosen_err:
        line += (f"{np.mean([x for v in chosen_err.values() for x in v]):>10.2f}"
                 f"{np.mean([x for v in told_err.values() for x in v]):>8.2f}")
    print(line)


if __name__ == "__main__":
    main()
