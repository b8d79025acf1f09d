"""How steep the normal maps in pair folders are: the share of pixels tilted past 45 and 60
degrees and the 99th percentile of the tilt, over each folder and per base relief family.

    python benchmarks/wall_steepness.py DIR... [--limit N]

Narrow walls (bevels of bricks and tiles, the rims of stones, rivets) make the tail of this
distribution; a generator that scales every relief by its RMS slope rarely draws steep ones
(`synth --steep`; twenty-fifth session in pretrained/EXPERIMENTS.md). Families come from the
`kind` column of index.tsv, as `normalgen synth` writes it; folders without one are summed whole.
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

import numpy as np

from normalgen.imageio import read_normal_map
from normalgen_training.evaluate import _index_kinds, tilt_deg
from normalgen_training.pairing import find_pairs
from normalgen_training.synth import base_family

LIMITS = (45, 60)


def summary(tilts: np.ndarray) -> str:
    shares = "  ".join(f"past {a}: {np.mean(tilts > a):6.2%}" for a in LIMITS)
    return f"{shares}  99th percentile {np.percentile(tilts, 99):5.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--limit", type=int, default=None, help="first N pairs of each folder")
    args = ap.parse_args()
    for folder in args.dirs:
        pairs, _ = find_pairs([folder], recursive=False)
        pairs = pairs[: args.limit]
        kind_of = _index_kinds(pairs)  # (folder, id) -> kind, as `normalgen eval` groups them
        groups = collections.defaultdict(list)
        for pair in pairs:
            tilts = tilt_deg(read_normal_map(pair.normal, convention=pair.convention)).ravel()
            groups["(all)"].append(tilts)
            kind = kind_of.get((pair.color.parent, pair.color.stem.rsplit("_", 1)[0]))
            if kind:
                groups[base_family(kind) + ("@steep" if "@steep" in kind else "")].append(tilts)
        print(f"{folder} ({len(pairs)} pairs)")
        for name, parts in sorted(groups.items()):
            print(f"  {name:14s} {len(parts):5d}  {summary(np.concatenate(parts))}")


if __name__ == "__main__":
    main()
