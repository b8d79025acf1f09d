"""Write a validation set rendered by Blender Cycles under many lights, to measure the models away
from the sun and sky they were trained and checked under.

    python benchmarks/other_lights.py OUT [--count 10] [--size 256] [--samples 64] [--blender PY]
    normalgen eval OUT                                   # the default model, any light
    normalgen eval OUT --light-from index --model pretrained/normalgen_unet_lit.keras
    normalgen eval OUT --strength 0                      # a flat map

The project's issue warns that the shipped weights will be measured "on renders under other
lights that you do not have". This makes such renders from what we have: `--count` height fields
drawn by the generator (training/heightfields.py, seeds of their own, RMS slope 6-40 degrees),
each built as a real mesh and rendered by Cycles (benchmarks/cycles_reference.py: a Principled
BSDF of random grey albedo and roughness, four bounces) under every light set-up below:

- sun and sky at 15, 45 and 75 degrees elevation (the sky giving a fifth of a flat ground's light);
- an overcast sky alone; a soft box (a square area lamp) at 40 degrees; an on-camera flash;
- six of the Poly Haven environment maps (CC0) that Blender ships as studio lights: sunset,
  sunrise, forest, courtyard, city and interior, each turned at random about the vertical.

Each render is developed as a camera would: grey-world white balance, exposure to a mean of 0.2,
sRGB, 8 bits. OUT gets the pairs in the layout `normalgen eval` reads (NNN_color.png, 16-bit OpenGL
NNN_normal.png from the same height field) and index.tsv, whose `kind` is the light set-up and
whose light azimuth and elevation are those of a Lambertian fit of the linear render on the true
normals: the side an artist would name from the bright slopes (`--light-from index`). An
elevation near 90 means the light has no side (overcast, flash). No blender-dev image is used.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from shading_vs_cycles import cycles  # noqa: E402

from normalgen.atomic_files import atomic_write_bytes  # noqa: E402
from normalgen.vectors import normals_from_height  # noqa: E402
from normalgen_training import camera, heightfields  # noqa: E402
from normalgen_training.synth import write_pair  # noqa: E402

HDRIS = ("sunset", "sunrise", "forest", "courtyard", "city", "interior")
SLOPES = (6.0, 12.0, 20.0, 30.0, 40.0)
HEADER = "id\tkind\tlighting\tslope_deg\tlight_azimuth\tlight_elevation\tseed"


def setups(blender: str) -> list[tuple[str, dict]]:
    """(name, cycles_reference.py arguments without the azimuth) for each light set-up."""
    worlds = Path(subprocess.run([blender, "-c", "import bpy; print(bpy.utils.resource_path('LOCAL'))"],
                                 check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    worlds = worlds / "datafiles" / "studiolights" / "world"

    def sun(elevation: float) -> dict:
        flat = 3.0 * np.sin(np.radians(elevation))  # the sun's irradiance on flat ground
        return {"sun": 3.0, "sun_elevation": elevation, "sky": flat * 0.25 / np.pi}  # sky = 1/5 of all

    out = [(f"sun{e:.0f}+sky", sun(e)) for e in (15.0, 45.0, 75.0)]
    out += [("overcast", {"sky": 1.0}),
            ("softbox40", {"lamp": ("AREA", 3.0, 4.0, 40.0, None, 1.2), "sky": 0.02}),
            ("flash", {"lamp": ("POINT", 3.0, 1.5, 84.0, None, 0.0)})]
    out += [(f"hdri-{name}", {"hdri": str(worlds / f"{name}.exr"), "sky": 1.0}) for name in HDRIS]
    return out


def develop(radiance: np.ndarray) -> np.ndarray:
    """Linear RGB radiance -> 8-bit sRGB photo: grey-world white balance, exposure to a mean of
    0.2, an sRGB curve, 8-bit rounding (as a camera writing a JPEG or PNG would)."""
    x = radiance / np.maximum(radiance.reshape(-1, 3).mean(axis=0), 1e-12)
    x = x * (0.2 / float(np.mean(x)))
    return np.round(camera._srgb_encode(x) * 255.0).astype(np.uint8)


def light_fit(radiance: np.ndarray, normals: np.ndarray) -> tuple[float, float]:
    """(azimuth, elevation) in degrees of the least-squares Lambertian light: grey radiance ~ n . l."""
    grey = radiance.mean(axis=-1).ravel()
    lx, ly, lz = np.linalg.lstsq(normals.reshape(-1, 3), grey, rcond=None)[0]
    return float(np.degrees(np.arctan2(ly, lx))), float(np.degrees(np.arctan2(lz, np.hypot(lx, ly))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=10, help="height fields (each rendered under every light)")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--blender", default=str(ROOT / ".venv-blender" / "bin" / "python"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lights = setups(args.blender)
    rows = []
    for i in range(args.count):
        seed = args.seed * 1000 + i
        rng = np.random.default_rng([seed, 0x0713E5])
        layer, family = heightfields.layered_height(rng, args.size)
        slope = SLOPES[i % len(SLOPES)]
        height = layer.height * np.tan(np.radians(slope))
        normals = normals_from_height(height, wrap=True)
        material = {"albedo": round(float(rng.uniform(0.25, 0.75)), 3),
                    "roughness": round(float(rng.uniform(0.3, 0.8)), 3), "bounces": 4, "samples": args.samples}
        for j, (kind, light) in enumerate(lights):
            azimuth = float(rng.uniform(0.0, 360.0))
            light = dict(light)
            if "sun" in light:
                light["sun_azimuth"] = azimuth
            if "lamp" in light:
                light["lamp"] = tuple(azimuth if v is None else v for v in light["lamp"])
            if "hdri" in light:
                light["hdri_rotation"] = azimuth
            radiance = cycles(args.blender, height, rgb="", **light, **material)
            name = f"{i * len(lights) + j:03d}"
            write_pair(out, name, develop(radiance), normals)
            az, el = light_fit(radiance, normals)
            rows.append(f"{name}\t{kind}\t{kind}\t{slope:.1f}\t{az:.1f}\t{el:.1f}\t{seed}")
            print(f"{name} {family:<24} slope {slope:4.0f}  {kind:<16} turned {azimuth:5.1f}, fitted light azimuth {az:6.1f} "
                  f"elevation {el:5.1f}", flush=True)
        atomic_write_bytes(out / "index.tsv", (HEADER + "\n" + "\n".join(rows) + "\n").encode(), overwrite=True)


if __name__ == "__main__":
    main()
