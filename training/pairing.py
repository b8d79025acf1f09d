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
import re
from pathlib import Path

from normalgen.imageio import PHOTO_EXTENSIONS

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


def _better(a: Path, b: Path) -> tuple[Path, Path]:
    """(kept, skipped) of two files for one role: a lossless copy over a JPEG or WebP one."""
    return (b, a) if a.suffix.lower() in _LOSSY and b.suffix.lower() not in _LOSSY else (a, b)


def find_pairs(roots, recursive: bool = True) -> tuple[list[Pair], list[str]]:
    """All pairs under the given folders (or files), plus warnings for files that have no partner.

    Where both an OpenGL and a DirectX normal exist for one photo, OpenGL is used.
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
            slot = found.setdefault((f.parent, key), {"root": root})
            if role == "color":
                if "color" in slot:
                    kept, f = _better(slot["color"], f)
                    warnings.append(f"{f}: a second photo for {kept.name}, skipped")
                    slot["color"] = kept
                    continue
                slot["color"] = f
            elif "normal" in slot and slot["convention"] == conv:
                kept, f = _better(slot["normal"], f)
                warnings.append(f"{f}: a second normal map for {kept.name}, skipped")
                slot["normal"] = kept
            elif conv == "opengl" or "normal" not in slot:
                slot["normal"], slot["convention"] = f, conv
    pairs = []
    sizes: dict[tuple[Path, str], list[tuple[str, str]]] = {}  # (folder, asset) -> [(resolution, photo)]
    for (parent, key), slot in sorted(found.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        if "color" in slot and "normal" in slot:
            m = _RESOLUTION_TOKEN.search(key)
            if m:
                sizes.setdefault((parent, key[:m.start()]), []).append((m.group(1).upper(), slot["color"].name))
            root = slot["root"]
            rel = parent.relative_to(root) if root.is_dir() and parent != root else Path(".")
            group = str(rel) if str(rel) != "." else root.name
            pairs.append(Pair(slot["color"].stem, slot["color"], slot["normal"], slot["convention"], group))
        else:
            have = slot.get("color") or slot.get("normal")
            missing = "normal map" if "color" in slot else "colour photo"
            warnings.append(f"{have}: no matching {missing}, skipped")
    for (parent, _), copies in sizes.items():
        if len(copies) > 1:
            res, photos = zip(*copies)
            warnings.append(f"{parent / photos[0]}: the same asset at {' and '.join(res)} "
                            f"({', '.join(photos[1:])}), each used as a pair, so it counts "
                            f"{len(copies)} times; remove the copies you do not want")
    return pairs, warnings
