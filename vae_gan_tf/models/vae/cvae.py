"""The conditional VAE (Sohn et al. 2015): the batches are (images, labels) (data/pipeline.py, side input) and
every map takes the labels too: ``encode(x, y)``, ``decode(z, y)``, ``generate(z, y)`` (nets/conditional.py)."""

from __future__ import annotations

import keras
import tensorflow as tf

from vae_gan_tf.models import completion
from vae_gan_tf.models.vae.configs import CVAEConfig
from vae_gan_tf.models.vae.vae import VAE
from vae_gan_tf.nets import make_decoder, make_encoder
from vae_gan_tf.nets.conditional import conditional_decoder, conditional_encoder, label_spec


@keras.saving.register_keras_serializable(package="vae_gan_tf")
class ConditionalVAE(VAE):
    """CVAE (Sohn et al. 2015): q(z|x, y), p(x|z, y), prior N(0, I) for every class, so the loss is the
    VAE's β-ELBO with y given to both networks; ``generate(z, y)`` draws class y."""

    config_class = CVAEConfig

    def make_networks(self):
        c, (height, width, channels) = self.model_config, self.image_shape
        encoder = make_encoder((height, width, channels + c.num_classes), c.architecture, c.latent_dim,
                               self.heads, c.hidden_units, c.conv_filters, c.dense_units, c.activation)
        decoder = make_decoder(c.latent_dim + c.num_classes, c.architecture, self.image_shape, c.hidden_units,
                               c.conv_filters, c.dense_units, c.activation, c.attention_resolution)
        return (conditional_encoder(encoder, self.image_shape, c.num_classes),
                conditional_decoder(decoder, c.latent_dim, c.num_classes))

    def batch_inputs(self, data):
        return tuple(data)

    def encode(self, x, labels, training=False):
        return self.encoder([tf.convert_to_tensor(x), tf.cast(labels, tf.int32)], training=training)

    def decode(self, z, labels, training=False):
        """The mean of p(x|z, y)."""
        logits = self.decode_logits(z, labels, training)
        return self.output_mean(logits)

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
        z = self.sample_posterior(mean, log_var)
        return self.elbo_terms(x, self.decode_logits(z, labels, training), mean, log_var, z)

    def endpoints(self) -> dict:
        """Each map with one int32 ``label`` per example as its last input; ``generate(label)`` draws
        z ~ N(0, I) inside, one image per label; ``complete`` runs the chain given the labels."""
        x_spec, z_spec, labels = self.x_spec(), self.z_spec(), label_spec()

        def generate(label):
            return self.generate(tf.random.normal(tf.stack([tf.shape(label)[0], self.latent_dim])), label)

        def complete(x, mask, label, iterations):
            return completion.markov_chain_completion(
                lambda c: self.decode(self.encode(c, label)[0], label), x, mask, iterations, 0.5)

        return {
            "sample": (lambda z, label: self.generate(z, label), [z_spec, labels]),
            "generate": (generate, [labels]),
            "encode": (lambda x, label: self.encode(x, label), [x_spec, labels]),
            "decode": (lambda z, label: self.decode(z, label), [z_spec, labels]),
            "reconstruct": (lambda x, label: self.decode(self.encode(x, label)[0], label), [x_spec, labels]),
            "complete": (complete, [x_spec, self.x_spec("mask"), labels,
                                    tf.TensorSpec((), tf.int32, name="iterations")]),
        }
