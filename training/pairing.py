"""Find (photo, normal map) pairs in texture folders, under the names artists' downloads use.

- normalgen / synth:  <name>_color.<ext>  +  <name>_normal.<ext>                  (OpenGL)
- ambientCG:          <Asset>_<res>-<fmt>_Color.<ext>  +  ..._NormalGL.<ext>  (or _NormalDX)
- Poly Haven:         <name>_diff_<res>.<ext>  +  <name>_nor_gl_<res>.<ext>  (or _nor_dx_)

A pair's `convention` says how its normal map is stored; loaders flip DirectX maps to OpenGL.
Unpaired files are reported as warnings; corrupt or size-mismatched files are found when loaded
(`dataset.check_pairs`).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from pathlib import Path

from normalgen.imageio import PHOTO_EXTENSIONS, exr_available

# What the converter reads, plus EXR, which texture libraries use for normal maps.
IMAGE_EXTS = set(PHOTO_EXTENSIONS) | {".exr"}

# (regex on the file name without extension, role, convention); group 1 is the pair key.
_PATTERNS = [
    (re.compile(r"^(.*)_color$", re.I), "color", None),
    (re.compile(r"^(.*)_normal$", re.I), "normal", "opengl"),
    (re.compile(r"^(.*)_NormalGL$", re.I), "normal", "opengl"),
    (re.compile(r"^(.*)_NormalDX$", re.I), "normal", "directx"),
    (re.compile(r"^(.*)_diff(_[^_]+)$", re.I), "color", None),
    (re.compile(r"^(.*)_nor_gl(_[^_]+)$", re.I), "normal", "opengl"),
    (re.compile(r"^(.*)_nor_dx(_[^_]+)$", re.I), "normal", "directx"),
]


_FORMAT_TOKEN = re.compile(r"-(jpe?g|png|exr|tiff?)$")
_RESOLUTION_TOKEN = re.compile(r"_(\d+k)$")  # the end of an ambientCG or Poly Haven key: "_2k"
_ARCHIVES = {".zip", ".7z", ".rar", ".tar", ".gz", ".tgz"}
_LOSSY = {".jpg", ".jpeg", ".webp"}


@dataclasses.dataclass(frozen=True)
class Pair:
    name: str
    color: Path
    normal: Path
    convention: str  # how `normal` is stored: "opengl" or "directx"
    group: str  # the sub-folder it came from, for per-group evaluation


def classify(path: Path):
    """-> (pair key, role, convention) or None for files that are not part of a pair."""
    if path.suffix.lower() not in IMAGE_EXTS:
        return None
    stem = path.stem
    for rx, role, conv in _PATTERNS:
        m = rx.match(stem)
        if m:
            # ambientCG names the download's format (Bricks076_1K-JPG_Color, ..._1K-PNG_NormalGL):
            # a photo from one download and a normal map from another still pair.
            return _FORMAT_TOKEN.sub("", "".join(m.groups()).lower()), role, conv
    return None


def _rank(path: Path, convention: str | None = None) -> tuple[bool, bool, bool]:
    """Lower is better among files for one role: one this build can read, then a lossless copy over
    a JPEG or WebP one, then an OpenGL normal map over a DirectX one (flipped, it is the same data)."""
    ext = path.suffix.lower()
    return ext == ".exr" and not _exr_readable(), ext in _LOSSY, convention == "directx"


@functools.cache
def _exr_readable() -> bool:
    return exr_available()


def _better(a: Path, b: Path, conv_a: str | None = None, conv_b: str | None = None) -> tuple[Path, Path]:
    """(kept, skipped) of two files for one role, by `_rank`; the first on a tie."""
    return (b, a) if _rank(b, conv_b) < _rank(a, conv_a) else (a, b)


def _download_folder_key(folder: Path, key: str) -> Path:
    """The folder a pair's copies are compared in: an ambientCG download unpacked into a folder of
    its own (Bricks076_1K-JPG/) counts as its parent, so that the JPG and PNG downloads of one
    asset, or its 1K and 2K ones, are found to be copies as they are when unpacked side by side."""
    name = _FORMAT_TOKEN.sub("", folder.name.lower())
    asset = _RESOLUTION_TOKEN.sub("", key)
    return folder.parent if name in (key, asset) else folder


def find_pairs(roots, recursive: bool = True) -> tuple[list[Pair], list[str]]:
    """All pairs under the given folders (or files), plus warnings for files that have no partner.

    Where one photo or map comes in several copies (JPG and PNG, EXR and PNG, OpenGL and
    DirectX), the best copy by `_rank` is used and the others are skipped.
    """
    roots = [Path(r) for r in roots]
    found: dict[tuple[Path, str], dict] = {}
    warnings: list[str] = []
    for root in roots:
        if not root.exists():
            warnings.append(f"{root}: does not exist")
            continue
        files = [root] if root.is_file() else sorted(root.rglob("*") if recursive else root.glob("*"))
        for f in files:
            if not f.is_file() or f.name.startswith("."):
                continue
            c = classify(f)
            if c is None:
                if f.suffix.lower() in _ARCHIVES:
                    warnings.append(f"{f}: an archive, not read; unpack it to train on what it holds")
                continue
            key, role, conv = c
            slot = found.setdefault((_download_folder_key(f.parent, key), key), {"root": root})
            if role == "color":
                if "color" in slot:
                    kept, f = _better(slot["color"], f)
                    warnings.append(f"{f}: a second photo for {kept.name}, skipped")
                    slot["color"] = kept
                    continue
                slot["color"] = f
            else:  # the best copy of each convention; between an OpenGL and a DirectX one, below
                maps = slot.setdefault("normals", {})
                if conv in maps:
                    kept, skipped = _better(maps[conv], f)
                    warnings.append(f"{skipped}: a second normal map for {kept.name}, skipped")
                    maps[conv] = kept
                else:
                    maps[conv] = f
    for slot in found.values():
        if "normals" in slot:  # OpenGL or DirectX, by _rank, without a word: flipped, they are the same data
            slot["convention"], slot["normal"] = min(slot.pop("normals").items(), key=lambda cm: _rank(cm[1], cm[0]))
    pairs = []
    sizes: dict[tuple[Path, str], list[tuple[str, Path]]] = {}  # (folder, asset) -> [(resolution, photo)]
    for (parent, key), slot in sorted(found.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        if "color" in slot and "normal" in slot:
            m = _RESOLUTION_TOKEN.search(key)
            if m:
                sizes.setdefault((parent, key[:m.start()]), []).append((m.group(1).upper(), slot["color"]))
            root, folder = slot["root"], slot["color"].parent
            rel = folder.relative_to(root) if root.is_dir() and folder != root else Path(".")
            group = str(rel) if str(rel) != "." else root.name
            pairs.append(Pair(slot["color"].stem, slot["color"], slot["normal"], slot["convention"], group))
        else:
            have = slot.get("color") or slot.get("normal")
            missing = "normal map" if "color" in slot else "colour photo"
            warnings.append(f"{have}: no matching {missing}, skipped")
    for copies in sizes.values():
        if len(copies) > 1:
            res, photos = zip(*copies)
            others = [str(q.relative_to(photos[0].parent)) if q.parent == photos[0].parent else str(q)
                      for q in photos[1:]]
            warnings.append(f"{photos[0]}: the same asset at {' and '.join(res)} "
                            f"({', '.join(others)}), each used as a pair, so it counts "
                            f"{len(copies)} times; remove the copies you do not want")
    return pairs, warnings
