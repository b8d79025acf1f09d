"""Reading the source image node and wiring the result into the material (main thread only).

Nodes and images this add-on made carry a custom property ``node["normalgen"] = ROLE`` (and
``node["normalgen_source"] = <source node name>``), so running again finds and updates them instead of
adding duplicates. Images also carry ``image["normalgen_material"]``: with the source node's name, the
owner of the file they hold.

Files this add-on wrote are overwritten only by a later run for the same owner (material and source
node), and only while they are as we wrote them: see ``destination``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from array import array

import bpy

from .engine import PHOTO_EXTENSIONS

TAG = "normalgen"
TAG_SOURCE = "normalgen_source"
TAG_MATERIAL = "normalgen_material"
TAG_FILE = "normalgen_file"  # "size:mtime_ns" of the file as this add-on wrote it

ROLE_NORMAL_IMAGE = "normal"
ROLE_NORMAL_MAP = "normal_map"
ROLE_HEIGHT_IMAGE = "height"
ROLE_DISPLACEMENT = "displacement"

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr", ".bmp", ".tga", ".webp", ".hdr"}


# --------------------------------------------------------------------------------------------------
# The source


def _node_editor_reason(space) -> str:
    """Why the Shader Editor ``space`` shows nothing this add-on works on; "" when it shows a material."""
    if getattr(space, "tree_type", "") != "ShaderNodeTree" or getattr(space, "shader_type", "OBJECT") != "OBJECT":
        return "normalgen works on object materials: set the Shader Editor to Object"
    edit_tree, node_tree = getattr(space, "edit_tree", None), getattr(space, "node_tree", None)
    if edit_tree is not None and node_tree is not None and edit_tree != node_tree:
        return ("Inside a node group: normalgen works on the material's own nodes "
                "(Tab out of the group and click the Image Texture node there)")
    return ""


def _context_material(context):
    """(material, "") the user is looking at, or (None, reason)."""
    space = getattr(context, "space_data", None)
    if space is not None and getattr(space, "type", "") == "NODE_EDITOR":
        reason = _node_editor_reason(space)
        if reason:
            return None, reason
        if isinstance(getattr(space, "id", None), bpy.types.Material):  # also a pinned material
            return space.id, ""
    obj = getattr(context, "active_object", None)
    if obj is None:
        view_layer = getattr(context, "view_layer", None)
        obj = view_layer.objects.active if view_layer else None
    if obj is None:
        return None, "No active object: select an object with a material"
    if obj.active_material is None:
        return None, f"The active object {obj.name!r} has no material"
    return obj.active_material, ""


def active_image_node(context):
    """(material, node) for the active Image Texture node of the material in view, or (None, reason)."""
    mat, reason = _context_material(context)
    if mat is None:
        return None, reason
    tree = mat.node_tree
    if tree is None or (bpy.app.version < (5, 0, 0) and not mat.use_nodes):  # 5.0: always nodes
        return None, f"The material {mat.name!r} does not use nodes"
    node = tree.nodes.active
    if node is None:
        return None, "No active node: click an Image Texture node in the Shader Editor"
    if node.bl_idname != "ShaderNodeTexImage":
        return None, f"The active node {node.name!r} is not an Image Texture node"
    if node.image is None:
        return None, f"The Image Texture node {node.name!r} has no image"
    if node.get(TAG) in (ROLE_NORMAL_IMAGE, ROLE_HEIGHT_IMAGE):
        return None, (f"The active node {node.name!r} holds a map normalgen made: "
                      "click the photo's Image Texture node")
    reason = unsupported_source(mat, node.image)
    if reason:
        return None, reason
    return mat, node


def unsupported_source(mat, image) -> str:
    """Why this material or image cannot be worked on, in one sentence; "" when it can."""
    if mat.library is not None or mat.override_library is not None or not mat.is_editable:
        return (f"The material {mat.name!r} is linked from a library, so changes to it are not saved: "
                "make it local first")
    if image.source == "TILED":
        return f"The image {image.name!r} is a UDIM tiled image: UDIM images are not supported yet"
    if image.source in ("SEQUENCE", "MOVIE"):
        return f"The image {image.name!r} is an image sequence or movie: only still images are supported"
    return ""


def image_stem(image) -> str:
    """The base name for outputs: the file's stem, else the image's name without an image extension."""
    if image.filepath and not image.packed_file and image.source == "FILE":
        stem = os.path.splitext(os.path.basename(bpy.path.abspath(image.filepath, library=image.library)))[0]
        if stem:
            return _safe_name(stem)
    stem, ext = os.path.splitext(image.name)
    if ext.lower() not in IMAGE_EXTENSIONS:
        stem = image.name
    return _safe_name(stem) or "image"


def _safe_name(name: str) -> str:
    return "".join(c if (c.isalnum() or c in "-_.") else "_" for c in name).strip(".")


def engine_reads(path: str) -> bool:
    """True when the engine reads this kind of file itself (else Blender's pixels are exported)."""
    return os.path.splitext(path)[1].lower() in PHOTO_EXTENSIONS


def source_file(image) -> str | None:
    """The image's file on disk (absolute) when Blender's pixels are that file unchanged and the engine
    reads its format, else None."""
    if image.packed_file or image.source != "FILE" or not image.filepath or image.is_dirty:
        return None
    # abspath: "//x.png" of an unsaved .blend is relative to Blender's folder, not the engine's.
    path = os.path.abspath(bpy.path.abspath(image.filepath, library=image.library))
    return path if os.path.isfile(path) and engine_reads(path) else None


def export_source(image, folder: str) -> str:
    """Write the image's pixels (packed, generated, unsaved or edited) to a file in ``folder``.

    Raises RuntimeError with a one-line reason when Blender has no pixels for it.
    """
    os.makedirs(folder, exist_ok=True)
    stem = image_stem(image)
    packed = image.packed_file
    ext = os.path.splitext(image.filepath or image.name)[1].lower()
    if packed is not None and not image.is_dirty and ext in PHOTO_EXTENSIONS:
        # The packed bytes are the original file, in a format the engine reads: write them as they are.
        path = os.path.join(folder, stem + ext)
        with open(path, "wb") as fh:
            fh.write(packed.data)
        return path
    if not image.has_data:
        # Touching pixels loads the buffer when there is something to load.
        try:
            _ = image.size[0] * image.size[1]
            image.pixels[0]
        except Exception:
            pass
    if not image.has_data or image.size[0] == 0 or image.size[1] == 0:
        raise RuntimeError(f"The image {image.name!r} has no pixels that Blender can read")
    # Uncompressed 8-bit Targa: this runs on the UI thread, and at 4096² Blender's PNG encoder froze
    # it for 2.3 s (byte image) to 4.2 s (float, 16-bit), this whole function for 0.4 and 0.8 s
    # (benchmarks/addon_export.py). A byte image's pixels are the same either way; a float image's
    # lose its 16-bit precision, which moved maps by 0.26° on average (8-bit photos, as most are).
    path = os.path.join(folder, stem + ".tga")
    # Copy the pixels into a throw-away image and save that: Image.save(filepath=...) on the source
    # itself would turn a generated image into a file image on 4.2 (save_copy only came later).
    width, height = image.size
    values = _rgba_pixels(image, width * height)
    tmp = bpy.data.images.new("normalgen_export", width, height, alpha=True, float_buffer=image.is_float)
    try:
        if image.is_float:
            tmp.colorspace_settings.name = image.colorspace_settings.name
        tmp.pixels.foreach_set(values)
        tmp.filepath_raw = path
        tmp.file_format = "TARGA_RAW"
        tmp.save()
    finally:
        bpy.data.images.remove(tmp)
    if not os.path.isfile(path):
        raise RuntimeError(f"Could not write a copy of the image {image.name!r}")
    return path


def _rgba_pixels(image, count: int) -> array:
    """The image's pixels as flat RGBA float32 (compact: no Python float per value)."""
    ch = image.channels
    src = array("f", bytes(4 * count * ch))
    image.pixels.foreach_get(src)
    if ch == 4:
        return src
    out = array("f", [1.0]) * (count * 4)
    if ch >= 3:
        for c in range(3):
            out[c::4] = src[c::ch]
    else:  # grey, grey + alpha
        for c in range(3):
            out[c::4] = src[0::ch]
        if ch == 2:
            out[3::4] = src[1::ch]
    return out


# --------------------------------------------------------------------------------------------------
# Graph look-ups


def _links_from(tree, node):
    return [link for link in tree.links if link.from_node == node and not getattr(link, "is_muted", False)]


def _is_shader_with_normal(node) -> bool:
    return node.inputs.get("Normal") is not None and any(out.type == "SHADER" for out in node.outputs)


def find_shader(tree, source):
    """The shader node the source feeds (following links downstream) whose Normal input gets the map:
    a Principled BSDF first, else the nearest shader with a Normal input (Diffuse, Glossy, ...); None
    when there is none.

    A source that feeds nothing at all, in a material with exactly one Principled BSDF, gets that one.
    """
    seen = {source.name}
    frontier = [source]
    shaders = []
    while frontier:
        node = frontier.pop(0)
        for link in _links_from(tree, node):
            to = link.to_node
            if to.name in seen:
                continue
            seen.add(to.name)
            frontier.append(to)
            if to.bl_idname == "ShaderNodeBsdfPrincipled":
                return to
            if _is_shader_with_normal(to):
                shaders.append(to)
    if shaders:
        return shaders[0]
    if not _links_from(tree, source):
        principled = [n for n in tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled"]
        if len(principled) == 1:
            return principled[0]
    return None


def vector_link_socket(source):
    """The output socket feeding the source's Vector input (to share its mapping), or None."""
    sock = source.inputs.get("Vector")
    if sock is None or not sock.is_linked:
        return None
    return sock.links[0].from_socket


def uv_map_of(source) -> str:
    """The UV map name when the source is fed by a UV Map node (through Mapping/Reroute), else ""."""
    node = source
    for _ in range(32):
        sock = node.inputs.get("Vector") if node.bl_idname != "NodeReroute" else node.inputs[0]
        if sock is None or not sock.is_linked:
            return ""
        up = sock.links[0].from_node
        if up.bl_idname == "ShaderNodeUVMap":
            return up.uv_map
        if up.bl_idname in ("ShaderNodeMapping", "NodeReroute"):
            node = up
            continue
        return ""
    return ""


def material_output(tree):
    outputs = [n for n in tree.nodes if n.bl_idname == "ShaderNodeOutputMaterial"]
    for node in outputs:
        if getattr(node, "is_active_output", False):
            return node
    return outputs[0] if outputs else None


def tagged_node(tree, role: str, source_name: str):
    for node in tree.nodes:
        if node.get(TAG) == role and node.get(TAG_SOURCE) == source_name:
            return node
    return None


def _texture_like(tree, source, source_name, role, image, label, location, vector_from):
    """An Image Texture node (found again by its role, or made) holding `image`, sampled exactly
    like `source`: same interpolation, projection, extension and Vector input, so maps line up."""
    node, _ = _ensure_node(tree, role, source_name, "ShaderNodeTexImage", location)
    node.image = image
    node.label = label
    for attr in ("interpolation", "projection", "extension"):
        try:
            setattr(node, attr, getattr(source, attr))
        except (AttributeError, TypeError):
            pass
    if vector_from is not None:
        tree.links.new(vector_from, node.inputs["Vector"])
    return node


def _ensure_node(tree, role, source_name, bl_idname, location):
    node = tagged_node(tree, role, source_name)
    if node is not None and node.bl_idname != bl_idname:
        tree.nodes.remove(node)
        node = None
    created = node is None
    if created:
        node = tree.nodes.new(bl_idname)
        node[TAG] = role
        node[TAG_SOURCE] = source_name
        node.location = location
    return node, created


# --------------------------------------------------------------------------------------------------
# Images


def _same_path(a: str, b: str) -> bool:
    try:
        return _path_key(a) == _path_key(b)
    except (OSError, ValueError):
        return False


# Files written in this Blender session: path key -> (owner, (size, mtime)). Outside bpy.data, so undo
# (which removes the image and its tags) does not turn our own file into a stranger's.
_written: dict = {}


def _path_key(path: str) -> str:
    return os.path.normcase(os.path.realpath(path))


def _stat(path: str):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def image_owner(image) -> tuple:
    """(material name, source node name) an image of ours was made for; (None, None) when unknown."""
    return image.get(TAG_MATERIAL), image.get(TAG_SOURCE)


def _our_images_at(path: str):
    """Images of ours in the .blend that hold the file ``path`` (not packed ones: their path is no file)."""
    for image in bpy.data.images:
        if image.get(TAG) and image.filepath and not image.packed_file:
            if _same_path(bpy.path.abspath(image.filepath, library=image.library), path):
                yield image


def is_ours(path: str, owner: tuple, current_image=None) -> bool:
    """True when this add-on wrote the file ``path`` for ``owner`` and it is unchanged since."""
    record = _written.get(_path_key(path))
    if record is not None:  # written this session: ours only while it is as we wrote it
        return record == (owner, _stat(path))
    for image in _our_images_at(path):  # written in an earlier session, saved in the .blend
        if image_owner(image) == owner:  # ours only while the file is as we wrote it (not edited since)
            recorded = image.get(TAG_FILE)
            return recorded is None or recorded == _stat_tag(path)  # None: made before the record existed
        if image == current_image and image_owner(image) == (None, None):  # made by an older version
            return True
    return False


def _stat_tag(path: str) -> str | None:
    st = _stat(path)
    return None if st is None else f"{st[0]}:{st[1]}"  # a string: ID properties hold 32-bit ints


def destination(folder: str, filename: str, owner: tuple, current_image=None) -> str:
    """Where to put ``filename`` in ``folder``: never over a file that is not ours for ``owner``."""
    stem, ext = os.path.splitext(filename)
    candidate = os.path.join(folder, filename)
    n = 1
    while os.path.exists(candidate) and not is_ours(candidate, owner, current_image):
        candidate = os.path.join(folder, f"{stem}.{n:03d}{ext}")
        n += 1
    return candidate


def write_file(src: str, dst: str, owner: tuple) -> None:
    """Copy ``src`` to ``dst`` through a hidden temporary file in the same folder (``dst`` is always
    either the old file or the whole new one), and remember that ``owner``'s run wrote it."""
    folder, name = os.path.split(dst)
    stem, ext = os.path.splitext(name)
    tmp = os.path.join(folder, f".{stem}.tmp-{secrets.token_hex(4)}{ext}")  # the engine skips these names
    try:
        with open(src, "rb") as fin, open(tmp, "xb") as fout:
            shutil.copyfileobj(fin, fout)
        os.replace(tmp, dst)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _written[_path_key(dst)] = (owner, _stat(dst))


def _reusable(image, role: str, owner: tuple) -> bool:
    return image is not None and image.get(TAG) == role and image_owner(image) in (owner, (None, None))


def _load_result(path: str, name: str, role: str, existing, owner: tuple, pack: bool, relative: bool):
    """Load (or reload) a result image as Non-Color; pack it when asked. Returns the image."""
    image = existing if _reusable(existing, role, owner) else None
    if image is not None:
        if image.packed_file:
            image.unpack(method="REMOVE")
        image.filepath = path
        image.source = "FILE"
        image.reload()
    else:
        image = bpy.data.images.load(path, check_existing=False)
        image[TAG] = role
    image[TAG_MATERIAL], image[TAG_SOURCE] = owner
    if pack:
        image.pop(TAG_FILE, None)
    else:
        image[TAG_FILE] = _stat_tag(path)
    if image.name != name and name not in bpy.data.images:
        image.name = name
    image.colorspace_settings.name = "Non-Color"
    if pack:
        image.pack()
        # No path: a made-up "//name.png" could later name (and be unpacked over) a real file.
        image.filepath_raw = ""
    elif relative and bpy.data.filepath:
        try:
            image.filepath = bpy.path.relpath(path)
        except ValueError:  # another drive on Windows
            pass
    image.reload()
    return image


# --------------------------------------------------------------------------------------------------
# Wiring


class Result:
    def __init__(self):
        self.normal_image = None
        self.height_image = None
        self.warnings = []


def apply_result(material, source_name: str, normal_file: str, height_file: str | None, *,
                 strength_node: float | None = None, connect_displacement: bool = False) -> Result:
    """Put the engine's files in place and wire them into ``material`` (one undo step, main thread).

    Everything that can fail before the node graph is touched (copying files, loading images) is done
    first; the graph edits at the end only add, link and set.
    """
    result = Result()
    tree = material.node_tree
    if tree is None:
        raise RuntimeError(f"The material {material.name!r} no longer uses nodes")
    source = tree.nodes.get(source_name)
    if source is None or source.bl_idname != "ShaderNodeTexImage" or source.image is None:
        raise RuntimeError(f"The Image Texture node {source_name!r} is gone from {material.name!r}")
    src_image = source.image
    stem = image_stem(src_image)
    src_path = source_file(src_image)

    old_normal_node = tagged_node(tree, ROLE_NORMAL_IMAGE, source_name)
    old_height_node = tagged_node(tree, ROLE_HEIGHT_IMAGE, source_name)
    old_normal_image = old_normal_node.image if old_normal_node else None
    old_height_image = old_height_node.image if old_height_node else None

    # 1. Files: next to the source when it is a file in a writable folder, else packed.
    pack = src_path is None
    folder = os.path.dirname(src_path) if src_path else ""
    if folder and not os.access(folder, os.W_OK):
        pack = True
        result.warnings.append(f"{folder} is not writable: the normal map is packed into the .blend")
    normal_name = f"{stem}_normal"
    height_name = f"{stem}_height"
    owner = (material.name, source_name)
    if pack:
        normal_path, height_path = normal_file, height_file
    else:
        normal_path = destination(folder, normal_name + ".png", owner, old_normal_image)
        write_file(normal_file, normal_path, owner)
        normal_name = os.path.splitext(os.path.basename(normal_path))[0]
        height_path = None
        if height_file:
            height_path = destination(folder, height_name + ".png", owner, old_height_image)
            write_file(height_file, height_path, owner)
            height_name = os.path.splitext(os.path.basename(height_path))[0]

    # 2. Images.
    result.normal_image = _load_result(normal_path, normal_name, ROLE_NORMAL_IMAGE, old_normal_image, owner,
                                       pack, relative=not pack)
    if height_path:
        result.height_image = _load_result(height_path, height_name, ROLE_HEIGHT_IMAGE, old_height_image, owner,
                                           pack, relative=not pack)

    # 3. Nodes.
    if getattr(source, "projection", "FLAT") != "FLAT":
        result.warnings.append(
            f"{source_name!r} uses {source.projection.title()} projection: a tangent-space normal map "
            "follows the UV map, so its shading will be wrong there")
    x, y = source.location
    shader = find_shader(tree, source)
    vector_from = vector_link_socket(source)

    img_node = _texture_like(tree, source, source_name, ROLE_NORMAL_IMAGE, result.normal_image,
                             "Normal (normalgen)", (x, y - 320), vector_from)

    nmap, created = _ensure_node(tree, ROLE_NORMAL_MAP, source_name, "ShaderNodeNormalMap", (x + 300, y - 320))
    nmap.space = "TANGENT"
    nmap.uv_map = uv_map_of(source)
    if created and strength_node is not None:
        nmap.inputs["Strength"].default_value = strength_node
    tree.links.new(img_node.outputs["Color"], nmap.inputs["Color"])

    if shader is not None:
        _wire_normal(tree, nmap, shader, result)
    else:
        result.warnings.append(
            f"{source_name!r} feeds no shader with a Normal input: connect the Normal Map node yourself")

    if result.height_image is None:
        _remove_height_nodes(tree, source_name)
    else:
        himg = _texture_like(tree, source, source_name, ROLE_HEIGHT_IMAGE, result.height_image,
                             "Height (normalgen)", (x, y - 620), vector_from)
        disp, created = _ensure_node(tree, ROLE_DISPLACEMENT, source_name, "ShaderNodeDisplacement",
                                     (x + 300, y - 620))
        if created:
            disp.inputs["Scale"].default_value = 0.1
        tree.links.new(himg.outputs["Color"], disp.inputs["Height"])
        if connect_displacement:
            out = material_output(tree)
            if out is None:
                result.warnings.append("No Material Output node to connect the displacement to")
            else:
                tree.links.new(disp.outputs["Displacement"], out.inputs["Displacement"])
        else:
            for link in list(disp.outputs["Displacement"].links):  # ours, from an earlier run
                if link.to_node.bl_idname == "ShaderNodeOutputMaterial":
                    tree.links.remove(link)
    return result


def _wire_normal(tree, nmap, shader, result) -> None:
    """Link the Normal Map node into ``shader``'s Normal input. An artist's Bump node already there
    stays: the map goes into the Bump's Normal input instead (the two add up)."""
    normal_in = shader.inputs["Normal"]
    feed = normal_in.links[0].from_node if normal_in.is_linked else None
    if feed == nmap:
        return
    if feed is not None and feed.bl_idname == "ShaderNodeBump":
        bump_in = feed.inputs["Normal"]
        if not bump_in.is_linked or bump_in.links[0].from_node == nmap:
            tree.links.new(nmap.outputs["Normal"], bump_in)
        else:
            result.warnings.append(
                f"{feed.name!r} into {shader.name!r} Normal already has a normal input: "
                "connect the Normal Map node yourself")
        return
    if feed is not None:
        result.warnings.append(f"Replaced the link from {feed.name!r} into {shader.name!r} Normal")
    tree.links.new(nmap.outputs["Normal"], normal_in)


def _remove_height_nodes(tree, source_name: str) -> None:
    """Height map turned off: remove our height texture and Displacement node (and so their links)."""
    for role in (ROLE_HEIGHT_IMAGE, ROLE_DISPLACEMENT):
        node = tagged_node(tree, role, source_name)
        if node is not None:
            tree.nodes.remove(node)
