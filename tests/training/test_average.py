"""Averaging fine-tunes' weights: the mean of each weight, one architecture only, no overwrite."""

import numpy as np
import pytest

from normalgen.model import ModelConfig, build_model, config_of
from normalgen.model_loading import load_model
from normalgen_training.average import average_weights

TINY = ModelConfig(base_filters=4, depth=2, input_norm="relative", light="canonical", norm="none")


def _saved(tmp_path, name, config=TINY, seed=0):
    model = build_model(config)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in model.get_weights()])
    path = tmp_path / name
    model.save(path)
    return path, model.get_weights()


def test_the_average_has_the_mean_of_every_weight_and_the_same_architecture(tmp_path):
    a, wa = _saved(tmp_path, "a.keras", seed=1)
    b, wb = _saved(tmp_path, "b.keras", seed=2)
    out = average_weights([a, b], tmp_path / "soup.keras")
    soup = load_model(out)
    assert config_of(soup) == config_of(load_model(a))
    for got, x, y in zip(soup.get_weights(), wa, wb):
        np.testing.assert_allclose(got, (x + y) / 2, rtol=1e-6, atol=1e-6)
    # The inputs were not changed (load_model caches them).
    np.testing.assert_array_equal(load_model(a).get_weights()[0], wa[0])


def test_different_architectures_or_an_existing_output_are_refused(tmp_path):
    a, _ = _saved(tmp_path, "a.keras")
    c, _ = _saved(tmp_path, "c.keras", config=ModelConfig(base_filters=8, depth=2, input_norm="relative",
                                                         light="canonical", norm="none"))
    with pytest.raises(ValueError, match="different architectures"):
        average_weights([a, c], tmp_path / "soup.keras")
    with pytest.raises(ValueError, match="exists"):
        average_weights([a, a], c)
    with pytest.raises(ValueError, match="at least two"):
        average_weights([a], tmp_path / "soup.keras")
