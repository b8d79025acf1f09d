"""Two things a Blender render does to a photo, against the generator's ranges.

    python benchmarks/tone_and_sky_vs_blender.py [--blender .venv-blender/bin/python]

- Tone: the network reads relative contrast in sRGB-decoded light, so what matters about a view
  transform is its local gain, d ln(decoded display value) / d ln(scene light), at each exposure
  (1: plain sRGB; below 1: contrast compressed). Blender's AgX (the default since 4.0) and Filmic
  are measured by saving a grey ramp through them; the generator's filmic curve
  (training/camera.py) is sampled over its random parameters (10th, 50th, 90th percentile).
- Sky: the share of a flat white plane's irradiance that comes from the sky rather than the sun
  disc, in Blender's default physical sky (Sky Texture, Multiple Scattering, sun disc on), at a
  few sun elevations, rendered by Cycles. The generator's sun set-ups draw it between about 3% and
  35% (training/shading.py).

No blender-dev image is used.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from normalgen.preprocess import srgb_to_linear  # noqa: E402
from normalgen_training import camera  # noqa: E402

EXPOSURES = (0.06, 0.12, 0.18, 0.3, 0.5, 0.8)
ELEVATIONS = (20, 30, 45, 60, 75)

BLENDER_SIDE = r"""
import json, math, sys, tempfile
import bpy, numpy as np
out = {}
xs = np.geomspace(0.005, 4.0, 256).astype(np.float32)
for vt in ("AgX", "Filmic"):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    sc = bpy.context.scene
    sc.view_settings.view_transform = vt
    sc.view_settings.look = "None"
    img = bpy.data.images.new("ramp", len(xs), 1, float_buffer=True)
    px = np.ones((1, len(xs), 4), np.float32)
    px[0, :, :3] = xs[:, None]
    img.pixels.foreach_set(px.ravel())
    sc.render.image_settings.file_format = "PNG"
    sc.render.image_settings.color_depth = "16"
    with tempfile.TemporaryDirectory() as tmp:
        path = tmp + "/ramp.png"
        img.save_render(path, scene=sc)
        back = bpy.data.images.load(path)  # a 16-bit PNG loads as sRGB-decoded floats
        a = np.empty(len(xs) * 4, np.float32)
        back.pixels.foreach_get(a)
    out[vt] = [xs.tolist(), a.reshape(-1, 4)[:, 0].tolist()]

def plane(elev, disc):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    sc = bpy.context.scene
    bpy.ops.mesh.primitive_plane_add(size=100.0)
    mat = bpy.data.materials.new("white")
    mat.use_nodes = True
    mat.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = (0.8, 0.8, 0.8, 1)
    mat.node_tree.nodes["Principled BSDF"].inputs["Roughness"].default_value = 1.0
    mat.node_tree.nodes["Principled BSDF"].inputs["Specular IOR Level"].default_value = 0.0
    bpy.context.object.data.materials.append(mat)
    world = bpy.data.worlds.new("sky")
    world.use_nodes = True
    nt = world.node_tree
    sky = nt.nodes.new("ShaderNodeTexSky")
    sky.sun_disc = disc
    sky.sun_elevation = math.radians(elev)
    nt.links.new(sky.outputs["Color"], nt.nodes["Background"].inputs["Color"])
    sc.world = world
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    cam.data.type = "ORTHO"
    cam.data.ortho_scale = 2.0
    cam.location = (0, 0, 10)
    sc.collection.objects.link(cam)
    sc.camera = cam
    sc.render.engine = "CYCLES"
    sc.cycles.samples = 64
    sc.cycles.max_bounces = 0
    sc.render.resolution_x = sc.render.resolution_y = 16
    sc.view_settings.view_transform = "Standard"
    sc.render.image_settings.file_format = "OPEN_EXR"
    with tempfile.TemporaryDirectory() as tmp:
        sc.render.filepath = tmp + "/r.exr"
        bpy.ops.render.render(write_still=True)
        im = bpy.data.images.load(tmp + "/r.exr")
        a = np.empty(16 * 16 * 4, np.float32)
        im.pixels.foreach_get(a)
    return float(a.reshape(-1, 4)[:, 0].mean())

out["sky"] = {e: plane(e, False) / plane(e, True) for e in ELEVATIONS}
print("RESULT" + json.dumps(out))
"""


def gain(curve, x: float, step: float = 1.1) -> float:
    """d ln(sRGB-decoded display value) / d ln(scene light) at x."""
    lo, hi = (srgb_to_linear(np.array(curve(v), np.float32).reshape(1, 1, 1), np.empty((1, 1, 1), np.float32))
              for v in (x / step, x * step))
    return float(np.log(hi / lo).item() / np.log(step * step))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blender", default=str(ROOT / ".venv-blender" / "bin" / "python"))
    args = ap.parse_args()
    code = BLENDER_SIDE.replace("ELEVATIONS", repr(ELEVATIONS))
    run = subprocess.run([args.blender, "-c", code], capture_output=True, text=True, check=True)
    blender = json.loads(next(line for line in run.stdout.splitlines() if line.startswith("RESULT"))[6:])

    print("local contrast gain of the view transform at scene light x (1 = plain sRGB)")
    print(f"{'':24}" + "".join(f"{x:>8}" for x in EXPOSURES))
    for vt in ("AgX", "Filmic"):
        xs, ys = (np.array(v) for v in blender[vt])
        enc = lambda x, xs=xs, ys=ys: camera._srgb_encode(np.interp(np.log(x), np.log(xs), ys))  # noqa: E731
        print(f"{'Blender ' + vt:<24}" + "".join(f"{gain(enc, x):>8.2f}" for x in EXPOSURES))
    # One random curve per draw: every exposure of a draw reseeds the same generator.
    draws = np.array([[gain(lambda x, i=i: camera._filmic(np.float64(x), np.random.default_rng([i])), x)
                       for x in EXPOSURES] for i in range(1000)])
    for q in (10, 50, 90):
        print(f"{f'generator filmic p{q}':<24}" + "".join(f"{v:>8.2f}" for v in np.percentile(draws, q, axis=0)))
    print("\nsky share of a flat plane's irradiance, Blender's default sky with its sun disc")
    for e, share in blender["sky"].items():
        print(f"  sun at {e:>2} deg: {share:.3f}")


if __name__ == "__main__":
    main()
