"""Make a subset of a `normalgen synth` folder as symlinks, chosen by its index.tsv.

    python pretrained/subset_pairs.py directional data/canon31b data/canon49 ...   # -> DIR_dir
    python pretrained/subset_pairs.py waves data/canon31b data/canon49 ...         # -> DIR_waves
    python pretrained/subset_pairs.py narrow data/b81 data/b87 ...                 # -> DIR_narrow

"directional": the pairs lit by one key light with a side (sun, grazing, two lights), the photos
the one-side-light model's contract covers; overcast and flash are left out. "waves": the pairs
whose base relief family is waves (raised or sunk, with or without detail layers). "narrow": the
pairs whose key light lies within 22.5 degrees of +X, half the sector of `--light canonical`
(every lighting set-up, as each records its key light's azimuth). Each subset is a folder
beside its source, `DIR_dir`, `DIR_waves` or `DIR_narrow`, of symlinks to the source's pair files and
an index.tsv of the kept rows, so `normalgen train` and `normalgen eval` read it like any folder;
passing a subset beside its source counts its pairs twice. Rows whose metadata is "-" (pairs
kept by a resumed synth) are left out of "directional" and "narrow".
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

DIRECTIONAL = {"sun", "grazing", "two"}
SUFFIX = {"directional": "dir", "waves": "waves", "narrow": "narrow"}
NARROW_DEG = 22.5


def keep(kind: str, header: list[str], row: list[str]) -> bool:
    if kind == "directional":
        return row[header.index("lighting")] in DIRECTIONAL
    if kind == "narrow":
        azimuth = row[header.index("light_azimuth")]
        return azimuth != "-" and abs(float(azimuth)) <= NARROW_DEG
    base = row[header.index("kind")].lstrip("-").split("+")[0]
    return base == "waves"


def make_subset(kind: str, source: Path) -> tuple[Path, int, int]:
    with open(source / "index.tsv", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    header, body = rows[0], rows[1:]
    kept = [r for r in body if keep(kind, header, r)]
    out = source.parent / f"{source.name}_{SUFFIX[kind]}"
    out.mkdir(exist_ok=True)
    for row in kept:
        for part in ("color", "normal"):
            link = out / f"{row[0]}_{part}.png"
            if not link.exists():
                os.symlink((source / link.name).resolve(), link)
    with open(out / "index.tsv", "w", newline="") as fh:
        csv.writer(fh, delimiter="\t", lineterminator="\n").writerows([header] + kept)
    return out, len(kept), len(body)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in SUFFIX:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    for folder in argv[1:]:
        source = Path(folder)
        if not (source / "index.tsv").is_file():
            print(f"{source}: no index.tsv (not a normalgen synth folder)", file=sys.stderr)
            return 1
        try:
            out, n, total = make_subset(argv[0], source)
        except ValueError:  # header.index: a column the subset needs is missing
            print(f"{source}/index.tsv lacks a column the {argv[0]} subset needs "
                  "(made by an older normalgen synth?)", file=sys.stderr)
            return 1
        print(f"{out}: {n} of {total} pairs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
