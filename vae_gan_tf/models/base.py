"""What every model of the library shares: replica-aware loss scaling, seeded per-replica noise, and the
workarounds that let Keras 3.15's ``fit`` run under MultiWorkerMirroredStrategy, and under both
Mirrored strategies with ``steps_per_execution > 1``."""

from __future__ import annotations

import keras
import tensorflow as tf

from vae_gan_tf import losses
# The exact test Keras's reduce_per_replica uses to pick its multi-worker branch (private: Keras is pinned).
from keras.src.backend.tensorflow.trainer import _collective_all_reduce_multi_worker, reduce_per_replica


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

    # ---- Keras 3.15 + MultiWorkerMirroredStrategy (keras-team/keras#20585, tensorflow/tensorflow#72388).
    # Checked on Keras 3.15.1 / TF 2.21 (pyproject pins keras>=3.15,<3.16); both overrides are of private
    # methods of keras/src/backend/tensorflow/trainer.py and are re-checked by tests/test_multi_worker.py.

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Skip Keras's symbolic build when there is nothing left to build.

        Under a strategy, ``fit``/``evaluate`` first pull one batch and, when it is a PerReplica value
        (several devices per worker), ``strategy.reduce("MEAN", batch, axis=None)`` it: an extra
        cross-worker collective outside the train step, the failure #20585 and KERAS3_FACTS.md report.
        The step only builds the model, the compiled loss and metrics and ``self.optimizer``; here they
        are built before ``fit`` (``registry.build_model``, ``compile_model``, inside the strategy scope),
        so it is skipped under every strategy. The conditions are those of ``Trainer._symbolic_build``
        (whose ``_post_build`` is a no-op on TensorFlow); anything unbuilt still goes through Keras.
        With one CPU device per worker, as in tests/test_multi_worker.py, the batch is a plain tensor
        and Keras's step passed too (measured), so that test cannot tell this override is needed.
        """
        unbuilt = (not all(layer.built for layer in self._flatten_layers())
                   or (self._compile_metrics is not None and not self._compile_metrics.built)
                   or (self._compile_loss is not None and not self._compile_loss.built)
                   or (self.optimizer is not None and not self.optimizer.built))
        if unbuilt:
            super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def _make_function(self, step_function):
        """Under multi-worker, give Keras each logged value with shape [1]; under the Mirrored strategies
        with ``steps_per_execution > 1``, run the steps with :meth:`_mirrored_multi_step`.

        Keras reduces a step's logs across workers with ``strategy.reduce("MEAN", value, axis=0)``,
        which fails on the scalars every ``train_step``/``test_step`` returns (#20585). Reduced along
        axis 0, shape-[1] values give the mean over all replicas as a scalar: what a single-worker
        strategy logs. Other strategies take the unchanged path.
        """
        mirrored = isinstance(self.distribute_strategy, (tf.distribute.MirroredStrategy,
                                                         tf.distribute.MultiWorkerMirroredStrategy))
        if mirrored and self.steps_per_execution > 1 and not self.run_eagerly:
            return self._mirrored_multi_step(step_function)
        if _collective_all_reduce_multi_worker(self.distribute_strategy):
            step_function = _logs_of_shape_one(step_function)
        return super()._make_function(step_function)

    def _mirrored_multi_step(self, step_function):
        """``steps_per_execution`` steps in one ``tf.function`` under MirroredStrategy or
        MultiWorkerMirroredStrategy.

        Keras 3.15's loop (``Trainer._make_function``: ``tf.cond`` over optional iterator values inside a
        ``tf.while_loop``) fails under both with more than one replica, for any model: "You must feed a
        value for placeholder tensor ... while/cond/Placeholder" (reproduced with a one-Dense
        ``Sequential`` under MirroredStrategy, and with two workers on loopback; checked on Keras 3.15.1 /
        TF 2.21; tests/test_distribute.py and tests/test_multi_worker.py are the guards): the step's
        all-reduce runs inside a ``tf.cond`` inside the loop. Here the test "is there a batch" is the loop's
        condition and the step is the loop's body, so no collective sits in a ``tf.cond``; like Keras's, the
        loop stops early at the end of a finite dataset (the distributed iterator agrees on the end across
        workers). The logs are the trackers' results after the last step, which is what each step returns
        (:meth:`tracker_results`), reduced across replicas as Keras reduces a step's logs.
        """
        strategy = self.distribute_strategy
        one_step = tf.function(lambda data: strategy.run(step_function, args=(data,)),
                               jit_compile=self.jit_compile, reduce_retracing=True)
        logs = self.tracker_results
        if _collective_all_reduce_multi_worker(strategy):
            logs = _logs_of_shape_one(logs)

        @tf.function(reduce_retracing=True)
        def run_steps(iterator):
            steps = tf.constant(0)
            optional = iterator.get_next_as_optional()
            while tf.logical_and(steps < self.steps_per_execution, optional.has_value()):
                one_step(optional.get_value())
                steps += 1
                optional = tf.cond(steps < self.steps_per_execution, iterator.get_next_as_optional,
                                   lambda: optional)  # no batch is taken that this execution won't train on
            return steps, reduce_per_replica(strategy.run(logs), strategy, reduction="auto")

        def function(iterator):
            steps, values = run_steps(iterator)
            if steps == 0:
                raise StopIteration
            return values

        return function

    def tracker_results(self) -> dict:
        """The logs of every ``train_step``/``test_step`` of the library: each tracker's running mean."""
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def _logs_of_shape_one(function):
    """``function`` with each logged value reshaped to [1]: the multi-worker logs of ``_make_function``."""

    def reshaped(*args):
        return {name: tf.reshape(value, [1]) for name, value in function(*args).items()}

    return reshaped


class SingleObjectiveModel(GenerativeModel):
    """A model trained by one optimizer on one loss: ``compute_terms(*batch_inputs(data), training)``
    returns the batch-mean terms keyed by ``metric_names``, and its ``loss`` is minimised. The autoencoder
    family and the sequence VAE share this ``train_step``; subclasses create ``self.trackers`` with
    :meth:`make_trackers`."""

    metric_names = ("loss",)

    def make_trackers(self):
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.metric_names}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def batch_inputs(self, data):
        """The arguments of ``compute_terms`` in a batch: (x,) by default."""
        return (data[0],) if isinstance(data, (tuple, list)) else (data,)

    def sample_posterior(self, mean, log_var):
        """z = μ + σ·ε with ε from the model's seeded noise (reparameterization, Kingma & Welling 2014)."""
        return losses.reparameterize(mean, log_var, self.standard_normal(tf.shape(mean), mean.dtype))

    def train_step(self, data):
        with tf.GradientTape() as tape:
            terms = self.compute_terms(*self.batch_inputs(data), training=True)
            scaled = self.optimizer.scale_loss(scale_for_replicas(terms["loss"]))  # loss scaling: float16
        gradients = tape.gradient(scaled, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return self._update_trackers(terms)

    def test_step(self, data):
        return self._update_trackers(self.compute_terms(*self.batch_inputs(data), training=False))

    def _update_trackers(self, terms):
        for name, value in terms.items():
            self.trackers[name].update_state(value)
        return self.tracker_results()
