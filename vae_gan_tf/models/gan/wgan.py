"""Wasserstein GAN: a critic f (raw scores, no sigmoid) kept near 1-Lipschitz by weight clipping
(Arjovsky et al. 2017, Algorithm 1) or by a gradient penalty (WGAN-GP, Gulrajani et al. 2017, Algorithm 1).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from vae_gan_tf.models import losses
from vae_gan_tf.models.base import in_cross_replica_context
from vae_gan_tf.models.gan.configs import WGANConfig
from vae_gan_tf.models.gan.gan import GAN
from vae_gan_tf.nets.packing import pack_samples


@keras.saving.register_keras_serializable(package="vae_gan_tf")
class WGAN(GAN):
    """Critic loss E[f(G(z))] − E[f(x)] (+ λ·GP), generator loss −E[f(G(z))], ``d_steps`` critic updates
    per generator update (n_critic = 5 by default).

    Metrics: ``d_loss``, ``g_loss``, ``wasserstein_estimate`` = E[f(x)] − E[f(G(z))] (the critic's
    estimate of W1 up to the Lipschitz constant) and, with the penalty, ``gradient_penalty``.
    """

    config_class = WGANConfig
    critic = True

    @property
    def loss_metric_names(self):
        names = ("d_loss", "g_loss", "wasserstein_estimate")
        return names + ("gradient_penalty",) if self.model_config.constraint == "gradient_penalty" else names

    def discriminator_terms(self, real, fake, real_out, fake_out):
        terms = {"d_loss": losses.wasserstein_critic_loss(real_out, fake_out),
                 "wasserstein_estimate": tf.reduce_mean(real_out) - tf.reduce_mean(fake_out)}
        if self.model_config.constraint == "gradient_penalty":
            # On packs when packing (the packed critic is 1-Lipschitz in the packed input): one ε per pack.
            real, fake = pack_samples(real, self.pack), pack_samples(fake, self.pack)
            epsilon = self.uniform(losses.per_example_shape(real), real.dtype)
            penalty = losses.gradient_penalty(self.discriminator, real, fake, epsilon)
            terms["gradient_penalty"] = penalty
            terms["d_loss"] = terms["d_loss"] + self.model_config.gp_weight * penalty
        return terms

    def generator_loss(self, fake_out):
        return losses.wasserstein_generator_loss(fake_out)

    def after_discriminator_update(self):
        """Weight clipping: every critic weight into [−c, c] after each update (Arjovsky et al. 2017)."""
        if self.model_config.constraint == "weight_clipping":
            in_cross_replica_context(self._clip_weights)

    def _clip_weights(self):
        for variable in self.discriminator.trainable_variables:
            clip = self.model_config.clip_value
            variable.assign(tf.clip_by_value(variable, -clip, clip))
