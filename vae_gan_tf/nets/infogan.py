"""The InfoGAN-style MNIST networks of Lucic et al. 2018 ("Are GANs created equal?", their Table of
architectures, after Chen et al. 2016) and of Dai & Wipf 2019 (the same networks as a VAE, their code's
``Infogan`` model, github.com/daib13/TwoStageVAE), for images whose side is a multiple of 4:

    G / decoder: z -> FC 1024 -> BN-act -> FC (s/4)·(s/4)·128 -> BN-act -> deconv 64, 4x4, stride 2
                 -> BN-act -> deconv C, 4x4, stride 2 -> output activation
    D / encoder: x -> conv 64, 4x4, stride 2 -> LeakyReLU(0.2) -> conv 128, 4x4, stride 2 -> BN -> LeakyReLU
                 -> FC 1024 -> BN -> LeakyReLU -> one logit (D) or one FC per head (the encoder's μ, log σ²)

Weights start from N(0, 0.02²) and biases from 0, as in both codes (``linear``/``conv2d``/``deconv2d`` of
their ``ops.py``/``util.py``). What each code does differently is an argument here: G's hidden activation
(``leaky_relu`` in compare_gan's generator, which produced Lucic et al.'s numbers; ``relu`` in Dai & Wipf's
decoder and in InfoGAN); D's BatchNorm (compare_gan's ``discriminator_batchnorm``, off for a Wasserstein
critic). Not kept: Dai & Wipf's spectral normalization of the encoder (the VAE step here has no power
iteration) and their encoder's σ = softplus(·) + 1e-6 head (a log σ² head here, as every VAE of the library);
BatchNorm is Keras's (momentum 0.99, ε 1e-3) where both codes used a moving-average decay of 0.999.
"""

from __future__ import annotations

import keras
from keras import layers

from vae_gan_tf.nets.dcgan import batch_norm
from vae_gan_tf.nets.spectral_norm import maybe_spectral


def _init():
    """N(0, 0.02²), a fresh initializer per layer (a shared unseeded one would repeat its draws)."""
    return keras.initializers.RandomNormal(stddev=0.02)


def _activation(name: str):
    return layers.LeakyReLU(0.2) if name == "leaky_relu" else layers.Activation(name)


def infogan_generator(latent_dim, image_shape, output_activation="tanh", activation="relu", name="generator"):
    """z -> FC 1024 -> FC (s/4)²·128 -> deconv 64 -> deconv C (module docstring), BN and ``activation`` after
    each hidden layer; ``output_activation`` ``linear`` gives a VAE decoder's logits."""
    height, width, channels = image_shape
    z = keras.Input(shape=(latent_dim,), name="z")
    h = layers.Dense(1024, use_bias=False, kernel_initializer=_init(), name="fc_1024")(z)
    h = _activation(activation)(batch_norm()(h))
    h = layers.Dense((height // 4) * (width // 4) * 128, use_bias=False, kernel_initializer=_init(),
                     name="project")(h)
    h = _activation(activation)(batch_norm()(h))
    h = layers.Reshape((height // 4, width // 4, 128))(h)
    h = layers.Conv2DTranspose(64, 4, strides=2, padding="same", use_bias=False, kernel_initializer=_init(),
                               name="deconv_64")(h)
    h = _activation(activation)(batch_norm()(h))
    h = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", kernel_initializer=_init(),
                               name="to_image")(h)
    out = layers.Activation(output_activation, dtype="float32", name=f"image_{output_activation}")(h)
    return keras.Model(z, out, name=name)


def infogan_features(x, batchnorm=True, spectral_norm=False):
    """The discriminator's body up to its 1024 features (module docstring)."""
    h = maybe_spectral(layers.Conv2D(64, 4, strides=2, padding="same", kernel_initializer=_init(),
                                     name="conv_64"), spectral_norm)(x)
    h = layers.LeakyReLU(0.2)(h)
    h = maybe_spectral(layers.Conv2D(128, 4, strides=2, padding="same", kernel_initializer=_init(),
                                     name="conv_128"), spectral_norm)(h)
    h = layers.LeakyReLU(0.2)(batch_norm()(h) if batchnorm else h)
    h = layers.Flatten()(h)
    h = maybe_spectral(layers.Dense(1024, kernel_initializer=_init(), name="fc_1024"), spectral_norm)(h)
    return layers.LeakyReLU(0.2)(batch_norm()(h) if batchnorm else h)


def infogan_discriminator(image_shape, batchnorm=True, output_bias=True, spectral_norm=False,
                          name="discriminator"):
    """x -> conv 64 -> conv 128 -> FC 1024 -> one logit (raw score for a critic: no BN, no output bias)."""
    x = keras.Input(shape=tuple(image_shape), name="x")
    h = infogan_features(x, batchnorm, spectral_norm)
    out = maybe_spectral(layers.Dense(1, use_bias=output_bias, kernel_initializer=_init(), dtype="float32",
                                      name="logit"), spectral_norm)(h)
    return keras.Model(x, out, name=name)


def infogan_encoder(image_shape, latent_dim, heads, name="encoder"):
    """x -> the discriminator's body (with BN) -> one Dense(latent_dim) per head (Dai & Wipf's encoder)."""
    x = keras.Input(shape=tuple(image_shape), name="image")
    h = infogan_features(x)
    outputs = [layers.Dense(latent_dim, kernel_initializer=_init(), dtype="float32", name=head)(h)
               for head in heads]
    return keras.Model(x, outputs if len(outputs) > 1 else outputs[0], name=name)
