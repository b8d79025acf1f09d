"""Which way the light comes from: the quarter turn that shows a photo lit from the right.

A photo under one directional light shows the surface's slope *along the light*: bright where it
faces the light, dark where it faces away. Read without knowing where the light is, that is
ambiguous (a bump lit from the left looks like a dent lit from the right), and a network asked to
read photos lit from anywhere learns to hedge toward a flat map. A "canonical" model
(`ModelConfig.light`) is trained only on photos lit from the right (within 45 degrees of +X) and
reads those well; this module finds the quarter turn of a photo that puts its light there.

For each of the four turns, the network predicts normals on a few probe crops of the turned photo
(turned back, vectors too). Two facts about those predictions decide:

* The axis. Under the turn that puts the light on the X axis, the predicted surface explains the
  photo's brightness as shading (a linear fit of relative luminance on the normals' x and y, the
  Lambertian model); a turn a quarter off makes the network read the slopes across the light
  from shading along it, and the fit is poor.
* The side. The two turns on the right axis predict nearly opposite surfaces (the bump-or-dent
  ambiguity), and both explain the shading. What can tell them apart is what the network has
  learned besides shading (sky occlusion, cast shadows, priors such as "mortar is sunk"): under
  the wrong side those cues contradict the shading and the prediction comes out shallower, so of
  the two, the turn with the larger predicted slopes wins.

Measured (pretrained/EXPERIMENTS.md, third session): the axis is right on 85-90% of blender-dev
photos; the side only as often as chance (52%) once the training relief is raised or sunk at
even odds, and a wrong side inverts the map. Canonical models are therefore opt-in.

The probes are small (at most four crops of 256 pixels, 16 network passes at that size), so the
choice costs a fraction of a second beside the full prediction. It is made once per photo, from
crops taken across it, so all tiles of one photo are predicted under the same turn.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

PredictFn = Callable[[np.ndarray], np.ndarray]
PROBE_SIDE = 256
PROBE_COUNT = 4
# Where the light comes from in the photo, as the user says it ("auto": find it). Sides are of the
# picture as displayed: "top" is the +Y of an OpenGL normal map.
SIDES = ("right", "top", "left", "bottom")  # counter-clockwise from +X, a quarter turn apart
LIGHT_SIDES = ("auto",) + SIDES


def turn_for_light(side: str) -> int:
    """Quarter turns (counter-clockwise, as np.rot90) that bring light from `side` to the right."""
    return -SIDES.index(side) % 4


# For each EXIF orientation (1..8): the side of the picture as displayed upright that each side
# of the stored pixel grid becomes (imageio.orientation_to_upright). 2, 4: mirrors; 3: half turn;
# 6, 8: quarter turns clockwise and counter-clockwise; 5, 7: transposes.
_DISPLAYED_SIDE = {
    1: {"right": "right", "top": "top", "left": "left", "bottom": "bottom"},
    2: {"right": "left", "top": "top", "left": "right", "bottom": "bottom"},
    3: {"right": "left", "top": "bottom", "left": "right", "bottom": "top"},
    4: {"right": "right", "top": "bottom", "left": "left", "bottom": "top"},
    5: {"right": "bottom", "top": "left", "left": "top", "bottom": "right"},
    6: {"right": "bottom", "top": "right", "left": "top", "bottom": "left"},
    7: {"right": "top", "top": "right", "left": "bottom", "bottom": "left"},
    8: {"right": "top", "top": "left", "left": "bottom", "bottom": "right"},
}


def stored_light_side(side: str, orientation: int) -> str:
    """The side of a photo's stored pixel grid that is `side` of the picture as a viewer shows it
    upright by its EXIF `orientation` (1..8): where to tell the model the light is when it reads
    the stored grid. "auto" stays "auto"."""
    if side not in SIDES:
        return side
    table = _DISPLAYED_SIDE.get(orientation, _DISPLAYED_SIDE[1])
    return next(stored for stored, shown in table.items() if shown == side)


def light_side(azimuth_deg: float) -> str:
    """The side of the picture nearest a light azimuth in degrees counter-clockwise from +X
    (right), as OpenGL's Y points up: the side a canonical model is told for that light."""
    return SIDES[int(np.floor((azimuth_deg + 45.0) % 360.0 / 90.0)) % 4]


def turn_vectors(normals: np.ndarray, k: int) -> np.ndarray:
    """Rotate OpenGL vectors (..., 3) by k quarter turns counter-clockwise about Z (pixels stay)."""
    k %= 4
    n = np.asarray(normals, dtype=np.float32)
    x, y, z = n[..., 0], n[..., 1], n[..., 2]
    if k == 0:
        return n.copy()
    if k == 1:
        return np.stack([-y, x, z], axis=-1)
    if k == 2:
        return np.stack([-x, -y, z], axis=-1)
    return np.stack([y, -x, z], axis=-1)


def turn_normals(normals: np.ndarray, k: int) -> np.ndarray:
    """Turn an (..., H, W, 3) OpenGL normal map k quarter turns counter-clockwise: the picture
    (as np.rot90) and every vector with it."""
    return turn_vectors(np.rot90(normals, k, axes=(-3, -2)), k)


def mirror_mean(predict: PredictFn) -> PredictFn:
    """`predict` for a canonical model (light from the right), averaged with its prediction of the
    top-bottom mirror of the same tiles, mirrored back (Y negated).

    That mirror keeps the light on the right, so both are valid readings of the photo; their mean
    is symmetric under it and, with the stage-7 weights, scored 9.46 degrees on blender-dev against
    9.62 for one pass (pretrained/EXPERIMENTS.md, sixth session). It works per tile, so tiles stay
    consistent and no full-size copy is made; it costs a second network pass. The result is not
    renormalised.
    """

    def both(tiles: np.ndarray) -> np.ndarray:
        direct = np.asarray(predict(tiles), dtype=np.float32)
        mirrored = np.asarray(predict(np.ascontiguousarray(tiles[:, ::-1])), dtype=np.float32)[:, ::-1]
        return 0.5 * (direct + mirrored * np.array([1.0, -1.0, 1.0], np.float32))

    return both


def probe_crops(network_input: np.ndarray, stride: int, side: int = PROBE_SIDE, count: int = PROBE_COUNT) -> np.ndarray:
    """Up to `count` square crops (side a multiple of `stride`) spread over the image: (N, s, s, C)."""
    h, w = network_input.shape[:2]
    s = max(stride, min(side, h, w) // stride * stride)
    if min(h, w) < stride:
        pad = ((0, max(0, stride - h)), (0, max(0, stride - w)), (0, 0))
        return np.pad(network_input, pad, mode="reflect" if min(h, w) > 1 else "edge")[None, :stride, :stride]
    ys = np.linspace(0, h - s, num=2 if h >= 2 * s else 1).astype(int)
    xs = np.linspace(0, w - s, num=2 if w >= 2 * s else 1).astype(int)
    crops = [network_input[y:y + s, x:x + s] for y in ys for x in xs][:count]
    return np.stack(crops).astype(np.float32)


def _fit_r2(lum: np.ndarray, normals: np.ndarray) -> float:
    """Share of luminance variance a linear Lambertian fit on (nx, ny) explains, per crop, averaged."""
    scores = []
    for l, n in zip(lum, normals):
        a = np.stack([n[..., 0].ravel(), n[..., 1].ravel(), np.ones(l.size)], axis=1)
        coef, *_ = np.linalg.lstsq(a, l.ravel(), rcond=None)
        resid = l.ravel() - a @ coef
        var = float(l.var())
        scores.append(1.0 - float(resid.var()) / var if var > 1e-12 else 0.0)
    return float(np.mean(scores))


def turn_scores(predict: PredictFn, crops: np.ndarray) -> dict[str, np.ndarray]:
    """For k = 0..3 quarter turns: the Lambertian fit (axis) and the mean predicted slope (side)."""
    lum = crops.mean(axis=-1)
    fit, slope = np.zeros(4), np.zeros(4)
    for k in range(4):
        turned = np.ascontiguousarray(np.rot90(crops, k, axes=(1, 2)))
        normals = turn_normals(np.asarray(predict(turned), dtype=np.float32), -k)
        fit[k] = _fit_r2(lum, normals)
        nz = np.maximum(normals[..., 2], 1e-3)
        slope[k] = float(np.mean(np.hypot(normals[..., 0], normals[..., 1]) / nz))
    return {"fit": fit, "slope": slope}


def choose_turn(predict: PredictFn, network_input: np.ndarray, stride: int) -> int:
    """Quarter turns (counter-clockwise, as np.rot90) that bring the photo's light to the right.

    network_input: the whole normalised photo (H, W, 3); predict: a batch of it -> OpenGL normals.
    """
    scores = turn_scores(predict, probe_crops(network_input, stride))
    # The axis: the pair of opposite turns whose predictions explain the shading best together.
    axis = 0 if scores["fit"][0] + scores["fit"][2] >= scores["fit"][1] + scores["fit"][3] else 1
    # The side: of those two, the one where the network is surer (steeper).
    return axis if scores["slope"][axis] >= scores["slope"][axis + 2] else axis + 2
