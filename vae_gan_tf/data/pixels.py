"""The pixel range of a run and the maps between it and [0, 1] (NumPy only): ``data.scale`` ``unit`` is
[0, 1] (Bernoulli likelihoods), ``symmetric`` is [−1, 1] (tanh generators)."""

from __future__ import annotations

import numpy as np


def pixel_range(scale: str) -> tuple[float, float]:
    """(low, high) of the pixels a model with ``data.scale`` = ``scale`` sees and makes."""
    return (0.0, 1.0) if scale == "unit" else (-1.0, 1.0)


def to_unit_range(images: np.ndarray, pixel_range: tuple[float, float]) -> np.ndarray:
    """Images in ``pixel_range`` mapped linearly to [0, 1] and clipped there."""
    low, high = pixel_range
    return np.clip((np.asarray(images, np.float32) - low) / (high - low), 0.0, 1.0)


def from_unit_range(images: np.ndarray, pixel_range: tuple[float, float]) -> np.ndarray:
    """Images in [0, 1] mapped linearly to ``pixel_range``."""
    low, high = pixel_range
    images = np.asarray(images, np.float32)
    return images if (low, high) == (0.0, 1.0) else (images * (high - low) + low).astype(np.float32)
