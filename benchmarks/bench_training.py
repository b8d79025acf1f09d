"""Training-side throughput: synthetic data generation, the input pipeline, and training steps.

    python benchmarks/bench_training.py [--repeats 5] [--patch 128] [--batch 16]

Prints, measured in this one run (medians over repeats):
- synthesis: 256² pairs per second (one process; `normalgen synth --start` splits work);
- checking pairs: pairs per second that `train` checks (decodes) before its first step, with 1
  thread and with one per core;
- input pipeline: augmented patches per second that PatchDataset produces, with 1 and 2 workers;
- training: patches per second of the U-Net `train --from scratch` builds (no batch norm) and of
  the batch-normalised first model, in float32 and mixed_bfloat16, fed from memory, and whether
  the input pipeline outruns the training step (it must, to keep a GPU busy).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--patch", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    args = ap.parse_args()

    import keras
    import numpy as np

    from normalgen.model import ModelConfig, build_model, flops_per_pixel
    from normalgen_training import synth
    from normalgen_training.dataset import PairCache, PatchDataset, check_pairs
    from normalgen_training.pairing import find_pairs
    from normalgen_training.train import SCRATCH_BASE_FILTERS, SCRATCH_DEPTH, TrainSettings, cosine_loss

    seeds = iter(range(10**6))
    t = _median_time(lambda: synth.make_pair(next(seeds), 256), args.repeats * 2)
    print(f"synthesis: {1 / t:.2f} pairs/s of 256² ({t * 1000:.0f} ms each, one process)")

    with tempfile.TemporaryDirectory() as d:
        synth.write_dataset(d, 16, 256, seed=99)
        pairs, _ = find_pairs([d])
        checked = {}
        for threads in sorted({1, os.cpu_count() or 1}):
            t = _median_time(lambda: check_pairs(pairs, min_side=64, cache=PairCache(), threads=threads), args.repeats)
            checked[threads] = len(pairs) / t
            print(f"checking pairs: {checked[threads]:.0f} pairs/s of 256² with {threads} thread(s)")
        print(f"checking pairs, {max(checked)} threads / 1: {checked[max(checked)] / checked[1]:.2f}x")
        for workers in (1, 2):
            ds = PatchDataset(pairs, patch=args.patch, batch_size=args.batch, steps=10**6)
            for pair in pairs:
                ds.cache.get(pair)  # decoding happens once per pair
            # Batches made by `workers` threads, as fit() makes a PyDataset's and the multi-worker
            # loop makes them (PatchDataset.endless).
            batches = ds.endless(workers)
            next(batches)
            t = _median_time(lambda: [next(batches) for _ in range(workers * 2)], args.repeats)
            pipe = workers * 2 * args.batch / t
            print(f"input pipeline: {pipe:.0f} patches/s of {args.patch}² with {workers} worker(s)")

    x = np.random.default_rng(0).standard_normal((args.batch, args.patch, args.patch, 3)).astype("float32")
    y = np.zeros_like(x)
    y[..., 2] = 1
    results = {}
    defaults = TrainSettings(data=[], out="")
    for norm in (defaults.norm, "batch"):
        cfg = ModelConfig(base_filters=SCRATCH_BASE_FILTERS, depth=SCRATCH_DEPTH, head=defaults.head,
                          input_norm=defaults.input_norm, norm=norm)
        for policy in ("float32", "mixed_bfloat16"):
            keras.config.set_dtype_policy(policy)
            model = build_model(cfg)
            model.compile(optimizer="adam", loss=cosine_loss)
            model.train_on_batch(x, y)
            t = _median_time(lambda: model.train_on_batch(x, y), args.repeats)
            results[norm, policy] = args.batch / t
            gflops = 3 * flops_per_pixel(model) * args.patch**2 * args.batch / t / 1e9
            print(f"training (norm {norm}, {policy}): {results[norm, policy]:.1f} patches/s of {args.patch}², "
                  f"~{gflops:.0f} GFLOP/s (3x forward FLOPs), {model.count_params() / 1e6:.2f}M parameters")
        keras.config.set_dtype_policy("float32")
        print(f"norm {norm}: mixed_bfloat16 / float32: "
              f"{results[norm, 'mixed_bfloat16'] / results[norm, 'float32']:.2f}x")
    print(f"no batch norm / batch norm (mixed_bfloat16): "
          f"{results[defaults.norm, 'mixed_bfloat16'] / results['batch', 'mixed_bfloat16']:.2f}x")
    print(f"pipeline (2 workers) / fastest training step: {pipe / max(results.values()):.1f}x")


if __name__ == "__main__":
    main()
