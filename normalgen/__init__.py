"""normalgen: a photo of a surface in, a tangent-space normal map out (OpenGL convention by default).

The public names are imported lazily (module `__getattr__`): `import normalgen` stays cheap, and
Keras / TensorFlow load only when a model is actually needed. Before they load, TensorFlow's
oneDNN CPU kernels are preferred (`normalgen.onednn`: about twice as fast on AVX2 CPUs).
"""

from __future__ import annotations

import importlib

from normalgen.onednn import prefer_onednn

prefer_onednn()

__version__ = "0.1.0"

_EXPORTS = {
    "generate_normal_map": "normalgen.inference",
    "generate_height_map": "normalgen.inference",
    "load_model": "normalgen.model_loading",
    "encode_rgb": "normalgen.vectors",
    "decode_rgb": "normalgen.vectors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'normalgen' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
