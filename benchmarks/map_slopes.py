"""How steep are the maps? Mean slope (the angle of each normal from +Z) per kind, of the truth and
of each one-side-light model, every photo told its side from its index.tsv.

    python benchmarks/map_slopes.py DIR --models A.keras B.keras ...

A lower mean angular error can come from flatter maps (a model that hedges toward flat where the
photo is unclear), which an artist sees at once; this prints the slope beside the error so the
two are read together. Used in the model card's seventh and eighth sessions.
"""

from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--models", nargs="+", required=True)
    args = ap.parse_args()

    import numpy as np

    from normalgen.imageio import read_normal_map, read_photo
    from normalgen.inference import generate_normal_map
    from normalgen.model_loading import load_model
    from normalgen.orientation import light_side
    from normalgen.vectors import angular_error_deg

    def slope(n):
        return float(np.degrees(np.arccos(np.clip(n[..., 2], -1.0, 1.0))).mean())

    d = Path(args.dir)
    with open(d / "index.tsv") as f:
        rows = [r for r in csv.reader(f, delimiter="\t") if r and not r[0].startswith("#")]
    models = {Path(m).parent.name if Path(m).name == "best.keras" else Path(m).stem:
              load_model(m, light_from="right") for m in args.models}
    slopes = {name: [] for name in ["truth", *models]}
    errors = {name: [] for name in models}
    for ident, kind, *rest in rows:
        photo = read_photo(d / f"{ident}_color.png")
        truth = read_normal_map(d / f"{ident}_normal.png", convention="opengl")
        slopes["truth"].append(slope(truth))
        side = light_side(float(rest[1]))  # index.tsv: id, kind, elevation, azimuth
        for name, model in models.items():
            pred = generate_normal_map(photo, model=model, light_from=side)
            slopes[name].append(slope(pred))
            errors[name].append(float(angular_error_deg(pred, truth).mean()))
    kinds = sorted({r[1] for r in rows})
    width = max(14, *(len(k) + 2 for k in kinds))
    print(f"{'mean slope (error)':<28}" + "".join(f"{k:>{width}}" for k in [*kinds, "all"]))
    for name, values in slopes.items():
        cells = []
        for k in [*kinds, "all"]:
            pick = [i for i, r in enumerate(rows) if k in ("all", r[1])]
            s = np.mean([values[i] for i in pick])
            e = f" ({np.mean([errors[name][i] for i in pick]):.2f})" if name in errors else ""
            cells.append(f"{s:.2f}{e}")
        print(f"{name:<28}" + "".join(f"{c:>{width}}" for c in cells))


if __name__ == "__main__":
    main()
