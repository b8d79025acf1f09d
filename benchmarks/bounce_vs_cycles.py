"""The generator's interreflection against Cycles' four-bounce light, on the generator's own surfaces.

    python benchmarks/bounce_vs_cycles.py [--count 6] [--size 128] [--samples 128]

For each of the height fields shading_vs_cycles.py draws (15, 30 and 45 degrees RMS slope), Cycles
renders sun + uniform sky direct only and with four diffuse bounces (albedo 0.5 and 0.8, sun at 40
and 65 degrees); their difference is the bounced light. shading.interreflection is applied to
Cycles' direct light twice: with the share of the hemisphere that sees surface counted as
1 - seen (the generator since the tenth session: the relief's horizon and, on a tilted facet, the
part below the horizontal) and as open - seen (before: the relief's horizon only). Printed per
render and as a mean: the bounce's size against Cycles' (1 is right), its correlation with Cycles',
the full render's mean absolute difference over Cycles' mean, and the contrast (std / mean) of
direct + estimate over that of Cycles' full render (above 1: the photo is too contrasty, which a
network reads as too steep a surface). No blender-dev image is used.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from shading_vs_cycles import corr, cycles, rel_err, surfaces  # noqa: E402

from normalgen_training import shading  # noqa: E402


def contrast(x: np.ndarray) -> float:
    return float(np.std(x) / np.mean(x))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=6)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--samples", type=int, default=128)
    ap.add_argument("--blender", default=str(ROOT / ".venv-blender" / "bin" / "python"))
    args = ap.parse_args()
    bl = args.blender
    cols = ["bounce/direct"] + [f"{w} {m}" for w in ("now", "before") for m in ("size", "corr", "err", "contrast")]
    print(f"{'surface':<26}{'albedo':>7}{'sun':>5}" + "".join(f"{c:>16}" for c in cols))
    rows = []
    for name, h in surfaces(args.count, args.size):
        n = cycles(bl, h, normals="", samples=1)
        n = n / np.linalg.norm(n, axis=-1, keepdims=True)
        sky_open, seen = shading.sky_visibility(n, h)
        for alb in (0.5, 0.8):
            for elev in (40.0, 65.0):
                kw = dict(sun=np.pi, sun_elevation=elev, sun_azimuth=20.0, sky=0.3, albedo=alb, samples=args.samples)
                direct = cycles(bl, h, bounces=0, **kw)
                full = cycles(bl, h, bounces=4, **kw)
                bounced = full - direct
                row = [float(bounced.mean() / direct.mean())]
                # `interreflection` counts 1 - seen as surface; passing 1 - (open - seen) as `seen`
                # makes it count open - seen, the term it used before.
                for seen_as in (seen, 1.0 - np.clip(sky_open - seen, 0, 1)):
                    est = shading.interreflection(np.full(h.shape + (1,), alb), direct[..., None], seen_as)[..., 0]
                    row += [float(est.mean() / bounced.mean()), corr(bounced, est), rel_err(full, direct + est),
                            contrast(direct + est) / contrast(full)]
                rows.append(row)
                print(f"{name[:25]:<26}{alb:>7.1f}{elev:>5.0f}" + "".join(f"{v:>16.3f}" for v in row), flush=True)
    print(f"{'mean':<38}" + "".join(f"{v:>16.3f}" for v in np.mean(rows, axis=0)))


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main()
