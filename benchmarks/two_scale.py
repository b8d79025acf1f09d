"""Does a half-size pass help the one-side-light model read broad relief?

    python benchmarks/two_scale.py DIR [DIR ...] [--model pretrained/normalgen_unet_lit.keras]

Each DIR holds pairs and an index.tsv with each photo's light azimuth (`normalgen synth` output,
or blender-dev). Every photo is predicted told its side (as `normalgen eval --light-from index`)
once at full size and once at half size; "two-scale" takes the half-size prediction's broad
shapes and the full-size prediction's detail (a one-level Laplacian blend of the slopes
dx = -nx/nz, dy = -ny/nz). Prints the mean angular error per kind for full size, two-scale and
the half-size prediction alone, scaled back up. Photos should be at least 64 px on a side.
"""

from __future__ import annotations

from lit_variants import parse_and_load, print_table


def main():
    args, model = parse_and_load(__doc__.split("\n\n")[0])

    import cv2
    import numpy as np

    from normalgen.inference import generate_normal_map
    from normalgen.vectors import normalize

    def slopes(n):
        return n[..., :2] / np.maximum(n[..., 2:3], 1e-3)

    def unit(s):
        return normalize(np.concatenate([s, np.ones(s.shape[:-1] + (1,), np.float32)], axis=-1))

    def resize(x, shape):
        interp = cv2.INTER_AREA if shape[0] < x.shape[0] else cv2.INTER_LINEAR
        return cv2.resize(x, (shape[1], shape[0]), interpolation=interp)

    def two_scale(photo, side, name):
        if name == "full":
            return generate_normal_map(photo, model=model, light_from=side)
        half_shape = (photo.shape[0] // 2, photo.shape[1] // 2)
        half = generate_normal_map(resize(photo, half_shape), model=model, light_from=side)
        s_half = resize(slopes(half), photo.shape)
        if name == "half only":
            return unit(s_half)
        s_full = slopes(generate_normal_map(photo, model=model, light_from=side))
        return unit(s_half + s_full - resize(resize(s_full, half_shape), photo.shape))

    print_table(args.dirs, {n: (lambda p, side, n=n: two_scale(p, side, n))
                       for n in ("full", "two-scale", "half only")})


if __name__ == "__main__":
    main()
