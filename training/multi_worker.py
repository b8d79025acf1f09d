"""Training on several machines: the epochs `model.fit` would run, under TensorFlow's
MultiWorkerMirroredStrategy (the cluster comes from TF_CONFIG: `cluster.py`).

Keras 3's `fit()` does not run under this strategy (keras-team/keras#20585, open: its trainer
is handed PerReplica values), so `fit` here is a loop of its own that calls the callbacks
`fit()` would (progress line, CSV and TensorBoard logs, checkpoints, time limit), on the chief
only. Each step every replica trains on its own batch (each machine draws its own patches),
the gradients are summed across all machines, and every machine applies the same update, so
all hold the same trainable weights. (Batch-norm moving statistics stay each machine's own, as
under `fit()` with MirroredStrategy; the chief's are saved.) A stop the chief decides
(`--minutes`) is shared with the other machines before the next epoch, so none is left waiting.

The data folders must be at the same paths on every machine and the run folder (`--out`) on
storage they all see: the chief writes it, and `--resume` reads it on every machine. Machines
are assumed to have the same number of devices. TensorFlow only: the strategy is TensorFlow's.
"""

from __future__ import annotations

from typing import Callable, Iterator, Sequence

import keras
import numpy as np
from keras import ops

from .cluster import is_chief

Batch = tuple[np.ndarray, np.ndarray]


def fit(model: keras.Model, strategy, *, loss_fn: Callable, metric_fn: Callable,
        train_batches: Callable[[int], Iterator[Batch]], steps: int, epochs: int, initial_epoch: int = 0,
        val_batches: Sequence[Batch] | None = None, callbacks: Sequence[keras.callbacks.Callback] = (),
        verbose: int = 2, jit_compile: bool = False) -> dict:
    """Train a compiled `model` (built in `strategy.scope()`) for epochs initial_epoch..epochs-1 of
    `steps` steps, as `model.fit` would; return the last epoch's logs.

    train_batches(k) yields the k-th machine's batches for one replica each, epoch after epoch;
    a machine with several devices takes one batch per device each step. val_batches are scored
    on the chief. The logs carry the names fit() gives them: loss, mean_angle_deg, val_loss,
    val_mean_angle_deg (the metric's name). Not for mixed_float16: its loss scale would skip a
    step on one machine (non-finite gradients there) while the others wait for it.
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

    predict = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

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
        if val_batches is not None and chief:
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
