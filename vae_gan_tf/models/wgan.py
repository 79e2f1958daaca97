"""Wasserstein GAN: a critic f (raw scores, no sigmoid) kept near 1-Lipschitz by weight clipping
(Arjovsky et al. 2017, Algorithm 1) or by a gradient penalty (WGAN-GP, Gulrajani et al. 2017, Algorithm 1).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from vae_gan_tf import losses
from vae_gan_tf.models.base import in_cross_replica_context
from vae_gan_tf.models.gan import GAN
from vae_gan_tf.nets.packing import pack_samples


@keras.saving.register_keras_serializable(package="vae_gan_tf")
class WGAN(GAN):
    """Critic loss E[f(G(z))] − E[f(x)] (+ λ·GP), generator loss −E[f(G(z))], ``d_steps`` critic updates
    per generator update (n_critic = 5 by default).

    Metrics: ``d_loss``, ``g_loss``, ``wasserstein_estimate`` = E[f(x)] − E[f(G(z))] (the critic's
    estimate of W1 up to the Lipschitz constant) and, with the penalty, ``gradient_penalty``.
    """

    def __init__(self, image_shape, constraint="gradient_penalty", gp_weight=10.0, clip_value=0.01, d_steps=5,
                 **kwargs):
        self.constraint = constraint
        self.gp_weight = float(gp_weight)
        self.clip_value = float(clip_value)
        kwargs.pop("loss", None)
        kwargs.pop("label_smoothing", None)
        super().__init__(image_shape, d_steps=d_steps, critic=True, **kwargs)

    @property
    def loss_metric_names(self):
        names = ("d_loss", "g_loss", "wasserstein_estimate")
        return names + ("gradient_penalty",) if self.constraint == "gradient_penalty" else names

    def get_config(self):
        config = {**super().get_config(), "constraint": self.constraint, "gp_weight": self.gp_weight,
                  "clip_value": self.clip_value}
        config.pop("loss")
        config.pop("label_smoothing")
        return config

    def discriminator_terms(self, real, fake, real_out, fake_out):
        terms = {"d_loss": losses.wasserstein_critic_loss(real_out, fake_out),
                 "wasserstein_estimate": tf.reduce_mean(real_out) - tf.reduce_mean(fake_out)}
        if self.constraint == "gradient_penalty":
            # On packs when packing (the packed critic is 1-Lipschitz in the packed input): one ε per pack.
            real, fake = pack_samples(real, self.pack), pack_samples(fake, self.pack)
            epsilon = self.uniform(losses.per_example_shape(real), real.dtype)
            penalty = losses.gradient_penalty(self.discriminator, real, fake, epsilon)
            terms["gradient_penalty"] = penalty
            terms["d_loss"] = terms["d_loss"] + self.gp_weight * penalty
        return terms

    def generator_loss(self, fake_out):
        return losses.wasserstein_generator_loss(fake_out)

    def after_discriminator_update(self):
        """Weight clipping: every critic weight into [−c, c] after each update (Arjovsky et al. 2017)."""
        if self.constraint == "weight_clipping":
            in_cross_replica_context(self._clip_weights)

    def _clip_weights(self):
        for variable in self.discriminator.trainable_variables:
            variable.assign(tf.clip_by_value(variable, -self.clip_value, self.clip_value))
