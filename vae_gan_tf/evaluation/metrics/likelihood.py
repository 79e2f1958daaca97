"""Likelihood-based measures of a trained VAE (these use TensorFlow and the model itself):
the importance-weighted log-likelihood, the ELBO and its terms, and the active latent units."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from vae_gan_tf.models import losses


def importance_weighted_log_likelihood(model, images: np.ndarray, k: int = 1000, batch_size: int = 10,
                                       progress=None) -> np.ndarray:
    """L_k per image (Burda et al. 2015, eq. 8) from ``model.log_importance_weights``; the log-sum-exp
    is taken in float64. ``k`` up to 5000 fits in memory because images go ``batch_size`` at a time."""

    @tf.function
    def bound(x):
        return losses.importance_weighted_bound(tf.cast(model.log_importance_weights(x, k), tf.float64))

    values = []
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        values.append(bound(tf.constant(batch, tf.float32)).numpy())
        if progress is not None:
            progress.add(len(batch))
    return np.concatenate(values)


def elbo_terms(model, images: np.ndarray, batch_size: int = 500) -> dict:
    """Mean ELBO, reconstruction term −E_q[log p(x|z)] and KL over ``images`` (one z sample each, β = 1),
    plus the mean squared error of the deterministic reconstruction decode(μ(x))."""
    reconstruction, kl, squared = [], [], []
    for start in range(0, len(images), batch_size):
        x = tf.constant(images[start:start + batch_size], tf.float32)
        mean, log_var = model.encode(x)
        z = model.sample_posterior(mean, log_var)
        reconstruction.append(model.reconstruction_loss(x, model.decoder(z)).numpy())
        kl.append(losses.kl_divergence_normal(mean, log_var).numpy())
        squared.append(losses.squared_error(x, model.decode(mean)).numpy() / np.prod(x.shape[1:]))
    reconstruction, kl = np.concatenate(reconstruction), np.concatenate(kl)
    return {"elbo": float(-(reconstruction + kl).mean()), "reconstruction_nll": float(reconstruction.mean()),
            "kl": float(kl.mean()), "reconstruction_mse": float(np.concatenate(squared).mean())}


def active_units(model, images: np.ndarray, threshold: float = 0.01, batch_size: int = 500) -> int:
    """Units u with Cov_x(E_q(z|x)[z_u]) > threshold (Burda et al. 2015, §5.2; threshold 10⁻²)."""
    means = np.concatenate([model.encode(tf.constant(images[s:s + batch_size], tf.float32))[0].numpy()
                            for s in range(0, len(images), batch_size)])
    return int(np.sum(means.var(axis=0) > threshold))
