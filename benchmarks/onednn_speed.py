"""How much TensorFlow's oneDNN CPU kernels speed up the U-Net on this machine (float32).

    python benchmarks/onednn_speed.py [--rounds 3] [--tile 752] [--repeats 5]

normalgen sets TF_ENABLE_ONEDNN_OPTS=1 unless the user set it (`normalgen/onednn.py`), because
TensorFlow turns oneDNN on by itself only on CPUs with AVX512_VNNI, AVX512_BF16 or AMX. This
script measures what that is worth here. Each measurement runs in a fresh process, with the
variable 0 and then 1, round after round, so that a noisy, shared machine slows both alike:
- the shipped default model: one forward call on 2 tiles of TILE² (what inference runs);
- the shipped one-side-light model: the same;
- the one-side-light model: one training step on 4 patches of 256², Adam, cosine loss.
Prints the median seconds of each over all rounds, off and on, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, os, statistics, sys, time
import normalgen  # prefers oneDNN unless TF_ENABLE_ONEDNN_OPTS is set, as here
import keras, numpy as np
from normalgen.model_loading import load_model
from normalgen.onednn import onednn_enabled
from normalgen_training.train import cosine_loss

tile, repeats = int(sys.argv[1]), int(sys.argv[2])

def median_time(fn):
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return statistics.median(times)

out = {"onednn": onednn_enabled()}
x = np.random.default_rng(0).random((2, tile, tile, 3), dtype=np.float32)
for name, side in (("default forward", "auto"), ("one-side-light forward", "right")):
    model = load_model(light_from=side)
    out[name] = median_time(lambda: model.predict_on_batch(x))
model = load_model(light_from="right")  # this process's own copy: compiling it for training is harmless
model.compile(optimizer=keras.optimizers.Adam(1e-5), loss=cosine_loss)
xb = np.random.default_rng(1).random((4, 256, 256, 3), dtype=np.float32)
yb = np.random.default_rng(2).normal(size=(4, 256, 256, 3)).astype(np.float32)
yb /= np.linalg.norm(yb, axis=-1, keepdims=True)
out["training step"] = median_time(lambda: model.train_on_batch(xb, yb))
print(json.dumps(out))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tile", type=int, default=752)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    results = {"0": [], "1": []}
    for r in range(args.rounds):
        for setting in ("0", "1"):
            env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": setting, "TF_CPP_MIN_LOG_LEVEL": "3",
                   "KERAS_BACKEND": "tensorflow", "NORMALGEN_PRECISION": "float32"}
            p = subprocess.run([sys.executable, "-c", _CHILD, str(args.tile), str(args.repeats)], env=env,
                               capture_output=True, text=True, cwd=REPO)
            if p.returncode:
                sys.exit(f"the measuring process failed:\n{p.stderr[-2000:]}")
            results[setting].append(json.loads(p.stdout.strip().splitlines()[-1]))
            print(f"round {r + 1}, TF_ENABLE_ONEDNN_OPTS={setting}: done", file=sys.stderr, flush=True)

    print(f"oneDNN reported off / on: {results['0'][0]['onednn']} / {results['1'][0]['onednn']}")
    print(f"medians over {args.rounds} rounds of {args.repeats} calls each, float32:")
    for name in ("default forward", "one-side-light forward", "training step"):
        off = statistics.median(m[name] for m in results["0"])
        on = statistics.median(m[name] for m in results["1"])
        print(f"  {name:24s} off {off:7.3f} s   on {on:7.3f} s   {off / on:5.2f}x")


if __name__ == "__main__":
    main()
