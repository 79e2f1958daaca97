"""Deterministic autoencoder: doc 002 §1.3.1.1's objective min_{E,D} E_x ‖x − D(E(x))‖², and §1.4.1's
conv network with shapes that fit."""

from __future__ import annotations

import keras
import tensorflow as tf

from vae_gan_tf.models import completion, losses
from vae_gan_tf.models.base import SingleObjectiveModel
from vae_gan_tf.models.vae.configs import UNIT_MEAN_LIKELIHOODS, AutoencoderConfig
from vae_gan_tf.nets import make_decoder, make_encoder


@keras.saving.register_keras_serializable(package="vae_gan_tf")
class Autoencoder(SingleObjectiveModel):
    """Encoder x -> code, decoder code -> x̂; the loss is a reconstruction term only.

    ``likelihood``: ``squared_error`` (doc 002's objective; the decoder output is x̂ itself) or
    ``bernoulli`` (cross-entropy from logits; x̂ = sigmoid(logits)).
    """

    config_class = AutoencoderConfig
    heads = ("code",)
    metric_names = ("loss",)

    def __init__(self, model_config, image_shape, **kwargs):
        super().__init__(model_config, image_shape, **kwargs)
        self.encoder, self.decoder = self.make_networks()
        self.make_trackers()

    @property
    def likelihood(self) -> str:
        return self.model_config.likelihood

    def make_networks(self):
        """(encoder, decoder) for this model's config (conditional models wrap them)."""
        c = self.model_config
        return (make_encoder(self.image_shape, c.architecture, c.latent_dim, self.heads, c.hidden_units,
                             c.conv_filters, c.dense_units, c.activation),
                make_decoder(c.latent_dim, c.architecture, self.image_shape, c.hidden_units, c.conv_filters,
                             c.dense_units, c.activation, c.attention_resolution))

    # ---- the model's maps

    def encode(self, x, training=False):
        return self.encoder(x, training=training)

    def decode(self, z, training=False):
        """The mean of p(x|z) (:meth:`output_mean` of the decoder's output)."""
        return self.output_mean(self.decoder(z, training=training))

    def output_mean(self, out):
        """sigmoid(logits) for ``bernoulli`` and ``gaussian_learned`` (images in [0, 1]), the decoder output
        itself otherwise."""
        return tf.sigmoid(out) if self.likelihood in UNIT_MEAN_LIKELIHOODS else out

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

    # ---- SavedModel endpoints (runs/export.py)

    def endpoints(self) -> dict:
        """encode, decode, reconstruct, and for images ``complete(x, mask, iterations)``: Rezende et al.
        2014's chain (models/completion.py)."""
        x_spec = self.x_spec()

        def encode(x):
            return self.encode(x)

        def decode(z):
            return self.decode(z)

        def reconstruct(x):
            return self.decode(self.code_mean(self.encode(x)))

        def complete(x, mask, iterations):
            return completion.markov_chain_completion(
                lambda c: self.decode(self.code_mean(self.encode(c))), x, mask, iterations, 0.5)

        endpoints = {"encode": (encode, [x_spec]), "decode": (decode, [self.z_spec()]),
                     "reconstruct": (reconstruct, [x_spec])}
        if len(self.image_shape) == 3:  # images, not points
            iterations = tf.TensorSpec((), tf.int32, name="iterations")
            endpoints["complete"] = (complete, [x_spec, self.x_spec("mask"), iterations])
        return endpoints

    @staticmethod
    def code_mean(code):
        """The posterior mean of an ``encode`` result: the code itself, or the mean of (mean, log_var)."""
        return code[0] if isinstance(code, (list, tuple)) else code
