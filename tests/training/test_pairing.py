"""Pair discovery under the names texture downloads use."""

from pathlib import Path

from normalgen_training.pairing import find_pairs


def _touch(folder: Path, *names):
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_bytes(b"x")


def test_finds_pairs_in_all_three_layouts(tmp_path):
    _touch(tmp_path / "synth", "000_color.png", "000_normal.png")
    _touch(tmp_path / "ambientcg", "Bricks076C_1K-PNG_Color.png", "Bricks076C_1K-PNG_NormalGL.png",
           "Bricks076C_1K-PNG_Roughness.png", "Wood01_2K-JPG_Color.jpg", "Wood01_2K-JPG_NormalDX.jpg")
    _touch(tmp_path / "polyhaven", "rock_wall_diff_2k.jpg", "rock_wall_nor_gl_2k.exr",
           "bark_diff_1k.png", "bark_nor_dx_1k.png")
    pairs, warnings = find_pairs([tmp_path])
    got = {(p.color.name, p.normal.name, p.convention, p.group) for p in pairs}
    assert got == {
        ("000_color.png", "000_normal.png", "opengl", "synth"),
        ("Bricks076C_1K-PNG_Color.png", "Bricks076C_1K-PNG_NormalGL.png", "opengl", "ambientcg"),
        ("Wood01_2K-JPG_Color.jpg", "Wood01_2K-JPG_NormalDX.jpg", "directx", "ambientcg"),
        ("rock_wall_diff_2k.jpg", "rock_wall_nor_gl_2k.exr", "opengl", "polyhaven"),
        ("bark_diff_1k.png", "bark_nor_dx_1k.png", "directx", "polyhaven"),
    }
    assert warnings == []


def test_prefers_opengl_when_both_exist_and_warns_on_orphans(tmp_path):
    _touch(tmp_path, "Tiles_1K-PNG_Color.png", "Tiles_1K-PNG_NormalDX.png", "Tiles_1K-PNG_NormalGL.png",
           "lonely_color.png", "orphan_nor_gl_4k.png")
    pairs, warnings = find_pairs([tmp_path])
    assert [(p.normal.name, p.convention) for p in pairs] == [("Tiles_1K-PNG_NormalGL.png", "opengl")]
    assert len(warnings) == 2
    assert any("lonely_color.png" in w and "no matching normal map" in w for w in warnings)
    assert any("orphan_nor_gl_4k.png" in w and "no matching colour photo" in w for w in warnings)


def test_resolution_must_match_for_polyhaven(tmp_path):
    _touch(tmp_path, "rock_diff_2k.png", "rock_nor_gl_4k.png")
    pairs, warnings = find_pairs([tmp_path])
    assert pairs == [] and len(warnings) == 2


def test_directx_pairs_load_as_opengl(tmp_path):
    import numpy as np

    from normalgen.imageio import write_normal_map
    from normalgen_training.dataset import load_pair
    from normalgen_training.synth import make_pair

    photo, normals, _ = make_pair(11, 32)
    import cv2

    cv2.imwrite(str(tmp_path / "Rock_1K-PNG_Color.png"), photo[..., ::-1])
    dx = normals.copy()
    dx[..., 1] *= -1
    write_normal_map(tmp_path / "Rock_1K-PNG_NormalDX.png", dx, convention="directx", bit_depth=16)
    (pair,), _ = find_pairs([tmp_path])
    _, loaded = load_pair(pair)
    assert np.abs(loaded - normals).max() < 1e-3  # green flipped back to OpenGL


def test_ambientcg_downloads_in_two_formats_pair_and_doubles_and_archives_are_named(tmp_path):
    _touch(tmp_path, "Bricks076_1K-JPG_Color.JPG", "Bricks076_1K-PNG_NormalGL.PNG",
           "wall_color.png", "wall_color.jpg", "wall_normal.png", "Wood049_1K-PNG.zip")
    pairs, warnings = find_pairs([tmp_path])
    assert {(p.color.name, p.normal.name) for p in pairs} == {
        ("Bricks076_1K-JPG_Color.JPG", "Bricks076_1K-PNG_NormalGL.PNG"), ("wall_color.png", "wall_normal.png")}
    assert len(warnings) == 2
    assert any("wall_color.jpg: a second photo for wall_color.png, skipped" in w for w in warnings)  # lossless kept
    assert any("Wood049_1K-PNG.zip: an archive, not read; unpack it" in w for w in warnings)


def test_one_asset_at_two_resolutions_is_named_and_both_are_used(tmp_path):
    _touch(tmp_path, "Rocks011_1K-JPG_Color.jpg", "Rocks011_1K-JPG_NormalGL.jpg",
           "Rocks011_2K-PNG_Color.png", "Rocks011_2K-PNG_NormalGL.png",
           "bark_diff_1k.png", "bark_nor_gl_1k.png", "bark_diff_4k.png", "bark_nor_gl_4k.png",
           "moss_diff_2k.png", "moss_nor_gl_2k.png", "Rocks012_2K-PNG_Color.png", "Rocks012_2K-PNG_NormalGL.png")
    pairs, warnings = find_pairs([tmp_path])
    assert len(pairs) == 6
    assert sorted(warnings) == sorted([
        f"{tmp_path / 'Rocks011_1K-JPG_Color.jpg'}: the same asset at 1K and 2K (Rocks011_2K-PNG_Color.png), "
        "each used as a pair, so it counts 2 times; remove the copies you do not want",
        f"{tmp_path / 'bark_diff_1k.png'}: the same asset at 1K and 4K (bark_diff_4k.png), "
        "each used as a pair, so it counts 2 times; remove the copies you do not want"])


def test_ambientcg_downloads_each_in_its_own_folder_are_found_to_be_copies(tmp_path):
    # How ambientCG zips unpack: one folder per download, named like the files.
    for folder, ext in (("Bricks076_1K-JPG", "jpg"), ("Bricks076_1K-PNG", "png"), ("Bricks076_2K-JPG", "jpg")):
        _touch(tmp_path / "lib" / folder, f"{folder}_Color.{ext}", f"{folder}_NormalGL.{ext}")
    _touch(tmp_path / "lib" / "Rock030_1K-PNG", "Rock030_1K-PNG_Color.png", "Rock030_1K-PNG_NormalGL.png")
    pairs, warnings = find_pairs([tmp_path / "lib"])
    got = {(p.color.parent.name, p.normal.parent.name, p.group) for p in pairs}
    # The PNG download of the 1K asset is kept over the JPG one; the 2K copy is named, and used.
    assert got == {("Bricks076_1K-PNG", "Bricks076_1K-PNG", "Bricks076_1K-PNG"),
                   ("Bricks076_2K-JPG", "Bricks076_2K-JPG", "Bricks076_2K-JPG"),
                   ("Rock030_1K-PNG", "Rock030_1K-PNG", "Rock030_1K-PNG")}
    jpg = tmp_path / "lib" / "Bricks076_1K-JPG"
    assert sorted(warnings) == sorted([
        f"{jpg / 'Bricks076_1K-JPG_Color.jpg'}: a second photo for Bricks076_1K-PNG_Color.png, skipped",
        f"{jpg / 'Bricks076_1K-JPG_NormalGL.jpg'}: a second normal map for Bricks076_1K-PNG_NormalGL.png, skipped",
        f"{tmp_path / 'lib' / 'Bricks076_1K-PNG' / 'Bricks076_1K-PNG_Color.png'}: the same asset at 1K and 2K "
        f"({tmp_path / 'lib' / 'Bricks076_2K-JPG' / 'Bricks076_2K-JPG_Color.jpg'}), each used as a pair, so it "
        "counts 2 times; remove the copies you do not want"])


def test_a_normal_map_this_build_cannot_read_gives_way_to_one_it_can(tmp_path, monkeypatch):
    from normalgen_training import pairing

    monkeypatch.setattr(pairing, "_exr_readable", lambda: False)  # as pip's OpenCV wheels
    _touch(tmp_path, "plank_diff_1k.jpg", "plank_nor_gl_1k.exr", "plank_nor_gl_1k.png",
           "rocks_diff_1k.jpg", "rocks_nor_gl_1k.exr", "rocks_nor_dx_1k.png",
           "tiles_diff_1k.jpg", "tiles_nor_gl_1k.jpg", "tiles_nor_dx_1k.png")
    pairs, warnings = find_pairs([tmp_path])
    assert {(p.normal.name, p.convention) for p in pairs} == {
        ("plank_nor_gl_1k.png", "opengl"),
        ("rocks_nor_dx_1k.png", "directx"),  # a readable DirectX map over an unreadable OpenGL one
        ("tiles_nor_dx_1k.png", "directx"),  # a lossless DirectX map over a JPEG OpenGL one
    }
    assert warnings == [f"{tmp_path / 'plank_nor_gl_1k.exr'}: a second normal map for plank_nor_gl_1k.png, skipped"]
    monkeypatch.setattr(pairing, "_exr_readable", lambda: True)  # a build with OpenEXR: the EXR is as good
    pairs, _ = find_pairs([tmp_path])
    assert {p.normal.name for p in pairs} == {"plank_nor_gl_1k.exr", "rocks_nor_gl_1k.exr", "tiles_nor_dx_1k.png"}


def test_a_lossy_copy_is_named_whatever_order_the_conventions_come_in(tmp_path):
    _touch(tmp_path, "Tiles_1K-JPG_NormalGL.jpg", "Tiles_1K-PNG_NormalDX.png", "Tiles_1K-PNG_NormalGL.png",
           "Tiles_1K-PNG_Color.png")
    pairs, warnings = find_pairs([tmp_path])
    assert [(p.normal.name, p.convention) for p in pairs] == [("Tiles_1K-PNG_NormalGL.png", "opengl")]
    assert warnings == [f"{tmp_path / 'Tiles_1K-JPG_NormalGL.jpg'}: a second normal map for "
                        "Tiles_1K-PNG_NormalGL.png, skipped"]
