"""GAN (Goodfellow et al. 2014) with two optimizers, alternating updates, and the documents' bugs fixed.

The documents' GAN programs create layers inside ``call``, train both players with one optimizer
(or not at all), never alternate the updates, and take ``log(1 − D)`` of probabilities. Here
``train_step`` follows doc 003 §3.1 step by step: draw noise, update D on real and fake batches,
then update G through the frozen D (only G's variables receive gradients), each with its own
optimizer, every loss from logits (``vae_gan_tf.models.losses``).

Two optimizers and Keras 3 (KERAS3_FACTS.md): ``compile(d_optimizer=..., g_optimizer=...)`` builds both on
their variables at once and ``get_compile_config``/``compile_from_config`` re-create them (models/base.py),
so a ``.keras`` reload and ``BackupAndRestore`` keep both optimizers' iterations and moments.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from vae_gan_tf.models import completion, losses
from vae_gan_tf.models.base import GenerativeModel, in_cross_replica_context, scale_for_replicas
from vae_gan_tf.models.gan.configs import GANConfig
from vae_gan_tf.models.optimizers import make_optimizer
from vae_gan_tf.nets import generator_discriminator
from vae_gan_tf.nets.packing import pack_samples
from vae_gan_tf.nets.spectral_norm import spectral_layers

GAN_LOSSES = {
    # name: (discriminator loss(real, fake, smoothing), generator loss(fake))
    "minimax": (losses.minimax_discriminator_loss, losses.minimax_generator_loss),
    "nonsaturating": (losses.minimax_discriminator_loss, losses.nonsaturating_generator_loss),
    "least_squares": (lambda r, f, s: losses.least_squares_discriminator_loss(r, f),
                      losses.least_squares_generator_loss),
    "hinge": (lambda r, f, s: losses.hinge_discriminator_loss(r, f), losses.hinge_generator_loss),
}


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

    config_class = GANConfig
    optimizer_names = ("d_optimizer", "g_optimizer")
    loss_metric_names = ("d_loss", "g_loss", "d_real", "d_fake", "d_accuracy")
    critic = False  # a Wasserstein critic: raw scores, no BatchNorm and no output bias (nets/__init__.py)

    def __init__(self, model_config, image_shape, **kwargs):
        super().__init__(model_config, image_shape, **kwargs)
        self.generator, self.discriminator = self.make_networks()
        self.spectral_layers = spectral_layers(self.discriminator)
        self.ema_generator = None
        if model_config.ema_decay is not None:
            self.ema_generator = keras.models.clone_model(self.generator)
            self.ema_generator.set_weights(self.generator.get_weights())
            self.ema_generator.trainable = False  # moved by update_ema, never by an optimizer
            self.ema_updates = self.add_weight(name="ema_updates", shape=(), dtype="float32", initializer="zeros",
                                               trainable=False, aggregation="only_first_replica")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.metric_names}

    @property
    def metric_names(self):
        return self.loss_metric_names + (("r1_penalty",) if self.model_config.r1_weight else ())

    @property
    def pack(self) -> int:
        return self.model_config.pack

    @property
    def scores_are_logits(self) -> bool:
        """Whether D's output is a logit of D(x) = σ(l(x)) (minimax, non-saturating) or a raw score."""
        return not self.critic and self.model_config.loss in ("minimax", "nonsaturating")

    def make_networks(self, generator_input_dim=None):
        """(generator, discriminator) for this model's config (the conditional GAN wraps them, with a
        generator that takes ``generator_input_dim`` inputs instead of ``latent_dim``)."""
        c = self.model_config
        return generator_discriminator(
            self.image_shape, c.architecture, generator_input_dim or c.latent_dim, c.generator_units,
            c.discriminator_units, c.generator_filters, c.discriminator_filters, c.output_activation,
            self.critic, c.attention_resolution, c.pack, c.spectral_norm)

    # ---- two optimizers (models/base.py)

    def make_optimizers(self, learning_rate: float) -> dict:
        """One optimizer per player with its own rate and betas (TTUR, Heusel et al. 2017)."""
        c = self.model_config
        return {"d_optimizer": make_optimizer(c.optimizer, c.d_learning_rate, c.d_beta_1, c.d_beta_2),
                "g_optimizer": make_optimizer(c.optimizer, c.g_learning_rate, c.g_beta_1, c.g_beta_2)}

    def optimizer_variables(self, name: str) -> list:
        network = self.discriminator if name == "d_optimizer" else self.generator
        return network.trainable_variables

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
        loss = self.model_config.loss
        d_loss_fn, _ = GAN_LOSSES[loss]
        if self.scores_are_logits:
            real_value, fake_value, threshold = tf.sigmoid(real_out), tf.sigmoid(fake_out), 0.5
        else:
            real_value, fake_value = real_out, fake_out
            threshold = 0.5 if loss == "least_squares" else 0.0
        real_correct = tf.cast(real_value > threshold, tf.float32)
        fake_correct = tf.cast(fake_value < threshold, tf.float32)
        return {"d_loss": d_loss_fn(real_out, fake_out, self.model_config.label_smoothing),
                "d_real": tf.reduce_mean(real_value), "d_fake": tf.reduce_mean(fake_value),
                "d_accuracy": 0.5 * (tf.reduce_mean(real_correct) + tf.reduce_mean(fake_correct))}

    def generator_loss(self, fake_out):
        return GAN_LOSSES[self.model_config.loss][1](fake_out)

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
            r1_weight = self.model_config.r1_weight
            if r1_weight:  # on D's own input: packs when packing, as WGAN-GP's penalty (conditional: unpacked)
                if self.pack > 1:
                    penalty = losses.r1_penalty(lambda p: self.discriminator(p, training=training),
                                                pack_samples(real, self.pack))
                else:
                    penalty = losses.r1_penalty(lambda x: self.score(x, labels, training), real)
                terms["r1_penalty"] = penalty
                terms["d_loss"] = terms["d_loss"] + 0.5 * r1_weight * terms["r1_penalty"]
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
        decay = tf.constant(self.model_config.ema_decay, tf.float32)
        beta = decay * (1.0 - decay ** (t - 1.0)) / (1.0 - decay ** t)
        for average, current in zip(self.ema_generator.weights, self.generator.weights):
            average.assign(tf.cast(beta, average.dtype) * average + tf.cast(1.0 - beta, average.dtype) * current)

    def train_step(self, data):
        real, labels = data if isinstance(data, (tuple, list)) else (data, None)
        # The pipeline delivers d_steps real batches per step: one for each D update.
        d_steps = self.model_config.d_steps
        chunks = tf.split(real, d_steps) if d_steps > 1 else [real]
        label_chunks = [None] * len(chunks) if labels is None else (
            tf.split(labels, d_steps) if d_steps > 1 else [labels])
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

    # ---- SavedModel endpoints (runs/export.py)

    def endpoints(self) -> dict:
        """sample, generate (from the moving-average generator when there is one), discriminate(x) -> logits
        (one per image, or with PacGAN packing one per pack of ``pack`` consecutive images) and, for
        images, ``project(x, mask, steps)``: Yeh et al. 2017's latent optimisation (models/completion.py).
        A PacGAN discriminator scores packs, not one image: there the projection uses the contextual loss
        alone."""
        endpoints = {**self.prior_endpoints(),
                     "discriminate": (lambda x: self.score(x, None, False), [self.x_spec()])}
        if len(self.image_shape) != 3:  # points, not images
            return endpoints
        packed = self.pack > 1

        def project(x, mask, steps):
            return completion.latent_optimisation(
                self.generate,
                lambda g: tf.zeros([tf.shape(g)[0], 1]) if packed else self.discriminator(g, training=False),
                x, mask, steps, self.latent_dim, not self.scores_are_logits,
                perceptual_weight=0.0 if packed else completion.PERCEPTUAL_WEIGHT)

        endpoints["project"] = (project, [self.x_spec(), self.x_spec("mask"), tf.TensorSpec((), tf.int32, name="steps")])
        return endpoints
