"""Deepening and widening a trained U-Net: same function at the start, new capacity training can use."""

import keras
import numpy as np
import pytest

from normalgen.model import ModelConfig, build_model, config_of
from normalgen_training.grow import GrowError, added_layers, deepen, relight, widen


def _plain_model(depth=2, seed=5):
    keras.utils.set_random_seed(seed)
    model = build_model(ModelConfig(base_filters=4, depth=depth, input_norm="relative", light="canonical",
                                    norm="none"))
    # Biases as well as kernels non-zero, so a wrong copy or a wrong identity shows in the output.
    rng = np.random.default_rng(seed)
    model.set_weights([w + rng.normal(0, 0.05, w.shape).astype("float32") for w in model.get_weights()])
    return model


def _photo(side=64, seed=0):
    return np.random.default_rng(seed).normal(size=(2, side, side, 3)).astype("float32")


def _one_step(model, x):
    """One epoch of training toward a tilted plane: enough to give zero-started weights a value."""
    target = np.tile(np.array([0.3, -0.2, 0.93], "float32"), x.shape[:3] + (1,))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    model.fit(x, target, epochs=1, verbose=0)


def test_deepened_model_predicts_exactly_what_the_original_did():
    model = _plain_model(depth=2)
    grown = deepen(model, 4)
    assert config_of(grown).depth == 4
    assert config_of(grown).light == "canonical" and config_of(grown).input_norm == "relative"
    assert grown.count_params() > model.count_params()
    x = _photo(64)
    np.testing.assert_allclose(grown.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    # The old bottleneck is now the deepest encoder level, weights unchanged.
    for a, b in zip(model.get_layer("bottom_conv1").get_weights(), grown.get_layer("down2_conv1").get_weights()):
        np.testing.assert_array_equal(a, b)


def test_the_new_coarse_path_starts_silent_and_learns():
    model = _plain_model(depth=2)
    grown = deepen(model, 3)
    x = _photo(32)
    before = grown.predict(x, verbose=0)
    # Whatever the new bottleneck computes, it reaches the output only through weights that start at 0 ...
    bottom = grown.get_layer("bottom_conv1")
    bottom.set_weights([w * 3.0 + 0.1 for w in bottom.get_weights()])
    np.testing.assert_allclose(grown.predict(x, verbose=0), before, atol=1e-6)
    # ... and one step of training gives those weights a value, so the coarse path changes the output.
    up_part = lambda: grown.get_layer("dec2_conv0").get_weights()[0][:, :, :16]  # noqa: E731
    assert not up_part().any()
    _one_step(grown, x)
    assert np.abs(up_part()).max() > 1e-4


@pytest.mark.parametrize("grow, same, smaller, larger, message",
                         [(deepen, 2, 1, 5, "shallower"), (widen, 4, 2, 8, "narrower")])
def test_the_same_size_is_a_copy_and_smaller_or_batch_norm_is_refused(tiny_model, grow, same, smaller, larger,
                                                                       message):
    model = _plain_model(depth=2)  # depth 2, 4 filters
    copy = grow(model, same)
    assert copy is not model
    x = _photo(32)
    np.testing.assert_allclose(copy.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    with pytest.raises(GrowError, match=message):
        grow(model, smaller)
    with pytest.raises(GrowError, match="batch norm"):
        grow(tiny_model, larger)  # the conftest's tiny model has batch norm


def test_added_layers_are_the_new_levels_and_nothing_else():
    grown = deepen(_plain_model(depth=2), 4)
    names = sorted(layer.name for layer in added_layers(grown, 2))
    assert names == sorted(["bottom_conv0", "bottom_conv1", "up2_proj", "up3_proj",
                            "dec2_conv0", "dec2_conv1", "dec3_conv0", "dec3_conv1"])


@pytest.mark.parametrize("head", ["slope", "height"])
def test_widened_model_predicts_exactly_what_the_original_did(head):
    keras.utils.set_random_seed(7)
    model = build_model(ModelConfig(base_filters=4, depth=2, max_filters=8, head=head, input_norm="relative",
                                    light="canonical", norm="none"))
    rng = np.random.default_rng(7)
    model.set_weights([w + rng.normal(0, 0.05, w.shape).astype("float32") for w in model.get_weights()])
    wide = widen(model, 6)
    cfg = config_of(wide)
    assert (cfg.base_filters, cfg.max_filters, cfg.depth, cfg.head, cfg.light) == (6, 12, 2, head, "canonical")
    widths = [wide.get_layer(n).filters for n in ("down0_conv0", "down1_conv0", "bottom_conv0", "up1_proj")]
    assert widths == [6, 12, 12, 12]
    x = _photo(32)
    np.testing.assert_allclose(wide.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    # The old channels keep their weights, the skip half of a decoder's first conv included.
    old_k, new_k = model.get_layer("dec0_conv0").get_weights()[0], wide.get_layer("dec0_conv0").get_weights()[0]
    np.testing.assert_array_equal(new_k[:, :, :4, :4], old_k[:, :, :4, :4])  # from the up-projection
    np.testing.assert_array_equal(new_k[:, :, 6:10, :4], old_k[:, :, 4:, :4])  # from the skip
    assert not new_k[:, :, 4:6, :4].any() and not new_k[:, :, 10:, :4].any()  # new channels reach nothing yet
    assert new_k[:, :, :, 4:].any()  # the new channels compute something from the start


def test_the_new_channels_start_silent_and_learn():
    model = _plain_model(depth=2)
    wide = widen(model, 8)
    x = _photo(32)
    from_new = lambda: wide.get_layer("dec0_conv1").get_weights()[0][:, :, 4:, :4]  # noqa: E731
    assert not from_new().any()
    _one_step(wide, x)
    assert np.abs(from_new()).max() > 1e-4
    assert np.abs(wide.predict(x, verbose=0) - model.predict(x, verbose=0)).max() > 1e-4


def test_a_widening_to_fractional_channels_is_refused():
    odd = build_model(ModelConfig(base_filters=4, depth=2, max_filters=10, norm="none"))
    with pytest.raises(GrowError, match="whole number"):
        widen(odd, 5)  # the widest level would need 12.5 channels
    # A cap no level reaches does not stop a widening: 6, 12, 24 become 8, 16, 32.
    uncapped = build_model(ModelConfig(base_filters=6, depth=2, norm="none"))
    assert [widen(uncapped, 8).get_layer(n).filters for n in ("down0_conv0", "down1_conv0", "bottom_conv0")] == [8, 16, 32]


def test_relight_keeps_the_weights_and_changes_what_inference_is_told(tmp_path):
    """A one-side-light model declared "any": the network computes the same, and the saved file
    says "any", so inference treats it as a model for any light; and back again."""
    from normalgen.model_loading import ModelError, check_light_side

    model = _plain_model(depth=2)
    anyway = relight(model, "any")
    assert config_of(anyway).light == "any" and config_of(model).light == "canonical"
    x = _photo(64)
    np.testing.assert_array_equal(anyway.predict(x, verbose=0), model.predict(x, verbose=0))
    anyway.save(tmp_path / "any.keras")
    loaded = keras.saving.load_model(tmp_path / "any.keras", compile=False)
    loaded.__dict__.pop("normalgen_config", None)  # read it from the file's layers, as inference does
    assert config_of(loaded).light == "any"
    check_light_side(model, "top")
    with pytest.raises(ModelError, match="any side"):
        check_light_side(loaded, "top")
    assert config_of(relight(anyway, "canonical")).light == "canonical"
    with pytest.raises(GrowError, match="light must be"):
        relight(model, "left")
