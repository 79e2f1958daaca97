"""A few train steps lower each model's loss; .keras files reload with weights and optimizer state."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from vae_gan_tf.config import load_config
from vae_gan_tf.data.sources import load_source
from vae_gan_tf.models.catalog import build_model
from vae_gan_tf.models.vae.autoencoder import Autoencoder
from vae_gan_tf.models.vae.vae import VAE

DIGITS = load_source("digits").images[:256]

FAMILIES = {
    "conv_vae": ["model.conv_filters=[8, 16]", "model.latent_dim=4"],
    "mlp_vae": ["model.architecture=mlp", "model.hidden_units=[64, 32]", "model.latent_dim=4"],
    "gaussian_vae": ["model.conv_filters=[8]", "model.likelihood=gaussian", "model.gaussian_std=0.3"],
    "beta_vae_warmup": ["model.conv_filters=[8]", "model.beta=4", "model.kl_warmup_steps=5"],
    "beta_tc_vae": ["model.conv_filters=[8]", "model.tc_beta=6"],
    "learned_gamma_vae": ["model.conv_filters=[8]", "model.latent_dim=4", "model.likelihood=gaussian_learned"],
    "infogan_vae": ["model.architecture=infogan", "model.latent_dim=4", "model.likelihood=gaussian_learned"],
    "autoencoder": ["model.name=autoencoder", "model.conv_filters=[8, 16]", "model.latent_dim=8"],
    "bernoulli_autoencoder": ["model.name=autoencoder", "model.architecture=mlp", "model.hidden_units=[32]",
                              "model.likelihood=bernoulli"],
}


def compiled(overrides, seed=0):
    keras.utils.set_random_seed(seed)
    config = load_config(None, ["data.source=digits", *overrides])
    model = build_model(config, DIGITS.shape[1:])
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.optimizer.build(model.trainable_variables)
    return model


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_few_steps_lower_the_loss_on_a_fixed_batch(family):
    model = compiled(FAMILIES[family])
    batch = tf.constant(DIGITS[:64])
    before = model.test_step(batch)["loss"].numpy()
    for _ in range(25):
        model.train_step(batch)
    for metric in model.metrics:
        metric.reset_state()
    after = model.test_step(batch)["loss"].numpy()
    assert np.isfinite(after) and after < before


def test_vae_reports_its_terms_and_loss_is_their_sum():
    model = compiled(FAMILIES["conv_vae"])
    logs = model.train_step(tf.constant(DIGITS[:32]))
    assert set(logs) == {"loss", "reconstruction", "kl"}
    np.testing.assert_allclose(logs["loss"], logs["reconstruction"] + logs["kl"], rtol=1e-5)


def test_beta_tc_vae_logs_its_total_correlation_and_weighs_it_in_the_loss():
    model = compiled(FAMILIES["beta_tc_vae"])
    logs = model.test_step(tf.constant(DIGITS[:32]))
    assert set(logs) == {"loss", "reconstruction", "kl", "total_correlation"}
    np.testing.assert_allclose(logs["loss"], logs["reconstruction"] + logs["kl"] + 5 * logs["total_correlation"],
                               rtol=1e-5)


def test_kl_warmup_starts_at_zero_weight():
    model = compiled(FAMILIES["beta_vae_warmup"])
    logs = model.test_step(tf.constant(DIGITS[:32]))  # optimizer.iterations == 0: KL weight 0
    np.testing.assert_allclose(logs["loss"], logs["reconstruction"], rtol=1e-6)


def test_metrics_are_trackers_that_fit_resets_each_epoch():
    model = compiled(FAMILIES["conv_vae"])
    history = model.fit(tf.data.Dataset.from_tensor_slices(DIGITS).batch(32, drop_remainder=True),
                        epochs=2, verbose=0, shuffle=False)
    assert set(history.history) == {"loss", "reconstruction", "kl"}
    assert [m.name for m in model.metrics] == ["loss", "reconstruction", "kl"]


def test_noise_differs_between_calls_and_is_reproducible_from_the_seed():
    first, second = compiled(FAMILIES["conv_vae"], seed=0), compiled(FAMILIES["conv_vae"], seed=0)
    a, b = first.standard_normal((3,)), first.standard_normal((3,))
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, second.standard_normal((3,)))


@pytest.mark.parametrize("family", ["conv_vae", "autoencoder", "infogan_vae"])
def test_keras_file_round_trip_keeps_weights_and_optimizer_state(tmp_path, family):
    model = compiled(FAMILIES[family])
    batch = tf.constant(DIGITS[:32])
    for _ in range(3):
        model.train_step(batch)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded) is type(model)
    assert int(loaded.optimizer.iterations) == 3
    for original, restored in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(original.numpy(), restored.numpy())
    for original, restored in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(original.numpy(), restored.numpy())
    np.testing.assert_allclose(model(batch), loaded(batch), atol=1e-6)
    # and training continues identically: same noise counter, same Adam moments
    model.reset_metrics()
    loaded.reset_metrics()
    np.testing.assert_allclose(model.train_step(batch)["loss"], loaded.train_step(batch)["loss"], rtol=1e-6)


def test_registry_builds_each_family_with_the_config_fields():
    vae = compiled(FAMILIES["mlp_vae"])
    assert isinstance(vae, VAE) and vae.model_config.hidden_units == [64, 32] and vae.latent_dim == 4
    assert vae.encoder.get_layer("mean") is not vae.encoder.get_layer("log_var")  # separate heads
    autoencoder = compiled(FAMILIES["autoencoder"])
    assert isinstance(autoencoder, Autoencoder) and not isinstance(autoencoder, VAE)


def test_importance_weighted_bound_rises_with_k_and_is_above_the_elbo():
    from vae_gan_tf.models import losses

    model = compiled(FAMILIES["mlp_vae"])
    data = tf.data.Dataset.from_tensor_slices(DIGITS).batch(32, drop_remainder=True)
    model.fit(data, epochs=15, verbose=0, shuffle=False)
    x = tf.constant(np.repeat(DIGITS[:64], 8, axis=0))  # 8 independent estimates per image
    bounds = [float(tf.reduce_mean(losses.importance_weighted_bound(
        tf.cast(model.log_importance_weights(x, k), tf.float64)))) for k in (1, 20, 400)]
    assert bounds[0] < bounds[1] < bounds[2]


def test_encoder_and_decoder_share_no_variables():
    model = compiled(FAMILIES["conv_vae"])
    encoder_ids = {id(v) for v in model.encoder.variables}
    assert encoder_ids and not encoder_ids & {id(v) for v in model.decoder.variables}


def test_learned_gamma_loss_is_the_hand_formula_with_the_models_gamma_and_the_mean_is_a_sigmoid():
    model = compiled(FAMILIES["learned_gamma_vae"])
    model.gamma_parameter.assign(-2.0)
    x = DIGITS[:16]
    z = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32)
    logits = model.decoder(z).numpy()
    mean = model.decode(z).numpy()
    np.testing.assert_allclose(mean, 1 / (1 + np.exp(-logits)), rtol=1e-5)
    d, gamma = np.prod(x.shape[1:]), np.exp(-2.0)
    by_hand = np.sum((x - mean) ** 2, axis=(1, 2, 3)) / (2 * gamma) + d / 2 * np.log(2 * np.pi * gamma)
    np.testing.assert_allclose(model.reconstruction_loss(x, logits).numpy(), by_hand, rtol=1e-5)
    assert model.gamma_parameter in model.trainable_variables and model.gamma_parameter.dtype == "float32"


def test_learned_gamma_falls_towards_the_reconstruction_error_and_is_logged():
    model = compiled(FAMILIES["learned_gamma_vae"])
    history = model.fit(tf.data.Dataset.from_tensor_slices(DIGITS).batch(32, drop_remainder=True),
                        epochs=4, verbose=0, shuffle=False)
    assert set(history.history) == {"loss", "reconstruction", "kl", "gamma"}
    gammas = history.history["gamma"]
    assert gammas[0] < 1.0 and gammas[-1] < gammas[0]  # from γ = 1 at log γ = 0
    model.reset_metrics()
    assert float(np.exp(model.log_gamma.numpy())) == pytest.approx(float(model.test_step(DIGITS[:32])["gamma"]),
                                                                   rel=1e-6)


def test_log_gamma_scale_multiplies_how_far_one_adam_step_moves_log_gamma():
    steps = {}
    for scale in (1.0, 10.0):
        model = compiled([*FAMILIES["learned_gamma_vae"], f"model.log_gamma_scale={scale}"])
        model.optimizer.learning_rate.assign(1e-3)
        model.train_step(tf.constant(DIGITS[:32]))
        steps[scale] = float(model.log_gamma)
    assert steps[1.0] == pytest.approx(-1e-3, rel=0.05)  # Adam's first step: the rate, whatever the gradient
    assert steps[10.0] == pytest.approx(10 * steps[1.0], rel=1e-3)


def test_learned_gamma_is_float32_under_mixed_float16():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = compiled(FAMILIES["infogan_vae"])
        assert model.gamma_parameter.dtype == "float32" and model.decoder.output.dtype == "float32"
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        logs = model.train_step(tf.constant(DIGITS[:32]))
        assert all(np.isfinite(float(v)) for v in logs.values())
    finally:
        keras.mixed_precision.set_global_policy("float32")
