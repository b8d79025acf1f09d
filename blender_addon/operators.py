"""Operators: Generate Normal Map (modal, or synchronous in background mode) and Test engine."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty

from . import engine, material
from .modal_ui import clear_status, remove_timer, report_unexpected
from .preferences import LIGHT_ITEMS, METHOD_ITEMS, addon_prefs, resolve_engine

_TIMER_STEP = 0.1
# The operator's options that the sidebar's scene settings also hold (same names).
OPTION_NAMES = ("strength", "invert", "seamless", "method", "light_from", "use_16bit", "height_map", "connect_displacement")
_state = {"running": False}


def _bar(fraction: float, width: int = 20) -> str:
    filled = int(round(max(0.0, min(1.0, fraction)) * width))
    return "[" + "#" * filled + "-" * (width - filled) + "]"


class _Job:
    """Everything one generate run holds between invoke and finish."""

    def __init__(self, material_name: str, node_name: str, jobdir: str):
        self.material_name = material_name
        self.node_name = node_name
        self.jobdir = jobdir
        self.run: engine.EngineRun | None = None
        self.outdir = ""


class NORMALGEN_OT_generate_normal_map(bpy.types.Operator):
    """Make a tangent-space normal map (OpenGL) from the active Image Texture node and wire it in"""

    bl_idname = "normalgen.generate_normal_map"
    bl_label = "Generate Normal Map"
    # No "REGISTER": Blender redoes (F9, Adjust Last Operation, Shift+R) by calling execute(), which would
    # run the engine on the UI thread. Options change in the sidebar; pressing again updates in place.
    bl_options = {"UNDO"}

    strength: FloatProperty(name="Strength", default=1.0, min=0.0, max=100.0, soft_max=10.0)
    invert: BoolProperty(name="Invert", default=False)
    seamless: BoolProperty(name="Seamless", default=False)
    method: EnumProperty(name="Method", items=METHOD_ITEMS, default="MODEL")
    light_from: EnumProperty(name="Light from", items=LIGHT_ITEMS, default="AUTO")
    use_16bit: BoolProperty(name="16-bit", default=False)
    height_map: BoolProperty(name="Height map", default=False)
    connect_displacement: BoolProperty(name="Connect displacement", default=False)

    @classmethod
    def poll(cls, context):
        if _state["running"]:
            cls.poll_message_set("A normal map is already being generated (Esc cancels it)")
            return False
        mat, node_or_reason = material.active_image_node(context)
        if mat is None:
            cls.poll_message_set(node_or_reason)
            return False
        return True

    # -- shared steps ----------------------------------------------------------------------------

    def _options(self, context, image) -> engine.ConvertOptions:
        prefs = addon_prefs(context)
        model = bpy.path.abspath(prefs.model_path) if (prefs and prefs.model_path) else ""
        return engine.ConvertOptions(
            strength=self.strength,
            invert=self.invert,
            seamless=self.seamless,
            method=self.method.lower(),
            light_from=self.light_from.lower(),
            bit_depth=16 if self.use_16bit else 8,
            height=self.height_map,
            # Blender's alpha mode says when the fourth channel is not transparency.
            ignore_alpha=image.alpha_mode in ("NONE", "CHANNEL_PACKED"),
            model_path=model if self.method == "MODEL" else "",
        )

    def _start(self, context) -> _Job | None:
        """Find the engine, get the source onto disk, start the engine. Reports and returns None on error."""
        mat, node = material.active_image_node(context)
        if mat is None:
            self.report({"ERROR"}, node)
            return None
        try:
            exe = resolve_engine(context)
        except engine.EngineError as exc:
            self.report({"ERROR"}, str(exc))
            return None
        jobdir = tempfile.mkdtemp(prefix="normalgen_blender_")
        job = _Job(mat.name, node.name, jobdir)
        try:
            src = material.source_file(node.image)
            if src is None:
                src = material.export_source(node.image, os.path.join(jobdir, "src"))
            job.run, job.outdir = engine.start_convert(exe, src, self._options(context, node.image), jobdir=jobdir)
        except (engine.EngineError, RuntimeError, OSError) as exc:
            shutil.rmtree(jobdir, ignore_errors=True)
            self.report({"ERROR"}, f"normalgen: {exc}")
            return None
        return job

    def _finish(self, context, job: _Job) -> set:
        """Turn a finished run into images and nodes, or an error that leaves the material untouched."""
        state = job.run.state
        try:
            reason = state.failure_message()
            if reason:
                self.report({"ERROR"}, f"normalgen: {reason}")
                return {"CANCELLED"}
            _inp, normal_out, height_out = state.outputs[-1]
            if not normal_out or not os.path.isabs(normal_out):
                normal_out = os.path.join(job.outdir, os.path.basename(normal_out or ""))
            if not os.path.isfile(normal_out):
                self.report({"ERROR"}, f"normalgen: the engine reported {normal_out} but it is not there")
                return {"CANCELLED"}
            if self.height_map:
                if not height_out:
                    stem = os.path.splitext(os.path.basename(normal_out))[0]
                    if stem.endswith("_normal"):
                        stem = stem[: -len("_normal")]
                    height_out = os.path.join(os.path.dirname(normal_out), f"{stem}_height.png")
                if not os.path.isfile(height_out):
                    self.report({"ERROR"}, "normalgen: the engine wrote no height map")
                    return {"CANCELLED"}
            else:
                height_out = None
            mat = bpy.data.materials.get(job.material_name)
            if mat is None:
                self.report({"ERROR"}, f"normalgen: the material {job.material_name!r} is gone")
                return {"CANCELLED"}
            try:
                result = material.apply_result(
                    mat, job.node_name, normal_out, height_out,
                    connect_displacement=self.connect_displacement)
            except (RuntimeError, OSError) as exc:
                self.report({"ERROR"}, f"normalgen: {exc}")
                return {"CANCELLED"}
            done = f"normalgen: {result.normal_image.name} is wired into {mat.name!r}"
            if result.warnings:  # one report, last: Blender's status bar shows only the last one
                self.report({"WARNING"}, done + ". " + ". ".join(result.warnings))
            else:
                self.report({"INFO"}, done)
            return {"FINISHED"}
        finally:
            job.run.cleanup()

    # -- background / scripts: synchronous ----------------------------------------------------------

    def execute(self, context):
        job = self._start(context)
        if job is None:
            return {"CANCELLED"}
        prefs = addon_prefs(context)
        try:
            job.run.wait(timeout=prefs.timeout if prefs else None)
        except engine.EngineError as exc:
            job.run.cancel()
            self.report({"ERROR"}, f"normalgen: {exc}")
            return {"CANCELLED"}
        return self._finish(context, job)

    # -- interactive: modal -----------------------------------------------------------------------

    def invoke(self, context, event):
        settings = getattr(context.scene, "normalgen", None)
        if settings is not None:
            for name in OPTION_NAMES:
                if not self.properties.is_property_set(name):
                    setattr(self, name, getattr(settings, name))
        if bpy.app.background or context.window is None:
            return self.execute(context)
        job = self._start(context)
        if job is None:
            return {"CANCELLED"}
        self._job = job
        self._workspace = context.workspace
        wm = context.window_manager
        self._timer = wm.event_timer_add(_TIMER_STEP, window=context.window)
        wm.modal_handler_add(self)
        _state["running"] = True
        self._status(context, 0.0)
        return {"RUNNING_MODAL"}

    def _status(self, context, fraction, text=None):
        try:
            self._workspace.status_text_set(
                text if text is not None else
                f"normalgen {_bar(fraction)} {fraction * 100:3.0f}%   Esc: cancel")
        except (AttributeError, ReferenceError, RuntimeError):
            pass

    def _cleanup_modal(self, context):
        _state["running"] = False
        remove_timer(context, self)
        clear_status(context, self._workspace)

    def modal(self, context, event):
        try:
            return self._modal(context, event)
        except Exception as exc:  # never leave the engine, the timer or the status bar behind
            self.cancel(context)
            return report_unexpected(self, "normalgen", exc)

    def _modal(self, context, event):
        job = self._job
        if event.type == "ESC" and event.value == "PRESS":
            job.run.cancel()
            self._cleanup_modal(context)
            self.report({"ERROR"}, "normalgen: cancelled")
            return {"CANCELLED"}
        # Any timer's tick polls: poll() never blocks, and bpy.types.Event does not say which timer it is.
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        done = job.run.finished
        job.run.poll()
        if not done:
            self._status(context, job.run.state.fraction)
            return {"PASS_THROUGH"}
        self._cleanup_modal(context)
        return self._finish(context, job)

    def cancel(self, context):
        # Blender ends the modal itself (file loaded, window closed): kill the engine, drop temp files.
        job = getattr(self, "_job", None)
        if job is not None and job.run is not None:
            job.run.cancel()
        self._cleanup_modal(context)


class NORMALGEN_OT_test_engine(bpy.types.Operator):
    """Run "normalgen info --json" and report the engine's version and model"""

    bl_idname = "normalgen.test_engine"
    bl_label = "Test engine"
    bl_options = {"INTERNAL"}

    def _report_info(self, context, info_or_exc) -> set:
        prefs = addon_prefs(context)
        if isinstance(info_or_exc, Exception):
            msg = str(info_or_exc)
            if prefs:
                prefs.engine_status = msg
            self.report({"ERROR"}, msg)
            return {"CANCELLED"}
        msg = engine.describe_info(info_or_exc)
        if prefs:
            prefs.engine_status = msg
        self.report({"WARNING"} if info_or_exc.get("model_error") else {"INFO"}, msg)
        return {"FINISHED"}

    @staticmethod
    def _probe(exe, model_path):
        try:
            return engine.engine_info(exe, model_path=model_path)
        except engine.EngineError as exc:
            return exc

    @staticmethod
    def _model(context):
        prefs = addon_prefs(context)
        return bpy.path.abspath(prefs.model_path) if (prefs and prefs.model_path) else ""

    def execute(self, context):
        try:
            exe = resolve_engine(context)
        except engine.EngineError as exc:
            return self._report_info(context, exc)
        return self._report_info(context, self._probe(exe, self._model(context)))

    def invoke(self, context, event):
        if bpy.app.background or context.window is None:
            return self.execute(context)
        try:
            exe = resolve_engine(context)
        except engine.EngineError as exc:
            return self._report_info(context, exc)
        self._result = []
        model = self._model(context)
        self._thread = threading.Thread(target=lambda: self._result.append(self._probe(exe, model)), daemon=True)
        self._thread.start()
        wm = context.window_manager
        self._timer = wm.event_timer_add(_TIMER_STEP, window=context.window)
        wm.modal_handler_add(self)
        context.workspace.status_text_set("normalgen: asking the engine for its version...")
        self._workspace = context.workspace
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        try:
            if event.type != "TIMER" or self._thread.is_alive():
                return {"PASS_THROUGH"}
            self.cancel(context)
            return self._report_info(context, self._result[0])
        except Exception as exc:
            self.cancel(context)
            return report_unexpected(self, "normalgen", exc)

    def cancel(self, context):
        # The probe thread is a daemon that ends with its subprocess; only our timer and text go.
        remove_timer(context, self)
        clear_status(context, self._workspace)


classes = (NORMALGEN_OT_generate_normal_map, NORMALGEN_OT_test_engine)


def register():
    for cls in classes:
        bpy.utils.register_class(cls)


def unregister():
    _state["running"] = False
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
