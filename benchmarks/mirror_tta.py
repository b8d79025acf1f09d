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

from lit_variants import parse_and_load, print_table


def main():
    args, model = parse_and_load(__doc__.split("\n\n")[0])

    import numpy as np

    import normalgen.orientation
    from normalgen.inference import generate_normal_map

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

    print_table(args.dirs, {
        "photo": one_pass,
        "mirrored": mirrored,
        "mirror mean": lambda photo, side: generate_normal_map(photo, model=model, light_from=side),
    }, width=13)


if __name__ == "__main__":
    main()
