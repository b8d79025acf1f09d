"""Unit tests of the Blender add-on's engine runner (blender_addon/engine.py): pure Python, no bpy.

engine.py is loaded by file path: importing the ``blender_addon`` package would import bpy.
"""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FAKE = ROOT / "tests" / "blender" / "fake_engine.py"


def _load_engine():
    spec = importlib.util.spec_from_file_location("normalgen_blender_engine", ROOT / "blender_addon" / "engine.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look the module up
    spec.loader.exec_module(mod)
    return mod


engine = _load_engine()


def test_engine_module_imports_nothing_heavy():
    text = (ROOT / "blender_addon" / "engine.py").read_text()
    for name in ("bpy", "numpy", "tensorflow", "keras", "normalgen."):
        assert f"import {name}" not in text and f"from {name}" not in text


# -- arguments -------------------------------------------------------------------------------------


def test_convert_args_follow_the_protocol():
    args = engine.build_convert_args("/e/normalgen", "/p/rock.jpg", "/tmp/out", engine.ConvertOptions())
    assert args == [
        "/e/normalgen", "convert", "/p/rock.jpg", "-o", "/tmp/out", "--suffix", "_normal", "--format", "png",
        "--convention", "opengl", "--strength", "1", "--method", "model",
        "--overwrite", "--progress", "json", "--ignore-orientation",
    ]


def test_convert_args_options():
    opts = engine.ConvertOptions(strength=2.5, invert=True, seamless=True, method="SOBEL", bit_depth=16, height=True,
                                 ignore_alpha=True, model_path="/m/tiny.keras")
    args = engine.build_convert_args("normalgen", "in.png", "out", opts)
    assert args[args.index("--strength") + 1] == "2.5"
    assert args[args.index("--bit-depth") + 1] == "16"
    assert args[args.index("--method") + 1] == "sobel"
    assert "--seamless" in args and "--height" in args and "--invert" in args and "--ignore-alpha" in args
    assert args[args.index("--model") + 1] == "/m/tiny.keras"


def test_convert_args_pass_a_named_light_side_to_the_model_only():
    lit = engine.build_convert_args("normalgen", "in.png", "out", engine.ConvertOptions(light_from="top"))
    assert lit[lit.index("--light-from") + 1] == "top"
    for opts in (engine.ConvertOptions(light_from="auto"), engine.ConvertOptions(light_from="top", method="sobel")):
        assert "--light-from" not in engine.build_convert_args("normalgen", "in.png", "out", opts)


@pytest.mark.parametrize("bad", [dict(method="magic"), dict(bit_depth=12), dict(light_from="north")])
def test_convert_args_reject_bad_options(bad):
    with pytest.raises(ValueError):
        engine.build_convert_args("normalgen", "a.png", "o", engine.ConvertOptions(**bad))


# -- JSON lines ------------------------------------------------------------------------------------


@pytest.mark.parametrize("line,expected", [
    ('{"event":"start","total":1}\n', {"event": "start", "total": 1}),
    (b'{"event": "done", "input": "a", "output": "b", "height": null}', {"event": "done", "input": "a",
                                                                         "output": "b", "height": None}),
    ("", None),
    ("   ", None),
    ("I0000 tensorflow says hello", None),
    ("{not json", None),
    ('["event"]', None),
    ('{"no_event": 1}', None),
    ('{"event": 3}', None),
])
def test_parse_line(line, expected):
    assert engine.parse_line(line) == expected


def test_run_state_folds_a_successful_run():
    st = engine.RunState()
    for ev in [
        {"event": "start", "total": 1},
        {"event": "progress", "input": "a", "index": 0, "total": 1, "fraction": 0.0},
        {"event": "progress", "input": "a", "index": 0, "total": 1, "fraction": 0.6},
        {"event": "progress", "input": "a", "index": 0, "total": 1, "fraction": 0.4},  # never goes back
        {"event": "done", "input": "a", "output": "/o/a_normal.png", "height": "/o/a_height.png"},
        {"event": "summary", "converted": 1, "skipped": 0, "failed": 0},
    ]:
        st.feed(ev)
    st.returncode = 0
    assert st.total == 1 and st.fraction == 1.0
    assert st.outputs == [("a", "/o/a_normal.png", "/o/a_height.png")]
    assert st.failure_message() is None


def test_run_state_failure_messages():
    st = engine.RunState()
    st.feed({"event": "error", "input": "a", "message": "cannot read a.png: not an image"})
    st.returncode = 1
    assert st.failure_message() == "cannot read a.png: not an image"

    st = engine.RunState()
    st.add_stderr("Traceback (most recent call last):")
    st.add_stderr("error: no such option: --frobnicate")
    st.returncode = 2
    assert st.failure_message() == ("the engine is older than this add-on (it does not know --frobnicate): update "
                                    "it (Install engine, or pip install --upgrade normalgen)")

    st = engine.RunState()  # what click says today, to an engine from before --ignore-orientation
    st.add_stderr("Usage: normalgen convert [OPTIONS] INPUTS...")
    st.add_stderr("Error: No such option: --ignore-orientation")
    st.returncode = 2
    assert "it does not know --ignore-orientation" in st.failure_message()

    st = engine.RunState()
    st.add_stderr("error: --strength must be between 0 and 100.")
    st.returncode = 2
    assert st.failure_message() == "the engine failed (exit 2): error: --strength must be between 0 and 100."

    st = engine.RunState()
    st.returncode = -9
    assert "killed" in st.failure_message() and "out of memory" in st.failure_message()

    st = engine.RunState()
    st.returncode = 0
    assert "no normal map" in st.failure_message()


# -- finding the engine ----------------------------------------------------------------------------


def _exe(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.mark.skipif(os.name == "nt", reason="POSIX executables")
def test_find_engine_order(tmp_path, monkeypatch):
    on_path = _exe(tmp_path / "pathbin" / "normalgen")
    private = tmp_path / "venv"
    monkeypatch.setenv("PATH", str(on_path.parent))
    assert engine.find_engine("", str(private)) == str(on_path)
    priv_exe = _exe(private / "bin" / "normalgen")
    assert engine.find_engine("", str(private)) == str(priv_exe)
    configured = _exe(tmp_path / "elsewhere" / "normalgen")
    assert engine.find_engine(str(configured), str(private)) == str(configured)
    # A venv folder is accepted for the configured path.
    assert engine.find_engine(str(private), "") == str(priv_exe)


def test_find_engine_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(engine.EngineError, match="not found: .*nope"):
        engine.find_engine(str(tmp_path / "nope"), "")
    with pytest.raises(engine.EngineError, match="Install engine"):
        engine.find_engine("", str(tmp_path / "novenv"))


def test_engine_env_drops_blenders_python_variables(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/blender/python/lib")
    monkeypatch.setenv("PYTHONHOME", "/blender/python")
    env = engine.engine_env()
    assert "PYTHONPATH" not in env and "PYTHONHOME" not in env
    assert env["PYTHONUNBUFFERED"] == "1"
    assert engine.install_env()["PYTHONNOUSERSITE"] == "1"


def test_info_args():
    assert engine.build_info_args("ng") == ["ng", "info", "--json"]
    assert engine.build_info_args("ng", "/m.keras") == ["ng", "info", "--json", "--model", "/m.keras"]


def test_parse_and_describe_info():
    text = "some warning\n" + json.dumps({"version": "0.1.0", "model_path": "/x/normalgen.keras",
                                          "backend": "tensorflow"}) + "\n"
    info = engine.parse_info(text)
    assert info["version"] == "0.1.0"
    assert engine.describe_info(info) == "normalgen 0.1.0 · model normalgen.keras · tensorflow"
    multi = json.dumps({"version": "1", "model_path": None, "backend": "jax"}, indent=2)
    assert engine.parse_info(multi)["backend"] == "jax"
    with pytest.raises(engine.EngineError, match="no JSON"):
        engine.parse_info("Usage: normalgen [OPTIONS]")


def test_install_commands(tmp_path):
    cmds = engine.install_commands("/blender/python3.11", str(tmp_path / "venv"), str(tmp_path))
    assert cmds[0] == ["/blender/python3.11", "-m", "venv", str(tmp_path / "venv")]
    vpy = engine.venv_executable(str(tmp_path / "venv"), "python")
    assert cmds[-1][:3] == [vpy, "-m", "pip"] and cmds[-1][-1] == str(tmp_path)
    # pip always runs as the venv's interpreter, never as Blender's.
    assert all(c[0] == vpy for c in cmds[1:])
    assert engine.install_commands("py", "v", "normalgen==0.1.0")[-1][-1] == "normalgen==0.1.0"
    with pytest.raises(engine.EngineError):
        engine.install_commands("py", "v", "  ")


# -- running (the fake engine speaks the protocol) -------------------------------------------------


def _fake_args(outdir, inp, **opts):
    return [sys.executable, str(FAKE)] + engine.build_convert_args("x", str(inp), str(outdir),
                                                                   engine.ConvertOptions(**opts))[1:]


def _photo(path: Path) -> Path:
    sys.path.insert(0, str(FAKE.parent))
    try:
        from pngutil import write_png
    finally:
        sys.path.pop(0)
    write_png(path, 8, 4, [[(x * 30 + y * 7) % 256 for x in range(8) for _ in range(3)] for y in range(4)])
    return path


def test_engine_run_success_and_cleanup(tmp_path):
    job = tmp_path / "job"
    (job / "out").mkdir(parents=True)
    inp = _photo(tmp_path / "rock.png")
    run = engine.EngineRun(_fake_args(job / "out", inp, height=True), workdir=str(job))
    events = []
    state = run.wait(timeout=60, on_event=events.append)
    assert [e["event"] for e in events][:2] == ["start", "progress"]
    assert events[-1]["event"] == "summary"
    assert state.returncode == 0 and state.failure_message() is None
    _inp, out, height = state.outputs[0]
    assert Path(out).name == "rock_normal.png" and Path(height).name == "rock_height.png"
    run.cleanup()
    assert not job.exists()


@pytest.mark.parametrize("mode,needle", [("error", "too small"), ("crash", "killed"), ("usage", "older than this add-on")])
def test_engine_run_failures(tmp_path, monkeypatch, mode, needle):
    monkeypatch.setenv("NORMALGEN_FAKE_MODE", mode)
    (tmp_path / "out").mkdir()
    run = engine.EngineRun(_fake_args(tmp_path / "out", _photo(tmp_path / "a.png")), workdir=str(tmp_path / "out"))
    state = run.wait(timeout=60)
    assert needle in state.failure_message()


@pytest.mark.skipif(os.name == "nt", reason="process groups")
def test_engine_run_cancel_kills_and_removes_temp(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMALGEN_FAKE_MODE", "slow")
    job = tmp_path / "job"
    (job / "out").mkdir(parents=True)
    run = engine.EngineRun(_fake_args(job / "out", _photo(tmp_path / "a.png")), workdir=str(job))
    deadline = time.monotonic() + 30
    while run.state.fraction <= 0 and time.monotonic() < deadline:  # poll() never blocks
        t0 = time.monotonic()
        run.poll()
        assert time.monotonic() - t0 < 0.5
        time.sleep(0.05)
    assert run.state.total == 1
    t0 = time.monotonic()
    run.cancel()
    assert time.monotonic() - t0 < 5
    assert run.proc.poll() is not None and run.cancelled
    assert not job.exists()


def test_engine_run_missing_executable(tmp_path):
    with pytest.raises(engine.EngineError, match="Could not start"):
        engine.EngineRun([str(tmp_path / "missing"), "convert"])


def test_engine_info_against_fake(tmp_path, monkeypatch):
    wrapper = tmp_path / "normalgen"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    wrapper.chmod(0o755)
    info = engine.engine_info(str(wrapper), timeout=60)
    assert info["version"] == "0.0.0-fake"
    info = engine.engine_info(str(wrapper), timeout=60, model_path="/m/tiny.keras")
    assert engine.describe_info(info) == "normalgen 0.0.0-fake · model tiny.keras · none"
    # A model that cannot be loaded: exit 1, but the JSON still says what and why.
    monkeypatch.setenv("NORMALGEN_FAKE_MODE", "error")
    info = engine.engine_info(str(wrapper), timeout=60, model_path="/m/gone.keras")
    assert engine.describe_info(info).endswith("model gone.keras · none · model error: no such file")
    with pytest.raises(engine.EngineError, match="not found"):
        engine.engine_info(str(tmp_path / "missing"))
