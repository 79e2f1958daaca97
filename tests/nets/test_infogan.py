"""The InfoGAN-style networks (nets/infogan.py): Lucic et al. 2018's layer sizes at 28x28, BatchNorm where
compare_gan puts it, and the VAE built on them."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from vae_gan_tf.config import load_config
from vae_gan_tf.errors import UserError
from vae_gan_tf.models.catalog import build_model


def kernels(model):
    return [(layer.__class__.__name__, tuple(layer.kernel.shape), layer.strides if hasattr(layer, "strides") else None)
            for layer in model.layers if hasattr(layer, "kernel")]


def count(model, kind):
    return sum(isinstance(layer, kind) for layer in model.layers)


@pytest.mark.parametrize("name, critic_bn", [("gan", 2), ("wgan", 0)])
def test_mnist_networks_have_the_published_layers(name, critic_bn):
    config = load_config(None, ["data.source=digits", "data.scale=symmetric", f"model.name={name}",
                                "model.architecture=infogan", "model.latent_dim=64"])
    model = build_model(config, (28, 28, 1))
    assert kernels(model.generator) == [("Dense", (64, 1024), None), ("Dense", (1024, 7 * 7 * 128), None),
                                        ("Conv2DTranspose", (4, 4, 64, 128), (2, 2)),
                                        ("Conv2DTranspose", (4, 4, 1, 64), (2, 2))]
    assert count(model.generator, keras.layers.BatchNormalization) == 3
    assert count(model.generator, keras.layers.LeakyReLU) == 3  # compare_gan's generator
    assert kernels(model.discriminator) == [("Conv2D", (4, 4, 1, 64), (2, 2)), ("Conv2D", (4, 4, 64, 128), (2, 2)),
                                            ("Dense", (7 * 7 * 128, 1024), None), ("Dense", (1024, 1), None)]
    assert count(model.discriminator, keras.layers.BatchNormalization) == critic_bn  # none in a critic
    fake = model.generator(tf.random.normal((3, 64)), training=False)
    assert tuple(fake.shape) == (3, 28, 28, 1) and float(tf.reduce_max(tf.abs(fake))) <= 1.0
    assert tuple(model.discriminator(fake).shape) == (3, 1)


def test_vae_on_infogan_networks_decodes_with_relu_to_logits_and_encodes_two_heads():
    config = load_config(None, ["data.source=digits", "model.architecture=infogan", "model.latent_dim=64",
                                "model.likelihood=gaussian_learned"])
    model = build_model(config, (28, 28, 1))
    assert count(model.decoder, keras.layers.LeakyReLU) == 0 and count(model.decoder, keras.layers.ReLU) == 0
    assert [layer.activation.__name__ for layer in model.decoder.layers
            if isinstance(layer, keras.layers.Activation)] == ["relu", "relu", "relu", "linear"]
    mean, log_var = model.encode(np.zeros((2, 28, 28, 1), np.float32))
    assert tuple(mean.shape) == tuple(log_var.shape) == (2, 64)
    images = model.decode(tf.random.normal((2, 64)))
    assert 0.0 <= float(tf.reduce_min(images)) <= float(tf.reduce_max(images)) <= 1.0


@pytest.mark.parametrize("overrides, message", [
    (["model.architecture=infogan", "data.image_size=30"], "not divisible by 4"),
    (["model.name=vaegan", "model.architecture=infogan"], "not available for model.name vaegan"),
    (["model.name=gan", "model.architecture=infogan", "data.scale=symmetric", "model.output_activation=linear"],
     "output_activation=tanh"),
    (["model.architecture=infogan", "model.attention_resolution=7"], "architecture conv or dcgan"),
    (["model.likelihood=gaussian_learned", "data.scale=symmetric"], "needs pixels in [0, 1]"),
    (["model.name=cvae", "model.likelihood=gaussian_learned"], "for model.name vae and two_stage_vae"),
])
def test_what_the_networks_and_the_learned_gamma_cannot_do_is_one_clear_line(overrides, message):
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config(None, ["data.source=mnist5k", *overrides])
