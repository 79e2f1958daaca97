"""Generated samples as training data (doc 002 §1.5, 数据增强 data augmentation): the classification accuracy
score (CAS, Ravuri & Vinyals 2019) and the gain from adding generated images to a few real ones.

Every arm trains the library's feature CNN (features.classifier_network) from the same initialisation
seed with the same recipe: Adam 1e-3, batches of 128 drawn from the shuffled, repeated training set, a
fixed number of steps (so a small set is not trained less than a large one), tested on the real test set.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from vae_gan_tf.evaluation.features import classifier_network

BATCH_SIZE = 128


class Advance(keras.callbacks.Callback):
    """Advance a ``keras.utils.Progbar`` by one step after every training step (several classifiers, one bar)."""

    def __init__(self, progress):
        super().__init__()
        self.progress = progress

    def on_train_batch_end(self, batch, logs=None):
        self.progress.add(1)


def fit_classifier(images, labels, classes: int, steps: int, seed: int = 0, progress=None) -> keras.Model:
    """The feature CNN trained on (``images`` in [0, 1], int ``labels``) for ``steps`` steps; ``progress`` (a
    ``keras.utils.Progbar``) advances by one per step."""
    keras.utils.set_random_seed(seed)
    model = classifier_network(images.shape[1:], classes)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    data = (
        tf.data.Dataset.from_tensor_slices((images.astype(np.float32), labels.astype(np.int32)))
        .shuffle(len(images), seed=seed)
        .repeat()
        .batch(BATCH_SIZE)
    )
    model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0,
              callbacks=[] if progress is None else [Advance(progress)])
    return model


def accuracy(model: keras.Model, images, labels) -> float:
    """Share of ``images`` whose most probable class is the label."""
    probabilities = model.predict(images.astype(np.float32), batch_size=500, verbose=0)
    return float(np.mean(probabilities.argmax(axis=1) == labels))


def classification_accuracy_score(
    train_images, train_labels, test_images, test_labels, classes: int, steps: int, seed: int = 0, progress=None
) -> float:
    """CAS (Ravuri & Vinyals 2019): the real-test-set accuracy of a classifier trained only on the given
    labelled images. With generated images it is the CAS; with real ones it is the ordinary baseline."""
    model = fit_classifier(train_images, train_labels, classes, steps, seed, progress)
    return accuracy(model, test_images, test_labels)


def per_class_subset(labels, per_class: int, seed: int) -> np.ndarray:
    """Indices of ``per_class`` random examples of every class (fewer if a class has fewer)."""
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in np.unique(labels)]
    )


def augmentation_gain(real, generated, test, classes: int, per_class: int, steps: int, seeds, progress=None) -> dict:
    """Accuracy with ``per_class`` real images per class alone and with the generated images added, for each
    seed (a new real subset and initialisation); ``real``, ``generated``, ``test`` are (images, labels)."""
    alone, added = [], []
    for seed in seeds:
        chosen = per_class_subset(real[1], per_class, seed)
        x, y = real[0][chosen], real[1][chosen]
        alone.append(classification_accuracy_score(x, y, *test, classes, steps, seed, progress))
        both = (np.concatenate([x, generated[0]]), np.concatenate([y, generated[1]]))
        added.append(classification_accuracy_score(*both, *test, classes, steps, seed, progress))
    gains = np.subtract(added, alone)
    return {
        "real_per_class": per_class,
        "generated": int(len(generated[1])),
        "seeds": list(seeds),
        "accuracy_real": float(np.mean(alone)),
        "accuracy_real_plus_generated": float(np.mean(added)),
        "gain_mean": float(gains.mean()),
        "gain_std": float(gains.std(ddof=1)) if len(gains) > 1 else 0.0,
        "gains": [float(g) for g in gains],
    }
