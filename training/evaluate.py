"""Angular-error statistics of a model on folders of pairs, overall and per group.

Groups are the `kind` column of an `index.tsv` beside the pairs when there is one (as in
blender-dev), else the sub-folder. With light_from="index", each photo's light side comes from the
same file: its `light_azimuth` column (our generator) or, without a header, the fourth column
(blender-dev's sun azimuth), in degrees counter-clockwise from +X; with "index-azimuth" (for
experiments, not a CLI option) the azimuth itself. Predictions go through
`normalgen.generate_normal_map`, the same call the CLI and the Blender add-on make, so the
numbers describe what artists get.

Beside the error, `relief` is the predicted maps' mean tilt (angle from straight up) over the
true maps': 1 draws the relief as steep as it is, 0 is a flat map. The mean angle rewards
hedging toward flat when the relief is uncertain; this shows how far a model does it.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from normalgen.orientation import light_side
from normalgen.vectors import angular_error_deg

from .dataset import evaluate_pairs
from .pairing import Pair, find_pairs

THRESHOLDS = (11.25, 22.5, 30.0)


def _index_kinds(pairs: list[Pair]) -> dict[tuple[Path, str], str]:
    return _index_column(pairs, "kind", 1)


def _index_azimuths(pairs: list[Pair]) -> dict[tuple[Path, str], float]:
    """(folder, id) -> the light's azimuth in degrees counter-clockwise from +X, for each row of
    index.tsv."""
    azimuths = {}
    for key, azimuth in _index_column(pairs, "light_azimuth", 3).items():
        try:
            value = float(azimuth)
        except ValueError:  # "-": a pair `normalgen synth` kept from an interrupted run, unrecorded
            continue
        if math.isfinite(value):
            azimuths[key] = value
    return azimuths


def _index_lights(pairs: list[Pair]) -> dict[tuple[Path, str], str]:
    """(folder, id) -> the side of the picture the light comes from, for each row of index.tsv."""
    return {key: light_side(azimuth) for key, azimuth in _index_azimuths(pairs).items()}


def _index_column(pairs: list[Pair], name: str, position: int | None) -> dict[tuple[Path, str], str]:
    """(folder, id) -> the `name` column of each folder's index.tsv; an index without a header
    row (blender-dev's) has it at `position`, or not at all when that is None."""
    values = {}
    for folder in {p.color.parent for p in pairs}:
        index = folder / "index.tsv"
        if not index.is_file():
            continue
        try:  # utf-8-sig: a spreadsheet's byte-order mark must not hide the header row
            with open(index, newline="", encoding="utf-8-sig") as f:
                rows = [row for row in csv.reader(f, delimiter="\t") if any(cell.strip() for cell in row)]
        except UnicodeDecodeError:
            raise ValueError(f"{index} is not UTF-8 text; save it as UTF-8") from None
        if not rows:
            continue
        has_header = rows[0][0].lower() == "id"
        if (has_header and name not in rows[0]) or (not has_header and position is None):
            continue
        col = rows[0].index(name) if has_header else position
        for row in rows[1 if has_header else 0:]:
            if len(row) > col:
                values[(folder, row[0])] = row[col]
    return values


def tilt_deg(normals: np.ndarray) -> np.ndarray:
    """Per-pixel angle of unit normals from straight up (+Z), in degrees."""
    return np.degrees(np.arccos(np.clip(np.asarray(normals)[..., 2], -1.0, 1.0))).astype(np.float32)


MIN_RELIEF_TILT = 1.0  # degrees: below this mean true tilt (a flat map, 8-bit rounding) relief is None


def summarize(errors: np.ndarray, pred_tilt_sum: float | None = None, true_tilt_sum: float | None = None) -> dict:
    """Statistics of per-pixel errors; with the sums of predicted and true tilt over the same
    pixels, also `relief` (None where the truth is too flat for the ratio to mean anything)."""
    e = np.asarray(errors, dtype=np.float64).ravel()
    out = {"pixels": int(e.size), "mean": float(e.mean()), "median": float(np.median(e))}
    for t in THRESHOLDS:
        out[f"<{t:g}"] = float((e < t).mean())
    if pred_tilt_sum is not None and true_tilt_sum is not None:
        flat = true_tilt_sum < MIN_RELIEF_TILT * e.size
        out["relief"] = None if flat else float(pred_tilt_sum / true_tilt_sum)
    return out


def model_predictor(model_path=None, *, method: str = "model", strength: float = 1.0, detail: float = 0.5,
                    light_from: str = "auto"):
    """-> predict(photo, side) for `evaluate`: the model file (None: the shipped one) or Sobel,
    through `normalgen.generate_normal_map`, as `normalgen convert` runs it. With light_from
    "auto" the shipped default model; with a named side or "index", the one-side-light one.
    Raises NormalgenError for a model that cannot be loaded or cannot be told a side."""
    from normalgen.inference import generate_normal_map
    from normalgen.model_loading import check_light_side, load_model

    model = None
    if method == "model":
        model = load_model(model_path, light_from="auto" if light_from == "auto" else "right")
        check_light_side(model, light_from)  # names "index" itself, not the first photo's side

    def predict(photo, side):
        return generate_normal_map(photo, model=model, method=method, strength=strength, detail=detail,
                                   light_from=side)

    return predict


def evaluate(predict, data_dirs, light_from: str = "auto") -> dict:
    """-> {"overall": stats, "groups": {name: stats}, "images": {name: mean}}.

    `predict(photo float32 sRGB, light_from) -> OpenGL normals`, where light_from is the given
    one, or with "index" each pair's side from its index.tsv ("index-azimuth": the azimuth
    itself, in degrees, for experiments that turn the photo by it). Each image counts by its
    pixels.
    """
    pairs, warnings = find_pairs(data_dirs)
    if not pairs:
        why = f": {warnings[0]}" + (f" (and {len(warnings) - 1} more like it)" if len(warnings) > 1 else "") \
            if warnings else ""
        raise ValueError("no pairs found in " + ", ".join(map(str, data_dirs)) + why)
    kinds = _index_kinds(pairs)

    def key(pair):
        return pair.color.parent, pair.color.stem.rsplit("_", 1)[0]

    if light_from in ("index", "index-azimuth"):
        azimuths = _index_azimuths(pairs)
        missing = [p.color.name for p in pairs if key(p) not in azimuths]
        if missing:
            raise ValueError(f"no light azimuth in an index.tsv for {missing[0]} ({len(missing)} photos)")
        told = light_side if light_from == "index" else float
        sides = {p.color: told(azimuths[key(p)]) for p in pairs}
    else:
        sides = {p.color: light_from for p in pairs}
    groups: dict[str, list] = defaultdict(list)  # group -> [(errors, predicted tilt sum, true tilt sum)]
    per_image = {}
    skipped: list[str] = []
    for pair, pred, truth in evaluate_pairs(lambda pair, photo: predict(photo, sides[pair.color]), pairs, skipped):
        err = angular_error_deg(pred, truth)
        tilts = (float(tilt_deg(pred).sum(dtype=np.float64)), float(tilt_deg(truth).sum(dtype=np.float64)))
        groups[kinds.get(key(pair), pair.group)].append((err.ravel(), *tilts))
        per_image[str(pair.color)] = float(err.mean())
    if not per_image:
        raise ValueError(f"none of the {len(pairs)} pairs could be read; the first: {skipped[0]}")

    def stats(parts: list) -> dict:
        return summarize(np.concatenate([p[0] for p in parts]), sum(p[1] for p in parts), sum(p[2] for p in parts))

    return {
        "overall": stats([part for parts in groups.values() for part in parts]),
        "groups": {g: stats(v) for g, v in sorted(groups.items())},
        "images": per_image,
        "warnings": warnings + [f"{why}; pair skipped" for why in skipped],
    }


def format_report(result: dict) -> str:
    width = max([16] + [len(g) + 2 for g in result["groups"]])  # long group names keep the columns
    head = (f"{'group':<{width}}{'pixels':>10}{'mean°':>8}{'median°':>9}"
            + "".join(f"{'<' + format(t, 'g') + '°':>9}" for t in THRESHOLDS) + f"{'relief':>8}")
    lines = [head]

    def row(name, s):
        return (f"{name:<{width}}{s['pixels']:>10}{s['mean']:>8.2f}{s['median']:>9.2f}"
                + "".join(f"{100 * s[f'<{t:g}']:>8.1f}%" for t in THRESHOLDS)
                + (f"{s['relief']:>8.2f}" if s.get("relief") is not None else f"{'-':>8}"))

    for g, s in result["groups"].items():
        lines.append(row(g, s))
    lines.append(row("overall", result["overall"]))
    return "\n".join(lines)
