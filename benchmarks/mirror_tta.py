"""Does averaging with a mirrored copy help the one-side-light model?

    python benchmarks/mirror_tta.py DIR [DIR ...] [--model pretrained/normalgen_unet_lit.keras]

Each DIR holds pairs and an index.tsv with each photo's light azimuth (`normalgen synth` output,
or blender-dev). Every photo is predicted told its side (as `normalgen eval --light-from index`)
in one network pass (`normalgen.orientation.mirror_mean` switched off), once as it is and once
mirrored across the light's own axis (top-bottom for a light from the right or left, left-right
for one from the top or bottom), which keeps the light on the same side; the mirrored prediction
is mirrored back, its vectors too (the component across the light's axis negated). "mirror mean"
is what `generate_normal_map` does: both readings of each tile, averaged. Prints the mean angular
error per kind for the three.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--model", default=None, help="default: the shipped one-side-light model")
    args = ap.parse_args()

    import numpy as np

    import normalgen.orientation
    from normalgen import pretrained
    from normalgen.inference import generate_normal_map
    from normalgen.model_loading import load_model
    from normalgen_training.evaluate import evaluate

    model = load_model(args.model or pretrained.CANONICAL_MODEL_PATH, light_from="right")

    shipped_mean = normalgen.orientation.mirror_mean

    def one_pass(photo, side):
        normalgen.orientation.mirror_mean = lambda predict: predict
        try:
            return generate_normal_map(photo, model=model, light_from=side)
        finally:
            normalgen.orientation.mirror_mean = shipped_mean

    def mirrored(photo, side):
        # Light from the right or left: flip rows (Y negated); from the top or bottom: columns (X).
        axis, component = (0, 1) if side in ("right", "left") else (1, 0)
        n = one_pass(np.flip(photo, axis), side)
        n = np.flip(n, axis).copy()
        n[..., component] *= -1.0
        return n

    def predict(photo, side, name):
        if name == "photo":
            return one_pass(photo, side)
        if name == "mirrored":
            return mirrored(photo, side)
        return generate_normal_map(photo, model=model, light_from=side)

    names = ("photo", "mirrored", "mirror mean")
    for d in args.dirs:
        results = {n: evaluate(lambda p, s, n=n: predict(p, s, n), [d], "index") for n in names}
        print(f"\n{d}\n{'kind':<16}" + "".join(f"{n:>13}" for n in names))
        for group in results[names[0]]["groups"]:
            print(f"{group:<16}" + "".join(f"{results[n]['groups'][group]['mean']:>13.2f}" for n in names))
        print(f"{'overall':<16}" + "".join(f"{results[n]['overall']['mean']:>13.2f}" for n in names))


if __name__ == "__main__":
    main()
