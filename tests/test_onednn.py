"""normalgen turns on TensorFlow's oneDNN CPU kernels on x86-64 unless the user says otherwise."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
X86 = platform.machine().lower() in ("x86_64", "amd64")

PROBE = (
    "import os, sys; import {module}; import keras; "
    "from normalgen.onednn import onednn_enabled; "
    "print(os.environ.get('TF_ENABLE_ONEDNN_OPTS'), onednn_enabled())"
)


def fresh_env(setting: str | None = None) -> dict[str, str]:
    """This environment for a fresh TensorFlow process, with TF_ENABLE_ONEDNN_OPTS unset or `setting`."""
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    env.update(PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    if setting is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = setting
    return env


def probe(module: str, setting: str | None) -> list[str]:
    r = subprocess.run([sys.executable, "-c", PROBE.format(module=module)], capture_output=True, text=True,
                       env=fresh_env(setting), timeout=120, cwd=REPO)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


@pytest.mark.skipif(not X86, reason="normalgen only prefers oneDNN on x86-64")
@pytest.mark.parametrize("module", ["normalgen", "normalgen_training.dataset"])
def test_importing_normalgen_first_turns_onednn_on(module):
    if module.startswith("normalgen_training"):
        pytest.importorskip("normalgen_training")
    setting, enabled = probe(module, None)
    assert setting == "1"
    if enabled == "None":
        pytest.skip("this TensorFlow has no oneDNN probe")
    assert enabled == "True"


def test_the_users_setting_wins():
    setting, enabled = probe("normalgen", "0")
    assert setting == "0" and enabled in ("False", "None")


@pytest.mark.skipif(not X86, reason="normalgen only prefers oneDNN on x86-64")
def test_info_reports_onednn():
    code = "import sys; from normalgen.cli import main; main(sys.argv[1:])"
    r = subprocess.run([sys.executable, "-c", code, "info", "--json"], capture_output=True, text=True,
                       env=fresh_env(), timeout=120, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["onednn"] in (True, None)
