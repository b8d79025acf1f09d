"""How fast the network learns under a fixed light versus a light from anywhere.

    python benchmarks/learnability.py [--steps 128] [--pairs 160] [--size 128]
                                      [--cases fixed:slope sector:slope random:slope mix:slope]
    (more cases: sector-elevation, sector-albedo, canonical-mix; heads: slope, height)

Each case renders the same plain-colour synthetic materials (`synth --albedo plain`), lit by a
sun at 45 degrees elevation from a fixed azimuth ("fixed"), from within 45 degrees of it
("sector", what a canonical-light model sees; "sector-elevation": the same with the sun's
elevation anywhere from 20 to 70 degrees; "sector-albedo": with the generator's full albedo mix
instead of plain colours), from a random azimuth ("random"), or by the generator's full lighting
mix ("mix"; "canonical-mix": each set-up's key light turned into the sector, as
`synth --light canonical` does). A fresh U-Net (no batch norm, as `train --from scratch`
builds) with the named head trains on all but
the last 32 pairs (whole images, no augmentation, batch 16) and the held-out error is printed
against the flat map's. It separates "the network cannot read shading" from "it cannot tell where
the light comes from".
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _render(cases_light, pairs, size):
    import numpy as np

    from normalgen.preprocess import normalize_photo
    from normalgen_training import shading, synth

    original = shading.random_lighting

    def sun(azimuth, elevation=lambda rng: 45.0):
        return lambda rng, *_: shading.Lighting(
            "sun", [shading.Light(shading.direction(elevation(rng), azimuth(rng)), np.ones(3) * 3, 0.2)],
            np.ones(3) * 0.3, 0.8)

    choices = {"fixed": sun(lambda rng: 0.0), "sector": sun(lambda rng: rng.uniform(-45, 45)),
               "sector-elevation": sun(lambda rng: rng.uniform(-45, 45), lambda rng: rng.uniform(20, 70)),
               "sector-albedo": sun(lambda rng: rng.uniform(-45, 45)),
               "random": sun(lambda rng: rng.uniform(0, 360)), "mix": original, "canonical-mix": original}
    albedo = "mixed" if cases_light == "sector-albedo" else "plain"
    light_mode = "canonical" if cases_light == "canonical-mix" else "any"
    shading.random_lighting = choices[cases_light]
    try:
        made = [synth.make_pair(seed, size, albedo, light_mode=light_mode) for seed in range(pairs)]
    finally:
        shading.random_lighting = original
    x = np.stack([normalize_photo(p / 255.0, method="relative") for p, _, _ in made])
    y = np.stack([n for _, n, _ in made])
    return x, y


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=128)
    ap.add_argument("--pairs", type=int, default=160)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--cases", nargs="+", default=["fixed:slope", "sector:slope", "random:slope", "mix:slope"])
    args = ap.parse_args()

    import keras
    import numpy as np

    from normalgen.model import ModelConfig, build_model
    from normalgen_training import runtime
    from normalgen_training.train import cosine_loss, mean_angle_deg

    env = runtime.configure("auto")
    print(f"backend {env['backend']}, precision {env['precision']}, {args.pairs - 32} training pairs of "
          f"{args.size}², 32 held out, {args.steps} steps of batch 16")

    def angle(a, b):
        return float(np.degrees(np.arccos(np.clip((a * b).sum(-1), -1, 1))).mean())

    for case in args.cases:
        light, head = case.split(":")
        x, y = _render(light, args.pairs, args.size)
        xt, yt, xv, yv = x[:-32], y[:-32], x[-32:], y[-32:]
        keras.utils.set_random_seed(0)
        model = build_model(ModelConfig(head=head, input_norm="relative", norm="none"))
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=cosine_loss, metrics=[mean_angle_deg])
        epochs = max(1, round(args.steps * 16 / len(xt)))
        t = time.perf_counter()
        model.fit(xt, yt, epochs=epochs, batch_size=16, verbose=0)
        held_out = angle(np.asarray(model.predict(xv, verbose=0)), yv)
        flat = angle(np.array([0.0, 0.0, 1.0]), yv)
        print(f"{light:>6} light, {head:>6} head: held-out {held_out:5.2f} deg, flat {flat:5.2f} deg "
              f"({time.perf_counter() - t:.0f} s)")


if __name__ == "__main__":
    main()
