"""Two-stage VAE (Dai & Wipf 2019, "Diagnosing and enhancing VAE models", §4).

Stage 1 is the library's VAE (models/vae/vae.py) on images: as Dai & Wipf built it, with the Gaussian
decoder N(x; sigmoid(logits), γI) and its learned γ (``likelihood: gaussian_learned``), or with the Bernoulli
(cross-entropy) decoder. Stage 2 is an MLP VAE on the first stage's latent codes z ~ q(z|x), with the first
stage frozen: its encoder q(u|z) = N(μ(z), diag σ²(z)), prior N(0, I) on u, and a Gaussian decoder
p(z|u) = N(μ(u), γ_z I) with its own learned scalar γ_z (``losses.gaussian_nll_learned_variance``).
Sampling is ancestral through both stages: u ~ N(0, I), z ~ N(μ(u), γ_z I), x = E[x|z], the first decoder's
mean, as in Dai & Wipf's code (``generate``, which adds √γ_z-scaled noise to μ(u)). With a learned-γ stage 1,
γ → 0 lets its encoder variances shrink in the dimensions it uses, so its codes are not N(0, I) and stage 2
has that to correct (Dai & Wipf §3-§4). Over a Bernoulli stage 1 the codes are close to N(0, I) and stage 2
collapsed in the library's runs (KL 0, γ_z ≈ 1; docs/comparison.md). The settings are those of the authors'
code (github.com/daib13/TwoStageVAE, demo.py and network/two_stage_vae_model.py): 3 dense layers of 1024
units, the input joined to the last hidden layer (``second_stage_skip``), Adam 1e-4, a fresh
z = μ(x) + σ(x)·ε for every batch of stage 2.

Training is one run of ``train.epochs`` (stage 1) + ``model.second_stage_epochs`` (stage 2) epochs;
``training.fit_segments`` calls ``fit`` once per stage and :meth:`set_stage` switches the step (a Python
branch, so each stage's ``tf.function`` holds only its own update). Each stage has its own Adam, both
saved in checkpoints and ``model.keras``. The logged ``loss``, ``reconstruction`` and ``kl`` are the
active stage's: nats per image in stage 1, per latent code in stage 2; ``gamma`` (a learned-γ stage 1)
and ``second_gamma`` are logged in both stages, so history.csv holds both γ at every epoch.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from vae_gan_tf.models import losses
from vae_gan_tf.models.base import scale_for_replicas
from vae_gan_tf.models.optimizers import make_optimizer
from vae_gan_tf.models.vae.configs import TwoStageVAEConfig
from vae_gan_tf.models.vae.vae import VAE
from vae_gan_tf.nets import mlp_decoder, mlp_encoder


@keras.saving.register_keras_serializable(package="vae_gan_tf")
class TwoStageVAE(VAE):
    """The VAE with a second VAE on its codes; ``stage`` (1 or 2) is the stage being trained (2 once the
    run has reached it: then ``generate`` goes through both decoders)."""

    config_class = TwoStageVAEConfig
    optimizer_names = ("optimizer", "second_stage_optimizer")  # one Adam per stage
    state_keys = ("stage",)

    def __init__(self, model_config, image_shape, stage=1, **kwargs):
        super().__init__(model_config, image_shape, **kwargs)
        self.stage = int(stage)
        hidden = [model_config.second_stage_units] * model_config.second_stage_depth
        skip = model_config.second_stage_skip
        self.second_encoder = mlp_encoder((self.latent_dim,), hidden, self.latent_dim, ("mean", "log_var"),
                                          name="second_encoder", concat_input=skip)
        self.second_decoder = mlp_decoder(self.latent_dim, hidden, (self.latent_dim,), name="second_decoder",
                                          concat_input=skip)
        self.second_gamma_parameter = self.add_weight(name="second_log_gamma", shape=(), dtype="float32",
                                                      initializer="zeros")

    def get_config(self):
        return {**super().get_config(), "stage": self.stage}

    @property
    def metric_names(self):
        return super().metric_names + ("second_gamma",)

    @property
    def second_log_gamma(self):
        """log γ_z = ``log_gamma_scale`` · θ_z (``second_gamma_parameter``), as stage 1's γ (models/vae/vae.py)."""
        return self.model_config.log_gamma_scale * self.second_gamma_parameter

    def gamma_terms(self) -> dict:
        """Both stages' learned variances: stage 1's γ (a learned-γ stage 1) and stage 2's γ_z."""
        return {**super().gamma_terms(), "second_gamma": tf.exp(self.second_log_gamma)}

    @property
    def first_stage_variables(self):
        own = [self.gamma_parameter] if self.gamma_parameter is not None else []
        return self.encoder.trainable_variables + self.decoder.trainable_variables + own

    @property
    def second_stage_variables(self):
        return (self.second_encoder.trainable_variables + self.second_decoder.trainable_variables
                + [self.second_gamma_parameter])

    def set_stage(self, stage: int) -> None:
        """Train ``stage`` from the next ``fit`` on: its step functions are traced anew."""
        self.stage = int(stage)
        self.train_function = self.test_function = self.predict_function = None

    # ---- two optimizers (models/base.py: built at compile, re-created on load)

    def make_optimizers(self, learning_rate: float) -> dict:
        return {"optimizer": make_optimizer("adam", learning_rate),
                "second_stage_optimizer": make_optimizer("adam", self.model_config.second_stage_learning_rate)}

    def optimizer_variables(self, name: str) -> list:
        return self.first_stage_variables if name == "optimizer" else self.second_stage_variables

    # ---- the maps

    def generate(self, u):
        """Images from second-stage codes u ~ N(0, I): x = E[x | z], z ~ p(z|u) (:meth:`second_sample`);
        before stage 2 (``stage`` 1) the codes go to the first decoder directly, as in a one-stage VAE."""
        return self.decode(self.second_sample(u) if self.stage == 2 else u)

    def second_sample(self, u):
        """z = μ(u) + √γ·ε, ε ~ N(0, I): a draw from the second decoder p(z|u) = N(μ(u), γI), from the
        model's seeded noise, a fresh ε per call (Dai & Wipf 2019, §4, use μ(u), the limit γ → 0)."""
        return self.sample_posterior(self.second_decode(u), self.second_log_gamma)

    def second_encode(self, z, training=False):
        return self.second_encoder(z, training=training)

    def second_decode(self, u, training=False):
        """The mean of p(z|u)."""
        return self.second_decoder(u, training=training)

    # ---- training

    def first_stage_codes(self, x):
        """z = μ(x) + σ(x)·ε from the frozen first-stage encoder, a fresh ε per call (demo.py)."""
        mean, log_var = self.encode(x, training=False)
        return tf.stop_gradient(self.sample_posterior(mean, log_var))

    def second_stage_terms(self, z, training):
        """The second VAE's −ELBO on codes z (batch means): Gaussian −log p(z|u) with learned γ, and KL."""
        mean, log_var = self.second_encode(z, training=training)
        z_mean = self.second_decode(self.sample_posterior(mean, log_var), training=training)
        nll = losses.gaussian_nll_learned_variance(z, z_mean, self.second_log_gamma)
        reconstruction = tf.reduce_mean(nll)
        kl = tf.reduce_mean(losses.kl_divergence_normal(mean, log_var))
        return {"loss": losses.negative_elbo(reconstruction, kl), "reconstruction": reconstruction, "kl": kl,
                **self.gamma_terms()}

    def train_step(self, data):
        if self.stage == 2:
            return self._update_trackers(self.second_stage_update(self.first_stage_codes(*self.batch_inputs(data))))
        with tf.GradientTape() as tape:
            terms = self.compute_terms(*self.batch_inputs(data), training=True)
            scaled = self.optimizer.scale_loss(scale_for_replicas(terms["loss"]))
        variables = self.first_stage_variables
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return self._update_trackers(terms)

    def second_stage_update(self, z):
        """One Adam step of the second stage on codes ``z`` (the batch's first-stage codes in training;
        any codes in a test); returns its terms."""
        with tf.GradientTape() as tape:
            terms = self.second_stage_terms(z, training=True)
            scaled = self.second_stage_optimizer.scale_loss(scale_for_replicas(terms["loss"]))
        variables = self.second_stage_variables
        self.second_stage_optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return terms

    def test_step(self, data):
        (x,) = self.batch_inputs(data)
        if self.stage == 1:
            return self._update_trackers(self.compute_terms(x, training=False))
        return self._update_trackers(self.second_stage_terms(self.first_stage_codes(x), training=False))

    def endpoints(self) -> dict:
        """The VAE's, with sample and generate through both decoders, and the second stage's maps:
        z -> (mean, log_var) of q(u|z), u -> E[z|u], and a draw z ~ p(z|u)."""
        z_spec = self.z_spec()
        return {**super().endpoints(),
                "second_encode": (lambda z: self.second_encode(z), [z_spec]),
                "second_decode": (lambda u: self.second_decode(u), [z_spec]),
                "second_sample": (lambda u: self.second_sample(u), [z_spec])}

    def output_names(self, endpoint: str) -> tuple:
        names = {"second_encode": ("mean", "log_var"), "second_decode": ("z",), "second_sample": ("z",)}
        return names.get(endpoint) or super().output_names(endpoint)
