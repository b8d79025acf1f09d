"""Deepen a trained U-Net by new coarsest levels that start as the identity.

Each output pixel of a depth-4 U-Net sees a window about 240 px across; relief broader than that
(long waves, large stones) it reads from edges inward, flatter than it is. One more level doubles
that window at almost no cost per pixel (the new level works at 1/32 of the resolution), but
training a deeper network from scratch throws away the hours in the shipped weights. `deepen`
keeps them:

- the old bottleneck becomes the new encoder's deepest level (same shapes, same weights);
- a new bottleneck and its up-projection start from the usual random initialisation;
- the new decoder level starts as the identity on its skip input (centre tap 1, channel to
  channel) and zero on what comes up from the new bottleneck, so the deepened model computes
  exactly the old model's function until training gives the coarse path a weight.

Only plain conv + ReLU networks (`norm="none"`, no global context) can be deepened: the identity
start relies on the skip features being ReLU outputs (non-negative), which batch norm breaks.

`widen` makes every level wider (more channels) the same way: the old channels keep their weights
and ignore the new ones, which start from the usual random initialisation but reach nothing (the
weights from them start at zero), so the widened model computes exactly the old function until
training gives them a use. At 1.5 times the width a conv costs 2.25 times as much per pixel;
on the sessions' data it reached the same error as the narrow network (EXPERIMENTS.md,
twenty-eighth session).

`relight` is the other change a starting model can take: the same weights, declared to read
photos lit from any side or from the right (`train --light` with `--from`).
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np

from normalgen.model import ModelConfig, build_model, config_of


class GrowError(ValueError):
    """A model that cannot be deepened as asked, in one sentence."""


def _identity_kernel(kernel_shape, skip_offset: int) -> np.ndarray:
    """A 3x3 conv kernel that copies input channel skip_offset + i to output channel i."""
    kh, kw, cin, cout = kernel_shape
    k = np.zeros(kernel_shape, dtype="float32")
    idx = np.arange(cout)
    k[kh // 2, kw // 2, skip_offset + idx, idx] = 1.0
    return k


def check_deepen(cfg: ModelConfig, depth: int) -> None:
    """Raise GrowError unless a model of this config can be made `depth` levels deep."""
    if depth < cfg.depth:
        raise GrowError(f"cannot make a depth-{cfg.depth} model shallower (asked for depth {depth})")
    if depth > cfg.depth and (cfg.norm != "none" or cfg.global_context):
        raise GrowError("only models without batch norm or global context can be deepened")


def added_layers(model: keras.Model, old_depth: int) -> list:
    """The layers a deepening from `old_depth` added: every level's new bottleneck, up-projection and
    decoder convs. With the rest frozen they can be trained at a rate that would wreck the others
    (at a fine-tuning rate of 7e-5 the coarse path's weights stayed under 0.007 in 1,000 steps)."""
    depth = config_of(model).depth
    names = {"bottom_conv0", "bottom_conv1"}
    for level in range(old_depth, depth):
        names |= {f"up{level}_proj", f"dec{level}_conv0", f"dec{level}_conv1"}
    return [layer for layer in model.layers if layer.name in names]


def deepen(model: keras.Model, depth: int) -> keras.Model:
    """A copy of `model` with `depth` levels that predicts exactly what `model` predicts.

    `depth` must be at least the model's own; equal returns a fresh copy. The result is uncompiled.
    """
    cfg = config_of(model)
    check_deepen(cfg, depth)
    grown = model
    for d in range(cfg.depth, depth):
        grown = _add_level(grown, dataclasses.replace(cfg, depth=d + 1))
    if grown is model:
        grown = build_model(cfg, name=model.name)
        grown.set_weights(model.get_weights())
    return grown


def _add_level(old: keras.Model, cfg: ModelConfig) -> keras.Model:
    new = build_model(cfg, name=old.name)
    old_names = {layer.name for layer in old.layers}
    top = cfg.depth - 1  # the new encoder level that takes the old bottleneck's place
    added = {layer.name for layer in added_layers(new, top)}
    for layer in new.layers:
        if not layer.weights:
            continue
        name = layer.name
        if name.startswith(f"down{top}_conv"):
            source = old.get_layer(name.replace(f"down{top}_", "bottom_"))
            layer.set_weights(source.get_weights())
        elif name.startswith(f"dec{top}_conv"):
            kernel, bias = layer.get_weights()
            # conv0 sees [up-projection, skip]: copy the skip, ignore (for now) the coarse path.
            offset = kernel.shape[2] - kernel.shape[3] if name.endswith("conv0") else 0
            layer.set_weights([_identity_kernel(kernel.shape, offset), np.zeros_like(bias)])
        elif name in added:
            pass  # the new bottleneck and up-projection: random initialisation
        elif name in old_names:
            layer.set_weights(old.get_layer(name).get_weights())
        else:  # pragma: no cover - build_model and this function disagree about layer names
            raise GrowError(f"no weights for layer {name} of the deepened model")
    return new


def check_widen(cfg: ModelConfig, base_filters: int) -> None:
    """Raise GrowError unless a model of this config can be widened to `base_filters`."""
    if base_filters < cfg.base_filters:
        raise GrowError(f"cannot make a model of width {cfg.base_filters} narrower (asked for {base_filters})")
    if base_filters > cfg.base_filters and (cfg.norm != "none" or cfg.global_context):
        raise GrowError("only models without batch norm or global context can be widened")
    for level in range(cfg.depth + 1):
        if cfg.filters(level) * base_filters % cfg.base_filters:
            raise GrowError(f"cannot widen {cfg.base_filters} filters to {base_filters}: a level of "
                            f"{cfg.filters(level)} would not scale to a whole number of channels")


def widen(model: keras.Model, base_filters: int) -> keras.Model:
    """A copy of `model` whose every level is `base_filters / old base` times as wide and that
    predicts exactly what `model` predicts. The result is uncompiled."""
    cfg = config_of(model)
    check_widen(cfg, base_filters)
    # Levels capped at max_filters scale exactly (checked above); a cap no level reaches stays above them all.
    new_cfg = dataclasses.replace(cfg, base_filters=base_filters,
                                  max_filters=cfg.max_filters * base_filters // cfg.base_filters)
    new = build_model(new_cfg, name=model.name)
    for layer in new.layers:
        if not layer.weights:
            continue
        old = model.get_layer(layer.name)
        if not isinstance(layer, keras.layers.Conv2D):  # pragma: no cover - build_model grew a new kind of layer
            raise GrowError(f"cannot widen layer {layer.name} ({type(layer).__name__})")
        kernel, bias = layer.get_weights()  # the new model's random initialisation
        old_kernel, old_bias = old.get_weights()
        cin, cout = old_kernel.shape[2:]
        if layer.name.startswith("dec") and layer.name.endswith("_conv0"):
            # [up-projection, skip], each widened: the old channels are the first of each half.
            half, new_half = cin // 2, kernel.shape[2] // 2
            ins = np.concatenate([np.arange(half), new_half + np.arange(half)])
        else:
            ins = np.arange(cin)
        kernel[:, :, :, :cout] = 0.0  # the old outputs ignore every new input ...
        kernel[:, :, ins, :cout] = old_kernel  # ... and read the old ones as before
        bias[:cout] = old_bias
        bias[cout:] = 0.0
        layer.set_weights([kernel, bias])
    return new


def relight(model: keras.Model, light: str) -> keras.Model:
    """A copy of `model` with the same weights that declares photos lit from `light` ("any", or
    "canonical": from the right, so inference turns each photo first). Only the input's name
    changes; e.g. the one-side-light model, which reads shading, as the start of an any-light one."""
    if light not in ("any", "canonical"):
        raise GrowError(f"light must be 'any' or 'canonical', not {light!r}")
    out = build_model(dataclasses.replace(config_of(model), light=light), name=model.name)
    out.set_weights(model.get_weights())
    return out
