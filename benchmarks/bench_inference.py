"""Benchmark of a whole conversion at photo sizes: time, throughput, peak memory, efficiency.

    python benchmarks/bench_inference.py [--sizes 1024 4096 8192] [--model PATH]
                                         [--precision auto|float32|bfloat16]
                                         [--light-from auto|right|top|left|bottom] [--one-pass]

Each size runs in a fresh subprocess. The photo is synthetic but photo-like (multi-octave smooth
noise), written as an 8-bit PNG; then the peak-RSS counter is reset and the timed part is what
`normalgen convert` does with the default model and settings: read the PNG, predict, write the
8-bit normal map. Reported: wall seconds end to end (after a small warm-up call that loads the
model and builds the graph; the median of repeats for sizes up to 2048), megapixels per second,
the peak RSS of the conversion, the tile
redundancy, and achieved GFLOP/s (model FLOPs per pixel x pixels the net actually computed /
second) next to the sgemm GFLOP/s numpy reaches on this machine in the same run.
With `--light-from` a side, it times the one-side-light path (`convert --light-from SIDE`: the
shipped one-side-light model unless --model says otherwise, each tile read as it is and
mirrored, so two network passes count in the GFLOP/s; `--one-pass` switches the mirrored reading
off, to measure what it costs). Without the shipped weights it falls back to a freshly built default-architecture model (same
cost, random weights) and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np


def photo_like(side: int, seed: int = 0) -> np.ndarray:
    """(side, side, 3) uint8: smooth noise at several octaves plus grain, like a surface photo."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    img = np.zeros((side, side, 3), np.float32)
    for octave in (64, 16, 4):
        coarse = rng.random((side // octave + 2, side // octave + 2, 3)).astype(np.float32)
        img += ndimage.zoom(coarse, (octave, octave, 1), order=1)[:side, :side] / 3
    img += rng.normal(0, 0.03, img.shape).astype(np.float32)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def sgemm_gflops(n: int = 2048, repeats: int = 5) -> float:
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def reset_peak_rss() -> None:
    """Linux: start VmHWM afresh (writing 5 to clear_refs resets the peak resident set size)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_one(side: int, model_path: str | None, repeats: int, light_from: str = "auto",
            one_pass: bool = False) -> dict:
    """Runs inside the subprocess: one size, printed as a JSON line."""
    import normalgen.orientation
    from normalgen import generate_normal_map, load_model
    from normalgen.errors import ModelError
    from normalgen.inference import DEFAULT_TILE, tile_overlap
    from normalgen.model import build_model, config_of, flops_per_pixel
    from normalgen.model_loading import resolve_precision
    from normalgen.tiling import plan_tiles

    t = time.perf_counter()
    try:
        model, note = load_model(model_path, light_from=light_from), "shipped/given weights"
    except ModelError as err:
        if model_path is not None:
            raise
        from normalgen.model import ModelConfig

        config = ModelConfig() if light_from == "auto" else ModelConfig(
            head="slope", input_norm="relative", light="canonical", norm="none")
        model, note = build_model(config), f"random model of the shipped architecture ({err})"
    passes = 2 if config_of(model).light == "canonical" else 1  # normalgen.orientation.mirror_mean
    if one_pass:
        normalgen.orientation.mirror_mean = lambda predict: predict
        passes = 1
    generate_normal_map(photo_like(256, seed=1), model=model, light_from=light_from)  # load, trace, warm up
    warmup = time.perf_counter() - t
    import gc
    import tempfile

    from normalgen.batch import ConvertOptions, run
    from normalgen.imageio import write_normal_map  # noqa: F401  (imported before timing)

    tmp = tempfile.mkdtemp()
    src = os.path.join(tmp, "photo.png")
    import cv2

    cv2.imwrite(src, photo_like(side))  # an 8-bit PNG on disk, as a user has
    gc.collect()
    reset_peak_rss()  # the photo's synthesis is not the conversion's memory
    times = []
    for _ in range(repeats if side <= 2048 else 1):
        t = time.perf_counter()
        summary = run([src], ConvertOptions(overwrite=True, light_from=light_from), model=model)  # read PNG -> normals -> write PNG
        times.append(time.perf_counter() - t)
        assert summary.failed == 0, "conversion failed"
    seconds = statistics.median(times)
    plan = plan_tiles(side, side, tile=DEFAULT_TILE, overlap=tile_overlap(config_of(model)),
                      stride=config_of(model).stride, wrap=False)
    fpp = flops_per_pixel(model) * passes
    return {
        "side": side, "seconds": seconds, "mp_per_s": side * side / seconds / 1e6,
        "peak_rss_gib": peak_rss_bytes() / 2**30, "redundancy": plan.redundancy,
        "tiles": plan.n_tiles, "tile_shape": plan.tile_shape,
        "gflops": fpp * side * side * plan.redundancy / seconds / 1e9,  # over the whole conversion
        "flops_per_pixel": fpp, "warmup_s": warmup, "precision": resolve_precision(), "model": note,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096, 8192])
    parser.add_argument("--model", default=None, help="a .keras file (default: the shipped one)")
    parser.add_argument("--precision", choices=["auto", "float32", "bfloat16"], default=None)
    parser.add_argument("--repeats", type=int, default=3, help="timed calls for sizes <= 2048")
    parser.add_argument("--light-from", default="auto", help="auto, or a side: the one-side-light path")
    parser.add_argument("--one-pass", action="store_true", help="no mirrored second reading (a side only)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.model, args.repeats, args.light_from, args.one_pass)))
        return
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    if args.precision:
        env["NORMALGEN_PRECISION"] = args.precision
    print(f"sgemm (numpy float32 2048^3): {sgemm_gflops():.1f} GFLOP/s")
    for side in args.sizes:
        cmd = [sys.executable, __file__, "--child", str(side), "--repeats", str(args.repeats),
               "--light-from", args.light_from] + (["--one-pass"] if args.one_pass else [])
        if args.model:
            cmd += ["--model", args.model]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode:
            print(f"{side}²: failed\n{done.stderr[-2000:]}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{side:>5}²: {r['seconds']:7.2f} s  {r['mp_per_s']:5.2f} MP/s  peak RSS "
            f"{r['peak_rss_gib']:5.2f} GiB  redundancy {r['redundancy']:.3f} ({r['tiles']} tiles "
            f"{r['tile_shape'][0]}x{r['tile_shape'][1]})  {r['gflops']:6.1f} GFLOP/s "
            f"({r['flops_per_pixel'] / 1e3:.1f} kFLOP/px)  warm-up {r['warmup_s']:.1f} s  "
            f"[{r['precision']}; {r['model']}]"
        )


if __name__ == "__main__":
    main()
