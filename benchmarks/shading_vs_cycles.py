"""The generator's shading terms against Blender Cycles, on the generator's own height fields.

    python benchmarks/shading_vs_cycles.py [--count 6] [--size 128] [--blender .venv-blender/bin/python]

For each of a few height fields drawn by training/heightfields.py (scaled to 15, 30 and 45 degrees
RMS slope), Cycles renders the same surface as a mesh (benchmarks/cycles_reference.py) and the
generator's formulas are evaluated on it, one term at a time, grey albedo:

- sun: a hard sun (0.53 degrees across, the real one) at 30 and 55 degrees elevation, direct
  light only, against albedo * max(n.l, 0) * cast_shadow(softness) for a few softnesses;
- sky: a uniform sky, direct light only, against the generator's sky term
  (shading.sky_irradiance) and the one it had before this check;
- bounce: sun + sky with four diffuse bounces minus the same without, at albedo 0.5 and 0.8: the
  interreflected light, against shading.interreflection applied to Cycles' direct light.

It prints, per term, the mean absolute difference relative to Cycles' mean radiance (0 is a
perfect match) and the correlation. Cycles is the reference: no blender-dev image is used.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from normalgen.vectors import normals_from_height  # noqa: E402
from normalgen_training import heightfields, shading  # noqa: E402


def cycles(blender: str, height: np.ndarray, **kw) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        h, out = Path(tmp) / "h.npy", Path(tmp) / "out.npy"
        np.save(h, height.astype(np.float32))
        cmd = [blender, str(ROOT / "benchmarks" / "cycles_reference.py"), str(h), str(out)]
        for k, v in kw.items():  # "" is a flag without a value; a tuple, several values
            values = [str(x) for x in v] if isinstance(v, tuple) else ([str(v)] if v != "" else [])
            cmd += [f"--{k.replace('_', '-')}"] + values
        subprocess.run(cmd, check=True, capture_output=True)
        return np.load(out)


def rel_err(ref: np.ndarray, est: np.ndarray) -> float:
    return float(np.mean(np.abs(ref - est)) / np.mean(ref))


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def first_generator_sky(n: np.ndarray, h: np.ndarray) -> np.ndarray:
    """The generator's sky term before it was checked here: (1 + n_z)/2 times the solid-angle share
    of the sky above the horizon in 8 directions, sampled at 1, 2, 4 ... 32 px."""
    total = np.zeros_like(h, dtype=np.float32)
    for dx, dy in [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)]:
        horizon, t = np.zeros_like(total), 1
        while t <= 32:
            horizon = np.maximum(horizon, (np.roll(h, shift=(-dy * t, -dx * t), axis=(0, 1)) - h) / (t * np.hypot(dx, dy)))
            t *= 2
        total += 1.0 - np.sin(np.arctan(horizon))
    return 0.5 * (1 + n[..., 2]) * total / 8


def surfaces(count: int, size: int, seed: int = 0):
    """(name, height in pixel units) for `count` generator height fields at 15, 30 and 45 degrees."""
    for i in range(seed, seed + count):
        rng = np.random.default_rng([i, 0xC7C1E5])
        layer, family = heightfields.layered_height(rng, size)
        slope = (15.0, 30.0, 45.0)[i % 3]
        yield f"{family}@{slope:.0f}", layer.height * np.tan(np.radians(slope))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=6)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--samples", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0, help="first surface's seed")
    ap.add_argument("--blender", default=str(ROOT / ".venv-blender" / "bin" / "python"))
    args = ap.parse_args()
    bl = args.blender
    softnesses = (0.005, 0.05, 0.2, 0.5)
    sky_models = {"first generator": first_generator_sky, "generator": shading.sky_irradiance}

    rows = []
    for name, h in surfaces(args.count, args.size, args.seed):
        # Cycles' own shading normals (smoothed mesh normals), so that only the light terms differ;
        # how far they are from the generator's finite differences is printed as its own row.
        n = cycles(bl, h, normals="", samples=1)
        n = n / np.linalg.norm(n, axis=-1, keepdims=True)
        n_fd = normals_from_height(h, wrap=True)
        row = {"surface": name,
               "normals: mean angle to finite diff.": float(np.degrees(np.mean(np.arccos(np.clip(np.sum(n * n_fd, -1), -1, 1)))))}
        for elev in (30.0, 55.0):
            ref = cycles(bl, h, sun=np.pi, sun_elevation=elev, sun_azimuth=20.0, albedo=0.5,
                         samples=args.samples // 4)
            L = shading.direction(elev, 20.0)
            nl = 0.5 * np.clip(n @ L, 0, 1)
            row[f"sun{elev:.0f} no shadow"] = rel_err(ref, nl)
            for s in softnesses:
                row[f"sun{elev:.0f} soft {s}"] = rel_err(ref, nl * shading.cast_shadow(h, L, s))
        ref = cycles(bl, h, sky=1.0, albedo=0.5, samples=args.samples)
        row["sky: no occlusion"] = rel_err(ref, 0.5 * shading.sky_irradiance(n, None))
        for mname, fn in sky_models.items():
            est = 0.5 * fn(n, h)
            row[f"sky: {mname}"] = rel_err(ref, est)
            row[f"sky: {mname} corr"] = corr(ref, est)
        row["sky: cycles mean / unoccluded"] = float(np.mean(ref) / np.mean(0.25 * (1 + n[..., 2])))
        seen = shading.sky_irradiance(n, h)
        for alb in (0.5, 0.8):
            kw = dict(sun=np.pi, sun_elevation=40.0, sun_azimuth=20.0, sky=0.3, albedo=alb, samples=args.samples)
            direct = cycles(bl, h, bounces=0, **kw)
            full = cycles(bl, h, bounces=4, **kw)
            row[f"a={alb} bounce / direct"] = float(np.mean(full - direct) / np.mean(direct))
            est = shading.interreflection(np.full(h.shape + (1,), alb), direct[..., None], seen)[..., 0]
            row[f"a={alb} full vs direct only"] = rel_err(full, direct)
            row[f"a={alb} full vs direct + generator bounce"] = rel_err(full, direct + est)
            row[f"a={alb} bounce: generator's / cycles'"] = float(np.mean(est) / np.mean(full - direct))
            row[f"a={alb} bounce: corr"] = corr(full - direct, est)
        rows.append(row)
        print(name, "done", flush=True)

    keys = [k for k in rows[0] if k != "surface"]
    print(f"\n{'term':40s}" + "".join(f"{r['surface'][:18]:>20s}" for r in rows) + f"{'mean':>10s}")
    for k in keys:
        vals = [r[k] for r in rows]
        print(f"{k:40s}" + "".join(f"{v:20.3f}" for v in vals) + f"{np.mean(vals):10.3f}")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main()
