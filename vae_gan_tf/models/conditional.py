"""Class-conditional models: the batches are (images, labels) (data/pipeline.py, side input) and every map
takes the labels too: ``encode(x, y)``, ``decode(z, y)``, ``generate(z, y)`` (nets/conditional.py)."""

from __future__ import annotations

import keras
import tensorflow as tf

from vae_gan_tf import losses
from vae_gan_tf.models.gan import GAN
from vae_gan_tf.models.vae import VAE
from vae_gan_tf.nets import make_decoder, make_encoder
from vae_gan_tf.nets.conditional import (conditional_decoder, conditional_encoder, embedded_generator,
                                         projection_discriminator)


@keras.saving.register_keras_serializable(package="vae_gan_tf")
class ConditionalVAE(VAE):
    """CVAE (Sohn et al. 2015): q(z|x, y), p(x|z, y), prior N(0, I) for every class, so the loss is the
    VAE's β-ELBO with y given to both networks; ``generate(z, y)`` draws class y."""

    def __init__(self, image_shape, num_classes=10, **kwargs):
        self.num_classes = int(num_classes)
        super().__init__(image_shape, **kwargs)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}

    def make_networks(self):
        height, width, channels = self.image_shape
        encoder = make_encoder((height, width, channels + self.num_classes), self.architecture, self.latent_dim,
                               self.heads, self.hidden_units, self.conv_filters, self.dense_units, self.activation)
        decoder = make_decoder(self.latent_dim + self.num_classes, self.architecture, self.image_shape,
                               self.hidden_units, self.conv_filters, self.dense_units, self.activation,
                               self.attention_resolution)
        return (conditional_encoder(encoder, self.image_shape, self.num_classes),
                conditional_decoder(decoder, self.latent_dim, self.num_classes))

    def batch_inputs(self, data):
        return tuple(data)

    def encode(self, x, labels, training=False):
        return self.encoder([tf.convert_to_tensor(x), tf.cast(labels, tf.int32)], training=training)

    def decode(self, z, labels, training=False):
        """The mean of p(x|z, y)."""
        logits = self.decode_logits(z, labels, training)
        return tf.sigmoid(logits) if self.likelihood == "bernoulli" else logits

    def decode_logits(self, z, labels, training=False):
        return self.decoder([tf.convert_to_tensor(z), tf.cast(labels, tf.int32)], training=training)

    def generate(self, z, labels):
        return self.decode(z, labels)

    def call(self, inputs, training=False):
        x, labels = inputs
        mean, log_var = self.encode(x, labels, training=training)
        z = self.sample_posterior(mean, log_var) if training else mean
        return self.decode_logits(z, labels, training)

    def compute_terms(self, x, labels, training):
        mean, log_var = self.encode(x, labels, training=training)
        logits = self.decode_logits(self.sample_posterior(mean, log_var), labels, training)
        reconstruction = tf.reduce_mean(self.reconstruction_loss(x, logits))
        kl = tf.reduce_mean(losses.kl_divergence_normal(mean, log_var))
        weight = losses.kl_weight(self.optimizer.iterations, self.beta, self.kl_warmup_steps)
        return {"loss": losses.negative_elbo(reconstruction, kl, weight), "reconstruction": reconstruction,
                "kl": kl}


@keras.saving.register_keras_serializable(package="vae_gan_tf")
class ConditionalGAN(GAN):
    """G(z, y) with a learned label embedding, D(x, y) by projection (Miyato & Koyama 2018). The fakes of a
    step take the labels of its real batch, so both sides see the data's class frequencies."""

    def __init__(self, image_shape, num_classes=10, embedding_dim=16, **kwargs):
        self.num_classes = int(num_classes)
        self.embedding_dim = int(embedding_dim)
        super().__init__(image_shape, **kwargs)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "embedding_dim": self.embedding_dim}

    def make_networks(self):
        generator, scorer = super().make_networks(self.latent_dim + self.embedding_dim)  # G's input: [z, e(y)]
        return (embedded_generator(generator, self.latent_dim, self.num_classes, self.embedding_dim),
                projection_discriminator(scorer, self.image_shape, self.num_classes, output_bias=not self.critic))

    def fake(self, z, labels, training):
        return self.generator([z, labels], training=training)

    def score(self, x, labels, training):
        return self.discriminator([x, labels], training=training)

    def generate(self, z, labels):
        generator = self.ema_generator if self.ema_generator is not None else self.generator
        return generator([tf.convert_to_tensor(z), tf.cast(labels, tf.int32)], training=False)

    def call(self, inputs, training=False):
        x, labels = inputs
        return self.score(x, labels, training)
