"""Install engine: a private virtual environment, made with Blender's own Python, holding normalgen.

The venv lives in the extension's user folder (``bpy.utils.extension_path_user``), so it needs no admin
rights, survives add-on updates, and never touches Blender's site-packages: pip runs as the venv's own
interpreter (``<venv>/bin/python -m pip``), with the user site disabled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import bpy

from . import engine
from .modal_ui import clear_status, remove_timer, report_unexpected
from .preferences import addon_prefs, private_venv_dir, user_dir

_TIMER_STEP = 0.25


def _last_line(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 4096))
            lines = [ln.strip() for ln in fh.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1][:200] if lines else ""


class _Installer:
    """Runs the install commands one after another, output appended to a log file."""

    def __init__(self, commands: list[list[str]], log_path: str):
        self.commands = list(commands)
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None
        self.failed_step: list[str] | None = None
        self._log = open(log_path, "w", encoding="utf-8")
        self._next()

    def _next(self) -> None:
        argv = self.commands.pop(0)
        self._log.write("$ " + " ".join(argv) + "\n")
        self._log.flush()
        self._current = argv
        kwargs = {"start_new_session": True} if os.name != "nt" else {
            "creationflags": getattr(subprocess, "CREATE_NO_WINDOW", 0)}
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, env=engine.install_env(), **kwargs)

    def step(self) -> bool:
        """Advance; True when everything has finished (see returncode)."""
        if self.proc.poll() is None:
            return False
        if self.proc.returncode != 0:
            self.returncode = self.proc.returncode
            self.failed_step = self._current
            self._log.close()
            return True
        if not self.commands:
            self.returncode = 0
            self._log.close()
            return True
        self._next()
        return False

    def wait(self) -> int:
        while not self.step():
            try:
                self.proc.wait()
            except KeyboardInterrupt:
                self.kill()
                raise
        return self.returncode

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                if os.name == "nt":
                    self.proc.kill()
                else:
                    os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait()
        if not self._log.closed:
            self._log.close()


class NORMALGEN_OT_install_engine(bpy.types.Operator):
    """Create a private Python environment with Blender's Python and pip-install normalgen into it"""

    bl_idname = "normalgen.install_engine"
    bl_label = "Install engine"
    bl_options = {"INTERNAL"}

    @classmethod
    def poll(cls, context):
        prefs = addon_prefs(context)
        if prefs is None or not prefs.engine_source.strip():
            cls.poll_message_set("Set the engine source first: a normalgen checkout, a wheel, or a pip requirement")
            return False
        return True

    def _prepare(self, context):
        prefs = addon_prefs(context)
        base = user_dir(create=True)
        if not base:
            raise engine.EngineError("Blender gave no user folder for this extension")
        venv = private_venv_dir()
        # Blender's add-on rules: no network unless the user allowed online access.
        offline = not getattr(bpy.app, "online_access", True)
        commands = engine.install_commands(engine.python_for_venv(sys.executable), venv, prefs.engine_source,
                                           offline=offline)
        return _Installer(commands, os.path.join(base, "install.log")), venv

    def _done(self, context, installer, venv) -> set:
        prefs = addon_prefs(context)
        if installer.returncode != 0:
            msg = (f"Install engine failed (exit {installer.returncode}): {_last_line(installer.log_path)} "
                   f"- see {installer.log_path}")
            prefs.engine_status = msg
            self.report({"ERROR"}, msg)
            return {"CANCELLED"}
        exe = engine.venv_executable(venv)
        msg = f"normalgen engine installed: {exe}"
        prefs.engine_status = msg
        self.report({"INFO"}, msg)
        return {"FINISHED"}

    def execute(self, context):
        try:
            installer, venv = self._prepare(context)
        except (engine.EngineError, OSError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        installer.wait()
        return self._done(context, installer, venv)

    def invoke(self, context, event):
        if bpy.app.background or context.window is None:
            return self.execute(context)
        try:
            self._installer, self._venv = self._prepare(context)
        except (engine.EngineError, OSError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self._workspace = context.workspace
        wm = context.window_manager
        self._timer = wm.event_timer_add(_TIMER_STEP, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def _end(self, context):
        remove_timer(context, self)
        clear_status(context, self._workspace)

    def modal(self, context, event):
        try:
            return self._modal(context, event)
        except Exception as exc:  # never leave pip, the timer or the status bar behind
            self.cancel(context)
            return report_unexpected(self, "Install engine", exc)

    def _modal(self, context, event):
        if event.type == "ESC" and event.value == "PRESS":
            self._installer.kill()
            self._end(context)
            self.report({"ERROR"}, "Install engine cancelled")
            return {"CANCELLED"}
        # Any timer's tick steps: step() never blocks, and bpy.types.Event does not say which timer it is.
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        if not self._installer.step():
            try:
                self._workspace.status_text_set(
                    "normalgen install: " + (_last_line(self._installer.log_path) or "...") + "   Esc: cancel")
            except (AttributeError, ReferenceError, RuntimeError):
                pass
            return {"PASS_THROUGH"}
        self._end(context)
        return self._done(context, self._installer, self._venv)

    def cancel(self, context):
        self._installer.kill()
        self._end(context)


classes = (NORMALGEN_OT_install_engine,)


def register():
    for cls in classes:
        bpy.utils.register_class(cls)


def unregister():
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
