"""The `normalgen` command line: a thin click layer over `normalgen.batch`.

    normalgen convert INPUT... [options]   photos -> normal maps (and height maps)
    normalgen info [--json] [--model PATH] version, model, backend, devices
    normalgen synth|train|eval|relight ... training commands (loaded only when invoked)
    normalgen --version

Exit codes: 0 every file converted or skipped; 1 some file failed (the others are still done,
each failure is one ``error: PATH: reason`` line on stderr); 2 nothing was done because the
invocation is wrong: click's usage errors, and fatal problems found before the first file
(a missing or corrupt --model, an output format this build cannot write, an -o folder that
cannot be made or written to) as one ``error:`` line.
130 on Ctrl-C, 143 on SIGTERM and 129 on SIGHUP (finished files stay, the file being written
leaves no temporary file; re-run the same command to resume).

``--progress json`` (for the Blender add-on, which runs this as a subprocess) prints one JSON
object per line on stdout, flushed:

    {"event": "start", "total": N}
    {"event": "progress", "input": P, "index": i, "total": N, "fraction": f}
    {"event": "done", "input": P, "output": Q, "height": H or null}
    {"event": "skipped", "input": P, "output": Q, "reason": "exists"}
    {"event": "error", "input": P, "message": "one sentence"}
    {"event": "summary", "converted": a, "skipped": b, "failed": c}

`index` counts from 0; `fraction` is the whole batch's progress in [0, 1] ((index + the file's own
fraction) / total), sent when each file starts and again from the tile callback. A fatal error
before the first file is ``{"event": "error", "input": null, "message": ...}`` with exit 2.

Nothing here imports TensorFlow at module level: ``--help`` and ``--version`` stay fast.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import sys
import threading
from pathlib import Path

import click

from normalgen import __version__
from normalgen.errors import NormalgenError, one_clause
from normalgen.native_log import load_backend_quietly
from normalgen.vectors import MAX_STRENGTH

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# name -> (module, attribute, one-line help shown by --help without importing anything).
LAZY_COMMANDS = {
    "synth": ("normalgen_training.cli", "synth", "Render synthetic photo / normal-map training pairs."),
    "train": ("normalgen_training.cli", "train", "Train the U-Net on synthetic (and real) pairs."),
    "eval": ("normalgen_training.cli", "eval_command", "Measure a model's angular error on a test set."),
    "relight": ("normalgen_training.cli", "relight", "Render a texture library's colour maps under light, to train on."),
}


def _debug() -> bool:
    return os.environ.get("NORMALGEN_DEBUG", "").strip() not in ("", "0")


class LazyGroup(click.Group):
    """A group whose training commands are imported only when one of them is invoked."""

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx, name):
        if name in LAZY_COMMANDS:
            module, attr, _ = LAZY_COMMANDS[name]
            try:
                return getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError) as e:
                raise click.ClickException(
                    f"the training command {name!r} is not available ({e}); install normalgen from its "
                    "source tree with pip install -e ."
                ) from None
        return super().get_command(ctx, name)

    def format_commands(self, ctx, formatter):
        """click's own version calls get_command for every name, which would import TensorFlow."""
        rows = []
        limit = formatter.width - 6 - max(len(n) for n in self.list_commands(ctx))
        for name in self.list_commands(ctx):
            if name in LAZY_COMMANDS:
                rows.append((name, LAZY_COMMANDS[name][2]))
            else:
                cmd = super().get_command(ctx, name)
                if cmd is not None and not cmd.hidden:
                    rows.append((name, cmd.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="normalgen", message="%(prog)s %(version)s")
def cli():
    """Turn photos of surfaces into tangent-space normal maps (OpenGL convention by default)."""


def _fatal(message: str, *, json_mode: bool = False) -> None:
    """A problem found before any file: one line, nothing written, exit 2."""
    if json_mode:
        _emit({"event": "error", "input": None, "message": message})
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


# --------------------------------------------------------------------------------------------
# convert
# --------------------------------------------------------------------------------------------


def _make_reporter(mode: str, quiet: bool):
    from normalgen.batch import Reporter

    class LineReporter(Reporter):
        """Failures as one `error:` line each (plus the traceback with NORMALGEN_DEBUG=1), summary."""

        def file_done(self, result, index, total):
            if result.status == "failed":
                self._line(f"error: {result.error_line()}")
                if result.traceback and _debug():
                    self._line(result.traceback.rstrip())

        def finish(self, summary):
            if quiet:
                return
            if not (summary.converted or summary.skipped or summary.failed):
                self._line("nothing to convert (in folders and globs, files named *_normal / *_height are "
                           "taken as our outputs; name one to convert it).")
            self._line(summary.line())

        def _line(self, text):
            click.echo(text, err=True)

    class BarReporter(LineReporter):
        """A click progress bar (percent, ETA, file count and name) on stderr. It counts in
        thousandths of a file, so it moves tile by tile within a large photo too."""

        bar = None
        steps = 1000  # per file

        def start(self, total):
            if not quiet and total:
                self.bar = click.progressbar(
                    length=total * self.steps, label="converting", file=sys.stderr, show_percent=True,
                    show_eta=True, item_show_func=lambda item: item,
                )  # fmt: skip
                self.bar.__enter__()

        def file_progress(self, job, index, total, fraction):
            self._move_to(index + fraction, f"{index + 1}/{total} {job.input.name}")

        def file_done(self, result, index, total):
            super().file_done(result, index, total)
            self._move_to(index + 1, f"{index + 1}/{total} {result.input.name}")

        def _move_to(self, files, item):
            if self.bar is None:
                return
            target = int(round(files * self.steps))
            if target > self.bar.pos:
                self.bar.update(target - self.bar.pos, item)
            else:
                self.bar.current_item = item
                self.bar.render_progress()

        def finish(self, summary):
            if self.bar is not None:
                self.bar.__exit__(None, None, None)
            super().finish(summary)

        def _line(self, text):
            if self.bar is not None and sys.stderr.isatty():
                text = "\r\x1b[K" + text  # over the bar, which redraws on its next update
            click.echo(text, err=True)

    class JsonReporter(LineReporter):
        """One JSON object per line on stdout for programs; stderr keeps the error lines."""

        def start(self, total):
            _emit({"event": "start", "total": total})

        def file_progress(self, job, index, total, fraction):
            overall = (index + fraction) / total if total else 1.0
            _emit({"event": "progress", "input": str(job.input), "index": index, "total": total,
                   "fraction": round(overall, 6)})  # fmt: skip

        def file_done(self, result, index, total):
            super().file_done(result, index, total)
            if result.status == "converted":
                _emit({"event": "done", "input": str(result.input), "output": str(result.output),
                       "height": None if result.height is None else str(result.height)})  # fmt: skip
            elif result.status == "skipped":
                _emit({"event": "skipped", "input": str(result.input), "output": str(result.output),
                       "reason": result.message})  # fmt: skip
            else:
                _emit({"event": "error", "input": str(result.input), "message": result.message})

        def finish(self, summary):
            _emit({"event": "summary", "converted": summary.converted, "skipped": summary.skipped,
                   "failed": summary.failed})  # fmt: skip

    return {"bar": BarReporter, "json": JsonReporter, "none": LineReporter}[mode]()


@cli.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("-o", "--output-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write outputs here (created if needed), keeping the sub-folders below a folder INPUT "
              "or a glob's fixed part (scans/**/*.jpg: those below scans).")
@click.option("-r", "--recursive", is_flag=True, help="Descend into sub-folders of folder INPUTs (and ** in globs).")
@click.option("--suffix", default="_normal", show_default=True, help="Appended to each photo's name.")
@click.option("--format", "fmt", type=click.Choice(["png", "tif", "exr"]), default="png", show_default=True,
              help="png: 8/16-bit, tif: 16-bit, exr: 32-bit float (if this OpenCV build has OpenEXR).")
@click.option("--bit-depth", type=click.Choice(["8", "16"]), default=None,
              help="Bits per channel for png/tif  [default: png 8, tif 16].")
@click.option("--convention", type=click.Choice(["opengl", "directx"]), default="opengl", show_default=True,
              help="Green up (OpenGL: Blender, Maya) or down (DirectX: Unreal, 3ds Max).")
@click.option("--strength", type=click.FloatRange(0, MAX_STRENGTH), default=1.0, show_default=True,
              help="Scale the slopes: 0 is flat, above 1 exaggerates.")
@click.option("--invert", is_flag=True, help="Turn the relief inside out: what comes out raised is made sunk "
              "(for a photo read the wrong way round, e.g. light mortar read as raised by --method sobel).")
@click.option("--seamless", is_flag=True, help="Wrap around the borders, so a tileable photo gives a tileable "
              "map (it does not make a photo that does not tile into one that does).")
@click.option("--method", type=click.Choice(["model", "sobel"]), default="model", show_default=True,
              help="The neural network, or a fast classic gradient filter (no model needed).")
@click.option("--detail", type=click.FloatRange(0, 1), default=None,
              help="--method sobel only: 0 broad shapes to 1 fine grain  [default: 0.5].")
@click.option("--light-from", type=click.Choice(["auto", "right", "top", "left", "bottom"]), default="auto",
              show_default=True, help="Where the light comes from in the photos (the side of the picture, as a viewer "
              "shows it upright, that the bright slopes face). Naming it uses the model trained on light from one side, which reads the "
              "relief better; auto uses the default model. --method sobel ignores it.")
@click.option("--ignore-orientation", is_flag=True,
              help="Read the photos' pixels as stored and ignore their EXIF orientation, so that "
              "--light-from names a side of the stored picture (as Blender shows it). The maps are "
              "on the stored grid either way.")
@click.option("--ignore-alpha", is_flag=True,
              help="Read only the photos' colours, for files whose alpha is not transparency (a mask, "
              "channel-packed data). By default transparent pixels are not read and come out flat.")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A .keras model file  [default: the shipped model for --light-from auto, the shipped "
              "one-side-light model for a named side]. Ignored with --method sobel.")
@click.option("--height", is_flag=True, help="Also write a height map, <stem>_height.<format>, 16-bit unless "
              "--bit-depth says otherwise (8 bits terrace as displacement).")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs (by default they are skipped).")
@click.option("--max-megapixels", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Refuse larger images (checked before decoding)  [default: 268].")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary; errors are still printed.")
@click.option("--progress", "progress_mode", type=click.Choice(["bar", "json", "none"]), default="bar",
              show_default=True, help="json: one event object per line on stdout, for programs.")
def convert(inputs, output_dir, recursive, suffix, fmt, bit_depth, convention, strength, invert, seamless, method,
            detail, light_from, ignore_orientation, ignore_alpha, model_path, height, overwrite, max_megapixels, quiet, progress_mode):  # fmt: skip
    """Convert photos (files, folders, globs) into normal maps.

    Each output goes beside its photo as <stem>_normal.png unless -o is given. Existing outputs
    are skipped, so re-running a stopped batch resumes it; our own outputs are never taken as
    input. Exit status: 0 all done, 1 some files failed, 2 bad invocation or model.
    """
    from normalgen import batch
    from normalgen.imageio import DEFAULT_MAX_PIXELS

    json_mode = progress_mode == "json"
    options = batch.ConvertOptions(
        output_dir=output_dir,
        recursive=recursive,
        suffix=suffix,
        format=fmt,
        bit_depth=None if bit_depth is None else int(bit_depth),
        convention=convention,
        strength=strength,
        invert=invert,
        seamless=seamless,
        method=method,
        detail=detail,
        light_from=light_from,
        ignore_orientation=ignore_orientation,
        ignore_alpha=ignore_alpha,
        height=height,
        overwrite=overwrite,
        max_pixels=DEFAULT_MAX_PIXELS if max_megapixels is None else int(max_megapixels * 1e6),
    )
    try:
        with _stopped_like_ctrl_c_by("SIGTERM", "SIGHUP"):
            try:
                options.validate()
                batch.check_output_dir(options)  # before the model loads: a bad -o fails fast,
                jobs = batch.plan(inputs, options)  # and so does a mistyped path
                model = None
                if batch.needs_model(jobs):
                    if options.method == "model":
                        load_backend_quietly()
                    model = batch.load_model_for(options, model_path)
            except NormalgenError as e:
                _fatal(str(e), json_mode=json_mode)
            summary = batch.run(inputs, options, model=model, jobs=jobs, reporter=_make_reporter(progress_mode, quiet))
    except KeyboardInterrupt as e:  # Ctrl-C, or a signal from _stopped_like_ctrl_c_by
        click.echo("\ninterrupted; finished files are kept, run the same command again to resume.", err=True)
        sys.exit(getattr(e, "exit_code", EXIT_INTERRUPTED))
    sys.exit(summary.exit_code)


class _Stopped(KeyboardInterrupt):
    """A termination signal, raised where the program is, like Ctrl-C: the file being written
    loses only its temporary file. Exit status 128 + the signal's number, as a shell reports it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.exit_code = 128 + signum


@contextlib.contextmanager
def _stopped_like_ctrl_c_by(*names):
    """Inside the block, these signals stop the batch as Ctrl-C does: `kill`, a closed terminal or
    a job scheduler's stop leave no temporary file behind. Only signals left at their default
    action are taken (under `nohup`, SIGHUP stays ignored), only in the main thread, each at
    most once (a second one gets the default action), and the old handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        signal.signal(signum, signal.SIG_DFL)
        raise _Stopped(signum)

    taken = [sig for sig in (getattr(signal, n, None) for n in names)
             if sig is not None and signal.getsignal(sig) is signal.SIG_DFL]
    for sig in taken:
        signal.signal(sig, stop)
    try:
        yield
    finally:
        for sig in taken:
            signal.signal(sig, signal.SIG_DFL)


# --------------------------------------------------------------------------------------------
# info
# --------------------------------------------------------------------------------------------


def _devices(backend: str) -> list[str]:
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            return [f"{d.device_type}:{d.name.rsplit(':', 1)[-1]}" for d in tf.config.list_physical_devices()]
        if backend == "jax":
            import jax

            return [str(d) for d in jax.devices()]
        if backend == "torch":
            import torch

            return ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    except Exception as e:  # report, don't fail: info is what people run when things are broken
        return [f"unknown ({type(e).__name__}: {e})"]
    return []


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A .keras model file  [default: the shipped model].")
def info(as_json, model_path):
    """Show the version, the model (file, config, parameters), the Keras backend and devices.

    Exit status 1 when the model cannot be loaded (everything else is still shown).
    """
    try:
        load_backend_quietly()
    except NormalgenError as e:  # info is what people run when things are broken: say what works
        if as_json:
            _emit({"version": __version__, "error": str(e)})
        else:
            click.echo(f"normalgen {__version__}")
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_FAILED)
    import keras

    from normalgen.model import config_of
    from normalgen.model_loading import load_model

    data = {"version": __version__, "model": None, "model_config": None, "parameters": None,
            "model_error": None, "keras": keras.__version__, "backend": keras.backend.backend()}  # fmt: skip
    from normalgen.pretrained import CANONICAL_MODEL_PATH, DEFAULT_MODEL_PATH

    if model_path is None:
        model_path = DEFAULT_MODEL_PATH
    data["model"] = str(model_path)
    data["light_side_model"] = str(CANONICAL_MODEL_PATH)  # what --light-from SIDE uses without --model
    try:
        model = load_model(model_path)
        data["model_config"] = config_of(model).to_dict()
        data["parameters"] = int(model.count_params())
    except NormalgenError as e:
        data["model_error"] = str(e)
    data["devices"] = _devices(data["backend"])
    if data["backend"] == "tensorflow":
        from normalgen.onednn import onednn_enabled

        data["onednn"] = onednn_enabled()  # TensorFlow's faster CPU kernels (normalgen.onednn)
    if as_json:
        _emit(data)
    else:
        click.echo(f"normalgen {data['version']}")
        click.echo(f"model: {data['model']}")
        if data["model_error"]:
            click.echo(f"model error: {data['model_error']}")
        else:
            cfg = ", ".join(f"{k}={v}" for k, v in data["model_config"].items())
            click.echo(f"model config: {cfg}")
            click.echo(f"parameters: {data['parameters']:,}")
        click.echo(f"model for --light-from: {data['light_side_model']}")
        click.echo(f"keras: {data['keras']} (backend: {data['backend']})")
        click.echo(f"devices: {', '.join(data['devices']) or 'none found'}")
        if data.get("onednn") is not None:
            click.echo(f"oneDNN CPU kernels: {'on' if data['onednn'] else 'off'}")
    if data["model_error"]:
        click.echo(f"error: {data['model_error']}", err=True)
        sys.exit(EXIT_FAILED)


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------


def main(argv=None) -> None:
    """Console-script entry: user errors are one line, a bug is one line too unless NORMALGEN_DEBUG=1."""
    # TensorFlow's C++ INFO/WARNING chatter is not for CLI users (set it yourself to see it). Its
    # few lines logged before absl is initialised cannot be silenced from here; they go to stderr.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        cli.main(args=argv, prog_name="normalgen", standalone_mode=True)
    except NormalgenError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_USAGE)
    except Exception as e:
        if _debug():
            raise
        click.echo(
            f"error: unexpected {type(e).__name__}: {one_clause(e)} "
            "(set NORMALGEN_DEBUG=1 for the traceback).",
            err=True,
        )
        sys.exit(EXIT_FAILED)


if __name__ == "__main__":
    main()
