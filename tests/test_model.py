"""The U-Net itself: output form, the global-context block, and what a saved file remembers."""

import numpy as np
import pytest

from normalgen.model import ModelConfig, build_model, config_of, flops_per_pixel


@pytest.fixture(scope="module")
def photo():
    return np.random.default_rng(0).standard_normal((2, 32, 48, 3)).astype("float32")


def test_output_is_unit_and_faces_the_viewer(photo):
    model = build_model(ModelConfig(base_filters=4, depth=3, global_context=True))
    n = np.asarray(model(photo, training=False))
    assert n.shape == (2, 32, 48, 3)
    assert np.allclose(np.linalg.norm(n, axis=-1), 1.0, atol=1e-5)
    assert n[..., 2].min() > 0


def test_height_head_gives_the_normals_of_its_height():
    # The head's finite differences are normals_from_height's (OpenGL, +Y toward row 0).
    from normalgen.model import HeightNormalHead
    from normalgen.vectors import normals_from_height

    yy, xx = np.mgrid[0:24, 0:32].astype("float32")
    h = 3.0 * np.sin(xx / 4.0) + 0.1 * (yy - 12) ** 2  # rises toward the bottom rows
    n = np.asarray(HeightNormalHead()(h[None, :, :, None]))[0]
    expected = normals_from_height(h, wrap=False)
    assert np.allclose(n[1:-1, 1:-1], expected[1:-1, 1:-1], atol=1e-5)
    assert n[20, 16, 1] > 0.5  # heights grow toward the bottom rows, so the surface faces up (+Y)
    assert np.allclose(np.linalg.norm(n, axis=-1), 1.0, atol=1e-5)


def test_zero_slope_head_gives_a_flat_map(photo):
    model = build_model(ModelConfig(base_filters=4, depth=3))
    head = model.get_layer("slope")
    head.kernel.assign(np.zeros(head.kernel.shape, "float32"))
    head.bias.assign(np.zeros(head.bias.shape, "float32"))
    assert np.allclose(np.asarray(model(photo)), [0.0, 0.0, 1.0], atol=1e-6)


def test_global_context_starts_as_the_identity(photo):
    # With zero-initialised gains the context model computes exactly what the plain one does.
    cfg = dict(base_filters=4, depth=3)
    plain = build_model(ModelConfig(**cfg))
    ctx = build_model(ModelConfig(**cfg, global_context=True))
    for layer in plain.layers:
        if layer.weights:
            ctx.get_layer(layer.name).set_weights(layer.get_weights())
    assert np.allclose(np.asarray(plain(photo)), np.asarray(ctx(photo)), atol=1e-6)


def test_global_context_sees_the_whole_input(photo):
    # Change only the right half of the photo: with context, the left edge's output changes too
    # (it is further from the change than the plain net's receptive field at depth 1).
    cfg = ModelConfig(base_filters=4, depth=1, convs_per_level=1, global_context=True)
    model = build_model(cfg)
    for layer in model.layers:
        if layer.name.endswith("_gain"):
            layer.kernel.assign(np.random.default_rng(1).normal(0, 0.5, layer.kernel.shape).astype("float32"))
    other = photo.copy()
    other[:, :, 24:] += 3.0
    a, b = np.asarray(model(photo)), np.asarray(model(other))
    assert np.abs(a[:, :, :4] - b[:, :, :4]).max() > 1e-4


@pytest.mark.parametrize("context,head,norm,layer_norm,light", [
    (False, "slope", "std", "batch", "any"), (True, "slope", "std", "batch", "any"),
    (True, "height", "relative", "batch", "any"), (False, "slope", "relative", "none", "canonical")])
def test_a_saved_model_remembers_its_config(tmp_path, context, head, norm, layer_norm, light):
    import keras

    cfg = ModelConfig(base_filters=4, depth=2, convs_per_level=1, global_context=context, head=head,
                      input_norm=norm, norm=layer_norm, light=light)
    path = tmp_path / "m.keras"
    build_model(cfg).save(path)
    loaded = keras.saving.load_model(path, compile=False)
    recovered = config_of(loaded)
    assert recovered.global_context == context and recovered.head == head and recovered.input_norm == norm
    assert recovered.depth == 2 and recovered.base_filters == 4
    assert recovered.norm == layer_norm and recovered.light == light
    # Rebuilt from the recovered config (as the bf16 twin is), it takes the file's weights.
    assert [w.shape for w in build_model(recovered).weights] == [w.shape for w in loaded.weights]


def test_without_batch_norm_training_and_inference_agree():
    """norm="none": the network computes the same function in training and inference mode, on
    one photo or a batch, so what validation measures is what users get. (With batch norm, a
    photo whose contrast differs from the batch average is normalised differently at inference.)"""
    import keras

    keras.utils.set_random_seed(3)
    model = build_model(ModelConfig(base_filters=4, depth=2, norm="none", input_norm="relative"))
    rng = np.random.default_rng(0)
    batch = np.concatenate([rng.normal(0, 0.1, (1, 32, 32, 3)), rng.normal(0, 2.0, (1, 32, 32, 3))]).astype("float32")
    infer = np.asarray(model(batch, training=False))
    np.testing.assert_allclose(np.asarray(model(batch, training=True)), infer, atol=1e-5)
    np.testing.assert_allclose(np.asarray(model(batch[1:], training=False)), infer[1:], atol=1e-5)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
    batch_normed = build_model(ModelConfig(base_filters=4, depth=2, norm="batch", input_norm="relative"))
    assert not np.allclose(np.asarray(batch_normed(batch[1:], training=True)),
                           np.asarray(batch_normed(batch, training=True))[1:], atol=1e-3)


def test_flops_per_pixel_counts_every_level():
    # depth 1, one conv per level, base 4: down0 3->4 and dec0 (4+4)->4 at full resolution, the
    # bottom 4->8 at 1/4 of the pixels, up0_proj 8->4 at full resolution, head 4->2 (1x1).
    model = build_model(ModelConfig(base_filters=4, depth=1, convs_per_level=1))
    expected = 2 * 9 * (3 * 4 + 8 * 4 + 8 * 4) + 2 * 9 * 4 * 8 / 4 + 2 * 4 * 2
    assert flops_per_pixel(model) == pytest.approx(expected)
