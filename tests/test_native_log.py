"""The CLI holds back the backend's native start-up chatter and lets everything else through."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from normalgen.native_log import is_native_noise, native_stderr_filtered

REPO = Path(__file__).resolve().parents[1]
CUDA_STUB = "I0000 00:00:1796402226.259874   13647 cudart_stub.cc:31] Could not find cuda drivers on your machine.\n"
CU_INIT = ("E0000 00:00:1796402230.525428   13647 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: "
           "Failed call to cuInit: UNKNOWN ERROR (303)\n")
ABSL = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"


def test_noise_is_recognised_and_real_messages_are_not():
    for line in (CUDA_STUB, CU_INIT, ABSL,
                 "I1204 16:02:44.123456  77 port.cc:153] oneDNN custom operations are on. You may see ...",
                 "E0000 00:00:1.5  9 cuda_fft.cc:467] Unable to register cuFFT factory: Attempting to register",
                 # what training printed at its first step on this CPU
                 "E0000 00:00:1796492878.122302   30924 util.cc:131] oneDNN supports DT_INT32 only on platforms "
                 "with AVX-512. Falling back to the default Eigen-based implementation if present."):
        assert is_native_noise(line), line
    for line in ("F0000 00:00:1.0   1 cpu_feature_guard.cc:3] The TensorFlow library was compiled to use AVX",
                 # a real driver problem on a machine with a GPU: the user needs to see it
                 "E0000 00:00:1.0   1 cuda_platform.cc:52] failed call to cuInit: CUDA_ERROR_SYSTEM_DRIVER_MISMATCH",
                 "W0000 00:00:1.0   1 gpu_device.cc:2 ] Cannot dlopen some GPU libraries.",
                 "error: wall.png is not an image.", "UserWarning: something Python says",
                 "converted 3, skipped 0, failed 0", ""):
        assert not is_native_noise(line), line


def test_native_writes_are_filtered_and_the_rest_kept_in_order(capfd, monkeypatch):
    monkeypatch.delenv("NORMALGEN_DEBUG", raising=False)
    with native_stderr_filtered():
        os.write(2, ABSL.encode() + CUDA_STUB.encode())
        os.write(2, b"first real line\n")
        os.write(2, CU_INIT.encode() + b"second real line\n")
    os.write(2, b"after the block\n")
    assert capfd.readouterr().err == "first real line\nsecond real line\nafter the block\n"


def test_the_held_output_comes_out_when_the_block_raises(capfd, monkeypatch):
    monkeypatch.delenv("NORMALGEN_DEBUG", raising=False)
    try:
        with native_stderr_filtered():
            os.write(2, CUDA_STUB.encode() + b"why it failed\n")
            raise ImportError("no backend")
    except ImportError:
        pass
    assert capfd.readouterr().err == "why it failed\n"


def test_debug_turns_the_filter_off(capfd, monkeypatch):
    monkeypatch.setenv("NORMALGEN_DEBUG", "1")
    with native_stderr_filtered():
        os.write(2, CUDA_STUB.encode())
    assert capfd.readouterr().err == CUDA_STUB


def test_cli_stderr_has_no_backend_chatter(tmp_path):
    """Run as an artist would (no TF_CPP_MIN_LOG_LEVEL set): the model loads, the file converts,
    and stderr is only normalgen's own lines."""
    import cv2
    import numpy as np

    img = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "wall.png"), img)
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "NORMALGEN_DEBUG")}
    env["PYTHONPATH"] = str(REPO)
    code = "import sys; from normalgen.cli import main; main(sys.argv[1:])"
    r = subprocess.run([sys.executable, "-c", code, "convert", str(tmp_path / "wall.png")], capture_output=True,
                       text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "wall_normal.png").is_file()
    assert r.stderr.splitlines() == ["converting", "converted 1, skipped 0, failed 0"], r.stderr


def test_what_was_written_survives_an_abort_inside_the_block(tmp_path):
    """A runtime that logs a fatal line and aborts while loading: the line still reaches stderr."""
    code = ("import os\nfrom normalgen.native_log import native_stderr_filtered\n"
            "with native_stderr_filtered():\n"
            f"    os.write(2, {CUDA_STUB.encode()!r})\n"
            "    os.write(2, b'F0000 00:00:1.0   1 guard.cc:3] The library was compiled to use AVX\\n')\n"
            "    os.abort()\n")
    env = {k: v for k, v in os.environ.items() if k != "NORMALGEN_DEBUG"}
    env["PYTHONPATH"] = str(REPO)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode != 0
    assert r.stderr == "F0000 00:00:1.0   1 guard.cc:3] The library was compiled to use AVX\n"
