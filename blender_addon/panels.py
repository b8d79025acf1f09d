"""The "normalgen" sidebar tab in the Shader Editor and the Image Editor."""

import bpy

from . import material
from .operators import OPTION_NAMES
from .operators import NORMALGEN_OT_generate_normal_map as _Generate


def draw_generate(layout, context):
    settings = getattr(context.scene, "normalgen", None)
    mat, node_or_reason = material.active_image_node(context)
    col = layout.column()
    if mat is None:
        col.label(text=node_or_reason, icon="INFO")
    else:
        col.label(text=f"{mat.name} / {node_or_reason.image.name}", icon="IMAGE_DATA")
    if settings is not None:
        col.prop(settings, "method")
        sub = col.column()
        sub.enabled = settings.method == "MODEL"
        sub.prop(settings, "light_from")
        col.prop(settings, "strength")
        col.prop(settings, "invert")
        col.prop(settings, "seamless")
        col.prop(settings, "use_16bit")
        col.prop(settings, "height_map")
        sub = col.column()
        sub.enabled = settings.height_map
        sub.prop(settings, "connect_displacement")
    op = col.operator(_Generate.bl_idname, icon="NODE_MATERIAL")
    if settings is not None:
        for name in OPTION_NAMES:
            setattr(op, name, getattr(settings, name))


class NORMALGEN_PT_shader_editor(bpy.types.Panel):
    bl_label = "Normal Map"
    bl_idname = "NORMALGEN_PT_shader_editor"
    bl_space_type = "NODE_EDITOR"
    bl_region_type = "UI"
    bl_category = "normalgen"

    @classmethod
    def poll(cls, context):
        # Object materials only: the World and Line Style shader editors have no material to wire.
        space = context.space_data
        return (space is not None and getattr(space, "tree_type", "") == "ShaderNodeTree"
                and getattr(space, "shader_type", "") == "OBJECT")

    def draw(self, context):
        draw_generate(self.layout, context)


class NORMALGEN_PT_image_editor(bpy.types.Panel):
    bl_label = "Normal Map"
    bl_idname = "NORMALGEN_PT_image_editor"
    bl_space_type = "IMAGE_EDITOR"
    bl_region_type = "UI"
    bl_category = "normalgen"

    def draw(self, context):
        draw_generate(self.layout, context)


def _image_menu(self, context):
    self.layout.separator()
    self.layout.operator(_Generate.bl_idname, icon="NODE_MATERIAL")


classes = (NORMALGEN_PT_shader_editor, NORMALGEN_PT_image_editor)


def register():
    for cls in classes:
        bpy.utils.register_class(cls)
    bpy.types.IMAGE_MT_image.append(_image_menu)


def unregister():
    bpy.types.IMAGE_MT_image.remove(_image_menu)
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
