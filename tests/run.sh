#!/usr/bin/env bash
# Install everything the tests need from this checkout and run them all:
#   1. the engine: .venv with normalgen and its test extra, then pytest (library, CLI, training);
#   2. the Blender add-on inside a real Blender (bpy 5.0.1 in its own .venv-blender, see
#      tests/blender/run.sh), driving the engine's real CLI.
# Extra arguments go to the engine's pytest run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
# Optional: a second Keras backend, so tests/test_backends.py checks the model runs there too.
# CI sets NORMALGEN_TEST_TORCH=torch==2.13.0 (a CPU build this machine kind keeps on disk).
if [ -n "${NORMALGEN_TEST_TORCH:-}" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "$NORMALGEN_TEST_TORCH"
fi
.venv/bin/python -m pytest -q "$@"
bash tests/blender/run.sh -q
