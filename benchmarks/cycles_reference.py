"""Render a height field with Blender Cycles, the physically based reference for training/shading.py.

Runs inside Blender's Python (bpy, e.g. .venv-blender/bin/python, which tests/blender/run.sh makes):

    .venv-blender/bin/python benchmarks/cycles_reference.py HEIGHTS.npy OUT.npy --sun-elevation 40 ...

HEIGHTS.npy is a tileable (S, S) float height field in pixel units (the generator's scale). It is
built as a real mesh, one vertex per pixel, repeated 3x3 so the centre tile has neighbours to cast
shadows and occlude the sky as it does on the torus the generator shades, and looked at from
straight above by an orthographic camera framing the centre tile, one pixel per vertex. The
material is a grey Lambertian (Diffuse BSDF) of the given albedo, or a Principled BSDF with
--roughness. The light is any of: a sun of the given angular diameter and irradiance; a uniform
sky (world colour), or an environment map (--hdri, e.g. the Poly Haven studio lights Blender
ships); a point or area lamp (--lamp). OUT.npy gets the linear radiance (S, S), row 0 at the top,
as the generator's images are; with --normals, the unit shading normals Cycles used (S, S, 3).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import bpy
import numpy as np


def build_mesh(height: np.ndarray) -> bpy.types.Object:
    size = height.shape[0]
    reps = 3
    n = size * reps
    tiled = np.tile(height, (reps, reps)).astype(np.float64)
    cols, rows = np.meshgrid(np.arange(n), np.arange(n))
    x = cols - size  # centre tile at x in [0, S), y in (-S, 0]: row r is y = -r
    y = -(rows - size)
    verts = np.stack([x, y, tiled], axis=-1).reshape(-1, 3)
    idx = np.arange(n * n).reshape(n, n)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, 1:], idx[1:, :-1]
    faces = np.stack([a, d, c, b], axis=-1).reshape(-1, 4)  # counter-clockwise seen from +Z
    mesh = bpy.data.meshes.new("relief")
    mesh.vertices.add(len(verts))
    mesh.vertices.foreach_set("co", verts.astype(np.float32).ravel())
    mesh.loops.add(faces.size)
    mesh.loops.foreach_set("vertex_index", faces.astype(np.int32).ravel())
    mesh.polygons.add(len(faces))
    mesh.polygons.foreach_set("loop_start", (np.arange(len(faces)) * 4).astype(np.int32))
    mesh.polygons.foreach_set("loop_total", np.full(len(faces), 4, np.int32))
    mesh.update(calc_edges=True)
    mesh.validate()
    mesh.polygons.foreach_set("use_smooth", np.ones(len(faces), bool))
    obj = bpy.data.objects.new("relief", mesh)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def render(height: np.ndarray, args) -> np.ndarray:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    size = height.shape[0]
    obj = build_mesh(height)

    mat = bpy.data.materials.new("grey")
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    nodes.clear()
    out = nodes.new("ShaderNodeOutputMaterial")
    if args.normals:  # emit (n + 1) / 2: the shading normal Cycles used, in tangent space
        geo = nodes.new("ShaderNodeNewGeometry")
        half = nodes.new("ShaderNodeVectorMath")
        half.operation = "MULTIPLY_ADD"
        half.inputs[1].default_value = (0.5, 0.5, 0.5)
        half.inputs[2].default_value = (0.5, 0.5, 0.5)
        emit = nodes.new("ShaderNodeEmission")
        links.new(geo.outputs["Normal"], half.inputs[0])
        links.new(half.outputs["Vector"], emit.inputs["Color"])
        links.new(emit.outputs["Emission"], out.inputs["Surface"])
    elif args.roughness is not None:  # a dielectric with a GGX specular lobe, as real materials have
        bsdf = nodes.new("ShaderNodeBsdfPrincipled")
        bsdf.inputs["Base Color"].default_value = (args.albedo, args.albedo, args.albedo, 1.0)
        bsdf.inputs["Roughness"].default_value = args.roughness
        links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])
    else:
        bsdf = nodes.new("ShaderNodeBsdfDiffuse")
        bsdf.inputs["Color"].default_value = (args.albedo, args.albedo, args.albedo, 1.0)
        bsdf.inputs["Roughness"].default_value = 0.0  # Lambert
        links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])
    obj.data.materials.append(mat)

    world = bpy.data.worlds.new("sky")
    world.use_nodes = True
    bg = world.node_tree.nodes.get("Background") or world.node_tree.nodes.new("ShaderNodeBackground")
    bg.inputs["Color"].default_value = (1.0, 1.0, 1.0, 1.0)
    bg.inputs["Strength"].default_value = args.sky
    if args.hdri:  # an environment map, turned about the vertical by --hdri-rotation
        tree = world.node_tree
        env = tree.nodes.new("ShaderNodeTexEnvironment")
        env.image = bpy.data.images.load(args.hdri)
        mapping = tree.nodes.new("ShaderNodeMapping")
        mapping.inputs["Rotation"].default_value = (0.0, 0.0, math.radians(args.hdri_rotation))
        coords = tree.nodes.new("ShaderNodeTexCoord")
        tree.links.new(coords.outputs["Generated"], mapping.inputs["Vector"])
        tree.links.new(mapping.outputs["Vector"], env.inputs["Vector"])
        tree.links.new(env.outputs["Color"], bg.inputs["Color"])
    scene.world = world

    centre = ((size - 1) / 2.0, -(size - 1) / 2.0, float(np.mean(height)))
    if args.lamp:  # a point ("flash") or square area lamp, aimed at the centre from a distance
        kind, energy, dist, elev, azim, spread = args.lamp
        e, a = math.radians(float(elev)), math.radians(float(azim))
        d = float(dist) * size
        lamp_data = bpy.data.lights.new("lamp", kind.upper())
        lamp_data.energy = float(energy) * d * d  # so the centre gets about the same light at any distance
        if kind.upper() == "AREA":
            lamp_data.size = float(spread) * size
        lamp = bpy.data.objects.new("lamp", lamp_data)
        lamp.location = (centre[0] + d * math.cos(e) * math.cos(a), centre[1] + d * math.cos(e) * math.sin(a),
                         centre[2] + d * math.sin(e))
        lamp.rotation_euler = (0.0, math.pi / 2 - e, a)  # -Z toward the centre
        scene.collection.objects.link(lamp)

    if args.sun > 0:
        sun_data = bpy.data.lights.new("sun", "SUN")
        sun_data.energy = args.sun  # irradiance, W/m^2, on a surface facing the sun
        sun_data.angle = math.radians(args.sun_angle)
        sun = bpy.data.objects.new("sun", sun_data)
        # A sun lamp shines along its local -Z; turn it so -Z points from the light to the surface.
        e, a = math.radians(args.sun_elevation), math.radians(args.sun_azimuth)
        sun.rotation_euler = (0.0, math.pi / 2 - e, a)
        scene.collection.objects.link(sun)

    cam_data = bpy.data.cameras.new("cam")
    cam_data.type = "ORTHO"
    cam_data.ortho_scale = float(size)
    cam_data.clip_end = 10_000.0
    cam = bpy.data.objects.new("cam", cam_data)
    cam.location = ((size - 1) / 2.0, -(size - 1) / 2.0, float(np.max(height)) + 1000.0)
    scene.collection.objects.link(cam)
    scene.camera = cam

    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = args.samples
    scene.cycles.use_denoising = False
    scene.cycles.use_adaptive_sampling = False
    scene.cycles.max_bounces = args.bounces
    scene.cycles.diffuse_bounces = args.bounces
    scene.cycles.filter_width = 0.01  # one sample position per pixel centre: no pixel filter blur
    scene.render.resolution_x = scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    scene.render.image_settings.file_format = "OPEN_EXR"
    scene.render.image_settings.color_depth = "32"
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "render.exr")
        scene.render.filepath = path
        bpy.ops.render.render(write_still=True)
        img = bpy.data.images.load(path)
        px = np.empty(size * size * 4, np.float32)
        img.pixels.foreach_get(px)
    rgba = px.reshape(size, size, 4)[::-1]  # Blender's rows run bottom-up
    if args.normals:
        return rgba[..., :3] * 2.0 - 1.0
    return rgba[..., :3].copy() if args.rgb else rgba[..., 0].copy()


def main(argv=None):
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else (argv or sys.argv[1:])
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("heights")
    p.add_argument("out")
    p.add_argument("--sun", type=float, default=0.0, help="sun irradiance (0: no sun)")
    p.add_argument("--sun-elevation", type=float, default=45.0)
    p.add_argument("--sun-azimuth", type=float, default=0.0, help="degrees from +X (right) toward +Y (up)")
    p.add_argument("--sun-angle", type=float, default=0.53, help="angular diameter in degrees")
    p.add_argument("--sky", type=float, default=0.0, help="radiance of a uniform sky")
    p.add_argument("--albedo", type=float, default=0.5)
    p.add_argument("--roughness", type=float, default=None,
                   help="use a Principled BSDF of this roughness (default: a Lambertian Diffuse BSDF)")
    p.add_argument("--hdri", default="", help="an equirectangular environment map to light with")
    p.add_argument("--hdri-rotation", type=float, default=0.0, help="degrees about the vertical")
    p.add_argument("--lamp", nargs=6, metavar=("KIND", "ENERGY", "DIST", "ELEV", "AZIM", "SIZE"),
                   help="a POINT or AREA lamp: power per (distance in image widths)^2, distance in "
                        "image widths, elevation and azimuth in degrees, area side in image widths")
    p.add_argument("--bounces", type=int, default=0, help="0: direct light only")
    p.add_argument("--samples", type=int, default=128)
    p.add_argument("--rgb", action="store_true", help="write (S, S, 3) colour radiance (default: red only)")
    p.add_argument("--normals", action="store_true", help="write the shading normals (S, S, 3) instead")
    args = p.parse_args(argv)
    height = np.load(args.heights)
    np.save(args.out, render(height, args))


if __name__ == "__main__":
    main()
