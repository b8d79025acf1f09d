"""How long the Blender add-on holds the UI to hand an image's pixels to the engine.

A painted, generated or edited image, or one in a format the engine does not read (EXR, HDR), is
written out by `blender_addon.material.export_source` on Blender's UI thread before the engine
starts. This times that call on random pixels (the worst case for an encoder) beside Blender's own
PNG export of the same pixels, in one run. Run it with the add-on tests' Blender (bpy 5.0.1):

    .venv-blender/bin/python benchmarks/addon_export.py [--sizes 2048 4096] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import bpy
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from blender_addon import material  # noqa: E402


def _png_export(image, folder: str) -> str:
    """Blender's PNG export of the same pixels (what export_source did before it wrote Targa)."""
    w, h = image.size
    values = np.empty(w * h * 4, np.float32)
    image.pixels.foreach_get(values)
    tmp = bpy.data.images.new("png_export", w, h, alpha=True, float_buffer=image.is_float)
    try:
        tmp.pixels.foreach_set(values)
        tmp.filepath_raw = os.path.join(folder, "png_export.png")
        tmp.file_format = "PNG"
        tmp.save()
    finally:
        bpy.data.images.remove(tmp)
    return os.path.join(folder, "png_export.png")


def _median_seconds(fn, image, folder: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        path = fn(image, folder)
        times.append(time.perf_counter() - t)
        os.remove(path)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2048, 4096])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else None)
    folder = tempfile.mkdtemp(prefix="normalgen_export_")
    print(f"{'size':>6} {'buffer':>6} {'export_source s':>16} {'Blender PNG s':>14} {'ratio':>6}")
    for side in args.sizes:
        for is_float in (False, True):
            image = bpy.data.images.new(f"painted_{side}", side, side, alpha=True, float_buffer=is_float)
            image.pixels.foreach_set(np.random.default_rng(0).random(side * side * 4, dtype=np.float32))
            ours = _median_seconds(material.export_source, image, folder, args.repeat)
            png = _median_seconds(_png_export, image, folder, args.repeat)
            print(f"{side:>6} {'float' if is_float else 'byte':>6} {ours:>16.2f} {png:>14.2f} {png / ours:>6.1f}",
                  flush=True)
            bpy.data.images.remove(image)
    os.rmdir(folder)


if __name__ == "__main__":
    main()
