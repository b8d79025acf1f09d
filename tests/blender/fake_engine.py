"""A stand-in for the ``normalgen`` CLI that speaks its protocol, for failure modes the real one
cannot be made to show on demand (an engine error, a crash, a slow run to cancel).

Behaviour is chosen by the environment variable NORMALGEN_FAKE_MODE:
  ok (default)  write a flat normal map (128,128,255) and, with --height, a mid-grey height map
  error         {"event":"error"} for the file, exit 1
  crash         die by SIGKILL after the start event (as the OOM killer would)
  slow          progress events for ~60 s, then ok
  usage         one line on stderr, exit 2
"""

import argparse
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pngutil import read_png, write_png  # noqa: E402


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main(argv):
    if argv[:1] == ["info"]:
        model = argv[argv.index("--model") + 1] if "--model" in argv else "/fake/model.keras"
        if os.environ.get("NORMALGEN_FAKE_MODE") == "error":
            emit({"version": "0.0.0-fake", "model": model, "backend": "none", "model_error": "no such file"})
            sys.stderr.write(f"error: model file not found: {model}\n")
            return 1
        emit({"version": "0.0.0-fake", "model": model, "model_error": None, "backend": "none"})
        return 0
    ap = argparse.ArgumentParser(prog="normalgen")
    ap.add_argument("command")
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("-o", "--output-dir")
    ap.add_argument("--suffix", default="_normal")
    ap.add_argument("--format", default="png")
    ap.add_argument("--bit-depth", default="8")
    ap.add_argument("--convention", default="opengl")
    ap.add_argument("--strength", type=float, default=1.0)
    ap.add_argument("--seamless", action="store_true")
    ap.add_argument("--method", default="model")
    ap.add_argument("--model")
    ap.add_argument("--height", action="store_true")
    ap.add_argument("--overwrite", action="store_true")
    ap.add_argument("--progress", default="bar")
    ap.add_argument("--light-from")
    ap.add_argument("--ignore-orientation", action="store_true")
    args = ap.parse_args(argv)
    mode = os.environ.get("NORMALGEN_FAKE_MODE", "ok")
    if mode == "usage":
        sys.stderr.write("error: no such option: --frobnicate\n")
        return 2
    with open(os.path.join(args.output_dir, "fake_argv.json"), "w") as fh:
        json.dump(argv, fh)
    total = len(args.inputs)
    emit({"event": "start", "total": total})
    for i, inp in enumerate(args.inputs):
        emit({"event": "progress", "input": inp, "index": i, "total": total, "fraction": i / total})
        if mode == "crash":
            os.kill(os.getpid(), signal.SIGKILL)
        if mode == "error":
            emit({"event": "error", "input": inp, "message": "the photo is too small to convert"})
            emit({"event": "summary", "converted": 0, "skipped": 0, "failed": 1})
            return 1
        if mode == "slow":
            for k in range(600):
                time.sleep(0.1)
                emit({"event": "progress", "input": inp, "index": i, "total": total, "fraction": k / 600})
        w, h, _c, _d, _rows = read_png(inp)
        stem = os.path.splitext(os.path.basename(inp))[0]
        depth = int(args.bit_depth)
        top = 65535 if depth == 16 else 255
        out = os.path.join(args.output_dir, f"{stem}{args.suffix}.png")
        flat = [top // 2 + 1, top // 2 + 1, top] * w
        write_png(out, w, h, [flat] * h, 3, depth)
        height = None
        if args.height:
            height = os.path.join(args.output_dir, f"{stem}_height.png")
            write_png(height, w, h, [[top // 2] * w] * h, 1, depth)
        emit({"event": "done", "input": inp, "output": out, "height": height})
    emit({"event": "summary", "converted": total, "skipped": 0, "failed": 0})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
