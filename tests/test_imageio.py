"""normalgen.imageio: every input format and its failure modes, exact normal-map round trips, atomic writes."""

from __future__ import annotations

import errno
import os
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from normalgen import atomic_files, imageio
from normalgen.errors import ImageError, OutputError
from normalgen.imageio import read_normal_map, read_photo, write_height_map, write_normal_map
from normalgen.vectors import angular_error_deg, normalize


def one_sentence(msg: str, path=None) -> str:
    assert "\n" not in msg and msg.endswith("."), msg
    assert "Traceback" not in msg
    if path is not None:
        assert str(path) in msg, msg
    return msg


def rgb8(h=5, w=7, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def random_normals(h=6, w=9, seed=0):
    v = np.random.default_rng(seed).normal(size=(h, w, 3)).astype(np.float32)
    v[..., 2] = np.abs(v[..., 2]) + 0.3
    return normalize(v)


def no_temp_files(folder) -> bool:
    return not [p for p in os.listdir(folder) if atomic_files.TEMP_MARKER in p]


# ---------------------------------------------------------------- reading: formats


@pytest.mark.parametrize("ext, kwargs", [(".png", {}), (".bmp", {}), (".tga", {}), (".tif", {}),
                                         (".webp", {"lossless": True})])  # fmt: skip
def test_lossless_8bit_formats_read_exactly(tmp_path, ext, kwargs):
    a = rgb8()
    p = tmp_path / f"photo{ext}"
    Image.fromarray(a).save(p, **kwargs)
    got = read_photo(p)
    assert got.dtype == np.float32 and got.shape == (5, 7, 3)
    np.testing.assert_allclose(got, a / 255.0, atol=1e-6)


@pytest.mark.parametrize("shape", [(1, 1), (5, 7)])
def test_tiny_images(tmp_path, shape):
    a = rgb8(*shape)
    p = tmp_path / "tiny.png"
    Image.fromarray(a).save(p)
    assert read_photo(p).shape == (*shape, 3)


def test_jpeg(tmp_path):
    p = tmp_path / "photo.jpg"
    Image.fromarray(np.full((8, 8, 3), (200, 100, 50), np.uint8)).save(p, quality=95)
    np.testing.assert_allclose(read_photo(p)[4, 4], np.array([200, 100, 50]) / 255, atol=3 / 255)


def test_grayscale_is_repeated_to_rgb(tmp_path):
    g = rgb8()[..., 0]
    p = tmp_path / "gray.png"
    Image.fromarray(g, mode="L").save(p)
    got = read_photo(p)
    assert got.shape == (5, 7, 3)
    for c in range(3):
        np.testing.assert_allclose(got[..., c], g / 255.0, atol=1e-6)


def test_rgba_alpha_is_dropped_unless_kept(tmp_path):
    a = rgb8()
    alpha = np.zeros(a.shape[:2], np.uint8)
    alpha[1:3, 2:5] = 255
    p = tmp_path / "rgba.png"
    Image.fromarray(np.dstack([a, alpha]), mode="RGBA").save(p)
    np.testing.assert_allclose(read_photo(p), a / 255.0, atol=1e-6)  # colours under alpha 0 still read
    kept = read_photo(p, keep_alpha=True)
    np.testing.assert_allclose(kept, np.dstack([a, alpha]) / 255.0, atol=1e-6)
    stored, orientation = imageio.read_photo_as_stored(p, as_float=False, keep_alpha=True)
    assert stored.dtype == np.uint8 and orientation == 1
    np.testing.assert_array_equal(stored, np.dstack([a, alpha]))
    # An alpha that is opaque everywhere says nothing: three channels, as without keep_alpha.
    Image.fromarray(np.dstack([a, np.full_like(alpha, 255)]), mode="RGBA").save(p)
    assert read_photo(p, keep_alpha=True).shape == (*a.shape[:2], 3)


def test_a_32_bit_tga_whose_fourth_byte_is_0_everywhere_reads_opaque(tmp_path):
    a = rgb8()
    p = tmp_path / "writer.tga"
    Image.fromarray(np.dstack([a, np.zeros(a.shape[:2], np.uint8)]), mode="RGBA").save(p)
    got = read_photo(p, keep_alpha=True)
    assert got.shape == (*a.shape[:2], 3)
    np.testing.assert_allclose(got, a / 255.0, atol=1e-6)


@pytest.mark.parametrize("kind", ["grey+alpha", "palette+transparency", "rgb+colour key", "16-bit png"])
def test_every_kind_of_alpha_is_kept_as_rgba(tmp_path, kind):
    a = rgb8()
    p = tmp_path / "cutout.png"
    if kind == "grey+alpha":
        la = np.dstack([a[..., 0], np.where(a[..., 1] > 127, 255, 0).astype(np.uint8)])
        Image.fromarray(la, mode="LA").save(p)
        expected = la[..., [0, 0, 0, 1]] / 255.0
    elif kind == "palette+transparency":
        img = Image.fromarray(a).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
        img.info["transparency"] = 0
        img.save(p, transparency=0)
        expected = np.asarray(Image.open(p).convert("RGBA")) / 255.0
    elif kind == "rgb+colour key":
        a[0, 0] = (10, 20, 30)
        Image.fromarray(a).save(p, transparency=(10, 20, 30))
        expected = np.asarray(Image.open(p).convert("RGBA")) / 255.0
        assert expected[0, 0, 3] == 0
    else:
        bgra = np.random.default_rng(5).integers(0, 65536, (5, 7, 4), dtype=np.uint16)
        assert cv2.imwrite(str(p), bgra)
        expected = bgra[..., [2, 1, 0, 3]] / 65535.0
    got = read_photo(p, keep_alpha=True)
    assert got.shape[-1] == 4 and expected[..., 3].min() < 1
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_palette(tmp_path):
    a = rgb8()
    p = tmp_path / "palette.png"
    Image.fromarray(a).convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(p)
    expected = np.asarray(Image.open(p).convert("RGB")) / 255.0
    np.testing.assert_allclose(read_photo(p), expected, atol=1e-6)


def test_cmyk_jpeg(tmp_path):
    p = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(p, quality=95)  # pure red in CMYK
    assert Image.open(p).mode == "CMYK"
    np.testing.assert_allclose(read_photo(p)[4, 4], [1.0, 0.0, 0.0], atol=4 / 255)


def test_16bit_rgb_png_keeps_all_bits(tmp_path):
    a = np.random.default_rng(1).integers(0, 65536, (5, 7, 3), dtype=np.uint16)
    a[0, 0] = (1, 257 * 100 + 7, 65535)  # not representable in 8 bits
    p = tmp_path / "deep.png"
    assert cv2.imwrite(str(p), a[..., ::-1])  # OpenCV writes BGR
    np.testing.assert_allclose(read_photo(p), a / 65535.0, atol=1e-6)


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_16bit_gray_and_tiff(tmp_path, ext):
    a = np.random.default_rng(2).integers(0, 65536, (5, 7), dtype=np.uint16)
    p = tmp_path / f"gray16{ext}"
    assert cv2.imwrite(str(p), a)
    got = read_photo(p)
    assert got.shape == (5, 7, 3)
    np.testing.assert_allclose(got[..., 1], a / 65535.0, atol=1e-6)


def test_16bit_rgba_tiff(tmp_path):
    a = np.random.default_rng(3).integers(0, 65536, (5, 7, 4), dtype=np.uint16)
    p = tmp_path / "rgba16.tif"
    assert cv2.imwrite(str(p), a)  # BGRA
    np.testing.assert_allclose(read_photo(p), a[..., 2::-1] / 65535.0, atol=1e-6)


def test_float_rgb_tiff_that_pillow_cannot_open_is_read_through_opencv(tmp_path):
    a = np.random.default_rng(4).uniform(-0.2, 1.2, (5, 7, 3)).astype(np.float32)
    p = tmp_path / "hdr.tif"
    assert cv2.imwrite(str(p), a[..., ::-1])  # 32-bit float RGB: no Pillow mode for it
    with pytest.raises(Exception):
        Image.open(p)
    np.testing.assert_allclose(read_photo(p), np.clip(a, 0, 1), atol=1e-6)
    with pytest.raises(ImageError, match=r"is 7×5 \(3.5e-05 MP\), above the"):
        read_photo(p, max_pixels=34)
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b"not a tiff at all")
    with pytest.raises(ImageError, match="is not an image normalgen can read"):
        read_photo(junk)


def _oriented_jpeg(path, orientation):
    # Stored 8 high x 16 wide: left half red, right half blue, a green block top-left.
    a = np.zeros((8, 16, 3), np.uint8)
    a[:, :8] = (255, 0, 0)
    a[:, 8:] = (0, 0, 255)
    a[:4, :4] = (0, 255, 0)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(a).save(path, quality=100, exif=exif.tobytes())


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, orientation):
    p = tmp_path / f"o{orientation}.jpg"
    _oriented_jpeg(p, orientation)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(p)).convert("RGB")) / 255.0
    np.testing.assert_allclose(read_photo(p), expected, atol=1e-6)


def test_exif_orientation_6_is_rotated_upright(tmp_path):
    p = tmp_path / "rotated.jpg"
    _oriented_jpeg(p, 6)  # "rotate 90° clockwise to display": the left (red) half goes on top
    got = read_photo(p)
    assert got.shape == (16, 8, 3)
    assert got[6, 2, 0] > 0.9 and got[6, 2, 2] < 0.1  # red on top
    assert got[13, 4, 2] > 0.9 and got[13, 4, 0] < 0.1  # blue below
    assert got[1, 6, 1] > 0.9  # the green corner is now top-right


def test_normal_maps_ignore_exif_orientation(tmp_path):
    p = tmp_path / "rotated_normal.jpg"
    _oriented_jpeg(p, 6)
    assert read_normal_map(p).shape == (8, 16, 3)


def _marker(dtype=np.uint8):
    # Stored 12 high x 20 wide, grey, with a bright block in the top-left corner.
    a = np.full((12, 20), 60, np.uint8)
    a[:4, :6] = 250
    return a.astype(np.uint16) * 257 if dtype == np.uint16 else a


def _oriented(path, a, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(a).save(path, exif=exif.tobytes(), **({"quality": 100} if path.suffix == ".jpg" else {}))


def _bright_corner(rgb):
    ys, xs = np.nonzero(rgb[..., 0] > 0.8)
    return rgb.shape[:2], (ys.min(), ys.max(), xs.min(), xs.max())


@pytest.mark.parametrize("orientation", [3, 6])
@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("colour", [False, True], ids=["grey", "rgb"])
def test_an_oriented_tiff_is_turned_once_like_a_jpeg(tmp_path, orientation, bits, colour):
    # Pillow and OpenCV both turn a TIFF by its tag while decoding; read_photo used to turn it a
    # second time (orientation 3 came out not turned, 6 upside down), and upright=False turned.
    if colour and bits == 16:
        pytest.skip("Pillow writes no 16-bit RGB TIFF (the 16-bit grey one goes through OpenCV too)")
    a = _marker(np.uint16 if bits == 16 else np.uint8)
    a = np.repeat(a[..., None], 3, -1) if colour else a
    tif, jpg = tmp_path / "m.tif", tmp_path / "m.jpg"
    _oriented(tif, a, orientation)
    _oriented(jpg, _marker(), orientation)
    stored = (a if colour else np.repeat(a[..., None], 3, -1)) / (65535.0 if bits == 16 else 255.0)
    np.testing.assert_allclose(read_photo(tif, upright=False), stored, atol=1e-6)
    upright = read_photo(tif)
    np.testing.assert_allclose(upright, imageio._apply_orientation(stored, orientation), atol=1e-6)
    assert _bright_corner(upright) == _bright_corner(read_photo(jpg))
    assert read_normal_map(tif).shape == (12, 20, 3)


def test_path_with_spaces_and_non_ascii(tmp_path):
    folder = tmp_path / "tëxtures ünd Ω"
    folder.mkdir()
    p = folder / "brîck wall.png"
    Image.fromarray(rgb8()).save(p)
    assert read_photo(p).shape == (5, 7, 3)
    out = write_normal_map(folder / "brîck wall_normal.png", random_normals(), bit_depth=16)
    assert read_normal_map(out).shape == (6, 9, 3)


# ---------------------------------------------------------------- reading: bad input


def test_missing_file(tmp_path):
    p = tmp_path / "nope.png"
    with pytest.raises(ImageError) as e:
        read_photo(p)
    assert "does not exist" in one_sentence(str(e.value), p)


def test_zero_byte_file(tmp_path):
    p = tmp_path / "empty.png"
    p.write_bytes(b"")
    with pytest.raises(ImageError) as e:
        read_photo(p)
    assert "empty" in one_sentence(str(e.value), p)


def test_text_named_png(tmp_path):
    p = tmp_path / "notes.png"
    p.write_text("these are not pixels\n" * 20)
    with pytest.raises(ImageError) as e:
        read_photo(p)
    assert "not an image" in one_sentence(str(e.value), p)


def test_random_bytes_with_png_signature(tmp_path):
    p = tmp_path / "corrupt.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(200))
    with pytest.raises(ImageError) as e:
        read_photo(p)
    one_sentence(str(e.value), p)


@pytest.mark.parametrize("kind", ["png8", "png16", "jpg", "tif16"])
def test_truncated_files(tmp_path, capfd, kind):
    rng = np.random.default_rng(4)
    if kind == "png8":
        p = tmp_path / "cut.png"
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(p)
    elif kind == "jpg":
        p = tmp_path / "cut.jpg"
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(p, quality=90)
    else:
        p = tmp_path / ("cut.png" if kind == "png16" else "cut.tif")
        cv2.imwrite(str(p), rng.integers(0, 65536, (64, 64, 3), dtype=np.uint16))
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError) as e:
        read_photo(p)
    one_sentence(str(e.value), p)
    # No noise from the native decoders (libpng, libtiff) around our one line.
    assert capfd.readouterr().err == ""


def test_bit_rot_inside_png_data_is_an_error_not_a_flat_map(tmp_path):
    # 64 flipped bytes in the middle of IDAT: the rows after them used to come back black
    # (the EXIF lookup decoded the file first and swallowed the error), and convert exited 0.
    y, x = np.mgrid[0:128, 0:128]
    a = (np.stack([x, y, x ^ y], -1) * 2 % 256).astype(np.uint8)
    p = tmp_path / "bitrot.png"
    Image.fromarray(a).save(p)
    data = bytearray(p.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 64):
        data[i] ^= 0x5A
    p.write_bytes(bytes(data))
    with pytest.raises(ImageError, match="truncated or corrupt") as e:
        read_photo(p)
    one_sentence(str(e.value), p)


def _png_header_only(path, width, height):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    iend = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk + iend)


def test_decompression_bomb_refused_from_the_header(tmp_path):
    p = tmp_path / "bomb.png"
    _png_header_only(p, 40000, 40000)  # claims 1600 MP, is 33 bytes: refused before decoding
    with pytest.raises(ImageError) as e:
        read_photo(p)
    msg = one_sentence(str(e.value), p)
    assert "is 40000×40000 (1600 MP), above the 268 MP limit; raise it with --max-megapixels" in msg


def test_pixel_limit_is_configurable(tmp_path):
    p = tmp_path / "photo.png"
    Image.fromarray(rgb8(20, 30)).save(p)
    with pytest.raises(ImageError) as e:
        read_photo(p, max_pixels=500)
    assert "30×20" in str(e.value)
    assert read_photo(p, max_pixels=600).shape == (20, 30, 3)
    assert read_photo(p, max_pixels=None).shape == (20, 30, 3)


def test_pillow_limit_is_restored(tmp_path):
    p = tmp_path / "photo.png"
    Image.fromarray(rgb8()).save(p)
    before = Image.MAX_IMAGE_PIXELS
    read_photo(p)
    assert Image.MAX_IMAGE_PIXELS == before


# ---------------------------------------------------------------- writing


def test_8bit_png_round_trip(tmp_path):
    n = random_normals()
    out = write_normal_map(tmp_path / "n.png", n)
    raw = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint8 and raw.shape == (6, 9, 3)
    assert angular_error_deg(read_normal_map(out), n).max() < 0.8


def test_16bit_png_is_uint16_and_decodes_to_the_same_vectors(tmp_path):
    n = random_normals()
    out = write_normal_map(tmp_path / "n16.png", n, bit_depth=16)
    raw = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16 and raw.shape == (6, 9, 3)
    np.testing.assert_allclose(read_normal_map(out), n, atol=1e-4)


def test_no_gamma_and_rgb_order(tmp_path):
    n = np.zeros((1, 1, 3), np.float32)
    n[..., 0], n[..., 2] = 0.6, 0.8  # RGB = (0.8, 0.5, 0.9)
    out = write_normal_map(tmp_path / "n.png", n)
    px = np.asarray(Image.open(out))[0, 0]
    np.testing.assert_array_equal(px, np.round(np.array([0.8, 0.5, 0.9]) * 255))


def test_tiff_is_16bit_by_default(tmp_path):
    n = random_normals()
    out = write_normal_map(tmp_path / "n.tif", n, convention="directx")
    assert cv2.imread(str(out), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    np.testing.assert_allclose(read_normal_map(out, convention="directx"), n, atol=1e-4)


def test_exr_float_or_a_clear_error(tmp_path):
    n = random_normals()
    if imageio.exr_available():
        out = write_normal_map(tmp_path / "n.exr", n)
        np.testing.assert_allclose(read_normal_map(out), n, atol=1e-5)
    else:
        with pytest.raises(OutputError) as e:
            write_normal_map(tmp_path / "n.exr", n)
        assert "EXR is not available in this OpenCV build" in one_sentence(str(e.value))
        assert os.listdir(tmp_path) == []


def test_height_map_is_grayscale(tmp_path):
    h = np.linspace(0, 1, 42, dtype=np.float32).reshape(6, 7)
    out = write_height_map(tmp_path / "h.png", h, bit_depth=16)
    raw = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16 and raw.shape == (6, 7)
    np.testing.assert_allclose(raw / 65535.0, h, atol=1e-5)


def test_lossy_extension_refused(tmp_path):
    with pytest.raises(OutputError) as e:
        write_normal_map(tmp_path / "n.jpg", random_normals())
    one_sentence(str(e.value))


def test_existing_output_is_not_overwritten(tmp_path):
    target = tmp_path / "n.png"
    target.write_bytes(b"precious")
    with pytest.raises(OutputError) as e:
        write_normal_map(target, random_normals())
    assert "--overwrite" in one_sentence(str(e.value), target)
    assert target.read_bytes() == b"precious"
    write_normal_map(target, random_normals(), overwrite=True)
    assert read_normal_map(target).shape == (6, 9, 3)
    assert no_temp_files(tmp_path)


def test_new_files_get_normal_permissions(tmp_path):
    out = write_normal_map(tmp_path / "n.png", random_normals())
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("exc", [OSError(errno.EIO, "Input/output error"), KeyboardInterrupt()])
def test_failure_mid_write_leaves_no_half_file_and_no_temp(tmp_path, monkeypatch, exc):
    target = tmp_path / "n.png"

    def broken_fsync(fd):
        raise exc

    monkeypatch.setattr(atomic_files.os, "fsync", broken_fsync)
    with pytest.raises(OutputError if isinstance(exc, OSError) else KeyboardInterrupt) as e:
        write_normal_map(target, random_normals())
    if isinstance(exc, OSError):
        one_sentence(str(e.value), target)
    assert os.listdir(tmp_path) == []


def test_temp_files_a_killed_write_left_are_removed_by_the_next_write_there(tmp_path):
    # SIGKILL or a power cut skips the cleanup; such temp files, once old, go on the next write.
    old = tmp_path / ".a.png.tmp-0123abcd.png"
    fresh = tmp_path / ".b.png.tmp-89abcdef.png"  # perhaps another process writing right now
    other = [tmp_path / ".a.png.tmp-notmine.png", tmp_path / "a.png.tmp-0123abcd.png", tmp_path / ".keep"]
    for f in [old, fresh, *other]:
        f.write_bytes(b"x")
    stale = os.stat(fresh).st_mtime - atomic_files.STALE_TEMP_SECONDS - 60
    for f in [old, *other]:
        os.utime(f, (stale, stale))
    write_normal_map(tmp_path / "n.png", random_normals())
    assert sorted(os.listdir(tmp_path)) == sorted([fresh.name, "n.png"] + [f.name for f in other])
    # Once per folder per process: a batch does not list its output folder for every file.
    old.write_bytes(b"x")
    os.utime(old, (stale, stale))
    write_normal_map(tmp_path / "m.png", random_normals())
    assert old.exists()
    assert atomic_files.remove_stale_temps(tmp_path) == [old]


def test_failed_overwrite_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "n.png"
    write_normal_map(target, random_normals(seed=1))
    before = target.read_bytes()

    def broken_replace(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic_files.os, "replace", broken_replace)
    with pytest.raises(OutputError, match="no space left"):
        write_normal_map(target, random_normals(seed=2), overwrite=True)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["n.png"]


def test_output_folder_is_a_file(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    with pytest.raises(OutputError) as e:
        write_normal_map(blocker / "n.png", random_normals())
    assert "is not a folder" in one_sentence(str(e.value))


def test_read_only_folder(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() == 0:
        # root ignores permission bits, so simulate what the OS would say to anyone else.
        real_open = os.open

        def denied(path, flags, *args, **kwargs):
            if str(path).startswith(str(folder)) and flags & os.O_CREAT:
                raise PermissionError(errno.EACCES, "Permission denied")
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(atomic_files.os, "open", denied)
    else:
        folder.chmod(0o500)
    try:
        with pytest.raises(OutputError) as e:
            write_normal_map(folder / "n.png", random_normals())
        assert "not writable" in one_sentence(str(e.value), folder)
    finally:
        folder.chmod(0o700)
    assert os.listdir(folder) == []


def test_native_integer_read_matches_float_read(tmp_path):
    a = rgb8()
    Image.fromarray(a).save(tmp_path / "p8.png")
    native = read_photo(tmp_path / "p8.png", as_float=False)
    assert native.dtype == np.uint8 and np.array_equal(native, a)
    b = (np.random.default_rng(4).random((5, 7, 3)) * 65535).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "p16.png"), b[..., ::-1])
    native16 = read_photo(tmp_path / "p16.png", as_float=False)
    assert native16.dtype == np.uint16 and np.array_equal(native16, b)
    np.testing.assert_allclose(read_photo(tmp_path / "p16.png"), b / 65535.0, atol=1e-6)


@pytest.mark.skipif(not imageio.exr_available(), reason="this OpenCV build has no OpenEXR")
@pytest.mark.parametrize("signed", [False, True], ids=["encoded", "signed-vectors"])
def test_an_exr_normal_map_is_read_in_rgb_order_encoded_or_signed(tmp_path, signed):
    n = normalize(np.dstack([np.full((8, 32), 0.6), np.linspace(-0.5, 0.5, 32)[None, :].repeat(8, 0),
                             np.ones((8, 32))]).astype(np.float32))
    stored = n if signed else (n + 1) / 2
    ok, data = cv2.imencode(".exr", np.ascontiguousarray(stored[..., ::-1]))  # OpenCV writes BGR
    assert ok
    path = tmp_path / "rock_nor_gl_1k.exr"
    path.write_bytes(data.tobytes())
    assert np.abs(read_normal_map(path, check=True) - n).max() < 1e-3


@pytest.mark.skipif(not imageio.exr_available(), reason="this OpenCV build reads EXR")
@pytest.mark.parametrize("signed", [False, True], ids=["encoded", "signed-vectors"])
def test_an_exr_height_map_under_a_normal_maps_name_is_refused_when_checked(tmp_path, signed):
    height = np.random.default_rng(0).random((16, 16)).astype(np.float32)
    grey = np.dstack([height * 2 - 1 if signed else height] * 3)
    ok, data = cv2.imencode(".exr", grey)
    assert ok
    path = tmp_path / "rock_nor_gl_1k.exr"
    path.write_bytes(data.tobytes())
    with pytest.raises(ImageError, match="cannot be a normal map: it is grey"):
        read_normal_map(path, check=True)
    assert read_normal_map(path).shape == (16, 16, 3)  # unchecked, it is read as asked


@pytest.mark.parametrize("signed", [False, True], ids=["encoded", "signed-vectors"])
def test_exr_decoding_and_check_without_openexr(tmp_path, monkeypatch, signed):
    """The EXR path after OpenCV's decoder (which pip's wheels may lack), with that decoder faked."""
    n = normalize(np.dstack([np.full((8, 8), 0.3), np.linspace(-0.5, 0.5, 8)[None, :].repeat(8, 0),
                             np.ones((8, 8))]).astype(np.float32))
    height = np.random.default_rng(0).random((8, 8)).astype(np.float32)
    files = {"good_nor_gl.exr": n if signed else (n + 1) / 2,
             "height_nor_gl.exr": np.dstack([height * 2 - 1 if signed else height] * 3)}
    for name in files:
        (tmp_path / name).write_bytes(b"\x76\x2f\x31\x01" + bytes(60))
    monkeypatch.setattr(imageio, "exr_available", lambda: True)
    monkeypatch.setattr(imageio, "_imdecode", lambda path: np.ascontiguousarray(files[path.name][..., ::-1]))
    assert np.abs(read_normal_map(tmp_path / "good_nor_gl.exr", check=True) - n).max() < 1e-5
    with pytest.raises(ImageError, match="cannot be a normal map: it is grey"):
        read_normal_map(tmp_path / "height_nor_gl.exr", check=True)


@pytest.mark.skipif(imageio.exr_available(), reason="this OpenCV build reads EXR")
def test_an_exr_normal_map_without_openexr_is_one_sentence(tmp_path):
    path = tmp_path / "rock_nor_gl_1k.exr"
    path.write_bytes(b"\x76\x2f\x31\x01" + bytes(60))  # the EXR magic number, then nothing usable
    with pytest.raises(ImageError, match="EXR file, which this OpenCV build cannot read"):
        read_normal_map(path)


def test_orientation_to_upright_turns_grey_arrays_as_it_turns_colour_ones():
    from normalgen.imageio import orientation_to_upright

    rgb = np.arange(2 * 3 * 3).reshape(2, 3, 3)
    for orientation in range(1, 9):
        assert np.array_equal(orientation_to_upright(rgb[..., 0], orientation),
                              orientation_to_upright(rgb, orientation)[..., 0]), orientation
