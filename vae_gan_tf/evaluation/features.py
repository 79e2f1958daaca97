"""Feature extractors for the sample-quality metrics: the 2015 TF Inception graph's pool_3 features
(the FID standard, :mod:`vae_gan_tf.evaluation.fid_inception`), Keras InceptionV3 pool features with ImageNet class
probabilities, or a small CNN classifier trained by this package.

They give numbers on different scales. FID from the classifier is *not* comparable with Inception
FID or with published values, and every report says which extractor produced a number.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from vae_gan_tf.errors import UserError, first_line
from vae_gan_tf.runs.folder import atomic, cache_root, writable_folder

INCEPTION_SIZE = 299


def classifier_dir() -> Path:
    """Cache of trained classifiers: $VAE_GAN_TF_CACHE/classifiers, default ~/.cache/vae_gan_tf/classifiers."""
    return cache_root() / "classifiers"


class FeatureExtractor(ABC):
    """``features(images)`` -> (n, d) float64 and ``probabilities(images)`` -> (n, classes), batched.

    ``images`` are NHWC in [0, 1]; each extractor resizes and converts channels itself.
    """

    name = "base"

    def __init__(self, model: keras.Model, input_shape, batch_size: int = 100):
        self.model = model
        self.input_shape = tuple(input_shape)
        self.batch_size = batch_size

    @abstractmethod
    def prepare(self, images: tf.Tensor) -> tf.Tensor:
        """Images in [0, 1] -> the extractor's input (size, channels, scale)."""

    def __call__(self, images: np.ndarray, progress: keras.utils.Progbar | None = None):
        """(features, probabilities) of ``images`` in [0, 1]."""
        features, probabilities = [], []
        for start in range(0, len(images), self.batch_size):
            batch = self.prepare(tf.constant(images[start:start + self.batch_size], tf.float32))
            outputs = self.model(batch, training=False)
            feats, probs = outputs if isinstance(outputs, (list, tuple)) else (outputs, None)
            features.append(np.asarray(feats, np.float64))
            if probs is not None:
                probabilities.append(np.asarray(probs, np.float64))
            if progress is not None:
                progress.add(len(feats))
        return np.concatenate(features), (np.concatenate(probabilities) if probabilities else None)


def match_channels(images: tf.Tensor, channels: int) -> tf.Tensor:
    if images.shape[-1] == channels:
        return images
    if channels == 3:
        return tf.image.grayscale_to_rgb(images)
    return tf.image.rgb_to_grayscale(images)


class InceptionExtractor(FeatureExtractor):
    """keras.applications.InceptionV3 (ImageNet): the 2048-d ``avg_pool`` features and the 1000-way
    softmax. Images are resized to 299x299 with antialiasing and scaled to [-1, 1] (Heusel et al. 2017;
    Salimans et al. 2016). The weights are downloaded once, into the Keras cache."""

    name = "inception"

    def __init__(self, batch_size: int = 50):
        try:
            full = keras.applications.InceptionV3(include_top=True, weights="imagenet")
        except Exception as err:  # keras.utils.get_file wraps network errors in a plain Exception
            raise UserError(f"the InceptionV3 ImageNet weights could not be loaded ({first_line(err)}); without network "
                            "access use --features classifier (train one with --train-classifier SOURCE)") from None
        model = keras.Model(full.input, [full.get_layer("avg_pool").output, full.output])
        super().__init__(model, (INCEPTION_SIZE, INCEPTION_SIZE, 3), batch_size)

    def prepare(self, images):
        images = tf.image.resize(match_channels(images, 3), (INCEPTION_SIZE, INCEPTION_SIZE),
                                 method="bilinear", antialias=True)
        return images * 2.0 - 1.0


class FidInceptionExtractor(FeatureExtractor):
    """The 2015 TF Inception graph's 2048-d pool_3 features (the FID standard of TTUR, TF-GAN,
    pytorch-fid and clean-fid), ported by :mod:`vae_gan_tf.evaluation.fid_inception` and run through its
    :class:`~vae_gan_tf.evaluation.fid_inception.FidNetwork` (one traced function, BatchNorm folded; the
    same features as the Keras port within 2e-5). It has no class probabilities (the archive ends at
    pool_3), so no IS. The batch of 50 was the fastest of 25/50/100 in benchmarks/fid_speed.py (within
    noise); its largest layer's input and output (147x147x32 and x64 float32) take about 0.4 GB."""

    name = "fid_inception"

    def __init__(self, batch_size: int = 50, jit_compile: bool = False):
        from vae_gan_tf.evaluation.fid_inception import INPUT_SIZE, FidNetwork, load_fid_inception

        model, spec = load_fid_inception(with_spec=True)
        super().__init__(model, (INPUT_SIZE, INPUT_SIZE, 3), batch_size)
        self.network = FidNetwork(model, spec, jit_compile=jit_compile)

    def prepare(self, images):
        from vae_gan_tf.evaluation.fid_inception import fid_inception_input

        return fid_inception_input(images)

    def __call__(self, images: np.ndarray, progress=None):
        """(features (n, 2048) float64, None) of ``images`` in [0, 1]."""
        features = []
        for start in range(0, len(images), self.batch_size):
            batch = np.asarray(images[start:start + self.batch_size], np.float32)
            features.append(self.network(batch).numpy().astype(np.float64))
            if progress is not None:
                progress.add(len(batch))
        return np.concatenate(features), None


class ClassifierExtractor(FeatureExtractor):
    """A small CNN trained by :func:`train_classifier`: the penultimate layer's features and its class
    probabilities. Images are resized to the classifier's input size."""

    name = "classifier"

    def __init__(self, path: Path, batch_size: int = 256):
        classifier = keras.models.load_model(path)
        model = keras.Model(classifier.input, [classifier.get_layer("features").output, classifier.output])
        super().__init__(model, classifier.input_shape[1:], batch_size)
        self.path = Path(path)

    def prepare(self, images):
        images = match_channels(images, self.input_shape[-1])
        if tuple(images.shape[1:3]) != self.input_shape[:2]:
            images = tf.image.resize(images, self.input_shape[:2], antialias=True)
        return images


def classifier_path(source: str) -> Path:
    """Where the classifier for ``source`` is cached: one file per source name."""
    slug = "".join(c if c.isalnum() else "_" for c in source)[:40]
    digest = hashlib.sha1(source.encode()).hexdigest()[:8]
    return classifier_dir() / f"{slug}_{digest}.keras"


def classifier_network(image_shape, classes: int) -> keras.Model:
    """Conv(32)-Conv(64) stride 2, a 128-unit ``features`` layer, softmax over the classes."""
    x = keras.Input(image_shape)
    h = keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
    h = keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dropout(0.3)(h)
    h = keras.layers.Dense(128, activation="relu", name="features")(h)
    out = keras.layers.Dense(classes, activation="softmax", name="probabilities")(h)
    return keras.Model(x, out, name="classifier")


def train_classifier(images: np.ndarray, labels: np.ndarray, path: Path, epochs: int = 10, seed: int = 0,
                     verbose="auto") -> dict:
    """Train :func:`classifier_network` on labelled images in [0, 1], save it to ``path`` and return
    its held-out accuracy (10% of the images, fixed split)."""
    keras.utils.set_random_seed(seed)
    order = np.random.default_rng(seed).permutation(len(images))
    n_val = max(1, len(images) // 10)
    val, train = order[:n_val], order[n_val:]
    classes = int(labels.max()) + 1
    model = classifier_network(images.shape[1:], classes)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(images[train], labels[train], batch_size=128, epochs=epochs, verbose=verbose,
              validation_data=(images[val], labels[val]))
    _, accuracy = model.evaluate(images[val], labels[val], verbose=0)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic(path) as incoming:
        model.save(incoming)
    return {"path": str(path), "classes": classes, "held_out_accuracy": float(accuracy)}


def make_extractor(kind: str, source: str) -> FeatureExtractor:
    """``inception``, ``fid_inception``, or ``classifier`` (the cached classifier of ``source``; a
    UserError if none)."""
    if kind == "inception":
        return InceptionExtractor()
    if kind == "fid_inception":
        return FidInceptionExtractor()
    path = classifier_path(source)
    if not path.is_file():
        raise UserError(f"no classifier trained for data source {source!r}; train one with "
                        f"python -m vae_gan_tf.evaluate --train-classifier {source}")
    return ClassifierExtractor(path)


def train_classifier_for(source: str, epochs: int, verbose="auto", image_size: int | None = None) -> dict:
    """Train and cache the feature classifier of ``source`` (a labelled image source)."""
    from vae_gan_tf.data.sources import load_source

    writable_folder(classifier_dir(), "the classifier cache")  # before the training, not after
    arrays = load_source(source, "train", image_size)
    if arrays.labels is None:
        raise UserError(f"data source {source!r} has no labels; the classifier needs a labelled source "
                        "(mnist5k, digits, mnist, idx:DIR with label files, folder:DIR with class sub-folders)")
    if arrays.images.ndim != 4:
        raise UserError(f"data source {source!r} holds points, not images: no classifier is needed")
    return train_classifier(arrays.images, arrays.labels, classifier_path(source), epochs=epochs, verbose=verbose)
