"""The images a run never trains on, and the ones it does, in [0, 1] with their labels: the one loader
that evaluation, the per-epoch evaluation, the uses and the conditional scores share.

The held-out images are the source's test split where it has one (``sources.has_test_split``), else the
validation images that every run of the source leaves out (``pipeline.split_validation``)."""

from __future__ import annotations

import numpy as np

from vae_gan_tf.errors import UserError


def _subset(images, labels, n: int | None, seed: int):
    """All of them in order (``n`` None), or ``n`` of them in a random order drawn from ``seed``."""
    if n is None:
        return images, labels
    order = np.random.default_rng(seed).permutation(len(images))[:n]
    return images[order], (labels[order] if labels is not None else None)


def source_images(config, split: str = "train", n: int | None = None, seed: int = 0):
    """(images, labels or None) of the run's source and ``split``, shaped as the model sees them, in [0, 1]
    (2-D points and sequences unchanged)."""
    from vae_gan_tf.data.pipeline import prepare_images  # TensorFlow (the resize)
    from vae_gan_tf.data.sources import load_source

    arrays = load_source(config.data.source, split, config.data.image_size)
    return _subset(prepare_images(arrays, config), arrays.labels, n, seed)


def held_out_images(config, n: int | None = None, seed: int = 0):
    """(images, labels or None) that no run of this config trains on (module docstring); a UserError when
    there are none (no test split and ``data.validation_split`` 0)."""
    from vae_gan_tf.data.pipeline import split_validation
    from vae_gan_tf.data.sources import has_test_split

    if has_test_split(config.data.source):
        return source_images(config, "test", n, seed)
    images, labels = source_images(config, "train")
    indices = split_validation(len(images), config.data.validation_split)[1]
    if len(indices) == 0:
        raise UserError(f"data source {config.data.source!r} has no test split and data.validation_split is "
                        "0, so no image is held out; set data.validation_split=0.1")
    return _subset(images[indices], labels[indices] if labels is not None else None, n, seed)


def training_images(config):
    """(images, labels or None) that the run trains on: its source's train split less the validation images."""
    from vae_gan_tf.data.pipeline import split_validation

    images, labels = source_images(config, "train")
    indices = split_validation(len(images), config.data.validation_split)[0]
    return images[indices], (labels[indices] if labels is not None else None)
