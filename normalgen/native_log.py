"""Keep the backend's native start-up chatter off the user's terminal.

TensorFlow's C++ runtime writes a few lines straight to file descriptor 2 while it loads and
finds its devices, before its own log level applies: on a machine without a GPU, "Could not find
cuda drivers on your machine" and "E0000 ... failed call to cuInit: ... UNKNOWN ERROR (303)",
which read like failures but are not. `TF_CPP_MIN_LOG_LEVEL` cannot silence them, so the CLI
loads Keras inside `native_stderr_filtered()`: meanwhile fd 2 is a pipe to a small filter process
that passes every line on to the real stderr, as it comes, except the known harmless ones listed
in `_NOISE`. Anything else (a fatal "F" line, a real driver error, a Python warning, a message
of our own) still reaches stderr in order, even if the runtime aborts the process. NORMALGEN_DEBUG=1
turns the filter off.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys

from normalgen.errors import NormalgenError, one_clause

# Known harmless lines, by what they say: an absl-formatted I/W/E line (I0000 00:00:... file.cc:N])
# with one of these messages, or one of TensorFlow's notices about its CPU build. Fatal "F" lines
# and any other message pass.
_NOISE = re.compile(
    r"^[IWE]\d{4} [\d:.]+\s+\d+ [\w./-]+:\d+\] (?:"
    r"Could not find cuda drivers on your machine"
    r"|failed call to cuInit: .*(?:UNKNOWN ERROR \(303\)|CUDA_ERROR_NO_DEVICE)"
    r"|Unable to register cu(?:DNN|FFT|BLAS) factory"
    r"|computation placer already registered"
    r"|oneDNN custom operations are on"
    r"|This TensorFlow binary is optimized to use available CPU instructions"
    r"|TF-TRT Warning: Could not find TensorRT"
    r"|oneDNN supports DT_INT32 only on platforms with AVX-512)"
    r"|^WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|^To enable the following instructions: .*rebuild TensorFlow"
)

# The filter process: copies stdin to stdout line by line, dropping noise. It ignores Ctrl-C (the
# CLI handles it) and ends at EOF, which also comes when the CLI dies, so nothing it read is lost.
_FILTER = (
    "import re, signal, sys\n"
    "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
    "noise = re.compile(sys.argv[1])\n"
    "for line in sys.stdin.buffer:\n"
    "    if not noise.match(line.decode('utf-8', 'replace')):\n"
    "        sys.stdout.buffer.write(line)\n"
    "        sys.stdout.buffer.flush()\n"
)


def is_native_noise(line: str) -> bool:
    return bool(_NOISE.match(line))


@contextlib.contextmanager
def native_stderr_filtered():
    """Inside the block, what is written to fd 2 reaches stderr without the known noise."""
    if os.environ.get("NORMALGEN_DEBUG", "").strip() not in ("", "0"):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real fd 2 (an embedding host): leave it alone
        yield
        return
    try:
        child = subprocess.Popen([sys.executable, "-c", _FILTER, _NOISE.pattern], stdin=subprocess.PIPE,
                                 stdout=saved, stderr=subprocess.DEVNULL)
    except (OSError, ValueError):  # cannot start the filter: a cosmetic feature must not stop the CLI
        os.close(saved)
        yield
        return
    os.dup2(child.stdin.fileno(), 2)
    try:
        yield
    finally:
        try:
            sys.stderr.flush()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            child.stdin.close()
            child.wait()


def load_backend_quietly(start_devices: bool = True) -> None:
    """Import Keras, and unless told not to start its backend's devices, with the native chatter
    filtered out. Training passes start_devices=False: a multi-worker TensorFlow strategy must be
    made before the first op."""
    with native_stderr_filtered():
        try:
            import keras
        except (ImportError, ValueError) as e:  # ValueError: Keras does not know the backend's name
            backend = os.environ.get("KERAS_BACKEND", "tensorflow")
            raise NormalgenError(
                f"cannot load Keras with the {backend} backend ({one_clause(e)}); install it, or set "
                "KERAS_BACKEND to an installed one (tensorflow, jax or torch)."
            ) from None

        if start_devices:
            keras.ops.convert_to_numpy(keras.ops.zeros((1,)))  # the first op finds the devices
