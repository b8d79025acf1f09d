"""Reading photos and normal maps, writing normal and height maps: safely, atomically, no gamma.

Which library does what, and why:

* **Pillow** opens every input first. It reads the header (size, format, EXIF orientation) without
  decoding the pixels, so the pixel limit is enforced *before* any memory is spent (decompression
  bombs), and it decodes the 8-bit formats best: JPEG (incl. Adobe/CMYK and EXIF), palette PNG,
  BMP, TGA, WebP, grayscale, RGBA.
* **OpenCV** decodes PNG and TIFF with more than 8 bits per channel (Pillow silently drops 16-bit
  RGB to 8 bits) and writes every output: it is the one library here that writes 16-bit RGB PNG
  and TIFF, and float EXR where the build has OpenEXR.

Photos come back as float32 sRGB values in [0, 1], as stored (no linearisation: the network was
trained on sRGB). Normal maps are *data*: RGB = (n + 1) / 2, never gamma-corrected either way.

Every write goes through `normalgen.atomic_files`: a crash never leaves half a map.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import threading
import warnings
import zlib
from pathlib import Path

import numpy as np

# OpenCV reads this when it first meets an EXR file; it must be set before cv2 is imported.
os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")

import cv2  # noqa: E402
from PIL import Image, UnidentifiedImageError  # noqa: E402

from normalgen.alpha import split_alpha  # noqa: E402
from normalgen.atomic_files import OutputExistsError, atomic_write_bytes  # noqa: E402
from normalgen.errors import ImageError, OutputError, one_clause  # noqa: E402
from normalgen.vectors import check_convention, decode_rgb, encode_rgb, normal_map_problem, normalize  # noqa: E402

DEFAULT_MAX_PIXELS = 16384 * 16384  # ~268 MP: larger than any texture photo, small enough for RAM
PHOTO_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".tga", ".webp")
OUTPUT_FORMATS = {".png": 8, ".tif": 16, ".tiff": 16, ".exr": 32}  # extension -> default bits

_EXIF_ORIENTATION = 0x0112
_PILLOW_LIMIT_LOCK = threading.Lock()
# Errors Pillow and its codecs raise for corrupt or truncated data.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


_ROWS_PER_BAND = 512  # rows encoded at a time: bounds the float temporaries of a write


def read_photo(path, *, max_pixels: int | None = DEFAULT_MAX_PIXELS, as_float: bool = True,
               upright: bool = True, keep_alpha: bool = False) -> np.ndarray:
    """Read a photo as (H, W, 3) float32 sRGB in [0, 1], upright as its EXIF orientation says
    (`upright=False`: the pixel grid as stored, as a normal map is read).

    Alpha is dropped unless `keep_alpha`, which adds it as a fourth channel when the photo has
    one that is not fully opaque. Grayscale is repeated to three channels, 16-bit stays 16-bit
    until the float conversion. `as_float=False` returns the decoded uint8 / uint16 sRGB values instead
    (a quarter of the memory; `generate_normal_map` takes them as they are). Raises ImageError
    (one sentence naming the file) for a missing, empty, truncated, corrupt or oversized file.
    """
    rgb = _read_rgb(path, max_pixels=max_pixels, honour_orientation=upright, keep_alpha=keep_alpha)
    return _to_unit_float(rgb) if as_float else rgb


def read_photo_as_stored(path, *, max_pixels: int | None = DEFAULT_MAX_PIXELS,
                         as_float: bool = True, keep_alpha: bool = False) -> tuple[np.ndarray, int]:
    """The photo's stored pixel grid (what Blender and game engines sample), as `read_photo`
    with upright=False, and its EXIF orientation (1..8; 1 when it has none), from one decode.
    `orientation_to_upright(pixels, orientation)` gives what `read_photo` gives."""
    rgb, orientation = _read_stored(Path(path), max_pixels, keep_alpha)
    return (_to_unit_float(rgb) if as_float else rgb), orientation


def orientation_to_upright(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turn (H, W, ...) pixels from the stored grid upright as EXIF orientation 1..8 says (the
    same as Pillow's exif_transpose); the pixels only: vectors in them are not turned."""
    return _apply_orientation(pixels, orientation)


def read_normal_map(path, *, convention: str = "opengl", max_pixels: int | None = DEFAULT_MAX_PIXELS,
                    check: bool = False) -> np.ndarray:
    """Read a normal map as (H, W, 3) float32 unit vectors in `convention` (the file's convention).

    RGB = (n + 1) / 2 is decoded as is: no gamma, no convention change, no EXIF rotation (turning
    the pixel grid of a normal map without turning its vectors would corrupt it). To get OpenGL
    vectors from a DirectX file, pass the result through
    ``vectors.convert_convention(normals, "directx", "opengl")``. check=True raises ImageError
    for an image that cannot be an encoded normal map (grey, black, a height map by mistake:
    `vectors.normal_map_problem`), as training and evaluation want.
    """
    check_convention(convention)
    if Path(path).suffix.lower() == ".exr":
        rgb = _read_exr(Path(path), max_pixels)
    else:
        rgb = _to_unit_float(_read_rgb(path, max_pixels=max_pixels, honour_orientation=False))
    problem = normal_map_problem(rgb) if check else None
    if problem:
        raise ImageError(f"{path} cannot be a normal map: {problem}")
    return decode_rgb(rgb)


def _read_exr(path: Path, max_pixels: int | None) -> np.ndarray:
    """An EXR normal map through OpenCV, where the build has OpenEXR -> RGB = (n + 1) / 2, floats.

    Float maps come two ways: RGB = (n + 1) / 2 like an integer map, or the signed vector
    itself; any value below zero means the latter (the encoded form never goes below zero), and
    it is encoded here so that one check and one decoding serve both."""
    if not exr_available():
        raise ImageError(f"{path} is an EXR file, which this OpenCV build cannot read; "
                         "save the normal map as a 16-bit PNG or TIFF.")
    _check_file(path)
    arr = _imdecode(path).astype(np.float32)  # the whole file: EXR has no header Pillow reads
    _check_pixel_limit(path, (arr.shape[1], arr.shape[0]), max_pixels)
    if arr.ndim != 3 or arr.shape[-1] < 3:
        raise ImageError(f"{path} is not an RGB normal map.")
    rgb = np.nan_to_num(arr[..., 2::-1])  # BGR(A) -> RGB
    return (rgb + 1.0) / 2.0 if rgb.min() < -1e-3 else np.clip(rgb, 0.0, 1.0)


def exif_rotation(path) -> int:
    """The EXIF orientation (1..8; 1 = stored upright) in the file's header. Raises ImageError."""
    with _open_header(Path(path)) as img:
        return _orientation(img)


def image_size(path) -> tuple[int, int]:
    """(width, height) from the header alone, without decoding. Raises ImageError."""
    path = Path(path)
    with _open_header(path) as img:
        return img.size


def _read_rgb(path, *, max_pixels: int | None, honour_orientation: bool, keep_alpha: bool = False) -> np.ndarray:
    rgb, orientation = _read_stored(Path(path), max_pixels, keep_alpha)
    return _apply_orientation(rgb, orientation) if honour_orientation else rgb


def _read_stored(path: Path, max_pixels: int | None, keep_alpha: bool = False) -> tuple[np.ndarray, int]:
    """The decoded pixels on the file's stored grid, and its EXIF orientation. RGBA when asked for
    and the file's alpha says something (`alpha.split_alpha`), else RGB (copied out of a decoded
    RGBA: a view would keep the four-channel buffer alive)."""
    try:
        with _open_header(path) as img:
            _check_pixel_limit(path, img.size, max_pixels)
            if img.format == "TIFF":
                orientation = _tiff_orientation(path)
                rgb = _decode_tiff(path, img, orientation)
            else:
                rgb = _decode(path, img)
                # After decoding: PNG's getexif() loads the pixels, and _orientation swallows its errors.
                orientation = _orientation(img)
    except _Unidentified as unknown:
        if path.suffix.lower() not in (".tif", ".tiff"):
            raise
        rgb = _decode_tiff_pillow_cannot_open(path, max_pixels, unknown)
        orientation = _tiff_orientation(path)
    colour, alpha = split_alpha(rgb)
    return (rgb if keep_alpha and alpha is not None else np.ascontiguousarray(colour)), orientation


def _decode(path: Path, img: Image.Image) -> np.ndarray:
    return _decode_high_bit_depth(path, img) if _bits_per_sample(path, img) > 8 else _decode_with_pillow(path, img)


def _decode_tiff(path: Path, img: Image.Image, orientation: int) -> np.ndarray:
    """A TIFF's pixels on its stored grid.

    Pillow (13 at least, and wrongly for some grey images) and OpenCV (whatever the flags) both
    turn a TIFF by its Orientation tag while decoding. Both are handed the file with the tag set
    to 1 instead (`_imdecode` does it for OpenCV), which works whatever their versions; the
    caller applies `orientation` (the file's tag) itself, once."""
    if orientation == 1 or _bits_per_sample(path, img) > 8:
        return _decode(path, img)
    data = _file_bytes(path)
    _clear_tiff_orientation(data)
    try:
        stored = Image.open(io.BytesIO(data.tobytes()))
    except (UnidentifiedImageError, *_DECODE_ERRORS) as e:
        raise ImageError(f"{path} is truncated or corrupt ({one_clause(e)}).") from None
    with stored:
        return _decode_with_pillow(path, stored)


def _decode_tiff_pillow_cannot_open(path: Path, max_pixels: int | None, unknown: ImageError) -> np.ndarray:
    """TIFFs Pillow has no mode for, such as 32-bit float RGB (an HDR or raw export), through
    OpenCV: decoded whole before the size check, as for EXR; float values are clipped to [0, 1]
    and read like any photo's. A file OpenCV cannot decode either keeps Pillow's sentence."""
    try:
        arr = _imdecode(path)
    except ImageError:
        raise unknown from None
    _check_pixel_limit(path, (arr.shape[1], arr.shape[0]), max_pixels)
    return _opencv_to_rgb(arr)


def _check_file(path: Path) -> None:
    """ImageError unless `path` is a file with something in it."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ImageError(f"{path} does not exist.") from None
    except OSError as e:
        raise ImageError(f"cannot read {path}: {one_clause(e)}.") from None
    if path.is_dir():
        raise ImageError(f"{path} is a folder, not an image.")
    if size == 0:
        raise ImageError(f"{path} is empty (0 bytes).")


class _Unidentified(ImageError):
    """Pillow does not know the file's format (or its header is corrupt)."""


@contextlib.contextmanager
def _open_header(path: Path):
    """Pillow-open `path` lazily (header only), turning every failure into one-sentence ImageError."""
    _check_file(path)
    # Pillow's limit stays off while the caller decodes too: TIFF, GIF and MPO re-check per frame.
    with _pillow_limit_off():
        try:
            img = Image.open(path)
        except UnidentifiedImageError:
            raise _Unidentified(f"{path} is not an image normalgen can read (unknown format or corrupt header).") from None
        except PermissionError:
            raise ImageError(f"cannot read {path}: permission denied.") from None
        except _DECODE_ERRORS as e:
            raise ImageError(f"{path} has a corrupt header ({one_clause(e)}).") from None
        try:
            yield img
        finally:
            img.close()


@contextlib.contextmanager
def _pillow_limit_off():
    """Our own limit (checked from the header) replaces Pillow's lower built-in 89 MP one.

    Image.MAX_IMAGE_PIXELS is process-global: the lock keeps our reads from racing each other,
    and the old value is put back afterwards for everyone else.
    """
    with _PILLOW_LIMIT_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.simplefilter("ignore", UserWarning)  # "Corrupt EXIF data" etc.: not the user's to read
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _check_pixel_limit(path: Path, size: tuple[int, int], max_pixels: int | None) -> None:
    w, h = size
    if w <= 0 or h <= 0:
        raise ImageError(f"{path} claims an empty size of {w}×{h}.")
    if max_pixels is not None and w * h > max_pixels:
        raise ImageError(
            f"{path} is {w}×{h} ({_megapixels(w * h)} MP), above the {_megapixels(max_pixels)} MP limit; "
            "raise it with --max-megapixels."
        )


def _megapixels(pixels: int) -> str:
    mp = pixels / 1e6
    return f"{mp:.0f}" if mp >= 10 else f"{mp:.3g}"


def _bits_per_sample(path: Path, img: Image.Image) -> int:
    """Bits per channel from the header: PNG's IHDR and TIFF's BitsPerSample; 8 for the rest."""
    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        return 16
    if img.format == "PNG":
        return _png_bit_depth(path)
    if img.format == "TIFF":
        bps = img.tag_v2.get(258, 8)
        return max(bps) if isinstance(bps, tuple) else int(bps)
    return 8


def _png_bit_depth(path: Path) -> int:
    """Byte 24 of a PNG file is the IHDR bit depth (signature 8 + length 4 + type 4 + w 4 + h 4)."""
    with open(path, "rb") as f:
        head = f.read(25)
    return head[24] if len(head) == 25 else 8


def _orientation(img: Image.Image) -> int:
    try:
        value = int(img.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # a broken EXIF block must not make a readable photo unreadable
        return 1
    return value if 1 <= value <= 8 else 1


def _tiff_orientation(path: Path) -> int:
    """The EXIF orientation (1..8) in a TIFF's first IFD, read from the file itself; 1 if none."""
    try:
        with open(path, "rb") as f:
            where = _tiff_orientation_offset(lambda at, n: (f.seek(at), f.read(n))[1])
            if where is None:
                return 1
            f.seek(where[0])
            value = struct.unpack(where[1] + "H", f.read(2))[0]
    except (OSError, struct.error):
        return 1
    return value if 1 <= value <= 8 else 1


def _tiff_orientation_offset(read) -> tuple[int, str] | None:
    """(file offset, byte order) of the Orientation value in a TIFF's first IFD, or None.

    read(offset, n) -> bytes. Classic TIFF (12-byte entries) and BigTIFF (20-byte entries); the
    tag is a SHORT, stored at the start of the entry's value field."""
    head = read(0, 16)
    order = {b"II": "<", b"MM": ">"}.get(head[:2])
    if order is None or len(head) < 16:
        return None
    magic = struct.unpack_from(order + "H", head, 2)[0]
    if magic == 42:
        ifd, count_fmt, entry, value_at = struct.unpack_from(order + "I", head, 4)[0], "H", 12, 8
    elif magic == 43:
        ifd, count_fmt, entry, value_at = struct.unpack_from(order + "Q", head, 8)[0], "Q", 20, 12
    else:
        return None
    count_size = struct.calcsize(count_fmt)
    count = struct.unpack(order + count_fmt, read(ifd, count_size))[0]
    entries = read(ifd + count_size, count * entry)
    for i in range(len(entries) // entry):
        tag, kind = struct.unpack_from(order + "HH", entries, i * entry)
        if tag == _EXIF_ORIENTATION and kind == 3:  # SHORT
            return ifd + count_size + i * entry + value_at, order
    return None


def _clear_tiff_orientation(data: np.ndarray) -> None:
    """Set the Orientation tag of the TIFF bytes in `data` to 1 (in place), so that OpenCV, which
    turns TIFFs by it even with IMREAD_UNCHANGED, decodes the stored grid."""
    try:
        where = _tiff_orientation_offset(lambda at, n: data[at : at + n].tobytes())
    except struct.error:
        return
    if where is not None and where[0] + 2 <= data.size:
        data[where[0] : where[0] + 2] = np.frombuffer(struct.pack(where[1] + "H", 1), np.uint8)


def _decode_with_pillow(path: Path, img: Image.Image) -> np.ndarray:
    try:
        img.load()
        # RGBA where the image has alpha (LA, PA, RGBa, a palette or colour key with transparency),
        # else RGB: palette, L, CMYK (Adobe-inverted too), YCbCr, 1.
        target = "RGBA" if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info else "RGB"
        if img.mode != target:
            img = img.convert(target)
        arr = np.array(img, dtype=np.uint8)  # a copy: the pixels must outlive the Pillow image
    except _DECODE_ERRORS as e:
        raise ImageError(f"{path} is truncated or corrupt ({one_clause(e)}).") from None
    return arr


def _decode_high_bit_depth(path: Path, img: Image.Image) -> np.ndarray:
    """16-bit (or float) PNG/TIFF via OpenCV, which keeps every bit."""
    if img.format == "PNG":
        # libpng prints to the process's stderr on a truncated file; Pillow's verify walks the
        # chunks and CRCs (no decompression) and catches those files first, with a clean error.
        try:
            with Image.open(path) as fresh:  # verify needs an image straight from open
                fresh.verify()
        except _DECODE_ERRORS as e:
            raise ImageError(f"{path} is truncated or corrupt ({one_clause(e)}).") from None
    return _opencv_to_rgb(_imdecode(path))


def _imdecode(path: Path) -> np.ndarray:
    """The file as OpenCV decodes it, unchanged (the stored grid, no 8-bit): BGR(A) or grey."""
    data = _file_bytes(path)
    if data[:2].tobytes() in (b"II", b"MM"):
        _clear_tiff_orientation(data)
    with _opencv_quiet():
        arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ImageError(f"{path} is truncated or corrupt (OpenCV could not decode it).")
    return arr


def _file_bytes(path: Path) -> np.ndarray:
    try:
        return np.fromfile(path, dtype=np.uint8)  # not cv2.imread: non-ASCII paths work everywhere
    except OSError as e:
        raise ImageError(f"cannot read {path}: {one_clause(e)}.") from None


@contextlib.contextmanager
def _opencv_quiet():
    log = getattr(cv2.utils, "logging", None)  # OpenCV 4.10 and older have no cv2.utils.logging
    if log is None:
        yield
        return
    level = log.getLogLevel()
    log.setLogLevel(log.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        log.setLogLevel(level)


def _opencv_to_rgb(arr: np.ndarray) -> np.ndarray:
    """OpenCV's BGR(A)/grey(+alpha) array -> RGB(A), keeping its integer type (float data clipped to
    [0, 1])."""
    if arr.dtype not in (np.uint8, np.uint16):
        arr = np.clip(np.nan_to_num(arr.astype(np.float32)), 0.0, 1.0)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    elif arr.shape[-1] == 2:  # grey + alpha
        arr = arr[..., [0, 0, 0, 1]]
    elif arr.shape[-1] == 4:
        arr = arr[..., [2, 1, 0, 3]]  # BGRA -> RGBA
    else:
        arr = arr[..., 2::-1]  # BGR -> RGB
    return np.ascontiguousarray(arr)


def _to_unit_float(arr: np.ndarray) -> np.ndarray:
    """uint8 / uint16 / float RGB -> float32 in [0, 1], with one allocation."""
    if arr.dtype == np.uint8:
        return np.multiply(arr, np.float32(1.0 / 255.0), dtype=np.float32)
    if arr.dtype == np.uint16:
        return np.multiply(arr, np.float32(1.0 / 65535.0), dtype=np.float32)
    return np.asarray(arr, dtype=np.float32)


def _apply_orientation(a: np.ndarray, orientation: int) -> np.ndarray:
    """Turn the stored pixel grid upright as EXIF orientation 1..8 says (same as Pillow's exif_transpose)."""
    if orientation == 2:
        a = a[:, ::-1]
    elif orientation == 3:
        a = a[::-1, ::-1]
    elif orientation == 4:
        a = a[::-1]
    elif orientation == 5:
        a = np.swapaxes(a, 0, 1)  # (H, W) or (H, W, C)
    elif orientation == 6:
        a = np.rot90(a, k=-1)
    elif orientation == 7:
        a = np.swapaxes(a[::-1, ::-1], 0, 1)
    elif orientation == 8:
        a = np.rot90(a, k=1)
    return np.ascontiguousarray(a)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def exr_available() -> bool:
    """Whether this OpenCV build can write EXR (pip's opencv-python wheels often cannot)."""
    try:
        ok, _ = cv2.imencode(".exr", np.zeros((1, 1), np.float32))
        return bool(ok)
    except cv2.error:
        return False


def check_output_format(path_or_ext, bit_depth: int | None = None) -> tuple[str, int]:
    """Validate an output extension and bit depth before any work; returns (ext, bits).

    .png: 8 (default) or 16 bits; .tif/.tiff: 16 (default) or 8; .exr: 32-bit float only, where
    OpenCV has OpenEXR. Anything lossy or unknown is refused: a normal map must be exact data.
    """
    s = str(path_or_ext)
    ext = s.lower() if s.startswith(".") and "/" not in s else Path(s).suffix.lower()
    if ext not in OUTPUT_FORMATS:
        raise OutputError(
            f"cannot write {ext or 'a file without an extension'}: use .png, .tif or .exr "
            "(a normal map must be stored losslessly)."
        )
    if ext == ".exr":
        if bit_depth not in (None, 32):
            raise OutputError(f"EXR output is always 32-bit float, not {bit_depth}-bit; leave out the bit depth.")
        if not exr_available():
            raise OutputError("EXR is not available in this OpenCV build; use the png or tif format.")
        return ext, 32
    bits = OUTPUT_FORMATS[ext] if bit_depth is None else int(bit_depth)
    if bits not in (8, 16):
        raise OutputError(f"{ext} output can be 8- or 16-bit, not {bit_depth}-bit.")
    return ext, bits


def write_normal_map(
    path,
    normals: np.ndarray,
    *,
    convention: str = "opengl",
    bit_depth: int | None = None,
    overwrite: bool = False,
) -> Path:
    """Write (H, W, 3) unit vectors in `convention` as a normal map in that convention; atomic.

    The vectors are stored as they are (RGB = (n + 1) / 2, no gamma, no flip): `convention` names
    what they already are (``generate_normal_map`` returns them in the convention asked for).
    The format comes from the extension: .png 8/16-bit, .tif/.tiff 16/8-bit, .exr float32 of the
    same (n + 1) / 2 encoding. Raises OutputError.
    """
    check_convention(convention)
    normals = np.asarray(normals, dtype=np.float32)
    if normals.ndim != 3 or normals.shape[-1] != 3:
        raise ValueError(f"normals must be (H, W, 3), got {normals.shape}")
    return _write_image(path, normals, bit_depth=bit_depth, overwrite=overwrite, to_unit=encode_rgb)


def write_height_map(path, height: np.ndarray, *, bit_depth: int | None = None, overwrite: bool = False) -> Path:
    """Write an (H, W) height field in [0, 1] as a grayscale image (data: no gamma); atomic."""
    height = np.asarray(height, dtype=np.float32)
    if height.ndim != 2:
        raise ValueError(f"height must be (H, W), got {height.shape}")
    return _write_image(path, height, bit_depth=bit_depth, overwrite=overwrite,
                        to_unit=lambda h: np.clip(h, 0.0, 1.0))


def _write_image(path, values: np.ndarray, *, bit_depth: int | None, overwrite: bool, to_unit) -> Path:
    """values: (H, W) or (H, W, 3) RGB; to_unit(values) maps them to float [0, 1] (applied a band
    of rows at a time, so an 8192² map never exists as a full float copy) -> encoded by
    extension -> atomic write."""
    path = Path(path)
    ext, bits = check_output_format(path, bit_depth)
    if not overwrite and os.path.lexists(path):
        raise OutputExistsError(f"{path} already exists; pass --overwrite to replace it.")
    data = _encode(path, ext, bits, values, to_unit)
    atomic_write_bytes(path, data, overwrite=overwrite)
    return path


def _encode(path: Path, ext: str, bits: int, values: np.ndarray, to_unit) -> bytes:
    dtype = {8: np.uint8, 16: np.uint16, 32: np.float32}[bits]
    scale = {8: 255.0, 16: 65535.0, 32: 1.0}[bits]
    arr = np.empty(values.shape, dtype)
    for top in range(0, values.shape[0], _ROWS_PER_BAND):
        unit = to_unit(values[top : top + _ROWS_PER_BAND])
        arr[top : top + _ROWS_PER_BAND] = unit if bits == 32 else np.round(unit * scale)
    if arr.ndim == 3:
        arr = arr[..., ::-1]  # RGB -> OpenCV's BGR (a view; OpenCV copies it if it must)
        arr = np.ascontiguousarray(arr)
    try:
        ok, buf = cv2.imencode(ext, arr)
    except cv2.error:
        ok = False
    if not ok:
        if ext == ".exr":
            raise OutputError("EXR is not available in this OpenCV build; use the png or tif format.")
        raise OutputError(f"cannot encode {path} as {bits}-bit {ext[1:].upper()}.")
    return buf.tobytes()
