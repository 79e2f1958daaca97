"""``evaluate --metrics cas,augment`` for a conditional run (CVAE, CGAN): its labelled samples as training
data for the feature CNN, beside as many real images (evaluation/metrics/classification.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vae_gan_tf.data.held_out import held_out_images, training_images
from vae_gan_tf.errors import UserError
from vae_gan_tf.runs.folder import SAVED_MODEL
from vae_gan_tf.runs.saved_model import load_saved_model, prior_codes, unit_range_samples

USEFULNESS_METRICS = ("cas", "augment")
CLASSIFIER_STEPS = 1000
AUGMENT_PER_CLASS = (10, 100)
AUGMENT_SEEDS = (0, 1, 2)


def check_conditional(info: dict, run_dir: Path, chosen) -> None:
    """A UserError when cas/augment are asked of a run that cannot draw labelled samples."""
    asked = [m for m in chosen if m in USEFULNESS_METRICS]
    if asked and info.get("num_classes") is None:
        raise UserError(f"--metrics {','.join(asked)} needs labelled samples, but {run_dir} holds an "
                        f"unconditional {info['family']}; evaluate a cvae or cgan run")


def usefulness_metrics(run_dir: Path, config, info: dict, chosen, n: int, seed: int, verbose: bool = True) -> dict:
    """CAS beside the real-data baseline (``n`` images each, classes balanced for the generated ones) and the
    augmentation gains for AUGMENT_PER_CLASS real images per class over AUGMENT_SEEDS, with one progress bar
    over the steps of all the classifiers they train (minutes on a CPU) unless ``verbose`` is False."""
    import keras

    from vae_gan_tf.evaluation.metrics.classification import augmentation_gain, classification_accuracy_score

    classes = int(info["num_classes"])
    real, test = training_images(config), held_out_images(config)
    labels = np.arange(n) % classes
    loaded = load_saved_model(run_dir / SAVED_MODEL)
    generated = (unit_range_samples(loaded, info, prior_codes(info, n, seed + 2), labels), labels)
    results: dict = {"classifier_steps": CLASSIFIER_STEPS, "test_images": int(len(test[1]))}
    arms = 2 * ("cas" in chosen) + 2 * len(AUGMENT_PER_CLASS) * len(AUGMENT_SEEDS) * ("augment" in chosen)
    progress = keras.utils.Progbar(arms * CLASSIFIER_STEPS, unit_name="step", verbose=1 if verbose else 0)
    if "cas" in chosen:
        order = np.random.default_rng(seed).permutation(len(real[1]))[:n]
        results["cas"] = classification_accuracy_score(*generated, *test, classes, CLASSIFIER_STEPS, seed, progress)
        results["cas_real_same_size"] = classification_accuracy_score(
            real[0][order], real[1][order], *test, classes, CLASSIFIER_STEPS, seed, progress
        )
        results["cas_images"] = int(n)
    if "augment" in chosen:
        for per_class in AUGMENT_PER_CLASS:
            gain = augmentation_gain(
                real, generated, test, classes, per_class, CLASSIFIER_STEPS, AUGMENT_SEEDS, progress
            )
            prefix = f"augment{per_class}"
            results.update(
                {
                    f"{prefix}_accuracy_real": gain["accuracy_real"],
                    f"{prefix}_accuracy_with_generated": gain["accuracy_real_plus_generated"],
                    f"{prefix}_gain": gain["gain_mean"],
                    f"{prefix}_gain_std": gain["gain_std"],
                }
            )
    return results
