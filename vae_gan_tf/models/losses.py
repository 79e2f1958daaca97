"""Every objective of the library, each a small pure function of tensors with its equation.

Conventions (as in ``keras/src/losses/losses.py`` and TF-GAN's ``losses_impl.py``):
- likelihood terms take decoder *logits* (or the Gaussian mean), never probabilities followed by a log;
- per-example functions sum over every non-batch axis and return shape ``(batch,)``; the caller takes
  the batch mean (and, under ``tf.distribute``, divides by the replica count, see ``models/base.py``);
- all values are in nats.
"""

from __future__ import annotations

import math

import tensorflow as tf

LOG_2PI = math.log(2.0 * math.pi)


def _sum_non_batch(values: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(tf.reshape(values, [tf.shape(values)[0], -1]), axis=1)


def reparameterize(mean: tf.Tensor, log_var: tf.Tensor, eps: tf.Tensor) -> tf.Tensor:
    """z = μ + exp(½·log σ²) · ε with ε ~ N(0, I) (Kingma & Welling 2014, §2.4).

    The standard deviation is exp(½·log σ²), not exp(log σ²) as doc 002 §1.4.2 wrote.
    Gradients flow to μ and log σ² because ε is drawn outside the function.
    """
    return mean + tf.exp(0.5 * log_var) * eps


def kl_divergence_normal(mean: tf.Tensor, log_var: tf.Tensor) -> tf.Tensor:
    """KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ_j (μ_j² + σ_j² − log σ_j² − 1), shape (batch,).

    Kingma & Welling 2014, Appendix B; doc 003 §4.1 writes it as −½ Σ (1 + log σ² − μ² − σ²).
    """
    return 0.5 * tf.reduce_sum(tf.square(mean) + tf.exp(log_var) - log_var - 1.0, axis=-1)


def bernoulli_nll_elements(x: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """−[x_i log σ(l_i) + (1 − x_i) log(1 − σ(l_i))] per element, from logits l (shape of ``x``).

    Computed as max(l, 0) − l·x + log(1 + exp(−|l|)) (``tf.nn.sigmoid_cross_entropy_with_logits``),
    finite for any logit. ``x`` may be grey levels in [0, 1] (continuous cross-entropy) or binary.
    """
    return tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits)


def bernoulli_negative_log_likelihood(x: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """−log p(x|z) = −Σ_i [x_i log σ(l_i) + (1 − x_i) log(1 − σ(l_i))], the elements summed: (batch,)."""
    return _sum_non_batch(bernoulli_nll_elements(x, logits))


def gaussian_nll_elements(x: tf.Tensor, mean: tf.Tensor, std: float) -> tf.Tensor:
    """−log N(x_i; μ_i, σ²) = ½((x_i − μ_i)/σ)² + log σ + ½ log 2π per element, with fixed σ."""
    return 0.5 * tf.square((x - mean) / std) + math.log(std) + 0.5 * LOG_2PI


def gaussian_negative_log_likelihood(x: tf.Tensor, mean: tf.Tensor, std: float) -> tf.Tensor:
    """−log N(x; μ, σ²I) = Σ_i [½((x_i − μ_i)/σ)² + log σ + ½ log 2π] with fixed σ, shape (batch,)."""
    return _sum_non_batch(gaussian_nll_elements(x, mean, std))


def gaussian_nll_learned_variance(x: tf.Tensor, mean: tf.Tensor, log_gamma: tf.Tensor) -> tf.Tensor:
    """−log N(x; μ, γI) = ‖x − μ‖²/(2γ) + (D/2)·log(2πγ) = Σ_i [½(x_i − μ_i)²/γ + ½ log γ + ½ log 2π] over the
    D elements of an example, with a learned scalar variance γ = exp(log γ), shape (batch,).

    The decoder of Dai & Wipf 2019 ("Diagnosing and enhancing VAE models", §3-§4): for fixed μ the optimum
    is γ = ‖x − μ‖²/D, the mean squared reconstruction error, so training drives γ towards it (and towards 0
    on data near a low-dimensional manifold). Their code (github.com/daib13/TwoStageVAE) parameterises the
    standard deviation, log √γ, from 0, with no floor: the same objective. ``log_gamma`` is a float32 scalar.
    """
    elements = 0.5 * tf.square(x - mean) * tf.exp(-log_gamma) + 0.5 * log_gamma + 0.5 * LOG_2PI
    return _sum_non_batch(elements)


def masked_step_sum(elements: tf.Tensor, mask: tf.Tensor | None = None) -> tf.Tensor:
    """Σ_t m_t Σ_f ℓ_{t,f} for per-element terms ℓ of shape (batch, T, F), shape (batch,).

    m_t = 1 on a sequence's real steps and 0 on its padding (``mask`` (batch, T); None: every step), so
    padding adds nothing, whatever its values: −log p(x_{1:L}|z) = −Σ_{t<L} log p(x_t|x_{<t}, z) for a
    sequence of length L (Bowman et al. 2016, §3). Selected with ``tf.where``, not multiplied, so a
    non-finite term on a padded step cannot turn the sum into NaN.
    """
    per_step = tf.reduce_sum(elements, axis=-1)
    if mask is not None:
        per_step = tf.where(tf.cast(mask, tf.bool), per_step, tf.zeros_like(per_step))
    return tf.reduce_sum(per_step, axis=1)


def squared_error(x: tf.Tensor, x_hat: tf.Tensor) -> tf.Tensor:
    """‖x − D(E(x))‖² = Σ_i (x_i − x̂_i)², shape (batch,): the autoencoder objective of doc 002 §1.3.1.1."""
    return _sum_non_batch(tf.square(x - x_hat))


def log_normal_density(z: tf.Tensor, mean: tf.Tensor, log_var: tf.Tensor) -> tf.Tensor:
    """log N(z; μ, diag σ²) = −½ Σ_j [log 2π + log σ_j² + (z_j − μ_j)² / σ_j²], summed over the last axis."""
    return -0.5 * tf.reduce_sum(LOG_2PI + log_var + tf.square(z - mean) * tf.exp(-log_var), axis=-1)


def negative_elbo(reconstruction_nll: tf.Tensor, kl: tf.Tensor, beta: float | tf.Tensor = 1.0) -> tf.Tensor:
    """−ELBO_β = E_q[−log p(x|z)] + β · KL(q(z|x) ‖ p(z)).

    β = 1 is the evidence lower bound (Kingma & Welling 2014, eq. 3), log p(x) ≥ ELBO; β > 1 is the
    β-VAE objective (Higgins et al. 2017, eq. 4), which doc 004 describes.
    """
    return reconstruction_nll + beta * kl


def minibatch_total_correlation(z: tf.Tensor, mean: tf.Tensor, log_var: tf.Tensor) -> tf.Tensor:
    """TC = KL(q(z) ‖ ∏_j q(z_j)) of the minibatch's aggregate posterior q(z) = (1/M) Σ_m q(z|x_m), shape ().

    Chen et al. 2018 (β-TCVAE), §4.1's minibatch-weighted sampling with the minibatch as the data set
    (N = M), at each example's own draw z_i ~ q(z|x_i):
    TC ≈ (1/M) Σ_i [log (1/M) Σ_m q(z_i|x_m) − Σ_j log (1/M) Σ_m q(z_ij|x_mj)].
    Its gradient is theirs for any N (N only shifts the value by a constant); its value is the TC of the
    batch mixture, near 0 for factorised codes.
    """
    per_dim = -0.5 * (LOG_2PI + log_var[None] + tf.square(z[:, None] - mean[None]) * tf.exp(-log_var[None]))
    log_m = tf.math.log(tf.cast(tf.shape(z)[0], z.dtype))
    log_q_joint = tf.reduce_logsumexp(tf.reduce_sum(per_dim, axis=-1), axis=1) - log_m
    log_q_product = tf.reduce_sum(tf.reduce_logsumexp(per_dim, axis=1) - log_m, axis=-1)
    return tf.reduce_mean(log_q_joint - log_q_product)


def beta_tc_negative_elbo(reconstruction_nll: tf.Tensor, kl: tf.Tensor, total_correlation: tf.Tensor,
                          beta: float | tf.Tensor = 1.0, tc_beta: float = 1.0) -> tf.Tensor:
    """E_q[−log p(x|z)] + β·KL + (β_TC − 1)·TC: β-TCVAE's objective (Chen et al. 2018, eq. 4, α = γ = 1).

    KL(q(z|x) ‖ p(z)) averaged over the data is index-code MI + TC + dimension-wise KL (their eq. 2),
    so adding (β_TC − 1)·TC weighs the total correlation alone by β_TC; with β = 1 it is their loss,
    with β_TC = 1 it is :func:`negative_elbo`.
    """
    return negative_elbo(reconstruction_nll, kl, beta) + (tc_beta - 1.0) * total_correlation


def kl_weight(step: tf.Tensor, beta: float, warmup_steps: int) -> tf.Tensor:
    """β · min(1, step / warmup_steps): linear KL warm-up (Bowman et al. 2016; Sønderby et al. 2016)."""
    if warmup_steps <= 0:
        return tf.constant(beta, tf.float32)
    return beta * tf.minimum(1.0, tf.cast(step, tf.float32) / float(warmup_steps))


def importance_weighted_bound(log_weights: tf.Tensor) -> tf.Tensor:
    """L_k = log (1/k) Σ_i w_i with log w_i = log p(x, z_i) − log q(z_i|x), z_i ~ q(z|x), shape (batch,).

    Burda et al. 2015, eq. 8; ``log_weights`` has shape (k, batch); the sum is a log-sum-exp, so it
    is computed in the dtype of ``log_weights`` without overflow (pass float64 for large k).
    L_1 is the ELBO and L_k rises with k towards log p(x).
    """
    k = tf.cast(tf.shape(log_weights)[0], log_weights.dtype)
    return tf.reduce_logsumexp(log_weights, axis=0) - tf.math.log(k)


# ---------------------------------------------------------------- adversarial objectives
# D(x) = σ(l(x)) for the logit l of the discriminator; log D = −softplus(−l), log(1 − D) = −softplus(l),
# so no probability is ever formed and no log of 0 is taken.


def minimax_discriminator_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor,
                               label_smoothing: float = 0.0) -> tf.Tensor:
    """−V(D, G) = −E_x[log D(x)] − E_z[log(1 − D(G(z)))] (Goodfellow et al. 2014, eq. 1), batch mean.

    D *maximises* V, so it minimises this. One-sided label smoothing s (Salimans et al. 2016, §3.4)
    replaces the real target 1 by 1 − s: −E_x[(1 − s)·log D(x) + s·log(1 − D(x))].
    """
    real_term = (1.0 - label_smoothing) * tf.nn.softplus(-real_logits) + label_smoothing * tf.nn.softplus(real_logits)
    return tf.reduce_mean(real_term) + tf.reduce_mean(tf.nn.softplus(fake_logits))


def minimax_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """E_z[log(1 − D(G(z)))], the generator's side of V(D, G), which G *minimises* (batch mean).

    This is the objective of the documents' V(D, G); its gradient vanishes when D rejects the fakes
    confidently (Goodfellow et al. 2014, §3), hence the non-saturating loss below.
    """
    return -tf.reduce_mean(tf.nn.softplus(fake_logits))


def nonsaturating_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """−E_z[log D(G(z))] (Goodfellow et al. 2014, §3): same fixed point, strong gradients early (batch mean)."""
    return tf.reduce_mean(tf.nn.softplus(-fake_logits))


def least_squares_discriminator_loss(real_scores: tf.Tensor, fake_scores: tf.Tensor) -> tf.Tensor:
    """½E_x[(D(x) − 1)²] + ½E_z[D(G(z))²] on raw scores (LSGAN, Mao et al. 2017, eq. 2 with a=0, b=c=1)."""
    return 0.5 * tf.reduce_mean(tf.square(real_scores - 1.0)) + 0.5 * tf.reduce_mean(tf.square(fake_scores))


def least_squares_generator_loss(fake_scores: tf.Tensor) -> tf.Tensor:
    """½E_z[(D(G(z)) − 1)²] (LSGAN, Mao et al. 2017, eq. 2)."""
    return 0.5 * tf.reduce_mean(tf.square(fake_scores - 1.0))


def hinge_discriminator_loss(real_scores: tf.Tensor, fake_scores: tf.Tensor) -> tf.Tensor:
    """E_x[max(0, 1 − D(x))] + E_z[max(0, 1 + D(G(z)))] (Lim & Ye 2017; Miyato et al. 2018, eq. 16)."""
    return tf.reduce_mean(tf.nn.relu(1.0 - real_scores)) + tf.reduce_mean(tf.nn.relu(1.0 + fake_scores))


def hinge_generator_loss(fake_scores: tf.Tensor) -> tf.Tensor:
    """−E_z[D(G(z))] (Miyato et al. 2018, eq. 17)."""
    return -tf.reduce_mean(fake_scores)


def wasserstein_critic_loss(real_scores: tf.Tensor, fake_scores: tf.Tensor) -> tf.Tensor:
    """E_z[f(G(z))] − E_x[f(x)]: the critic f maximises E_x[f(x)] − E_z[f(G(z))], the Kantorovich-Rubinstein
    estimate of W1(p_data, p_g) over 1-Lipschitz f (Arjovsky et al. 2017, eq. 3), so it minimises this."""
    return tf.reduce_mean(fake_scores) - tf.reduce_mean(real_scores)


def wasserstein_generator_loss(fake_scores: tf.Tensor) -> tf.Tensor:
    """−E_z[f(G(z))] (Arjovsky et al. 2017, Algorithm 1)."""
    return -tf.reduce_mean(fake_scores)


def feature_reconstruction_loss(real_features: tf.Tensor, reconstructed_features: tf.Tensor) -> tf.Tensor:
    """−log N(Dis_l(x) | Dis_l(x̃), I) up to its constant ½·d·log 2π: ½‖Dis_l(x) − Dis_l(x̃)‖² per example,
    the VAE/GAN likelihood measured in a discriminator layer (Larsen et al. 2016, eqs. 6-7), shape (batch,)."""
    return 0.5 * _sum_non_batch(tf.square(real_features - reconstructed_features))


def vaegan_discriminator_loss(real_logits: tf.Tensor, reconstructed_logits: tf.Tensor,
                              sampled_logits: tf.Tensor) -> tf.Tensor:
    """−L_GAN = −E[log Dis(x)] − E[log(1 − Dis(x̃))] − E[log(1 − Dis(x_p))], with x̃ = Dec(Enc(x)) and
    x_p = Dec(z), z ~ p(z): the discriminator treats reconstructions and prior samples both as fakes
    (Larsen et al. 2016, Algorithm 1), batch means."""
    return minimax_discriminator_loss(real_logits, reconstructed_logits) + tf.reduce_mean(tf.nn.softplus(sampled_logits))


def vaegan_decoder_adversarial_loss(reconstructed_logits: tf.Tensor, sampled_logits: tf.Tensor) -> tf.Tensor:
    """The decoder's side of L_GAN in Larsen et al. 2016, Algorithm 1, in the non-saturating form
    −E[log Dis(x̃)] − E[log Dis(x_p)] (Goodfellow et al. 2014, §3), batch means."""
    return nonsaturating_generator_loss(reconstructed_logits) + nonsaturating_generator_loss(sampled_logits)


def per_example_shape(x: tf.Tensor) -> tf.Tensor:
    """(batch, 1, ..., 1): the shape of one scalar per example, broadcastable against ``x``."""
    return tf.concat([tf.shape(x)[:1], tf.ones([tf.rank(x) - 1], tf.int32)], 0)


def gradient_penalty(critic, real: tf.Tensor, fake: tf.Tensor, epsilon: tf.Tensor | None = None) -> tf.Tensor:
    """E_x̂[(‖∇_x̂ f(x̂)‖₂ − 1)²] at x̂ = ε·x + (1 − ε)·x̃, ε ~ U[0, 1] per example (Gulrajani et al. 2017, eq. 3).

    ``critic`` is called in training mode; the caller multiplies by λ (10 in the paper). ``epsilon`` of
    shape (batch, 1, ..., 1) may be passed for reproducible or per-replica noise. A tiny constant under
    the square root keeps the gradient of the norm finite where the critic's gradient is zero.
    """
    if epsilon is None:
        epsilon = tf.random.uniform(per_example_shape(real), dtype=real.dtype)
    interpolates = epsilon * real + (1.0 - epsilon) * fake
    with tf.GradientTape() as tape:
        tape.watch(interpolates)
        scores = critic(interpolates, training=True)
    gradients = tape.gradient(scores, interpolates)
    norms = tf.sqrt(_sum_non_batch(tf.square(gradients)) + 1e-12)
    return tf.reduce_mean(tf.square(norms - 1.0))


def r1_penalty(discriminator, real: tf.Tensor) -> tf.Tensor:
    """E_x[‖∇_x l(x)‖₂²] on real data, where l is D's logit (Mescheder et al. 2018, eq. 9: R1).

    The regularizer added to D's loss is (γ/2)·E_x[‖∇_x l(x)‖²]; the caller multiplies by γ/2. It is
    zero-centred and on real data only, so unlike the WGAN-GP penalty it vanishes at the equilibrium
    where G matches the data and D is constant; it applies to every GAN loss.
    ``discriminator`` maps x to logits; the caller fixes its mode (training in D's update, inference in
    validation, so that a BatchNorm's statistics do not move there).
    """
    with tf.GradientTape() as tape:
        tape.watch(real)
        logits = discriminator(real)
    gradients = tape.gradient(logits, real)
    return tf.reduce_mean(_sum_non_batch(tf.square(gradients)))
