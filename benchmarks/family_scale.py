"""How well the one-side-light model reads each of the generator's own relief families.

    python benchmarks/family_scale.py [--model pretrained/normalgen_unet_lit.keras]
                                      [--albedo plain] [--per 12] [--size 256] [--seed 7000]
                                      [--families waves bricks fbm cells]

For each family, renders `--per` fresh synthetic pairs with that base family alone (no detail
layers, raised or sunk at even odds), lit by the sun within 45 degrees of +X (`synth --light
canonical`, overcast and the other set-ups skipped), and reads them with the model told the light
is on the right (the mirror mean, as `convert --light-from right` runs it). It prints per family
the mean angular error, the error each photo would have with its predicted slopes multiplied by
the one gain that suits it best (searched from 0.5 to 5), and the median of those gains: 1 means
the model reads that family's slopes at their true size, 2 at half of it. The pairs are in-domain
(the generator's own), so a family read far from gain 1 is one the network has not learnt, not a
renderer it has never seen.
"""

from __future__ import annotations

import argparse
import functools
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

GAINS = (0.5, 5.0, 40)  # geometric grid searched for the best per-photo gain


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="a one-side-light .keras file (default: the shipped one)")
    ap.add_argument("--albedo", choices=["plain", "mixed"], default="plain")
    ap.add_argument("--per", type=int, default=12, help="pairs per family")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seed", type=int, default=7000)
    ap.add_argument("--families", nargs="+", default=["waves", "bricks", "fbm", "cells"])
    args = ap.parse_args()

    import numpy as np

    from normalgen.inference import generate_normal_map
    from normalgen.model_loading import load_model
    from normalgen.pretrained import CANONICAL_MODEL_PATH
    from normalgen.vectors import angular_error_deg, apply_strength
    from normalgen_training import heightfields, synth

    path = args.model or str(CANONICAL_MODEL_PATH)
    model = load_model(path, light_from="right")
    gains = np.exp(np.linspace(np.log(GAINS[0]), np.log(GAINS[1]), GAINS[2]))
    original = heightfields.layered_height
    print(f"model {path}; {args.per} sun-lit {args.size}² pairs per family, {args.albedo} albedo")
    print(f"{'family':8} {'mean°':>7} {'best-gain°':>11} {'median gain':>12}  gains per photo")
    try:
        for name in args.families:
            if name not in heightfields.FAMILIES:
                raise SystemExit(f"unknown family {name!r}: use one of {', '.join(heightfields.FAMILIES)}")
            heightfields.layered_height = functools.partial(original, base=name, details=False)
            errors, best, best_gain = [], [], []
            seed, start = args.seed, time.perf_counter()
            while len(errors) < args.per:
                seed += 1
                photo, truth, meta = synth.make_pair(seed, args.size, args.albedo, "canonical")
                if meta["lighting"] != "sun":
                    continue
                pred = generate_normal_map(photo, model=model, light_from="right")
                sweep = [float(angular_error_deg(apply_strength(pred, g), truth).mean()) for g in gains]
                j = int(np.argmin(sweep))
                errors.append(float(angular_error_deg(pred, truth).mean()))
                best.append(sweep[j])
                best_gain.append(gains[j])
            print(f"{name:8} {np.mean(errors):7.2f} {np.mean(best):11.2f} {np.median(best_gain):12.2f}  "
                  + " ".join(f"{g:.2f}" for g in best_gain)
                  + f"   ({time.perf_counter() - start:.0f} s)", flush=True)
    finally:
        heightfields.layered_height = original


if __name__ == "__main__":
    main()
