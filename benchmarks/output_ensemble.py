"""Does averaging two one-side-light models' maps beat the better of them?

    python benchmarks/output_ensemble.py DIR [DIR ...] --with runs/X/best.keras
                                         [--model pretrained/normalgen_unet_lit.keras]

Each DIR holds pairs and an index.tsv with each photo's light azimuth (`normalgen synth` output,
or blender-dev). Every photo is predicted told its side, as `normalgen convert --light-from`
does (mirror mean included), by --model, by --with, and by both: their unit normals summed and
renormalised (twice the network time). Averaging weights instead is `pretrained/average_weights.py`.
Prints the mean angular error per kind for the three.
"""

from __future__ import annotations

from lit_variants import parse_and_load, print_table


def main():
    args, model = parse_and_load(__doc__.split("\n\n")[0],
                                 lambda ap: ap.add_argument("--with", dest="other", required=True,
                                                            help="the second model"))

    from normalgen.inference import generate_normal_map
    from normalgen.model_loading import load_model
    from normalgen.vectors import normalize

    def reading(m):
        return lambda photo, side: generate_normal_map(photo, model=m, light_from=side)

    first, second = reading(model), reading(load_model(args.other, light_from="right"))
    print_table(args.dirs, {"model": first, "with": second,
                       "both": lambda photo, side: normalize(first(photo, side) + second(photo, side))})


if __name__ == "__main__":
    main()
