"""The public calls: photo -> tangent-space normal map, and normal map -> height map.

`generate_normal_map` is what the CLI (and, through it, the Blender add-on) calls. With the
network: normalise the whole photo (whole-image statistics, before any tiling), predict tile by
tile, renormalise the blended vectors, apply strength, convert to the requested convention.
With method="sobel": the classic luminance-as-height filter (`normalgen.sobel`). `invert` turns
the relief inside out, for a photo whose map reads raised where the surface is sunk. A photo's
transparent pixels are filled before it is read and come out flat (`normalgen.alpha`).

Memory: an 8192² photo is 805 MB per float32 RGB copy, so after normalisation the photo is
dropped, and the finishing steps run in place, a band of rows at a time.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from normalgen.errors import ImageError, NormalgenError
from normalgen.orientation import LIGHT_SIDES
from normalgen.vectors import (
    CONVENTIONS,
    apply_strength,
    check_strength,
    convert_convention,
    invert_relief,
    normalize,
    scale_slopes,
)

METHODS = ("model", "sobel")
DEFAULT_TILE = 768  # 4096²: 6x6 tiles of 752², redundancy 1.21; 8192²: 12x12, 1.21
DEFAULT_OVERLAP = 64  # 16 px dropped + 32 px cross-fade + 16 px dropped between tiles
# Networks without batch norm (norm="none", every model trained from scratch since the third
# session) read much wider context: with 64 px the shipped one-side-light model's tiles disagreed
# with one pass by up to 11 degrees along the seams, with 192 px by 1.08, with 224 px by 0.42
# (gravel tiled to 1536², 768² tiles; the default model: 0.38 with 64). The cost: redundancy
# 2.07 instead of 1.21 at 4096², 8.8 s against the default model's 7.4 s.
WIDE_OVERLAP = 224
DEFAULT_BATCH = 2  # tiles per forward call: 2 x 752² (4096² peaks at 1.45 GiB RSS in all)
_ROWS_PER_BAND = 256


def generate_normal_map(
    image: np.ndarray,
    *,
    strength: float = 1.0,
    convention: str = "opengl",
    seamless: bool = False,
    method: str = "model",
    model=None,
    detail: float = 0.5,
    tile_size: int | None = None,
    light_from: str = "auto",
    invert: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Photo of a surface -> (H, W, 3) float32 unit normals in `convention` ("opengl"/"directx").

    image: (H, W) grey or (H, W, 3|4) colour; float sRGB in [0, 1], or uint8 / uint16. Where a
    fourth channel (straight alpha) says a pixel is transparent, what lies under it is not read
    and the map is flat there. strength: slope multiplier (0 flat, 1 as predicted, 2 twice as steep). seamless: treat
    the photo as a tileable texture (wrap-around borders). method: "model" (the network) or
    "sobel" (classic filter). model: a keras.Model, a path to a .keras file, or None for the
    shipped one. detail: "sobel" only, 0 (broad shapes) to 1 (fine grain). tile_size: the
    largest tile side the network sees (default 768; a multiple of the model's stride).
    light_from: where the light comes from in the photo, "auto" (find out) or a side of the
    picture, "right", "top", "left", "bottom". A side needs a model trained on photos lit from one
    side (with model None, the shipped one: `normalgen.pretrained.CANONICAL_MODEL_PATH`); "sobel"
    does not use it. invert: turn the relief inside out (raised comes out sunk, and the height map
    upside down), for photos the method reads the wrong way round. progress: called as
    progress(done, total) while the network runs.
    Raises NormalgenError (ModelError, ImageError) for anything the caller can fix.
    """
    convention = _check_choice("convention", convention, CONVENTIONS)
    method = _check_choice("method", method, METHODS)
    light_from = _check_choice("light side", light_from, LIGHT_SIDES)
    strength = check_strength(strength)
    if not 0.0 <= float(detail) <= 1.0:
        raise NormalgenError(f"detail must be between 0 and 1, not {detail}")
    image, alpha = _without_transparency(image)
    if method == "sobel":
        from normalgen.sobel import sobel_normals

        normals = sobel_normals(_as_float_photo(image), detail=detail, seamless=seamless)
        turn = 0
    else:
        # A filled photo is float32 and ours: the network's input is normalised in it, in place.
        normals, turn = _predict(image, model, seamless, tile_size, light_from, progress, owned=alpha is not None)
    return _finish(normals, strength, convention, turn, invert=bool(invert), alpha=alpha)


def generate_height_map(
    normals: np.ndarray, *, convention: str = "opengl", seamless: bool = False
) -> np.ndarray:
    """(H, W, 3) unit normals in `convention` -> (H, W) float32 height in [0, 1] (white = high).

    Integrates the slopes the normals imply (Frankot-Chellappa); `seamless` makes it periodic.
    The result is stretched to [0, 1] per image, so its scale is relative: slopes scaled by a
    strength give the same map, and a nearly flat photo gives its small relief in full contrast.
    """
    from normalgen.height import height_from_normals

    normals = np.asarray(normals, dtype=np.float32)
    if normals.ndim != 3 or normals.shape[-1] != 3 or normals.size == 0:
        raise ImageError(f"a normal map must be an (H, W, 3) array, not {normals.shape}")
    convention = _check_choice("convention", convention, CONVENTIONS)
    # No OpenGL copy of an OpenGL map: at 8192² it would hold another 0.8 GB while integrating.
    opengl = normals if convention == "opengl" else convert_convention(normals, convention, "opengl")
    return height_from_normals(opengl, periodic=seamless)


def tile_overlap(config) -> int:
    """Pixels two neighbouring tiles share for a model of this `ModelConfig` (before capping at
    half a tile): enough context that tiled output stays within a degree of one pass."""
    return WIDE_OVERLAP if config.norm == "none" else DEFAULT_OVERLAP


def _check_choice(what: str, value: str, choices: tuple[str, ...]) -> str:
    choice = str(value).lower()
    if choice not in choices:
        raise NormalgenError(f"unknown {what} {value!r}: use one of {', '.join(choices)}")
    return choice


def _without_transparency(image) -> tuple[np.ndarray, np.ndarray | None]:
    """The photo with its transparent pixels filled, and its alpha; (image, None) when it has no
    alpha, or one that is opaque everywhere, or a pixel type `_as_float_photo` will refuse."""
    image = np.asarray(image)
    if not (image.dtype in (np.uint8, np.uint16) or np.issubdtype(image.dtype, np.floating)):
        return image, None
    from normalgen.alpha import fill_transparent, split_alpha

    rgb, alpha = split_alpha(image)
    return (image, None) if alpha is None else (fill_transparent(rgb, alpha, as_float=True), alpha)


def _as_float_photo(image: np.ndarray) -> np.ndarray:
    """Any supported array -> (H, W, 3) float32 sRGB in [0, 1] (grey repeated, alpha dropped)."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] not in (1, 3, 4) or image.size == 0:
        raise ImageError(f"an image must be an (H, W), (H, W, 3) or (H, W, 4) array, not {image.shape}")
    if image.dtype in (np.uint8, np.uint16):
        scale = 1.0 / np.iinfo(image.dtype).max
    elif np.issubdtype(image.dtype, np.floating):
        scale = 1.0
    else:
        raise ImageError(f"unsupported image pixel type {image.dtype}: use uint8, uint16 or float")
    rgb = image[..., :3] if image.shape[-1] != 1 else np.repeat(image, 3, axis=-1)
    if rgb.dtype == np.float32:
        return rgb  # already in shape: no 805 MB copy of an 8192² photo
    return np.multiply(rgb, scale, dtype=np.float32)


def _predict(image, model, seamless, tile_size, light_from, progress, owned=False) -> tuple[np.ndarray, int]:
    """The network's OpenGL normals for the whole photo, tile by tile (not yet renormalised).

    A model trained on photos lit from the right ("canonical" light) sees the photo turned so: by
    the quarter turns `light_from` calls for, or on "auto" those `orientation.choose_turn` picks,
    and each tile is read twice, as it is and mirrored top to bottom (`orientation.mirror_mean`).
    Returns the normals laid out as the photo is (a turned view of the prediction) and that number
    of turns: the vectors in them still point as in the turned picture, and `_finish` turns them
    back band by band.

    Takes the caller's array, not a converted copy, so that the float photo made here is the
    only reference and is freed as soon as it has been normalised; `owned`: `image` is a float32
    array nobody else reads, normalised in place.
    """
    import keras

    from normalgen.model import config_of
    from normalgen.model_loading import check_light_side, inference_model, load_model
    from normalgen.orientation import choose_turn, mirror_mean, turn_for_light
    from normalgen.preprocess import normalize_photo
    from normalgen.tiling import predict_tiled

    if not isinstance(model, keras.Model):
        model = load_model(model, light_from=light_from)
    check_light_side(model, light_from)
    canonical = config_of(model).light == "canonical"
    stride = config_of(model).stride
    tile = DEFAULT_TILE if tile_size is None else int(tile_size)
    if tile < stride or tile % stride:
        raise NormalgenError(f"tile size must be a positive multiple of {stride}, not {tile_size}")
    overlap = min(tile_overlap(config_of(model)), tile // 2 // stride * stride)
    net = inference_model(model)
    photo = _as_float_photo(image)
    # A converted copy is ours to overwrite: normalising it in place saves a full-size array.
    network_input = normalize_photo(photo, method=config_of(model).input_norm,
                                    in_place=photo.dtype == np.float32 and (owned or not np.shares_memory(photo, image)))
    del photo
    turn = 0
    if canonical and light_from != "auto":
        turn = turn_for_light(light_from)
    elif canonical:
        turn = choose_turn(net.predict_on_batch, network_input, stride)
    # Turned, a canonical model's light is on the right, and a top-bottom mirror keeps it there.
    predict = mirror_mean(net.predict_on_batch) if canonical else net.predict_on_batch
    predicted = predict_tiled(
        predict,
        np.rot90(network_input, turn),
        tile=tile,
        overlap=overlap,
        stride=stride,
        wrap=seamless,
        batch=DEFAULT_BATCH,
        progress=progress,
    )
    return np.rot90(predicted, -turn), turn


def _finish(normals: np.ndarray, strength: float, convention: str, turn: int = 0, *,
            invert: bool = False, alpha: np.ndarray | None = None) -> np.ndarray:
    """Renormalise, turn the vectors back by `turn` quarter turns (see `_predict`), apply strength
    (times each pixel's alpha, if given: transparent pixels come out flat), invert if asked,
    convert OpenGL -> `convention`; in place, band by band."""
    from normalgen.orientation import turn_vectors

    for top in range(0, normals.shape[0], _ROWS_PER_BAND):
        band = normals[top : top + _ROWS_PER_BAND]
        upright = normalize(turn_vectors(band, -turn))
        if alpha is None:
            opengl = apply_strength(upright, strength)
        else:
            from normalgen.alpha import unit_alpha

            factor = unit_alpha(alpha[top : top + _ROWS_PER_BAND])[..., None]
            factor *= strength
            opengl = scale_slopes(upright, factor, out=upright)
        band[...] = convert_convention(invert_relief(opengl) if invert else opengl, "opengl", convention)
    return normals
