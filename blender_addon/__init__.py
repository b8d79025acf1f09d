"""normalgen for Blender: one button turns an Image Texture node into a wired tangent-space normal map.

The engine (TensorFlow/Keras) never runs inside Blender: the add-on starts the ``normalgen`` CLI of a
separate Python environment as a subprocess and follows its ``--progress json`` lines.
"""

if "bpy" in locals():  # F8 / "Reload Scripts"
    import importlib

    for _mod in (engine, preferences, material, operators, install, panels):  # noqa: F821
        importlib.reload(_mod)

import bpy  # noqa: E402

from . import engine, install, material, operators, panels, preferences  # noqa: E402,F401

_modules = (preferences, operators, install, panels)


def register():
    for mod in _modules:
        mod.register()


def unregister():
    for mod in reversed(_modules):
        mod.unregister()
