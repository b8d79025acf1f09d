"""Does the one-side-light model read a Cycles render as steeply as the generator's render of the
same surface? The renderer gap, measured on the generator's own height fields.

    python benchmarks/model_on_cycles.py [--count 6] [--size 192] [--model M] [--blender .venv-blender/bin/python]

For each of a few height fields drawn by training/heightfields.py (grey albedo, 20 and 35 degrees
RMS slope), the same sun-and-sky light (a hard sun from the right at the given elevation, a uniform
sky giving `--sky-share` of a flat ground's irradiance) is rendered twice: by Cycles, as a real mesh
with four diffuse bounces (benchmarks/cycles_reference.py), and by the generator's
training/shading.py. Both are developed by the same camera (exposure to a fixed mean, plain sRGB),
the model is told "light from the right", and this prints, per photo, the mean angular error and
the least-squares gain of the true slope along the light on the predicted one (1: the model reads
the slope's size right; 2: it reads half of it). No blender-dev image is used.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from shading_vs_cycles import cycles  # noqa: E402

from normalgen.vectors import normals_from_height  # noqa: E402
from normalgen_training import camera, heightfields, shading  # noqa: E402


def develop(radiance: np.ndarray) -> np.ndarray:
    """Linear grey radiance -> 8-bit sRGB photo, exposed to a mean of 0.25, the same for both."""
    x = radiance * (0.25 / float(np.mean(radiance)))
    y = camera._srgb_encode(x)
    return np.repeat(np.round(y * 255.0).astype(np.uint8)[..., None], 3, axis=-1)


def slope_gain(truth: np.ndarray, pred: np.ndarray) -> float:
    """Least-squares gain of the true slope along +X (the light) on the predicted one."""
    pt = -truth[..., 0] / np.maximum(truth[..., 2], 1e-3)
    pp = -pred[..., 0] / np.maximum(pred[..., 2], 1e-3)
    return float((pt * pp).sum() / max((pp * pp).sum(), 1e-12))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=6)
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--elevation", type=float, default=40.0)
    ap.add_argument("--sky-share", type=float, default=0.1, help="sky / total irradiance on flat ground")
    ap.add_argument("--albedo", type=float, default=0.6)
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--model", default=str(ROOT / "pretrained" / "normalgen_unet_lit.keras"))
    ap.add_argument("--blender", default=str(ROOT / ".venv-blender" / "bin" / "python"))
    args = ap.parse_args()

    from normalgen.inference import generate_normal_map
    from normalgen.model_loading import load_model
    from normalgen.vectors import angular_error_deg

    model = load_model(args.model, light_from="right")
    sun = 3.0  # irradiance on a surface facing the sun
    flat_sun = sun * np.sin(np.radians(args.elevation))
    sky = flat_sun * args.sky_share / (1.0 - args.sky_share)  # sky irradiance on flat open ground
    lighting = shading.Lighting("sun", [shading.Light(shading.direction(args.elevation, 0.0), np.ones(3) * sun, 0.005)],
                                np.ones(3) * sky, 1.0)
    print(f"sun {args.elevation:.0f} deg from the right, sky {args.sky_share:.0%} of flat irradiance, "
          f"albedo {args.albedo}, {args.size}^2, Cycles {args.samples} spp, 4 bounces")
    print(f"{'surface':<28}{'slope':>7}{'err gen':>9}{'err cyc':>9}{'gain gen':>10}{'gain cyc':>10}{'contrast g/c':>14}")
    rows = []
    for i in range(args.count):
        rng = np.random.default_rng([i, 0x5A1E])
        layer, family = heightfields.layered_height(rng, args.size)
        slope = (20.0, 35.0)[i % 2]
        h = (layer.height * np.tan(np.radians(slope))).astype(np.float32)
        normals = normals_from_height(h, wrap=True)
        alb = np.full(h.shape + (3,), args.albedo, np.float32)
        gen = shading.shade(alb, normals, h, lighting, roughness=1.0, specular=0.0)[..., 0]
        cyc = cycles(args.blender, h, sun=sun, sun_elevation=args.elevation, sun_azimuth=0.0,
                     sky=sky / np.pi, albedo=args.albedo, bounces=4, samples=args.samples) * np.pi
        out = []
        for rad in (gen, cyc):
            pred = generate_normal_map(develop(rad), model=model, light_from="right")
            out.append((float(angular_error_deg(pred, normals).mean()), slope_gain(normals, pred),
                        float(np.std(rad) / np.mean(rad))))
        rows.append(out)
        (eg, gg, cg), (ec, gc, cc) = out
        print(f"{family[:27]:<28}{slope:>7.0f}{eg:>9.2f}{ec:>9.2f}{gg:>10.2f}{gc:>10.2f}{cg / cc:>14.2f}", flush=True)
    r = np.array(rows)
    print(f"{'mean':<28}{'':>7}{r[:, 0, 0].mean():>9.2f}{r[:, 1, 0].mean():>9.2f}"
          f"{r[:, 0, 1].mean():>10.2f}{r[:, 1, 1].mean():>10.2f}{(r[:, 0, 2] / r[:, 1, 2]).mean():>14.2f}")


if __name__ == "__main__":
    main()
