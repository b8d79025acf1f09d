"""Train or fine-tune the U-Net on (photo, normal map) pairs, resumably.

A run folder holds everything: `last.keras` (model + optimizer, written every epoch), `best.keras`
(best validation error so far), `state.json` (epochs done, the run's settings), `log.csv` and
TensorBoard logs. `resume=True` continues a killed run from its last epoch with the same settings.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import time
from pathlib import Path

import keras
import numpy as np
from keras import ops

from normalgen.errors import ModelError, OutputError, one_clause
from normalgen.atomic_files import atomic_write_bytes, check_writable
from normalgen.model import ModelConfig, build_model, config_of
from normalgen.model_loading import load_model

from . import cluster, multi_worker, runtime
from .dataset import PairCache, PatchDataset, check_pairs
from .grow import GrowError, added_layers, check_deepen, check_widen, deepen, relight, widen
from .pairing import find_pairs


@keras.saving.register_keras_serializable(package="normalgen")
def cosine_loss(y_true, y_pred):
    """1 - cos(angle) between unit vectors: 0 when equal, smooth everywhere (unlike the angle)."""
    return 1.0 - ops.sum(ops.cast(y_true, "float32") * ops.cast(y_pred, "float32"), axis=-1)


@keras.saving.register_keras_serializable(package="normalgen")
def chord_loss(y_true, y_pred):
    """|n_true - n_pred| = 2 sin(angle / 2): the angle itself to within 1% below 30 degrees.

    The cosine loss is about angle^2 / 2, so under an ambiguous photo it pays for the mean of the
    readings it cannot tell apart; the chord, like the angle the model card reports, is an L1 loss
    (bounded gradient, pulled toward the median). The tiny epsilon keeps the gradient finite at 0.
    """
    d = ops.cast(y_true, "float32") - ops.cast(y_pred, "float32")
    return ops.sqrt(ops.sum(d * d, axis=-1) + 1e-8)


STEEP_GAIN = 2.0  # "cosine-steep": a pixel's weight is 1 + STEEP_GAIN * tan(its true tilt), ...
STEEP_TAN_CAP = 3.0  # ... the tangent capped at 3 (72 degrees), so walls do not swamp the batch


def _tan_tilt(n):
    """tan of each unit normal's angle from +Z, capped at STEEP_TAN_CAP; finite gradient when flat."""
    nz = ops.clip(n[..., 2], 1e-3, 1.0)
    return ops.minimum(ops.sqrt(n[..., 0] * n[..., 0] + n[..., 1] * n[..., 1] + 1e-12) / nz, STEEP_TAN_CAP)


@keras.saving.register_keras_serializable(package="normalgen")
def steep_cosine_loss(y_true, y_pred):
    """The cosine loss weighted toward pixels whose true normal is steep, weights averaging 1 per batch.

    Most pixels of most surfaces are gentle, so a plain loss pays little for drawing a narrow steep
    bevel as a wide soft band, or a steep photo's slopes at half their size; this one pays
    1 + 2 tan(tilt) times as much at each pixel (2.2x at 30 degrees, 3x at 45), divided by the batch's
    mean weight so the loss keeps the cosine's scale and learning rates carry over.
    """
    w = 1.0 + STEEP_GAIN * _tan_tilt(ops.cast(y_true, "float32"))
    return w / ops.mean(w) * cosine_loss(y_true, y_pred)


SCALE_WEIGHT = 0.05  # "cosine-scale": the weight of the per-patch log-scale term


@keras.saving.register_keras_serializable(package="normalgen")
def scale_cosine_loss(y_true, y_pred):
    """The cosine loss plus 0.05 (log of the patch's mean predicted slope / its true one)^2 per pixel.

    Under the cosine alone a steep patch read at half its slope costs only what its few degrees
    per pixel cost; the log term asks every patch, gentle or steep, for its whole slope at the
    same price, so a network that can tell how steep a patch is is pushed to say so.
    """
    t = ops.cast(y_true, "float32")
    p = ops.cast(y_pred, "float32")
    pred_tan, true_tan = (ops.mean(_tan_tilt(n), axis=(1, 2), keepdims=True) for n in (p, t))  # per patch
    ratio = ops.log(pred_tan + 0.01) - ops.log(true_tan + 0.01)
    return cosine_loss(t, p) + SCALE_WEIGHT * ratio * ratio


LOSSES = {"cosine": cosine_loss, "angle": chord_loss, "cosine-steep": steep_cosine_loss,
          "cosine-scale": scale_cosine_loss}


@keras.saving.register_keras_serializable(package="normalgen")
def mean_angle_deg(y_true, y_pred):
    """Mean angular error in degrees (the number artists and the model card quote)."""
    dot = ops.sum(ops.cast(y_true, "float32") * ops.cast(y_pred, "float32"), axis=-1)
    return ops.arccos(ops.clip(dot, -1.0, 1.0)) * (180.0 / np.pi)


SCRATCH_DEPTH = 4  # levels of downsampling of a new network when --depth is not given
SCRATCH_BASE_FILTERS = 16  # channels of a new network's first level when --base-filters is not given


@dataclasses.dataclass
class TrainSettings:
    data: list
    out: str
    init: str = "pretrained"  # "pretrained", "scratch" or a .keras path
    val: list | None = None
    epochs: int = 20
    steps: int = 200  # batches per epoch
    batch_size: int = 16
    patch: int = 128
    learning_rate: float = 1e-3
    loss: str = "cosine"  # a key of LOSSES
    seed: int = 0
    workers: int = 2
    precision: str = "auto"  # "auto", "float32", "mixed_bfloat16", "mixed_float16"
    base_filters: int | None = None  # from scratch: 16 if None; with init, wider than init widens it (grow.py)
    depth: int | None = None  # from scratch: 4 if None; with init, deeper than init grows it (grow.py)
    train_new_only: bool = False  # with a deeper `depth` than init: freeze all but the added levels
    global_context: bool = False  # only for init="scratch"; see normalgen.model._global_context
    head: str = "slope"  # only for init="scratch"; see normalgen.model.HeightNormalHead
    input_norm: str = "relative"  # only for init="scratch"; see normalgen.preprocess
    light: str | None = None  # see ModelConfig.light: from scratch "any" if None; with init, None keeps its own
    norm: str = "none"  # only for init="scratch"; see ModelConfig.norm


class TrainError(Exception):
    """A user-caused training error (no data, a run folder in the way, a missing model), one sentence."""


def _init_path(init: str) -> Path:
    """The file `--from` names: 'pretrained' and 'pretrained-lit' are the shipped models."""
    from normalgen.pretrained import CANONICAL_MODEL_PATH, DEFAULT_MODEL_PATH

    return {"pretrained": DEFAULT_MODEL_PATH, "pretrained-lit": CANONICAL_MODEL_PATH}.get(init, Path(init))


def describe_init(init: str) -> str:
    """What a run starts from, in words, for its first log line."""
    if init == "scratch":
        return "a new network (--from scratch)"
    if init == "pretrained":
        return f"the shipped model for photos lit from any side ({_init_path(init).name})"
    if init == "pretrained-lit":
        return f"the shipped model for photos lit from the right ({_init_path(init).name})"
    return str(init)


def _load_init_model(init: str) -> keras.Model:
    """The starting model's weights, in float32 whatever the run's precision (they are copied into
    the network that trains)."""
    if init == "scratch":
        return None
    path = _init_path(init)
    if path.is_dir() and (path / "best.keras").is_file():
        raise TrainError(f"{path} is a folder: give a model file, such as {path / 'best.keras'}")
    if not path.is_file():
        raise TrainError(f"model to start from not found: {path} (use --from scratch to train a new one)")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        return load_model(path)
    except ModelError as exc:
        raise TrainError(str(exc)) from None
    finally:
        keras.config.set_dtype_policy(previous)


def _schedule(settings: TrainSettings):
    """Cosine decay from the run's rate to 5% of it over all of the run's steps."""
    total = settings.epochs * settings.steps
    return keras.optimizers.schedules.CosineDecay(settings.learning_rate, total, alpha=0.05)


def _callbacks(run: Path, settings: TrainSettings, start_epoch: int, start_best: float | None = None):
    cbs = [
        keras.callbacks.CSVLogger(str(run / "log.csv"), append=start_epoch > 0),
        EpochCheckpoint(run, settings, start_best),
    ]
    if keras.backend.backend() == "tensorflow":
        cbs.append(keras.callbacks.TensorBoard(str(run / "tensorboard"), update_freq="epoch"))
    return cbs


class EpochCheckpoint(keras.callbacks.Callback):
    """Every epoch: last.keras (with optimizer), best.keras when validation improved, state.json.

    Each file is written to a temporary name and renamed, so a kill never leaves half a checkpoint.
    """

    def __init__(self, run: Path, settings: TrainSettings, start_best: float | None = None):
        super().__init__()
        self.run, self.settings = run, settings
        state = _read_state(run)
        if state:
            self.best = state.get("best_val", float("inf"))
            self.start = state.get("start_val")
        else:  # a new run: an epoch must beat the starting model's validation score, when there is one
            self.best = float("inf") if start_best is None else start_best
            self.start = start_best

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        _atomic_save(self.model, self.run / "last.keras")
        val = logs.get("val_mean_angle_deg", logs.get("mean_angle_deg"))
        if val is not None and val < self.best:
            self.best = float(val)
            export_float32(self.model, self.run / "best.keras")
        state = {"epochs_done": epoch + 1, "best_val": self.best, "start_val": self.start,
                 "settings": dataclasses.asdict(self.settings),
                 "last_logs": {k: float(v) for k, v in logs.items()}, "time": time.time()}
        atomic_write_bytes(self.run / "state.json", json.dumps(state, indent=1).encode(), overwrite=True)


def _atomic_save(model, path: Path):
    """model.save to a temporary name in the same folder, then rename (Keras writes the file itself).
    A failed save (a full disk) removes its temporary file and says so in one sentence."""
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    try:
        model.save(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise TrainError(f"cannot write {path}: {one_clause(exc)}") from None


def export_float32(model: keras.Model, path: Path) -> None:
    """Save a float32 copy without optimizer state: the small file to ship or to load for inference."""
    cfg = config_of(model)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        clean = build_model(cfg)
    finally:
        keras.config.set_dtype_policy(previous)
    clean.set_weights(model.get_weights())
    _atomic_save(clean, path)


def _read_state(run: Path) -> dict | None:
    """The run's state.json, None where there is none; TrainError for one that is not a run's."""
    f = run / "state.json"
    if not f.is_file():
        return None
    try:
        state = json.loads(f.read_text(encoding="utf-8"))
        if not isinstance(state.get("settings"), dict) or int(state["epochs_done"]) < 0:
            raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        raise _damaged(f) from None
    return state


def _damaged(state_file: Path) -> TrainError:
    return TrainError(f"{state_file} is damaged or not a normalgen run's state; start a new run with another --out")


def _saved_settings(state: dict, run: Path) -> TrainSettings:
    known = {field.name for field in dataclasses.fields(TrainSettings)}
    unknown = sorted(set(state["settings"]) - known)
    if unknown:
        raise TrainError(f"{run / 'state.json'} has settings this version does not know ({', '.join(unknown)}); "
                         "resume it with the normalgen that started it")
    try:
        return TrainSettings(**state["settings"])
    except TypeError:  # required settings missing
        raise _damaged(run / "state.json") from None


def _check_can_write(run: Path) -> None:
    """TrainError unless the run folder (or the nearest folder that exists above it) takes new files."""
    folder = run
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        check_writable(folder)
    except OutputError as exc:
        raise TrainError(f"cannot write the run folder {run} ({str(exc).rstrip('.')})") from None


def _replan_decay(model: keras.Model, settings: TrainSettings, log) -> None:
    """A resumed run given another length: its cosine decay is re-planned over the new length, as
    if planned so, rather than spending added epochs at the old schedule's floor."""
    optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)  # mixed_float16 wraps it
    schedule = optimizer._learning_rate  # Keras has no public getter for the schedule itself
    total = settings.epochs * settings.steps
    if isinstance(schedule, keras.optimizers.schedules.CosineDecay) and schedule.decay_steps != total:
        optimizer.learning_rate = _schedule(settings)
        log(f"learning rate: the cosine decay now spans {settings.epochs} epochs")


class TimeLimit(keras.callbacks.Callback):
    """Stop after the first epoch that ends past `deadline` (its checkpoint is written first)."""

    def __init__(self, deadline: float):
        super().__init__()
        self.deadline = deadline  # time.monotonic() at which to stop

    def on_epoch_end(self, epoch, logs=None):
        if time.monotonic() >= self.deadline:
            self.model.stop_training = True


def train(settings: TrainSettings, resume: bool = False, log=print, verbose: int = 2,
          minutes: float | None = None) -> Path:
    """Run (or, resume=True, continue) the training `settings` describe. minutes: stop after the
    first epoch that ends past this time budget, counted from now; `--resume` continues such a
    run later."""
    deadline = None if minutes is None else time.monotonic() + 60 * minutes
    state = _read_state(Path(settings.out))
    precision = state["settings"].get("precision", settings.precision) if (resume and state) else settings.precision
    # First of all: a multi-worker strategy must exist before TensorFlow runs anything, and a
    # machine that stops before it has joined its cluster leaves the others waiting for ever.
    try:
        env = runtime.configure(precision)
    except RuntimeError as exc:
        raise TrainError(str(exc)) from None
    try:
        with cluster.lost_machines_reported() if env["workers"] > 1 else contextlib.nullcontext():
            return _train(settings, env, state, resume, log, verbose, deadline, minutes)
    except cluster.ClusterError as exc:
        raise TrainError(str(exc)) from None


def _train(settings: TrainSettings, env: dict, state: dict | None, resume: bool, log, verbose: int,
           deadline: float | None, minutes: float | None) -> Path:
    run = Path(settings.out)
    if state and not resume:
        raise TrainError(f"{run} already holds a run ({state['epochs_done']} epochs); "
                         "pass --resume to continue it or choose another --out")
    if resume and not state:
        raise TrainError(f"nothing to resume in {run}: no state.json there")
    if resume:
        saved = _saved_settings(state, run)
        saved.epochs = settings.epochs or saved.epochs  # resuming may lengthen or shorten the run
        # The data may have moved (another machine, a regenerated set): the folders given now win.
        saved.data = settings.data or saved.data
        saved.val = settings.val or saved.val
        saved.workers = settings.workers
        settings = saved
    _check_can_write(run)
    if resume and not (run / "last.keras").is_file():
        raise TrainError(f"cannot resume {run}: its last.keras is missing; start a new run with another --out")
    if resume and state["epochs_done"] >= settings.epochs:  # before reading any data
        log(f"run already finished ({state['epochs_done']} epochs)")
        return run
    init = None if resume else _load_init_model(settings.init)  # a bad --from fails before any decoding
    if not resume:
        depth = settings.depth or (config_of(init).depth if init is not None else SCRATCH_DEPTH)
        if settings.patch % 2**depth:
            raise TrainError(f"--patch {settings.patch} must be a multiple of {2**depth} for a network with "
                             f"{depth} levels of downsampling")
    if init is not None:
        try:
            if settings.depth is not None:
                check_deepen(config_of(init), settings.depth)
            if settings.base_filters is not None:
                check_widen(config_of(init), settings.base_filters)
        except GrowError as exc:
            raise TrainError(str(exc)) from None
    if settings.train_new_only and not resume and (init is None or (settings.depth or 0) <= config_of(init).depth):
        raise TrainError("--train-new-only needs --from a model and a --depth deeper than that model's")
    if (settings.train_new_only and not resume and settings.base_filters is not None
            and settings.base_filters != config_of(init).base_filters):
        raise TrainError("--train-new-only cannot be combined with a wider --base-filters: the new channels "
                         "would stay frozen")

    missing = [d for d in settings.data if not Path(d).exists()]
    if missing:  # not a warning: a mistyped folder among several would train on fewer pairs unnoticed
        raise TrainError(f"{missing[0]} does not exist")
    if not resume:
        log(f"starting from {describe_init(settings.init)}")
    pairs, warnings = find_pairs(settings.data)
    found = len(pairs)
    cache = PairCache()  # filled while checking, so the first epoch does not decode them again
    pairs, bad = check_pairs(pairs, min_side=settings.patch // 2, cache=cache, progress=_progress_log(log, "training"))
    for w in warnings + bad:
        log(f"warning: {w}")
    if not pairs:
        where = ", ".join(map(str, settings.data))
        if found:
            raise TrainError(f"no usable training pairs in {where}: all {found} found were skipped "
                             "(see the warnings above)")
        raise TrainError(f"no usable training pairs found in {where}")
    val_pairs = []
    if settings.val:
        val_pairs, vwarn = find_pairs(settings.val)
        val_cache = PairCache()
        val_pairs, vbad = check_pairs(val_pairs, min_side=settings.patch, cache=val_cache,
                                      progress=_progress_log(log, "validation"))
        for w in vwarn + vbad:
            log(f"warning: {w}")
        if not val_pairs:
            raise TrainError(f"no usable validation pairs in {', '.join(map(str, settings.val))} (see any warnings "
                             "above); give --val a folder of pairs" + (" (a resumed run keeps its own --val "
                             "unless you give one)" if resume else ", or leave it out to choose best.keras on "
                             "the training batches"))
    log(f"{len(pairs)} training pairs, {len(val_pairs)} validation pairs")
    if not val_pairs:
        log("no validation pairs (--val): best.keras is the epoch with the lowest error on its own training batches")
    run.mkdir(parents=True, exist_ok=True)  # only now: a run that cannot start leaves no folder

    log(f"backend {env['backend']}, precision {env['precision']}, devices {env['devices']}, "
        f"jit {env['jit']}, replicas {env['replicas']}" + (f" on {env['workers']} machines" if env["workers"] > 1 else ""))
    start_epoch = state["epochs_done"] if resume else 0
    with env["scope"]():
        if resume:
            model = keras.saving.load_model(run / "last.keras", compile=True)
        else:
            if init is not None:
                if settings.light and settings.light != config_of(init).light:
                    init = relight(init, settings.light)
                model = deepen(init, settings.depth or config_of(init).depth)
                if settings.base_filters not in (None, config_of(model).base_filters):
                    model = widen(model, settings.base_filters)
                if settings.train_new_only:
                    added = {layer.name for layer in added_layers(model, config_of(init).depth)}
                    for layer in model.layers:
                        layer.trainable = layer.name in added
            else:
                model = build_model(ModelConfig(
                    settings.base_filters or SCRATCH_BASE_FILTERS, settings.depth or SCRATCH_DEPTH,
                    global_context=settings.global_context,
                    head=settings.head, input_norm=settings.input_norm, light=settings.light or "any",
                    norm=settings.norm))
            model.compile(optimizer=keras.optimizers.Adam(_schedule(settings)), loss=LOSSES[settings.loss],
                          metrics=[mean_angle_deg], jit_compile=env["jit"])
    input_norm = config_of(model).input_norm  # what this network was (or is being) trained on
    light = config_of(model).light
    global_batch = settings.batch_size * env["replicas"]
    # Training patches: one stream per machine when there are several (a machine's own index).
    patches = functools.partial(PatchDataset, pairs, patch=settings.patch, seed=settings.seed, cache=cache,
                                input_norm=input_norm, light=light)
    val_ds = None
    if val_pairs:
        val_ds = PatchDataset(val_pairs, patch=settings.patch * 2, batch_size=8, augment=False, input_norm=input_norm,
                              cache=val_cache, stride=2 ** config_of(model).depth)
    start_best = None
    if val_ds is not None and init is not None and env["workers"] == 1:
        start_best = float(model.evaluate(val_ds, verbose=0, return_dict=True)["mean_angle_deg"])
        log(f"the starting model scores {start_best:.2f}° on the validation pairs; best.keras is it until an "
            "epoch does better")
        export_float32(model, run / "best.keras")
    if resume:
        _replan_decay(model, settings, log)
        _trim_log(run / "log.csv", start_epoch)
    callbacks = _callbacks(run, settings, start_epoch, start_best)
    if deadline is not None:
        callbacks.append(TimeLimit(deadline))
    if env["workers"] > 1:
        _fit_on_several_machines(model, env, settings, patches, val_ds, start_epoch, callbacks, verbose)
    else:
        train_ds = patches(batch_size=global_batch, steps=settings.steps, workers=settings.workers, max_queue_size=8)
        train_ds.epoch = start_epoch
        model.fit(train_ds, validation_data=val_ds, epochs=settings.epochs, initial_epoch=start_epoch,
                  callbacks=callbacks, verbose=verbose)
    if env["workers"] > 1 and not cluster.is_chief(env["strategy"]):
        return run  # the chief writes the run folder and says how the run ended
    done = _read_state(run)["epochs_done"]
    if done < settings.epochs and minutes is not None:
        log(f"stopped after epoch {done} of {settings.epochs}: the {minutes:g} minutes are up; --resume continues")
    if not (run / "best.keras").exists():
        export_float32(model, run / "best.keras")
    final = _read_state(run)
    if final.get("start_val") is not None and final["best_val"] >= final["start_val"]:
        log(f"no epoch beat the starting model's {final['start_val']:.2f}° on the validation pairs, so best.keras "
            "is the starting model")
    return run


def _progress_log(log, what: str, every: float = 10.0):
    """A check_pairs progress callback that logs at most once per `every` seconds."""
    last = [time.monotonic()]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= every and done < total:
            last[0] = now
            log(f"reading {what} pairs: {done} of {total}")

    return progress


def _trim_log(csv: Path, epochs_done: int) -> None:
    """Drop log.csv rows of epochs after the last checkpoint: a run killed between writing an
    epoch's row and its checkpoint runs that epoch again, and would log it twice."""
    if not csv.is_file():
        return
    lines = csv.read_text(encoding="utf-8").splitlines(keepends=True)
    keep = lines[:1] + [line for line in lines[1:] if _epoch_of(line) < epochs_done]
    if keep != lines:
        atomic_write_bytes(csv, "".join(keep).encode("utf-8"), overwrite=True)


def _epoch_of(row: str) -> int:
    try:
        return int(row.split(",", 1)[0])
    except ValueError:
        return -1  # not an epoch's row: kept


def _fit_on_several_machines(model, env, settings: TrainSettings, patches, val_ds, start_epoch, callbacks,
                             verbose) -> None:
    """`model.fit` for a MultiWorkerMirroredStrategy (multi_worker.py): each worker draws its own
    patches (worker 0 the same as a single machine would), one batch per local device a step."""
    strategy = env["strategy"]
    local = max(1, env["replicas"] // env["workers"])  # devices per machine, the same on each

    def machine_batches(machine: int):
        ds = patches(batch_size=settings.batch_size, steps=settings.steps * local, stream=machine)
        ds.epoch = start_epoch
        return ds.endless(settings.workers)

    multi_worker.fit(model, strategy, loss_fn=LOSSES[settings.loss], metric_fn=mean_angle_deg,
                     train_batches=machine_batches, steps=settings.steps, epochs=settings.epochs,
                     initial_epoch=start_epoch, val_batches=val_ds, callbacks=callbacks, verbose=verbose,
                     jit_compile=env["jit"])
