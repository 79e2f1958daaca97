"""Disentanglement metrics of disentanglement_lib (Locatello et al. 2019), with the parameters of its
``unsupervised_study_v1`` configs, as pure functions of (codes, factors).

``codes`` (N, D) are the encoder means of N images and ``factors`` (N, K) the integer classes of their
factors of variation. disentanglement_lib's β-VAE and FactorVAE metrics draw fresh images with one factor
held fixed; here those batches are drawn from the N given pairs (the rows that share the fixed factor's
value), so that every metric is a function of arrays: with N = 20,000+ points of dSprites' grid each value
of a factor is held by hundreds of rows. scikit-learn provides what disentanglement_lib takes from it
(``mutual_info_score``, ``LogisticRegression``, ``GradientBoostingClassifier``).
"""

from __future__ import annotations

import numpy as np

MIG_BINS = 20
BATCH = 64
PRUNE_STD = 0.05


def _check(codes, factors):
    codes, factors = np.asarray(codes, np.float64), np.asarray(factors)
    if codes.ndim != 2 or factors.ndim != 2 or len(codes) != len(factors):
        raise ValueError(f"codes (N, D) and factors (N, K) of one N, got {codes.shape} and {factors.shape}")
    if not np.isfinite(codes).all():
        raise ValueError("codes contain NaN or infinite values")
    return codes, factors.astype(np.int64)


def histogram_discretize(codes, bins: int = MIG_BINS) -> np.ndarray:
    """Each code dimension cut into ``bins`` equal-width bins over its own range (disentanglement_lib's
    ``histogram_discretize``: ``np.digitize(c, np.histogram(c, bins)[1][:-1])``), bins 1..``bins``."""
    codes = np.asarray(codes, np.float64)
    return np.stack([np.digitize(c, np.histogram(c, bins)[1][:-1]) for c in codes.T], axis=1)


def discrete_mutual_info(discrete_codes, factors) -> np.ndarray:
    """I(z_j; v_k) in nats, (D, K), of discrete codes and factors (plug-in estimate)."""
    from sklearn.metrics import mutual_info_score

    return np.array([[mutual_info_score(factors[:, k], discrete_codes[:, j]) for k in range(factors.shape[1])]
                     for j in range(discrete_codes.shape[1])])


def discrete_entropy(factors) -> np.ndarray:
    """H(v_k) in nats of each factor (K,), as I(v_k; v_k)."""
    from sklearn.metrics import mutual_info_score

    return np.array([mutual_info_score(f, f) for f in np.asarray(factors).T])


def mig(codes, factors, bins: int = MIG_BINS) -> dict:
    """Mutual Information Gap (Chen et al. 2018, eq. 6), disentanglement_lib's estimator:

        MIG = (1/K) Σ_k [ I(z_{j⁽¹⁾}; v_k) − I(z_{j⁽²⁾}; v_k) ] / H(v_k)

    where j⁽¹⁾, j⁽²⁾ are the code dimensions with the largest and second-largest mutual information with
    factor v_k, each code dimension discretized into ``bins`` equal-width bins (disentanglement_lib: 20 bins,
    10,000 points). Returns ``mig``, the per-factor gaps and the (D, K) mutual-information matrix."""
    codes, factors = _check(codes, factors)
    if codes.shape[1] < 2:
        raise ValueError("MIG needs at least two code dimensions")
    information = discrete_mutual_info(histogram_discretize(codes, bins), factors)
    entropy = discrete_entropy(factors)
    top = np.sort(information, axis=0)[::-1]
    gaps = (top[0] - top[1]) / np.where(entropy > 0, entropy, np.nan)
    return {"mig": float(np.nanmean(gaps)), "mig_per_factor": [float(g) for g in gaps],
            "mutual_information": information}


class _SameValue:
    """Draws rows that share a factor's value with given rows, uniformly among them (vectorized)."""

    def __init__(self, factors):
        self.order, self.start, self.count = [], [], []
        for column in factors.T:
            order = np.argsort(column, kind="stable")
            _, first, inverse, counts = np.unique(column[order], return_index=True, return_inverse=True,
                                                  return_counts=True)
            start, count = np.empty(len(column), np.int64), np.empty(len(column), np.int64)
            start[order], count[order] = first[inverse], counts[inverse]
            self.order.append(order)
            self.start.append(start)
            self.count.append(count)

    def __call__(self, rng, k: int, rows):
        rows = np.asarray(rows)
        pick = self.start[k][rows] + (rng.random(len(rows)) * self.count[k][rows]).astype(np.int64)
        return self.order[k][pick]


def beta_vae_score(codes, factors, train_points: int = 10000, eval_points: int = 5000, batch: int = BATCH,
                   seed: int = 0) -> dict:
    """The β-VAE metric (Higgins et al. 2017, §3), disentanglement_lib's version: a point is made by drawing
    a factor k uniformly and ``batch`` pairs (x¹, x²) that share the value of v_k (the other factors
    free); its feature is (1/batch) Σ |z(x¹) − z(x²)| and its label k. A logistic regression
    (scikit-learn's defaults, as disentanglement_lib) is fit on ``train_points`` and scored on
    ``eval_points`` fresh ones: ``beta_vae_train_accuracy`` and ``beta_vae_eval_accuracy`` (chance 1/K)."""
    from sklearn.linear_model import LogisticRegression

    codes, factors = _check(codes, factors)
    rng = np.random.default_rng(seed)
    same = _SameValue(factors)

    def points(n):
        features, labels = np.empty((n, codes.shape[1])), rng.integers(0, factors.shape[1], n)
        for i, k in enumerate(labels):
            first = rng.integers(0, len(codes), batch)
            second = same(rng, k, first)
            features[i] = np.mean(np.abs(codes[first] - codes[second]), axis=0)
        return features, labels

    x_train, y_train = points(train_points)
    x_eval, y_eval = points(eval_points)
    model = LogisticRegression(max_iter=1000, random_state=seed).fit(x_train, y_train)
    return {"beta_vae_train_accuracy": float(np.mean(model.predict(x_train) == y_train)),
            "beta_vae_eval_accuracy": float(np.mean(model.predict(x_eval) == y_eval))}


def factor_vae_score(codes, factors, train_points: int = 10000, eval_points: int = 5000, batch: int = BATCH,
                     variance_points: int = 10000, prune_std: float = PRUNE_STD, seed: int = 0) -> dict:
    """The FactorVAE metric (Kim & Mnih 2018, §4), disentanglement_lib's version: each code dimension is
    divided by its standard deviation over ``variance_points`` points, and dimensions whose standard
    deviation is below ``prune_std`` (collapsed ones) are left out. A vote is made by drawing a factor k and
    ``batch`` points sharing the value of v_k: the vote is (d*, k) with d* = argmin_d Var_batch(z_d)/Var(z_d).
    The majority-vote classifier maps each d to the factor it votes for most over ``train_points`` votes;
    its accuracy on ``eval_points`` fresh votes is ``factor_vae_eval_accuracy`` (0 with no active dimension)."""
    codes, factors = _check(codes, factors)
    rng = np.random.default_rng(seed)
    same = _SameValue(factors)
    variance_rows = rng.choice(len(codes), min(variance_points, len(codes)), replace=False)
    global_variance = np.var(codes[variance_rows], axis=0, ddof=1)
    active = np.sqrt(global_variance) >= prune_std
    result = {"factor_vae_active_dims": int(active.sum())}
    if not active.any():
        return {**result, "factor_vae_train_accuracy": 0.0, "factor_vae_eval_accuracy": 0.0}

    def votes(n):
        table = np.zeros((factors.shape[1], codes.shape[1]), np.int64)
        for k in rng.integers(0, factors.shape[1], n):
            rows = same(rng, k, np.full(batch, rng.integers(len(codes))))
            local = np.var(codes[rows], axis=0, ddof=1)
            table[k, np.argmin(local[active] / global_variance[active])] += 1
        return table

    train, evaluation = votes(train_points), votes(eval_points)
    classifier = np.argmax(train, axis=0)  # the factor each (active) dimension votes for most
    columns = np.arange(train.shape[1])
    return {**result,
            "factor_vae_train_accuracy": float(train[classifier, columns].sum() / train.sum()),
            "factor_vae_eval_accuracy": float(evaluation[classifier, columns].sum() / evaluation.sum())}


def dci(codes, factors, train_points: int = 10000, eval_points: int = 5000, seed: int = 0, progress=None) -> dict:
    """DCI (Eastwood & Williams 2018), disentanglement_lib's version: one gradient-boosted tree classifier
    per factor (scikit-learn's defaults: 100 trees of depth 3) predicts v_k from z on ``train_points``
    points; R_{jk} = |feature importance of z_j for v_k|. With P_{jk} = R_{jk} / Σ_k R_{jk} and
    H_K(P_j) = −Σ_k P_{jk} log_K P_{jk}:

        disentanglement D = Σ_j ρ_j (1 − H_K(P_j)),  ρ_j = Σ_k R_{jk} / Σ_{jk} R_{jk}
        completeness    C = Σ_k ρ̃_k (1 − H_D(P̃_k)),  P̃_{jk} = R_{jk} / Σ_j R_{jk}, ρ̃_k = Σ_j R_{jk} / Σ R
        informativeness I = mean over factors of the classifiers' accuracy on ``eval_points`` other points

    (1e-11 is added to R before the entropies, as disentanglement_lib does.) The points are the first
    ``train_points`` rows and the next ``eval_points``. ``progress`` (a ``keras.utils.Progbar``) advances by
    one per factor's classifier (minutes each on a CPU)."""
    from sklearn.ensemble import GradientBoostingClassifier

    codes, factors = _check(codes, factors)
    if len(codes) < train_points + eval_points:
        raise ValueError(f"DCI needs {train_points} + {eval_points} points, got {len(codes)}")
    x_train, x_eval = codes[:train_points], codes[train_points:train_points + eval_points]
    importance = np.zeros((codes.shape[1], factors.shape[1]))
    train_accuracy, eval_accuracy = [], []
    for k in range(factors.shape[1]):
        y_train, y_eval = factors[:train_points, k], factors[train_points:train_points + eval_points, k]
        model = GradientBoostingClassifier(random_state=seed).fit(x_train, y_train)
        importance[:, k] = np.abs(model.feature_importances_)
        train_accuracy.append(np.mean(model.predict(x_train) == y_train))
        eval_accuracy.append(np.mean(model.predict(x_eval) == y_eval))
        if progress is not None:
            progress.add(1)
    return {"dci_disentanglement": disentanglement_from_importance(importance),
            "dci_completeness": completeness_from_importance(importance),
            "dci_informativeness_train": float(np.mean(train_accuracy)),
            "dci_informativeness": float(np.mean(eval_accuracy)), "importance": importance}


def disentanglement_from_importance(importance) -> float:
    """D of :func:`dci` from the (D, K) importance matrix R."""
    from scipy.stats import entropy

    importance = np.asarray(importance, np.float64)
    per_code = 1.0 - entropy(importance.T + 1e-11, base=importance.shape[1])
    if importance.sum() == 0:
        return 0.0
    weights = importance.sum(axis=1) / importance.sum()
    return float(np.sum(per_code * weights))


def completeness_from_importance(importance) -> float:
    """C of :func:`dci` from the (D, K) importance matrix R."""
    from scipy.stats import entropy

    importance = np.asarray(importance, np.float64)
    per_factor = 1.0 - entropy(importance + 1e-11, base=importance.shape[0])
    if importance.sum() == 0:
        return 0.0
    weights = importance.sum(axis=0) / importance.sum()
    return float(np.sum(per_factor * weights))
