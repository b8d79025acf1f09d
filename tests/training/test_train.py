"""Training end to end on a tiny model: a killed run resumes where it stopped; fine-tuning works."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

import normalgen.model  # noqa: F401  registers the custom head for loading
import normalgen_training.train  # noqa: F401  registers the loss and metric for loading
from normalgen.model import ModelConfig, build_model, config_of
from normalgen_training import synth
from normalgen_training.train import chord_loss, cosine_loss, scale_cosine_loss, steep_cosine_loss

TRAIN = [sys.executable, "-c", "from normalgen_training.cli import train; train()"]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    d = tmp_path_factory.mktemp("pairs")
    synth.write_dataset(d, 6, 64, seed=3)
    return d


def _args(pairs, run, epochs):
    return [str(pairs), "--out", str(run), "--from", "scratch", "--base-filters", "4", "--epochs", str(epochs),
            "--steps", "3", "--batch-size", "2", "--patch", "32", "--val", str(pairs), "--precision", "float32"]


@pytest.mark.slow
def test_killed_run_resumes_from_its_last_checkpoint(pairs, tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen(TRAIN + _args(pairs, run, 40), env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline:
        state = run / "state.json"
        if state.exists() and json.loads(state.read_text())["epochs_done"] >= 2:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = json.loads((run / "state.json").read_text())["epochs_done"]
    assert 2 <= done_before < 40
    keras.saving.load_model(run / "last.keras")  # the checkpoint survived the kill intact

    # Resume, asking for only a few more epochs than were done.
    target = done_before + 2
    out = subprocess.run(TRAIN + _args(pairs, run, target) + ["--resume"], env=ENV, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    state = json.loads((run / "state.json").read_text())
    assert state["epochs_done"] == target
    model = keras.saving.load_model(run / "last.keras")
    assert int(model.optimizer.iterations.numpy()) == target * 3  # optimizer state carried over, not restarted
    # The run was lengthened from 40 planned epochs to `target`: the decay now spans the new length.
    assert model.optimizer._learning_rate.decay_steps == target * 3
    with open(run / "log.csv") as f:
        epochs = [int(r["epoch"]) for r in csv.DictReader(f)]
    assert epochs[-2:] == [target - 2, target - 1]
    assert (run / "best.keras").exists()


def test_starting_over_an_existing_run_is_refused_in_one_line(pairs, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "state.json").write_text(json.dumps({"epochs_done": 3, "settings": {}}))
    out = subprocess.run(TRAIN + _args(pairs, run, 2), env=ENV, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1].startswith("error: ") and "--resume" in out.stderr
    assert "Traceback" not in out.stderr


def test_empty_data_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    out = subprocess.run(TRAIN + _args(tmp_path / "empty", tmp_path / "run", 1), env=ENV, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 1
    assert "no usable training pairs" in out.stderr and "Traceback" not in out.stderr


def test_a_file_that_is_no_model_as_from_is_one_sentence_and_leaves_no_run_folder(pairs, tmp_path):
    fake = tmp_path / "notmodel.keras"
    fake.write_bytes(b"not a model")
    args = _args(pairs, tmp_path / "run", 1)
    args[args.index("scratch")] = str(fake)
    out = subprocess.run(TRAIN + args, env=ENV, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("error: could not load model")
    assert "not a valid normalgen .keras file" in out.stderr
    assert not (tmp_path / "run").exists()


def test_chord_loss_is_the_angle_with_a_finite_gradient_at_zero():
    angles = np.radians(np.array([0.0, 1.0, 5.0, 11.25, 22.5, 30.0]))
    truth = np.stack([np.zeros_like(angles), np.zeros_like(angles), np.ones_like(angles)], -1)
    pred = np.stack([np.sin(angles), np.zeros_like(angles), np.cos(angles)], -1)
    loss = keras.ops.convert_to_numpy(chord_loss(truth, pred))
    np.testing.assert_allclose(loss[1:], angles[1:], rtol=0.012)
    assert loss[0] < 1e-3
    import tensorflow as tf

    p = tf.constant(truth[:1], tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(p)
        value = chord_loss(tf.constant(truth[:1], tf.float32), p)
    assert np.isfinite(tape.gradient(value, p).numpy()).all()


def _tilted(deg):
    a = np.radians(np.asarray(deg, dtype=np.float64))
    return np.stack([np.sin(a), np.zeros_like(a), np.cos(a)], -1)


def test_steep_loss_pays_more_for_an_error_on_a_steep_pixel_and_keeps_the_cosine_scale():
    # The same 10-degree error on a flat pixel and on a 45-degree one: the steep pixel costs
    # (1 + 2 tan 45) / (1 + 2 tan 0) = 3 times as much.
    truth = _tilted([[0.0, 45.0]])
    pred = _tilted([[10.0, 55.0]])
    steep = keras.ops.convert_to_numpy(steep_cosine_loss(truth, pred))[0]
    plain = keras.ops.convert_to_numpy(cosine_loss(truth, pred))[0]
    np.testing.assert_allclose(plain[0], plain[1], rtol=1e-5)
    np.testing.assert_allclose(steep[1] / steep[0], 3.0, rtol=1e-4)
    # Weights average 1 over the batch: where every pixel is equally steep it is the cosine.
    same = _tilted([[30.0, 30.0, 30.0]])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(steep_cosine_loss(same, _tilted([[20.0, 35.0, 50.0]]))),
                               keras.ops.convert_to_numpy(cosine_loss(same, _tilted([[20.0, 35.0, 50.0]]))),
                               rtol=1e-5)
    # A wall (tilt near 90 degrees) is capped, not infinite.
    wall = keras.ops.convert_to_numpy(steep_cosine_loss(_tilted([[0.0, 89.99]]), _tilted([[10.0, 80.0]])))
    assert np.isfinite(wall).all() and wall[0, 1] / wall[0, 0] < 1 + 2 * 3.0 + 1e-3


def test_scale_loss_adds_a_term_only_for_the_patch_read_at_the_wrong_overall_slope():
    truth = _tilted(np.full((2, 4, 4), 30.0))
    pred = _tilted(np.stack([np.full((4, 4), 30.0), np.full((4, 4), 16.1)]))  # patch 1: half the slope
    extra = keras.ops.convert_to_numpy(scale_cosine_loss(truth, pred) - cosine_loss(truth, pred))
    np.testing.assert_allclose(extra[0], 0.0, atol=1e-6)
    half = (np.log(np.tan(np.radians(16.1)) + 0.01) - np.log(np.tan(np.radians(30.0)) + 0.01)) ** 2
    np.testing.assert_allclose(extra[1], 0.05 * half, rtol=1e-4)
    # The term sees the patch's overall slope, not each pixel: the same slopes shuffled cost nothing more.
    mixed = _tilted(np.concatenate([np.full((1, 2, 4), 20.0), np.full((1, 2, 4), 40.0)], axis=1))
    swapped = mixed[:, ::-1]
    base = keras.ops.convert_to_numpy(cosine_loss(mixed, swapped))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(scale_cosine_loss(mixed, swapped)), base, atol=1e-6)
    # A flat prediction (a fresh network's) has a finite gradient: no NaN in the first step.
    import tensorflow as tf

    flat = tf.constant(_tilted(np.zeros((1, 4, 4))), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(flat)
        value = tf.reduce_mean(scale_cosine_loss(tf.constant(truth[:1], tf.float32), flat))
    assert np.isfinite(tape.gradient(value, flat).numpy()).all()


def test_fine_tunes_from_a_model_file(pairs, tmp_path, tiny_model_path):
    run = tmp_path / "ft"
    args = _args(pairs, run, 1) + ["--loss", "angle"]
    args[args.index("scratch")] = str(tiny_model_path)
    out = subprocess.run(TRAIN + args, env=ENV, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads((run / "state.json").read_text())["settings"]["loss"] == "angle"
    assert keras.saving.load_model(run / "last.keras").loss is chord_loss  # a resumed run keeps its loss
    start = keras.saving.load_model(tiny_model_path)
    tuned = keras.saving.load_model(run / "best.keras")
    assert [w.shape for w in start.get_weights()] == [w.shape for w in tuned.get_weights()]
    assert any((a != b).any() for a, b in zip(start.get_weights(), tuned.get_weights()))


def test_train_depth_grows_the_starting_model(pairs, tmp_path):
    start = tmp_path / "plain.keras"
    keras.utils.set_random_seed(5)
    build_model(ModelConfig(base_filters=4, depth=2, norm="none")).save(start)
    run = tmp_path / "deeper"
    args = _args(pairs, run, 1) + ["--depth", "3"]
    args[args.index("scratch")] = str(start)
    out = subprocess.run(TRAIN + args, env=ENV, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    tuned = keras.saving.load_model(run / "best.keras")
    assert config_of(tuned).depth == 3
    assert json.loads((run / "state.json").read_text())["settings"]["depth"] == 3

    # --train-new-only: the added level learns, every layer the starting model had stays as it was.
    run = tmp_path / "new_only"
    args = _args(pairs, run, 1) + ["--depth", "3", "--train-new-only"]
    args[args.index("scratch")] = str(start)
    out = subprocess.run(TRAIN + args, env=ENV, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    old, new = keras.saving.load_model(start), keras.saving.load_model(run / "last.keras")
    for layer in old.layers:
        target = "down2_" + layer.name[len("bottom_"):] if layer.name.startswith("bottom_") else layer.name
        for a, b in zip(layer.get_weights(), new.get_layer(target).get_weights()):
            np.testing.assert_array_equal(a, b)
    assert new.get_layer("dec2_conv0").get_weights()[0][:, :, :16].any()  # the coarse path got a weight

    args = _args(pairs, tmp_path / "no", 1) + ["--train-new-only"]
    args[args.index("scratch")] = str(start)
    nothing_new = subprocess.run(TRAIN + args, env=ENV, capture_output=True, text=True, timeout=120)
    assert nothing_new.returncode == 1 and "--depth deeper" in nothing_new.stderr

    args = _args(pairs, tmp_path / "no", 1) + ["--depth", "1"]
    args[args.index("scratch")] = str(start)
    shallower = subprocess.run(TRAIN + args, env=ENV, capture_output=True, text=True, timeout=120)
    assert shallower.returncode == 1
    assert "shallower" in shallower.stderr and "Traceback" not in shallower.stderr
    assert not (tmp_path / "no").exists()



def test_train_base_filters_widens_the_starting_model(pairs, tmp_path):
    start = tmp_path / "plain.keras"
    keras.utils.set_random_seed(5)
    build_model(ModelConfig(base_filters=4, depth=2, norm="none")).save(start)
    run = tmp_path / "wider"
    args = _args(pairs, run, 1)
    args[args.index("scratch")] = str(start)
    args[args.index("--base-filters") + 1] = "6"
    out = subprocess.run(TRAIN + args, env=ENV, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    tuned = keras.saving.load_model(run / "best.keras")
    assert (config_of(tuned).base_filters, config_of(tuned).max_filters) == (6, 24)
    assert json.loads((run / "state.json").read_text())["settings"]["base_filters"] == 6

    # Without --base-filters a fine-tune keeps the starting model's width (8 here, not the scratch 16).
    eight = tmp_path / "eight.keras"
    build_model(ModelConfig(base_filters=8, depth=2, norm="none")).save(eight)
    args = _args(pairs, tmp_path / "same", 1)
    del args[args.index("--base-filters"):args.index("--base-filters") + 2]
    args[args.index("scratch")] = str(eight)
    out = subprocess.run(TRAIN + args, env=ENV, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert config_of(keras.saving.load_model(tmp_path / "same" / "best.keras")).base_filters == 8

    for base, extra, message in (("2", [], "narrower"), ("6", ["--depth", "3", "--train-new-only"], "frozen")):
        args = _args(pairs, tmp_path / "no", 1) + extra
        args[args.index("scratch")] = str(start)
        args[args.index("--base-filters") + 1] = base
        refused = subprocess.run(TRAIN + args, env=ENV, capture_output=True, text=True, timeout=120)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert message in refused.stderr.strip().splitlines()[-1]
        assert not (tmp_path / "no").exists()


def test_train_light_relights_the_starting_model_only_when_asked(pairs, tmp_path):
    """--from a one-side-light model keeps it one-side unless --light any is given (the recipe of
    an any-light model that starts from one that reads shading)."""
    start = tmp_path / "canonical.keras"
    keras.utils.set_random_seed(6)
    build_model(ModelConfig(base_filters=4, depth=2, norm="none", light="canonical")).save(start)
    for light, expected in ((None, "canonical"), ("any", "any")):
        run = tmp_path / f"run_{expected}"
        args = _args(pairs, run, 1) + (["--light", light] if light else [])
        args[args.index("scratch")] = str(start)
        out = subprocess.run(TRAIN + args, env=ENV, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        tuned = keras.saving.load_model(run / "best.keras")
        tuned.__dict__.pop("normalgen_config", None)
        assert config_of(tuned).light == expected

MIRRORED = """
import sys, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from normalgen_training.cli import train
train(sys.argv[1:])
"""


def test_mirrored_strategy_over_two_devices(pairs, tmp_path):
    # A CPU split into two logical devices stands in for two GPUs: same MirroredStrategy code path.
    run = tmp_path / "mirrored"
    out = subprocess.run([sys.executable, "-c", MIRRORED] + _args(pairs, run, 1), env=ENV, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "replicas 2" in out.stderr
    assert json.loads((run / "state.json").read_text())["epochs_done"] == 1


def test_minutes_stops_after_the_epoch_that_runs_past_them_and_resume_continues(pairs, tmp_path):
    run = tmp_path / "run"
    out = subprocess.run(TRAIN + _args(pairs, run, 5) + ["--minutes", "0.0001"], env=ENV, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads((run / "state.json").read_text())["epochs_done"] == 1
    assert "stopped after epoch 1 of 5" in out.stderr and (run / "best.keras").exists()
    out = subprocess.run(TRAIN + _args(pairs, run, 5) + ["--resume"], env=ENV, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads((run / "state.json").read_text())["epochs_done"] == 5


def test_time_limit_stops_only_once_its_deadline_has_passed(monkeypatch):
    from normalgen_training import train as train_module

    now = [100.0]
    monkeypatch.setattr(train_module.time, "monotonic", lambda: now[0])
    limit = train_module.TimeLimit(deadline=160.0)
    limit.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    limit.model.stop_training = False
    limit.on_epoch_end(0)
    assert limit.model.stop_training is False
    now[0] = 160.0
    limit.on_epoch_end(1)
    assert limit.model.stop_training is True


@pytest.mark.parametrize("rate, replanned", [("same", False), ("longer", True), ("float", False)])
def test_resume_replans_only_a_cosine_decay_of_another_length(rate, replanned):
    from normalgen_training.train import TrainSettings, _replan_decay, _schedule

    planned = TrainSettings(data=[], out="", epochs=4, steps=10, learning_rate=1e-3)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3 if rate == "float" else _schedule(planned)), loss="mse")
    now = TrainSettings(data=[], out="", epochs=4 if rate == "same" else 9, steps=10, learning_rate=1e-3)
    logged = []
    _replan_decay(model, now, logged.append)
    assert bool(logged) is replanned
    if replanned:
        assert model.optimizer._learning_rate.decay_steps == 90


def test_a_bad_learning_rate_is_a_usage_error_and_ignored_options_are_named(pairs, tmp_path):
    from click.testing import CliRunner

    from normalgen_training.cli import train

    for bad in ("nan", "-1", "0", "inf"):
        r = CliRunner().invoke(train, [str(pairs), "--out", str(tmp_path / "r"), "--lr", bad])
        assert r.exit_code == 2 and "must be a positive number" in r.output, (bad, r.output)
    r = CliRunner().invoke(train, [str(pairs), "--out", str(tmp_path / "none"), "--resume", "--lr", "0.1",
                                   "--steps", "5", "--epochs", "3"])  # fmt: skip
    assert r.exit_code == 1
    assert "warning: ignoring --steps, --lr: --resume continues with the run's own settings." in r.stderr
    assert "--epochs" not in r.stderr.split("warning:")[1].split("\n")[0]  # --epochs is honoured on resume
    r = CliRunner().invoke(train, [str(pairs), "--out", str(tmp_path / "ft"), "--from", str(tmp_path / "no.keras"),
                                   "--head", "height"])  # fmt: skip
    assert "warning: ignoring --head: only a new network (--from scratch) uses it." in r.stderr


def test_runs_that_cannot_work_are_refused_in_one_sentence_before_training(pairs, tmp_path):
    empty = tmp_path / "empty_val"
    empty.mkdir()
    checks = []
    args = _args(pairs, tmp_path / "a", 1)
    args[args.index("--val") + 1] = str(empty)
    checks.append((args, "no usable validation pairs in"))
    args = _args(pairs, tmp_path / "b", 1)
    args[args.index("--patch") + 1] = "40"
    checks.append((args, "--patch 40 must be a multiple of 16 for a network with 4 levels"))
    for name, state, message in [("c", "{not json", "is damaged or not a normalgen run's state"),
                                 ("d", '{"epochs_done": 1, "settings": {"new_knob": 1}}', "this version does not know (new_knob)"),
                                 ("e", json.dumps({"epochs_done": 1, "settings": {"data": [], "out": "e"}}),
                                  "its last.keras is missing")]:  # fmt: skip
        (tmp_path / name).mkdir()
        (tmp_path / name / "state.json").write_text(state)
        checks.append((_args(pairs, tmp_path / name, 2) + ["--resume"], message))
    args = _args(pairs, tmp_path / "f", 1)
    args[1:1] = [str(tmp_path / "typo")]  # one of several data folders mistyped: not a mere warning
    checks.append((args, f"{tmp_path / 'typo'} does not exist"))
    (tmp_path / "old_run").mkdir()
    (tmp_path / "old_run" / "best.keras").write_bytes(b"")
    args = _args(pairs, tmp_path / "g", 1)
    args[args.index("scratch")] = str(tmp_path / "old_run")
    checks.append((args, f"give a model file, such as {tmp_path / 'old_run' / 'best.keras'}"))
    for args, message in checks:
        out = subprocess.run(TRAIN + args, env=ENV, capture_output=True, text=True, timeout=120)
        assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr[-1500:]
        last = out.stderr.strip().splitlines()[-1]
        assert last.startswith("error: ") and message in last, last
    assert not any((tmp_path / name).exists() for name in "abfg")


def _fine_tune_args(pairs, run, model, epochs, lr):
    args = _args(pairs, run, epochs) + ["--lr", str(lr)]
    args[args.index("scratch")] = str(model)
    return args


def test_a_fine_tune_is_scored_against_the_model_it_starts_from(pairs, tmp_path, tiny_model_path):
    run = tmp_path / "wrecked"  # a learning rate that wrecks the network: no epoch beats its start
    out = subprocess.run(TRAIN + _fine_tune_args(pairs, run, tiny_model_path, 2, 50.0), env=ENV, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    state = json.loads((run / "state.json").read_text())
    assert f"the starting model scores {state['start_val']:.2f}°" in out.stderr
    assert state["best_val"] == state["start_val"]
    assert "no epoch beat the starting model" in out.stderr
    start, best = keras.saving.load_model(tiny_model_path), keras.saving.load_model(run / "best.keras")
    assert all(np.array_equal(a, b) for a, b in zip(start.get_weights(), best.get_weights()))
    with open(run / "log.csv") as f:
        assert not any(float(r["val_mean_angle_deg"]) < state["start_val"] for r in csv.DictReader(f))  # or NaN


def test_an_interrupted_run_says_what_it_kept_and_exits_like_a_signal(pairs, tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen(TRAIN + _args(pairs, run, 40), env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while time.time() < deadline and not (run / "state.json").exists():
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    done = json.loads((run / "state.json").read_text())["epochs_done"]
    assert err.strip().splitlines()[-1] == (f"interrupted; {done} of 40 epochs are kept in {run}: run the same "
                                            "command with --resume to continue.")
    assert "Traceback" not in err
    assert "E0000" not in err and "cuInit" not in err  # TensorFlow's native start-up notices are held back


def test_resuming_a_finished_run_reads_no_data(pairs, tmp_path):
    run = tmp_path / "run"
    out = subprocess.run(TRAIN + _args(pairs, run, 1), env=ENV, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    args = _args(tmp_path / "gone", run, 1) + ["--resume"]  # the data has moved away since
    out = subprocess.run(TRAIN + args, env=ENV, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "run already finished (1 epochs)" in out.stderr and "gone" not in out.stderr


def test_a_resumed_run_drops_the_log_rows_of_epochs_it_runs_again(tmp_path):
    from normalgen_training.train import _trim_log

    log = tmp_path / "log.csv"
    log.write_text("epoch,loss\n0,0.5\n1,0.4\n2,0.3\n")  # killed after logging epoch 2, before its checkpoint
    _trim_log(log, 2)
    assert log.read_text() == "epoch,loss\n0,0.5\n1,0.4\n"
    _trim_log(log, 2)
    assert log.read_text() == "epoch,loss\n0,0.5\n1,0.4\n"


def test_from_names_both_shipped_models():
    from normalgen.pretrained import CANONICAL_MODEL_PATH, DEFAULT_MODEL_PATH
    from normalgen_training.train import _init_path, describe_init

    assert _init_path("pretrained") == DEFAULT_MODEL_PATH
    assert _init_path("pretrained-lit") == CANONICAL_MODEL_PATH
    assert "lit from any side" in describe_init("pretrained")
    assert "lit from the right" in describe_init("pretrained-lit")


def test_an_interrupt_before_the_first_epoch_names_the_starting_model_when_it_was_written(tmp_path):
    from normalgen_training.cli import _interrupted_note

    run = tmp_path / "run"
    assert _interrupted_note(str(run)) == f"interrupted before the first epoch ended; nothing was kept in {run}."
    run.mkdir()
    (run / "best.keras").write_bytes(b"")  # with --val: the starting model, written before epoch 1
    assert _interrupted_note(str(run)) == (f"interrupted before the first epoch ended; {run / 'best.keras'} is the "
                                           "starting model, unchanged.")
