"""`normalgen synth`, `normalgen train` and `normalgen eval`: thin click layers over this package.

`normalgen.cli` registers these lazily, so the converter never imports the training code.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import click

from normalgen.errors import NormalgenError, one_clause
from normalgen.native_log import load_backend_quietly
from normalgen.orientation import LIGHT_SIDES
from normalgen.vectors import MAX_STRENGTH


def _fail(message: str):
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@click.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--count", type=click.IntRange(min=1), default=1000, show_default=True, help="Number of pairs.")
@click.option("--size", type=click.IntRange(min=16), default=256, show_default=True, help="Side in pixels.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same pairs.")
@click.option("--start", type=click.IntRange(min=0), default=0, help="First pair id (to split work).")
@click.option("--jobs", type=click.IntRange(min=1), default=os.cpu_count() or 1, show_default="all cores",
              help="Processes rendering in parallel (the pairs do not depend on it).")
@click.option("--albedo", "albedo_mode", type=click.Choice(["mixed", "plain"]), default="mixed", show_default=True,
              help="Surface colour: partly tied to the relief and partly not, or one plain colour.")
@click.option("--light", "light_mode", type=click.Choice(["any", "canonical"]), default="any", show_default=True,
              help="Key light from any azimuth, or within 45 degrees of +X (for `train --light canonical`).")
@click.option("--broad", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of pairs whose base relief is drawn 2, 4 or 8 times larger (broad undulations).")
@click.option("--steep", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of bricks, stones and rivets scaled by their walls (40-75 degrees, RMS slope at most 45) "
                   "instead of their RMS slope.")
def synth(out, count, size, seed, start, jobs, albedo_mode, light_mode, broad, steep):
    """Write COUNT synthetic training pairs (NNN_color.png + NNN_normal.png, OpenGL) to OUT.

    Pairs already there from the same seed are kept, so an interrupted run is resumed by
    running it again; index.tsv (each pair's relief and light) keeps the rows of every run.
    OUT/synth.json records the settings, and a rerun with other settings is refused.
    """
    from .synth import write_dataset

    try:
        with click.progressbar(length=count, label="synthesising", file=sys.stderr) as bar:
            last = [0]

            def progress(done, total):
                bar.update(done - last[0])
                last[0] = done

            write_dataset(out, count, size, seed=seed, start=start, progress=progress, jobs=jobs,
                          albedo_mode=albedo_mode, light_mode=light_mode, broad=broad, steep=steep)
    except NormalgenError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write pairs to {out}: {one_clause(exc)}")
    click.echo(f"wrote {count} pairs to {out}")


@click.command()
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Folder for the lit pairs.")
@click.option("--per-pair", type=click.IntRange(min=1), default=4, show_default=True,
              help="Photos of each pair, each under another light.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same photos.")
@click.option("--light", "light_mode", type=click.Choice(["any", "canonical"]), default="any", show_default=True,
              help="Key light from any azimuth, or within 45 degrees of the right (for `train --from "
                   "pretrained-lit`).")
@click.option("--max-side", type=click.IntRange(min=32), default=1024, show_default=True,
              help="Pairs larger than this on their short side are reduced first.")
def relight(data, out, per_pair, seed, light_mode, max_side):
    """Render the colour maps of the pairs in DATA under light, as training photos.

    Texture libraries (ambientCG _Color, Poly Haven _diff) ship albedo with the light taken out,
    while the network reads relief from shading. Each pair is rendered PER_PAIR times with its
    own normal map, under the synthetic generator's lights and cameras, into OUT as
    <asset>_<k>_color.png + _normal.png (16-bit, OpenGL) with an index.tsv of the lights; train
    on OUT. Photos already in OUT are kept, so an interrupted run resumes.
    """
    from .relight import relight_dataset

    try:
        with click.progressbar(length=1, label="relighting", file=sys.stderr) as bar:
            def progress(done, total):
                bar.length = total
                bar.update(done - bar.pos)

            written, warnings = relight_dataset(list(data), out, per_pair=per_pair, seed=seed,
                                                light_mode=light_mode, max_side=max_side, progress=progress)
    except ValueError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write lit pairs to {out}: {one_clause(exc)}")
    for w in warnings:
        click.echo(f"warning: {w}", err=True)
    click.echo(f"wrote {written} lit pairs to {out}")


def _positive_finite(ctx, param, value):
    if value is not None and not (math.isfinite(value) and value > 0):
        raise click.BadParameter(f"must be a positive number, not {value}")
    return value


# Options a resumed run takes from its state.json, and those only a new network (--from scratch) uses.
_RUN_OWN = ("init", "steps", "batch_size", "patch", "learning_rate", "loss", "precision", "seed", "base_filters",
            "depth", "train_new_only", "head", "light")
_SCRATCH_ONLY = ("head",)


def _ignored(ctx: click.Context, names) -> list[str]:
    """The options among `names` that the user typed, as they typed them (--lr, --from)."""
    given = [p for p in ctx.command.params if p.name in names
             and ctx.get_parameter_source(p.name) is click.core.ParameterSource.COMMANDLINE]
    return [max(p.opts, key=len) for p in given]


@click.command()
@click.argument("data", nargs=-1, required=True, type=click.Path())
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Run folder.")
@click.option("--from", "init", default="pretrained", show_default=True,
              help="'pretrained' (fine-tune the shipped model for photos lit from any side, what convert uses "
                   "by default), 'pretrained-lit' (the shipped model for photos lit from the right, what "
                   "--light-from uses: train it only on photos lit from the right), 'scratch', or a .keras file.")
@click.option("--val", multiple=True, type=click.Path(), help="Validation pairs folder (repeatable).")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Epochs in all [default: 20; with --resume, the run's own].")
@click.option("--steps", type=click.IntRange(min=1), default=200, show_default=True, help="Batches per epoch.")
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--patch", type=click.IntRange(min=32), default=128, show_default=True, help="Patch side in pixels.")
@click.option("--lr", "learning_rate", type=float, default=None, callback=_positive_finite,
              help="Peak learning rate [default: 1e-3 from scratch, 2e-4 when fine-tuning].")
@click.option("--loss", type=click.Choice(["cosine", "angle", "cosine-steep", "cosine-scale"]), default="cosine", show_default=True,
              help="'cosine': 1 - cos of the angle; 'angle': the angle itself (as |n - n'|), the error eval reports; "
                   "'cosine-steep': the cosine weighted toward pixels whose true normal is steep; "
                   "'cosine-scale': the cosine plus a term for each patch's overall slope.")
@click.option("--precision", type=click.Choice(["auto", "float32", "mixed_bfloat16", "mixed_float16"]),
              default="auto", show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Threads decoding and augmenting ahead of the model.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--base-filters", type=click.IntRange(min=2), default=None,
              help="Network width: channels of the first level [default: 16 from scratch, else the starting "
                   "model's]. Wider than the starting model (one without batch norm) widens every level by the "
                   "same factor; nothing old reads the new channels at first, so training begins from the "
                   "starting model's predictions.")
@click.option("--depth", type=click.IntRange(min=1, max=8), default=None,
              help="Levels of 2x downsampling [default: 4 from scratch, else the starting model's]. Deeper than "
                   "the starting model adds coarse levels that start as the identity: a wider view of the photo.")
@click.option("--train-new-only", is_flag=True,
              help="With --depth deeper than the starting model: train only the added levels, the rest frozen "
                   "(not with a wider --base-filters).")
@click.option("--head", type=click.Choice(["slope", "height"]), default="slope", show_default=True,
              help="Output head (from scratch only): slopes per pixel, or a height whose differences are the normals.")
@click.option("--light", type=click.Choice(["any", "canonical"]), default=None,
              help="'any' learns photos lit from any side; 'canonical' learns photos lit from the right (pairs "
                   "from `synth --light canonical`) and inference first turns each photo so. Default: 'any' from "
                   "scratch, else the starting model's own.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Stop after the first epoch that ends past this many minutes (--resume continues the run).")
def train(data, out, init, val, epochs, steps, batch_size, patch, learning_rate, loss, precision, workers, seed,
          base_filters, depth, train_new_only, head, light, resume, minutes):
    """Train on the (photo, normal map) pairs found in DATA folders.

    Pairs are <name>_color + <name>_normal, ambientCG _Color + _NormalGL/_NormalDX, or Poly Haven
    _diff_ + _nor_gl_/_nor_dx_. By default it fine-tunes the shipped model; the best weights end in
    OUT/best.keras, usable as `normalgen convert --model OUT/best.keras`. On several machines, run
    the same command on each with TF_CONFIG naming the cluster (see the README).
    """
    ctx = click.get_current_context()
    ignored = _ignored(ctx, _RUN_OWN) if resume else [] if init == "scratch" else _ignored(ctx, _SCRATCH_ONLY)
    if ignored:
        why = ("--resume continues with the run's own settings" if resume
               else "only a new network (--from scratch) uses " + ("them" if len(ignored) > 1 else "it"))
        click.echo(f"warning: ignoring {', '.join(ignored)}: {why}.", err=True)
    load_backend_quietly(start_devices=False)
    from .train import TrainError, TrainSettings, train as run_training

    if learning_rate is None:
        learning_rate = 1e-3 if init == "scratch" else 2e-4
    if epochs is None:
        epochs = 0 if resume else 20
    settings = TrainSettings(data=list(data), out=out, init=init, val=list(val) or None, epochs=epochs,
                             steps=steps, batch_size=batch_size, patch=patch, learning_rate=learning_rate,
                             loss=loss, seed=seed, workers=workers, precision=precision, base_filters=base_filters,
                             depth=depth, train_new_only=train_new_only, head=head, light=light)
    from normalgen.cli import EXIT_INTERRUPTED, _stopped_like_ctrl_c_by
    from normalgen.native_log import native_stderr_filtered

    verbose = 1 if sys.stderr.isatty() else 2  # a progress bar on a terminal, one line an epoch otherwise
    try:
        # TensorFlow starts its devices (and writes its harmless native notices) only here.
        with _stopped_like_ctrl_c_by("SIGTERM", "SIGHUP"), native_stderr_filtered():
            run = run_training(settings, resume=resume, log=lambda m: click.echo(m, err=True),
                               verbose=verbose, minutes=minutes)
    except (TrainError, NormalgenError) as exc:
        _fail(str(exc))
    except KeyboardInterrupt as exc:  # Ctrl-C, or a signal taken by _stopped_like_ctrl_c_by
        click.echo(f"\n{_interrupted_note(out)}", err=True)
        sys.exit(getattr(exc, "exit_code", EXIT_INTERRUPTED))
    click.echo(f"done: best weights in {run / 'best.keras'}")


def _interrupted_note(out: str) -> str:
    """What an interrupted run kept, and how to go on with it."""
    from .train import TrainError, _read_state

    try:
        state = _read_state(Path(out))
    except TrainError:
        state = None
    if not state or not state.get("epochs_done"):
        if (Path(out) / "best.keras").is_file():  # --val: the starting model, scored, is written first
            return (f"interrupted before the first epoch ended; {Path(out) / 'best.keras'} is the starting "
                    "model, unchanged.")
        return f"interrupted before the first epoch ended; nothing was kept in {out}."
    done, total = state["epochs_done"], state["settings"].get("epochs", "?")
    return (f"interrupted; {done} of {total} epochs are kept in {out}: run the same command with --resume "
            "to continue.")


@click.command(name="eval")
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--model", "model_path", type=click.Path(), default=None, help="Model file [default: shipped].")
@click.option("--method", type=click.Choice(["model", "sobel"]), default="model", show_default=True)
@click.option("--strength", type=click.FloatRange(0, MAX_STRENGTH), default=1.0, show_default=True,
              help="Slope multiplier (0 = the flat-map baseline).")
@click.option("--detail", type=click.FloatRange(0, 1), default=0.5, show_default=True, help="Sobel only.")
@click.option("--light-from", type=click.Choice([*LIGHT_SIDES, "index"]), default="auto",
              show_default=True, help="Where the light comes from in the photos, as for convert; index: each "
              "photo's own side, from the light azimuth in its index.tsv.")
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
def eval_command(data, model_path, method, strength, detail, light_from, as_json):
    """Angular error of a model on pairs in DATA: mean, median and share of pixels under
    11.25°, 22.5° and 30°, overall and per sub-folder (or per index.tsv kind)."""
    load_backend_quietly()
    from .evaluate import evaluate, format_report, model_predictor

    try:
        predict = model_predictor(model_path, method=method, strength=strength, detail=detail, light_from=light_from)
        result = evaluate(predict, list(data), light_from=light_from)
    except (NormalgenError, ValueError) as exc:
        _fail(str(exc))
    for w in result["warnings"]:
        click.echo(f"warning: {w}", err=True)
    if as_json:
        click.echo(json.dumps({k: result[k] for k in ("overall", "groups", "images")}, indent=1))
    else:
        click.echo(format_report(result))
