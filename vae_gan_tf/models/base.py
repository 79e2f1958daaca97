"""What every model of the library shares: its family config (each field declared once, in the family's
config dataclass), its optimizers (one or several, saved and restored: KERAS3_FACTS.md), replica-aware loss
scaling, seeded per-replica noise, the SavedModel endpoint specs, and the workarounds that let Keras 3.15's
``fit`` run under MultiWorkerMirroredStrategy, and under both Mirrored strategies with
``steps_per_execution > 1``."""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

# The exact test Keras's reduce_per_replica uses to pick its multi-worker branch (private: Keras is pinned).
from keras.src.backend.tensorflow.trainer import _collective_all_reduce_multi_worker, reduce_per_replica

from vae_gan_tf.models import losses
from vae_gan_tf.models.optimizers import with_loss_scaling


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
    """A ``keras.Model`` built from its family config, with its optimizers and a seeded noise stream.

    **Config.** ``model_config`` is the family's dataclass (``config_class``); every field is read from it
    (``self.model_config.latent_dim``), ``get_config`` writes its fields, and ``from_config`` builds it
    again, so a ``.keras`` file reloads with the same fields (and files written before the move, whose
    config holds the same keys, load as well).

    **Optimizers.** ``optimizer_names`` names the model's optimizers (``optimizer``, Keras's own, for one
    objective; ``d_optimizer`` and ``g_optimizer`` for a GAN; ...), ``optimizer_variables(name)`` the
    variables each updates and ``make_optimizers`` makes them from the config. ``compile`` builds every one
    at once and ``get_compile_config``/``compile_from_config`` re-create them, so a ``.keras`` reload and
    ``BackupAndRestore`` keep every optimizer's iterations and moments (KERAS3_FACTS.md, two optimizers);
    each optimizer but Keras's own is wrapped for ``mixed_float16`` loss scaling here.

    **Noise** is ``tf.random.stateless_*`` with the seed (``seed``, draws so far); the counter is a
    variable, so an interrupted and resumed run draws what an uninterrupted one would. Under a
    distribution strategy each replica draws the noise of the *global* batch and keeps its own slice:
    Keras's ``SeedGenerator`` would give every replica the same draws (KERAS3_FACTS.md), and this way
    the numbers are the same for any replica count (1 device or N replicas train identically).
    """

    config_class: type = None  # the family's config dataclass (models/*/configs.py)
    optimizer_names: tuple[str, ...] = ("optimizer",)
    code_names: tuple[str, ...] = ("z",)  # the SavedModel encode outputs
    state_keys: tuple[str, ...] = ()  # get_config keys of the model's state, not of its family config

    def __init__(self, model_config, image_shape, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.model_config = model_config
        self.image_shape = tuple(int(s) for s in image_shape)
        self.seed = int(seed)
        self.noise_calls = self.add_weight(
            name="noise_calls", shape=(), dtype="int64", initializer="zeros", trainable=False,
            aggregation="only_first_replica")
        for name in self.optimizer_names:
            if name != "optimizer":
                setattr(self, name, None)

    @property
    def latent_dim(self) -> int:
        return self.model_config.latent_dim

    @property
    def num_classes(self):
        """The number of classes of a conditional family, None otherwise."""
        return getattr(self.model_config, "num_classes", None)

    def get_config(self):
        fields = {k: v for k, v in dataclasses.asdict(self.model_config).items() if k != "name"}
        return {**super().get_config(), "seed": self.seed, "image_shape": list(self.image_shape), **fields}

    @classmethod
    def from_config(cls, config):
        """The model of a ``get_config`` dict: its family fields become the config dataclass; Keras's
        name/trainable/dtype, the seed and the model's ``state_keys`` are keyword arguments. Any other key
        is one a file of the flat layout wrote that the family never used (VAE/GAN's ``gaussian_std``)."""
        fields = {f.name for f in dataclasses.fields(cls.config_class)} - {"name"}
        model_config = cls.config_class(**{k: v for k, v in config.items() if k in fields})
        kwargs = {k: v for k, v in config.items() if k in ("name", "trainable", "dtype", "seed", *cls.state_keys)}
        return cls(model_config, config["image_shape"], **kwargs)

    # ---- optimizers

    def make_optimizers(self, learning_rate: float) -> dict:
        """{name: optimizer} for ``optimizer_names``, from the family config (``learning_rate`` is
        ``train.learning_rate``, the rate of the families that have no rate of their own)."""
        from vae_gan_tf.models.optimizers import make_optimizer

        return {"optimizer": make_optimizer("adam", learning_rate)}

    def optimizer_variables(self, name: str) -> list:
        """The variables the optimizer ``name`` updates."""
        return self.trainable_variables

    def compile(self, *optimizers, **kwargs):
        """Compile with one optimizer per name of ``optimizer_names`` (by keyword, or positionally in that
        order; missing ones from :meth:`make_optimizers` at ``train.learning_rate``'s default) and build
        each on its variables now, so that its state is saved and restored (class docstring)."""
        given = dict(zip(self.optimizer_names, optimizers))
        given.update({name: kwargs.pop(name) for name in self.optimizer_names if name in kwargs})
        if any(given.get(name) is None for name in self.optimizer_names):
            from vae_gan_tf.config import TrainConfig

            given = {**self.make_optimizers(TrainConfig.learning_rate),
                     **{k: v for k, v in given.items() if v is not None}}
        super().compile(optimizer=given.get("optimizer"), **kwargs)
        for name in self.optimizer_names:
            if name != "optimizer":  # Keras's compile wraps its own optimizer for loss scaling
                setattr(self, name, with_loss_scaling(given[name]))
            getattr(self, name).build(self.optimizer_variables(name))

    def get_compile_config(self):
        if getattr(self, self.optimizer_names[-1], None) is None:  # never compiled: nothing to re-create
            return None
        return {name: keras.optimizers.serialize(getattr(self, name)) for name in self.optimizer_names}

    def compile_from_config(self, config):
        self.compile(**{name: keras.optimizers.deserialize(config[name]) for name in self.optimizer_names})

    # ---- SavedModel endpoints (runs/export.py writes them)

    def x_spec(self, name: str = "x") -> tf.TensorSpec:
        return tf.TensorSpec((None, *self.image_shape), tf.float32, name=name)

    def z_spec(self, name: str = "z") -> tf.TensorSpec:
        return tf.TensorSpec((None, self.latent_dim), tf.float32, name=name)

    def endpoints(self) -> dict:
        """{name: (function, input specs)}: the SavedModel endpoints of the family."""
        return {}

    def prior_endpoints(self) -> dict:
        """sample(z) -> x and generate(n) -> x with z ~ N(0, I) drawn inside, for models with a prior."""

        def sample(z):
            return self.generate(z)

        def generate(n):
            return self.generate(tf.random.normal(tf.stack([n, self.latent_dim])))

        return {"sample": (sample, [self.z_spec()]),
                "generate": (generate, [tf.TensorSpec((), tf.int32, name="n")])}

    def output_names(self, endpoint: str) -> tuple:
        """The serving signature's output names of ``endpoint``, in the order of its Python results: the
        code's for ``encode``, ``logits`` for ``discriminate``, else ``images`` (``x`` for vectors and
        sequences); ``complete`` and ``project`` return dicts."""
        names = {"encode": self.code_names, "discriminate": ("logits",)}
        return names.get(endpoint, ("images",) if len(self.image_shape) == 3 else ("x",))

    def export_info(self) -> dict:
        """What ``assets/vae_gan_tf.json`` records beyond the family, shapes and pixel range."""
        return {}

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
    # methods of keras/src/backend/tensorflow/trainer.py and are re-checked by tests/training/test_multi_worker.py.

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Skip Keras's symbolic build when there is nothing left to build.

        Under a strategy, ``fit``/``evaluate`` first pull one batch and, when it is a PerReplica value
        (several devices per worker), ``strategy.reduce("MEAN", batch, axis=None)`` it: an extra
        cross-worker collective outside the train step, the failure #20585 and KERAS3_FACTS.md report.
        The step only builds the model, the compiled loss and metrics and ``self.optimizer``; here they
        are built before ``fit`` (``catalog.build_model``, ``compile_model``, inside the strategy scope),
        so it is skipped under every strategy. The conditions are those of ``Trainer._symbolic_build``
        (whose ``_post_build`` is a no-op on TensorFlow); anything unbuilt still goes through Keras.
        With one CPU device per worker, as in tests/training/test_multi_worker.py, the batch is a plain tensor
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
        TF 2.21; tests/training/test_strategy.py and tests/training/test_multi_worker.py are the guards): the step's
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
