"""Variational autoencoder (Kingma & Welling 2014) with the β weight of β-VAE (Higgins et al. 2017).

Corrected from the documents: q(z|x) has separate mean and log-variance heads (doc 001 §4.1 used
one layer for both; doc 004 §4.1 has no variance head), the reparameterization uses exp(½·log σ²) (doc 002 used exp(log σ²)), the loss has the KL
term (doc 002's Keras VAE had none) and the likelihood is computed from logits (doc 003 applied a
sigmoid and then a log).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from vae_gan_tf.models import losses
from vae_gan_tf.models.vae.autoencoder import Autoencoder
from vae_gan_tf.models.vae.configs import VAEConfig


@keras.saving.register_keras_serializable(package="vae_gan_tf")
class VAE(Autoencoder):
    """Gaussian q(z|x) = N(μ(x), diag σ²(x)), prior N(0, I), and p(x|z) Bernoulli, Gaussian with a fixed σ,
    or (``likelihood: gaussian_learned``) Gaussian N(x; sigmoid(logits), γI) with one learned scalar γ for
    every pixel (Dai & Wipf 2019, §4): log γ = ``log_gamma_scale`` · θ with θ (``gamma_parameter``) a float32
    weight of the model from 0, trained with the networks by the same optimizer. Adam moves θ by about its
    learning rate per step, so at Dai & Wipf's 1e-4 and scale 1 log γ falls by at most ~0.08 per MNIST epoch
    of batch 64 (they trained 400 epochs); a larger scale lets γ follow the reconstruction error sooner.

    Minimises −ELBO_β = E_q[−log p(x|z)] + β_t·KL(q(z|x) ‖ p(z)) with β_t warmed up linearly over
    ``kl_warmup_steps`` optimizer steps. Metrics: ``loss``, ``reconstruction``, ``kl`` (nats per example)
    and, with a learned γ, ``gamma`` (exp(log γ): the epoch's mean in history.csv's ``gamma``, its value
    after the epoch in ``val_gamma``).
    """

    config_class = VAEConfig
    heads = ("mean", "log_var")
    code_names = ("mean", "log_var")

    def __init__(self, model_config, image_shape, **kwargs):
        super().__init__(model_config, image_shape, **kwargs)
        self.gamma_parameter = None
        if model_config.likelihood == "gaussian_learned":
            self.gamma_parameter = self.add_weight(name="log_gamma", shape=(), dtype="float32", initializer="zeros")

    @property
    def log_gamma(self):
        """log γ of the learned-γ decoder (None for the other likelihoods)."""
        return None if self.gamma_parameter is None else self.model_config.log_gamma_scale * self.gamma_parameter

    @property
    def metric_names(self):  # read by make_trackers, before log_gamma exists
        extra = ("gamma",) if self.likelihood == "gaussian_learned" else ()
        extra += ("total_correlation",) if self.model_config.tc_beta != 1 else ()
        return ("loss", "reconstruction", "kl") + extra

    def gamma_terms(self) -> dict:
        """The learned variances to log with the loss terms: {"gamma": γ} with a learned γ, else none."""
        return {"gamma": tf.exp(self.log_gamma)} if self.gamma_parameter is not None else {}

    def call(self, x, training=False):
        """Reconstruction logits: z sampled by reparameterization in training, z = μ otherwise."""
        mean, log_var = self.encode(x, training=training)
        z = self.sample_posterior(mean, log_var) if training else mean
        return self.decoder(z, training=training)

    def generate(self, z):
        """Images from latent codes z (drawn from the prior by the caller): the mean of p(x|z)."""
        return self.decode(z)

    def reconstruction_loss(self, x, decoder_output):
        if self.likelihood == "gaussian":
            return losses.gaussian_negative_log_likelihood(x, decoder_output, self.model_config.gaussian_std)
        if self.likelihood == "gaussian_learned":
            return losses.gaussian_nll_learned_variance(x, self.output_mean(decoder_output), self.log_gamma)
        return losses.bernoulli_negative_log_likelihood(x, decoder_output)

    def compute_terms(self, x, training):
        """One-sample Monte Carlo estimate of the β-ELBO terms, each a batch mean."""
        mean, log_var = self.encode(x, training=training)
        z = self.sample_posterior(mean, log_var)
        return self.elbo_terms(x, self.decoder(z, training=training), mean, log_var, z)

    def elbo_terms(self, x, decoder_output, mean, log_var, z) -> dict:
        """The batch means of −log p(x|z), KL and the loss for one draw z ~ q(z|x): −ELBO_β, or β-TCVAE's
        objective with its minibatch total correlation when ``model.tc_beta`` ≠ 1."""
        reconstruction = tf.reduce_mean(self.reconstruction_loss(x, decoder_output))
        kl = tf.reduce_mean(losses.kl_divergence_normal(mean, log_var))
        weight = losses.kl_weight(self.optimizer.iterations, self.model_config.beta,
                                 self.model_config.kl_warmup_steps)
        terms = {"reconstruction": reconstruction, "kl": kl, **self.gamma_terms()}
        if self.model_config.tc_beta == 1:
            return {"loss": losses.negative_elbo(reconstruction, kl, weight), **terms}
        tc = losses.minibatch_total_correlation(z, mean, log_var)
        return {"loss": losses.beta_tc_negative_elbo(reconstruction, kl, tc, weight, self.model_config.tc_beta),
                **terms, "total_correlation": tc}

    def log_importance_weights(self, x, k):
        """log w_i = log p(x|z_i) + log p(z_i) − log q(z_i|x) for k draws z_i ~ q(z|x), shape (k, batch).

        Feed to :func:`vae_gan_tf.models.losses.importance_weighted_bound` (Burda et al. 2015, eq. 8).
        """
        mean, log_var = self.encode(x)
        batch = tf.shape(mean)[0]
        eps = tf.transpose(self.standard_normal(tf.stack([batch, k, self.latent_dim]), mean.dtype), [1, 0, 2])
        z = losses.reparameterize(mean[None], log_var[None], eps)  # (k, batch, latent)
        flat_z = tf.reshape(z, [-1, self.latent_dim])
        logits = self.decoder(flat_z)
        x_rep = tf.reshape(tf.repeat(x[None], k, axis=0), tf.concat([[-1], tf.shape(x)[1:]], 0))
        log_px_z = -tf.reshape(self.reconstruction_loss(x_rep, logits), [k, batch])
        log_pz = losses.log_normal_density(z, tf.zeros_like(z), tf.zeros_like(z))
        log_qz_x = losses.log_normal_density(z, mean[None], log_var[None])
        return log_px_z + log_pz - log_qz_x

    def endpoints(self) -> dict:
        """The autoencoder's and sample(z), generate(n) from the prior."""
        return {**super().endpoints(), **self.prior_endpoints()}
