"""Score models on the validation sets, whole photos told their light's side, and say whether each
later model would replace the first by the shipping rule (better on every synthetic set).

    python pretrained/compare_models.py pretrained/normalgen_unet_lit.keras runs/X/best.keras [--make]

The synthetic sets (`normalgen_training.compare.SYNTHETIC_SETS`) live in DATA (default data/);
--make makes the missing ones first (about 10 minutes on 2 cores). blender-dev and, where it has
been rendered (`benchmarks/other_lights.py data/other_lights`), the other-lights set are scored
per kind too, but never choose. Prints a Markdown table; --json keeps every number.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    from normalgen.native_log import load_backend_quietly

    load_backend_quietly()  # before anything imports Keras, so its native start-up chatter is filtered
    from normalgen.errors import NormalgenError, one_clause
    from normalgen_training.compare import SYNTHETIC_SETS, format_table, is_complete, make_set, score

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="model files; the first is the one the others are judged against")
    parser.add_argument("--data", type=Path, default=Path("data"), help="folder of the synthetic sets")
    parser.add_argument("--sets", default=",".join(SYNTHETIC_SETS), help="synthetic sets to score, comma-separated")
    parser.add_argument("--blender-dev", type=Path, default=Path("../shared/blender-dev"))
    parser.add_argument("--other-lights", type=Path, default=Path("data/other_lights"))
    parser.add_argument("--make", action="store_true", help="make missing synthetic sets first")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes for --make")
    parser.add_argument("--json", type=Path, help="also write every statistic here")
    args = parser.parse_args()

    synthetic = [s for s in args.sets.split(",") if s]
    unknown = [s for s in synthetic if s not in SYNTHETIC_SETS]
    if unknown:
        sys.exit(f"unknown set {unknown[0]}; the synthetic sets are {', '.join(SYNTHETIC_SETS)}")
    try:
        missing = [s for s in synthetic if not is_complete(args.data / s, s)]
    except (NormalgenError, ValueError) as exc:
        sys.exit(str(exc))
    if missing and not args.make:
        sys.exit(f"{', '.join(missing)} not made yet in {args.data}; add --make to make "
                 + ("them" if len(missing) > 1 else "it"))
    if args.json and not args.json.parent.is_dir():
        sys.exit(f"cannot write {args.json}: {args.json.parent} is not a folder")
    for name in missing:
        print(f"making {args.data / name}", file=sys.stderr)
        try:
            make_set(args.data / name, name, jobs=args.jobs)
        except (NormalgenError, OSError) as exc:
            sys.exit(f"cannot make {args.data / name}: {one_clause(exc)}")
    sets = {name: args.data / name for name in synthetic}
    for name, folder in (("blender-dev", args.blender_dev), ("other_lights", args.other_lights)):
        if folder.is_dir():
            sets[name] = folder
        else:
            print(f"{folder} not found; {name} not scored", file=sys.stderr)

    try:
        results = score(args.models, sets, log=lambda m: print(m, file=sys.stderr, flush=True))
    except (NormalgenError, ValueError) as exc:
        sys.exit(str(exc))
    print(format_table(results, synthetic))
    if args.json:
        try:
            args.json.write_text(json.dumps({m: {s: {k: r[k] for k in ("overall", "groups")} for s, r in per.items()}
                                             for m, per in results.items()}, indent=1))
        except OSError as exc:
            sys.exit(f"cannot write {args.json}: {one_clause(exc)}")


if __name__ == "__main__":
    main()
