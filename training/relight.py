"""Photos of an artist's own materials under light: `normalgen relight DATA... --out OUT`.

Texture libraries (ambientCG `_Color`, Poly Haven `_diff`) ship albedo, photographed or processed
so that no light shows, while the network reads relief from shading. Each pair found in DATA is
rendered here as the synthetic generator renders its own surfaces (`shading.shade`: sun and sky,
overcast, flash, grazing or two lights, specular, sky occlusion, cast shadows, bounce light; then
`camera.develop`: exposure, white balance, tone curve, noise, blur, JPEG):

- the albedo is the colour map, decoded from sRGB to linear light;
- the normals are the pair's own normal map (OpenGL), as stored;
- the height that casts shadows and hides the sky is the normal map integrated
  (`normalgen.height.integrate_normals`, periodic: library textures tile).

Each pair gives `per_pair` photos under different lights, all with the pair's normal map, as
`OUT/<folder>/<asset>_<k>_color.png` + `_normal.png` (16-bit, OpenGL) and an `index.tsv` per
folder with each photo's light, so `train` and `eval --light-from index` read them as they read
`normalgen synth` pairs. Light "canonical" keeps the key light within 45 degrees of +X, for
fine-tuning the one-side-light model (`train --from pretrained-lit`).
"""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path

import numpy as np

from normalgen.height import integrate_normals
from normalgen.atomic_files import atomic_write_bytes
from normalgen.preprocess import srgb_to_linear

from . import camera, shading
from .pair_loading import load_pair, skip_reason
from .pairing import Pair, classify, find_pairs
from .synth import read_index, write_index, write_pair

_INDEX_HEADER = "id\tkind\tlighting\tslope_deg\tlight_azimuth\tlight_elevation\tsource"


def relight_pair(photo: np.ndarray, normals: np.ndarray, rng: np.random.Generator,
                 light_mode: str = "any") -> tuple[np.ndarray, dict]:
    """(colour map float sRGB [0, 1] (H, W, 3), OpenGL unit normals (H, W, 3)) -> (photo uint8 sRGB,
    its light: lighting, light_azimuth, light_elevation, slope_deg)."""
    albedo = srgb_to_linear(np.asarray(photo, np.float32), np.empty(photo.shape, np.float32))
    normals = np.asarray(normals, np.float32)
    height = integrate_normals(normals, periodic=True)
    lighting = shading.random_lighting(rng, light_mode)
    radiance = shading.shade(albedo, normals, height, lighting, roughness=rng.uniform(0.25, 1.0),
                             specular=rng.uniform(0.02, 0.08))
    slope = np.hypot(normals[..., 0], normals[..., 1]) / np.maximum(normals[..., 2], 1e-3)  # tan of the tilt
    meta = {"lighting": lighting.name, "light_azimuth": round(shading.key_azimuth(lighting), 1),
            "light_elevation": round(shading.key_elevation(lighting), 1),
            "slope_deg": round(float(np.degrees(np.arctan(np.sqrt(np.mean(slope ** 2))))), 2)}
    return camera.develop(radiance, rng), meta


def _asset_name(pair: Pair) -> str:
    """A file-name-safe name for a pair's photos: its pairing key (bricks076_1k, rock_wall_2k)."""
    key = classify(pair.color)[0]  # a pair's photo always classifies
    return re.sub(r"[^\w.-]+", "_", key).strip("._") or "pair"


def _plan(pairs: list[Pair], out: Path) -> list[tuple[Pair, Path, str]]:
    """(pair, its output folder, its asset name) for each pair; a name two pairs would share in
    one folder gets a number."""
    plan, taken = [], set()
    for pair in pairs:
        folder = out / _safe_group(pair.group)
        name, n = _asset_name(pair), 1
        while (folder, name.lower()) in taken:
            n += 1
            name = f"{_asset_name(pair)}-{n}"
        taken.add((folder, name.lower()))
        plan.append((pair, folder, name))
    return plan


def _safe_group(group: str) -> Path:
    parts = [re.sub(r"[^\w.-]+", "_", part).strip(".") or "_" for part in Path(group).parts if part not in ("", ".", "..")]
    return Path(*parts) if parts else Path(".")


def relight_dataset(data, out, per_pair: int = 4, seed: int = 0, light_mode: str = "any", max_side: int = 1024,
                    progress=None) -> tuple[int, list[str]]:
    """Render `per_pair` lit photos of every pair under the `data` folders into `out`.

    -> (photos written, warnings). Deterministic per seed and pair (the pair's path, relative to
    its folder, picks its random stream), so adding pairs to a library does not change the
    others' photos. A photo already written, with its row in its folder's index.tsv, is kept: a
    killed run resumes when started again. Pairs are reduced to `max_side` on their short side.
    """
    out = Path(out)
    pairs, warnings = find_pairs(data)
    inside = out.resolve()
    found = len(pairs)
    pairs = [p for p in pairs if inside not in p.color.resolve().parents]  # not our own photos again
    if found and not pairs:
        raise ValueError(f"all {found} pairs found are inside --out {out}; give --out a folder outside the data")
    if not pairs:
        raise ValueError("no pairs found in " + ", ".join(map(str, data))
                         + (f": {warnings[0]}" if warnings else ""))
    _check_settings(out, {"seed": seed, "light": light_mode, "max_side": max_side})
    written, total, done = 0, len(pairs) * per_pair, 0
    rows_by_folder: dict[Path, dict[str, str]] = {}
    for pair, folder, name in _plan(pairs, out):
        rows = rows_by_folder.setdefault(folder, read_index(folder / "index.tsv"))
        todo = [k for k in range(per_pair) if not _kept(folder, f"{name}_{k}", rows)]
        if todo:
            try:
                photo, normals = load_pair(pair, max_side)
            except Exception as exc:  # one corrupt pair must not stop the others
                warnings.append(f"{skip_reason(pair, exc)}; pair skipped")
                done += per_pair
                continue
            folder.mkdir(parents=True, exist_ok=True)
            stream = zlib.crc32(f"{pair.group}/{pair.color.name}".encode("utf-8"))
            for k in todo:
                rng = np.random.default_rng([seed, stream, k])
                lit, meta = relight_pair(photo, normals, rng, light_mode)
                write_pair(folder, f"{name}_{k}", lit, normals)
                rows[f"{name}_{k}"] = (f"{name}_{k}\t{pair.group}\t{meta['lighting']}\t{meta['slope_deg']}\t"
                                       f"{meta['light_azimuth']}\t{meta['light_elevation']}\t{pair.color.name}")
                written += 1
            write_index(folder, rows, _INDEX_HEADER)
        done += per_pair
        if progress:
            progress(done, total)
    return written, warnings


SETTINGS_FILE = "relight.json"
_FLAGS = {"seed": "--seed", "light": "--light", "max_side": "--max-side"}


def _check_settings(out: Path, settings: dict) -> None:
    """Record the settings a folder's photos are made with, and refuse to add photos made with
    others: a photo already there is kept when a run resumes, so a rerun with another --light
    would otherwise keep the old lights under the new name (and a one-side-light model would be
    trained on light from every side)."""
    record = out / SETTINGS_FILE
    if record.exists():
        try:
            recorded = json.loads(record.read_text(encoding="utf-8"))
            differ = [f"{_FLAGS[k]} {recorded[k]}" for k in settings if recorded[k] != settings[k]]
        except (OSError, ValueError, KeyError, TypeError):
            raise ValueError(f"{record} is unreadable; delete it, or give another --out") from None
        if differ:
            raise ValueError(f"{out} holds photos relit with {', '.join(differ)}; give another --out, "
                             "or run with those settings to add to it")
        return
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(record, (json.dumps(settings, indent=1) + "\n").encode("utf-8"), overwrite=True)


def _kept(folder: Path, name: str, rows: dict[str, str]) -> bool:
    return name in rows and (folder / f"{name}_color.png").exists() and (folder / f"{name}_normal.png").exists()

