"""What every model of the library shares: replica-aware loss scaling and seeded, per-replica noise."""

from __future__ import annotations

import keras
import tensorflow as tf


def scale_for_replicas(loss: tf.Tensor) -> tf.Tensor:
    """The per-replica mean loss divided by the number of replicas in sync.

    Keras's optimizer *sums* gradients across replicas (the all-reduce happens inside
    ``optimizer.apply_gradients`` under a distribution strategy), so each replica must differentiate
    its mean loss / num_replicas for the sum to equal the gradient of the global-batch mean
    (KERAS3_FACTS.md, tf.distribute). With one replica this is the identity.
    """
    return loss / tf.cast(tf.distribute.get_strategy().num_replicas_in_sync, loss.dtype)


def in_cross_replica_context(update) -> None:
    """Run ``update()`` (which assigns mirrored variables from mirrored values, e.g. an EMA or weight
    clipping) once in cross-replica context: a plain ``assign`` from replica context is refused for
    variables without an aggregation. Without a strategy it simply calls ``update()``."""
    context = tf.distribute.get_replica_context()
    if context is None or not tf.distribute.has_strategy():
        update()
    else:
        context.merge_call(lambda strategy: update())


class GenerativeModel(keras.Model):
    """A ``keras.Model`` with a seeded noise stream that is saved with the weights.

    Noise is ``tf.random.stateless_*`` with the seed (``seed``, draws so far); the counter is a
    variable, so an interrupted and resumed run draws what an uninterrupted one would. Under a
    distribution strategy each replica draws the noise of the *global* batch and keeps its own slice:
    Keras's ``SeedGenerator`` would give every replica the same draws (KERAS3_FACTS.md), and this way
    the numbers are the same for any replica count (1 device or N replicas train identically).
    """

    def __init__(self, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.seed = int(seed)
        self.noise_calls = self.add_weight(
            name="noise_calls", shape=(), dtype="int64", initializer="zeros", trainable=False,
            aggregation="only_first_replica")

    def _draw(self, sampler, shape, dtype):
        count = self.noise_calls.assign_add(1)
        seed = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(count, tf.int64)])
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context is not None else 1
        if replicas == 1:
            return sampler(shape, seed=seed, dtype=dtype)
        shape = tf.convert_to_tensor(shape, tf.int32)
        local = shape[0]
        draws = sampler(tf.concat([[local * replicas], shape[1:]], 0), seed=seed, dtype=dtype)
        start = tf.cast(context.replica_id_in_sync_group, tf.int32) * local
        return draws[start:start + local]

    def standard_normal(self, shape, dtype=tf.float32) -> tf.Tensor:
        """ε ~ N(0, I) of ``shape`` (axis 0: this replica's batch); a new draw at every call."""
        return self._draw(tf.random.stateless_normal, shape, dtype)

    def uniform(self, shape, dtype=tf.float32) -> tf.Tensor:
        """u ~ U[0, 1) of ``shape`` (axis 0: this replica's batch) from the same stream."""
        return self._draw(tf.random.stateless_uniform, shape, dtype)

    def build(self, input_shape):
        """The networks are functional models built at construction; this records the input shape."""
        self.built = True

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
