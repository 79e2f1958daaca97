"""Sample quality during training (``train.eval_every_epochs``): FID, KID, precision/recall and
density/coverage of ``train.eval_samples`` prior samples against as many held-out real images, on the
cached feature classifier (evaluation/features.py) or, with ``train.eval_features: fid_inception``, on the
2015 FID Inception network, after every N-th epoch and the last. The held-out real features come from the
reference-statistics cache (evaluation/reference_stats.py), so they are computed once per source, not per run.

The values go into the epoch's logs as the ``eval_*`` columns of history.csv (NaN on the epochs in
between, so that every row has the same columns, which history.csv needs across resumed ``fit`` calls),
into TensorBoard under ``logs/eval/`` and into curves.png. An epoch is evaluated once, at its end: a
resumed run continues the history.csv of the first session and evaluates only the epochs it trains.
The formulas are those of ``evaluation/metrics/`` (fid, kid, precision_recall); this module only feeds them.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from vae_gan_tf.data.held_out import held_out_images
from vae_gan_tf.data.pixels import pixel_range, to_unit_range
from vae_gan_tf.errors import UserError
from vae_gan_tf.evaluation.features import classifier_path, make_extractor
from vae_gan_tf.evaluation.metrics.fid import fid_from_features
from vae_gan_tf.evaluation.metrics.kid import kid_from_features
from vae_gan_tf.evaluation.metrics.precision_recall import density_coverage, precision_recall

EVAL_COLUMNS = ("eval_fid", "eval_kid", "eval_precision", "eval_recall", "eval_density", "eval_coverage")
CLASSIFIER_EPOCHS = 10  # what python -m vae_gan_tf.evaluate --train-classifier uses by default
GENERATE_BATCH = 500


def sample_quality(real_features: np.ndarray, fake_features: np.ndarray, seed: int = 0) -> dict:
    """The ``eval_*`` values of two feature sets: FID (Heusel et al. 2017), KID as the mean MMD² over 100
    subsets (Bińkowski et al. 2018), precision/recall with k = 3 (Kynkäänniemi et al. 2019) and
    density/coverage with k = 5 (Naeem et al. 2020), the settings of ``evaluate``."""
    n = min(len(real_features), len(fake_features))
    kid, _ = kid_from_features(real_features, fake_features, subsets=100, subset_size=min(1000, n), seed=seed)
    precision, recall = precision_recall(real_features, fake_features, k=3)
    density, coverage = density_coverage(real_features, fake_features, k=5)
    values = (fid_from_features(real_features, fake_features), kid, precision, recall, density, coverage)
    return {name: float(value) for name, value in zip(EVAL_COLUMNS, values)}


def ensure_classifier(source: str, verbose="auto") -> None:
    """Train and cache the feature classifier of ``source`` once (Keras's progress bar) if there is none."""
    if classifier_path(source).is_file():
        return
    from vae_gan_tf.data.sources import load_source
    from vae_gan_tf.evaluation.features import train_classifier_for

    if load_source(source, "train").labels is None:
        raise UserError(f"train.eval_every_epochs needs a feature classifier, and data source {source!r} has "
                        "no labels to train one on; set train.eval_every_epochs=null")

    print(f"train.eval_every_epochs: no cached feature classifier for {source}; training it once "
          f"({CLASSIFIER_EPOCHS} epochs) into {classifier_path(source)}")
    result = train_classifier_for(source, CLASSIFIER_EPOCHS, verbose=verbose)
    print(f"classifier held-out accuracy {result['held_out_accuracy']:.4f}")


class EpochEvaluation(keras.callbacks.Callback):
    """After epochs N, 2N, … and the run's last: generate from fixed prior noise ``z`` (one label per code
    in turn for a conditional model), extract features and add :data:`EVAL_COLUMNS` to the logs; NaN on
    the other epochs. Place it before ResumableBackup and HistoryLog (training.make_callbacks)."""

    def __init__(self, extractor, real_features: np.ndarray, z: np.ndarray, pixel_range, every: int,
                 last_epoch: int, log_dir: Path, run_log=None, num_classes=None, seed: int = 0):
        super().__init__()
        self.extractor, self.real_features, self.z = extractor, real_features, z
        self.pixel_range, self.every, self.last_epoch = tuple(pixel_range), every, last_epoch
        self.log_dir, self.run_log, self.num_classes, self.seed = Path(log_dir), run_log, num_classes, seed
        self.seconds: list[float] = []  # per evaluation, for its cost relative to an epoch
        self._writer = None

    def due(self, epoch: int) -> bool:
        return (epoch + 1) % self.every == 0 or epoch + 1 == self.last_epoch

    def generate(self) -> np.ndarray:
        chunks = []
        for start in range(0, len(self.z), GENERATE_BATCH):
            z = self.z[start:start + GENERATE_BATCH]
            given = () if self.num_classes is None else (np.arange(start, start + len(z)) % self.num_classes,)
            chunks.append(keras.ops.convert_to_numpy(self.model.generate(z, *given)))
        return to_unit_range(np.concatenate(chunks), self.pixel_range)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        if not self.due(epoch):
            logs.update({name: math.nan for name in EVAL_COLUMNS})
            return
        start = time.perf_counter()
        fake_features, _ = self.extractor(self.generate())
        values = sample_quality(self.real_features, fake_features, self.seed)
        logs.update(values)
        self.seconds.append(time.perf_counter() - start)
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(str(self.log_dir / "eval"))
        with self._writer.as_default():
            for name, value in values.items():
                tf.summary.scalar(f"epoch_{name}", value, step=epoch)
        self._writer.flush()
        if self.run_log is not None:
            shown = ", ".join(f"{k[5:]}={v:.4g}" for k, v in values.items())
            self.run_log.write(f"eval after epoch {epoch + 1}: {shown} ({self.seconds[-1]:.1f} s)")


def make_epoch_evaluation(model, config, log_dir: Path, last_epoch: int):
    """The :class:`EpochEvaluation` of a run whose ``train.eval_every_epochs`` is set: the extractor of
    ``train.eval_features`` (the cached classifier, trained here once if missing, or the FID network) and
    the held-out real features, read from the reference-statistics cache or computed into it. A source
    without labels is a UserError for the classifier (none can be trained on it)."""
    from vae_gan_tf.evaluation.reference_stats import reference_statistics
    from vae_gan_tf.evaluation.run_metrics import evaluation_basis

    kind = getattr(config.train, "eval_features", "classifier")
    if kind == "classifier":
        ensure_classifier(config.data.source)
    extractor = make_extractor(kind, config.data.source)
    real, _ = held_out_images(config, config.train.eval_samples, config.train.seed)
    basis = dict(evaluation_basis(kind, config.data.source, len(real), config.train.seed, real.shape[1:]),
                 real_split="held_out")
    real_features = np.asarray(reference_statistics(extractor, basis, real).features, np.float64)
    z = np.random.default_rng(config.train.seed + 1).standard_normal((len(real), model.latent_dim))
    return EpochEvaluation(extractor, real_features, z.astype(np.float32), pixel_range(config.data.scale),
                           config.train.eval_every_epochs, last_epoch, log_dir,
                           num_classes=getattr(model, "num_classes", None), seed=config.train.seed)
