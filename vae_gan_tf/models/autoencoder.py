"""Deterministic autoencoder: doc 002 §1.3.1.1's objective min_{E,D} E_x ‖x − D(E(x))‖², and §1.4.1's
conv network with shapes that fit."""

from __future__ import annotations

import keras
import tensorflow as tf

from vae_gan_tf import losses
from vae_gan_tf.models.base import SingleObjectiveModel
from vae_gan_tf.nets import make_decoder, make_encoder


@keras.saving.register_keras_serializable(package="vae_gan_tf")
class Autoencoder(SingleObjectiveModel):
    """Encoder x -> code, decoder code -> x̂; the loss is a reconstruction term only.

    ``likelihood``: ``squared_error`` (doc 002's objective; the decoder output is x̂ itself) or
    ``bernoulli`` (cross-entropy from logits; x̂ = sigmoid(logits)).
    """

    heads = ("code",)
    metric_names = ("loss",)

    def __init__(self, image_shape, architecture="conv", latent_dim=16, hidden_units=(512, 256),
                 conv_filters=(32, 64), dense_units=0, activation="relu", likelihood="squared_error",
                 attention_resolution=None, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(int(s) for s in image_shape)
        self.architecture = architecture
        self.latent_dim = int(latent_dim)
        self.hidden_units = list(hidden_units)
        self.conv_filters = list(conv_filters)
        self.dense_units = int(dense_units)
        self.activation = activation
        self.likelihood = likelihood
        self.attention_resolution = attention_resolution
        self.encoder, self.decoder = self.make_networks()
        self.make_trackers()

    def get_config(self):
        return {**super().get_config(), "image_shape": self.image_shape, "architecture": self.architecture,
                "latent_dim": self.latent_dim, "hidden_units": self.hidden_units,
                "conv_filters": self.conv_filters, "dense_units": self.dense_units,
                "activation": self.activation, "likelihood": self.likelihood,
                "attention_resolution": self.attention_resolution}

    def make_networks(self):
        """(encoder, decoder) for this model's config (conditional models wrap them)."""
        return (make_encoder(self.image_shape, self.architecture, self.latent_dim, self.heads, self.hidden_units,
                             self.conv_filters, self.dense_units, self.activation),
                make_decoder(self.latent_dim, self.architecture, self.image_shape, self.hidden_units,
                             self.conv_filters, self.dense_units, self.activation, self.attention_resolution))

    # ---- the model's maps

    def encode(self, x, training=False):
        return self.encoder(x, training=training)

    def decode(self, z, training=False):
        """The mean of p(x|z): sigmoid(logits) for ``bernoulli``, the decoder output otherwise."""
        out = self.decoder(z, training=training)
        return tf.sigmoid(out) if self.likelihood == "bernoulli" else out

    def call(self, x, training=False):
        """Reconstruction *logits* (or x̂ for squared error) of ``x``."""
        return self.decoder(self.encode(x, training=training), training=training)

    def reconstruction_loss(self, x, decoder_output):
        """Per-example reconstruction term, shape (batch,)."""
        if self.likelihood == "bernoulli":
            return losses.bernoulli_negative_log_likelihood(x, decoder_output)
        return losses.squared_error(x, decoder_output)

    # ---- training

    def compute_terms(self, x, training):
        """The batch-mean loss terms, keyed by metric name; ``loss`` is what is minimised."""
        return {"loss": tf.reduce_mean(self.reconstruction_loss(x, self(x, training=training)))}
