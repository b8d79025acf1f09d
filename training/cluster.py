"""Which machines train together: TF_CONFIG, the strategy it calls for, and a lost machine's error.

Every machine of a cluster runs the same `normalgen train` command with its own TF_CONFIG: the
cluster's addresses (a `chief` task and `worker` tasks, or `worker` tasks only, the first of
which is then the chief) and which of them this machine is. The chief writes the run folder.
"""

from __future__ import annotations

import contextlib
import json
import os

JOBS = ("chief", "worker")  # the tasks that train; "ps" and "evaluator" belong to other strategies


class ClusterError(ValueError):
    """A cluster that cannot train: a TF_CONFIG that makes no sense, or a machine gone (one sentence)."""


def cluster_tasks() -> list[str]:
    """The addresses of the machines TF_CONFIG says train together, the chief first ([] when it
    is unset). Raises ClusterError for a TF_CONFIG this machine cannot take its place in."""
    raw = os.environ.get("TF_CONFIG") or "{}"
    try:
        config = json.loads(raw)
        cluster = config.get("cluster", {})
        task = config.get("task", {})
    except (ValueError, AttributeError):
        raise ClusterError(f"TF_CONFIG is not a JSON object with a cluster: {raw[:80]!r}") from None
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise ClusterError("TF_CONFIG's cluster and task must be JSON objects")
    other = sorted(set(cluster) - set(JOBS))
    if other:
        raise ClusterError(f"TF_CONFIG names {other[0]!r} tasks; training on several machines uses only "
                           "'chief' and 'worker' tasks")
    for job in JOBS:
        if not isinstance(cluster.get(job, []), list):
            raise ClusterError(f"TF_CONFIG's cluster.{job} must be a list of host:port addresses")
    if len(cluster.get("chief", [])) > 1:
        raise ClusterError("TF_CONFIG may name one chief at most")
    addresses = cluster.get("chief", []) + cluster.get("worker", [])
    if len(addresses) > 1:
        kind, index = task.get("type"), task.get("index")
        tasks = cluster.get(kind, []) if kind in JOBS else []
        if type(index) is not int or not 0 <= index < len(tasks):
            jobs = " or ".join(f"{{\"type\": \"{j}\", \"index\": 0..{len(cluster[j]) - 1}}}" for j in JOBS if cluster.get(j))
            raise ClusterError(f"TF_CONFIG's task must name this machine: {jobs}")
    return addresses


def make_strategy():
    """The MultiWorkerMirroredStrategy for TF_CONFIG's cluster. It waits until every machine has
    started, and must be made before TensorFlow runs anything else in this process."""
    import tensorflow as tf

    return tf.distribute.MultiWorkerMirroredStrategy()


def is_chief(strategy) -> bool:
    """Whether this machine writes the run folder (logs, checkpoints)."""
    return bool(strategy.extended.should_checkpoint)


@contextlib.contextmanager
def lost_machines_reported():
    """Turn TensorFlow's error for a machine of the cluster that stopped or cannot be reached
    (its collective operations fail here) into one ClusterError sentence."""
    import tensorflow as tf

    lost = (tf.errors.UnavailableError, tf.errors.CancelledError, tf.errors.DeadlineExceededError,
            tf.errors.AbortedError)
    try:
        yield
    except lost as exc:
        lines = (exc.message or "").strip().splitlines() or [type(exc).__name__]
        raise ClusterError(f"another machine of the cluster stopped or cannot be reached (see its log): "
                           f"{lines[0][:160]}") from None
