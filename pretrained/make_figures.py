"""Draw the model card's pictures with the shipped (or a given) model.

    python pretrained/make_figures.py [--model PATH] [--dev ../shared/blender-dev]
    python pretrained/make_figures.py --lit [--model PATH] [--dev ../shared/blender-dev]
    python pretrained/make_figures.py --other-lights data/other_lights [--surface 7]

- pretrained/examples.png: the real photos in examples/ beside the normal maps the model makes
  (the README's picture);
- pretrained/blender_dev.png: photo / prediction / ground truth for a few blender-dev pairs, one
  per kind, with each image's mean angular error.

--lit draws the same for the model trained on light from one side (default: the shipped
normalgen_unet_lit.keras), told the light's side as an artist would: for blender-dev from the
sun azimuth in index.tsv, for the example photos from EXAMPLE_LIGHT (read off the photos: gravel
throws its shadows downward). Written as examples_lit.png and blender_dev_lit.png.

--other-lights draws pretrained/other_lights.png from a set made by benchmarks/other_lights.py:
one of its surfaces under six of its lights, photo / the default model / the one-side-light model
told the side in index.tsv / ground truth, both models the shipped ones.
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


def to8(rgb):
    import numpy as np

    return np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--dev", default=str(HERE.parent.parent / "shared" / "blender-dev"))
    ap.add_argument("--lit", action="store_true", help="the one-side-light model, told each photo's side")
    ap.add_argument("--other-lights", metavar="DIR", help="draw other_lights.png from this set instead")
    ap.add_argument("--surface", type=int, default=7, help="which surface of --other-lights")
    args = ap.parse_args()
    if args.other_lights:
        other_lights_figure(Path(args.other_lights), args.surface)
        return
    tag = "_lit" if args.lit else ""

    import cv2
    import numpy as np

    from normalgen.imageio import read_normal_map, read_photo
    from normalgen.inference import generate_normal_map
    from normalgen.model_loading import load_model
    from normalgen.orientation import light_side
    from normalgen.vectors import angular_error_deg, encode_rgb

    model = load_model(args.model, light_from="right" if args.lit else "auto")

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


OTHER_LIGHTS_SHOWN = ("sun45+sky", "sun15+sky", "overcast", "flash", "hdri-forest", "hdri-interior")


def other_lights_figure(data: Path, surface: int) -> None:
    import cv2
    import numpy as np

    from normalgen.imageio import read_normal_map, read_photo
    from normalgen.inference import generate_normal_map
    from normalgen.model_loading import load_model
    from normalgen.orientation import light_side
    from normalgen.vectors import angular_error_deg, encode_rgb

    with open(data / "index.tsv") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    by_kind = {r["kind"]: r for r in rows if int(r["seed"]) % 1000 == surface}
    default, lit = load_model(None, light_from="auto"), load_model(None, light_from="right")

    def tile(rgb, text):
        return _label(cv2.resize(to8(rgb), (192, 192), interpolation=cv2.INTER_AREA), text)

    lines = []
    for kind in OTHER_LIGHTS_SHOWN:
        r = by_kind[kind]
        photo = read_photo(data / f"{r['id']}_color.png")
        truth = read_normal_map(data / f"{r['id']}_normal.png", convention="opengl")
        side = light_side(float(r["light_azimuth"]))
        auto = generate_normal_map(photo, model=default)
        told = generate_normal_map(photo, model=lit, light_from=side)
        lines.append(np.concatenate([
            tile(photo, kind),
            tile(encode_rgb(auto), f"auto {angular_error_deg(auto, truth).mean():.1f} deg"),
            tile(encode_rgb(told), f"{side} {angular_error_deg(told, truth).mean():.1f} deg"),
            tile(encode_rgb(truth), f"truth, {float(r['slope_deg']):.0f} deg rms"),
        ], 1))
    cv2.imwrite(str(HERE / "other_lights.png"), cv2.cvtColor(np.concatenate(lines, 0), cv2.COLOR_RGB2BGR))
    print("wrote pretrained/other_lights.png")


if __name__ == "__main__":
    main()
