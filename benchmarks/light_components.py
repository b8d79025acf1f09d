"""Where does a one-side-light model's error live: in the slope along the light, across it, or in
the slopes' size? A diagnosis, per kind.

    python benchmarks/light_components.py DIR [--model pretrained/normalgen_unet_lit.keras]

DIR holds pairs and an index.tsv with each photo's light azimuth (as `normalgen eval --light-from
index` reads it). Each photo is predicted told its side, and truth and prediction are turned so the
light comes from +X. With p the slope along the light and q the slope across it (dh/dx, dh/dy),
this prints the mean angular error of:

- the prediction, and the prediction with its p, or its q, replaced by the truth's (what a perfect
  reading of each component would gain);
- "p only, integrated": the truth's p alone, integrated to the least-squares height (q weighted
  1/100) and differentiated back: the surface one directional light can show, when its shading is
  read exactly (q follows from p wherever the surface is not a ridge along the light);
- the prediction with its slopes scaled by one gain per photo, the best of 0.75-3.5 (what no
  single --strength can reach: the ceiling of fixing the slopes' size alone);

and the least-squares gain of the true p on the predicted p (1: the size is read right, 2: half).
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

GAINS = (0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--model", default="pretrained/normalgen_unet_lit.keras")
    args = ap.parse_args()

    import numpy as np

    from normalgen.height import integrate_normals
    from normalgen.inference import generate_normal_map
    from normalgen.model_loading import load_model
    from normalgen.orientation import turn_for_light, turn_normals
    from normalgen.vectors import angular_error_deg, normals_from_height
    from normalgen_training.dataset import load_pair
    from normalgen_training.evaluate import _index_kinds, _index_lights
    from normalgen_training.pairing import find_pairs

    def slopes(n):  # (p, q) = (dh/dx, dh/dy), OpenGL, y up
        nz = np.maximum(n[..., 2], 1e-3)
        return -n[..., 0] / nz, -n[..., 1] / nz

    def unit(p, q):
        v = np.stack([-p, -q, np.ones_like(p)], axis=-1)
        return v / np.linalg.norm(v, axis=-1, keepdims=True)

    model = load_model(args.model, light_from="right")
    pairs, _ = find_pairs([args.dir])
    kinds, sides = _index_kinds(pairs), _index_lights(pairs)
    sums = defaultdict(lambda: defaultdict(float))
    for pair in pairs:
        key = (pair.color.parent, pair.color.stem.rsplit("_", 1)[0])
        photo, truth = load_pair(pair)
        k = turn_for_light(sides[key])
        pred = generate_normal_map(photo, model=model, light_from=sides[key])
        t, m = turn_normals(truth, k), turn_normals(pred, k)
        pt, qt = slopes(t)
        pp, qp = slopes(m)
        err = {
            "prediction": angular_error_deg(m, t).mean(),
            "with the true p (along)": angular_error_deg(unit(pt, qp), t).mean(),
            "with the true q (across)": angular_error_deg(unit(pp, qt), t).mean(),
            "true p only, integrated": angular_error_deg(
                normals_from_height(integrate_normals(unit(pt, 0 * qt), row_weight=0.01), wrap=False), t).mean(),
            "best gain per photo": min(angular_error_deg(unit(g * pp, g * qp), t).mean() for g in GAINS),
        }
        for group in (kinds.get(key, pair.group), "all"):
            s = sums[group]
            for name, e in err.items():
                s[name] += e
            s["photos"] += 1
            s["pt.pp"] += float((pt * pp).sum())
            s["pp.pp"] += float((pp * pp).sum())
    groups = sorted(set(sums) - {"all"}) + ["all"]
    width = max(10, *(len(g) + 2 for g in groups))
    print(f"{'mean angular error (deg)':<30}" + "".join(f"{g:>{width}}" for g in groups))
    for name in ("prediction", "with the true p (along)", "with the true q (across)", "true p only, integrated",
                 "best gain per photo"):
        print(f"{name:<30}" + "".join(f"{sums[g][name] / sums[g]['photos']:>{width}.2f}" for g in groups))
    print(f"{'gain of true p on predicted':<30}" + "".join(f"{sums[g]['pt.pp'] / sums[g]['pp.pp']:>{width}.2f}" for g in groups))


if __name__ == "__main__":
    main()
