"""GAN (Goodfellow et al. 2014) with two optimizers, alternating updates, and the documents' bugs fixed.

The documents' GAN programs create layers inside ``call``, train both players with one optimizer
(or not at all), never alternate the updates, and take ``log(1 − D)`` of probabilities. Here
``train_step`` follows doc 003 §3.1 step by step: draw noise, update D on real and fake batches,
then update G through the frozen D (only G's variables receive gradients), each with its own
optimizer, every loss from logits (``vae_gan_tf.losses``).

Two optimizers and Keras 3 (KERAS3_FACTS.md): ``compile(d_optimizer=..., g_optimizer=...)`` calls
``super().compile(optimizer=None)``, builds both optimizers on their variables at once, and
``get_compile_config``/``compile_from_config`` re-create them, so a ``.keras`` reload and
``BackupAndRestore`` keep both optimizers' iterations and moments.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from vae_gan_tf import losses
from vae_gan_tf.models.base import GenerativeModel, in_cross_replica_context, scale_for_replicas
from vae_gan_tf.nets import generator_discriminator
from vae_gan_tf.nets.packing import pack_samples
from vae_gan_tf.nets.spectral_norm import spectral_layers
from vae_gan_tf.optimizers import FusedAdam

GAN_LOSSES = {
    # name: (discriminator loss(real, fake, smoothing), generator loss(fake))
    "minimax": (losses.minimax_discriminator_loss, losses.minimax_generator_loss),
    "nonsaturating": (losses.minimax_discriminator_loss, losses.nonsaturating_generator_loss),
    "least_squares": (lambda r, f, s: losses.least_squares_discriminator_loss(r, f),
                      losses.least_squares_generator_loss),
    "hinge": (lambda r, f, s: losses.hinge_discriminator_loss(r, f), losses.hinge_generator_loss),
}


def with_loss_scaling(optimizer):
    """Under the ``mixed_float16`` policy, ``optimizer`` wrapped in a LossScaleOptimizer (once): ``compile``
    wraps only ``model.optimizer``, and an unscaled float16 update underflows (KERAS3_FACTS.md)."""
    if (keras.mixed_precision.global_policy().name == "mixed_float16"
            and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer)):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


@keras.saving.register_keras_serializable(package="vae_gan_tf")
class GAN(GenerativeModel):
    """Generator G(z), discriminator logit l(x) with D(x) = σ(l(x)); ``d_steps`` D updates per G update.

    Metrics: ``d_loss``, ``g_loss``, ``d_real`` and ``d_fake`` (mean D on real and on generated data),
    ``d_accuracy`` (share of real with l > 0 and fake with l < 0), and ``r1_penalty`` when it is on.

    Stabilizers (each off by default): ``pack`` = m, PacGAN's packing (D scores m samples at once,
    ``nets/packing.py``); ``spectral_norm``, D's kernels divided by their largest singular value
    (``nets/spectral_norm.py``); ``r1_weight`` = γ, (γ/2)·E‖∇ₓ l(x)‖² on real data added to D's loss
    (``losses.r1_penalty``).
    """

    loss_metric_names = ("d_loss", "g_loss", "d_real", "d_fake", "d_accuracy")

    def __init__(self, image_shape, architecture="mlp", latent_dim=64, generator_units=(256, 256),
                 discriminator_units=(256, 256), generator_filters=(128, 64), discriminator_filters=(64, 128),
                 output_activation="tanh", d_steps=1, ema_decay=None, loss="nonsaturating", label_smoothing=0.0,
                 critic=False, attention_resolution=None, pack=1, spectral_norm=False, r1_weight=0.0, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(int(s) for s in image_shape)
        self.architecture = architecture
        self.latent_dim = int(latent_dim)
        self.generator_units = list(generator_units)
        self.discriminator_units = list(discriminator_units)
        self.generator_filters = list(generator_filters)
        self.discriminator_filters = list(discriminator_filters)
        self.output_activation = output_activation
        self.d_steps = int(d_steps)
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.loss = loss
        self.label_smoothing = float(label_smoothing)
        self.attention_resolution = attention_resolution
        self.critic = critic
        self.pack = int(pack)
        self.spectral_norm = bool(spectral_norm)
        self.r1_weight = float(r1_weight)
        self.generator, self.discriminator = self.make_networks()
        self.spectral_layers = spectral_layers(self.discriminator)
        self.ema_generator = None
        if self.ema_decay is not None:
            self.ema_generator = keras.models.clone_model(self.generator)
            self.ema_generator.set_weights(self.generator.get_weights())
            self.ema_generator.trainable = False  # moved by update_ema, never by an optimizer
            self.ema_updates = self.add_weight(name="ema_updates", shape=(), dtype="float32", initializer="zeros",
                                               trainable=False, aggregation="only_first_replica")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.metric_names}
        self.d_optimizer = None
        self.g_optimizer = None

    def get_config(self):
        return {**super().get_config(), "image_shape": self.image_shape, "architecture": self.architecture,
                "latent_dim": self.latent_dim, "generator_units": self.generator_units,
                "discriminator_units": self.discriminator_units, "generator_filters": self.generator_filters,
                "discriminator_filters": self.discriminator_filters, "output_activation": self.output_activation,
                "d_steps": self.d_steps, "ema_decay": self.ema_decay, "loss": self.loss,
                "label_smoothing": self.label_smoothing, "attention_resolution": self.attention_resolution,
                "pack": self.pack, "spectral_norm": self.spectral_norm, "r1_weight": self.r1_weight}

    @property
    def metric_names(self):
        return self.loss_metric_names + (("r1_penalty",) if self.r1_weight else ())

    def make_networks(self, generator_input_dim=None):
        """(generator, discriminator) for this model's config (the conditional GAN wraps them, with a
        generator that takes ``generator_input_dim`` inputs instead of ``latent_dim``)."""
        return generator_discriminator(
            self.image_shape, self.architecture, generator_input_dim or self.latent_dim, self.generator_units,
            self.discriminator_units,
            self.generator_filters, self.discriminator_filters, self.output_activation, self.critic,
            self.attention_resolution, self.pack, self.spectral_norm)

    # ---- two optimizers

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        """Keep both optimizers, built now so that their state is saved and restored (module docstring)."""
        super().compile(optimizer=None, **kwargs)
        self.d_optimizer = with_loss_scaling(d_optimizer or FusedAdam(2e-4, beta_1=0.5))
        self.g_optimizer = with_loss_scaling(g_optimizer or FusedAdam(2e-4, beta_1=0.5))
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    def get_compile_config(self):
        if self.d_optimizer is None:  # never compiled: nothing to re-create on load
            return None
        return {"d_optimizer": keras.optimizers.serialize(self.d_optimizer),
                "g_optimizer": keras.optimizers.serialize(self.g_optimizer)}

    def compile_from_config(self, config):
        self.compile(d_optimizer=keras.optimizers.deserialize(config["d_optimizer"]),
                     g_optimizer=keras.optimizers.deserialize(config["g_optimizer"]))

    @property
    def metrics(self):
        return list(self.trackers.values())

    # ---- the model's maps

    def generate(self, z):
        """G(z) in inference mode, from the moving-average generator when ``ema_decay`` is set."""
        generator = self.ema_generator if self.ema_generator is not None else self.generator
        return generator(z, training=False)

    def call(self, x, training=False):
        """The discriminator's logits for ``x``: one per sample, or one per pack of ``pack`` consecutive samples."""
        return self.score(x, None, training)

    # ---- objectives (overridden by WGAN)

    def discriminator_terms(self, real, fake, real_out, fake_out):
        """D's loss and what D says: ``d_real``/``d_fake`` are mean D(x) = σ(logit) for the minimax
        losses, and mean raw scores for least squares (targets 1 / 0) and hinge (targets ±1);
        ``d_accuracy`` thresholds at the midpoint of the targets (0 for logits and hinge, ½ for LS)."""
        d_loss_fn, _ = GAN_LOSSES[self.loss]
        if self.loss in ("minimax", "nonsaturating"):
            real_value, fake_value, threshold = tf.sigmoid(real_out), tf.sigmoid(fake_out), 0.5
        else:
            real_value, fake_value = real_out, fake_out
            threshold = 0.5 if self.loss == "least_squares" else 0.0
        real_correct = tf.cast(real_value > threshold, tf.float32)
        fake_correct = tf.cast(fake_value < threshold, tf.float32)
        return {"d_loss": d_loss_fn(real_out, fake_out, self.label_smoothing),
                "d_real": tf.reduce_mean(real_value), "d_fake": tf.reduce_mean(fake_value),
                "d_accuracy": 0.5 * (tf.reduce_mean(real_correct) + tf.reduce_mean(fake_correct))}

    def generator_loss(self, fake_out):
        return GAN_LOSSES[self.loss][1](fake_out)

    def after_discriminator_update(self):
        """Hook run after each D update (WGAN clips the weights here)."""
        return None  # a body beside the docstring: autograph drops docstrings and refused an empty one

    # ---- training

    def fake(self, z, labels, training):
        """G's images for noise ``z`` (``labels`` are for conditional models; ignored here)."""
        return self.generator(z, training=training)

    def score(self, x, labels, training):
        """D's logits (raw scores for a critic) for ``x``, one per pack of ``pack`` samples (``labels``: as in
        :meth:`fake`)."""
        return self.discriminator(pack_samples(x, self.pack), training=training)

    def update_spectral_norm(self):
        """One power-iteration step for every spectrally normalized layer of D, once per D update, in
        cross-replica context so that every replica holds the same u (``nets/spectral_norm.py``)."""
        if self.spectral_layers:
            in_cross_replica_context(self._power_iterations)

    def _power_iterations(self):
        for layer in self.spectral_layers:
            layer.power_iteration()

    def discriminator_step(self, real, labels=None, training=True):
        z = self.standard_normal(tf.stack([tf.shape(real)[0], self.latent_dim]))
        if training:
            self.update_spectral_norm()
        with tf.GradientTape() as tape:
            fake = self.fake(z, labels, training)
            real_out = self.score(real, labels, training)
            fake_out = self.score(fake, labels, training)
            terms = self.discriminator_terms(real, fake, real_out, fake_out)
            if self.r1_weight:  # on D's own input: packs when packing, as WGAN-GP's penalty (conditional: unpacked)
                if self.pack > 1:
                    penalty = losses.r1_penalty(lambda p: self.discriminator(p, training=training),
                                                pack_samples(real, self.pack))
                else:
                    penalty = losses.r1_penalty(lambda x: self.score(x, labels, training), real)
                terms["r1_penalty"] = penalty
                terms["d_loss"] = terms["d_loss"] + 0.5 * self.r1_weight * terms["r1_penalty"]
            scaled = self.d_optimizer.scale_loss(scale_for_replicas(terms["d_loss"]))  # loss scaling: float16
        if training:
            variables = self.discriminator.trainable_variables
            gradients = tape.gradient(scaled, variables)
            self.d_optimizer.apply_gradients(zip(gradients, variables))
            self.after_discriminator_update()
        return terms

    def generator_step(self, batch_size, labels=None, training=True):
        z = self.standard_normal(tf.stack([batch_size, self.latent_dim]))
        with tf.GradientTape() as tape:
            fake_out = self.score(self.fake(z, labels, training), labels, training)
            g_loss = self.generator_loss(fake_out)
            scaled = self.g_optimizer.scale_loss(scale_for_replicas(g_loss))
        if training:  # only G's variables are updated (D's BatchNorm statistics still move with the batch)
            variables = self.generator.trainable_variables
            gradients = tape.gradient(scaled, variables)
            self.g_optimizer.apply_gradients(zip(gradients, variables))
            self.update_ema()
        return {"g_loss": g_loss}

    def update_ema(self):
        """The bias-corrected moving average of G's weights after update t (BatchNorm statistics included):

            θ_ema,t = Σ_{i≤t} d^(t−i)·θ_i / Σ_{i≤t} d^(t−i),  computed as
            θ_ema,t = β_t·θ_ema,t−1 + (1 − β_t)·θ_t,  β_t = d·(1 − d^(t−1)) / (1 − d^t)

        (Yazici et al. 2019, eq. 2, with the bias correction of Adam, Kingma & Ba 2015, §3). The initial
        weights get no share: the plain recursion θ_ema ← d·θ_ema + (1 − d)·θ from θ_ema = θ_0 keeps d^t of
        the untrained G (28% after 1,266 steps at d = 0.999), and the two agree once d^t is negligible."""
        if self.ema_generator is not None:
            in_cross_replica_context(self._assign_ema)

    def _assign_ema(self):
        t = self.ema_updates.assign_add(1.0)
        decay = tf.constant(self.ema_decay, tf.float32)
        beta = decay * (1.0 - decay ** (t - 1.0)) / (1.0 - decay ** t)
        for average, current in zip(self.ema_generator.weights, self.generator.weights):
            average.assign(tf.cast(beta, average.dtype) * average + tf.cast(1.0 - beta, average.dtype) * current)

    def train_step(self, data):
        real, labels = data if isinstance(data, (tuple, list)) else (data, None)
        # The pipeline delivers d_steps real batches per step: one for each D update.
        chunks = tf.split(real, self.d_steps) if self.d_steps > 1 else [real]
        label_chunks = [None] * len(chunks) if labels is None else (
            tf.split(labels, self.d_steps) if self.d_steps > 1 else [labels])
        d_terms = [self.discriminator_step(chunk, chunk_labels) for chunk, chunk_labels in zip(chunks, label_chunks)]
        return self._update_trackers(d_terms, self.generator_step(tf.shape(chunks[0])[0], label_chunks[0]))

    def test_step(self, data):
        real, labels = data if isinstance(data, (tuple, list)) else (data, None)
        d_terms = self.discriminator_step(real, labels, training=False)
        return self._update_trackers([d_terms], self.generator_step(tf.shape(real)[0], labels, training=False))

    def _update_trackers(self, d_terms, g_terms):
        """D's terms are averaged over the d_steps updates of the step; G's are taken as they are."""
        terms = {name: tf.add_n([t[name] for t in d_terms]) / len(d_terms) for name in d_terms[0]}
        terms.update(g_terms)
        for name, tracker in self.trackers.items():
            tracker.update_state(terms[name])
        return self.tracker_results()
