"""Fully connected encoders and decoders (doc 003 §4.1: 784-512-256-64; Burda et al. 2015: 784-200-200-50)."""

from __future__ import annotations

import math

import keras
from keras import layers

from vae_gan_tf.nets.spectral_norm import maybe_spectral


def mlp_encoder(image_shape, hidden_units, latent_dim, heads, activation="relu", name="encoder",
                concat_input=False):
    """x -> one Dense(latent_dim) per head (e.g. ``("mean", "log_var")``: separate layers, not a shared one);
    ``concat_input`` joins the flattened input to the last hidden layer before the heads (Dai & Wipf's
    second stage, their ``build_encoder2``)."""
    x = keras.Input(shape=tuple(image_shape), name="image")
    h = flat = layers.Flatten()(x)
    for i, units in enumerate(hidden_units):
        h = layers.Dense(units, activation=activation, name=f"dense_{i}")(h)
    if concat_input:
        h = layers.Concatenate(name="with_input")([flat, h])
    outputs = [layers.Dense(latent_dim, dtype="float32", name=head)(h) for head in heads]  # float32 under mixed precision
    return keras.Model(x, outputs if len(outputs) > 1 else outputs[0], name=name)


def mlp_decoder(latent_dim, hidden_units, image_shape, activation="relu", name="decoder", concat_input=False):
    """z -> hidden layers in reverse order -> per-pixel logits of ``image_shape`` (no output activation);
    ``concat_input`` joins z to the last hidden layer (Dai & Wipf's ``build_decoder2``)."""
    z = keras.Input(shape=(latent_dim,), name="z")
    h = z
    for i, units in enumerate(reversed(list(hidden_units))):
        h = layers.Dense(units, activation=activation, name=f"dense_{i}")(h)
    if concat_input:
        h = layers.Concatenate(name="with_input")([z, h])
    h = layers.Dense(math.prod(image_shape), name="logits")(h)
    h = layers.Reshape(tuple(image_shape))(h)
    out = layers.Activation("linear", dtype="float32", name="image_logits")(h)  # last: float32 under mixed precision
    return keras.Model(z, out, name=name)


def mlp_generator(latent_dim, hidden_units, output_shape, output_activation="tanh", name="generator"):
    """z -> ReLU dense layers -> Dense(prod(shape)) -> tanh (images in [-1, 1]) or linear (points)."""
    z = keras.Input(shape=(latent_dim,), name="z")
    h = z
    for i, units in enumerate(hidden_units):
        h = layers.Dense(units, activation="relu", name=f"dense_{i}")(h)
    h = layers.Dense(math.prod(output_shape), name="output")(h)
    h = layers.Reshape(tuple(output_shape))(h)
    out = layers.Activation(output_activation, dtype="float32", name=output_activation)(h)
    return keras.Model(z, out, name=name)


def mlp_discriminator(input_shape, hidden_units, output_bias=True, spectral_norm=False, name="discriminator"):
    """x -> LeakyReLU(0.2) dense layers -> one logit (no sigmoid: losses take logits); ``spectral_norm``
    wraps every Dense in SpectralNormalization (Miyato et al. 2018)."""
    x = keras.Input(shape=tuple(input_shape), name="x")
    h = layers.Flatten()(x)
    for i, units in enumerate(hidden_units):
        h = maybe_spectral(layers.Dense(units, name=f"dense_{i}"), spectral_norm)(h)
        h = layers.LeakyReLU(0.2)(h)
    out = maybe_spectral(layers.Dense(1, use_bias=output_bias, dtype="float32", name="logit"), spectral_norm)(h)
    return keras.Model(x, out, name=name)
