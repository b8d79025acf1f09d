"""generate_normal_map / generate_height_map / load_model with the tiny fixture models."""

import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import ndimage

from normalgen import generate_height_map, generate_normal_map, load_model
from normalgen.errors import ImageError, ModelError, NormalgenError
from normalgen.model import config_of
from normalgen.model_loading import inference_model, resolve_precision
from normalgen.preprocess import normalize_photo
from normalgen.vectors import angular_error_deg, normals_from_height


def smooth_photo(shape, seed=0, sigma=2.0):
    rng = np.random.default_rng(seed)
    img = ndimage.gaussian_filter(rng.random((*shape, 3)), (sigma, sigma, 0))
    return ((img - img.min()) / (img.max() - img.min())).astype(np.float32)


def neighbour_angles(n, axis):
    """Angles between each pixel and its next neighbour along `axis`, wrapping at the end."""
    return angular_error_deg(n, np.roll(n, -1, axis=axis))


@pytest.fixture(scope="module")
def local_model():
    """A depth-1 U-Net: its reach (~10 px) fits inside a tile's dropped margin."""
    import keras

    from normalgen.model import ModelConfig, build_model

    keras.utils.set_random_seed(7)
    model = build_model(ModelConfig(base_filters=4, depth=1))
    head = model.get_layer("slope")
    head.kernel.assign(head.kernel * 1.5)
    return model


@pytest.fixture
def float32_only(monkeypatch):
    monkeypatch.setenv("NORMALGEN_PRECISION", "float32")


def test_no_seams_tiled_matches_one_pass(local_model):
    photo = smooth_photo((136, 200))
    one_pass = generate_normal_map(photo, model=local_model, tile_size=256)
    tiled = generate_normal_map(photo, model=local_model, tile_size=64)
    assert np.degrees(np.arccos(one_pass[..., 2])).mean() > 5  # not a trivially flat output
    assert angular_error_deg(tiled, one_pass).max() <= 1.0


def test_seamless_output_tiles(tiny_model):
    y, x = np.mgrid[:96, :128]
    g = 0.5 + 0.2 * np.sin(2 * np.pi * 3 * x / 128) * np.cos(2 * np.pi * 2 * y / 96)
    photo = np.stack([g, np.roll(g, 9, axis=1), np.roll(g, 5, axis=0)], axis=-1)
    n = generate_normal_map(photo.astype(np.float32), model=tiny_model, seamless=True)
    for axis in (0, 1):
        angles = neighbour_angles(n, axis)
        border = angles[-1, :] if axis == 0 else angles[:, -1]
        interior = angles[:-1, :] if axis == 0 else angles[:, :-1]
        assert border.max() <= np.percentile(interior, 99), axis


def test_strength_and_conventions(tiny_model, float32_only):
    photo = smooth_photo((64, 64))
    one = generate_normal_map(photo, model=tiny_model)
    # Strength 1 is the network's own output (on the mirrored, stride-padded canvas).
    norm = config_of(tiny_model).input_norm  # the model file says which input it expects
    canvas = np.pad(normalize_photo(photo, method=norm), ((32, 32), (32, 32), (0, 0)), mode="reflect")
    raw = np.asarray(tiny_model.predict_on_batch(canvas[None]))[0, 32:-32, 32:-32]
    np.testing.assert_allclose(one, raw, atol=1e-5)
    flat = generate_normal_map(photo, model=tiny_model, strength=0.0)
    np.testing.assert_array_equal(flat, np.broadcast_to([0, 0, 1], flat.shape))
    two = generate_normal_map(photo, model=tiny_model, strength=2.0)
    np.testing.assert_allclose(two[..., :2] / two[..., 2:], 2 * one[..., :2] / one[..., 2:], rtol=1e-3, atol=1e-5)
    dx = generate_normal_map(photo, model=tiny_model, convention="DirectX")
    np.testing.assert_allclose(dx, one * [1, -1, 1], atol=1e-6)


@pytest.mark.parametrize("method", ["model", "sobel"])
def test_invert_turns_the_height_map_upside_down(tiny_model, float32_only, method):
    photo = smooth_photo((64, 64))
    model = tiny_model if method == "model" else None
    for convention in ("opengl", "directx"):
        plain = generate_normal_map(photo, model=model, method=method, strength=1.5, convention=convention)
        inverted = generate_normal_map(photo, model=model, method=method, strength=1.5, convention=convention,
                                       invert=True)
        np.testing.assert_allclose(inverted, plain * [-1, -1, 1], atol=1e-6)  # the slopes, after strength
        high = generate_height_map(plain, convention=convention)
        low = generate_height_map(inverted, convention=convention)
        assert high.std() > 0.05
        np.testing.assert_allclose(low, 1.0 - high, atol=1e-4)  # what was high is low


def test_input_types_agree(tiny_model, float32_only):
    photo8 = (smooth_photo((40, 50)) * 255).round().astype(np.uint8)
    a = generate_normal_map(photo8, model=tiny_model)
    b = generate_normal_map(photo8.astype(np.float32) / 255, model=tiny_model)
    c = generate_normal_map(photo8.astype(np.uint16) * 257, model=tiny_model)
    rgba = np.concatenate([photo8, np.full((40, 50, 1), 255, np.uint8)], axis=-1)
    d = generate_normal_map(rgba, model=tiny_model)
    for other in (b, c, d):
        assert angular_error_deg(a, other).max() < 0.1
    grey = generate_normal_map(photo8[..., 0], model=tiny_model)
    assert grey.shape == (40, 50, 3)


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (1, 300), (300, 1)])
@pytest.mark.parametrize("seamless", [False, True])
def test_any_size(tiny_model, shape, seamless):
    photo = smooth_photo(shape, sigma=0.0)
    n = generate_normal_map(photo, model=tiny_model, seamless=seamless)
    assert n.shape == (*shape, 3) and n.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(n, axis=-1), 1.0, atol=1e-5)


def test_progress_is_reported(tiny_model):
    calls = []
    generate_normal_map(smooth_photo((100, 90)), model=tiny_model, tile_size=64, progress=lambda d, t: calls.append((d, t)))
    assert calls and calls[-1][0] == calls[-1][1] > 1
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_user_errors_are_one_sentence(tiny_model):
    photo = smooth_photo((20, 20))
    for kwargs in ({"convention": "vulkan"}, {"method": "magic"}, {"strength": -1}, {"tile_size": 40}, {"detail": 2}):
        with pytest.raises(NormalgenError) as err:
            generate_normal_map(photo, model=tiny_model, **kwargs)
        assert "\n" not in str(err.value)
    with pytest.raises(ImageError):
        generate_normal_map(np.zeros((4, 4, 2)), model=tiny_model)
    with pytest.raises(ImageError):
        generate_normal_map(np.zeros((0, 4, 3)), model=tiny_model)


def test_load_model_errors_and_cache(tiny_model_path, tmp_path):
    missing = tmp_path / "nope.keras"
    with pytest.raises(ModelError, match="model file not found: .*nope.keras"):
        load_model(missing)
    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"this is not a zip file")
    with pytest.raises(ModelError, match="not a valid normalgen .keras file"):
        load_model(junk)
    first = load_model(tiny_model_path)
    assert load_model(str(tiny_model_path)) is first
    stat = os.stat(tiny_model_path)
    os.utime(tiny_model_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert load_model(tiny_model_path) is not first  # a rewritten file is reloaded
    n = generate_normal_map(smooth_photo((32, 32)), model=tiny_model_path)
    assert n.shape == (32, 32, 3)


def test_bf16_twin_is_close_to_float32(tiny_model, monkeypatch):
    monkeypatch.setenv("NORMALGEN_PRECISION", "float32")
    assert resolve_precision() == "float32" and inference_model(tiny_model) is tiny_model
    twin = inference_model(tiny_model, "bfloat16")
    assert twin.dtype_policy.name == "mixed_bfloat16" and inference_model(tiny_model, "bfloat16") is twin
    x = normalize_photo(smooth_photo((64, 64)))[None]
    err = angular_error_deg(np.asarray(twin.predict_on_batch(x)), np.asarray(tiny_model.predict_on_batch(x)))
    assert 0 < err.mean() < 1.0
    with pytest.raises(ModelError, match="unknown precision 'float8'; use one of"):
        resolve_precision("float8")
    monkeypatch.setenv("NORMALGEN_PRECISION", "fp16")
    with pytest.raises(ModelError, match=r"'fp16' in \$NORMALGEN_PRECISION"):
        resolve_precision()


def test_height_map_reads_the_named_convention():
    y, x = np.mgrid[:40, :50]
    h = np.exp(-((x - 25.0) ** 2 + (y - 20.0) ** 2) / 60.0)
    gl = normals_from_height(h, scale=4.0, wrap=False)
    a = generate_height_map(gl)
    b = generate_height_map(gl * [1, -1, 1], convention="directx")
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert a.shape == (40, 50) and a[20, 25] > 0.9 and a[0, 0] < 0.2  # the hill comes out high


def test_import_normalgen_does_not_load_keras():
    code = "import sys, normalgen; normalgen.encode_rgb; assert 'keras' not in sys.modules, 'keras'"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("norm", ["std", "relative"])
def test_the_model_file_chooses_the_input_normalisation(norm, float32_only):
    import keras

    from normalgen.model import ModelConfig, build_model

    keras.utils.set_random_seed(3)
    model = build_model(ModelConfig(base_filters=4, depth=1, input_norm=norm))
    photo = smooth_photo((32, 32))
    one = generate_normal_map(photo, model=model)

    def raw(method):
        canvas = np.pad(normalize_photo(photo, method=method), ((16, 16), (16, 16), (0, 0)), mode="reflect")
        return np.asarray(model.predict_on_batch(canvas[None]))[0, 16:-16, 16:-16]

    other = "std" if norm == "relative" else "relative"
    np.testing.assert_allclose(one, raw(norm), atol=1e-5)
    assert np.abs(one - raw(other)).max() > 1e-3
