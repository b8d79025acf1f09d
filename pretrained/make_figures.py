"""Draw the model card's pictures with the shipped (or a given) model.

    python pretrained/make_figures.py [--model PATH] [--dev ../shared/blender-dev]
    python pretrained/make_figures.py --lit [--model PATH] [--dev ../shared/blender-dev]

- pretrained/examples.png: the real photos in examples/ beside the normal maps the model makes
  (the README's picture);
- pretrained/blender_dev.png: photo / prediction / ground truth for a few blender-dev pairs, one
  per kind, with each image's mean angular error.

--lit draws the same for the model trained on light from one side (default: the shipped
normalgen_unet_lit.keras), told the light's side as an artist would: for blender-dev from the
sun azimuth in index.tsv, for the example photos from EXAMPLE_LIGHT (read off the photos: gravel
throws its shadows downward). Written as examples_lit.png and blender_dev_lit.png.
"""

from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = Path(__file__).resolve().parent
# Where the light comes from in examples/, by eye: gravel is lit from the top (bright tops, shadows
# below each stone); brick and grass are softly lit with no clear side, and are shown as "top" too.
EXAMPLE_LIGHT = {"brick": "top", "gravel": "top", "grass": "top"}


def _label(img, text):
    import cv2
    import numpy as np

    (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
    img = np.ascontiguousarray(img)
    cv2.rectangle(img, (0, 0), (w + 10, h + 12), (0, 0, 0), -1)
    cv2.putText(img, text, (5, h + 6), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--dev", default=str(HERE.parent.parent / "shared" / "blender-dev"))
    ap.add_argument("--lit", action="store_true", help="the one-side-light model, told each photo's side")
    args = ap.parse_args()
    tag = "_lit" if args.lit else ""

    import cv2
    import numpy as np

    from normalgen.imageio import read_normal_map, read_photo
    from normalgen.inference import generate_normal_map
    from normalgen.model_loading import load_model
    from normalgen.orientation import light_side
    from normalgen.vectors import angular_error_deg, encode_rgb

    model = load_model(args.model, light_from="right" if args.lit else "auto")

    def to8(rgb):
        return np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)

    tiles = []
    for name in ("brick", "gravel", "grass"):
        photo = read_photo(HERE.parent / "examples" / f"{name}.png")
        side = EXAMPLE_LIGHT[name] if args.lit else "auto"
        normals = generate_normal_map(photo, model=model, light_from=side)
        caption = f"light from {side}" if args.lit else "normalgen"
        pair = np.concatenate([_label(to8(photo), f"{name}.png"), _label(to8(encode_rgb(normals)), caption)], 1)
        tiles.append(cv2.resize(pair, (pair.shape[1] // 2, pair.shape[0] // 2), interpolation=cv2.INTER_AREA))
    cv2.imwrite(str(HERE / f"examples{tag}.png"), cv2.cvtColor(np.concatenate(tiles, 0), cv2.COLOR_RGB2BGR))

    dev = Path(args.dev)
    if not (dev / "index.tsv").is_file():
        print(f"no blender-dev set at {dev}; wrote examples{tag}.png only")
        return
    with open(dev / "index.tsv") as f:
        rows = [r for r in csv.reader(f, delimiter="\t") if r]
    azimuth = {r[0]: r[3] for r in rows}
    first_of_kind = {}
    for r in rows:
        first_of_kind.setdefault(r[1], r[0])
    lines = []
    for kind, ident in first_of_kind.items():
        photo = read_photo(dev / f"{ident}_color.png")
        truth = read_normal_map(dev / f"{ident}_normal.png", convention="opengl")
        side = light_side(float(azimuth[ident])) if args.lit else "auto"
        pred = generate_normal_map(photo, model=model, light_from=side)
        err = float(angular_error_deg(pred, truth).mean())
        lines.append(np.concatenate([
            _label(to8(photo), f"{ident} {kind}"),
            _label(to8(encode_rgb(pred)), f"prediction {err:.1f} deg" + (f", light {side}" if args.lit else "")),
            _label(to8(encode_rgb(truth)), "ground truth"),
        ], 1))
    cv2.imwrite(str(HERE / f"blender_dev{tag}.png"), cv2.cvtColor(np.concatenate(lines, 0), cv2.COLOR_RGB2BGR))
    print(f"wrote pretrained/examples{tag}.png and pretrained/blender_dev{tag}.png")


if __name__ == "__main__":
    main()
