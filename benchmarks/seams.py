"""How far tiled inference strays from one pass, with a real model on a real photo.

    python benchmarks/seams.py [--model PATH] [--photo examples/gravel.png] [--size 1024]
                               [--tiles 256 384 512] [--light-from auto|right|top|left|bottom]

The photo is tiled (mirrored) up to SIZE², run once in one pass and once per tile size with the
default overlap, and the per-pixel angle between the two results is printed (max, 99.9th
percentile, mean). The inference issue's bar: at most 1 degree anywhere.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--photo", default=os.path.join(os.path.dirname(__file__), "..", "examples", "gravel.png"))
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--tiles", type=int, nargs="+", default=[256, 384, 512])
    ap.add_argument("--light-from", default="auto", help="a side: the one-side-light model, told that side")
    args = ap.parse_args()

    import numpy as np

    from normalgen.imageio import read_photo
    from normalgen.inference import generate_normal_map
    from normalgen.model_loading import load_model
    from normalgen.vectors import angular_error_deg

    model = load_model(args.model, light_from=args.light_from)
    photo = read_photo(args.photo)
    reps = (-(-args.size // photo.shape[0]), -(-args.size // photo.shape[1]), 1)
    photo = np.tile(np.concatenate([photo, photo[::-1]], 0), reps)[: args.size, : args.size]
    one_pass = generate_normal_map(photo, model=model, tile_size=args.size + 16, light_from=args.light_from)
    for tile in args.tiles:
        tiled = generate_normal_map(photo, model=model, tile_size=tile, light_from=args.light_from)
        err = angular_error_deg(tiled, one_pass)
        print(f"tile {tile:5d}: max {err.max():.3f} deg, 99.9% {np.percentile(err, 99.9):.3f} deg, "
              f"mean {err.mean():.4f} deg vs one pass of {args.size}²")


if __name__ == "__main__":
    main()
