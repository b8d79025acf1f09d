"""Shared by the one-side-light experiment scripts (two_scale.py, mirror_tta.py,
light_direction.py, output_ensemble.py): their command line (DIR... [--model PATH]), the model
they load, and the table they print, the mean angular error per kind of each way of predicting,
every photo told its side (or its light's azimuth) from its index.tsv."""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def parse_and_load(description: str, more=None):
    """-> (the parsed arguments, their `dirs` the data folders; the one-side-light model: --model
    or the shipped one). `more`, if given, is called with the parser to add options."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--model", default=None, help="default: the shipped one-side-light model")
    if more:
        more(ap)
    args = ap.parse_args()

    from normalgen import pretrained
    from normalgen.model_loading import load_model

    return args, load_model(args.model or pretrained.CANONICAL_MODEL_PATH, light_from="right")


def print_table(dirs, variants: dict, width: int = 12, told: str = "index") -> None:
    """variants: name -> predict(photo, side) -> OpenGL normals, each told its photo's side
    (told="index-azimuth": the light's azimuth in degrees instead). One table per folder."""
    from normalgen_training.evaluate import evaluate

    names = list(variants)
    for d in dirs:
        results = {n: evaluate(variants[n], [d], told) for n in names}
        print(f"\n{d}\n{'kind':<16}" + "".join(f"{n:>{width}}" for n in names))
        for group in results[names[0]]["groups"]:
            print(f"{group:<16}" + "".join(f"{results[n]['groups'][group]['mean']:>{width}.2f}" for n in names))
        print(f"{'overall':<16}" + "".join(f"{results[n]['overall']['mean']:>{width}.2f}" for n in names))
