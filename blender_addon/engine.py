"""Finding and running the ``normalgen`` CLI out of process.

Pure Python on purpose: no ``bpy``, no numpy, no TensorFlow. The add-on talks to the engine only
through a subprocess and its ``--progress json`` lines, so a crash or an out-of-memory in the engine
cannot take Blender down, and this module can be unit-tested in any Python.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

ENGINE_NAME = "normalgen"
METHODS = ("model", "sobel")
LIGHT_SIDES = ("auto", "right", "top", "left", "bottom")  # normalgen convert --light-from
# The photo files the engine reads. Kept in sync by hand with normalgen.imageio.PHOTO_EXTENSIONS (the
# add-on never imports normalgen; tests/blender/test_addon.py checks the two lists are equal). Blender
# reads more (EXR, HDR, ...): those images are exported from Blender's pixels first (as Targa).
PHOTO_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".tga", ".webp")

# Variables that Blender (or a user's shell for Blender) may set for *its* Python and that would break
# another interpreter's start-up, plus the few that make the engine quiet and line-buffered.
_DROP_ENV = ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "__PYVENV_LAUNCHER__")


class EngineError(Exception):
    """A failure that the add-on reports to the user as one sentence."""


# --------------------------------------------------------------------------------------------------
# Finding the executable


def venv_executable(venv_dir: str, name: str = ENGINE_NAME) -> str:
    """Path of a console script (or the interpreter, name="python") inside a virtual environment."""
    if os.name == "nt":
        return os.path.join(venv_dir, "Scripts", name + ".exe")
    return os.path.join(venv_dir, "bin", name)


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_engine(configured: str = "", private_venv: str = "") -> str:
    """The engine executable to run, or raise EngineError saying where we looked.

    Order: the path set in the preferences (must exist), the add-on's private venv (made by
    "Install engine"), then ``normalgen`` on PATH.
    """
    configured = (configured or "").strip()
    if configured:
        path = os.path.abspath(os.path.expanduser(configured))
        if os.path.isdir(path):  # a venv folder or its bin/ folder is a common thing to pick
            for candidate in (venv_executable(path), os.path.join(path, ENGINE_NAME)):
                if _is_executable(candidate):
                    return candidate
        if _is_executable(path):
            return path
        if os.path.isfile(path):
            raise EngineError(f"The normalgen engine set in the preferences is not executable: {path} "
                              "(pick the normalgen program of its virtual environment, or make it executable)")
        if os.path.isdir(path):
            raise EngineError(f"The folder set as the normalgen engine in the preferences has no normalgen "
                              f"program in it (nor in its bin/ or Scripts/ folder): {path}")
        raise EngineError(f"The normalgen engine set in the preferences was not found: {path}")
    if private_venv:
        candidate = venv_executable(private_venv)
        if _is_executable(candidate):
            return candidate
    found = shutil.which(ENGINE_NAME)
    if found:
        return found
    raise EngineError(
        "No normalgen engine found: set its path in the add-on preferences or press Install engine"
    )


def _script_interpreter(path: str) -> str:
    """The interpreter named on a script's ``#!`` line ("" when there is none)."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline(4096)
    except OSError:
        return ""
    if not first.startswith(b"#!"):
        return ""
    parts = first[2:].decode("utf-8", "replace").split()
    return parts[0] if parts else ""


def start_error(exe: str, exc: OSError) -> EngineError:
    """The reason the engine ``exe`` could not be started, in one sentence."""
    if isinstance(exc, FileNotFoundError) and os.path.isfile(exe):
        interpreter = _script_interpreter(exe)
        if interpreter and not os.path.exists(interpreter):
            # A venv's console script whose Python was moved or deleted.
            return EngineError(f"The normalgen engine {exe} cannot start: its Python {interpreter} is gone "
                               "(make its virtual environment again, or press Install engine)")
    return EngineError(f"Could not start the normalgen engine {exe}: {exc.strerror or exc}")


def engine_env(extra: dict | None = None) -> dict:
    """Environment for the engine process: Blender's Python variables removed, output unbuffered."""
    env = {k: v for k, v in os.environ.items() if k not in _DROP_ENV}
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's banner is not an error
    if extra:
        env.update(extra)
    return env


# --------------------------------------------------------------------------------------------------
# Arguments and protocol


@dataclass
class ConvertOptions:
    strength: float = 1.0
    invert: bool = False
    seamless: bool = False
    method: str = "model"
    light_from: str = "auto"  # auto | right | top | left | bottom
    bit_depth: int = 8
    height: bool = False
    ignore_alpha: bool = False  # the image's alpha is not transparency (Blender's alpha mode None or Channel Packed)
    suffix: str = "_normal"
    model_path: str = ""  # optional; passed as --model only when set


def build_convert_args(exe: str, input_path: str, outdir: str, options: ConvertOptions) -> list[str]:
    """argv for ``normalgen convert`` following the engine protocol (no shell involved)."""
    method = (options.method or "model").lower()
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {options.method!r}")
    if options.light_from not in LIGHT_SIDES:
        raise ValueError(f"light side must be one of {LIGHT_SIDES}, not {options.light_from!r}")
    if options.bit_depth not in (8, 16):
        raise ValueError(f"bit depth must be 8 or 16, not {options.bit_depth!r}")
    args = [
        exe, "convert", input_path,
        "-o", outdir,
        "--suffix", options.suffix,
        "--format", "png",
        "--convention", "opengl",
        "--strength", _fmt_float(options.strength),
        "--method", method,
        "--overwrite",
        "--progress", "json",
        # Blender shows an image's pixels as stored, whatever its EXIF orientation: read them the same
        # way, so that --light-from names a side of the picture the artist sees.
        "--ignore-orientation",
    ]
    if options.bit_depth == 16:  # else the engine's defaults: 8-bit normal maps, 16-bit height maps (no terraces)
        args += ["--bit-depth", "16"]
    if method == "model" and options.light_from != "auto":
        args += ["--light-from", options.light_from]
    if options.invert:  # only when asked: an engine from before --invert still runs everything else
        args.append("--invert")
    if options.ignore_alpha:  # likewise
        args.append("--ignore-alpha")
    if options.seamless:
        args.append("--seamless")
    if options.height:
        args.append("--height")
    if options.model_path:
        args += ["--model", options.model_path]
    return args


def build_info_args(exe: str, model_path: str = "") -> list[str]:
    args = [exe, "info", "--json"]
    if model_path:
        args += ["--model", model_path]
    return args


def _fmt_float(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def parse_line(line) -> dict | None:
    """One stdout line of ``--progress json`` as an event dict; None for anything else.

    Tolerant on purpose: blank lines, log noise from libraries and JSON that is not an object with an
    "event" key are ignored rather than fatal.
    """
    if isinstance(line, bytes):
        line = line.decode("utf-8", errors="replace")
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("event"), str):
        return None
    return obj


@dataclass
class RunState:
    """What a run has said so far, folded from its events."""

    total: int = 0
    fraction: float = 0.0
    outputs: list = field(default_factory=list)   # (input, output, height or None)
    errors: list = field(default_factory=list)    # (input, message)
    skipped: list = field(default_factory=list)
    summary: dict | None = None
    stderr: list = field(default_factory=list)    # non-JSON lines, last ones kept
    returncode: int | None = None

    def feed(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "start":
            self.total = _as_int(event.get("total"), self.total)
        elif kind == "progress":
            self.total = _as_int(event.get("total"), self.total)
            frac = event.get("fraction")
            if isinstance(frac, (int, float)):
                self.fraction = min(1.0, max(self.fraction, float(frac)))
            elif self.total:
                self.fraction = _as_int(event.get("index"), 0) / self.total
        elif kind == "done":
            self.outputs.append((event.get("input"), event.get("output"), event.get("height")))
            if self.total:
                self.fraction = max(self.fraction, len(self.outputs) / self.total)
        elif kind == "skipped":
            self.skipped.append(event)
        elif kind == "error":
            self.errors.append((event.get("input"), str(event.get("message") or "unknown error")))
        elif kind == "summary":
            self.summary = event
            self.fraction = 1.0

    def add_stderr(self, line: str) -> None:
        line = line.rstrip()
        if line:
            self.stderr.append(line)
            del self.stderr[:-50]

    def failure_message(self) -> str | None:
        """One sentence describing why the run failed, or None when it produced its output."""
        if self.errors:
            return self.errors[-1][1]
        if self.returncode not in (0, None):
            tail = _last_meaningful(self.stderr)
            unknown = next((m.group(1) for m in map(_NO_SUCH_OPTION.search, self.stderr) if m), None)
            if unknown:  # click's usage error: an engine from before this add-on's options
                return (f"the engine is older than this add-on (it does not know {unknown}): update it "
                        "(Install engine, or pip install --upgrade normalgen)")
            if self.returncode < 0 or self.returncode in (137, 139, -9, -11):
                reason = f"the engine was killed (exit {self.returncode}; out of memory?)"
            else:
                reason = f"the engine failed (exit {self.returncode})"
            return f"{reason}: {tail}" if tail else reason
        if not self.outputs:
            tail = _last_meaningful(self.stderr)
            return "the engine wrote no normal map" + (f": {tail}" if tail else "")
        return None


_NO_SUCH_OPTION = re.compile(r"no such option:? '?(--[\w-]+)", re.IGNORECASE)


def _last_meaningful(lines: list) -> str:
    for line in reversed(lines):
        text = line.strip()
        if text and not text.startswith(("Traceback", "File ", "^")):
            return text[:300]
    return ""


def _as_int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# --------------------------------------------------------------------------------------------------
# Running


class EngineRun:
    """A running engine process whose output is read by threads into a queue.

    The UI thread calls poll() from a timer: it never blocks. cancel() kills the process (its whole
    process group on POSIX) and removes the temporary output folder.
    """

    def __init__(self, args: list[str], workdir: str | None = None, env: dict | None = None):
        self.args = list(args)
        self.workdir = workdir
        self.state = RunState()
        self._queue: queue.Queue = queue.Queue()
        self._cancelled = False
        kwargs = {}
        if os.name == "nt":
            kwargs["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0) | getattr(
                subprocess, "CREATE_NO_WINDOW", 0)
        else:
            kwargs["start_new_session"] = True
        try:
            self.proc = subprocess.Popen(
                self.args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env if env is not None else engine_env(),
                cwd=workdir,
                **kwargs,
            )
        except OSError as exc:
            raise start_error(self.args[0], exc)
        self._threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, "out"), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, "err"), daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _pump(self, stream, tag: str) -> None:
        try:
            for raw in iter(stream.readline, b""):
                self._queue.put((tag, raw.decode("utf-8", errors="replace")))
        except (OSError, ValueError):
            pass
        finally:
            self._queue.put((tag, None))

    def poll(self) -> list[dict]:
        """Events that arrived since the last call (non-blocking); also folds them into self.state."""
        events = []
        while True:
            try:
                tag, line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is None:
                continue
            if tag == "out":
                event = parse_line(line)
                if event is None:
                    self.state.add_stderr(line)
                else:
                    self.state.feed(event)
                    events.append(event)
            else:
                self.state.add_stderr(line)
        return events

    @property
    def finished(self) -> bool:
        """True once the process has exited and both reader threads have queued their last line
        (call poll() after it to fold those lines into the state)."""
        if self.proc.poll() is None:
            return False
        if any(t.is_alive() for t in self._threads):
            return False
        self.state.returncode = self.proc.returncode
        return True

    def wait(self, timeout: float | None = None, on_event=None) -> RunState:
        """Run to completion (background mode). Kills the process past ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            done = self.finished  # checked before draining, so no line can arrive after the last poll
            for event in self.poll():
                if on_event:
                    on_event(event)
            if done:
                return self.state
            if deadline is not None and time.monotonic() > deadline:
                self.cancel(remove_workdir=False)
                raise EngineError(f"The normalgen engine did not finish within {timeout:.0f} s")
            time.sleep(0.02)

    def cancel(self, remove_workdir: bool = True) -> None:
        self._cancelled = True
        if self.proc.poll() is None:
            try:
                if os.name == "nt":
                    self.proc.kill()
                else:
                    os.killpg(self.proc.pid, signal.SIGKILL)
            except (OSError, ProcessLookupError):
                try:
                    self.proc.kill()
                except OSError:
                    pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for stream in (self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass
        if remove_workdir:
            self.cleanup()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cleanup(self) -> None:
        if self.workdir and os.path.isdir(self.workdir):
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_convert(exe: str, input_path: str, options: ConvertOptions, jobdir: str | None = None
                  ) -> tuple[EngineRun, str]:
    """Start ``normalgen convert`` writing into ``<jobdir>/out``; returns (run, outdir).

    ``jobdir`` (made here when None) is removed by ``run.cleanup()``/``run.cancel()``, with any temporary
    copy of the source image the caller put in it.
    """
    jobdir = jobdir or tempfile.mkdtemp(prefix="normalgen_blender_")
    outdir = os.path.join(jobdir, "out")
    os.makedirs(outdir, exist_ok=True)
    try:
        run = EngineRun(build_convert_args(exe, input_path, outdir, options), workdir=jobdir)
    except Exception:
        shutil.rmtree(jobdir, ignore_errors=True)
        raise
    return run, outdir


def engine_info(exe: str, timeout: float = 120.0, model_path: str = "") -> dict:
    """``normalgen info --json`` as a dict, or EngineError with the engine's one-line reason.

    The engine still prints its JSON (with "model_error") when the model cannot be loaded and exits
    1; that is returned as a dict so the caller can say what is wrong with the model.
    """
    try:
        proc = subprocess.run(
            build_info_args(exe, model_path), stdin=subprocess.DEVNULL, capture_output=True,
            env=engine_env(), timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise EngineError(f"normalgen info did not answer within {timeout:.0f} s")
    except OSError as exc:
        if isinstance(exc, FileNotFoundError) and not os.path.exists(exe):
            raise EngineError(f"The normalgen engine was not found: {exe}")
        raise start_error(exe, exc)
    out = proc.stdout.decode("utf-8", errors="replace")
    err = proc.stderr.decode("utf-8", errors="replace")
    try:
        info = parse_info(out)
    except EngineError:
        if proc.returncode != 0:
            tail = _last_meaningful(err.splitlines()) or f"exit {proc.returncode}"
            raise EngineError(f"normalgen info failed: {tail}")
        raise
    if proc.returncode != 0 and not info.get("model_error"):
        info["model_error"] = _last_meaningful(err.splitlines()) or f"exit {proc.returncode}"
    return info


def parse_info(text: str) -> dict:
    """The object printed by ``normalgen info --json`` (the last JSON object in the output)."""
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                return obj
    try:
        obj = json.loads(text)
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        return obj
    raise EngineError("normalgen info --json printed no JSON object; is this the normalgen engine?")


def describe_info(info: dict) -> str:
    """A one-line summary for the UI: version, model, backend (and what is wrong with the model)."""
    version = info.get("version", "?")
    model = info.get("model_path") or info.get("model") or "no model"
    backend = info.get("backend", "?")
    text = f"normalgen {version} · model {os.path.basename(str(model)) or model} · {backend}"
    if info.get("model_error"):
        text += f" · model error: {info['model_error']}"
    return text


# --------------------------------------------------------------------------------------------------
# Private venv installation (the commands; install.py runs them from Blender)


def install_commands(python: str, venv_dir: str, source: str, offline: bool = False) -> list[list[str]]:
    """argv lists that create ``venv_dir`` with ``python`` and pip-install ``source`` into it.

    ``source`` is a normalgen checkout folder, a wheel/sdist path, or a pip requirement spec.
    ``offline`` (Blender's online access is off): pip must not download, so only a source on disk
    works, installed with ``--no-index``; a wheel's dependencies are looked for beside it (a folder
    that ``pip download`` filled).
    """
    source = (source or "").strip()
    if not source:
        raise EngineError("Set the engine source (a normalgen checkout, a wheel, or a pip requirement)")
    expanded = os.path.expanduser(source)
    on_disk = os.path.exists(expanded)
    if on_disk:
        source = os.path.abspath(expanded)
    elif offline:
        raise EngineError("Install engine needs to download normalgen, but Blender's online access is off: "
                          "allow it in Preferences > System > Network, or set Engine source to a wheel on disk")
    vpy = venv_executable(venv_dir, "python")
    pip = [vpy, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    no_download = []
    if offline:
        no_download = ["--no-index"] + (["--find-links", os.path.dirname(source)] if os.path.isfile(source) else [])
    install = pip + ["install", "--upgrade"] + no_download + [source]
    return [
        [python, "-m", "venv", venv_dir],
        install,
    ]


def install_env() -> dict:
    env = engine_env()
    env["PYTHONNOUSERSITE"] = "1"  # never read or write the user's site-packages
    env.pop("PIP_USER", None)
    env.pop("PIP_TARGET", None)
    env.pop("PIP_PREFIX", None)
    return env


def python_for_venv(executable: str | None = None) -> str:
    """Blender's bundled interpreter (``sys.executable`` inside Blender)."""
    return executable or sys.executable
