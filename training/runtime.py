"""Where and how training runs: backend, devices, precision, XLA and the distribution strategy.

- GPU (TensorFlow): mixed precision (bfloat16 where the GPU has it) and XLA; several GPUs through
  `tf.distribute.MirroredStrategy`; several machines through `MultiWorkerMirroredStrategy`, set up
  by the standard `TF_CONFIG` variable.
- CPU: `mixed_bfloat16` when the CPU has AVX512-BF16/AMX (measured 1.5x faster here), else
  float32; no XLA (it was slower on CPU here).
- JAX / PyTorch backends: a single device, the same model and data code.
"""

from __future__ import annotations

import contextlib
import json
import os

import keras


def _cpu_has_bf16() -> bool:
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def configure(precision: str = "auto") -> dict:
    """Set the dtype policy and pick a strategy. Returns a description and a `scope` context factory."""
    backend = keras.backend.backend()
    devices, replicas, scope, jit = ["cpu"], 1, contextlib.nullcontext, False
    gpus = []
    if backend == "tensorflow":
        import tensorflow as tf  # training only; inference code never imports TensorFlow directly

        gpus = tf.config.list_physical_devices("GPU")
        for g in gpus:
            tf.config.experimental.set_memory_growth(g, True)
        strategy = None
        if os.environ.get("TF_CONFIG") and len(json.loads(os.environ["TF_CONFIG"]).get("cluster", {}).get("worker", [])) > 1:
            strategy = tf.distribute.MultiWorkerMirroredStrategy()
        elif len(gpus) > 1:
            strategy = tf.distribute.MirroredStrategy()
        if strategy is not None:
            replicas, scope = strategy.num_replicas_in_sync, strategy.scope
        devices = [g.name for g in gpus] or ["cpu"]
        jit = bool(gpus)
    elif backend == "jax":
        import jax

        devices = [str(d) for d in jax.devices()]
        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        jit = True  # JAX always compiles
    elif backend == "torch":
        import torch

        if torch.cuda.is_available():
            gpus = list(range(torch.cuda.device_count()))
            devices = [f"cuda:{i}" for i in gpus]
    if precision == "auto":
        precision = "mixed_bfloat16" if (gpus or _cpu_has_bf16()) else "float32"
    keras.config.set_dtype_policy(precision)
    return {"backend": backend, "devices": devices, "replicas": replicas, "scope": scope,
            "precision": precision, "jit": jit}
