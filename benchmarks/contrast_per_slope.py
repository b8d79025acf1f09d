"""How much photo contrast does a unit of slope make? Per photo lit by a sun, the least-squares
slope of its relative luminance on n.l, times sin(elevation).

    python benchmarks/contrast_per_slope.py DIR [DIR ...]

Each photo's sRGB is decoded to linear light, its luminance divided by its mean, and fitted as
a + c (n.l), with n the true normals and l the sun's direction from index.tsv (`light_azimuth` and
`light_elevation` columns, or blender-dev's headerless id, kind, elevation, azimuth). For a plane lit
by the sun alone, c sin(e) = 1; sky fill lowers it, and so does a tone curve that compresses
contrast; cast shadows raise it. A network reads slope from contrast, so two sets whose photos
differ in this number are read at different slope sizes (the bas-relief ambiguity: contrast per
unit slope also falls with the sun's height, and the network cannot tell the two apart).

Synthetic sets count only their "sun" photos (sun and sky), like blender-dev's; photos with a
mean true slope under 8 degrees are left out (their fit is noise). Prints the median and the
10th-90th percentiles per set and per kind.
"""

from __future__ import annotations

import argparse
from collections import defaultdict


def contrast_per_unit_slope(photo, normals, elevation: float, azimuth: float) -> float:
    """c sin(elevation) of one photo: its relative luminance fitted as a + c (n.l), angles in radians."""
    import numpy as np

    from normalgen.sobel import linear_luminance

    lum = linear_luminance(photo[..., :3]).ravel().astype(np.float64)
    lum /= max(lum.mean(), 1e-9)
    light = np.array([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)])
    return float(np.polyfit(normals.reshape(-1, 3) @ light, lum, 1)[0] * np.sin(elevation))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--min-slope", type=float, default=8.0, help="degrees, the mean true slope a photo needs")
    args = ap.parse_args()

    import numpy as np

    from normalgen_training.dataset import load_pair
    from normalgen_training.evaluate import _index_column, _index_kinds
    from normalgen_training.pairing import find_pairs

    for d in args.dirs:
        pairs, _ = find_pairs([d])
        kinds = _index_kinds(pairs)
        elevations = _index_column(pairs, "light_elevation", 2)
        azimuths = _index_column(pairs, "light_azimuth", 3)
        lightings = _index_column(pairs, "lighting", None)
        values = defaultdict(list)
        for pair in pairs:
            key = (pair.color.parent, pair.color.stem.rsplit("_", 1)[0])
            if lightings.get(key, "sun") != "sun":
                continue
            try:
                e, a = np.radians(float(elevations[key])), np.radians(float(azimuths[key]))
            except (KeyError, ValueError):  # no index row, or "-" (a pair kept by a resumed synth)
                continue
            photo, normals = load_pair(pair)
            if np.degrees(np.arccos(np.clip(normals[..., 2], -1, 1))).mean() < args.min_slope:
                continue
            for group in (kinds.get(key, pair.group), "all"):
                values[group].append(contrast_per_unit_slope(photo, normals, e, a))
        print(f"== {d}: contrast per unit n.l x sin(elevation), median [10th, 90th percentile] (photos)")
        for group in sorted(set(values) - {"all"}) + ["all"]:
            v = np.array(values[group])
            lo, med, hi = np.percentile(v, [10, 50, 90])
            print(f"  {group:<24} {med:5.2f} [{lo:5.2f}, {hi:5.2f}] ({len(v)})")


if __name__ == "__main__":
    main()
