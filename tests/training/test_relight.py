"""Library pairs rendered under light: the shading follows the pair's own normals, files pair up."""

import numpy as np
import pytest
from PIL import Image

from normalgen.imageio import read_normal_map, write_normal_map
from normalgen.vectors import convert_convention, normals_from_height
from normalgen_training.pairing import find_pairs
from normalgen_training.relight import relight_dataset, relight_pair
from normalgen_training.shading import direction


def _bumps(size=64):
    y, x = np.mgrid[0:size, 0:size] / size * 2 * np.pi
    return normals_from_height(4.0 * (np.sin(2 * x) + np.cos(3 * y)), wrap=True)


def test_a_relit_photo_is_bright_where_the_normals_face_its_light():
    normals = _bumps()
    albedo = np.full(normals.shape, 0.6, np.float32)  # plain grey: only the shading varies
    checked = 0
    for seed in range(12):
        photo, meta = relight_pair(albedo, normals, np.random.default_rng(seed), "canonical")
        assert photo.shape == normals.shape and photo.dtype == np.uint8
        assert -45 <= meta["light_azimuth"] <= 45  # canonical: the key light on the right
        if meta["lighting"] not in ("sun", "grazing"):
            continue
        lit = normals @ direction(meta["light_elevation"], meta["light_azimuth"]).astype(np.float32)
        luminance = photo.astype(np.float32).mean(axis=-1)
        assert np.corrcoef(lit.ravel(), luminance.ravel())[0, 1] > 0.6, meta
        checked += 1
    assert checked >= 3


def test_relight_writes_pairs_that_train_reads_and_resumes(tmp_path):
    lib = tmp_path / "lib" / "Rock030_1K-PNG"
    lib.mkdir(parents=True)
    normals = _bumps()
    rng = np.random.default_rng(1)
    Image.fromarray((rng.random((64, 64, 3)) * 255).astype(np.uint8)).save(lib / "Rock030_1K-PNG_Color.png")
    write_normal_map(lib / "Rock030_1K-PNG_NormalDX.png", convert_convention(normals, "opengl", "directx"),
                     convention="directx", bit_depth=16)
    (lib / "Bad_1K-PNG_Color.png").write_bytes(b"not a png")
    write_normal_map(lib / "Bad_1K-PNG_NormalGL.png", normals, convention="opengl", bit_depth=16)
    out = tmp_path / "lit"
    written, warnings = relight_dataset([tmp_path / "lib"], out, per_pair=3, seed=7)
    assert written == 3
    assert len(warnings) == 1 and "Bad_1K-PNG_Color.png" in warnings[0] and "pair skipped" in warnings[0]
    pairs, _ = find_pairs([out])
    assert sorted(p.color.name for p in pairs) == [f"rock030_1k_{k}_color.png" for k in range(3)]
    for p in pairs:  # the library's DirectX map, written as OpenGL
        assert np.abs(read_normal_map(p.normal, convention="opengl") - normals).max() < 1e-3
    rows = (out / "Rock030_1K-PNG" / "index.tsv").read_text().splitlines()
    assert rows[0].split("\t")[:6] == ["id", "kind", "lighting", "slope_deg", "light_azimuth", "light_elevation"]
    assert len(rows) == 4
    first = (out / "Rock030_1K-PNG" / "rock030_1k_1_color.png").read_bytes()
    assert relight_dataset([tmp_path / "lib"], out, per_pair=3, seed=7)[0] == 0  # all kept: a rerun resumes
    (out / "Rock030_1K-PNG" / "rock030_1k_1_color.png").unlink()
    assert relight_dataset([tmp_path / "lib"], out, per_pair=3, seed=7)[0] == 1
    assert (out / "Rock030_1K-PNG" / "rock030_1k_1_color.png").read_bytes() == first  # the same photo again


def test_a_rerun_with_other_lights_is_refused_and_the_output_is_not_read_again(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(lib / "rock_color.png")
    write_normal_map(lib / "rock_normal.png", _bumps(32), convention="opengl", bit_depth=16)
    out = lib / "lit"  # inside the library it reads
    assert relight_dataset([lib], out, per_pair=1, seed=1)[0] == 1
    assert relight_dataset([lib], out, per_pair=2, seed=1)[0] == 1  # more photos of each: added
    with pytest.raises(ValueError, match="holds photos relit with --light any; give another --out"):
        relight_dataset([lib], out, per_pair=2, seed=1, light_mode="canonical")
    with pytest.raises(ValueError, match="--seed 1"):
        relight_dataset([lib], out, per_pair=2, seed=2)
    assert sorted(p.name for p in out.rglob("*_color.png")) == ["rock_0_color.png", "rock_1_color.png"]

    with pytest.raises(ValueError, match="all 2 pairs found are inside --out"):
        relight_dataset([out], out, per_pair=1, seed=1)  # its own output folder as data
