"""Keras callbacks that a run folder needs beyond Keras's own (BackupAndRestore, CSVLogger, TensorBoard)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import keras
import numpy as np

from vae_gan_tf.plotting import save_image_grid


class NonFiniteLossError(RuntimeError):
    """Raised from inside ``fit`` so that no later callback (BackupAndRestore) saves broken weights."""


class StopOnNonFinite(keras.callbacks.Callback):
    """Stop at the first batch whose logged losses are not finite, naming the epoch and the checkpoint.

    Unlike ``keras.callbacks.TerminateOnNaN`` it raises instead of setting ``stop_training``: Keras
    still runs ``on_epoch_end`` after a stop, and BackupAndRestore would then overwrite the last good
    checkpoint with NaN weights. Put it first in the callback list.
    """

    def __init__(self, checkpoint_dir: Path):
        super().__init__()
        self.checkpoint_dir = Path(checkpoint_dir)
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        bad = {k: v for k, v in (logs or {}).items() if not math.isfinite(float(v))}
        if bad:
            metadata = self.checkpoint_dir / "training_metadata.json"
            if metadata.is_file():
                epochs_done = json.loads(metadata.read_text())["epoch"]
                last = f"the last good checkpoint is {self.checkpoint_dir} (after epoch {epochs_done})"
            else:
                last = "no checkpoint was written before it"
            names = ", ".join(f"{k}={v}" for k, v in bad.items())
            raise NonFiniteLossError(
                f"non-finite loss ({names}) in epoch {self.epoch + 1}, batch {batch + 1}; {last}. "
                "Lower train.learning_rate or check the data, then run again with --resume or --overwrite")


class SampleGrid(keras.callbacks.Callback):
    """Decode one fixed batch of prior noise after every epoch into ``samples/epoch_NNN.png``."""

    def __init__(self, folder: Path, z: np.ndarray, pixel_range=(0.0, 1.0)):
        super().__init__()
        self.folder = Path(folder)
        self.z = z
        self.pixel_range = pixel_range

    def on_epoch_end(self, epoch, logs=None):
        images = keras.ops.convert_to_numpy(self.model.decode(self.z))
        save_image_grid(images, self.folder / f"epoch_{epoch + 1:03d}.png", self.pixel_range,
                        title=f"samples from the prior, epoch {epoch + 1}")


class EpochTimer(keras.callbacks.Callback):
    """Wall-clock seconds per epoch, for images/s in metrics.json."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
