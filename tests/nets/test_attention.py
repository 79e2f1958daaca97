"""SelfAttention2D (SAGAN): identity at γ = 0, rows of attention weights sum to 1, γ gets gradients;
the config switch places it where asked, refuses sides the network does not have, and survives a reload."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY_GAN_OVERRIDES, TINY_OVERRIDES

from vae_gan_tf.config import load_config
from vae_gan_tf.errors import UserError
from vae_gan_tf.models.catalog import build_model
from vae_gan_tf.nets.attention import SelfAttention2D

X = np.random.default_rng(0).standard_normal((3, 5, 6, 16)).astype(np.float32)


def test_with_gamma_zero_the_layer_is_the_identity():
    layer = SelfAttention2D()
    np.testing.assert_array_equal(layer(X).numpy(), X)


def test_attention_weights_are_a_softmax_over_all_positions():
    layer = SelfAttention2D(reduction=4)
    layer(X)
    beta = layer.attention(X).numpy()
    assert beta.shape == (3, 30, 30)
    assert (beta >= 0).all()
    np.testing.assert_allclose(beta.sum(axis=-1), 1.0, rtol=1e-5)


def test_gradients_reach_gamma_and_a_nonzero_gamma_changes_the_output():
    layer = SelfAttention2D()
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(layer(X)))
    grad = tape.gradient(loss, layer.gamma)
    assert grad is not None and abs(float(grad)) > 0
    layer.gamma.assign(0.5)
    assert np.abs(layer(X).numpy() - X).max() > 1e-3


@pytest.mark.parametrize("overrides, networks", [
    (TINY_OVERRIDES + ["model.attention_resolution=4"], ["decoder"]),
    (TINY_GAN_OVERRIDES + ["model.attention_resolution=4"],
     ["generator", "discriminator"]),
], ids=["conv_vae", "dcgan"])
def test_config_switch_inserts_attention_and_the_model_reloads(overrides, networks, tmp_path):
    config = load_config(None, overrides)
    model = build_model(config, (8, 8, 1))
    for name in networks:
        found = [layer for layer in getattr(model, name).layers if isinstance(layer, SelfAttention2D)]
        assert len(found) == 1 and found[0].output.shape[1] == 4, name
    path = tmp_path / "m.keras"
    model.save(path)
    import keras
    reloaded = keras.models.load_model(path)
    z = np.random.default_rng(1).standard_normal((2, model.latent_dim)).astype(np.float32)
    np.testing.assert_allclose(reloaded.generate(z).numpy(), model.generate(z).numpy(), atol=1e-6)


def test_a_side_the_network_does_not_have_is_refused_with_the_valid_ones():
    with pytest.raises(UserError, match=r"attention_resolution=5 is not a feature-map side.*\[7, 14, 28\]"):
        load_config(None, ["model.attention_resolution=5"])
    with pytest.raises(UserError, match="needs a convolutional network"):
        load_config(None, ["model.architecture=mlp", "model.attention_resolution=7"])
