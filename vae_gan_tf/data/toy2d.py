"""2-D mixtures of Gaussians for measuring mode collapse (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018).

- ``ring8``: 8 modes at angles 2πk/8 on the unit circle (k = 0..7, no duplicated mode), std 0.01.
- ``grid25``: 25 modes at {-4, -2, 0, 2, 4}², std 0.05.

Each source is a fixed draw of ``TOY_SAMPLES`` points with equal weight per mode; the label is the mode.
"""

from __future__ import annotations

import numpy as np

TOY_SAMPLES = 100_000


def ring8_means() -> np.ndarray:
    angles = 2.0 * np.pi * np.arange(8) / 8.0
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def grid25_means() -> np.ndarray:
    axis = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
    return np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)


MIXTURES = {"ring8": (ring8_means, 0.01), "grid25": (grid25_means, 0.05)}


def mixture(name: str) -> tuple[np.ndarray, float]:
    """(means of shape (modes, 2), std) of a named mixture."""
    means_fn, std = MIXTURES[name]
    return means_fn(), std


def sample_mixture(name: str, n: int = TOY_SAMPLES, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n points (float32, shape (n, 2)) and their mode index, modes drawn uniformly."""
    means, std = mixture(name)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(means), n)
    points = means[labels] + std * rng.standard_normal((n, 2))
    return points.astype(np.float32), labels.astype(np.int64)
