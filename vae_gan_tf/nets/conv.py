"""Convolutional encoders and decoders whose shapes fit (doc 002 §1.4.1-1.4.2, corrected).

Each entry of ``filters`` is one 3x3 stride-2 convolution, so an image of side s becomes
s / 2**len(filters); the decoder mirrors it with stride-2 transposed convolutions and ends in a
stride-1 transposed convolution to the image channels (logits). With ``attention_resolution`` the
decoder has a :class:`SelfAttention2D` after its feature map of that side (SAGAN, Zhang et al. 2018).
"""

from __future__ import annotations

import keras
from keras import layers

from vae_gan_tf.nets.attention import SelfAttention2D


def conv_encoder(image_shape, filters, latent_dim, heads, dense_units=0, activation="relu", name="encoder"):
    """x -> [Conv2D(f, 3, stride 2)] * len(filters) -> Flatten -> [Dense] -> one Dense(latent_dim) per head."""
    x = keras.Input(shape=tuple(image_shape), name="image")
    h = x
    for i, f in enumerate(filters):
        h = layers.Conv2D(f, 3, strides=2, padding="same", activation=activation, name=f"conv_{i}")(h)
    h = layers.Flatten()(h)
    if dense_units:
        h = layers.Dense(dense_units, activation=activation, name="dense")(h)
    outputs = [layers.Dense(latent_dim, dtype="float32", name=head)(h) for head in heads]  # float32 under mixed precision
    return keras.Model(x, outputs if len(outputs) > 1 else outputs[0], name=name)


def conv_decoder(latent_dim, filters, image_shape, dense_units=0, activation="relu", attention_resolution=None,
                 name="decoder"):
    """z -> [Dense] -> Dense(s·s·f_last) -> Reshape -> transposed convs (stride 2) -> logits of ``image_shape``."""
    height, width, channels = image_shape
    factor = 2 ** len(filters)
    z = keras.Input(shape=(latent_dim,), name="z")
    h = z
    if dense_units:
        h = layers.Dense(dense_units, activation=activation, name="dense")(h)
    h = layers.Dense((height // factor) * (width // factor) * filters[-1], activation=activation, name="project")(h)
    h = maybe_attention(layers.Reshape((height // factor, width // factor, filters[-1]))(h), attention_resolution)
    for i, f in enumerate(reversed(list(filters))):
        h = layers.Conv2DTranspose(f, 3, strides=2, padding="same", activation=activation, name=f"deconv_{i}")(h)
        h = maybe_attention(h, attention_resolution)
    out = layers.Conv2DTranspose(channels, 3, strides=1, padding="same", dtype="float32", name="image_logits")(h)
    return keras.Model(z, out, name=name)


def maybe_attention(h, resolution):
    """``h`` through a SelfAttention2D when its side is ``resolution`` (config key attention_resolution)."""
    if resolution is not None and h.shape[1] == resolution:
        return SelfAttention2D(name=f"attention_{resolution}")(h)
    return h
