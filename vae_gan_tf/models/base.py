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


class GenerativeModel(keras.Model):
    """A ``keras.Model`` with a seeded noise stream that is saved with the weights.

    Noise is ``tf.random.stateless_normal`` with the seed (``seed``, calls so far), the replica id
    folded in: Keras's ``SeedGenerator`` gives every replica the same draws (KERAS3_FACTS.md), and a
    counter variable makes an interrupted and resumed run draw the noise an uninterrupted one would.
    """

    def __init__(self, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.seed = int(seed)
        self.noise_calls = self.add_weight(
            name="noise_calls", shape=(), dtype="int64", initializer="zeros", trainable=False,
            aggregation="only_first_replica")

    def next_seed(self) -> tf.Tensor:
        """A fresh stateless seed (shape (2,)): (seed, calls so far), with the replica id folded in."""
        count = self.noise_calls.assign_add(1)
        seed = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(count, tf.int64)])
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            seed = tf.random.experimental.stateless_fold_in(seed, context.replica_id_in_sync_group)
        return seed

    def standard_normal(self, shape, dtype=tf.float32) -> tf.Tensor:
        """ε ~ N(0, I) of ``shape``; a new draw at every call, different on every replica."""
        return tf.random.stateless_normal(shape, seed=self.next_seed(), dtype=dtype)

    def uniform(self, shape, dtype=tf.float32) -> tf.Tensor:
        """u ~ U[0, 1) of ``shape`` from the same stream."""
        return tf.random.stateless_uniform(shape, seed=self.next_seed(), dtype=dtype)

    def build(self, input_shape):
        """The networks are functional models built at construction; this records the input shape."""
        self.built = True

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
