"""Training on several machines (MultiWorkerMirroredStrategy via TF_CONFIG), as two local workers
on this CPU: the workers end with one set of weights, the same a single machine reaches on their
batches put together, and `normalgen train` runs, stops and resumes across them."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from normalgen_training import synth
from normalgen_training.multi_worker import ClusterError, cluster_workers

TRAIN = [sys.executable, "-c", "from normalgen_training.cli import train; train()"]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
ENV.pop("TF_CONFIG", None)

# One training step is the mean loss over a global batch of 4 samples; each of two workers gets
# half of it. Each process starts from its own random weights (seeded by its index): the chief's
# must reach the others. Writes the final weights to argv[1]; argv[2] == "xla" compiles each
# replica's step with XLA, as training on GPUs does.
STEPS = """
import sys, numpy as np, keras, tensorflow as tf
from normalgen_training import multi_worker
strategy = multi_worker.make_strategy()
worker, workers = multi_worker.worker_index(strategy), strategy.num_replicas_in_sync
keras.utils.set_random_seed(worker)
with strategy.scope():
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, padding="same", activation="tanh"),
                              keras.layers.Conv2D(3, 3, padding="same")])
    model.compile(optimizer=keras.optimizers.SGD(0.5))
rng = np.random.default_rng(7)
x = rng.random((12, 8, 8, 3), dtype=np.float32)
y = np.roll(x, 1, axis=1) - 0.5
def batches(w):
    per = 4 // workers
    for s in range(3):
        rows = slice(4 * s + w * per, 4 * s + (w + 1) * per)
        yield x[rows], y[rows]
mse = lambda t, p: keras.ops.mean((t - p) ** 2, axis=-1)
multi_worker.fit(model, strategy, loss_fn=mse, metric_fn=mse, train_batches=batches, steps=3, epochs=1, verbose=0,
                 jit_compile=sys.argv[2] == "xla")
np.savez(sys.argv[1], *[np.asarray(w) for w in model.get_weights()])
"""


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _on_workers(command, n=2, timeout=240):
    """Run `command` as n local workers of one cluster; their (returncode, stdout, stderr)."""
    workers = [f"localhost:{p}" for p in _free_ports(n)]
    procs = []
    for i in range(n):
        config = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}})
        procs.append(subprocess.Popen(command(i), env={**ENV, "TF_CONFIG": config}, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    results = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=timeout)
            results.append((p.returncode, out, err))
    finally:
        for p in procs:  # one failed worker leaves the other waiting on it for ever
            p.kill()
    return results


def _weights(path):
    with np.load(path) as f:
        return [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]


@pytest.mark.slow
def test_two_workers_train_one_model_as_one_machine_would(tmp_path):
    results = _on_workers(lambda i: [sys.executable, "-c", STEPS, str(tmp_path / f"w{i}.npz"), "xla"])
    for code, _, err in results:
        assert code == 0, err[-2000:]
    single = subprocess.run([sys.executable, "-c", STEPS, str(tmp_path / "one.npz"), "plain"], env=ENV,
                            capture_output=True, text=True, timeout=240)
    assert single.returncode == 0, single.stderr[-2000:]
    w0, w1, one = _weights(tmp_path / "w0.npz"), _weights(tmp_path / "w1.npz"), _weights(tmp_path / "one.npz")
    for a, b, c in zip(w0, w1, one):
        np.testing.assert_array_equal(a, b)  # one model: the same start, the same summed updates
        np.testing.assert_allclose(a, c, atol=2e-6)  # the mean over the global batch, not the sum
    assert max(float(np.abs(a).max()) for a in w0[1::2]) > 1e-3  # the biases moved from zero: it trained


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
    results = _on_workers(lambda i: TRAIN + args + ["--minutes", "0.0001"])
    for code, _, err in results:
        assert code == 0, err[-2000:]
    assert "replicas 2 on 2 machines" in results[0][2]
    state = json.loads((run / "state.json").read_text())
    assert state["epochs_done"] == 1
    assert "Epoch 1/3" in results[0][1] and "Epoch" not in results[1][1]  # only the chief reports

    results = _on_workers(lambda i: TRAIN + args + ["--resume"])
    for code, _, err in results:
        assert code == 0, err[-2000:]
    assert json.loads((run / "state.json").read_text())["epochs_done"] == 3
    rows = (run / "log.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1", "2"]  # one row per epoch: the chief's
    assert (run / "best.keras").is_file()


@pytest.mark.parametrize("config, message", [
    ("{not json", "not a JSON object"),
    ('{"cluster": {"worker": "localhost:1"}}', "must be a list"),
    ('{"cluster": {"worker": ["localhost:1", "localhost:2"]}}', "task must be"),
    ('{"cluster": {"worker": ["localhost:1", "localhost:2"]}, "task": {"type": "worker", "index": 2}}', "task must be"),
])
def test_a_tf_config_that_names_no_cluster_is_one_sentence(monkeypatch, config, message):
    monkeypatch.setenv("TF_CONFIG", config)
    with pytest.raises(ClusterError, match=message):
        cluster_workers()


def test_one_worker_or_none_is_a_single_machine(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert cluster_workers() == []
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": 0}}')
    assert cluster_workers() == ["localhost:1"]


def test_a_bad_tf_config_ends_train_in_one_line(pairs, tmp_path):
    out = subprocess.run(TRAIN + [str(pairs), "--out", str(tmp_path / "r"), "--from", "scratch", "--epochs", "1"],
                         env={**ENV, "TF_CONFIG": "{not json"}, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "TF_CONFIG is not a JSON object" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "r").exists()
