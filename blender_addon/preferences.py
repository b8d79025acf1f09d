"""Add-on preferences: where the engine is, how to install it, and the scene-level button options."""

import os

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, StringProperty

from . import engine

METHOD_ITEMS = (
    ("MODEL", "Model", "The neural network: best for photos"),
    ("SOBEL", "Sobel", "Gradients of the image's luminance: fast, no model needed"),
)
# Where the light comes from in the photo; a side uses the model trained on light from one side.
LIGHT_ITEMS = (
    ("AUTO", "Auto", "Unknown: the default model, which reads photos lit from any side"),
    ("RIGHT", "Right", "Bright slopes face the right of the image"),
    ("TOP", "Top", "Bright slopes face the top of the image"),
    ("LEFT", "Left", "Bright slopes face the left of the image"),
    ("BOTTOM", "Bottom", "Bright slopes face the bottom of the image"),
)


def addon_prefs(context=None):
    """This add-on's preferences, or None when it is not enabled through Blender's add-on system."""
    context = context or bpy.context
    addon = context.preferences.addons.get(__package__)
    return addon.preferences if addon else None


def user_dir(create: bool = False) -> str:
    """The extension's own writable folder (``extension_path_user``); a scripts folder for a legacy install."""
    try:
        return bpy.utils.extension_path_user(__package__, create=create)
    except Exception:  # not installed as an extension (e.g. a legacy add-on folder)
        path = bpy.utils.user_resource("SCRIPTS", path=os.path.join("normalgen_engine"), create=create)
        return path


def private_venv_dir() -> str:
    base = user_dir(create=False)
    return os.path.join(base, "venv") if base else ""


def resolve_engine(context=None) -> str:
    """The engine executable to run (raises engine.EngineError with the reason)."""
    prefs = addon_prefs(context)
    configured = prefs.engine_path if prefs else ""
    return engine.find_engine(bpy.path.abspath(configured) if configured else "", private_venv_dir())


class NORMALGEN_AddonPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    engine_path: StringProperty(
        name="Engine",
        description="Path to the normalgen executable of a separate Python environment "
                    "(empty: the one made by Install engine, else normalgen on PATH)",
        subtype="FILE_PATH",
        default="",
    )
    engine_source: StringProperty(
        name="Engine source",
        description="What Install engine pip-installs: a normalgen checkout folder, a wheel, "
                    "or a pip requirement such as normalgen==0.1.0",
        default="",
    )
    model_path: StringProperty(
        name="Model",
        description="Optional model file passed to the engine as --model (empty: the engine's default model)",
        subtype="FILE_PATH",
        default="",
    )
    timeout: FloatProperty(
        name="Timeout (background)",
        description="Seconds a synchronous run (background mode, scripts) may take before it is killed",
        default=1800.0, min=10.0,
    )
    engine_status: StringProperty(name="Status", default="")

    def draw(self, context):
        layout = self.layout
        col = layout.column()
        col.prop(self, "engine_path")
        try:
            found = resolve_engine(context)
            col.label(text=f"Using: {found}", icon="CHECKMARK")
        except engine.EngineError as exc:
            col.label(text=str(exc), icon="ERROR")
        row = col.row()
        row.operator("normalgen.test_engine", icon="PLAY")
        col.prop(self, "model_path")
        col.separator()
        box = layout.box()
        box.label(text="Private engine (a virtual environment in the extension's user folder)")
        box.prop(self, "engine_source")
        row = box.row()
        row.operator("normalgen.install_engine", icon="IMPORT")
        venv = private_venv_dir()
        if venv:
            box.label(text=venv)
        if self.engine_status:
            layout.label(text=self.engine_status, icon="INFO")
        layout.prop(self, "timeout")


class NORMALGEN_SceneSettings(bpy.types.PropertyGroup):
    """The options shown in the sidebar; the panel passes them to the operator."""

    strength: FloatProperty(name="Strength", default=1.0, min=0.0, max=100.0, soft_max=10.0,
                            description="How strong the relief is")
    invert: BoolProperty(name="Invert", default=False,
                         description="Turn the relief inside out: what comes out raised is made sunk")
    seamless: BoolProperty(name="Seamless", default=False,
                           description="Make the normal map tile without seams")
    method: EnumProperty(name="Method", items=METHOD_ITEMS, default="MODEL")
    light_from: EnumProperty(name="Light from", items=LIGHT_ITEMS, default="AUTO",
                             description="Where the light comes from in the photo (Model only); "
                                         "naming the side reads the relief better")
    use_16bit: BoolProperty(name="16-bit", default=False,
                            description="Write a 16-bit PNG and load it as a float image")
    height_map: BoolProperty(name="Height map", default=False,
                             description="Also make a height map and a Displacement node fed by it")
    connect_displacement: BoolProperty(
        name="Connect displacement", default=False,
        description="Connect the Displacement node to the Material Output (off: it is only added)")


classes = (NORMALGEN_AddonPreferences, NORMALGEN_SceneSettings)


def register():
    for cls in classes:
        bpy.utils.register_class(cls)
    bpy.types.Scene.normalgen = bpy.props.PointerProperty(type=NORMALGEN_SceneSettings)


def unregister():
    del bpy.types.Scene.normalgen
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
