"""Input checks shared by the metrics: feature matrices of finite float64 values."""

from __future__ import annotations

import numpy as np


def feature_matrix(value, name: str, min_rows: int = 1) -> np.ndarray:
    """``value`` as a finite float64 array of shape (n, d) with n ≥ ``min_rows``; a ValueError otherwise."""
    array = np.asarray(value, np.float64)
    if array.ndim != 2 or array.shape[0] < min_rows or array.shape[1] < 1:
        raise ValueError(f"{name} must have shape (n, d) with n >= {min_rows} and d >= 1, got {np.shape(value)}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def same_dimension(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> None:
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature dimensions differ: {names[0]} {a.shape[1]}, {names[1]} {b.shape[1]}")
