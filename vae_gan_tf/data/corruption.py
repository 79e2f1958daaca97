"""Known corruptions of images: the noise that ``denoise`` removes (doc 004 §5) and the degradations that a
feature space must see (Heusel et al. 2017, "GANs trained by a two time-scale update rule", §4 and
Appendix A1: FID grows with Gaussian noise, Gaussian blur and salt and pepper noise), written once for both.
Images are NHWC in [0, 1]; every function returns a new float32 array (NumPy and SciPy only).
"""

from __future__ import annotations

import numpy as np


def gaussian_blur(images: np.ndarray, sigma: float) -> np.ndarray:
    """Convolution of each channel with the 2-D Gaussian exp(−(u² + v²) / 2σ²) / 2πσ² (σ in pixels,
    truncated at 4σ, edges reflected): ``scipy.ndimage.gaussian_filter`` over the two spatial axes."""
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(np.asarray(images, np.float32), sigma=(0, sigma, sigma, 0), mode="reflect")


def additive_noise(images: np.ndarray, std: float, seed: int = 0) -> np.ndarray:
    """x + std·ε with ε ~ N(0, 1) per pixel, clipped to [0, 1]."""
    noise = np.random.default_rng(seed).standard_normal(images.shape).astype(np.float32)
    return np.clip(images + std * noise, 0.0, 1.0).astype(np.float32)


def salt_and_pepper(images: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """A ``fraction`` of the pixel positions set to 0 or 1 (each with probability ½), all channels alike."""
    rng = np.random.default_rng(seed)
    hit = rng.random(images.shape[:-1] + (1,)) < fraction
    value = (rng.random(images.shape[:-1] + (1,)) < 0.5).astype(np.float32)
    return np.where(hit, value, images).astype(np.float32)


def dropout_noise(images: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """A ``fraction`` of the pixel positions set to 0, all channels alike (the denoiser is not told which)."""
    hit = np.random.default_rng(seed).random(images.shape[:-1] + (1,)) < fraction
    return np.where(hit, 0.0, images).astype(np.float32)


NOISES = {"gaussian": additive_noise, "salt_pepper": salt_and_pepper, "mask": dropout_noise}


def corrupt(images: np.ndarray, spec: str, seed: int = 0) -> np.ndarray:
    """The noise a spec names (``gaussian:SIGMA``, ``salt_pepper:P``, ``mask:P``; checked by
    ``uses.masks_and_noise.check_noise_spec``) applied to ``images``."""
    name, _, value = spec.partition(":")
    return NOISES[name](images, float(value), seed)


def drop_classes(images: np.ndarray, labels: np.ndarray, dropped: int, n: int) -> np.ndarray:
    """Mode loss: the first ``n`` images (in their given order) whose label is not among the ``dropped``
    lowest classes."""
    kept = images[labels >= np.sort(np.unique(labels))[dropped]]
    if len(kept) < n:
        raise ValueError(f"only {len(kept)} images remain after dropping {dropped} classes; lower n")
    return kept[:n]
