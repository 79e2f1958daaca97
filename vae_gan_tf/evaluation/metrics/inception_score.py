"""Inception Score (IS; Salimans et al. 2016, "Improved Techniques for Training GANs", §4).

IS = exp(E_x KL(p(y|x) ‖ p(y))), with p(y) the mean of the class predictions p(y|x) over the samples;
as in the authors' code the samples are cut into ``splits`` consecutive parts and the mean and std of
the per-part scores are reported.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-12


def inception_score(probs, splits: int = 10) -> tuple[float, float]:
    """(mean, std) over ``splits`` parts of IS = exp((1/n) Σ_x Σ_y p(y|x) [log p(y|x) − log p(y)]).

    ``probs`` (n, classes) holds class probabilities (rows non-negative, summing to 1), not logits.
    Part i is rows [i·n // splits, (i+1)·n // splits); p(y) is the mean prediction of that part. Logs
    are taken of probabilities clipped at ``EPS`` (so 0·log 0 counts as 0), in float64. The std is the
    population std (ddof=0) over parts. Uniform predictions give 1; confident predictions spread evenly
    over C classes give C.
    """
    probs = np.asarray(probs, np.float64)
    if probs.ndim != 2 or probs.shape[0] < 1 or probs.shape[1] < 1:
        raise ValueError(f"probs must have shape (n, classes), got {probs.shape}")
    if not np.all(np.isfinite(probs)) or np.any(probs < 0):
        raise ValueError("probs must be finite and non-negative (pass softmax probabilities, not logits)")
    if not np.allclose(probs.sum(axis=1), 1.0, rtol=0.0, atol=1e-3):
        raise ValueError("each row of probs must sum to 1 (pass softmax probabilities, not logits)")
    n = probs.shape[0]
    if int(splits) != splits or not 1 <= splits <= n:
        raise ValueError(f"splits must be an integer in [1, {n}], got {splits}")
    splits = int(splits)
    log_probs = np.log(np.clip(probs, EPS, None))
    scores = np.empty(splits)
    for index in range(splits):
        part = slice(index * n // splits, (index + 1) * n // splits)
        p_yx, log_p_yx = probs[part], log_probs[part]
        log_p_y = np.log(np.clip(p_yx.mean(axis=0), EPS, None))
        kl = np.sum(p_yx * (log_p_yx - log_p_y), axis=1)
        scores[index] = np.exp(kl.mean())
    return float(scores.mean()), float(scores.std())
