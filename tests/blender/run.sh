#!/usr/bin/env bash
# Run the Blender add-on tests inside a real Blender: bpy 5.0.1 from PyPI (Blender as a Python module).
#
# bpy pins numpy 1.26 while the engine needs numpy>=2, so bpy lives in its own venv, .venv-blender/
# (gitignored), made on first use. The tests run the engine venv's real `normalgen` CLI as the add-on's
# engine: NORMALGEN_ENGINE (default: .venv/bin/normalgen).
#
#   bash tests/blender/run.sh [pytest args...]
#
# Environment: BPY_VENV (default .venv-blender), PYTHON311 (default python3.11), NORMALGEN_ENGINE,
# NORMALGEN_TEST_MODEL (optional .keras passed as --model when a test uses the model method).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BPY_VENV="${BPY_VENV:-$ROOT/.venv-blender}"
PYTHON311="${PYTHON311:-python3.11}"
BPY_SPEC="bpy==5.0.1"
export NORMALGEN_ENGINE="${NORMALGEN_ENGINE:-$ROOT/.venv/bin/normalgen}"

if [ ! -x "$NORMALGEN_ENGINE" ]; then
    echo "tests/blender/run.sh: no engine at $NORMALGEN_ENGINE (make the engine venv first, or set NORMALGEN_ENGINE)" >&2
    exit 2
fi

t0=$(date +%s)
if ! "$BPY_VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('bpy') != '5.0.1')" 2>/dev/null \
    || ! "$BPY_VENV/bin/python" -c "import pytest" 2>/dev/null; then
    if ! command -v "$PYTHON311" >/dev/null; then
        echo "tests/blender/run.sh: bpy 5.0.1 needs Python 3.11 ($PYTHON311 not found)" >&2
        exit 2
    fi
    echo "tests/blender/run.sh: installing $BPY_SPEC into $BPY_VENV"
    rm -rf "$BPY_VENV"
    "$PYTHON311" -m venv "$BPY_VENV"
    "$BPY_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$BPY_SPEC" "pytest>=8"
fi
t1=$(date +%s)
echo "tests/blender/run.sh: bpy venv ready in $((t1 - t0)) s; engine: $NORMALGEN_ENGINE"

# A tiny randomly initialised model (the real architecture, 4 base filters) so the "model" method is
# tested end to end in seconds, whatever the state of the shipped weights.
if [ -z "${NORMALGEN_TEST_MODEL:-}" ]; then
    ENGINE_PY="$(dirname "$NORMALGEN_ENGINE")/python"
    TINY_DIR="$(mktemp -d)"
    trap 'rm -rf "$TINY_DIR"' EXIT
    TINY="$TINY_DIR/tiny.keras"
    if "$ENGINE_PY" -c "import sys, keras; from normalgen.model import ModelConfig, build_model
keras.utils.set_random_seed(1); build_model(ModelConfig(base_filters=4, depth=4)).save(sys.argv[1])" "$TINY" >/dev/null 2>&1; then
        export NORMALGEN_TEST_MODEL="$TINY"
    else
        echo "tests/blender/run.sh: could not build a tiny model with $ENGINE_PY; the model-method test is skipped" >&2
    fi
fi

# --confcutdir keeps the engine's tests/conftest.py (numpy 2, TensorFlow fixtures) out of this run.
set +e
"$BPY_VENV/bin/python" -m pytest -p no:cacheprovider --confcutdir=tests/blender tests/blender "$@"
rc=$?
set -e
echo "tests/blender/run.sh: tests took $(( $(date +%s) - t1 )) s (exit $rc)"
exit $rc
