"""The ``tf.distribute`` strategy a config names, and the checks that go with it.

| ``train.strategy`` | strategy |
|---|---|
| ``auto``          | MirroredStrategy over the GPUs when more than one is visible, else the default strategy |
| ``default``       | ``tf.distribute.get_strategy()``: one device, no replication |
| ``one_device``    | OneDeviceStrategy on the first GPU, or the CPU |
| ``mirrored``      | MirroredStrategy over all GPUs, or over the logical CPUs (``train.logical_cpus``) |
| ``multi_worker``  | MultiWorkerMirroredStrategy over the cluster of the ``TF_CONFIG`` environment variable |
| ``tpu``           | TPUStrategy on the TPU at ``train.tpu_address`` (null: the local/Colab TPU) |

Under ``multi_worker`` every worker runs the same command with its own ``TF_CONFIG`` task; the batch
size is the global batch over all workers, and each worker keeps its slice of every batch (auto-shard
policy DATA, ``data/pipeline.py``). Keras 3.15's ``fit`` needs a workaround there
(``models/base.py``, keras-team/keras#20585) and only the chief writes the run's outputs
(``training/fit.py``). ``TF_CONFIG`` and a ``grpc://`` TPU address are checked before TensorFlow uses
them (``training/cluster.py``).

Where the cross-replica reduction happens: Keras's optimizer all-reduces (sums) the gradients inside
``apply_gradients``; each ``train_step`` divides its per-replica mean loss by the replica count
(``models/base.py::scale_for_replicas``), so the sum is the gradient of the global-batch mean.
Metrics (``keras.metrics.Mean``) are reduced by Keras when ``fit`` reads them.
"""

from __future__ import annotations

import os

import tensorflow as tf

from vae_gan_tf.errors import UserError, first_line
from vae_gan_tf.training.cluster import check_tpu_address, read_tf_config


def configure_logical_cpus(count: int) -> None:
    """Split the first physical CPU into ``count`` logical devices (before TensorFlow initialises)."""
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:  # the runtime is initialised: fine if it already has that many
        have = len(tf.config.list_logical_devices("CPU"))
        if have != count:
            raise UserError(f"train.logical_cpus={count} cannot be applied: TensorFlow already runs with {have} "
                            "logical CPUs in this process; set it in a fresh process") from None


def enable_determinism(train_config) -> None:
    """For ``train.deterministic``: make two runs of one config give identical weights. Call before any
    TensorFlow op runs (first thing in ``training.train_run``).

    It seeds Python, NumPy and TF (``keras.utils.set_random_seed(train.seed)``), turns on
    ``tf.config.experimental.enable_op_determinism()`` and sets one inter-op thread. Measured on this
    project's 2-core CPU machine: with op determinism alone, a one-device WGAN-GP ``fit`` gave different
    weights in about 1 process of 4 (an ordering race between graph ops); with one inter-op thread 6 of 6
    were identical. XLA on the CPU (``jit_compile``) was not run-to-run deterministic even with op
    determinism, so :func:`use_jit` turns it off in this mode, with a warning. The thread count can only be
    set before TensorFlow initialises: a process that already ran TF with another count gets a UserError.
    """
    import keras

    if tf.config.threading.get_inter_op_parallelism_threads() != 1:
        try:
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            raise UserError("train.deterministic=true needs one inter-op thread, which cannot be set once "
                            "TensorFlow runs in this process; train in a fresh process") from None
    keras.utils.set_random_seed(train_config.seed)
    tf.config.experimental.enable_op_determinism()


def make_strategy(train_config) -> tf.distribute.Strategy:
    """The strategy of ``train.strategy`` (see the module table). Call before any other TensorFlow work."""
    name = train_config.strategy
    if train_config.logical_cpus:
        configure_logical_cpus(train_config.logical_cpus)
    gpus = tf.config.list_physical_devices("GPU")
    if name == "auto":
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    if name == "multi_worker":
        read_tf_config(os.environ)  # a UserError before TensorFlow starts the gRPC server
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        return tpu_strategy(train_config.tpu_address)
    devices = [d.name for d in tf.config.list_logical_devices("GPU" if gpus else "CPU")]  # mirrored
    return tf.distribute.MirroredStrategy(devices)


def tpu_strategy(address) -> tf.distribute.Strategy:
    """TPUStrategy on the TPU at ``address`` (a ``grpc://`` address or a TPU name; None: the resolver's
    default, the Colab / TPU-VM TPU), the steps of https://www.tensorflow.org/guide/tpu. Any failure to
    resolve, connect or initialise means that no TPU answered: a UserError naming the address."""
    check_tpu_address(address)
    tried = (f"train.tpu_address {address!r}" if address
             else "the default TPU resolver (train.tpu_address: null)")
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except Exception as err:  # ValueError (no name), URLError (name lookup), tf.errors.* (connection)
        raise UserError(f"no TPU reachable with {tried} ({first_line(err, 100)}); run on a TPU VM or "
                        "Colab TPU runtime, or set train.tpu_address to grpc://HOST:PORT or the TPU's name"
                        ) from None
    return tf.distribute.TPUStrategy(resolver)


def is_chief(train_config) -> bool:
    """Whether this process writes the run folder's outputs: always, except a multi-worker task that is
    not the chief (``cluster.read_tf_config``)."""
    return train_config.strategy != "multi_worker" or read_tf_config(os.environ).is_chief


def precision_policy(train_config) -> tuple[str, list[str]]:
    """The Keras dtype policy to train with, and warnings. ``mixed_float16`` is only faster on GPUs
    (and needs loss scaling); without a GPU it falls back to float32 with a warning.
    ``mixed_bfloat16`` needs no loss scaling and runs on CPUs."""
    policy = train_config.mixed_precision or "float32"
    if policy == "mixed_float16" and not tf.config.list_physical_devices("GPU"):
        return "float32", ["train.mixed_precision=mixed_float16 needs a GPU; training in float32 "
                           "(use mixed_bfloat16 on CPUs)"]
    return policy, []


def use_jit(train_config, strategy: tf.distribute.Strategy) -> tuple[bool, list[str]]:
    """``train.jit_compile``, except under a multi-replica strategy, where Keras's XLA path failed
    (KERAS3_FACTS.md), and in deterministic mode, where XLA on the CPU was not run-to-run deterministic
    (:func:`enable_determinism`): then False, with a warning."""
    if train_config.jit_compile and train_config.deterministic:
        return False, ["train.jit_compile=true is not used with train.deterministic=true (XLA is not "
                       "deterministic on the CPU); training without XLA"]
    if train_config.jit_compile and strategy.num_replicas_in_sync > 1:
        return False, ["train.jit_compile=true is not used under a multi-replica strategy; training without XLA"]
    return train_config.jit_compile, []


def check_batch(config, strategy: tf.distribute.Strategy) -> None:
    """The global batch must split evenly over the replicas, and each replica's batch into PacGAN packs."""
    replicas = strategy.num_replicas_in_sync
    if config.train.batch_size % replicas:
        raise UserError(f"train.batch_size={config.train.batch_size} does not split over {replicas} replicas; "
                        f"use a multiple of {replicas}")
    pack = getattr(config.model, "pack", 1)
    if (config.train.batch_size // replicas) % pack:
        raise UserError(f"model.pack={pack} does not divide the per-replica batch of {config.train.batch_size // replicas} "
                        f"({replicas} replicas); use a train.batch_size that is a multiple of {pack * replicas}")
