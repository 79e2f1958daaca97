"""VAE/GAN (Larsen et al. 2016, "Autoencoding beyond pixels using a learned similarity metric"): the VAE's
decoder is also the GAN's generator, and the reconstruction error is measured in a hidden layer Dis_l of
the discriminator instead of pixel by pixel. Doc 001 §2.3 and doc 000 §6.5 describe this hybrid.

Algorithm 1 of the paper, from one forward pass per batch x, with z ~ q(z|x), x̃ = Dec(z), x_p = Dec(z_p),
z_p ~ N(0, I):

    θ_Enc ← −∇(L_prior + L_llike^Dis_l)           (β·KL, β = 1 in the paper)
    θ_Dec ← −∇(γ·L_llike^Dis_l − L_GAN)           (γ weighs content against style)
    θ_Dis ← −∇(−L_GAN)

so the encoder gets no GAN gradient and the discriminator no reconstruction gradient. Each network has its
own optimizer; all three are compiled, saved in ``model.keras`` and restored by ``BackupAndRestore`` (the
same pattern as the GAN's two optimizers: KERAS3_FACTS.md).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from vae_gan_tf.models import losses
from vae_gan_tf.models.base import scale_for_replicas
from vae_gan_tf.models.optimizers import make_optimizer
from vae_gan_tf.models.vae.configs import VAEGANConfig
from vae_gan_tf.models.vae.vae import VAE
from vae_gan_tf.nets import dcgan_discriminator, mlp_discriminator


@keras.saving.register_keras_serializable(package="vae_gan_tf")
class VAEGAN(VAE):
    """Encoder and decoder as in the VAE (Bernoulli decoder: images are sigmoid(logits) in [0, 1]) plus a
    discriminator whose last hidden layer is Dis_l.

    Metrics: ``kl``; ``feature_reconstruction`` (L_llike^Dis_l, nats per example under the unit-variance
    Gaussian of eq. 7, without its constant); ``decoder_adversarial`` (the decoder's GAN term);
    ``d_loss`` (−L_GAN); ``d_real``, ``d_reconstructed``, ``d_sampled`` (mean Dis on each); and, for
    comparison with the VAE only (not trained on), ``pixel_reconstruction``: the Bernoulli −log p(x|z).
    """

    metric_names = ("kl", "feature_reconstruction", "decoder_adversarial", "d_loss", "d_real", "d_reconstructed",
                    "d_sampled", "pixel_reconstruction")

    config_class = VAEGANConfig
    optimizer_names = ("encoder_optimizer", "decoder_optimizer", "discriminator_optimizer")

    def __init__(self, model_config, image_shape, **kwargs):
        super().__init__(model_config, image_shape, **kwargs)
        c = self.model_config
        if c.architecture == "conv":
            scorer = dcgan_discriminator(self.image_shape, c.discriminator_filters,
                                         attention_resolution=c.attention_resolution)
        else:
            scorer = mlp_discriminator(self.image_shape, c.discriminator_units)
        # Dis_l is the input of the logit layer: the last hidden layer, flattened.
        self.discriminator = keras.Model(scorer.input, [scorer.output, scorer.get_layer("logit").input],
                                         name="discriminator")

    # ---- three optimizers (models/base.py: built at compile, re-created on load)

    def make_optimizers(self, learning_rate: float) -> dict:
        c = self.model_config
        rates = (c.encoder_learning_rate, c.decoder_learning_rate, c.discriminator_learning_rate)
        return {name: make_optimizer("adam", rate, c.adam_beta_1) for name, rate in zip(self.optimizer_names, rates)}

    def optimizer_variables(self, name: str) -> list:
        network = {"encoder_optimizer": self.encoder, "decoder_optimizer": self.decoder,
                   "discriminator_optimizer": self.discriminator}[name]
        return network.trainable_variables

    # ---- training

    def discriminate(self, x, training=False):
        """Dis(x) as a logit, and Dis_l(x) in float32 (under mixed precision it is a hidden layer's output)."""
        logit, features = self.discriminator(x, training=training)
        return logit, tf.cast(features, tf.float32)

    def compute_terms(self, x, training):
        """Every term of Algorithm 1 (batch means) and the three losses ``encoder``, ``decoder``,
        ``discriminator`` that the networks minimise."""
        mean, log_var = self.encode(x, training=training)
        logits = self.decoder(self.sample_posterior(mean, log_var), training=training)
        z_prior = self.standard_normal(tf.shape(mean), mean.dtype)
        reconstructed = tf.sigmoid(logits)
        sampled = tf.sigmoid(self.decoder(z_prior, training=training))
        real_logit, real_features = self.discriminate(x, training=training)
        rec_logit, rec_features = self.discriminate(reconstructed, training=training)
        sampled_logit, _ = self.discriminate(sampled, training=training)
        kl = tf.reduce_mean(losses.kl_divergence_normal(mean, log_var))
        llike = tf.reduce_mean(losses.feature_reconstruction_loss(real_features, rec_features))
        adversarial = losses.vaegan_decoder_adversarial_loss(rec_logit, sampled_logit)
        terms = {
            "kl": kl, "feature_reconstruction": llike, "decoder_adversarial": adversarial,
            "d_loss": losses.vaegan_discriminator_loss(real_logit, rec_logit, sampled_logit),
            "d_real": tf.reduce_mean(tf.sigmoid(real_logit)),
            "d_reconstructed": tf.reduce_mean(tf.sigmoid(rec_logit)),
            "d_sampled": tf.reduce_mean(tf.sigmoid(sampled_logit)),
            "pixel_reconstruction": tf.reduce_mean(losses.bernoulli_negative_log_likelihood(x, logits)),
        }
        c = self.model_config
        weight = losses.kl_weight(self.encoder_optimizer.iterations, c.beta, c.kl_warmup_steps)
        objectives = {"encoder": weight * kl + llike, "decoder": c.gamma * llike + adversarial,
                      "discriminator": terms["d_loss"]}
        return terms, objectives

    def train_step(self, data):
        x = data[0] if isinstance(data, (tuple, list)) else data
        updates = ((self.encoder_optimizer, self.encoder, "encoder"), (self.decoder_optimizer, self.decoder, "decoder"),
                   (self.discriminator_optimizer, self.discriminator, "discriminator"))
        with tf.GradientTape(persistent=True) as tape:
            terms, objectives = self.compute_terms(x, training=True)
            scaled = {key: optimizer.scale_loss(scale_for_replicas(objectives[key]))
                      for optimizer, _, key in updates}
        gradients = [tape.gradient(scaled[key], network.trainable_variables) for _, network, key in updates]
        del tape
        for (optimizer, network, _), grads in zip(updates, gradients):  # all from the same forward pass
            optimizer.apply_gradients(zip(grads, network.trainable_variables))
        return self._update_trackers(terms)

    def test_step(self, data):
        x = data[0] if isinstance(data, (tuple, list)) else data
        return self._update_trackers(self.compute_terms(x, training=False)[0])

    def endpoints(self) -> dict:
        """The VAE's and discriminate(x) -> Dis(x) as a logit."""
        return {**super().endpoints(), "discriminate": (lambda x: self.discriminate(x)[0], [self.x_spec()])}
