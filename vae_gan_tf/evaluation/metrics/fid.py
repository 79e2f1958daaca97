"""Fréchet Inception Distance (FID; Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule
Converge to a Local Nash Equilibrium", §4 and appendix).

Both feature sets are summarised by a Gaussian (mean, covariance) and compared with the Fréchet
(2-Wasserstein) distance between the two Gaussians. The matrix square root is taken through symmetric
eigendecompositions in float64, so singular covariances (fewer samples than dimensions) give a finite,
real, non-negative value instead of the NaN or complex results of a general ``sqrtm``.
"""

from __future__ import annotations

import numpy as np

from vae_gan_tf.evaluation.metrics.arrays import feature_matrix


def _as_vector(value, name: str) -> np.ndarray:
    array = np.atleast_1d(np.asarray(value, np.float64))
    if array.ndim != 1:
        raise ValueError(f"{name} must be a vector of shape (d,), got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _as_covariance(value, dim: int, name: str) -> np.ndarray:
    array = np.atleast_2d(np.asarray(value, np.float64))
    if array.shape != (dim, dim):
        raise ValueError(f"{name} must have shape ({dim}, {dim}), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return 0.5 * (array + array.T)


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root V diag(sqrt(max(w, 0))) Vᵀ of a symmetric matrix with eigenpairs (w, V)."""
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), as a Python float.

    d² = ‖μ1 − μ2‖² + Tr(Σ1) + Tr(Σ2) − 2 Tr((Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2}),

    where Tr((Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2}) = Σ_i sqrt(λ_i) over the eigenvalues λ_i of the symmetric PSD
    matrix Σ1^{1/2} Σ2 Σ1^{1/2} (the same as Tr((Σ1 Σ2)^{1/2}) of the usual definition). Negative
    eigenvalues from rounding are clipped at 0, and so is the result (it is a squared distance).
    ``mu1``/``mu2`` have shape (d,) and ``sigma1``/``sigma2`` shape (d, d); covariances are
    symmetrised.
    """
    mu1 = _as_vector(mu1, "mu1")
    mu2 = _as_vector(mu2, "mu2")
    if mu1.shape != mu2.shape:
        raise ValueError(f"mu1 and mu2 must have the same shape, got {mu1.shape} and {mu2.shape}")
    dim = mu1.shape[0]
    sigma1 = _as_covariance(sigma1, dim, "sigma1")
    sigma2 = _as_covariance(sigma2, dim, "sigma2")

    root1 = _sqrt_psd(sigma1)
    inner = root1 @ sigma2 @ root1
    inner_eigenvalues = np.linalg.eigvalsh(0.5 * (inner + inner.T))
    trace_sqrt = float(np.sum(np.sqrt(np.clip(inner_eigenvalues, 0.0, None))))

    diff = mu1 - mu2
    distance = float(diff @ diff) + float(np.trace(sigma1)) + float(np.trace(sigma2)) - 2.0 * trace_sqrt
    return max(distance, 0.0)


def feature_statistics(feats) -> tuple[np.ndarray, np.ndarray]:
    """(mean (d,), covariance (d, d)) in float64 of features (n, d), n ≥ 2.

    μ = (1/n) Σ_i x_i,  Σ = (1/(n − 1)) Σ_i (x_i − μ)(x_i − μ)ᵀ  (unbiased, as in the reference code).
    """
    feats = feature_matrix(feats, "features", min_rows=2)
    mean = feats.mean(axis=0)
    centered = feats - mean
    covariance = centered.T @ centered / (feats.shape[0] - 1)
    return mean, covariance


def fid_from_features(feats_a, feats_b) -> float:
    """FID between two feature sets (n_a, d) and (n_b, d), as a Python float.

    FID = frechet_distance(μ_a, Σ_a, μ_b, Σ_b) with the sample mean and unbiased covariance of each set.
    """
    feats_a = np.asarray(feats_a)
    feats_b = np.asarray(feats_b)
    if feats_a.ndim != 2 or feats_b.ndim != 2 or feats_a.shape[1] != feats_b.shape[1]:
        raise ValueError(f"features must have shapes (n_a, d) and (n_b, d), "
                         f"got {feats_a.shape} and {feats_b.shape}")
    mu_a, sigma_a = feature_statistics(feats_a)
    mu_b, sigma_b = feature_statistics(feats_b)
    return frechet_distance(mu_a, sigma_a, mu_b, sigma_b)
