"""Synthetic training pairs: a procedural material, shaded and photographed, with its true normals.

`make_pair(seed, size)` is deterministic per seed and tileable. It draws a layered height field,
scales it to a random slope, computes the ground-truth normals from that same height at that same
scale, shades it (diffuse + GGX, sun/sky/overcast/flash/two lights, sky occlusion, cast shadows and
interreflection, each checked against Cycles by benchmarks/shading_vs_cycles.py) and runs a
camera (exposure, white balance, tone curve, noise, blur, JPEG). It renders at 2x and averages down,
as a real camera's pixels integrate the surface; the normals are averaged the same way.
`write_dataset` writes pairs in the layout users have: NNN_color.png (8-bit sRGB) and
NNN_normal.png (16-bit, OpenGL), plus index.tsv, and synth.json, the settings that made them.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from normalgen.atomic_files import atomic_write_bytes
from normalgen.errors import NormalgenError, OutputError
from normalgen.imageio import write_normal_map
from normalgen.vectors import normalize, normals_from_height

from . import albedo, camera, heightfields, shading

SUPERSAMPLE = 2


ALBEDO_MODES = ("mixed", "plain")


BROAD_ZOOMS = (2, 4, 8)


# Families with walls: bevels of bricks, tiles and planks, the rims of stones, rivets. Scaled by
# their RMS slope alone (4-45 degrees, log-uniform), their narrow walls are rarely steep: under 0.5%
# of the default draws' pixels tilt past 60 degrees, while real tiles, bricks and stones have walls
# of 45 degrees to vertical. `steep` scales some of them by their walls instead.
STEEP_FAMILIES = ("bricks", "cells", "bumps")
STEEP_WALL_DEG = (40.0, 75.0)
STEEP_PERCENTILE = 99.0
# Where a relief's walls are wide, its 99th percentile is close to its typical slope, and scaling
# that to 40-75 degrees would tilt the whole surface (RMS slopes of 55-59 degrees were seen). The
# steep scaling never makes an RMS slope above the default draws' top.
STEEP_MAX_RMS_DEG = 45.0


def base_family(kind: str) -> str:
    """The base relief of an index.tsv kind: "-bricks/4+scratches@steep" -> "bricks"."""
    return kind.lstrip("-").split("@")[0].split("+")[0].split("/")[0]


def make_pair(seed: int, size: int = 256, albedo_mode: str = "mixed",
              light_mode: str = "any", broad: float = 0.0,
              steep: float = 0.0, keep_albedo: bool = False) -> tuple[np.ndarray, np.ndarray, dict]:
    """-> (photo uint8 (S,S,3) sRGB, normals float32 (S,S,3) OpenGL unit vectors, metadata).

    albedo_mode "mixed": colour partly tied to the relief, partly not; "plain": one colour.
    light_mode "any": the key light from any azimuth; "canonical": within 45 degrees of +X (see
    shading.random_lighting), for models that are shown photos turned so (normalgen.orientation).
    broad: the chance that the base relief is drawn 2, 4 or 8 times larger (its slope at long
    wavelengths, where the default draws put little of it). 0 leaves every seed's pair unchanged.
    steep: the chance that a relief with walls (STEEP_FAMILIES) is scaled so that its steepest 1%
    of pixels tilt 40-75 degrees, instead of by a drawn RMS slope, with its RMS slope at most 45
    degrees (STEEP_MAX_RMS_DEG). 0 leaves every pair unchanged.
    keep_albedo: also return the linear albedo (S, S, 3) as meta["albedo"] (the draws are the same).
    """
    rng = np.random.default_rng([seed, 0x6E6F726D])
    big = size * SUPERSAMPLE
    zoom = 1
    if broad > 0:  # its own stream, so the odds do not shift the other draws
        zoom_rng = np.random.default_rng([seed, 0x62726F61])
        if zoom_rng.random() < broad:
            zoom = int(zoom_rng.choice(BROAD_ZOOMS))
    layer, family = heightfields.layered_height(rng, big, zoom=zoom)
    slope_deg = float(np.exp(rng.uniform(np.log(4.0), np.log(45.0))))
    # The layer has unit RMS slope; slopes are geometric, the same at the 2x render and after
    # averaging down, so the heights (in 2x pixels) are simply scaled to the chosen RMS slope.
    gain = np.tan(np.radians(slope_deg))
    if steep > 0 and base_family(family) in STEEP_FAMILIES:
        steep_rng = np.random.default_rng([seed, 0x73746565])  # its own stream, as for broad
        if steep_rng.random() < steep:
            wall_deg = steep_rng.uniform(*STEEP_WALL_DEG)
            walls = float(np.percentile(heightfields.slope_magnitude(layer.height), STEEP_PERCENTILE))
            gain = min(np.tan(np.radians(wall_deg)) / max(walls, 1e-9), np.tan(np.radians(STEEP_MAX_RMS_DEG)))
            slope_deg = float(np.degrees(np.arctan(gain)))  # the RMS slope this makes
            family += "@steep"
    height_px = layer.height * gain
    normals = normals_from_height(height_px, wrap=True)
    if albedo_mode == "plain":
        alb = albedo.plain_albedo(rng, big)
    else:
        alb = albedo.random_albedo(rng, layer.height, layer.groove, layer.part)
    lighting = shading.random_lighting(rng, light_mode)
    radiance = shading.shade(alb, normals, height_px, lighting, roughness=rng.uniform(0.25, 1.0),
                             specular=rng.uniform(0.02, 0.08), coarse=SUPERSAMPLE)
    radiance = _downsample(radiance, size)
    n_small = normalize(_downsample(normals, size))
    photo = camera.develop(radiance, rng)
    meta = {"family": family, "lighting": lighting.name, "slope_deg": round(slope_deg, 2),
            "light_azimuth": round(shading.key_azimuth(lighting), 1),
            "light_elevation": round(shading.key_elevation(lighting), 1)}
    if keep_albedo:  # the surface's colour before any light, as texture libraries ship it
        meta["albedo"] = _downsample(alb, size)
    return photo, n_small.astype(np.float32), meta


def _downsample(img: np.ndarray, size: int) -> np.ndarray:
    f = img.shape[0] // size
    return img.reshape(size, f, size, f, -1).mean(axis=(1, 3)).astype(np.float32)


def write_pair(out_dir: Path, name: str, photo: np.ndarray, normals: np.ndarray) -> None:
    """Write NAME_color.png (8-bit sRGB) and NAME_normal.png (16-bit, OpenGL), each atomically."""
    ok, png = cv2.imencode(".png", np.ascontiguousarray(photo[..., ::-1]))
    if not ok:
        raise OSError(f"could not encode the photo of pair {name}")
    atomic_write_bytes(out_dir / f"{name}_color.png", png.tobytes(), overwrite=True)
    write_normal_map(out_dir / f"{name}_normal.png", normals, convention="opengl", bit_depth=16, overwrite=True)


_INDEX_HEADER = "id\tkind\tlighting\tslope_deg\tlight_azimuth\tlight_elevation\tseed"
_INDEX_EVERY = 32  # pairs between rewrites of index.tsv, so a killed run keeps most of its rows


def _write_one(args) -> str:
    out, name, pair_seed, size, albedo_mode, light_mode, broad, steep, known_row = args
    if known_row and (out / f"{name}_color.png").exists() and (out / f"{name}_normal.png").exists():
        return known_row  # kept from an interrupted run, with its row of index.tsv
    photo, normals, meta = make_pair(pair_seed, size, albedo_mode, light_mode, broad, steep)
    write_pair(out, name, photo, normals)
    return (f"{name}\t{meta['family']}\t{meta['lighting']}\t{meta['slope_deg']}\t{meta['light_azimuth']}"
            f"\t{meta['light_elevation']}\t{pair_seed}")


def read_index(path: Path) -> dict[str, str]:
    """The rows of an existing index.tsv by pair id; rows without the pair's light are left out."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    rows = {}
    for line in lines[1:]:
        fields = line.split("\t")
        if len(fields) == 7 and fields[4] not in ("", "-"):
            rows[fields[0]] = line
    return rows


def pair_names(count: int, seed: int, start: int = 0) -> list[tuple[str, int]]:
    """(id, pair seed) of each pair `write_dataset` writes for these arguments."""
    width = max(4, len(str(start + count - 1)))
    return [(f"{i:0{width}d}", seed * 1_000_003 + i) for i in range(start, start + count)]


def made_from(row: str, pair_seed: int) -> bool:
    """Whether an index.tsv row records a pair made from `pair_seed` (its last column)."""
    return row.rsplit("\t", 1)[-1] == str(pair_seed)


def write_index(out: Path, rows: dict[str, str], header: str = _INDEX_HEADER) -> None:
    """Write OUT/index.tsv with `rows` sorted by id, atomically."""
    order = sorted(rows, key=lambda name: (int(name) if name.isdigit() else -1, name))
    table = header + "\n" + "".join(rows[name] + "\n" for name in order)
    atomic_write_bytes(out / "index.tsv", table.encode(), overwrite=True)


SETTINGS_FILE = "synth.json"
# Raise when the same seed and settings make a different pair, so that a folder's old pairs are
# not resumed beside new ones (2: the --steep scaling capped at STEEP_MAX_RMS_DEG).
GENERATOR_VERSION = 2
# write_dataset's options that change a pair without changing its seed: CLI flag, and the value
# a record without that key means (records began with version 2).
_SETTINGS = {"size": ("--size", 256), "albedo": ("--albedo", "mixed"), "light": ("--light", "any"),
             "broad": ("--broad", 0.0), "steep": ("--steep", 0.0), "generator": ("the generator version", 2)}


class SynthSettingsError(NormalgenError):
    """A folder's pairs were made with other settings than the run asked to add to it."""


def _read_settings(path: Path) -> dict | None:
    try:
        recorded = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SynthSettingsError(f"{path} is unreadable ({exc}); delete it to write to {path.parent} anyway") from exc
    if not isinstance(recorded, dict):
        raise SynthSettingsError(f"{path} is not a synth settings record; delete it to write to {path.parent} anyway")
    return recorded


def _check_settings(out: Path, settings: dict, known: dict[str, str]) -> None:
    """Refuse to add pairs made with other settings to a folder, and record the settings of a new one.

    Pairs are kept by seed when a run resumes, so without this a rerun with another --broad or
    --size would keep the old pairs under the new settings and mix the two in one folder. A
    folder with no pairs takes this run's settings. A folder written before synth.json existed
    has pairs but no record; it is not given a guessed one, and is only checked for steep pairs
    made before their cap (GENERATOR_VERSION 2).
    """
    path = out / SETTINGS_FILE
    has_pairs = bool(known) or (out / "index.tsv").exists() or any(out.glob("*_color.png"))
    record = (json.dumps(settings, indent=1) + "\n").encode()
    recorded = _read_settings(path)
    if not has_pairs and recorded is None:
        try:  # not over a record that another run, started at once, has just written
            atomic_write_bytes(path, record)
            return
        except OutputError:
            recorded = _read_settings(path)
            if recorded is None:
                raise
    elif not has_pairs:  # pairs deleted, or a run stopped before its first: a fresh start
        atomic_write_bytes(path, record, overwrite=True)
        return
    if recorded is None:
        if settings["steep"] > 0 and any(_uncapped_steep(row) for row in known.values()):
            raise SynthSettingsError(f"{out} holds steep pairs made before their slope was capped at "
                                     f"{STEEP_MAX_RMS_DEG:g} degrees; write to a new folder")
        return
    differ = settings_differences(recorded, settings)
    if differ:
        raise SynthSettingsError(f"{out} holds pairs made with " + ", ".join(differ)
                                 + "; rerun with those settings to add to it, or write to a new folder")


def settings_of(size: int = 256, albedo_mode: str = "mixed", light_mode: str = "any", broad: float = 0.0,
                steep: float = 0.0) -> dict:
    """The record `write_dataset` keeps in OUT/synth.json for these options."""
    return {"size": size, "albedo": albedo_mode, "light": light_mode, "broad": broad, "steep": steep,
            "generator": GENERATOR_VERSION}


def recorded_settings(folder) -> dict | None:
    """The settings record of a folder `write_dataset` made; None for a folder without one."""
    return _read_settings(Path(folder) / SETTINGS_FILE)


def settings_differences(recorded: dict, settings: dict) -> list[str]:
    """How a settings record differs from `settings`, one "--flag recorded (asked: wanted)" each."""
    return [f"{flag} {recorded.get(key, default)} (asked: {settings[key]})"
            for key, (flag, default) in _SETTINGS.items() if recorded.get(key, default) != settings[key]]


def _uncapped_steep(row: str) -> bool:
    fields = row.split("\t")
    try:
        return fields[1].endswith("@steep") and float(fields[3]) > STEEP_MAX_RMS_DEG + 0.005
    except (IndexError, ValueError):
        return False


def write_dataset(out_dir, count: int, size: int = 256, seed: int = 0, start: int = 0, progress=None,
                  jobs: int = 1, albedo_mode: str = "mixed", light_mode: str = "any",
                  broad: float = 0.0, steep: float = 0.0) -> Path:
    """Write `count` pairs (ids start..start+count-1, seeds seed*1_000_003 + id) and index.tsv.

    A pair already on disk is kept when index.tsv has its row from the same seed, so an
    interrupted run resumes where it stopped; one without that row is rendered again (the same
    seed makes the same pair). index.tsv is rewritten every few pairs and keeps the rows of ids
    outside this run's range, so runs split with `start` share one index. `jobs` processes
    render in parallel; the result does not depend on it. OUT/synth.json records the settings,
    and adding to a folder with other settings raises SynthSettingsError.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    known = read_index(out / "index.tsv")
    _check_settings(out, settings_of(size, albedo_mode, light_mode, broad, steep), known)
    work = []
    for name, pair_seed in pair_names(count, seed, start):
        row = known.get(name)
        same_seed = row is not None and made_from(row, pair_seed)
        work.append((out, name, pair_seed, size, albedo_mode, light_mode, broad, steep, row if same_seed else None))
    rows = dict(known)  # ids outside this run's range keep their rows; this run's replace theirs
    finished = 0

    def done(row: str) -> None:
        nonlocal finished
        rows[row.split("\t", 1)[0]] = row
        finished += 1
        if finished % _INDEX_EVERY == 0:
            write_index(out, rows)
        if progress:
            progress(finished, count)

    if jobs > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(jobs) as pool:
            for row in pool.imap(_write_one, work, chunksize=4):
                done(row)
    else:
        for item in work:
            done(_write_one(item))
    write_index(out, rows)
    return out
