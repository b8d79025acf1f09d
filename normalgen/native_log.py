"""Keep the backend's native start-up chatter off the user's terminal.

TensorFlow's C++ runtime writes a few lines straight to file descriptor 2 while it loads and
finds its devices, before its own log level applies: on a machine without a GPU, "Could not find
cuda drivers on your machine" and "E0000 ... failed call to cuInit: ... CUDA error", which read
like failures but are not. `TF_CPP_MIN_LOG_LEVEL` cannot silence them, so the CLI loads Keras
inside `native_stderr_filtered()`: what native code writes to stderr meanwhile is held back and
then written out without those lines. Anything else (a Python warning, a fatal "F" line, a
message of our own) still reaches stderr, in order. NORMALGEN_DEBUG=1 turns the filter off.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile

# absl's log prefix (I/W/E + MMDD + time + thread + file:line]) and the lines TensorFlow prints
# about its CPU build; "F" (fatal) lines are kept.
_NOISE = re.compile(
    r"^[IWE]\d{4} [\d:.]+\s+\d+ [\w./-]+:\d+\] "
    r"|^WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|^To enable the following instructions: .*rebuild TensorFlow"
    r"|^This TensorFlow binary is optimized to use available CPU instructions"
)


def is_native_noise(line: str) -> bool:
    return bool(_NOISE.match(line))


@contextlib.contextmanager
def native_stderr_filtered():
    """Hold back what is written to fd 2 inside the block; afterwards write it without the noise."""
    if os.environ.get("NORMALGEN_DEBUG", "").strip() not in ("", "0"):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real fd 2 (an embedding host): leave it alone
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()
            finally:
                os.dup2(saved, 2)
                os.close(saved)
            held.seek(0)
            kept = [line for line in held.read().decode("utf-8", errors="replace").splitlines(keepends=True)
                    if not is_native_noise(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def load_backend_quietly(start_devices: bool = True) -> None:
    """Import Keras, and unless told not to start its backend's devices, with the native chatter
    filtered out. Training passes start_devices=False: a multi-worker TensorFlow strategy must be
    made before the first op."""
    with native_stderr_filtered():
        import keras

        if start_devices:
            keras.ops.convert_to_numpy(keras.ops.zeros((1,)))  # the first op finds the devices
