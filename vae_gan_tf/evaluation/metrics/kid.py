"""Kernel Inception Distance (KID; Bińkowski et al. 2018, "Demystifying MMD GANs", §4 and appendix).

KID is the unbiased estimate of the squared maximum mean discrepancy between two feature sets with
the cubic polynomial kernel k(x, y) = (xᵀy / d + 1)³. As in the authors' code it is averaged over
random subsets (drawn without replacement), which also gives a spread.
"""

from __future__ import annotations

import numpy as np

from vae_gan_tf.evaluation.metrics.arrays import feature_matrix, same_dimension


def _polynomial_mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² of equal-size samples x, y (m, d) with k(a, b) = (aᵀb / d + 1)³.

    MMD²_u = 1/(m(m−1)) Σ_{i≠j} [k(x_i, x_j) + k(y_i, y_j)] − 2/m² Σ_{i,j} k(x_i, y_j).
    """
    m, dim = x.shape
    k_xx = (x @ x.T / dim + 1.0) ** 3
    k_yy = (y @ y.T / dim + 1.0) ** 3
    k_xy = (x @ y.T / dim + 1.0) ** 3
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2.0 * k_xy.sum() / (m * m))


def kid_from_features(feats_a, feats_b, subsets: int = 100, subset_size: int = 1000,
                      seed: int = 0) -> tuple[float, float]:
    """(mean, std) of the unbiased polynomial-kernel MMD² over ``subsets`` random subset pairs.

    Each pair draws m = min(subset_size, n_a, n_b) rows without replacement from each set (seeded
    ``numpy.random.default_rng(seed)``) and computes
    MMD²_u = 1/(m(m−1)) Σ_{i≠j} [k(a_i, a_j) + k(b_i, b_j)] − 2/m² Σ_{i,j} k(a_i, b_j),
    k(x, y) = (xᵀy / d + 1)³. The std is the population std (ddof=0) over subsets. The estimate is
    unbiased, so it can be slightly negative when both sets come from one distribution.
    """
    feats_a = feature_matrix(feats_a, "feats_a", min_rows=2)
    feats_b = feature_matrix(feats_b, "feats_b", min_rows=2)
    same_dimension(feats_a, feats_b, ("feats_a", "feats_b"))
    if int(subsets) != subsets or subsets < 1:
        raise ValueError(f"subsets must be a positive integer, got {subsets}")
    if int(subset_size) != subset_size or subset_size < 2:
        raise ValueError(f"subset_size must be an integer >= 2, got {subset_size}")
    m = min(int(subset_size), feats_a.shape[0], feats_b.shape[0])
    rng = np.random.default_rng(seed)
    values = np.empty(int(subsets))
    for index in range(int(subsets)):
        a = feats_a[rng.choice(feats_a.shape[0], m, replace=False)]
        b = feats_b[rng.choice(feats_b.shape[0], m, replace=False)]
        values[index] = _polynomial_mmd2_unbiased(a, b)
    return float(values.mean()), float(values.std())
