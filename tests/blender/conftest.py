"""Blender tests: run by the bpy venv (tests/blender/run.sh), skipped cleanly everywhere else.

In an environment without ``bpy`` (the engine venv, where the main test command runs) nothing in
this folder is collected. Where bpy is importable, Blender's user folders are pointed at a fresh
temporary directory *before* bpy is imported, so the tests never touch a real user's preferences
or extensions.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

HAVE_BPY = importlib.util.find_spec("bpy") is not None

if not HAVE_BPY:
    collect_ignore_glob = ["test_*.py"]
else:
    _USER = tempfile.mkdtemp(prefix="normalgen_bpy_user_")
    os.environ["BLENDER_USER_RESOURCES"] = _USER

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PACKAGE = "bl_ext.user_default.normalgen"


def _default_engine() -> str:
    env = os.environ.get("NORMALGEN_ENGINE")
    if env:
        return env
    for candidate in (ROOT / ".venv" / "bin" / "normalgen", ROOT / ".venv" / "Scripts" / "normalgen.exe"):
        if candidate.exists():
            return str(candidate)
    return shutil.which("normalgen") or ""


@pytest.fixture(scope="session")
def real_engine() -> str:
    exe = _default_engine()
    if not exe or not os.path.exists(exe):
        pytest.fail("NORMALGEN_ENGINE must name the engine venv's normalgen executable")
    return exe


@pytest.fixture(scope="session")
def fake_engine(tmp_path_factory) -> str:
    """An executable that speaks the engine protocol (see fake_engine.py) for failure modes."""
    path = tmp_path_factory.mktemp("fake") / "normalgen"
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{HERE / "fake_engine.py"}" "$@"\n')
    path.chmod(0o755)
    return str(path)


@pytest.fixture(scope="session")
def addon_zip(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, str(ROOT / "blender_addon" / "build.py"), "--output-dir", str(out)],
                          capture_output=True, text=True, check=True)
    return Path(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def addon(addon_zip, real_engine):
    """The built zip installed and enabled like a user would (Install from Disk), engine path set."""
    import bpy

    result = bpy.ops.extensions.package_install_files(
        filepath=str(addon_zip), repo="user_default", enable_on_install=True)
    assert result == {"FINISHED"}
    assert PACKAGE in bpy.context.preferences.addons, list(bpy.context.preferences.addons.keys())
    prefs = bpy.context.preferences.addons[PACKAGE].preferences
    prefs.engine_path = real_engine
    prefs.model_path = os.environ.get("NORMALGEN_TEST_MODEL", "")
    yield prefs
    shutil.rmtree(os.environ.get("BLENDER_USER_RESOURCES", ""), ignore_errors=True)
