"""Noisy sinusoids of random frequency, phase and length: a variable-length sequence source for the
sequence VAE (``models/vae/sequence_vae.py``), in the spirit of Fabius & van Amersfoort 2014's synthetic data.

Sequence i has a length L_i ~ U{SINES_MIN_LENGTH..SINES_MAX_LENGTH} and values
x_t = sin(2π f_i t + φ_i) + σ ε_t for t < L_i, with f_i ~ U[0.02, 0.1] cycles per step,
φ_i ~ U[0, 2π), ε_t ~ N(0, 1) and σ = SINES_NOISE; it is zero-padded to SINES_MAX_LENGTH and its mask
is 1 on the L_i real steps and 0 on the padding. Values are kept as they are (in about [-1.3, 1.3]).
"""

from __future__ import annotations

import numpy as np

SINES_SAMPLES = 4000
SINES_MIN_LENGTH = 20
SINES_MAX_LENGTH = 60
SINES_NOISE = 0.1
SINES_FREQUENCIES = (0.02, 0.1)


def sample_sines(n: int = SINES_SAMPLES, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n padded sequences, float32 (n, SINES_MAX_LENGTH, 1), and their float32 (n, SINES_MAX_LENGTH) mask."""
    rng = np.random.default_rng(seed)
    frequency = rng.uniform(*SINES_FREQUENCIES, (n, 1))
    phase = rng.uniform(0.0, 2.0 * np.pi, (n, 1))
    length = rng.integers(SINES_MIN_LENGTH, SINES_MAX_LENGTH + 1, n)
    t = np.arange(SINES_MAX_LENGTH)[None, :]
    mask = (t < length[:, None]).astype(np.float32)
    noise = SINES_NOISE * rng.standard_normal((n, SINES_MAX_LENGTH))
    values = np.sin(2.0 * np.pi * frequency * t + phase) + noise
    return (values * mask).astype(np.float32)[..., None], mask
