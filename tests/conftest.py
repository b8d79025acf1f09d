"""Shared fixtures: a tiny, randomly initialised U-Net (in memory and saved as .keras).

The tiny model has the real architecture (depth 4, stride 16) with 4 base filters, so every
test that needs "a model" runs in milliseconds. Its batch-norm statistics and scales are
perturbed so that its output is a busy, non-trivial normal field: a smooth near-flat output would
let seams and convention bugs go unnoticed.
"""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def tiny_model():
    from normalgen.model import ModelConfig, build_model

    import keras

    keras.utils.set_random_seed(1234)
    model = build_model(ModelConfig(base_filters=4, depth=4))
    rng = np.random.default_rng(1234)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.gamma.assign(rng.uniform(0.5, 2.0, n).astype("float32"))
            layer.beta.assign(rng.normal(0.0, 0.3, n).astype("float32"))
            layer.moving_mean.assign(rng.normal(0.0, 0.2, n).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.3, 1.5, n).astype("float32"))
    # Scale the head so slopes look like a real surface's (mostly 10-50 degrees, not grazing).
    head = model.get_layer("slope")
    head.kernel.assign(head.kernel * 0.05)
    return model


@pytest.fixture(scope="session")
def tiny_model_path(tiny_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    tiny_model.save(path)
    return path
