"""Does `normalgen relight` help retraining? A texture library simulated with the generator.

Texture libraries ship albedo (the colour with the light taken out) beside measured normals;
`normalgen relight` renders such a library under light. This makes a library the same way from
the synthetic generator: each pair's albedo (sRGB, 8-bit, as a library's _Color map) and its
normal map, no light at all. Fine-tune on it as it is, and on its relit photos, and compare both
on lit photos of other materials:

    python benchmarks/relight_value.py data/alb95 --count 400 --seed 95
    normalgen relight data/alb95 --out data/alb95_lit --per-pair 2 --seed 1
    normalgen synth data/anyval97 --count 96 --size 256 --seed 97
    normalgen train data/alb95 --val data/anyval97 --out runs/s30alb --epochs 5 --seed 30
    normalgen train data/alb95_lit --val data/anyval97 --out runs/s30lit --epochs 5 --seed 30
    normalgen eval data/anyval97 --model runs/s30lit/best.keras   # and s30alb, and the shipped model

The relit photos come from the generator's own renderer, as the validation photos do, so this
measures what lighting the library is worth, not how well relight's renders match a camera.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from normalgen_training.camera import _srgb_encode
from normalgen_training.synth import make_pair, pair_names, write_pair


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=95)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for i, (name, pair_seed) in enumerate(pair_names(args.count, args.seed)):
        if (args.out / f"{name}_normal.png").exists():
            continue
        _, normals, meta = make_pair(pair_seed, args.size, keep_albedo=True)
        colour = np.round(_srgb_encode(meta["albedo"]) * 255.0).astype(np.uint8)
        write_pair(args.out, name, colour, normals)
        if (i + 1) % 50 == 0:
            print(f"{i + 1} of {args.count}", flush=True)
    print(f"wrote {args.count} albedo/normal pairs to {args.out}")


if __name__ == "__main__":
    main()
