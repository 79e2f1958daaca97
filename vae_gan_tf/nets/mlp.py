"""Fully connected encoders and decoders (doc 003 §4.1: 784-512-256-64; Burda et al. 2015: 784-200-200-50)."""

from __future__ import annotations

import math

import keras
from keras import layers


def mlp_encoder(image_shape, hidden_units, latent_dim, heads, activation="relu", name="encoder"):
    """x -> one Dense(latent_dim) per head (e.g. ``("mean", "log_var")``: separate layers, not a shared one)."""
    x = keras.Input(shape=tuple(image_shape), name="image")
    h = layers.Flatten()(x)
    for i, units in enumerate(hidden_units):
        h = layers.Dense(units, activation=activation, name=f"dense_{i}")(h)
    outputs = [layers.Dense(latent_dim, name=head)(h) for head in heads]
    return keras.Model(x, outputs if len(outputs) > 1 else outputs[0], name=name)


def mlp_decoder(latent_dim, hidden_units, image_shape, activation="relu", name="decoder"):
    """z -> hidden layers in reverse order -> per-pixel logits of ``image_shape`` (no output activation)."""
    z = keras.Input(shape=(latent_dim,), name="z")
    h = z
    for i, units in enumerate(reversed(list(hidden_units))):
        h = layers.Dense(units, activation=activation, name=f"dense_{i}")(h)
    h = layers.Dense(math.prod(image_shape), name="logits")(h)
    out = layers.Reshape(tuple(image_shape), name="image_logits")(h)
    return keras.Model(z, out, name=name)
