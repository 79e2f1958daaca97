"""The scores of the uses over pixels in [0, 1]: MSE and PSNR (over the missing pixels for a completion), and
the feature classifier's accuracy on the restored images, as ``complete`` and ``denoise`` record them in
``RUN/uses.json``."""

from __future__ import annotations

import numpy as np


def masked_mse(reference: np.ndarray, estimate: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Per-image mean squared error over the pixels where ``weights`` is 1 (all pixels without it)."""
    weights = np.ones_like(reference) if weights is None else weights
    flat = lambda a: a.reshape(len(a), -1).astype(np.float64)  # noqa: E731
    return (flat(weights) * (flat(reference) - flat(estimate)) ** 2).sum(1) / flat(weights).sum(1)


def psnr(mse: np.ndarray, peak: float = 1.0) -> np.ndarray:
    """Peak signal-to-noise ratio PSNR = 10 log10(peak² / MSE) in dB, per image (MSE floored at 1e-10)."""
    return 10.0 * np.log10(peak**2 / np.maximum(mse, 1e-10))


def classifier_accuracy(images, labels, source: str) -> float:
    """Accuracy of the library's feature classifier of ``source`` (evaluation/features.py) on ``images``."""
    from vae_gan_tf.evaluation.features import make_extractor  # TensorFlow

    _, probabilities = make_extractor("classifier", source)(images)
    return float(np.mean(probabilities.argmax(axis=1) == labels))


def completion_scores(images, labels, masks, completed, steps, source) -> dict:
    """MSE / PSNR over the missing pixels, of the completions and of the masked input (missing = 0), and the
    classifier's accuracy on originals, masked inputs and completions."""
    missing = 1.0 - masks
    mse, baseline = masked_mse(images, completed, missing), masked_mse(images, images * masks, missing)
    scores = {"images": int(len(images)), "steps": int(steps), "missing_fraction": float(missing.mean()),
              "known_pixels_unchanged": bool(np.array_equal(completed * masks, images * masks)),
              "masked_mse": float(mse.mean()), "masked_psnr": float(psnr(mse).mean()),
              "masked_psnr_zero_fill": float(psnr(baseline).mean())}
    if labels is not None:
        scores.update({"accuracy_original": classifier_accuracy(images, labels, source),
                       "accuracy_masked": classifier_accuracy(images * masks, labels, source),
                       "accuracy_completed": classifier_accuracy(completed, labels, source)})
    return {key: (round(v, 6) if isinstance(v, float) else v) for key, v in scores.items()}


def denoising_scores(images, noisy, denoised) -> dict:
    """Mean PSNR (dB, all pixels) of the noisy and the denoised images, and the gain."""
    before, after = float(psnr(masked_mse(images, noisy)).mean()), float(
        psnr(masked_mse(images, denoised)).mean()
    )
    return {
        "images": int(len(images)),
        "psnr_noisy": round(before, 4),
        "psnr_denoised": round(after, 4),
        "psnr_gain": round(after - before, 4),
    }
