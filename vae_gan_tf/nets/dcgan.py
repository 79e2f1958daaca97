"""DCGAN generator and discriminator (Radford et al. 2016, §3): strided (transposed) convolutions,
BatchNorm in G (and in D after its first layer), ReLU in G, LeakyReLU(0.2) in D, tanh output.

A WGAN-GP critic has no BatchNorm (Gulrajani et al. 2017, §4: the penalty is per example, and
BatchNorm makes each output depend on the whole batch). ``attention_resolution`` inserts a
SelfAttention2D after the feature map of that side in G and in D (SAGAN, Zhang et al. 2018, §5).

BatchNorm is ``synchronized``: under a distribution strategy its batch statistics are those of the
global batch (an all-reduce; the identity on one device). Per-replica statistics would make the
moving averages differ between workers (measured: up to 1e-2 after 6 steps on 2 workers) and the
result depend on the replica count, against ``train.batch_size`` being the global batch.
"""

from __future__ import annotations

import keras
from keras import layers

from vae_gan_tf.nets.conv import maybe_attention
from vae_gan_tf.nets.spectral_norm import maybe_spectral


def batch_norm() -> layers.BatchNormalization:
    """BatchNorm over the global batch (module docstring)."""
    return layers.BatchNormalization(synchronized=True)


def dcgan_generator(latent_dim, filters, image_shape, output_activation="tanh", attention_resolution=None,
                    name="generator"):
    """z -> Dense(s·s·filters[0]) -> BN-ReLU -> [ConvT(f, 5, 2) -> BN-ReLU] for filters[1:] -> ConvT(C, 5, 2).

    With ``len(filters)`` upsamplings, s = H / 2**len(filters): [128, 64] makes 7 -> 14 -> 28,
    [256, 128, 64] makes 4 -> 8 -> 16 -> 32.
    """
    height, width, channels = image_shape
    factor = 2 ** len(filters)
    z = keras.Input(shape=(latent_dim,), name="z")
    h = layers.Dense((height // factor) * (width // factor) * filters[0], use_bias=False, name="project")(z)
    h = batch_norm()(h)
    h = layers.ReLU()(h)
    h = maybe_attention(layers.Reshape((height // factor, width // factor, filters[0]))(h), attention_resolution)
    for i, f in enumerate(filters[1:]):
        h = layers.Conv2DTranspose(f, 5, strides=2, padding="same", use_bias=False, name=f"deconv_{i}")(h)
        h = batch_norm()(h)
        h = maybe_attention(layers.ReLU()(h), attention_resolution)
    h = layers.Conv2DTranspose(channels, 5, strides=2, padding="same", name="to_image")(h)
    out = layers.Activation(output_activation, dtype="float32", name=output_activation)(h)
    return keras.Model(z, out, name=name)


def dcgan_discriminator(image_shape, filters, batchnorm=True, output_bias=True, attention_resolution=None,
                        spectral_norm=False, name="discriminator"):
    """x -> [Conv2D(f, 5, 2) -> (BN) -> LeakyReLU(0.2)] per filter -> Flatten -> one logit; ``spectral_norm``
    wraps every Conv2D and the Dense in SpectralNormalization (Miyato et al. 2018)."""
    x = keras.Input(shape=tuple(image_shape), name="x")
    h = x
    for i, f in enumerate(filters):
        h = maybe_spectral(layers.Conv2D(f, 5, strides=2, padding="same", name=f"conv_{i}"), spectral_norm)(h)
        if batchnorm and i > 0:
            h = batch_norm()(h)
        h = maybe_attention(layers.LeakyReLU(0.2)(h), attention_resolution)
    h = layers.Flatten()(h)
    out = maybe_spectral(layers.Dense(1, use_bias=output_bias, dtype="float32", name="logit"), spectral_norm)(h)
    return keras.Model(x, out, name=name)
