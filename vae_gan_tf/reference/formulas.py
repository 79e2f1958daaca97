"""The documents' equations in float64 NumPy: the reference that ``verify`` and the tests check against.

Each function is numbered (F1, F2, ...) and names the document sections that state it. The
documents are in ``../shared/seeds/``: 000 (VAE vs GAN overview), 001 (VAE tutorial), 002 (deep
generative networks vs GANs), 003 (VAE and GAN for image generation), 004 (β-VAE and GAN).
Where a document states a formula wrongly, the function here is the correct one and the note says
what the document wrote; ``docs/corrections.md`` has the full record.
"""

from __future__ import annotations

import numpy as np

LOG_2PI = np.log(2.0 * np.pi)


def _f64(*arrays):
    return [np.asarray(a, np.float64) for a in arrays]


# ---------------------------------------------------------------- VAE


def elbo(expected_log_likelihood, kl):
    """F1. L(θ, φ; x) = E_q(z|x)[log p(x|z)] − KL(q(z|x) ‖ p(z)) ≤ log p(x).

    doc 003 §2.2 and §4.2 (right); doc 000 §3.1.2 and §3.3.1 write it as an *equality* with log p(x)
    (wrong: it is a lower bound, tight only when q(z|x) is the true posterior).
    """
    expected_log_likelihood, kl = _f64(expected_log_likelihood, kl)
    return expected_log_likelihood - kl


def log_evidence_decomposition(kl_to_posterior, elbo_value):
    """F2. log p(x) = KL(q(z|x) ‖ p(z|x)) + L(θ, φ; x) (doc 003 §4.2, right; Kingma & Welling 2014, eq. 1)."""
    kl_to_posterior, elbo_value = _f64(kl_to_posterior, elbo_value)
    return kl_to_posterior + elbo_value


def kl_diagonal_gaussians(mean_q, var_q, mean_p, var_p):
    """F3a. KL(N(μ_q, diag σ_q²) ‖ N(μ_p, diag σ_p²)) = ½ Σ [log(σ_p²/σ_q²) + (σ_q² + (μ_q − μ_p)²)/σ_p² − 1]."""
    mean_q, var_q, mean_p, var_p = _f64(mean_q, var_q, mean_p, var_p)
    return 0.5 * np.sum(np.log(var_p / var_q) + (var_q + (mean_q - mean_p) ** 2) / var_p - 1.0, axis=-1)


def kl_to_standard_normal(mean, log_var):
    """F3. KL(N(μ, diag σ²) ‖ N(0, I)) = −½ Σ (1 + log σ² − μ² − σ²) (doc 003 §4.1 code, right)."""
    mean, log_var = _f64(mean, log_var)
    return -0.5 * np.sum(1.0 + log_var - mean**2 - np.exp(log_var), axis=-1)


def beta_vae_objective(expected_log_likelihood, kl, beta):
    """F4. E_q[log p(x|z)] − β·KL(q(z|x) ‖ p(z)), to be *maximised* (doc 004 §3.1.2; Higgins et al. 2017).

    The formula in doc 004 is right; its text ("maximise the reconstruction error and the KL") and its
    step 5 are wrong: the objective maximises the log-likelihood and penalises the KL.
    """
    return elbo(expected_log_likelihood, np.float64(beta) * np.asarray(kl, np.float64))


def autoencoder_objective(x, x_hat):
    """F5. ‖x − D(E(x))‖² per example (doc 002 §1.3.1.1, right)."""
    x, x_hat = _f64(x, x_hat)
    return np.sum((x - x_hat).reshape(len(x), -1) ** 2, axis=1)


def reparameterize(mean, log_var, eps):
    """F6. z = μ + σ·ε with σ = exp(½·log σ²) (doc 003 §4.1 code, right; doc 002 §1.4.2 used exp(log σ²))."""
    mean, log_var, eps = _f64(mean, log_var, eps)
    return mean + np.exp(0.5 * log_var) * eps


def bernoulli_log_likelihood(x, logits):
    """F12a. log p(x|z) = Σ [x log σ(l) + (1 − x) log(1 − σ(l))] from logits l."""
    x, logits = _f64(x, logits)
    per = x * -np.logaddexp(0.0, -logits) + (1.0 - x) * -np.logaddexp(0.0, logits)
    return np.sum(per.reshape(len(x), -1), axis=1)


def gaussian_log_likelihood(x, mean, std):
    """F12b. log N(x; μ, σ²I) = −Σ [½((x − μ)/σ)² + log σ + ½ log 2π]."""
    x, mean = _f64(x, mean)
    per = -(0.5 * ((x - mean) / std) ** 2 + np.log(std) + 0.5 * LOG_2PI)
    return np.sum(per.reshape(len(x), -1), axis=1)


def log_normal_density(z, mean, log_var):
    """F12c. log N(z; μ, diag σ²), summed over the last axis."""
    z, mean, log_var = _f64(z, mean, log_var)
    return -0.5 * np.sum(LOG_2PI + log_var + (z - mean) ** 2 / np.exp(log_var), axis=-1)


def importance_weighted_bound(log_weights):
    """F11. L_k = log (1/k) Σ_i w_i over axis 0 (Burda et al. 2015, eq. 8): L_1 = ELBO ≤ L_k ≤ log p(x)."""
    log_weights = np.asarray(log_weights, np.float64)
    peak = log_weights.max(axis=0)
    return peak + np.log(np.mean(np.exp(log_weights - peak), axis=0))


def linear_gaussian_log_evidence(x, weight, bias, noise_std):
    """F13a. Probabilistic PCA (Tipping & Bishop 1999): z ~ N(0, I_d), x|z ~ N(Wz + b, σ²I_D) gives
    log p(x) = log N(x; b, WWᵀ + σ²I) in closed form. ``weight`` has shape (D, d)."""
    x, weight, bias = _f64(x, weight, bias)
    covariance = weight @ weight.T + noise_std**2 * np.eye(len(bias))
    sign, logdet = np.linalg.slogdet(covariance)
    centred = x - bias
    mahalanobis = np.einsum("...i,ij,...j->...", centred, np.linalg.inv(covariance), centred)
    return -0.5 * (len(bias) * LOG_2PI + logdet + mahalanobis)


def linear_gaussian_posterior(x, weight, bias, noise_std):
    """F13b. p(z|x) = N(M⁻¹Wᵀ(x − b), σ²M⁻¹) with M = WᵀW + σ²I (Tipping & Bishop 1999, eq. 6).
    Returns (mean, covariance)."""
    x, weight, bias = _f64(x, weight, bias)
    m = weight.T @ weight + noise_std**2 * np.eye(weight.shape[1])
    m_inv = np.linalg.inv(m)
    return (x - bias) @ (m_inv @ weight.T).T, noise_std**2 * m_inv


# ---------------------------------------------------------------- GAN


def gan_value(d_real, d_fake):
    """F7. V(D, G) = E_x~p_data[log D(x)] + E_z~p_z[log(1 − D(G(z)))], D maximises and G minimises it
    (Goodfellow et al. 2014, eq. 1).

    doc 003 §2.1, doc 000 §3.3.2 and doc 004 §3.2.2 state min_G max_D V right; doc 003 §4.1 then says the
    ideal D *minimises* V and G *maximises* V(D*, G) (the wrong way round), and trains G by *maximising*
    log(1 − D(G(z))); doc 002 §1.3.2.3 nests both expectations under one min_G. ``d_real``/``d_fake`` are
    D's probabilities on samples (or the integrand's values, for quadrature via :func:`expectation`).
    """
    d_real, d_fake = _f64(d_real, d_fake)
    return np.mean(np.log(d_real)) + np.mean(np.log1p(-d_fake))


def optimal_discriminator(p_data, p_g):
    """F8. D*(x) = p_data(x) / (p_data(x) + p_g(x)) for a fixed G (Goodfellow et al. 2014, Proposition 1)."""
    p_data, p_g = _f64(p_data, p_g)
    return p_data / (p_data + p_g)


def jensen_shannon_divergence(p, q, dx):
    """F9a. JSD(p ‖ q) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = ½(p + q), by quadrature on a grid with spacing dx."""
    p, q = _f64(p, q)
    m = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_pm = np.where(p > 0, p * np.log(p / m), 0.0)
        kl_qm = np.where(q > 0, q * np.log(q / m), 0.0)
    return 0.5 * np.trapezoid(kl_pm, dx=dx) + 0.5 * np.trapezoid(kl_qm, dx=dx)


def virtual_training_criterion(jsd):
    """F9. C(G) = max_D V(D, G) = −log 4 + 2·JSD(p_data ‖ p_g) (Goodfellow et al. 2014, Theorem 1);
    its minimum −log 4 is reached only at p_g = p_data."""
    return -np.log(4.0) + 2.0 * np.float64(jsd)


def value_by_quadrature(p_data, p_g, d, dx):
    """F7 by quadrature: ∫ p_data log D dx + ∫ p_g log(1 − D) dx on a grid (densities and D on the grid)."""
    p_data, p_g, d = _f64(p_data, p_g, d)
    with np.errstate(divide="ignore"):
        return np.trapezoid(p_data * np.log(d), dx=dx) + np.trapezoid(p_g * np.log1p(-d), dx=dx)


def nonsaturating_generator_objective(d_fake):
    """F10. −E_z[log D(G(z))], the generator loss Goodfellow et al. 2014 (§3) recommend over log(1 − D)."""
    return -np.mean(np.log(np.asarray(d_fake, np.float64)))


def wasserstein_critic_objective(f_real, f_fake):
    """F14. E_x[f(x)] − E_z[f(G(z))], maximised by the critic (Arjovsky et al. 2017, eq. 3)."""
    f_real, f_fake = _f64(f_real, f_fake)
    return np.mean(f_real) - np.mean(f_fake)


def gradient_penalty_linear_critic(weight_norm):
    """F15. For a linear critic f(x) = wᵀx, ∇f = w everywhere, so E[(‖∇f(x̂)‖ − 1)²] = (‖w‖ − 1)²
    (Gulrajani et al. 2017, eq. 3)."""
    return (np.float64(weight_norm) - 1.0) ** 2


def sigmoid(logits):
    return 1.0 / (1.0 + np.exp(-np.asarray(logits, np.float64)))


def smoothed_discriminator_loss(d_real, d_fake, smoothing):
    """F7s. −E[(1 − s)·log D(x) + s·log(1 − D(x))] − E[log(1 − D(G(z)))]: one-sided label smoothing
    (Salimans et al. 2016, §3.4)."""
    d_real, d_fake = _f64(d_real, d_fake)
    return -np.mean((1 - smoothing) * np.log(d_real) + smoothing * np.log1p(-d_real)) - np.mean(np.log1p(-d_fake))


def least_squares_objectives(s_real, s_fake):
    """F16. LSGAN (Mao et al. 2017, eq. 2, a = 0, b = c = 1): (D loss ½E[(D(x) − 1)²] + ½E[D(G(z))²],
    G loss ½E[(D(G(z)) − 1)²])."""
    s_real, s_fake = _f64(s_real, s_fake)
    return 0.5 * np.mean((s_real - 1) ** 2) + 0.5 * np.mean(s_fake**2), 0.5 * np.mean((s_fake - 1) ** 2)


def hinge_objectives(s_real, s_fake):
    """F17. Hinge GAN (Lim & Ye 2017; Miyato et al. 2018, eqs. 16-17): (D loss E[max(0, 1 − D(x))] +
    E[max(0, 1 + D(G(z)))], G loss −E[D(G(z))])."""
    s_real, s_fake = _f64(s_real, s_fake)
    return np.mean(np.maximum(0, 1 - s_real)) + np.mean(np.maximum(0, 1 + s_fake)), -np.mean(s_fake)


def kl_warmup_weight(step, beta, warmup_steps):
    """F18. β_t = β·min(1, t / T) (Bowman et al. 2016; Sønderby et al. 2016), β when T = 0."""
    return np.float64(beta) if warmup_steps <= 0 else beta * min(1.0, step / warmup_steps)
