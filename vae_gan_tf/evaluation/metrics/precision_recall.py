"""k-NN manifold metrics: improved precision and recall (Kynkäänniemi et al. 2019, "Improved Precision
and Recall Metric for Assessing Generative Models", §2) and density and coverage (Naeem et al. 2020,
"Reliable Fidelity and Diversity Metrics for Generative Models", §3).

Each sample x of a set gets the ball B(x, NND_k(x)), whose radius is the distance to its k-th nearest
neighbour in the same set (the point itself excluded). Both functions return plain tuples of Python
floats: ``(precision, recall)`` and ``(density, coverage)``.

As in the authors' code, precision and recall use closed balls (‖y − x‖ ≤ r) and density and coverage
open balls (‖y − x‖ < r); with open balls, density is exactly 1 when both sets are the same points.
Pairwise squared distances are computed in float64, ``chunk_size`` ball centres at a time, so memory is
O(chunk_size · n) rather than O(n²).
"""

from __future__ import annotations

import numpy as np

from vae_gan_tf.evaluation.metrics.arrays import feature_matrix, same_dimension

CHUNK_SIZE = 512


def _check_inputs(real_feats, fake_feats, k, chunk_size, fake_needs_k: bool):
    real = feature_matrix(real_feats, "real_feats")
    fake = feature_matrix(fake_feats, "fake_feats")
    same_dimension(real, fake, ("real", "fake"))
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k}")
    if int(chunk_size) != chunk_size or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size}")
    for name, feats in (("real_feats", real), ("fake_feats", fake))[: 2 if fake_needs_k else 1]:
        if feats.shape[0] <= k:
            raise ValueError(f"{name} needs more than k={k} samples for k-NN radii, "
                             f"got {feats.shape[0]}")
    return real, fake, int(k), int(chunk_size)


def _squared_norms(x: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", x, x)


def _squared_distances(rows, sq_rows, cols, sq_cols) -> np.ndarray:
    """‖r_i − c_j‖² = ‖r_i‖² + ‖c_j‖² − 2 r_iᵀc_j, clipped at 0, for a chunk of rows against all cols."""
    return np.maximum(sq_rows[:, None] + sq_cols[None, :] - 2.0 * (rows @ cols.T), 0.0)


def _chunks(n: int, chunk_size: int):
    for start in range(0, n, chunk_size):
        yield start, min(start + chunk_size, n)


def _knn_squared_radii(feats, sq_norms, k: int, chunk_size: int) -> np.ndarray:
    """NND_k(x_i)² for every row: the k-th smallest squared distance to the other rows (self excluded)."""
    n = feats.shape[0]
    radii = np.empty(n)
    for start, stop in _chunks(n, chunk_size):
        distances = _squared_distances(feats[start:stop], sq_norms[start:stop], feats, sq_norms)
        local = np.arange(stop - start)
        distances[local, start + local] = np.inf
        radii[start:stop] = np.partition(distances, k - 1, axis=1)[:, k - 1]
    return radii


def _inside_any_ball(centers, points, k: int, chunk_size: int) -> np.ndarray:
    """For each of ``points``, whether it lies in some closed ball B(c, NND_k(c)) of ``centers``."""
    sq_centers, sq_points = _squared_norms(centers), _squared_norms(points)
    radii = _knn_squared_radii(centers, sq_centers, k, chunk_size)
    inside = np.zeros(points.shape[0], bool)
    for start, stop in _chunks(centers.shape[0], chunk_size):
        distances = _squared_distances(centers[start:stop], sq_centers[start:stop], points, sq_points)
        inside |= np.any(distances <= radii[start:stop, None], axis=0)
    return inside


def precision_recall(real_feats, fake_feats, k: int = 3, *,
                     chunk_size: int = CHUNK_SIZE) -> tuple[float, float]:
    """(precision, recall) of fake features (M, d) against real features (N, d); N, M > k.

    precision = (1/M) Σ_j 1[∃ i: ‖Y_j − X_i‖ ≤ NND_k(X_i)]   (fake samples on the real manifold)
    recall    = (1/N) Σ_i 1[∃ j: ‖X_i − Y_j‖ ≤ NND_k(Y_j)]   (real samples on the fake manifold)

    with X the real and Y the fake samples, NND_k the distance to the k-th nearest neighbour within the
    same set, excluding the point itself (the paper uses k = 3).
    """
    real, fake, k, chunk_size = _check_inputs(real_feats, fake_feats, k, chunk_size, fake_needs_k=True)
    precision = float(np.mean(_inside_any_ball(real, fake, k, chunk_size)))
    recall = float(np.mean(_inside_any_ball(fake, real, k, chunk_size)))
    return precision, recall


def density_coverage(real_feats, fake_feats, k: int = 5, *,
                     chunk_size: int = CHUNK_SIZE) -> tuple[float, float]:
    """(density, coverage) of fake features (M, d) against real features (N, d); N > k.

    density  = (1/(kM)) Σ_j Σ_i 1[Y_j ∈ B(X_i, NND_k(X_i))]
    coverage = (1/N) Σ_i 1[∃ j: Y_j ∈ B(X_i, NND_k(X_i))]

    with open balls B(x, r) = {y: ‖y − x‖ < r} and NND_k the distance to the k-th nearest real
    neighbour, excluding the point itself (the paper uses k = 5). Density is unbounded above; coverage
    is in [0, 1].
    """
    real, fake, k, chunk_size = _check_inputs(real_feats, fake_feats, k, chunk_size, fake_needs_k=False)
    sq_real, sq_fake = _squared_norms(real), _squared_norms(fake)
    radii = _knn_squared_radii(real, sq_real, k, chunk_size)
    hits = 0
    covered = np.zeros(real.shape[0], bool)
    for start, stop in _chunks(real.shape[0], chunk_size):
        distances = _squared_distances(real[start:stop], sq_real[start:stop], fake, sq_fake)
        inside = distances < radii[start:stop, None]
        hits += int(np.count_nonzero(inside))
        covered[start:stop] = np.any(inside, axis=1)
    return hits / (k * fake.shape[0]), float(np.mean(covered))
