"""How steep are the maps? Mean slope (the angle of each normal from +Z) per kind, of the truth and
of each one-side-light model, every photo told its side from its index.tsv.

    python benchmarks/map_slopes.py DIR --models A.keras B.keras ...

A lower mean angular error can come from flatter maps (a model that hedges toward flat where the
photo is unclear), which an artist sees at once; this prints the slope beside the error so the
two are read together. Used in the seventh and eighth sessions of pretrained/EXPERIMENTS.md.
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--models", nargs="+", required=True)
    args = ap.parse_args()

    import numpy as np

    from normalgen.inference import generate_normal_map
    from normalgen.model_loading import load_model
    from normalgen.vectors import angular_error_deg
    from normalgen_training.dataset import load_pair
    from normalgen_training.evaluate import _index_kinds, _index_lights, tilt_deg as slope  # degrees from +Z
    from normalgen_training.pairing import find_pairs

    # The same pairs, kinds and sides as `normalgen eval DIR --light-from index`, and like it each
    # pixel counts once, so the errors printed here are eval's.
    pairs, _ = find_pairs([args.dir])
    kinds, sides = _index_kinds(pairs), _index_lights(pairs)
    models = {Path(m).parent.name if Path(m).name == "best.keras" else Path(m).stem:
              load_model(m, light_from="right") for m in args.models}
    sums = defaultdict(lambda: np.zeros(3))  # (name, group) -> [slope sum, error sum, pixels]
    for pair in pairs:
        key = (pair.color.parent, pair.color.stem.rsplit("_", 1)[0])
        photo, truth = load_pair(pair)
        maps = {"truth": truth}
        maps.update({name: generate_normal_map(photo, model=m, light_from=sides[key]) for name, m in models.items()})
        for name, n in maps.items():
            for group in (kinds.get(key, pair.group), "all"):
                sums[name, group] += (slope(n).sum(), angular_error_deg(n, truth).sum(), truth[..., 0].size)
    groups = sorted({g for _, g in sums} - {"all"}) + ["all"]
    width = max(14, *(len(g) + 2 for g in groups))
    print(f"{'mean slope (error)':<28}" + "".join(f"{g:>{width}}" for g in groups))
    for name in maps:
        cells = [f"{sums[name, g][0] / sums[name, g][2]:.2f}"
                 + (f" ({sums[name, g][1] / sums[name, g][2]:.2f})" if name != "truth" else "") for g in groups]
        print(f"{name:<28}" + "".join(f"{c:>{width}}" for c in cells))


if __name__ == "__main__":
    main()
