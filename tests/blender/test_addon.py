"""The add-on inside a real Blender (bpy 5.0 from PyPI), against the real normalgen CLI.

Run by tests/blender/run.sh in the bpy venv; NORMALGEN_ENGINE names the engine venv's ``normalgen``.
The built zip is installed the way a user would (Install from Disk) into a throw-away user folder.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")
import numpy as np  # noqa: E402  (bpy's own numpy)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pngutil import read_png, write_png  # noqa: E402

pytestmark = pytest.mark.blender

TAG = "normalgen"


# -- helpers ---------------------------------------------------------------------------------------


def make_photo(path: Path, w: int = 64, h: int = 48, phase: float = 0.0) -> Path:
    """A small 'photo': smooth bumps plus a ridge, in colour, so every method sees relief."""
    rows = []
    for y in range(h):
        row = []
        for x in range(w):
            v = 0.5 + 0.3 * math.sin(x / 4.0 + phase) * math.cos(y / 5.0) + (0.15 if 20 <= x <= 24 else 0.0)
            v = max(0.0, min(1.0, v))
            row += [int(v * 255), int(v * 230 + 10), int(v * 200 + 20)]
        rows.append(row)
    write_png(path, w, h, rows)
    return path


def build_material(image, name="NG_Test", uv_map_node: str | None = None):
    """A material on the Cube: Image Texture -> Principled BSDF Base Color, the image node active."""
    obj = bpy.data.objects["Cube"]
    bpy.context.view_layer.objects.active = obj
    mat = bpy.data.materials.new(name)
    if mat.node_tree is None:  # 4.x: materials start without nodes
        mat.use_nodes = True
    tree = mat.node_tree
    tree.nodes.clear()
    out = tree.nodes.new("ShaderNodeOutputMaterial")
    out.location = (400, 0)
    bsdf = tree.nodes.new("ShaderNodeBsdfPrincipled")
    tree.links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])
    tex = tree.nodes.new("ShaderNodeTexImage")
    tex.location = (-400, 0)
    tex.image = image
    tree.links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
    if uv_map_node:
        uv = tree.nodes.new("ShaderNodeUVMap")
        uv.uv_map = uv_map_node
        mapping = tree.nodes.new("ShaderNodeMapping")
        tree.links.new(uv.outputs["UV"], mapping.inputs["Vector"])
        tree.links.new(mapping.outputs["Vector"], tex.inputs["Vector"])
    tree.nodes.active = tex
    obj.material_slots[0].material = mat
    return mat, tex, bsdf, out


def snapshot(mat):
    tree = mat.node_tree
    nodes = sorted((n.name, n.bl_idname, getattr(getattr(n, "image", None), "name", None)) for n in tree.nodes)
    links = sorted((lk.from_node.name, lk.from_socket.identifier, lk.to_node.name, lk.to_socket.identifier)
                   for lk in tree.links)
    return nodes, links, sorted(i.name for i in bpy.data.images)


def tagged(mat, role):
    return [n for n in mat.node_tree.nodes if n.get(TAG) == role]


def linked_from(socket):
    assert socket.is_linked, f"{socket.node.name}.{socket.name} is not linked"
    return socket.links[0].from_node


def blender_rgb(image) -> np.ndarray:
    w, h = image.size
    buf = np.empty(w * h * image.channels, dtype=np.float32)
    image.pixels.foreach_get(buf)
    return buf.reshape(h, w, image.channels)[::-1, :, :3]  # Blender stores rows bottom-up


def png_rgb(path) -> np.ndarray:
    w, h, c, depth, rows = read_png(path)
    arr = np.asarray(rows, dtype=np.float64).reshape(h, w, c) / (65535.0 if depth == 16 else 255.0)
    if c < 3:
        arr = np.repeat(arr[:, :, :1], 3, axis=2)
    return arr[:, :, :3]


def run_cli(exe, photo, outdir, *extra):
    outdir.mkdir(parents=True, exist_ok=True)
    cmd = [exe, "convert", str(photo), "-o", str(outdir), "--suffix", "_normal", "--format", "png",
           "--convention", "opengl", "--overwrite", "--progress", "none", *extra]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return outdir


def generate(**kwargs):
    kwargs.setdefault("method", "SOBEL")
    return bpy.ops.normalgen.generate_normal_map(**kwargs)


@pytest.fixture
def photo(tmp_path):
    (tmp_path / "photos").mkdir()
    return make_photo(tmp_path / "photos" / "rock.png")


@pytest.fixture(autouse=True)
def _fresh(addon, real_engine):
    addon.engine_path = real_engine
    yield
    for mat in list(bpy.data.materials):
        if mat.name.startswith("NG_"):
            bpy.data.materials.remove(mat)
    for img in list(bpy.data.images):
        bpy.data.images.remove(img)


# -- the extension ---------------------------------------------------------------------------------


def test_manifest_and_zip_pass_blenders_validator(addon_zip):
    validator = Path(bpy.utils.system_resource("SCRIPTS")) / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"
    proc = subprocess.run([sys.executable, str(validator), "validate", str(addon_zip)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_installed_as_an_extension_with_its_own_user_folder(addon):
    mod = sys.modules["bl_ext.user_default.normalgen"]
    assert type(addon).bl_idname == mod.__name__
    user = bpy.utils.extension_path_user(mod.__name__)
    assert user.startswith(os.environ["BLENDER_USER_RESOURCES"])
    assert mod.preferences.private_venv_dir() == os.path.join(user, "venv")
    # Nothing heavy came into Blender's Python with the add-on.
    assert not any(m == "tensorflow" or m.startswith(("tensorflow.", "keras", "normalgen.")) for m in sys.modules)


def test_test_engine_reports_version_and_model(addon, real_engine):
    import json

    assert bpy.ops.normalgen.test_engine() == {"FINISHED"}
    info = subprocess.run([real_engine, "info", "--json"], capture_output=True, text=True).stdout
    version = json.loads(info.strip().splitlines()[-1])["version"]
    assert addon.engine_status.startswith(f"normalgen {version} · model ")
    if addon.model_path:
        assert os.path.basename(addon.model_path) in addon.engine_status
        assert "model error" not in addon.engine_status


def _wheel(folder: Path) -> Path:
    """A tiny pure-Python wheel named normalgen whose console script answers ``info --json``."""
    import base64
    import hashlib
    import zipfile

    files = {
        "normalgen_fake_engine.py": (
            "import json, sys\n"
            "def main():\n"
            "    print(json.dumps({'version': '9.9.9-wheel', 'model_path': 'tiny.keras', 'backend': 'none'}))\n"
        ),
        "normalgen-9.9.9.dist-info/METADATA": "Metadata-Version: 2.1\nName: normalgen\nVersion: 9.9.9\n",
        "normalgen-9.9.9.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        "normalgen-9.9.9.dist-info/entry_points.txt": "[console_scripts]\nnormalgen = normalgen_fake_engine:main\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    record.append("normalgen-9.9.9.dist-info/RECORD,,")
    files["normalgen-9.9.9.dist-info/RECORD"] = "\n".join(record) + "\n"
    path = folder / "normalgen-9.9.9-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


def test_install_engine_makes_a_private_venv(addon, tmp_path):
    import site

    mod = sys.modules["bl_ext.user_default.normalgen"]
    blender_site = [Path(p) for p in site.getsitepackages()]
    before = {p: sorted(os.listdir(p)) for p in blender_site if p.is_dir()}
    addon.engine_source = str(_wheel(tmp_path))
    addon.engine_path = ""
    try:
        assert bpy.ops.normalgen.install_engine() == {"FINISHED"}
        venv = Path(mod.preferences.private_venv_dir())
        assert venv.is_relative_to(Path(bpy.utils.extension_path_user(mod.__name__)))
        exe = mod.engine.venv_executable(str(venv))
        assert os.path.isfile(exe)
        assert mod.preferences.resolve_engine() == exe  # found without setting a path
        # Online access off (bpy's default): pip was told not to download anything.
        log = (Path(bpy.utils.extension_path_user(mod.__name__)) / "install.log").read_text()
        assert ("--no-index" in log) == (not bpy.app.online_access)
        # ... and looked for the wheel's dependencies beside it (a folder `pip download` made)
        assert (f"--find-links {tmp_path}" in log) == (not bpy.app.online_access)
        assert bpy.ops.normalgen.test_engine() == {"FINISHED"}
        assert "9.9.9-wheel" in addon.engine_status and "tiny.keras" in addon.engine_status
        assert {p: sorted(os.listdir(p)) for p in blender_site if p.is_dir()} == before
    finally:
        import shutil

        shutil.rmtree(mod.preferences.private_venv_dir(), ignore_errors=True)
        addon.engine_source = ""


def test_install_engine_does_not_download_without_online_access(addon, tmp_path):
    if bpy.app.online_access:
        pytest.skip("Blender's online access is on here")
    addon.engine_source = "normalgen==0.1.0"  # only pip's index has it
    try:
        with pytest.raises(RuntimeError, match="online access is off"):
            bpy.ops.normalgen.install_engine()
    finally:
        addon.engine_source = ""
    assert not os.path.exists(sys.modules["bl_ext.user_default.normalgen"].preferences.private_venv_dir())


def test_an_engine_that_is_not_executable_is_named_so(photo, addon, tmp_path):
    exe = tmp_path / "normalgen"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o644)
    addon.engine_path = str(exe)
    build_material(bpy.data.images.load(str(photo)))
    with pytest.raises(RuntimeError, match="is not executable"):
        generate()
    addon.engine_path = str(tmp_path)
    with pytest.raises(RuntimeError, match="has no normalgen program in it"):
        generate()


def test_an_engine_whose_python_is_gone_is_named_so(photo, addon, tmp_path):
    exe = tmp_path / "venv" / "bin" / "normalgen"
    exe.parent.mkdir(parents=True)
    exe.write_text(f"#!{tmp_path / 'gone' / 'python'}\nimport sys\n")
    exe.chmod(0o755)
    addon.engine_path = str(exe)
    build_material(bpy.data.images.load(str(photo)))
    for op in (generate, bpy.ops.normalgen.test_engine):
        with pytest.raises(RuntimeError, match="cannot start: its Python .*gone.* is gone"):
            op()


# -- the button ------------------------------------------------------------------------------------


def test_poll_reason_without_an_active_image_node(photo):
    mat, tex, bsdf, _out = build_material(bpy.data.images.load(str(photo)))
    mat.node_tree.nodes.active = bsdf
    assert not bpy.ops.normalgen.generate_normal_map.poll()
    with pytest.raises(RuntimeError, match="is not an Image Texture node"):
        generate()
    mat.node_tree.nodes.active = tex
    tex.image = None
    with pytest.raises(RuntimeError, match="has no image"):
        generate()


def test_generate_wires_the_cli_result(photo, real_engine, tmp_path):
    image = bpy.data.images.load(str(photo))
    mat, tex, bsdf, out = build_material(image)
    assert generate(strength=1.5) == {"FINISHED"}

    nmap = linked_from(bsdf.inputs["Normal"])
    assert nmap.bl_idname == "ShaderNodeNormalMap" and nmap.space == "TANGENT" and nmap.uv_map == ""
    img_node = linked_from(nmap.inputs["Color"])
    assert img_node.bl_idname == "ShaderNodeTexImage" and img_node.get(TAG) == "normal"
    result = img_node.image
    assert result.name == "rock_normal"
    assert result.colorspace_settings.name == "Non-Color"
    assert not result.packed_file
    saved = photo.parent / "rock_normal.png"
    assert saved.is_file() and Path(bpy.path.abspath(result.filepath)).resolve() == saved.resolve()
    assert not out.inputs["Displacement"].is_linked
    assert tex.image == image and linked_from(bsdf.inputs["Base Color"]) == tex

    ref = run_cli(real_engine, photo, tmp_path / "ref", "--method", "sobel", "--bit-depth", "8", "--strength", "1.5")
    expected = png_rgb(ref / "rock_normal.png")
    got = blender_rgb(result)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-6
    assert expected[:, :, 0].std() > 0.01  # the photo really has relief

    # Running again updates the same image and nodes.
    before = snapshot(mat)
    assert generate(strength=1.5) == {"FINISHED"}
    assert snapshot(mat) == before
    assert len(tagged(mat, "normal")) == 1 and len(tagged(mat, "normal_map")) == 1
    assert bpy.data.images["rock_normal"] == result and np.abs(blender_rgb(result) - expected).max() < 1e-6


@pytest.mark.skipif(not os.environ.get("NORMALGEN_TEST_MODEL"), reason="NORMALGEN_TEST_MODEL (a tiny .keras) not set")
def test_model_method_matches_the_cli(photo, real_engine, tmp_path, addon):
    model = os.environ["NORMALGEN_TEST_MODEL"]
    assert addon.model_path == model
    mat, tex, bsdf, _out = build_material(bpy.data.images.load(str(photo)))
    assert generate(method="MODEL", seamless=True) == {"FINISHED"}
    result = linked_from(linked_from(bsdf.inputs["Normal"]).inputs["Color"]).image
    ref = run_cli(real_engine, photo, tmp_path / "refm", "--method", "model", "--model", model, "--seamless")
    assert np.abs(blender_rgb(result) - png_rgb(ref / "rock_normal.png")).max() < 1e-6


def test_light_side_reaches_the_shipped_one_side_model(photo, real_engine, tmp_path, addon):
    """Light from: Top runs the engine with --light-from top, i.e. the shipped model trained on
    light from one side: the same pixels as the CLI, and not those of the default model."""
    saved, addon.model_path = addon.model_path, ""
    try:
        mat, tex, bsdf, _out = build_material(bpy.data.images.load(str(photo)))
        assert generate(method="MODEL", light_from="TOP") == {"FINISHED"}
        result = linked_from(linked_from(bsdf.inputs["Normal"]).inputs["Color"]).image
    finally:
        addon.model_path = saved
    lit = png_rgb(run_cli(real_engine, photo, tmp_path / "lit", "--light-from", "top") / "rock_normal.png")
    default = png_rgb(run_cli(real_engine, photo, tmp_path / "default") / "rock_normal.png")
    assert np.abs(blender_rgb(result) - lit).max() < 1e-6
    assert np.abs(lit - default).max() > 0.05


def _jpeg_with_orientation(png: Path, jpg: Path, orientation: int) -> Path:
    """``png`` saved by Blender as a JPEG, with an EXIF Orientation tag (a phone photo held sideways)."""
    image = bpy.data.images.load(str(png))
    image.pixels[0]  # load the pixels before pointing the image elsewhere
    image.filepath_raw, image.file_format = str(jpg), "JPEG"
    image.save()
    bpy.data.images.remove(image)
    tiff = b"MM\x00*\x00\x00\x00\x08" + b"\x00\x01" + b"\x01\x12\x00\x03\x00\x00\x00\x01" + \
        orientation.to_bytes(2, "big") + b"\x00\x00" + b"\x00\x00\x00\x00"
    app1 = b"Exif\x00\x00" + tiff
    data = jpg.read_bytes()
    assert data[:2] == b"\xff\xd8"
    jpg.write_bytes(data[:2] + b"\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1 + data[2:])
    return jpg


def test_exif_orientation_is_ignored_as_blender_does(photo, real_engine, tmp_path, addon):
    """Blender shows a JPEG's pixels as stored; the engine reads them the same way (--ignore-orientation),
    so Light from: Top names the top of the picture the artist sees."""
    mod = sys.modules["bl_ext.user_default.normalgen"]
    args = mod.engine.build_convert_args("normalgen", "in.jpg", "out", mod.engine.ConvertOptions())
    assert "--ignore-orientation" in args
    jpg = _jpeg_with_orientation(photo, photo.parent / "phone.jpg", 6)
    saved, addon.model_path = addon.model_path, ""
    try:
        image = bpy.data.images.load(str(jpg))
        mat, tex, bsdf, _out = build_material(image)
        assert generate(method="MODEL", light_from="TOP") == {"FINISHED"}
        result = linked_from(linked_from(bsdf.inputs["Normal"]).inputs["Color"]).image
    finally:
        addon.model_path = saved
    assert tuple(result.size) == tuple(image.size) == (64, 48)
    stored = png_rgb(run_cli(real_engine, jpg, tmp_path / "stored", "--light-from", "top", "--ignore-orientation")
                     / "phone_normal.png")
    upright = png_rgb(run_cli(real_engine, jpg, tmp_path / "upright", "--light-from", "top") / "phone_normal.png")
    assert np.abs(blender_rgb(result) - stored).max() < 1e-6
    assert np.abs(stored - upright).max() > 0.05  # the photo's EXIF rotation really mattered


def test_ctrl_z_undoes_the_whole_change(photo):
    mat, *_ = build_material(bpy.data.images.load(str(photo)))
    name = mat.name
    bpy.ops.ed.undo_push(message="material built")
    before = snapshot(mat)
    assert bpy.ops.normalgen.generate_normal_map("EXEC_DEFAULT", True, method="SOBEL") == {"FINISHED"}
    assert snapshot(bpy.data.materials[name]) != before
    bpy.ops.ed.undo()
    assert snapshot(bpy.data.materials[name]) == before  # nodes, links and the new image all gone


def test_invoke_default_in_background_runs_to_completion(photo):
    # Without a window Blender calls execute() even for INVOKE_DEFAULT: a script gets the finished result.
    build_material(bpy.data.images.load(str(photo)))
    assert bpy.app.background
    assert bpy.ops.normalgen.generate_normal_map("INVOKE_DEFAULT", method="SOBEL") == {"FINISHED"}
    assert "rock_normal" in bpy.data.images


def test_16bit_is_a_float_image_matching_the_cli(photo, real_engine, tmp_path):
    mat, tex, bsdf, _out = build_material(bpy.data.images.load(str(photo)))
    assert generate(use_16bit=True) == {"FINISHED"}
    result = linked_from(linked_from(bsdf.inputs["Normal"]).inputs["Color"]).image
    assert result.is_float and result.colorspace_settings.name == "Non-Color"
    ref = run_cli(real_engine, photo, tmp_path / "ref16", "--method", "sobel", "--bit-depth", "16")
    _w, _h, _c, depth, _rows = read_png(ref / "rock_normal.png")
    assert depth == 16
    assert np.abs(blender_rgb(result) - png_rgb(ref / "rock_normal.png")).max() < 1e-4


def test_invert_wires_the_map_of_the_sunk_relief_as_the_cli_makes_it(photo, real_engine, tmp_path):
    mat, tex, bsdf, _out = build_material(bpy.data.images.load(str(photo)))
    assert generate(invert=True) == {"FINISHED"}
    result = linked_from(linked_from(bsdf.inputs["Normal"]).inputs["Color"]).image
    inverted = png_rgb(run_cli(real_engine, photo, tmp_path / "refi", "--method", "sobel", "--invert")
                       / "rock_normal.png")
    plain = png_rgb(run_cli(real_engine, photo, tmp_path / "refp", "--method", "sobel") / "rock_normal.png")
    assert np.abs(blender_rgb(result) - inverted).max() < 1e-6
    assert np.abs(inverted - plain).max() > 0.05  # the option made a difference


@pytest.mark.parametrize("alpha_mode", ["STRAIGHT", "CHANNEL_PACKED"])
def test_alpha_is_transparency_unless_blender_is_told_it_is_not(tmp_path, real_engine, alpha_mode):
    # A leaf on black with alpha: flat where transparent. Channel Packed (alpha holds a mask or
    # roughness): the colours alone, which --ignore-alpha reads.
    base = make_photo(tmp_path / "base.png")
    w, h, _c, _d, rows = read_png(base)
    rgba = [sum(([*row[3 * x : 3 * x + 3], 255] if 16 <= x < 48 else [0, 0, 0, 0] for x in range(w)), [])
            for row in rows]
    write_png(tmp_path / "leaf.png", w, h, rgba, channels=4)
    image = bpy.data.images.load(str(tmp_path / "leaf.png"))
    image.alpha_mode = alpha_mode
    mat, tex, bsdf, _out = build_material(image)
    assert generate() == {"FINISHED"}
    result = blender_rgb(linked_from(linked_from(bsdf.inputs["Normal"]).inputs["Color"]).image)
    extra = ("--ignore-alpha",) if alpha_mode == "CHANNEL_PACKED" else ()
    ref = png_rgb(run_cli(real_engine, tmp_path / "leaf.png", tmp_path / "ref", "--method", "sobel", *extra)
                  / "leaf_normal.png")
    assert np.abs(result - ref).max() < 1e-6
    flat = np.abs(result[:, :10] - [128 / 255, 128 / 255, 1.0]).max() < 1e-6  # left of the leaf
    assert flat == (alpha_mode == "STRAIGHT")


def test_height_map_adds_an_unconnected_displacement(photo, real_engine, tmp_path):
    mat, tex, bsdf, out = build_material(bpy.data.images.load(str(photo)))
    assert generate(height_map=True) == {"FINISHED"}
    (disp,) = tagged(mat, "displacement")
    assert disp.bl_idname == "ShaderNodeDisplacement"
    himg = linked_from(disp.inputs["Height"])
    assert himg.image.name == "rock_height" and himg.image.colorspace_settings.name == "Non-Color"
    assert (photo.parent / "rock_height.png").is_file()
    assert not out.inputs["Displacement"].is_linked
    ref = run_cli(real_engine, photo, tmp_path / "refh", "--method", "sobel", "--height")
    assert np.abs(blender_rgb(himg.image)[:, :, 0] - png_rgb(ref / "rock_height.png")[:, :, 0]).max() < 1e-6
    assert read_png(photo.parent / "rock_height.png")[3] == 16  # 16-bit: no terraces when displaced

    assert generate(height_map=True, connect_displacement=True) == {"FINISHED"}
    assert linked_from(out.inputs["Displacement"]) == disp
    assert len(tagged(mat, "displacement")) == 1 and len(tagged(mat, "height")) == 1


def test_no_redo_panel_or_repeat():
    # Redo (F9, Adjust Last Operation) and Repeat Last call execute(), which would run the engine on
    # the UI thread: the operator is not registered for them. It still makes one undo step
    # (test_ctrl_z_undoes_the_whole_change).
    op_cls = sys.modules["bl_ext.user_default.normalgen.operators"].NORMALGEN_OT_generate_normal_map
    assert "REGISTER" not in op_cls.bl_options and "UNDO" in op_cls.bl_options


def test_packed_source_gives_a_packed_result(photo, real_engine, tmp_path):
    image = bpy.data.images.load(str(photo))
    image.pack()
    os.remove(photo)  # only the .blend has it now
    mat, tex, bsdf, _out = build_material(image)
    assert generate() == {"FINISHED"}
    result = linked_from(linked_from(bsdf.inputs["Normal"]).inputs["Color"]).image
    assert result.packed_file is not None and result.name == "rock_normal"
    assert not (photo.parent / "rock_normal.png").exists()
    (tmp_path / "again").mkdir()
    make_photo(tmp_path / "again" / "rock.png")
    ref = run_cli(real_engine, tmp_path / "again" / "rock.png", tmp_path / "refp", "--method", "sobel")
    assert np.abs(blender_rgb(result) - png_rgb(ref / "rock_normal.png")).max() < 1e-6
    # Re-run with a packed result: still one image, still packed.
    n_images = len(bpy.data.images)
    assert generate() == {"FINISHED"}
    assert len(bpy.data.images) == n_images and bpy.data.images["rock_normal"].packed_file is not None


def _digest(path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _normal_image(mat):
    (node,) = tagged(mat, "normal")
    return node.image


def test_a_packed_result_never_claims_a_real_file(photo, monkeypatch):
    # A packed result used to get the path "//rock_normal.png"; with the .blend next to the photo that
    # named the artist's own rock_normal.png, which the next run from the file then overwrote.
    monkeypatch.chdir(photo.parent)  # "//" of an unsaved .blend resolves here
    mine = make_photo(photo.parent / "rock_normal.png", phase=4.0)  # the artist's hand-made map
    before = _digest(mine)
    image = bpy.data.images.load(str(photo))
    image.pack()
    mat, *_ = build_material(image)
    assert generate() == {"FINISHED"}
    packed_path = _normal_image(mat).filepath
    assert _normal_image(mat).packed_file is not None
    image.unpack(method="USE_ORIGINAL")  # later the photo is used from its file again
    assert generate(strength=3.0) == {"FINISHED"}
    assert _digest(mine) == before
    result = _normal_image(mat)
    assert Path(bpy.path.abspath(result.filepath)).name == "rock_normal.001.png" and not result.packed_file
    assert packed_path == ""  # (unpacking it could not overwrite a file either)


def test_undo_then_again_reuses_our_file(photo):
    # Undo removes the image and its tags; the file we wrote is still recognised as ours.
    mat, *_ = build_material(bpy.data.images.load(str(photo)))
    name = mat.name
    bpy.ops.ed.undo_push(message="material built")
    for strength in (1.0, 2.0, 3.0):
        assert bpy.ops.normalgen.generate_normal_map("EXEC_DEFAULT", True, method="SOBEL",
                                                     strength=strength) == {"FINISHED"}
        assert Path(bpy.path.abspath(_normal_image(bpy.data.materials[name]).filepath)).name == "rock_normal.png"
        bpy.ops.ed.undo()
    assert sorted(os.listdir(photo.parent)) == ["rock.png", "rock_normal.png"]


def test_two_materials_on_one_photo_keep_their_own_maps(photo):
    image = bpy.data.images.load(str(photo))
    mat_a, *_ = build_material(image, name="NG_A")
    assert generate(strength=1.0) == {"FINISHED"}
    a_file = Path(bpy.path.abspath(_normal_image(mat_a).filepath))
    a_bytes = _digest(a_file)
    mat_b, *_ = build_material(image, name="NG_B")
    assert generate(strength=8.0) == {"FINISHED"}
    b_image = _normal_image(mat_b)
    assert Path(bpy.path.abspath(b_image.filepath)).name == "rock_normal.001.png" and b_image.name == "rock_normal.001"
    assert _digest(a_file) == a_bytes and _normal_image(mat_a) != b_image
    # Each one again: each updates its own file.
    assert generate(strength=8.0) == {"FINISHED"}
    bpy.data.objects["Cube"].material_slots[0].material = mat_a
    assert generate(strength=2.0) == {"FINISHED"}
    assert sorted(os.listdir(photo.parent)) == ["rock.png", "rock_normal.001.png", "rock_normal.png"]
    assert _digest(a_file) != a_bytes


def test_our_file_is_replaced_whole_and_an_edited_one_is_kept(photo):
    mat, *_ = build_material(bpy.data.images.load(str(photo)))
    assert generate(strength=1.0) == {"FINISHED"}
    ours = photo.parent / "rock_normal.png"
    inode = ours.stat().st_ino
    assert generate(strength=2.0) == {"FINISHED"}
    # Written to a temporary file and renamed over the old one: never half written in place.
    assert ours.stat().st_ino != inode
    assert sorted(os.listdir(photo.parent)) == ["rock.png", "rock_normal.png"]
    _edited_map_is_kept(mat, ours)  # edited by the artist since: no longer ours to overwrite


def _edited_map_is_kept(mat, ours: Path) -> None:
    """Edit our map by hand, generate again: the edit stays, and the new map gets a numbered name."""
    make_photo(ours, phase=2.0)
    edited = _digest(ours)
    assert generate(strength=3.0) == {"FINISHED"}
    assert _digest(ours) == edited
    assert Path(bpy.path.abspath(_normal_image(mat).filepath)).name == "rock_normal.001.png"


def test_a_map_edited_between_sessions_is_kept(photo):
    mat, *_ = build_material(bpy.data.images.load(str(photo)))
    assert generate(strength=1.0) == {"FINISHED"}
    material_mod = sys.modules["bl_ext.user_default.normalgen.material"]
    ours = photo.parent / "rock_normal.png"
    material_mod._written.clear()  # Blender restarted: only the .blend remembers the file is ours
    assert generate(strength=2.0) == {"FINISHED"}  # unchanged since: still ours, updated in place
    assert Path(bpy.path.abspath(_normal_image(mat).filepath)).name == "rock_normal.png"
    material_mod._written.clear()
    _edited_map_is_kept(mat, ours)  # edited by hand between sessions


def test_a_map_from_before_the_file_record_is_still_ours(photo):
    mat, *_ = build_material(bpy.data.images.load(str(photo)))
    assert generate(strength=1.0) == {"FINISHED"}
    material_mod = sys.modules["bl_ext.user_default.normalgen.material"]
    del _normal_image(mat)[material_mod.TAG_FILE]  # as the add-on wrote it before it kept a record
    material_mod._written.clear()
    assert generate(strength=2.0) == {"FINISHED"}
    assert sorted(os.listdir(photo.parent)) == ["rock.png", "rock_normal.png"]  # updated, no .001


def test_engine_photo_extensions_match_the_engine(real_engine):
    mod = sys.modules["bl_ext.user_default.normalgen"]
    python = Path(real_engine).parent / "python"
    if not python.exists():
        pytest.skip(f"no engine interpreter next to {real_engine}")
    out = subprocess.run([str(python), "-c", "from normalgen.imageio import PHOTO_EXTENSIONS as p; print(sorted(p))"],
                         capture_output=True, text=True, check=True).stdout
    assert sorted(mod.engine.PHOTO_EXTENSIONS) == eval(out)


def _float_image_file(path: Path, fmt: str) -> Path:
    """A float image with relief saved by Blender as ``fmt`` (OPEN_EXR, HDR), formats the engine cannot read."""
    w, h = 32, 24
    image = bpy.data.images.new("float_src", w, h, float_buffer=True)
    px = np.zeros((h, w, 4), dtype=np.float32)
    xs = np.arange(w)[None, :]
    px[:, :, :3] = (0.5 + 0.3 * np.sin(xs / 3.0) * np.cos(np.arange(h)[:, None] / 4.0))[:, :, None]
    px[:, :, 3] = 1.0
    image.pixels.foreach_set(px.ravel())
    image.filepath_raw, image.file_format = str(path), fmt
    image.save()
    bpy.data.images.remove(image)
    return path


@pytest.mark.parametrize("fmt,ext,packed", [("OPEN_EXR", ".exr", False), ("HDR", ".hdr", False),
                                            ("OPEN_EXR", ".exr", True)])
def test_exr_and_hdr_sources_are_exported_for_the_engine(tmp_path, fmt, ext, packed):
    src = _float_image_file(tmp_path / f"plaster{ext}", fmt)
    image = bpy.data.images.load(str(src))
    if packed:
        image.pack()
    mat, tex, bsdf, _out = build_material(image)
    assert generate() == {"FINISHED"}
    result = linked_from(linked_from(bsdf.inputs["Normal"]).inputs["Color"]).image
    assert result.name == "plaster_normal" and tuple(result.size) == (32, 24)
    assert blender_rgb(result)[:, :, 0].std() > 0.01  # the relief came through
    # Blender's pixels were exported, so the result is packed like any exported source.
    assert result.packed_file is not None and not (tmp_path / "plaster_normal.png").exists()


def test_exported_float_pixels_are_blenders_own_png_export_at_8_bits(tmp_path, real_engine):
    # The engine gets a float image as an 8-bit Targa (fast on the UI thread): the same picture, the
    # same way up and in the same colours as Blender's own (16-bit) PNG export, to within 8 bits.
    material = sys.modules["bl_ext.user_default.normalgen.material"]
    src = bpy.data.images.load(str(_float_image_file(tmp_path / "plaster.exr", "OPEN_EXR")))
    src.pixels[0]  # load the pixels
    px = np.array(src.pixels[:], dtype=np.float32).reshape(24, 32, 4)
    px[:8, :, 0] = 1.5  # a bright band along the bottom rows, over white: clipped the same way
    px[:, :4, 1] = 0.02  # a dark green stripe down the left side
    src.pixels.foreach_set(px.ravel())
    exported = material.export_source(src, str(tmp_path / "export"))
    assert exported.endswith(".tga")
    reference = bpy.data.images.new("reference", 32, 24, alpha=True, float_buffer=True)
    reference.pixels.foreach_set(px.ravel())
    reference.filepath_raw, reference.file_format = str(tmp_path / "reference.png"), "PNG"
    reference.save()
    # The values as stored in each file, top row first (a byte image's pixels are its stored bytes).
    ours, theirs = blender_rgb(bpy.data.images.load(exported)), png_rgb(tmp_path / "reference.png")
    assert ours.shape == theirs.shape == (24, 32, 3)
    assert np.abs(ours - theirs).max() <= 1.0 / 255 + 1e-6
    assert ours[-1, 10, 0] > 0.99 and ours[0, 10, 0] < 0.99  # bottom rows bright, top not: not flipped
    assert ours[5, 1, 1] < ours[5, 20, 1]  # the stripe is on the left
    # And the engine reads the Targa the same way up (its own reader, in its own Python).
    engine_python = Path(real_engine).parent / "python"
    if engine_python.exists():
        npy = tmp_path / "engine_read.npy"
        subprocess.run([str(engine_python), "-c", "import sys, numpy as np; from normalgen.imageio import read_photo; "
                        "np.save(sys.argv[2], read_photo(sys.argv[1]))", exported, str(npy)], check=True)
        assert np.abs(np.load(npy) - theirs).max() <= 1.0 / 255 + 1e-6


def test_relative_path_of_an_unsaved_blend_is_made_absolute(photo, monkeypatch):
    monkeypatch.chdir(photo.parent.parent)
    image = bpy.data.images.load(str(photo))
    image.filepath = "//photos/rock.png"  # relative to Blender's folder while the .blend is unsaved
    mat, *_ = build_material(image)
    assert generate() == {"FINISHED"}
    assert (photo.parent / "rock_normal.png").is_file()


def _library_material(tmp_path, photo):
    """A material linked from another .blend, as an artist's asset library gives it."""
    mat, tex, *_ = build_material(bpy.data.images.load(str(photo)), name="NG_Lib")
    lib = tmp_path / "library.blend"
    bpy.data.libraries.write(str(lib), {mat}, fake_user=True)
    bpy.data.materials.remove(mat)
    with bpy.data.libraries.load(str(lib), link=True) as (_src, dst):
        dst.materials = ["NG_Lib"]
    linked = dst.materials[0]
    bpy.data.objects["Cube"].material_slots[0].material = linked
    return linked


def test_linked_material_is_refused_and_left_alone(photo, tmp_path):
    linked = _library_material(tmp_path, photo)
    try:
        assert linked.library is not None and linked.node_tree.nodes.active.bl_idname == "ShaderNodeTexImage"
        before = snapshot(linked)
        assert not bpy.ops.normalgen.generate_normal_map.poll()
        with pytest.raises(RuntimeError, match="linked from a library.*make it local first"):
            generate()
        assert snapshot(linked) == before and not (photo.parent / "rock_normal.png").exists()
    finally:
        bpy.data.objects["Cube"].material_slots[0].material = None
        bpy.data.materials.remove(linked)
        for lib in list(bpy.data.libraries):
            bpy.data.libraries.remove(lib)


def test_udim_sequence_and_movie_images_are_refused(photo):
    tiled = bpy.data.images.new("rock_tiles", 16, 16, tiled=True)
    tiled.tiles.new(1002)
    mat, tex, *_ = build_material(tiled)
    before = snapshot(mat)
    with pytest.raises(RuntimeError, match="UDIM images are not supported yet"):
        generate()
    assert snapshot(mat) == before
    for source in ("SEQUENCE", "MOVIE"):
        image = bpy.data.images.load(str(photo))
        image.source = source
        tex.image = image
        with pytest.raises(RuntimeError, match="image sequence or movie: only still images are supported"):
            generate()
    assert not (photo.parent / "rock_normal.png").exists()


def test_an_existing_bump_is_chained_not_cut_out(photo, fake_engine, addon):
    addon.engine_path = fake_engine
    mat, tex, bsdf, _out = build_material(bpy.data.images.load(str(photo)))
    tree = mat.node_tree
    bump = tree.nodes.new("ShaderNodeBump")
    tree.links.new(bump.outputs["Normal"], bsdf.inputs["Normal"])
    for _ in range(2):  # and again: still chained, once
        assert generate() == {"FINISHED"}
        assert linked_from(bsdf.inputs["Normal"]) == bump
        assert linked_from(bump.inputs["Normal"]).bl_idname == "ShaderNodeNormalMap"
    assert len(tagged(mat, "normal_map")) == 1


def test_a_shader_without_principled_gets_the_map(photo, fake_engine, addon):
    addon.engine_path = fake_engine
    mat, tex, bsdf, out = build_material(bpy.data.images.load(str(photo)))
    tree = mat.node_tree
    tree.nodes.remove(bsdf)
    diffuse = tree.nodes.new("ShaderNodeBsdfDiffuse")
    tree.links.new(tex.outputs["Color"], diffuse.inputs["Color"])
    tree.links.new(diffuse.outputs["BSDF"], out.inputs["Surface"])
    assert generate() == {"FINISHED"}
    assert linked_from(diffuse.inputs["Normal"]).bl_idname == "ShaderNodeNormalMap"


def test_warnings_are_in_the_last_report(photo, fake_engine, addon):
    # Blender's status bar shows only the last report: it is a warning that says everything.
    addon.engine_path = fake_engine
    mat, tex, bsdf, out = build_material(bpy.data.images.load(str(photo)))
    tree = mat.node_tree
    tree.nodes.remove(bsdf)
    emission = tree.nodes.new("ShaderNodeEmission")  # no Normal input
    tree.links.new(tex.outputs["Color"], emission.inputs["Color"])
    tree.links.new(emission.outputs["Emission"], out.inputs["Surface"])
    shim, ctx, _removed = _modal_shim()
    shim._job = shim._start(bpy.context)
    ret, _worst = _drive(shim, ctx)
    assert ret == {"FINISHED"}
    kind, text = shim.reports[-1]
    assert kind == "WARNING" and "rock_normal is wired into 'NG_Test'" in text
    assert "feeds no shader with a Normal input: connect the Normal Map node yourself" in text
    assert len(shim.reports) == 1


def test_height_map_off_again_removes_our_displacement(photo, fake_engine, addon):
    addon.engine_path = fake_engine
    mat, tex, bsdf, out = build_material(bpy.data.images.load(str(photo)))
    assert generate(height_map=True, connect_displacement=True) == {"FINISHED"}
    (disp,) = tagged(mat, "displacement")
    assert linked_from(out.inputs["Displacement"]) == disp
    assert generate(height_map=True, connect_displacement=False) == {"FINISHED"}
    assert not out.inputs["Displacement"].is_linked and len(tagged(mat, "displacement")) == 1
    assert generate(height_map=False) == {"FINISHED"}
    assert not tagged(mat, "displacement") and not tagged(mat, "height")
    assert linked_from(bsdf.inputs["Normal"]).bl_idname == "ShaderNodeNormalMap"


def _node_space(**kw):
    from types import SimpleNamespace

    base = dict(type="NODE_EDITOR", tree_type="ShaderNodeTree", shader_type="OBJECT", id=None,
                node_tree=None, edit_tree=None)
    return SimpleNamespace(**{**base, **kw})


def test_only_object_materials_in_the_shader_editor(photo):
    from types import SimpleNamespace

    mod = sys.modules["bl_ext.user_default.normalgen"]
    mat, tex, *_ = build_material(bpy.data.images.load(str(photo)))
    obj = bpy.data.objects["Cube"]

    def ctx(space):
        return SimpleNamespace(space_data=space, active_object=obj, view_layer=bpy.context.view_layer)

    world = _node_space(shader_type="WORLD")
    assert not mod.panels.NORMALGEN_PT_shader_editor.poll(ctx(world))
    assert mod.panels.NORMALGEN_PT_shader_editor.poll(ctx(_node_space(id=mat)))
    found, reason = mod.material.active_image_node(ctx(world))
    assert found is None and "object materials" in reason
    # Tabbed into a node group: a clear reason, not "'Group' is not an Image Texture node".
    group = bpy.data.node_groups.new("NG_Group", "ShaderNodeTree")
    try:
        found, reason = mod.material.active_image_node(
            ctx(_node_space(id=mat, node_tree=mat.node_tree, edit_tree=group)))
        assert found is None and "Inside a node group" in reason
    finally:
        bpy.data.node_groups.remove(group)
    # The material the editor shows (pinned, say) is the one used, not the active object's.
    other, *_ = build_material(bpy.data.images.load(str(photo)), name="NG_Other")
    found, node = mod.material.active_image_node(ctx(_node_space(id=mat, node_tree=mat.node_tree,
                                                                 edit_tree=mat.node_tree)))
    assert found == mat and node == tex and obj.active_material == other


def test_a_height_map_from_a_pack_converts_and_our_own_map_is_refused(tmp_path):
    # Engine side: an input named *_height or *_normal used to be dropped ("the engine wrote no normal map").
    src = make_photo(tmp_path / "Bricks_height.png")
    mat, tex, bsdf, _out = build_material(bpy.data.images.load(str(src)))
    assert generate() == {"FINISHED"}
    (node,) = tagged(mat, "normal")
    assert node.image.name == "Bricks_height_normal" and (tmp_path / "Bricks_height_normal.png").is_file()
    mat.node_tree.nodes.active = node  # the map we made is no photo to convert
    assert not bpy.ops.normalgen.generate_normal_map.poll()
    with pytest.raises(RuntimeError, match="holds a map normalgen made"):
        generate()


def test_box_projection_warns(photo, fake_engine, addon):
    addon.engine_path = fake_engine
    mat, tex, bsdf, _out = build_material(bpy.data.images.load(str(photo)))
    tex.projection = "BOX"
    shim, ctx, _removed = _modal_shim()
    shim._job = shim._start(bpy.context)
    assert _drive(shim, ctx)[0] == {"FINISHED"}
    kind, text = shim.reports[-1]
    assert kind == "WARNING" and "uses Box projection" in text


def test_generated_unsaved_image_is_exported_then_packed():
    image = bpy.data.images.new("Painted", 32, 32)
    image.generated_type = "COLOR_GRID"
    mat, tex, bsdf, _out = build_material(image)
    assert generate() == {"FINISHED"}
    result = linked_from(linked_from(bsdf.inputs["Normal"]).inputs["Color"]).image
    assert result.name == "Painted_normal" and result.packed_file is not None
    assert tuple(result.size) == (32, 32)
    assert image.source == "GENERATED" and image.filepath == ""  # the source is left as it was


def test_painted_unsaved_changes_are_what_gets_converted(photo, real_engine, tmp_path):
    image = bpy.data.images.load(str(photo))
    painted = bpy.data.images.load(str(make_photo(tmp_path / "painted.png", phase=1.3)))
    buf = np.empty(len(image.pixels), dtype=np.float32)
    painted.pixels.foreach_get(buf)
    image.pixels.foreach_set(buf)  # as if painted in the Image Editor, not saved
    image.update()
    assert image.is_dirty
    mat, tex, bsdf, _out = build_material(image)
    assert generate() == {"FINISHED"}
    result = linked_from(linked_from(bsdf.inputs["Normal"]).inputs["Color"]).image
    assert result.packed_file is not None  # unsaved pixels: the result goes into the .blend
    ref = run_cli(real_engine, tmp_path / "painted.png", tmp_path / "refd", "--method", "sobel")
    assert np.abs(blender_rgb(result) - png_rgb(ref / "painted_normal.png")).max() < 1e-6
    assert image.is_dirty and Path(bpy.path.abspath(image.filepath)) == photo  # the source is untouched


def test_uv_map_of_the_source_is_used(photo, fake_engine, addon):
    addon.engine_path = fake_engine
    mat, tex, bsdf, _out = build_material(bpy.data.images.load(str(photo)), uv_map_node="Detail UVs")
    assert generate() == {"FINISHED"}
    nmap = linked_from(bsdf.inputs["Normal"])
    assert nmap.uv_map == "Detail UVs"
    img_node = linked_from(nmap.inputs["Color"])
    # The normal texture shares the source's mapping so the two stay aligned.
    assert linked_from(img_node.inputs["Vector"]).bl_idname == "ShaderNodeMapping"


# -- failures leave the material as it was ---------------------------------------------------------


def test_missing_engine_reports_and_changes_nothing(photo, addon, tmp_path):
    addon.engine_path = str(tmp_path / "no" / "normalgen")
    mat, *_ = build_material(bpy.data.images.load(str(photo)))
    before = snapshot(mat)
    with pytest.raises(RuntimeError, match="normalgen engine set in the preferences was not found"):
        generate()
    assert snapshot(mat) == before
    assert not (photo.parent / "rock_normal.png").exists()


@pytest.mark.parametrize("mode,message", [("error", "the photo is too small to convert"),
                                          ("crash", "killed"), ("usage", "the engine is older than this add-on")])
def test_engine_failures_report_and_change_nothing(photo, addon, fake_engine, monkeypatch, mode, message):
    addon.engine_path = fake_engine
    monkeypatch.setenv("NORMALGEN_FAKE_MODE", mode)
    mat, *_ = build_material(bpy.data.images.load(str(photo)))
    before = snapshot(mat)
    with pytest.raises(RuntimeError, match=message):
        generate()
    assert snapshot(mat) == before


def test_unreadable_image_reports_and_changes_nothing(tmp_path):
    image = bpy.data.images.new("Broken", 8, 8)
    image.source = "FILE"
    image.filepath = str(tmp_path / "missing.png")
    mat, *_ = build_material(image)
    before = snapshot(mat)
    with pytest.raises(RuntimeError, match="no pixels"):
        generate()
    assert snapshot(mat) == before


# -- the modal path, driven by hand (bpy as a module has no window to run a modal handler) ------------


EVENT_ATTRS = tuple(sorted(bpy.types.Event.bl_rna.properties.keys()))


def _Event(type_, value="NOTHING"):
    """A stand-in for bpy.types.Event with exactly the attributes Blender's Event has (read from its
    RNA), so code that reads one Blender does not have (``event.timer``) fails here as it does in Blender."""
    cls = type("Event", (), {"__slots__": EVENT_ATTRS})
    event = cls()
    for name in EVENT_ATTRS:
        setattr(event, name, None)
    event.type, event.value = type_, value
    return event


def _ui_shim(op_cls, names, **props):
    """The operator's own methods ``names`` on a stand-in ``self``, and a context with no window."""

    class Shim:
        pass

    for name in names:
        if name in op_cls.__dict__:  # (older code has fewer helpers)
            setattr(Shim, name, op_cls.__dict__[name])
    shim = Shim()
    for k, v in props.items():
        setattr(shim, k, v)
    shim.reports, shim.status = [], []
    shim.report = lambda kind, msg: shim.reports.append((next(iter(kind)), msg))
    shim._workspace = type("WS", (), {"status_text_set": staticmethod(shim.status.append)})()
    shim._timer = shim.timer = object()  # shim.timer: what invoke() added, to check it is removed
    removed = []
    ctx = type("Ctx", (), {"screen": None, "preferences": bpy.context.preferences,
                           "window_manager": type("WM", (), {"event_timer_remove": staticmethod(removed.append)})()})()
    return shim, ctx, removed


def _modal_shim(**props):
    """The generate operator's own modal code on a stand-in ``self``."""
    op_cls = sys.modules["bl_ext.user_default.normalgen.operators"].NORMALGEN_OT_generate_normal_map
    defaults = dict(strength=1.0, invert=False, seamless=False, method="SOBEL", light_from="AUTO", use_16bit=False,
                    height_map=False, connect_displacement=False)
    return _ui_shim(op_cls, ("modal", "_modal", "_finish", "_cleanup_modal", "_status", "_start", "_options",
                             "cancel"), **{**defaults, **props})


def _drive(shim, ctx, until_fraction=None, timeout=120.0):
    import time

    deadline = time.monotonic() + timeout
    worst = 0.0
    while time.monotonic() < deadline:
        t0 = time.monotonic()
        ret = shim.modal(ctx, _Event("TIMER"))
        worst = max(worst, time.monotonic() - t0)
        if ret != {"PASS_THROUGH"}:
            return ret, worst
        if until_fraction is not None and shim._job.run.state.fraction >= until_fraction:
            return ret, worst
        # Other events pass through untouched while the engine runs.
        assert shim.modal(ctx, _Event("MOUSEMOVE")) == {"PASS_THROUGH"}
        time.sleep(0.05)
    raise AssertionError("the modal run did not end")


def test_modal_run_shows_progress_and_finishes(photo):
    mat, tex, bsdf, _out = build_material(bpy.data.images.load(str(photo)))
    shim, ctx, removed = _modal_shim()
    shim._job = shim._start(bpy.context)
    assert shim._job is not None, shim.reports
    ret, worst = _drive(shim, ctx)
    assert ret == {"FINISHED"}, shim.reports
    assert worst < 0.5  # a timer tick never waits for the engine (the ticks that wire nodes included)
    assert any("%" in s for s in shim.status if s) and shim.status[-1] is None  # status bar restored
    assert removed == [shim.timer]
    assert linked_from(bsdf.inputs["Normal"]).bl_idname == "ShaderNodeNormalMap"
    assert not os.path.exists(shim._job.jobdir)


def _slow_job_started(photo, addon, fake_engine, monkeypatch):
    """A material, its snapshot, and a modal shim whose (slow, fake) engine has started."""
    addon.engine_path = fake_engine
    monkeypatch.setenv("NORMALGEN_FAKE_MODE", "slow")
    mat, *_ = build_material(bpy.data.images.load(str(photo)))
    before = snapshot(mat)
    shim, ctx, removed = _modal_shim()
    shim._job = shim._start(bpy.context)
    return mat, before, shim, ctx, removed


def test_escape_kills_the_engine_and_changes_nothing(photo, addon, fake_engine, monkeypatch):
    mat, before, shim, ctx, removed = _slow_job_started(photo, addon, fake_engine, monkeypatch)
    _drive(shim, ctx, until_fraction=0.001)
    proc = shim._job.run.proc
    assert proc.poll() is None
    assert shim.modal(ctx, _Event("ESC", value="PRESS")) == {"CANCELLED"}
    assert proc.poll() is not None  # killed, not left running
    assert not os.path.exists(shim._job.jobdir)  # temp files gone
    assert ("ERROR", "normalgen: cancelled") in shim.reports
    assert shim.status[-1] is None and removed == [shim.timer]
    assert snapshot(mat) == before


def test_an_unexpected_error_in_modal_cancels_cleanly(photo, addon, fake_engine, monkeypatch):
    ops_mod = sys.modules["bl_ext.user_default.normalgen.operators"]
    mat, before, shim, ctx, removed = _slow_job_started(photo, addon, fake_engine, monkeypatch)
    monkeypatch.setitem(ops_mod._state, "running", True)  # what invoke() sets

    def broken():
        raise ValueError("a bug")

    shim._job.run.poll = broken
    proc = shim._job.run.proc
    assert shim.modal(ctx, _Event("TIMER")) == {"CANCELLED"}
    assert proc.poll() is not None and not os.path.exists(shim._job.jobdir)
    assert removed == [shim.timer] and shim.status[-1] is None
    assert ops_mod._state["running"] is False and bpy.ops.normalgen.generate_normal_map.poll()
    assert len(shim.reports) == 1 and shim.reports[0][0] == "ERROR" and "unexpected error" in shim.reports[0][1]
    assert snapshot(mat) == before


def test_test_engine_modal_reports_on_a_timer_tick(addon):
    import threading

    op_cls = sys.modules["bl_ext.user_default.normalgen.operators"].NORMALGEN_OT_test_engine
    shim, ctx, removed = _ui_shim(op_cls, ("modal", "cancel", "_report_info"))
    shim._result = [{"version": "7.7.7", "model_path": "m.keras", "backend": "cpu"}]
    shim._thread = threading.Thread(target=lambda: None)
    shim._thread.start()
    shim._thread.join()
    assert shim.modal(ctx, _Event("MOUSEMOVE")) == {"PASS_THROUGH"}
    assert shim.modal(ctx, _Event("TIMER")) == {"FINISHED"}
    assert addon.engine_status.startswith("normalgen 7.7.7")
    assert removed == [shim.timer] and shim.status[-1] is None


def test_install_engine_modal_runs_every_step(addon, tmp_path):
    import time

    install = sys.modules["bl_ext.user_default.normalgen.install"]
    marker = tmp_path / "second_step_ran"
    commands = [[sys.executable, "-c", "pass"], [sys.executable, "-c", f"open({str(marker)!r}, 'w').close()"]]
    shim, ctx, removed = _ui_shim(install.NORMALGEN_OT_install_engine, ("modal", "_modal", "_end", "_done", "cancel"))
    shim._installer = install._Installer(commands, str(tmp_path / "install.log"))
    shim._venv = str(tmp_path / "venv")
    deadline = time.monotonic() + 60
    while (ret := shim.modal(ctx, _Event("TIMER"))) == {"PASS_THROUGH"} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ret == {"FINISHED"}, shim.reports
    assert marker.exists()  # pip's step (the second command) ran, not only venv's
    assert removed == [shim.timer] and shim.status[-1] is None
    addon.engine_status = ""


# -- the UI draws (with a stand-in layout: bpy as a module has no screen) ----------------------------


class _Layout:
    def __init__(self, log):
        self.log, self.enabled = log, True

    def _child(self, *a, **k):
        return _Layout(self.log)

    column = row = box = _child

    def separator(self, *a, **k):
        pass

    def label(self, text="", **k):
        self.log.append(("label", text))

    def prop(self, data, name, **k):
        assert hasattr(data, name), name
        self.log.append(("prop", name))

    def operator(self, idname, **k):
        self.log.append(("operator", idname))
        return type("OpProps", (), {})()


def test_panels_and_preferences_draw(photo, addon):
    mod = sys.modules["bl_ext.user_default.normalgen"]
    log = []
    mat, tex, bsdf, _out = build_material(bpy.data.images.load(str(photo)))
    mat.node_tree.nodes.active = bsdf
    mod.panels.draw_generate(_Layout(log), bpy.context)
    assert ("operator", "normalgen.generate_normal_map") in log
    assert any(kind == "label" and "not an Image Texture node" in text for kind, text in log)  # the reason
    mat.node_tree.nodes.active = tex
    log.clear()
    mod.panels.draw_generate(_Layout(log), bpy.context)
    assert ("label", "NG_Test / rock.png") in log
    assert {name for kind, name in log if kind == "prop"} >= {"method", "light_from", "strength", "invert", "seamless",
                                                              "use_16bit", "height_map", "connect_displacement"}
    log.clear()
    type(addon).draw(type("Self", (), {"layout": _Layout(log), **{k: getattr(addon, k) for k in (
        "engine_path", "engine_source", "model_path", "timeout", "engine_status")}})(), bpy.context)
    assert ("operator", "normalgen.test_engine") in log and ("operator", "normalgen.install_engine") in log
    assert any(kind == "label" and text.startswith("Using: ") for kind, text in log)
