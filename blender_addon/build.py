"""Build the installable extension zip: ``python blender_addon/build.py`` -> dist/normalgen_blender-<ver>.zip.

Plain Python 3.11+, no Blender needed. Equivalent to Blender's own
``blender --command extension build --source-dir blender_addon --output-dir dist``
(which names the file ``normalgen-<ver>.zip``); both honour ``[build] paths_exclude_pattern``.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import sys
import tomllib
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _excluded(rel: str, is_dir: bool, patterns: list[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    for pat in patterns:
        anchored = pat.startswith("/")
        dir_only = pat.endswith("/")
        p = pat.strip("/")
        if dir_only and not is_dir:
            continue
        target = rel if anchored else name
        if fnmatch.fnmatchcase(target, p):
            return True
    return False


def files(source: str = HERE) -> list[str]:
    with open(os.path.join(source, "blender_manifest.toml"), "rb") as fh:
        manifest = tomllib.load(fh)
    patterns = manifest.get("build", {}).get("paths_exclude_pattern", [])
    out = []
    for dirpath, dirnames, filenames in os.walk(source):
        rel_dir = os.path.relpath(dirpath, source).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = sorted(d for d in dirnames if not _excluded(rel_dir + d, True, patterns))
        for f in sorted(filenames):
            if not _excluded(rel_dir + f, False, patterns):
                out.append(rel_dir + f)
    return out


def build(output_dir: str = os.path.join(ROOT, "dist"), source: str = HERE) -> str:
    with open(os.path.join(source, "blender_manifest.toml"), "rb") as fh:
        manifest = tomllib.load(fh)
    for key in ("schema_version", "id", "version", "name", "tagline", "maintainer", "type", "license",
                "blender_version_min"):
        if key not in manifest:
            raise SystemExit(f"blender_manifest.toml lacks {key!r}")
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, f"normalgen_blender-{manifest['version']}.zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel in files(source):
            zf.write(os.path.join(source, rel), rel)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output-dir", default=os.path.join(ROOT, "dist"))
    args = ap.parse_args(argv)
    print(build(args.output_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
