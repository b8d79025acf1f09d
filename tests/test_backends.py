"""The model and inference code use keras.ops only: the same .keras file runs under PyTorch and JAX
(the accelerator machines have those, not TensorFlow) and gives the same normals."""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

SCRIPT = """
import sys, numpy as np
from normalgen.inference import generate_normal_map
from normalgen.model_loading import load_model
import keras
photo = np.load(sys.argv[2])
out = generate_normal_map(photo, model=load_model(sys.argv[1]), tile_size=64)
np.save(sys.argv[3], out)
print(keras.backend.backend())
"""


def _run(backend, model_path, photo_path, out_path):
    env = {**os.environ, "KERAS_BACKEND": backend, "NORMALGEN_PRECISION": "float32", "TF_CPP_MIN_LOG_LEVEL": "3"}
    res = subprocess.run([sys.executable, "-c", SCRIPT, str(model_path), str(photo_path), str(out_path)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1] == backend
    return np.load(out_path)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_same_normals_under_another_backend(backend, tiny_model_path, tmp_path):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed in this environment")
    photo = np.random.default_rng(0).random((96, 80, 3)).astype(np.float32)
    np.save(tmp_path / "photo.npy", photo)
    ref = _run("tensorflow", tiny_model_path, tmp_path / "photo.npy", tmp_path / "tf.npy")
    other = _run(backend, tiny_model_path, tmp_path / "photo.npy", tmp_path / f"{backend}.npy")
    angle = np.degrees(np.arccos(np.clip((ref * other).sum(-1), -1, 1)))
    assert angle.max() < 0.1
