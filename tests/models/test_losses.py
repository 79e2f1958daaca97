"""Each loss of vae_gan_tf.models.losses against its formula in float64 NumPy, and the Monte Carlo checks."""

import numpy as np
import pytest
import tensorflow as tf

from vae_gan_tf.models import losses

RNG = np.random.default_rng(0)


def _log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def test_kl_closed_form_matches_monte_carlo():
    mean = np.array([[0.5, -1.0, 2.0]], np.float32)
    log_var = np.array([[-0.3, 0.7, -1.5]], np.float32)
    closed = float(losses.kl_divergence_normal(mean, log_var)[0])
    std = np.exp(0.5 * log_var.astype(np.float64))
    z = mean + std * RNG.standard_normal((400_000, 3))
    log_q = -0.5 * np.sum(np.log(2 * np.pi) + log_var + (z - mean) ** 2 / std**2, axis=1)
    log_p = -0.5 * np.sum(np.log(2 * np.pi) + z**2, axis=1)
    estimate = np.mean(log_q - log_p)
    standard_error = np.std(log_q - log_p) / np.sqrt(len(z))
    assert abs(closed - estimate) < 4 * standard_error
    # and the textbook form of doc 003: -1/2 sum(1 + log s^2 - mu^2 - s^2)
    textbook = -0.5 * np.sum(1 + log_var - mean**2 - np.exp(log_var))
    assert closed == pytest.approx(textbook, rel=1e-6)


def test_kl_is_zero_only_at_the_prior():
    zeros = tf.zeros((2, 5))
    assert np.allclose(losses.kl_divergence_normal(zeros, zeros), 0.0)
    assert float(losses.kl_divergence_normal(zeros + 0.1, zeros)[0]) > 0


def test_reparameterization_gives_gradients_to_mean_and_log_var():
    mean = tf.Variable([[0.3, -0.2]])
    log_var = tf.Variable([[0.1, -0.4]])
    eps = tf.constant([[1.5, -0.5]])
    with tf.GradientTape() as tape:
        z = losses.reparameterize(mean, log_var, eps)
        total = tf.reduce_sum(z)
    d_mean, d_log_var = tape.gradient(total, [mean, log_var])
    np.testing.assert_allclose(d_mean.numpy(), [[1.0, 1.0]])
    # dz/dlogvar = 1/2 exp(logvar/2) eps: the std is exp(1/2 logvar), not exp(logvar)
    np.testing.assert_allclose(d_log_var.numpy(), 0.5 * np.exp(0.5 * log_var.numpy()) * eps.numpy(), rtol=1e-6)


def test_bernoulli_nll_matches_reference_and_is_finite_for_extreme_logits():
    x = (RNG.random((4, 3, 3, 1)) > 0.5).astype(np.float32)
    logits = RNG.normal(0, 3, (4, 3, 3, 1)).astype(np.float32)
    reference = -np.sum(x * _log_sigmoid(logits.astype(np.float64)) + (1 - x) * _log_sigmoid(-logits.astype(np.float64)),
                        axis=(1, 2, 3))
    np.testing.assert_allclose(losses.bernoulli_negative_log_likelihood(x, logits), reference, rtol=1e-5)
    extreme = np.array([[1e4, -1e4]], np.float32)
    values = losses.bernoulli_negative_log_likelihood(np.array([[1.0, 0.0]], np.float32), extreme).numpy()
    assert np.all(np.isfinite(values)) and values[0] == pytest.approx(0.0, abs=1e-6)
    wrong = losses.bernoulli_negative_log_likelihood(np.array([[0.0, 1.0]], np.float32), extreme).numpy()
    assert wrong[0] == pytest.approx(2e4, rel=1e-6)


def test_gaussian_nll_and_squared_error_match_reference():
    x = RNG.normal(size=(3, 4)).astype(np.float32)
    mu = RNG.normal(size=(3, 4)).astype(np.float32)
    std = 0.7
    reference = np.sum(0.5 * ((x - mu) / std) ** 2 + np.log(std) + 0.5 * np.log(2 * np.pi), axis=1)
    np.testing.assert_allclose(losses.gaussian_negative_log_likelihood(x, mu, std), reference, rtol=1e-5)
    np.testing.assert_allclose(losses.squared_error(x, mu), np.sum((x - mu) ** 2, axis=1), rtol=1e-5)


def test_gaussian_nll_with_learned_variance_matches_the_hand_formula_and_its_optimum():
    x = RNG.uniform(size=(3, 2, 2, 1)).astype(np.float32)
    mu = RNG.uniform(size=(3, 2, 2, 1)).astype(np.float32)
    d = 4
    for log_gamma in (0.0, -3.0, 1.5):
        gamma = np.exp(log_gamma)
        by_hand = np.sum((x - mu) ** 2, axis=(1, 2, 3)) / (2 * gamma) + d / 2 * np.log(2 * np.pi * gamma)
        value = losses.gaussian_nll_learned_variance(x, mu, tf.constant(log_gamma, tf.float32)).numpy()
        np.testing.assert_allclose(value, by_hand, rtol=1e-5)
    # d/dlog γ of the batch mean vanishes at γ = mean squared error per element (Dai & Wipf 2019, §3)
    log_gamma = tf.Variable(np.log(np.mean((x - mu) ** 2)), dtype=tf.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(losses.gaussian_nll_learned_variance(x, mu, log_gamma))
    assert abs(float(tape.gradient(loss, log_gamma))) < 1e-5


def test_log_normal_density_matches_reference():
    z, mu, log_var = (RNG.normal(size=(5, 3)).astype(np.float32) for _ in range(3))
    reference = np.sum(-0.5 * (np.log(2 * np.pi) + log_var + (z - mu) ** 2 / np.exp(log_var)), axis=1)
    np.testing.assert_allclose(losses.log_normal_density(z, mu, log_var), reference, rtol=1e-5)


def test_kl_weight_warms_up_linearly_then_holds():
    assert float(losses.kl_weight(0, 2.0, 10)) == 0.0
    assert float(losses.kl_weight(5, 2.0, 10)) == pytest.approx(1.0)
    assert float(losses.kl_weight(50, 2.0, 10)) == pytest.approx(2.0)
    assert float(losses.kl_weight(0, 2.0, 0)) == pytest.approx(2.0)


def test_negative_elbo_weights_the_kl_term():
    assert float(losses.negative_elbo(tf.constant(10.0), tf.constant(3.0), 4.0)) == pytest.approx(22.0)


def _minibatch_tc_numpy(z, mean, log_var):
    from scipy.special import logsumexp

    per_dim = -0.5 * (np.log(2 * np.pi) + log_var[None] + (z[:, None] - mean[None]) ** 2 / np.exp(log_var[None]))
    m = len(z)
    joint = logsumexp(per_dim.sum(-1), axis=1) - np.log(m)
    product = (logsumexp(per_dim, axis=1) - np.log(m)).sum(-1)
    return np.mean(joint - product)


def test_minibatch_total_correlation_matches_the_hand_formula():
    mean, log_var = RNG.normal(size=(16, 3)), RNG.normal(scale=0.5, size=(16, 3))
    z = mean + np.exp(0.5 * log_var) * RNG.normal(size=(16, 3))
    got = losses.minibatch_total_correlation(tf.constant(z), tf.constant(mean), tf.constant(log_var))
    np.testing.assert_allclose(float(got), _minibatch_tc_numpy(z, mean, log_var), rtol=1e-10)


def test_minibatch_total_correlation_is_near_zero_for_independent_codes_and_not_for_copies():
    """Codes μ ~ N(0, I) with σ² = 0.25: the aggregate is N(0, 1.25 I), TC 0. Copying dimension 0 into 1
    makes the two dimensions' correlation 1/1.25, TC = −½ log(1 − 0.8²) ≈ 0.51 nats."""
    mean = RNG.normal(size=(1024, 2))
    log_var = np.full_like(mean, np.log(0.25))
    for codes, low, high in ((mean, -0.1, 0.1), (np.repeat(mean[:, :1], 2, axis=1), 0.35, 0.7)):
        z = codes + 0.5 * RNG.normal(size=codes.shape)
        tc = float(losses.minibatch_total_correlation(tf.constant(z), tf.constant(codes), tf.constant(log_var)))
        assert low < tc < high


def test_beta_tc_objective_adds_the_extra_weight_on_the_total_correlation():
    terms = (tf.constant(10.0), tf.constant(3.0), tf.constant(0.5))
    assert float(losses.beta_tc_negative_elbo(*terms, 2.0, 6.0)) == pytest.approx(10.0 + 2.0 * 3.0 + 5.0 * 0.5)
    assert float(losses.beta_tc_negative_elbo(*terms, 2.0, 1.0)) == pytest.approx(16.0)


def test_importance_weighted_bound_is_log_mean_exp_and_stable():
    log_w = RNG.normal(size=(50, 4))
    expected = np.log(np.mean(np.exp(log_w), axis=0))
    np.testing.assert_allclose(losses.importance_weighted_bound(tf.constant(log_w)), expected, rtol=1e-10)
    huge = tf.constant([[-1000.0], [-1001.0]], tf.float64)
    value = float(losses.importance_weighted_bound(huge)[0])
    assert value == pytest.approx(-1000.0 + np.log((1 + np.exp(-1.0)) / 2), rel=1e-12)
