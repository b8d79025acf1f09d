"""Does the one-side-light model read a photo better when told the light's direction more finely
than a side of the picture?

    python benchmarks/light_direction.py DIR [DIR ...] [--model pretrained/normalgen_unet_lit.keras]

Each DIR holds pairs and an index.tsv with each photo's light azimuth (`normalgen synth` output,
or blender-dev). The model was trained with its light anywhere within 45 degrees of +X, and is
told a side, so a quarter turn puts the photo's light there ("side", what `normalgen convert
--light-from` does). Two finer ways, both with the shipped mirror mean:

* "eight": told the nearest of eight directions (the sides and the diagonals, as an artist could
  name them). A diagonal turns the photo by 45 degrees clockwise, onto a side, into its bounding
  box (reflected beyond the borders, bicubic); the prediction is turned back, vectors too, and
  cropped. The light then lies within 22.5 degrees of the model's +X, at the cost of resampling.
* "exact": turned by the light's exact azimuth off its side, so the light lies on +X.

Prints the mean angular error per kind for the three. Turning costs up to twice the pixels.
"""

from __future__ import annotations

from lit_variants import parse_and_load, print_table


def turned(photo, degrees: float):
    """The photo turned counter-clockwise (as displayed) by `degrees` about its centre, into its
    bounding box, reflected beyond its borders -> (turned photo, the affine matrix back)."""
    import cv2
    import numpy as np

    h, w = photo.shape[:2]
    c, s = abs(np.cos(np.radians(degrees))), abs(np.sin(np.radians(degrees)))
    box_w, box_h = int(np.ceil(w * c + h * s)), int(np.ceil(w * s + h * c))
    matrix = cv2.getRotationMatrix2D((w / 2 - 0.5, h / 2 - 0.5), degrees, 1.0)
    matrix[:, 2] += ((box_w - w) / 2, (box_h - h) / 2)
    out = cv2.warpAffine(photo, matrix, (box_w, box_h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)
    return np.clip(out, 0.0, 1.0), cv2.invertAffineTransform(matrix)


def main():
    args, model = parse_and_load(__doc__.split("\n\n")[0])

    import cv2
    import numpy as np

    from normalgen.inference import generate_normal_map
    from normalgen.orientation import light_side
    from normalgen.vectors import normalize

    def told(step: float):
        """Predict told the azimuth rounded to `step` degrees (90: a side, 0: exact)."""

        def predict(photo, light_azimuth):
            if step == 90.0:  # as `normalgen eval --light-from index` names the side
                return generate_normal_map(photo, model=model, light_from=light_side(light_azimuth))
            target = round(light_azimuth / step) * step if step else light_azimuth
            side = round(target / 90.0) * 90.0
            if abs(side - target) < 1e-6:
                return generate_normal_map(photo, model=model, light_from=light_side(side))
            if step == 45.0:  # a diagonal: turn clockwise onto the side below it
                side = target - 45.0
            turn = side - target  # counter-clockwise degrees that bring the light onto the side
            big, back = turned(photo, turn)
            n = generate_normal_map(big, model=model, light_from=light_side(side))
            h, w = photo.shape[:2]
            n = cv2.warpAffine(n, back, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
            a = np.radians(-turn)  # the vectors turn back with the picture (X right, Y up)
            x, y = n[..., 0].copy(), n[..., 1].copy()
            n[..., 0], n[..., 1] = x * np.cos(a) - y * np.sin(a), x * np.sin(a) + y * np.cos(a)
            return normalize(n)

        return predict

    print_table(args.dirs, {"side": told(90.0), "eight": told(45.0), "exact": told(0.0)},
                told="index-azimuth")


if __name__ == "__main__":
    main()
