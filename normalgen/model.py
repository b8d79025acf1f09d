"""The network: a fully convolutional U-Net from a photo to unit normal vectors (OpenGL convention).

Conv + pool down, upsample + conv up, skip connections at every level. The head predicts the
surface slope (dx, dy) per pixel and returns the unit vector normalize(dx, dy, 1): it always faces
the viewer, it is flat at zero, and "strength" acts on exactly the quantity the network predicts.

The model takes a *normalised* photo (see `normalgen.preprocess.normalize_photo`, the one place
that does it) and only `keras.ops`, so it runs under the TensorFlow, JAX and PyTorch backends.
"""

from __future__ import annotations

import dataclasses
import json

import keras
from keras import layers, ops


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the architecture; `config_of` recovers it from a loaded file."""

    base_filters: int = 16
    depth: int = 4  # number of 2x downsamplings; the input side must be a multiple of 2**depth
    convs_per_level: int = 2
    max_filters: int = 256
    # Global context (FiLM) after the bottleneck and every decoder level: see `_global_context`.
    global_context: bool = False
    # "slope": the net predicts (dx, dy) per pixel. "height": it predicts a height per pixel and the
    # normals are its finite differences, so they always describe one surface (see HeightNormalHead).
    head: str = "slope"
    # Which normalize_photo method the network expects ("relative" or "std"); the input layer's
    # name records it in the file ("photo_relative" or "photo").
    input_norm: str = "std"
    # Where the network expects the light: "any" azimuth, or "canonical" (within 45 degrees of +X,
    # from the right), in which case inference first turns the photo so (normalgen.orientation).
    # Recorded in the input layer's name ("photo_relative_canonical").
    light: str = "any"
    # "batch": BatchNormalization after every conv (the first shipped model). "none": plain
    # conv + bias + ReLU. A batch-normalised net trained on photos whose contrast varies as much as
    # these do leans on each batch's own statistics, and with the moving averages at inference
    # its slopes blew up (mean 2.8 where the truth was 0.2): "none" behaves the same in training
    # and inference. It reads wider context, so its tiles need a wider overlap
    # (normalgen.inference.tile_overlap).
    norm: str = "batch"

    @property
    def stride(self) -> int:
        return 2**self.depth

    def filters(self, level: int) -> int:
        return min(self.base_filters * 2**level, self.max_filters)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d})


@keras.saving.register_keras_serializable(package="normalgen")
class UnitNormalHead(layers.Layer):
    """(dx, dy) slope -> unit normal (dx, dy, 1) / |.|, computed in float32."""

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)

    def call(self, slope):
        slope = ops.cast(slope, "float32")
        z = ops.ones_like(slope[..., :1])
        n = ops.concatenate([slope, z], axis=-1)
        return n / ops.sqrt(ops.sum(n * n, axis=-1, keepdims=True))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (3,)


@keras.saving.register_keras_serializable(package="normalgen")
class HeightNormalHead(layers.Layer):
    """Height (pixel units) -> unit normals of that surface, by central differences, in float32.

    The same formula as `normalgen.vectors.normals_from_height`: n = (-dh/dx, dh/drow, 1) / |.|
    (OpenGL: +Y is up, toward row 0). Borders repeat the edge pixel. A height head cannot predict
    a normal field that no surface has: light across a brick shows two of its bevels, and the
    height that explains them has all four.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)

    def call(self, height):
        h = ops.cast(height, "float32")
        hx = ops.concatenate([h[:, :, :1], h, h[:, :, -1:]], axis=2)
        hy = ops.concatenate([h[:, :1], h, h[:, -1:]], axis=1)
        dx = (hx[:, :, 2:] - hx[:, :, :-2]) * 0.5
        drow = (hy[:, 2:] - hy[:, :-2]) * 0.5
        n = ops.concatenate([-dx, drow, ops.ones_like(h)], axis=-1)
        return n / ops.sqrt(ops.sum(n * n, axis=-1, keepdims=True))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (3,)


def _conv_block(x, filters: int, convs: int, name: str, norm: str = "batch"):
    for i in range(convs):
        if norm == "none":
            x = layers.Conv2D(filters, 3, padding="same", kernel_initializer="he_normal", name=f"{name}_conv{i}")(x)
            x = layers.Activation("relu", name=f"{name}_relu{i}")(x)
            continue
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv{i}")(x)
        # momentum 0.9: the moving statistics keep up with the weights (at 0.99 the inference-mode
        # error swung by 10-25 deg from epoch to epoch while the training error was steady).
        x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn{i}")(x)
        x = layers.Activation("relu", name=f"{name}_relu{i}")(x)
    return x


def _global_context(x, name: str):
    """x * (1 + g(mean of x over the image)): a per-channel gain computed from the whole input.

    The slope a pixel's brightness stands for depends on where the light comes from, and that is
    one fact about the whole photo: the output is a product of a global quantity and a local one.
    Plain conv + ReLU stacks learn such products slowly; a gain from pooled features makes them
    one multiplication. The gain starts at exactly 1 (kernel 0, bias 1), so the block begins as the
    identity. The mean is taken over what the network is given: a tile at most (see tiling.py).
    """
    channels = x.shape[-1]
    ctx = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_pool")(x)
    ctx = layers.Dense(max(channels // 2, 16), activation="relu", name=f"{name}_dense0")(ctx)
    gain = layers.Dense(channels, kernel_initializer="zeros", bias_initializer="ones", name=f"{name}_gain")(ctx)
    return layers.Multiply(name=f"{name}_film")([x, gain])


def build_model(config: ModelConfig | None = None, name: str = "normalgen_unet") -> keras.Model:
    """Build the U-Net. Input: (batch, H, W, 3) normalised photo, H and W multiples of config.stride.

    Output: (batch, H, W, 3) float32 unit normals, OpenGL convention (X right, Y up, Z out).
    """
    config = config or ModelConfig()
    input_name = "photo" if config.input_norm == "std" else f"photo_{config.input_norm}"
    if config.light != "any":
        input_name += f"_{config.light}"
    inputs = keras.Input(shape=(None, None, 3), name=input_name)
    x = inputs
    skips = []
    for level in range(config.depth):
        x = _conv_block(x, config.filters(level), config.convs_per_level, f"down{level}", config.norm)
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"pool{level}")(x)
    x = _conv_block(x, config.filters(config.depth), config.convs_per_level, "bottom", config.norm)
    if config.global_context:
        x = _global_context(x, "bottom_ctx")
    for level in reversed(range(config.depth)):
        x = layers.UpSampling2D(2, interpolation="nearest", name=f"up{level}")(x)
        x = layers.Conv2D(config.filters(level), 3, padding="same", name=f"up{level}_proj")(x)
        x = layers.Concatenate(name=f"skip{level}")([x, skips[level]])
        x = _conv_block(x, config.filters(level), config.convs_per_level, f"dec{level}", config.norm)
        if config.global_context:
            x = _global_context(x, f"dec{level}_ctx")
    if config.head == "height":
        height = layers.Conv2D(1, 1, padding="same", dtype="float32", name="height")(x)
        normals = HeightNormalHead(name="height_normal")(height)
    else:
        slope = layers.Conv2D(2, 1, padding="same", dtype="float32", name="slope")(x)
        normals = UnitNormalHead(name="unit_normal")(slope)
    model = keras.Model(inputs, normals, name=name)
    # Kept on the model so that a loaded .keras file knows its own architecture summary.
    model.normalgen_config = config
    return model


def config_of(model: keras.Model) -> ModelConfig:
    """Recover the ModelConfig of a built or loaded model from its layer shapes."""
    cfg = getattr(model, "normalgen_config", None)
    if cfg is not None:
        return cfg
    depth = sum(1 for layer in model.layers if layer.name.startswith("pool"))
    base = model.get_layer("down0_conv0").filters
    convs = sum(1 for layer in model.layers if layer.name.startswith("down0_conv"))
    max_filters = model.get_layer("bottom_conv0").filters
    names = {layer.name for layer in model.layers}
    input_name = model.layers[0].name
    cfg = ModelConfig(base_filters=base, depth=depth, convs_per_level=convs, max_filters=max_filters,
                      global_context="bottom_ctx_film" in names, head="height" if "height" in names else "slope",
                      input_norm="relative" if input_name.startswith("photo_relative") else "std",
                      light="canonical" if input_name.endswith("_canonical") else "any",
                      norm="batch" if "down0_bn0" in names else "none")
    model.normalgen_config = cfg
    return cfg


def flops_per_pixel(model: keras.Model) -> float:
    """Multiply-adds x 2 of every convolution, per input pixel (the benchmark's GFLOP/s figure)."""
    depth = config_of(model).depth
    total = 0.0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            kh, kw = layer.kernel_size
            cin = layer.kernel.shape[2]
            # A convolution at level L (named down{L}/up{L}/dec{L}, or bottom = depth) sees 1/4**L
            # of the input pixels.
            head = layer.name.split("_")[0]
            digits = "".join(c for c in head if c.isdigit())
            level = depth if head == "bottom" else int(digits or 0)
            total += 2.0 * kh * kw * cin * layer.filters / 4**level
    return total


def describe(model: keras.Model) -> str:
    cfg = config_of(model)
    return json.dumps({**cfg.to_dict(), "parameters": int(model.count_params())})
