"""Does averaging with a mirrored copy help the one-side-light model?

    python benchmarks/mirror_tta.py DIR [DIR ...] [--model pretrained/normalgen_unet_lit.keras]

Each DIR holds pairs and an index.tsv with each photo's light azimuth (`normalgen synth` output,
or blender-dev). Every photo is predicted told its side (as `normalgen eval --light-from index`),
once as it is and once mirrored across the light's own axis (top-bottom for a light from the
right or left, left-right for one from the top or bottom), which keeps the light on the same
side. The mirrored prediction is mirrored back, its vectors too (the component across the
light's axis negated), and "mirror mean" is the renormalised mean of the two. Prints the mean
angular error per kind for the photo alone, the mirrored copy alone and the mean, then the
network time per photo each costs (one or two passes).
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

    from normalgen import pretrained
    from normalgen.inference import generate_normal_map
    from normalgen.model_loading import load_model
    from normalgen.vectors import normalize
    from normalgen_training.evaluate import evaluate

    model = load_model(args.model or pretrained.CANONICAL_MODEL_PATH, light_from="right")

    def mirrored(photo, side):
        # Light from the right or left: flip rows (Y negated); from the top or bottom: columns (X).
        axis, component = (0, 1) if side in ("right", "left") else (1, 0)
        n = generate_normal_map(np.flip(photo, axis), model=model, light_from=side)
        n = np.flip(n, axis).copy()
        n[..., component] *= -1.0
        return n

    def predict(photo, side, name):
        if name == "photo":
            return generate_normal_map(photo, model=model, light_from=side)
        if name == "mirrored":
            return mirrored(photo, side)
        return normalize(generate_normal_map(photo, model=model, light_from=side) + mirrored(photo, side))

    names = ("photo", "mirrored", "mirror mean")
    for d in args.dirs:
        results = {n: evaluate(lambda p, s, n=n: predict(p, s, n), [d], "index") for n in names}
        print(f"\n{d}\n{'kind':<16}" + "".join(f"{n:>13}" for n in names))
        for group in results[names[0]]["groups"]:
            print(f"{group:<16}" + "".join(f"{results[n]['groups'][group]['mean']:>13.2f}" for n in names))
        print(f"{'overall':<16}" + "".join(f"{results[n]['overall']['mean']:>13.2f}" for n in names))


if __name__ == "__main__":
    main()
