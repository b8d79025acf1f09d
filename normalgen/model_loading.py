"""Loading the network from a .keras file, and choosing the precision it runs in.

`load_model` turns every way a model file can be wrong into one `ModelError` sentence and caches
the loaded model per file (path + modification time), so converting a folder of photos loads it
once, yet a retrained file is picked up.

Precision: on a CPU with native bfloat16 (AVX512-BF16 / AMX), TensorFlow runs the U-Net about
1.4x faster under Keras' `mixed_bfloat16` policy (1.62 vs 1.14 MP/s measured, base 16, 512²
tiles, batch 4), for a sub-degree change of the normals. `inference_model` therefore rebuilds the
architecture under that policy and copies the float32 weights into it, only where it pays:
TensorFlow backend, no GPU, bf16 in the CPU flags. The head (slope + unit normal) stays float32.
`precision="float32"` or NORMALGEN_PRECISION=float32 forces float32; "bfloat16" forces bf16.
"""

from __future__ import annotations

import functools
import os
import weakref
from pathlib import Path

import keras

from normalgen.errors import ModelError
from normalgen.model import build_model, config_of

PRECISION_ENV = "NORMALGEN_PRECISION"
PRECISIONS = ("auto", "float32", "bfloat16")

_loaded: dict[Path, tuple[int, keras.Model]] = {}
_bf16_twins: "weakref.WeakKeyDictionary[keras.Model, keras.Model]" = weakref.WeakKeyDictionary()


def load_model(path: str | os.PathLike | None = None, *, light_from: str = "auto") -> keras.Model:
    """Load a normalgen .keras model, float32. path None: a shipped one, chosen by `light_from`
    (where the light comes from in the photos): "auto" the default model, which reads photos lit
    from any side; a side ("right", "top", "left", "bottom") the model trained on photos lit from
    one side, `CANONICAL_MODEL_PATH`, which is more accurate when the side is known.

    Raises ModelError when the file is missing or is not a valid normalgen model.
    """
    if path is None:
        from normalgen.pretrained import CANONICAL_MODEL_PATH, DEFAULT_MODEL_PATH

        path = DEFAULT_MODEL_PATH if light_from == "auto" else CANONICAL_MODEL_PATH
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise ModelError(f"model file not found: {path}.")
    mtime = path.stat().st_mtime_ns
    cached = _loaded.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    try:
        model = keras.models.load_model(path, compile=False)
        config_of(model)  # a normalgen U-Net has these layers; anything else is rejected here
    except Exception as exc:  # zip, h5, JSON, deserialisation and layer errors all mean the same
        raise ModelError(
            f"could not load model {path}: it is not a valid normalgen .keras file."
        ) from exc
    _loaded[path] = (mtime, model)
    return model


def check_light_side(model: keras.Model, light_from: str) -> None:
    """ModelError unless `model` can use `light_from`: a named side needs a model trained on
    light from one side (`ModelConfig.light == "canonical"`); "auto" suits every model."""
    if light_from != "auto" and config_of(model).light != "canonical":
        raise ModelError(
            f"this model reads photos lit from any side and cannot use the light side {light_from!r}; "
            "leave it on auto, or use a model trained with --light canonical."
        )


def resolve_precision(precision: str | None = None) -> str:
    """'float32' or 'bfloat16': the argument, else $NORMALGEN_PRECISION, else 'auto' resolved."""
    raw = precision or os.environ.get(PRECISION_ENV) or "auto"
    choice = raw.strip().lower()
    if choice not in PRECISIONS:
        where = "" if precision else f" in ${PRECISION_ENV}"
        raise ModelError(f"unknown precision {raw!r}{where}; use one of {', '.join(PRECISIONS)}.")
    if choice != "auto":
        return choice
    fast_bf16 = (
        keras.backend.backend() == "tensorflow"
        and all(d.lower().startswith("cpu") for d in keras.distribution.list_devices())
        and cpu_has_bf16()
    )
    return "bfloat16" if fast_bf16 else "float32"


@functools.cache
def cpu_has_bf16() -> bool:
    """Native bfloat16 matrix maths in the CPU flags (Linux; elsewhere assume not)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def inference_model(model: keras.Model, precision: str | None = None) -> keras.Model:
    """The model to run: `model` itself in float32, or its cached mixed-bfloat16 twin."""
    if resolve_precision(precision) == "float32":
        return model
    twin = _bf16_twins.get(model)
    if twin is None:
        twin = _rebuild(model, "mixed_bfloat16")
        _bf16_twins[model] = twin
    return twin


def _rebuild(model: keras.Model, policy: str) -> keras.Model:
    """The same architecture built under a dtype policy, holding `model`'s weights."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        twin = build_model(config_of(model), name=model.name)
    finally:
        keras.config.set_dtype_policy(previous)
    twin.set_weights(model.get_weights())
    return twin
