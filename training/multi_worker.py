"""Training on several machines: TensorFlow's MultiWorkerMirroredStrategy, configured by TF_CONFIG.

Every machine runs the same `normalgen train` command with its own TF_CONFIG (the cluster's
addresses, and which of them this machine is). The data folders must be at the same paths on
each machine, and the run folder (`--out`) on storage they all see, as TensorFlow asks of
multi-worker checkpoints: worker 0, the chief, writes the logs and checkpoints there, and
`--resume` reads them back on every machine. Each step every replica trains on its own batch
(each worker draws its own patches), the gradients are summed across all machines, and every
machine applies the same update, so all hold the same weights.

Keras 3's `fit()` does not run under this strategy (keras-team/keras#20585, open: its trainer
is handed PerReplica values), so `fit` here runs the epochs with a loop of its own and calls the
callbacks `fit()` would (progress line, CSV and TensorBoard logs, checkpoints, time limit) on
the chief only. A stop the chief decides (`--minutes`) is shared with the other workers before
the next epoch, so none is left waiting for the others.

TensorFlow only: the strategy is TensorFlow's. The model itself is the same Keras model.
"""

from __future__ import annotations

import json
import os
from typing import Callable, Iterator, Sequence

import keras
import numpy as np
from keras import ops

Batch = tuple[np.ndarray, np.ndarray]


class ClusterError(ValueError):
    """TF_CONFIG that cannot describe a cluster (one sentence for the user)."""


def cluster_workers() -> list[str]:
    """The worker addresses TF_CONFIG names ([] when it is unset or names no workers)."""
    raw = os.environ.get("TF_CONFIG") or "{}"
    try:
        config = json.loads(raw)
        workers = config.get("cluster", {}).get("worker", [])
    except (ValueError, AttributeError):
        raise ClusterError(f"TF_CONFIG is not a JSON object with a cluster: {raw[:80]!r}") from None
    if not isinstance(workers, list):
        raise ClusterError("TF_CONFIG's cluster.worker must be a list of host:port addresses")
    if len(workers) > 1:
        task = config.get("task", {})
        index = task.get("index") if isinstance(task, dict) else None
        if not (isinstance(task, dict) and task.get("type") == "worker" and isinstance(index, int)
                and 0 <= index < len(workers)):
            raise ClusterError(f"TF_CONFIG's task must be {{\"type\": \"worker\", \"index\": 0..{len(workers) - 1}}} "
                               "naming this machine")
    return workers


def make_strategy():
    """The strategy for the cluster in TF_CONFIG. Must run before TensorFlow does anything else."""
    import tensorflow as tf

    return tf.distribute.MultiWorkerMirroredStrategy()


def is_chief(strategy) -> bool:
    """Worker 0 writes the run folder; the others only train."""
    resolver = strategy.cluster_resolver
    return resolver is None or resolver.task_id in (0, None)


def worker_index(strategy) -> int:
    resolver = strategy.cluster_resolver
    return int(resolver.task_id or 0) if resolver is not None else 0


def fit(model: keras.Model, strategy, *, loss_fn: Callable, metric_fn: Callable,
        train_batches: Callable[[int], Iterator[Batch]], steps: int, epochs: int, initial_epoch: int = 0,
        val_batches: Sequence[Batch] | None = None, callbacks: Sequence[keras.callbacks.Callback] = (),
        verbose: int = 2, jit_compile: bool = False) -> dict:
    """Train a compiled `model` (built in `strategy.scope()`) for epochs initial_epoch..epochs-1 of
    `steps` steps, as `model.fit` would; return the last epoch's logs.

    train_batches(worker) yields that worker's batches for one replica each, epoch after epoch;
    a worker with several devices takes one batch per device each step. val_batches are scored on
    every worker (the same numbers; the chief's are logged). The logs carry the names fit() gives
    them: loss, mean_angle_deg, val_loss, val_mean_angle_deg (the metric's name).
    """
    import tensorflow as tf

    chief = is_chief(strategy)
    replicas = strategy.num_replicas_in_sync
    optimizer = model.optimizer
    metric_name = getattr(metric_fn, "__name__", "metric")
    spec = tf.TensorSpec((None, None, None, 3), tf.float32)

    def dataset_fn(context):
        source = lambda: ((np.asarray(x, np.float32), np.asarray(y, np.float32))  # noqa: E731
                          for x, y in train_batches(context.input_pipeline_id))
        return tf.data.Dataset.from_generator(source, output_signature=(spec, spec)).prefetch(2)

    iterator = iter(strategy.distribute_datasets_from_function(dataset_fn))

    def forward_backward(x, y):
        with tf.GradientTape() as tape:
            pred = model(x, training=True)
            loss = ops.mean(loss_fn(y, pred))
            if model.losses:
                loss = loss + ops.sum(model.losses)
            # Gradients are summed over replicas: each contributes its share of the global mean.
            scaled = optimizer.scale_loss(loss / replicas)
        grads = tape.gradient(scaled, model.trainable_variables)
        return loss, ops.mean(metric_fn(y, pred)), grads

    forward_backward = tf.function(forward_backward, jit_compile=jit_compile)

    def replica_step(x, y):
        loss, metric, grads = forward_backward(x, y)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))  # all-reduces the gradients
        return loss, metric

    @tf.function
    def train_step():
        x, y = next(iterator)
        loss, metric = strategy.run(replica_step, args=(x, y))
        mean = tf.distribute.ReduceOp.MEAN
        return strategy.reduce(mean, loss, axis=None), strategy.reduce(mean, metric, axis=None)

    predict = tf.function(lambda x: model(x, training=False))

    @tf.function
    def stop_votes(flag):  # every worker's flag, summed over all of them
        return strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(lambda f: f, args=(flag,)), axis=None)

    listeners = keras.callbacks.CallbackList(
        list(callbacks) if chief else [], add_history=True, add_progbar=chief and verbose != 0, model=model,
        verbose=verbose, epochs=epochs, steps=steps)
    model.stop_training = False
    logs: dict = {}
    listeners.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        listeners.on_epoch_begin(epoch)
        total_loss = total_metric = 0.0
        for step in range(steps):
            listeners.on_train_batch_begin(step)
            loss, metric = train_step()
            total_loss, total_metric = total_loss + float(loss), total_metric + float(metric)
            logs = {"loss": total_loss / (step + 1), metric_name: total_metric / (step + 1)}
            listeners.on_train_batch_end(step, logs)
        if val_batches is not None:
            logs.update(_validate(predict, loss_fn, metric_fn, metric_name, val_batches))
        listeners.on_epoch_end(epoch, logs)
        # A stop one worker decides (the chief's time limit) is every worker's, or the others hang.
        if float(stop_votes(tf.constant(1.0 if model.stop_training else 0.0))) > 0:
            break
    listeners.on_train_end(logs)
    return logs


def _validate(predict, loss_fn, metric_fn, metric_name: str, batches: Sequence[Batch]) -> dict:
    """Mean loss and metric over every validation sample (batches weighted by their size)."""
    loss = metric = count = 0.0
    for i in range(len(batches)):
        x, y = batches[i]
        pred = predict(np.asarray(x, np.float32))
        n = len(x)
        loss += float(ops.mean(loss_fn(y, pred))) * n
        metric += float(ops.mean(metric_fn(y, pred))) * n
        count += n
    return {"val_loss": loss / count, f"val_{metric_name}": metric / count} if count else {}

