"""Turn on TensorFlow's oneDNN CPU kernels where TensorFlow leaves them off.

TensorFlow enables its oneDNN kernels by default only on x86 CPUs with AVX512_VNNI, AVX512_BF16
or AMX (TF 2.9 release notes). On the many CPUs without them, AVX2 machines such as most AMD
desktops and older Intel ones, it runs convolutions with its Eigen kernels. There, the U-Net
runs about twice as fast with oneDNN. Measured by `benchmarks/onednn_speed.py` on a 2-core AMD
EPYC with AVX2, float32, one run, off against on:
- a forward pass of 2 tiles of 752²: 1.89x (default model), 1.98x (one-side-light model);
- a training step of 4 patches of 256²: 1.99x;
- `bench_inference.py --sizes 4096` (a whole conversion), back to back: 30.1 s -> 18.3 s.

`prefer_onednn()` sets `TF_ENABLE_ONEDNN_OPTS=1` unless the variable is already set: a user's
`TF_ENABLE_ONEDNN_OPTS=0` wins. It must run before TensorFlow is imported, so the package's
`__init__` calls it. On CPUs where TensorFlow turns oneDNN on by itself this changes nothing.
It only applies on x86-64, where the pip wheels carry oneDNN; elsewhere it does nothing.
"""

from __future__ import annotations

import os
import platform

ENV = "TF_ENABLE_ONEDNN_OPTS"


def prefer_onednn() -> None:
    """Default TF_ENABLE_ONEDNN_OPTS to 1 on x86-64, before TensorFlow loads."""
    if platform.machine().lower() in ("x86_64", "amd64"):
        os.environ.setdefault(ENV, "1")


def onednn_enabled() -> bool | None:
    """Whether the TensorFlow in this process runs oneDNN kernels; None when unknown (no
    TensorFlow, or its private probe moved)."""
    try:
        from tensorflow.python.util import _pywrap_util_port

        return bool(_pywrap_util_port.IsMklEnabled())
    except Exception:  # an optional report: TensorFlow absent or its internals changed
        return None
