"""Training on several machines (MultiWorkerMirroredStrategy via TF_CONFIG), as two local workers
on this CPU: the workers end with one set of weights, the same Keras' own fit() reaches on one
machine with their batches put together; `normalgen train` runs, stops and resumes across them;
a machine that fails ends the others' runs in one sentence."""

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from normalgen_training import synth
from normalgen_training import runtime
from normalgen_training.cluster import ClusterError, cluster_tasks

TRAIN = [sys.executable, "-c", "from normalgen_training.cli import train; train()"]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
ENV.pop("TF_CONFIG", None)

# Three steps of SGD, each on the mean loss over a global batch of 4 samples; with two workers
# each gets half of it. Each process starts from its own random weights (seeded by its task
# index): the chief's must reach the others. argv[1]: where to write the final weights and the
# logged loss; argv[2]: "xla" compiles each replica's step with XLA, as training on GPUs does,
# "fit" trains with Keras' own model.fit on one machine, without any strategy (the reference).
STEPS = """
import json, os, sys, numpy as np, keras
from normalgen_training import cluster, multi_worker
mode = sys.argv[2]
strategy = cluster.make_strategy() if mode != "fit" else None
task = json.loads(os.environ.get("TF_CONFIG") or "{}").get("task", {}).get("index", 0)
workers = strategy.num_replicas_in_sync if strategy else 1
keras.utils.set_random_seed(task)
mse = lambda t, p: keras.ops.mean((t - p) ** 2, axis=-1)
with strategy.scope() if strategy else keras.name_scope("one"):
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, padding="same", activation="tanh"),
                              keras.layers.Conv2D(3, 3, padding="same")])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=mse)
rng = np.random.default_rng(7)
x = rng.random((12, 8, 8, 3), dtype=np.float32)
y = np.roll(x, 1, axis=1) - 0.5
if mode == "fit":
    loss = model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0).history["loss"][-1]
else:
    def batches(w):
        per = 4 // workers
        for s in range(3):
            rows = slice(4 * s + w * per, 4 * s + (w + 1) * per)
            yield x[rows], y[rows]
    logs = multi_worker.fit(model, strategy, loss_fn=mse, metric_fn=mse, train_batches=batches, steps=3, epochs=1,
                            verbose=0, jit_compile=mode == "xla")
    loss = logs["loss"]
np.savez(sys.argv[1], loss=loss, *[np.asarray(w) for w in model.get_weights()])
"""


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _on_workers(command, tmp_path, n=2, timeout=240, layout="worker"):
    """Run `command(i)` as n local machines of one cluster (layout "worker": n workers; "chief": a
    chief and n-1 workers); their (returncode, stdout, stderr). Output goes to files, so no pipe
    can fill and stall a worker, and all are killed at the one deadline."""
    addresses = [f"localhost:{p}" for p in _free_ports(n)]
    cluster = {"worker": addresses} if layout == "worker" else {"chief": addresses[:1], "worker": addresses[1:]}
    tasks = [("worker", i) for i in range(n)] if layout == "worker" else [("chief", 0)] + [("worker", i) for i in range(n - 1)]
    procs = []
    for i, (kind, index) in enumerate(tasks):
        config = json.dumps({"cluster": cluster, "task": {"type": kind, "index": index}})
        out, err = open(tmp_path / f"m{i}.out", "w"), open(tmp_path / f"m{i}.err", "w")
        procs.append((subprocess.Popen(command(i), env={**ENV, "TF_CONFIG": config}, stdout=out, stderr=err), out, err))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and any(p.poll() is None for p, _, _ in procs):
            time.sleep(0.2)
    finally:
        for p, out, err in procs:  # one failed machine can leave another waiting on it for ever
            p.kill()
            p.wait()
            out.close()
            err.close()
    return [(p.returncode, (tmp_path / f"m{i}.out").read_text(), (tmp_path / f"m{i}.err").read_text())
            for i, (p, _, _) in enumerate(procs)]


def _weights(path):
    with np.load(path) as f:
        arrays = [f[k] for k in sorted((k for k in f.files if k != "loss"), key=lambda k: int(k.split("_")[1]))]
        return arrays, float(f["loss"])


@pytest.mark.slow
def test_two_workers_train_one_model_as_keras_fit_on_one_machine_would(tmp_path):
    results = _on_workers(lambda i: [sys.executable, "-c", STEPS, str(tmp_path / f"w{i}.npz"), "xla"], tmp_path)
    for code, _, err in results:
        assert code == 0, err[-2000:]
    single = subprocess.run([sys.executable, "-c", STEPS, str(tmp_path / "one.npz"), "fit"], env=ENV,
                            capture_output=True, text=True, timeout=240)
    assert single.returncode == 0, single.stderr[-2000:]
    (w0, loss0), (w1, loss1), (one, loss_one) = (_weights(tmp_path / f) for f in ("w0.npz", "w1.npz", "one.npz"))
    for a, b, c in zip(w0, w1, one):
        np.testing.assert_array_equal(a, b)  # one model: the same start, the same summed updates
        np.testing.assert_allclose(a, c, atol=2e-6)  # the mean over the global batch, not the sum
    assert max(float(np.abs(a).max()) for a in w0[1::2]) > 1e-3  # the biases moved from zero: it trained
    assert loss0 == loss1 and loss0 == pytest.approx(loss_one, rel=1e-5)  # the epoch's loss, as fit() logs it


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    d = tmp_path_factory.mktemp("pairs")
    synth.write_dataset(d, 6, 64, seed=3)
    return d


@pytest.mark.slow
def test_normalgen_train_on_two_workers_stops_together_and_resumes(pairs, tmp_path):
    run = tmp_path / "run"  # on storage both workers see, as a cluster's run folder must be
    args = [str(pairs), "--out", str(run), "--from", "scratch", "--base-filters", "4", "--epochs", "3",
            "--steps", "2", "--batch-size", "2", "--patch", "32", "--val", str(pairs), "--precision", "float32"]
    # The chief's time limit ends the run after one epoch; the other worker must stop with it.
    results = _on_workers(lambda i: TRAIN + args + ["--minutes", "0.0001"], tmp_path, layout="chief")
    for code, _, err in results:
        assert code == 0, err[-2000:]
    assert "replicas 2 on 2 machines" in results[0][2]
    state = json.loads((run / "state.json").read_text())
    assert state["epochs_done"] == 1
    assert "Epoch 1/3" in results[0][1] and "Epoch" not in results[1][1]  # only the chief reports

    results = _on_workers(lambda i: TRAIN + args + ["--resume"], tmp_path, layout="chief")
    for code, _, err in results:
        assert code == 0, err[-2000:]
    assert json.loads((run / "state.json").read_text())["epochs_done"] == 3
    rows = (run / "log.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1", "2"]  # one row per epoch: the chief's
    assert (run / "best.keras").is_file()


@pytest.mark.slow
def test_a_machine_that_fails_ends_the_others_runs_in_one_sentence(pairs, tmp_path):
    # The second machine forgot --resume's run folder: it fails, and the chief must not wait on it.
    args = [str(pairs), "--out", str(tmp_path / "run"), "--from", "scratch", "--base-filters", "4", "--epochs", "1",
            "--steps", "2", "--batch-size", "2", "--patch", "32", "--precision", "float32"]
    (chief, _, chief_err), (other, _, other_err) = _on_workers(
        lambda i: TRAIN + (args if i == 0 else args[:2] + [str(tmp_path / "elsewhere")] + args[3:] + ["--resume"]),
        tmp_path, timeout=180)
    assert other == 1 and "nothing to resume" in other_err and "Traceback" not in other_err
    assert chief == 1, chief_err[-2000:]  # not killed at the deadline (-9)
    assert "another machine of the cluster stopped" in chief_err and "Traceback" not in chief_err


@pytest.mark.parametrize("config, message", [
    ("{not json", "not a JSON object"),
    ('{"cluster": ["localhost:1"]}', "must be JSON objects"),
    ('{"cluster": {"worker": "localhost:1"}}', "must be a list"),
    ('{"cluster": {"worker": ["localhost:1"], "ps": ["localhost:2"]}}', "'ps' tasks"),
    ('{"cluster": {"chief": ["localhost:1", "localhost:2"]}}', "one chief"),
    ('{"cluster": {"worker": ["localhost:1", "localhost:2"]}}', "task must name this machine"),
    ('{"cluster": {"worker": ["localhost:1", "localhost:2"]}, "task": {"type": "worker", "index": 2}}', "0..1"),
    ('{"cluster": {"worker": ["localhost:1", "localhost:2"]}, "task": {"type": "worker", "index": true}}', "task must"),
    ('{"cluster": {"chief": ["localhost:1"], "worker": ["localhost:2"]}, "task": {"type": "evaluator", "index": 0}}',
     "task must"),
])
def test_a_tf_config_that_names_no_cluster_is_one_sentence(monkeypatch, config, message):
    monkeypatch.setenv("TF_CONFIG", config)
    with pytest.raises(ClusterError, match=message):
        cluster_tasks()


def test_the_chief_comes_first_and_one_machine_is_no_cluster(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert cluster_tasks() == []
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": 0}}')
    assert cluster_tasks() == ["localhost:1"]
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"chief": ["c:1"], "worker": ["w:1", "w:2"]}, '
                                    '"task": {"type": "worker", "index": 1}}')
    assert cluster_tasks() == ["c:1", "w:1", "w:2"]


@pytest.mark.parametrize("precision, backend, message", [
    ("mixed_float16", "tensorflow", "mixed_float16 cannot train on several machines"),
    ("float32", "jax", "needs the TensorFlow backend"),
])
def test_what_cannot_train_on_several_machines_is_refused_before_joining(monkeypatch, precision, backend, message):
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["localhost:1", "localhost:2"]}, '
                                    '"task": {"type": "worker", "index": 0}}')
    monkeypatch.setattr(runtime.keras.backend, "backend", lambda: backend)
    monkeypatch.setattr(runtime.cluster, "make_strategy", lambda: pytest.fail("joined the cluster"))
    with pytest.raises(RuntimeError, match=message):
        runtime.configure(precision)


def test_a_bad_tf_config_ends_train_in_one_line(pairs, tmp_path):
    out = subprocess.run(TRAIN + [str(pairs), "--out", str(tmp_path / "r"), "--from", "scratch", "--epochs", "1"],
                         env={**ENV, "TF_CONFIG": "{not json"}, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "TF_CONFIG is not a JSON object" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "r").exists()
