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

from vae_gan_tf import losses
from vae_gan_tf.models.base import scale_for_replicas
from vae_gan_tf.models.gan import with_loss_scaling
from vae_gan_tf.models.vae import VAE
from vae_gan_tf.nets import dcgan_discriminator, mlp_discriminator
from vae_gan_tf.optimizers import FusedAdam

OPTIMIZERS = ("encoder_optimizer", "decoder_optimizer", "discriminator_optimizer")


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

    def __init__(self, image_shape, gamma=1.0, discriminator_units=(256, 256), discriminator_filters=(64, 128),
                 **kwargs):
        kwargs["likelihood"] = "bernoulli"
        super().__init__(image_shape, **kwargs)
        self.gamma = float(gamma)
        self.discriminator_units = list(discriminator_units)
        self.discriminator_filters = list(discriminator_filters)
        if self.architecture == "conv":
            scorer = dcgan_discriminator(self.image_shape, self.discriminator_filters,
                                         attention_resolution=self.attention_resolution)
        else:
            scorer = mlp_discriminator(self.image_shape, self.discriminator_units)
        # Dis_l is the input of the logit layer: the last hidden layer, flattened.
        self.discriminator = keras.Model(scorer.input, [scorer.output, scorer.get_layer("logit").input],
                                         name="discriminator")
        for name in OPTIMIZERS:
            setattr(self, name, None)

    def get_config(self):
        config = {**super().get_config(), "gamma": self.gamma, "discriminator_units": self.discriminator_units,
                  "discriminator_filters": self.discriminator_filters}
        config.pop("likelihood")
        return config

    # ---- three optimizers

    def compile(self, encoder_optimizer=None, decoder_optimizer=None, discriminator_optimizer=None, **kwargs):
        """Keep one optimizer per network, built now so that their state is saved and restored."""
        super(VAE, self).compile(optimizer=None, **kwargs)
        given = (encoder_optimizer, decoder_optimizer, discriminator_optimizer)
        networks = (self.encoder, self.decoder, self.discriminator)
        for name, optimizer, network in zip(OPTIMIZERS, given, networks):
            optimizer = with_loss_scaling(optimizer or FusedAdam(3e-4, beta_1=0.5))
            optimizer.build(network.trainable_variables)
            setattr(self, name, optimizer)

    def get_compile_config(self):
        if self.encoder_optimizer is None:  # never compiled: nothing to re-create on load
            return None
        return {name: keras.optimizers.serialize(getattr(self, name)) for name in OPTIMIZERS}

    def compile_from_config(self, config):
        self.compile(**{name: keras.optimizers.deserialize(config[name]) for name in OPTIMIZERS})

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
        weight = losses.kl_weight(self.encoder_optimizer.iterations, self.beta, self.kl_warmup_steps)
        objectives = {"encoder": weight * kl + llike, "decoder": self.gamma * llike + adversarial,
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
