"""Average the weights of several runs of one architecture (a "model soup").

Fine-tunes that start from the same weights stay in one basin of the loss, so the mean of their
weights is itself a good network, often better than each: an ensemble that costs nothing at
inference. Runs from different starts (or different architectures) do not average; this refuses
models whose `ModelConfig` differs (the config fixes every weight's shape).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from normalgen.model import build_model, config_of
from normalgen.model_loading import load_model

from .train import export_float32


def average_weights(paths: list[str | Path], out: str | Path) -> Path:
    """Write to `out` (which must not exist) a float32 model whose weights are the mean of the
    models at `paths`."""
    out = Path(out)
    if out.exists():
        raise ValueError(f"{out} exists: choose another name or remove it first")
    if len(paths) < 2:
        raise ValueError("averaging needs at least two models")
    models = [load_model(p) for p in paths]
    configs = {config_of(m) for m in models}
    if len(configs) > 1:
        raise ValueError("these models have different architectures and cannot be averaged")
    weights = [m.get_weights() for m in models]
    mean = [np.mean([ws[i] for ws in weights], axis=0, dtype=np.float64).astype(np.float32)
            for i in range(len(weights[0]))]
    soup = build_model(configs.pop())  # a new model: the loaded ones are load_model's cache
    soup.set_weights(mean)
    export_float32(soup, out)
    return out
