"""Network builders: functional ``keras.Model``s that the model classes compose."""

from vae_gan_tf.nets.conv import conv_decoder, conv_encoder
from vae_gan_tf.nets.dcgan import dcgan_discriminator, dcgan_generator
from vae_gan_tf.nets.infogan import infogan_discriminator, infogan_encoder, infogan_generator
from vae_gan_tf.nets.mlp import mlp_decoder, mlp_discriminator, mlp_encoder, mlp_generator
from vae_gan_tf.nets.packing import packed_shape


def make_encoder(image_shape, architecture, latent_dim, heads, hidden_units, conv_filters, dense_units, activation):
    """The encoder that a model config describes: x -> one Dense(latent_dim) per head (``infogan``:
    nets/infogan.py, which ignores the layer sizes and the activation)."""
    if architecture == "mlp":
        return mlp_encoder(image_shape, hidden_units, latent_dim, heads, activation)
    if architecture == "infogan":  # Dai & Wipf's encoder: its own layer sizes and activations
        return infogan_encoder(image_shape, latent_dim, heads)
    return conv_encoder(image_shape, conv_filters, latent_dim, heads, dense_units, activation)


def make_decoder(input_dim, architecture, image_shape, hidden_units, conv_filters, dense_units, activation,
                 attention_resolution=None):
    """The decoder that a model config describes: a vector of ``input_dim`` -> logits of ``image_shape``
    (attention: conv decoders only)."""
    if architecture == "mlp":
        return mlp_decoder(input_dim, hidden_units, image_shape, activation)
    if architecture == "infogan":  # Dai & Wipf's decoder (ReLU), to logits
        return infogan_generator(input_dim, image_shape, "linear", "relu", name="decoder")
    return conv_decoder(input_dim, conv_filters, image_shape, dense_units, activation, attention_resolution)


def generator_discriminator(image_shape, architecture, latent_dim, generator_units, discriminator_units,
                            generator_filters, discriminator_filters, output_activation, critic=False,
                            attention_resolution=None, pack=1, spectral_norm=False):
    """The (generator, discriminator) pair that an adversarial config describes.

    With PacGAN packing (``pack`` = m > 1) the discriminator takes m samples at once, concatenated on the
    last axis (``nets/packing.py``); ``spectral_norm`` normalizes its kernels (``nets/spectral_norm.py``).

    A Wasserstein ``critic`` has no BatchNorm (Gulrajani et al. 2017, §4) and no output bias: its
    losses are invariant to a constant shift of f, so that bias would get a zero gradient, which Adam
    turns into updates driven by rounding noise.
    """
    d_shape = packed_shape(image_shape, pack)
    if architecture == "infogan":  # Lucic et al. 2018's networks as compare_gan coded them (LeakyReLU in G)
        return (infogan_generator(latent_dim, image_shape, output_activation, "leaky_relu"),
                infogan_discriminator(d_shape, batchnorm=not critic, output_bias=not critic,
                                      spectral_norm=spectral_norm))
    if architecture == "dcgan":
        return (dcgan_generator(latent_dim, generator_filters, image_shape, output_activation, attention_resolution),
                dcgan_discriminator(d_shape, discriminator_filters, batchnorm=not critic, output_bias=not critic,
                                    attention_resolution=attention_resolution, spectral_norm=spectral_norm))
    return (mlp_generator(latent_dim, generator_units, image_shape, output_activation),
            mlp_discriminator(d_shape, discriminator_units, output_bias=not critic, spectral_norm=spectral_norm))
