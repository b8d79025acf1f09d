"""Where and how training runs: backend, devices, precision, XLA and the distribution strategy.

- GPU (TensorFlow): mixed precision (bfloat16; float16 on GPUs older than Ampere) and XLA; several
  GPUs (or a CPU split into logical devices) through `tf.distribute.MirroredStrategy`; several
  machines (`TF_CONFIG` naming more than one machine: `cluster.py`) through
  `MultiWorkerMirroredStrategy`, trained by `multi_worker.fit`.
- CPU: `mixed_bfloat16` when the CPU has AVX512-BF16/AMX (measured 1.5x faster here), else
  float32; no XLA (it was slower on CPU here).
- JAX / PyTorch backends: a single device, the same model and data code.
"""

from __future__ import annotations

import contextlib

import keras

from normalgen.model_loading import cpu_has_bf16

from . import cluster


def configure(precision: str = "auto") -> dict:
    """Set the dtype policy and pick a strategy. Returns a description, a `scope` context factory,
    `strategy` (None, or the tf.distribute strategy) and `workers` (machines; more than one means
    a MultiWorkerMirroredStrategy).

    Call it before TensorFlow runs anything (before a model is loaded): a multi-worker strategy
    can only be made at program start. Raises RuntimeError on a TF_CONFIG that makes no sense.
    """
    backend = keras.backend.backend()
    devices, replicas, scope, jit = ["cpu"], 1, contextlib.nullcontext, False
    gpus, strategy = [], None
    try:
        workers = cluster.cluster_tasks()
    except cluster.ClusterError as exc:
        raise RuntimeError(str(exc)) from None
    if len(workers) > 1 and backend != "tensorflow":
        raise RuntimeError(f"training on several machines (TF_CONFIG) needs the TensorFlow backend, not {backend}")
    if len(workers) > 1 and precision == "mixed_float16":
        # Its loss scale skips a step where this machine's gradients overflow, while the others
        # wait in that step's all-reduce for ever.
        raise RuntimeError("mixed_float16 cannot train on several machines; use mixed_bfloat16 (the default "
                           "on GPUs) or float32")
    if backend == "tensorflow":
        import tensorflow as tf  # training only; inference code never imports TensorFlow directly

        gpus = tf.config.list_physical_devices("GPU")
        for g in gpus:
            tf.config.experimental.set_memory_growth(g, True)
        if len(workers) > 1:
            strategy = cluster.make_strategy()
        else:
            logical = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
            if len(logical) > 1:  # several GPUs, or a CPU split into logical devices
                strategy = tf.distribute.MirroredStrategy([d.name for d in logical])
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
        precision = auto_precision(_gpu_capabilities(backend, gpus), cpu_has_bf16(), len(workers))
    keras.config.set_dtype_policy(precision)
    return {"backend": backend, "devices": devices, "replicas": replicas, "scope": scope,
            "precision": precision, "jit": jit, "strategy": strategy,
            "workers": max(1, len(workers))}


def auto_precision(gpu_capabilities: list, cpu_bf16: bool, workers: int = 1) -> str:
    """The policy `--precision auto` picks. GPUs: mixed_bfloat16 where every one is Ampere or newer
    (CUDA compute capability 8+; an unknown one is taken to be); older ones (GTX 10xx, RTX 20xx)
    have no bfloat16 arithmetic, so mixed_float16 there, or float32 across machines, where
    mixed_float16 cannot train. CPUs: mixed_bfloat16 where AVX512-BF16/AMX is, else float32."""
    if gpu_capabilities:
        if all(cap is None or cap[0] >= 8 for cap in gpu_capabilities):
            return "mixed_bfloat16"
        return "mixed_float16" if workers <= 1 else "float32"
    return "mixed_bfloat16" if cpu_bf16 else "float32"


def _gpu_capabilities(backend: str, gpus: list) -> list:
    """(major, minor) CUDA compute capability of each GPU, None where the backend does not say."""
    caps = []
    for g in gpus:
        cap = None
        try:
            if backend == "tensorflow":
                import tensorflow as tf

                cap = tf.config.experimental.get_device_details(g).get("compute_capability")
            elif backend == "jax":
                cap = tuple(int(x) for x in str(g.compute_capability).split("."))
            elif backend == "torch":
                import torch

                cap = torch.cuda.get_device_capability(g)
        except Exception:  # an unknown device (ROCm, a newer API): assume it has bfloat16
            cap = None
        caps.append(tuple(cap) if cap else None)
    return caps
