"""Mode coverage of samples from a known mixture (VEEGAN, Srivastava et al. 2017, §5.1; PacGAN, Lin et al. 2018).

A sample is *high quality* when it lies within 3 standard deviations of its nearest mode; a mode is
*captured* when at least one high-quality sample has it as nearest mode. The papers report both on
2,500 samples. PacGAN also reports the reverse KL divergence of the high-quality samples' histogram over
the modes to the uniform distribution of the data (``mode_histogram_reverse_kl``).
"""

from __future__ import annotations

import numpy as np


def mode_coverage(samples, means, std: float) -> tuple[int, float]:
    """(modes captured, fraction of high-quality samples) for ``samples`` (n, d) and ``means`` (modes, d)."""
    samples = np.asarray(samples, np.float64)
    means = np.asarray(means, np.float64)
    if samples.ndim != 2 or samples.shape[1] != means.shape[1]:
        raise ValueError(f"samples must have shape (n, {means.shape[1]}), got {samples.shape}")
    squared = np.sum((samples[:, None, :] - means[None, :, :]) ** 2, axis=-1)
    nearest = np.argmin(squared, axis=1)
    high_quality = np.sqrt(squared[np.arange(len(samples)), nearest]) <= 3.0 * std
    captured = np.unique(nearest[high_quality]).size
    return int(captured), float(np.mean(high_quality)) if len(samples) else 0.0


def mode_histogram_reverse_kl(samples, means, std: float) -> float | None:
    """KL(q ‖ u) = Σ_k q_k log(K q_k), with q the share of high-quality samples nearest to mode k and u the
    uniform distribution over the K modes (PacGAN, Lin et al. 2018, Table 1's "reverse KL"). 0 when every
    mode gets the same share; log K when one mode gets them all; None when no sample is high quality.
    """
    samples = np.asarray(samples, np.float64)
    means = np.asarray(means, np.float64)
    squared = np.sum((samples[:, None, :] - means[None, :, :]) ** 2, axis=-1)
    nearest = np.argmin(squared, axis=1)
    high_quality = np.sqrt(squared[np.arange(len(samples)), nearest]) <= 3.0 * std
    if not high_quality.any():
        return None
    q = np.bincount(nearest[high_quality], minlength=len(means)) / high_quality.sum()
    q = q[q > 0]
    return float(np.sum(q * np.log(len(means) * q)))
