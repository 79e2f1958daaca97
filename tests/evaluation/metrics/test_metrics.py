"""FID, KID, IS, precision/recall and density/coverage against their closed forms and plain references."""

import numpy as np
import pytest
from scipy import linalg

from vae_gan_tf.evaluation.metrics.fid import (
    feature_statistics,
    fid_from_features,
    frechet_distance,
)
from vae_gan_tf.evaluation.metrics.inception_score import inception_score
from vae_gan_tf.evaluation.metrics.kid import kid_from_features
from vae_gan_tf.evaluation.metrics.precision_recall import (
    density_coverage,
    precision_recall,
)


def _random_covariance(rng, dim):
    a = rng.standard_normal((dim, dim))
    return a @ a.T / dim + 0.1 * np.eye(dim)


def _reference_fid(mu1, sigma1, mu2, sigma2):
    """The usual definition with a general matrix square root (scipy, float64)."""
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean).real)


def _orthonormal(rng, rows, cols):
    q, _ = np.linalg.qr(rng.standard_normal((rows, cols)))
    return q


# --------------------------------------------------------------------------- FID


def test_fid_of_a_set_with_itself_is_zero():
    rng = np.random.default_rng(0)
    feats = rng.standard_normal((500, 16)) @ rng.standard_normal((16, 16)) + 3.0
    assert fid_from_features(feats, feats) == pytest.approx(0.0, abs=1e-6)
    mu, sigma = feature_statistics(feats)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-6)


def test_feature_statistics_are_mean_and_unbiased_covariance():
    feats = np.random.default_rng(1).standard_normal((50, 4))
    mu, sigma = feature_statistics(feats)
    np.testing.assert_allclose(mu, feats.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(sigma, np.cov(feats, rowvar=False), rtol=1e-10)


def test_frechet_distance_closed_form_for_commuting_covariances():
    rng = np.random.default_rng(2)
    dim = 6
    mu1, mu2 = rng.standard_normal(dim), rng.standard_normal(dim)
    sd1, sd2 = rng.uniform(0.2, 3.0, dim), rng.uniform(0.2, 3.0, dim)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((sd1 - sd2) ** 2)
    diagonal = frechet_distance(mu1, np.diag(sd1**2), mu2, np.diag(sd2**2))
    assert diagonal == pytest.approx(expected, rel=1e-10)
    # the same Gaussians in a rotated basis: the covariances still commute, the distance is unchanged
    q = _orthonormal(rng, dim, dim)
    rotated = frechet_distance(q @ mu1, q @ np.diag(sd1**2) @ q.T, q @ mu2, q @ np.diag(sd2**2) @ q.T)
    assert rotated == pytest.approx(expected, rel=1e-9)
    # one dimension, scalars: (m1 - m2)^2 + (s1 - s2)^2
    assert frechet_distance(1.0, 4.0, -1.0, 9.0) == pytest.approx(4.0 + 1.0, rel=1e-12)


def test_fid_from_large_samples_approaches_the_closed_form():
    rng = np.random.default_rng(3)
    mu1, mu2 = np.zeros(4), np.array([1.0, 0.5, -0.5, 0.0])
    sd1, sd2 = np.ones(4), np.array([2.0, 0.5, 1.0, 1.5])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((sd1 - sd2) ** 2)  # 3.0
    a = mu1 + sd1 * rng.standard_normal((40_000, 4))
    b = mu2 + sd2 * rng.standard_normal((40_000, 4))
    assert fid_from_features(a, b) == pytest.approx(expected, abs=0.08)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_frechet_distance_matches_the_sqrtm_reference(seed):
    rng = np.random.default_rng(10 + seed)
    dim = 32
    mu1, mu2 = rng.standard_normal(dim), 0.3 * rng.standard_normal(dim)
    sigma1, sigma2 = _random_covariance(rng, dim), _random_covariance(rng, dim)
    ours = frechet_distance(mu1, sigma1, mu2, sigma2)
    assert ours == pytest.approx(_reference_fid(mu1, sigma1, mu2, sigma2), rel=1e-6)
    # with equal means only the (cancelling) trace term is left; still within 1e-6
    ours_centred = frechet_distance(mu1, sigma1, mu1, sigma2)
    assert ours_centred == pytest.approx(_reference_fid(mu1, sigma1, mu1, sigma2), rel=1e-6)


def test_fid_is_symmetric():
    rng = np.random.default_rng(4)
    dim = 12
    mu1, mu2 = rng.standard_normal(dim), rng.standard_normal(dim)
    sigma1, sigma2 = _random_covariance(rng, dim), 2.0 * _random_covariance(rng, dim)
    forward, backward = frechet_distance(mu1, sigma1, mu2, sigma2), frechet_distance(mu2, sigma2, mu1, sigma1)
    assert forward > 0 and forward == pytest.approx(backward, rel=1e-9)
    a, b = rng.standard_normal((300, dim)), 1.5 * rng.standard_normal((200, dim)) + 0.2
    assert fid_from_features(a, b) == pytest.approx(fid_from_features(b, a), rel=1e-9)


def test_fid_with_fewer_samples_than_dimensions_is_finite_real_and_non_negative():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((20, 64)), rng.standard_normal((20, 64)) + 0.5
    value = fid_from_features(a, b)
    assert isinstance(value, float) and np.isfinite(value) and value > 0
    assert fid_from_features(a, a) == pytest.approx(0.0, abs=1e-6)
    # rank-1 and zero covariances are fine too
    v = rng.standard_normal(64)
    assert np.isfinite(frechet_distance(np.zeros(64), np.outer(v, v), np.ones(64), np.zeros((64, 64))))


def test_fid_of_singular_features_equals_the_fid_in_their_subspace():
    """Features in a 3-D subspace of R^64 (rank-3 covariances) give the FID of their 3-D coordinates."""
    rng = np.random.default_rng(6)
    a3 = rng.standard_normal((200, 3))
    b3 = rng.standard_normal((150, 3)) * [2.0, 1.0, 0.5] + [1.0, 0.0, -1.0]
    q = _orthonormal(rng, 64, 3)
    low = fid_from_features(a3, b3)
    assert fid_from_features(a3 @ q.T, b3 @ q.T) == pytest.approx(low, rel=1e-5)


def test_fid_rejects_bad_shapes():
    with pytest.raises(ValueError, match="mu1 and mu2"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match="sigma2"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(2))
    with pytest.raises(ValueError, match="mu1"):
        frechet_distance(np.zeros((3, 1)), np.eye(3), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError):
        fid_from_features(np.zeros(10), np.zeros(10))
    with pytest.raises(ValueError):
        fid_from_features(np.zeros((10, 3)), np.zeros((10, 4)))
    with pytest.raises(ValueError):
        fid_from_features(np.zeros((1, 3)), np.zeros((10, 3)))
    with pytest.raises(ValueError, match="NaN"):
        fid_from_features(np.full((10, 3), np.nan), np.zeros((10, 3)))


# --------------------------------------------------------------------------- KID


def _reference_mmd2(x, y):
    """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3, written out pair by pair in the kernel matrices."""
    dim = x.shape[1]

    def kernel(p, q):
        return (p @ q.T / dim + 1.0) ** 3

    m, n = len(x), len(y)
    off_x, off_y = ~np.eye(m, dtype=bool), ~np.eye(n, dtype=bool)
    return (kernel(x, x)[off_x].mean() + kernel(y, y)[off_y].mean() - 2.0 * kernel(x, y).mean())


def test_kid_with_one_full_subset_matches_the_unbiased_mmd():
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((40, 5)), rng.standard_normal((40, 5)) + 0.3
    mean, std = kid_from_features(x, y, subsets=1, subset_size=10_000)  # capped at 40: the whole sets
    assert mean == pytest.approx(_reference_mmd2(x, y), rel=1e-10) and std == 0.0


def test_kid_is_near_zero_for_one_distribution_and_positive_for_a_shift():
    rng = np.random.default_rng(8)
    a, b = rng.standard_normal((600, 16)), rng.standard_normal((600, 16))
    same_mean, same_std = kid_from_features(a, b, subsets=20, subset_size=200)
    shifted_mean, shifted_std = kid_from_features(a, b + 0.5, subsets=20, subset_size=200)
    assert same_std > 0 and abs(same_mean) < 3 * same_std
    assert shifted_mean > 10 * shifted_std and shifted_mean > 20 * abs(same_mean)


def test_kid_is_reproducible_with_its_seed():
    rng = np.random.default_rng(9)
    a, b = rng.standard_normal((300, 8)), rng.standard_normal((300, 8)) + 0.2
    first = kid_from_features(a, b, subsets=5, subset_size=50, seed=3)
    assert first == kid_from_features(a, b, subsets=5, subset_size=50, seed=3)
    assert first != kid_from_features(a, b, subsets=5, subset_size=50, seed=4)


def test_kid_rejects_bad_inputs():
    with pytest.raises(ValueError):
        kid_from_features(np.zeros((10, 3)), np.zeros((10, 4)))
    with pytest.raises(ValueError):
        kid_from_features(np.zeros(10), np.zeros(10))
    with pytest.raises(ValueError):
        kid_from_features(np.zeros((1, 3)), np.zeros((10, 3)))
    with pytest.raises(ValueError):
        kid_from_features(np.zeros((10, 3)), np.zeros((10, 3)), subsets=0)
    with pytest.raises(ValueError):
        kid_from_features(np.zeros((10, 3)), np.zeros((10, 3)), subset_size=1)


# --------------------------------------------------------------------------- Inception Score


def test_inception_score_of_uniform_predictions_is_one():
    mean, std = inception_score(np.full((100, 10), 0.1))
    assert mean == pytest.approx(1.0, abs=1e-12) and std == pytest.approx(0.0, abs=1e-12)


def test_inception_score_of_confident_balanced_predictions_is_the_class_count():
    classes = 10
    probs = np.eye(classes)[np.tile(np.arange(classes), 20)]  # every split of 20 rows holds each class twice
    mean, std = inception_score(probs, splits=10)
    assert mean == pytest.approx(classes, rel=1e-9) and std == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("splits", [1, 4])
def test_inception_score_equals_exp_of_entropy_difference(splits):
    """IS = exp(H(p(y)) − E_x H(p(y|x))) per split, an independent form of exp E KL(p(y|x) || p(y))."""
    rng = np.random.default_rng(11)
    probs = rng.dirichlet(np.full(7, 0.3), size=80)
    scores = []
    for part in np.array_split(probs, splits):  # 80 rows: same parts as i*n//splits
        p_y = part.mean(axis=0)
        entropy_marginal = -np.sum(p_y * np.log(p_y))
        entropy_conditional = -np.mean(np.sum(part * np.log(part), axis=1))
        scores.append(np.exp(entropy_marginal - entropy_conditional))
    mean, std = inception_score(probs, splits=splits)
    assert mean == pytest.approx(np.mean(scores), rel=1e-9) and std == pytest.approx(np.std(scores), abs=1e-9)
    assert mean > 1.0


def test_inception_score_rejects_bad_inputs():
    with pytest.raises(ValueError):
        inception_score(np.full(10, 0.1))
    with pytest.raises(ValueError, match="logits"):
        inception_score(np.random.default_rng(0).standard_normal((20, 5)))
    with pytest.raises(ValueError):
        inception_score(np.full((5, 10), 0.1), splits=6)


# --------------------------------------------------------------------------- precision / recall, density / coverage


def _brute_force_prdc(real, fake, k_pr, k_dc):
    """Full distance matrices from coordinate differences (no chunking, no norm expansion)."""

    def distances(a, b):
        return np.sqrt(np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1))

    def radii(a, k):
        d = distances(a, a)
        np.fill_diagonal(d, np.inf)
        return np.sort(d, axis=1)[:, k - 1]

    d_rf = distances(real, fake)
    precision = np.mean(np.any(d_rf <= radii(real, k_pr)[:, None], axis=0))
    recall = np.mean(np.any(d_rf.T <= radii(fake, k_pr)[:, None], axis=0))
    inside = d_rf < radii(real, k_dc)[:, None]
    return precision, recall, inside.sum() / (k_dc * len(fake)), np.mean(np.any(inside, axis=1))


def test_precision_recall_density_coverage_on_identical_sets():
    real = np.random.default_rng(12).standard_normal((300, 8))
    assert precision_recall(real, real.copy(), k=3) == (1.0, 1.0)
    density, coverage = density_coverage(real, real.copy(), k=5)
    assert density == pytest.approx(1.0, abs=1e-9) and coverage == 1.0


def test_precision_recall_density_coverage_on_far_apart_sets():
    rng = np.random.default_rng(13)
    real, fake = rng.standard_normal((200, 8)), rng.standard_normal((150, 8)) + 1000.0
    assert precision_recall(real, fake, k=3) == (0.0, 0.0)
    assert density_coverage(real, fake, k=5) == (0.0, 0.0)


def test_hand_computed_values_on_a_line():
    """Real points 0..9 (k = 1: every radius is 1); fake points at chosen offsets, ball borders included."""
    real = np.arange(10.0)[:, None]
    # closed balls: -1 is on the border of B(0, 1); 4.0, 4.5 are inside; -1.5, 50, 51 are outside.
    # fake radii (k = 1) are 0.5, 0.5, 0.5, 0.5, 1, 1: real 4 and 5 (on the border of B(4.5, .5)) are covered.
    fake = np.array([[-1.0], [-1.5], [4.5], [4.0], [50.0], [51.0]])
    assert precision_recall(real, fake, k=1) == (pytest.approx(3 / 6), pytest.approx(2 / 10))
    # open balls: -1 is outside B(0, 1); 4.5 is in the balls of 4 and 5, 4.0 only in that of 4.
    fake = np.array([[-1.0], [4.5], [4.0], [50.0]])
    assert density_coverage(real, fake, k=1) == (pytest.approx(3 / 4), pytest.approx(2 / 10))


@pytest.mark.parametrize("chunk_size", [7, 512])
def test_chunked_metrics_match_a_brute_force_reference(chunk_size):
    rng = np.random.default_rng(14)
    real = rng.standard_normal((120, 5))
    fake = 1.3 * rng.standard_normal((90, 5)) + 0.4
    precision, recall, density, coverage = _brute_force_prdc(real, fake, k_pr=3, k_dc=5)
    assert 0 < precision < 1 and 0 < recall < 1 and 0 < coverage < 1  # a case where every value matters
    assert precision_recall(real, fake, k=3, chunk_size=chunk_size) == (
        pytest.approx(precision, abs=1e-12), pytest.approx(recall, abs=1e-12))
    assert density_coverage(real, fake, k=5, chunk_size=chunk_size) == (
        pytest.approx(density, abs=1e-12), pytest.approx(coverage, abs=1e-12))


def test_precision_recall_and_density_coverage_reject_bad_inputs():
    real = np.zeros((10, 3))
    with pytest.raises(ValueError):
        precision_recall(real, np.zeros((10, 4)))
    with pytest.raises(ValueError):
        precision_recall(np.zeros(10), np.zeros(10))
    with pytest.raises(ValueError, match="fake_feats"):
        precision_recall(real, np.zeros((3, 3)), k=3)  # needs more than k fake samples for fake radii
    with pytest.raises(ValueError):
        precision_recall(real, real, k=0)
    with pytest.raises(ValueError):
        density_coverage(np.zeros((10, 3, 1)), real)
    with pytest.raises(ValueError, match="real_feats"):
        density_coverage(np.zeros((5, 3)), real, k=5)
    assert density_coverage(np.arange(10.0)[:, None], np.array([[4.0]]), k=1) == (1.0, 0.1)  # one fake is enough
