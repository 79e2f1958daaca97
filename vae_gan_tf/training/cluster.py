"""Checks for the multi-worker and TPU settings that need no TensorFlow, so bad input fails at once.

``TF_CONFIG`` is the JSON that ``tf.distribute.MultiWorkerMirroredStrategy`` reads (through
``TFConfigClusterResolver``) to find its cluster, e.g. for two workers on one machine::

    {"cluster": {"worker": ["127.0.0.1:12345", "127.0.0.1:12346"]}, "task": {"type": "worker", "index": 0}}

TensorFlow starts a gRPC server from it as soon as the strategy is created and, on a malformed value,
fails with a traceback (or waits for peers that can never answer), so it is validated here first.
The chief is the task of type ``chief``, or worker 0 when the cluster has no chief: the convention of
``tf.distribute`` (https://www.tensorflow.org/guide/distributed_training, "Setting up the TF_CONFIG
environment variable").
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlparse

from vae_gan_tf.errors import UserError

TF_CONFIG_EXAMPLE = ('{"cluster": {"worker": ["127.0.0.1:12345", "127.0.0.1:12346"]}, '
                     '"task": {"type": "worker", "index": 0}}')
TASK_TYPES = ("chief", "worker")  # the roles that train; evaluator and ps tasks are not supported
TPU_CONNECT_SECONDS = 10.0


@dataclass(frozen=True)
class Task:
    """This process's place in the cluster."""

    type: str
    index: int
    workers: int  # training tasks in the cluster: chief plus workers
    is_chief: bool  # the one task that writes the run folder's outputs


def read_tf_config(environ) -> Task:
    """The validated task of ``environ["TF_CONFIG"]``; a UserError naming what is wrong and the fix."""
    text = environ.get("TF_CONFIG")
    fix = f"set it like TF_CONFIG='{TF_CONFIG_EXAMPLE}'"
    if not text or not text.strip():
        raise UserError(f"train.strategy=multi_worker needs the TF_CONFIG environment variable; {fix}")
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as err:
        raise UserError(f"TF_CONFIG is not valid JSON ({err.msg} at character {err.pos}); {fix}") from None
    if not isinstance(spec, dict):
        raise UserError(f"TF_CONFIG must be a JSON object with 'cluster' and 'task'; {fix}")
    cluster = spec.get("cluster")
    if not isinstance(cluster, dict) or not any(isinstance(cluster.get(t), list) and cluster.get(t)
                                                for t in TASK_TYPES):
        raise UserError(f"TF_CONFIG lacks cluster.worker (or cluster.chief), a list of host:port "
                        f"addresses; {fix}")
    for kind in TASK_TYPES:
        addresses = cluster.get(kind, [])
        if not isinstance(addresses, list) or not all(isinstance(a, str) and ":" in a for a in addresses):
            raise UserError(f"TF_CONFIG cluster.{kind} must be a list of 'host:port' strings, "
                            f"got {addresses!r}")
    if len(cluster.get("chief", [])) > 1:
        raise UserError(f"TF_CONFIG cluster.chief lists {len(cluster['chief'])} addresses; "
                        "a cluster has one chief")
    task = spec.get("task")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise UserError(f"TF_CONFIG lacks task.type and task.index (this process's role and number); {fix}")
    kind, index = task["type"], task["index"]
    if kind not in TASK_TYPES:
        raise UserError(f"TF_CONFIG task.type must be 'worker' or 'chief' for training, got {kind!r}")
    size = len(cluster.get(kind, []))
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < size:
        raise UserError(f"TF_CONFIG task.index={index!r} is out of range: cluster.{kind} has {size} "
                        f"address{'es' if size != 1 else ''}, so it must be 0..{size - 1}")
    has_chief = bool(cluster.get("chief"))
    return Task(kind, index, len(cluster.get("chief", [])) + len(cluster.get("worker", [])),
                is_chief=kind == "chief" or (index == 0 and not has_chief))


def check_tpu_address(address: Optional[str]) -> None:
    """For a ``grpc://host:port`` address, a UserError unless something listens there: TensorFlow's
    ``experimental_connect_to_cluster`` waits without end for a gRPC peer that is not there (measured).
    TPU names and the default resolver fail fast inside TensorFlow and are handled by ``training/strategy.py``."""
    if not address or not address.startswith("grpc://"):
        return
    url = urlparse(address)
    try:
        host, port = url.hostname, url.port
    except ValueError:
        host = port = None
    if not host or not port:
        raise UserError(f"train.tpu_address {address!r} is not of the form grpc://HOST:PORT "
                        "(e.g. grpc://10.0.0.2:8470)")
    try:
        socket.create_connection((host, port), timeout=TPU_CONNECT_SECONDS).close()
    except OSError as err:
        raise UserError(f"no TPU reachable at train.tpu_address {address!r} ({err.strerror or err}); check "
                        "that the TPU worker is running and the address is right, or set "
                        "train.tpu_address to a TPU name (null: the local/Colab TPU)") from None
