"""Keras callbacks that a run folder needs beyond Keras's own (BackupAndRestore, CSVLogger, TensorBoard)."""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import keras
import numpy as np

from vae_gan_tf.metrics.modes import mode_coverage
from vae_gan_tf.plotting import save_image_grid, save_scatter, save_sequences


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
        self._check(logs, f"batch {batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        """Validation losses and the weights after the epoch's last update, before anything is saved."""
        logs = dict(logs or {})
        if not all(np.all(np.isfinite(keras.ops.convert_to_numpy(w))) for w in self.model.weights
                   if "float" in str(w.dtype)):
            logs["weights"] = float("nan")
        self._check(logs, "its end")

    def _check(self, logs, where):
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
                f"non-finite loss ({names}) in epoch {self.epoch + 1}, {where}; {last}. "
                "Lower train.learning_rate or check the data, then run again with --resume or --overwrite")


class RunLog:
    """``RUN/train.log``: timestamped lines about the run (warnings included), kept across resumes."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.warnings: list[str] = []

    def write(self, message: str) -> None:
        with open(self.path, "a") as fh:
            fh.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        self.write(f"WARNING {message}")
        print(f"warning: {message}", file=sys.stderr)


class DiscriminatorCollapseWarning(keras.callbacks.Callback):
    """Warn when D classified every real and every generated example correctly for a whole epoch.

    ``d_accuracy`` is the epoch mean of per-batch accuracies, so it is 1.0 only when every batch was.
    Such a D gives the generator vanishing (minimax) or uninformative gradients: a sign of collapse.
    """

    def __init__(self, run_log: RunLog):
        super().__init__()
        self.run_log = run_log

    def on_epoch_end(self, epoch, logs=None):
        if (logs or {}).get("d_accuracy", 0.0) >= 1.0:
            self.run_log.warn(
                f"epoch {epoch + 1}: the discriminator was 100% accurate on every batch; the generator may "
                "have collapsed or fallen behind (try a lower model.d_learning_rate, the nonsaturating loss, "
                "or model.name=wgan)")


class ModeCoverage(keras.callbacks.Callback):
    """For 2-D mixtures: after every epoch, scatter samples over the true modes into
    ``samples/epoch_NNN.png`` and add ``modes_captured`` and ``high_quality_fraction`` to the epoch
    logs (so history.csv has them). Place it before CSVLogger."""

    def __init__(self, folder: Path, z: np.ndarray, means: np.ndarray, std: float):
        super().__init__()
        self.folder = Path(folder)
        self.z, self.means, self.std = z, means, std

    def on_epoch_end(self, epoch, logs=None):
        samples = keras.ops.convert_to_numpy(self.model.generate(self.z))
        captured, high_quality = mode_coverage(samples, self.means, self.std)
        if logs is not None:
            logs["modes_captured"] = float(captured)
            logs["high_quality_fraction"] = high_quality
        save_scatter(samples, self.folder / f"epoch_{epoch + 1:03d}.png", self.means,
                     title=f"epoch {epoch + 1}: {captured}/{len(self.means)} modes, "
                           f"{100 * high_quality:.1f}% high quality")


class SampleGrid(keras.callbacks.Callback):
    """Generate from one fixed batch of prior noise after every epoch into ``samples/epoch_NNN.png``; for a
    conditional model, ``labels`` go with it and the grid has ``ncols`` columns (one row per class)."""

    def __init__(self, folder: Path, z: np.ndarray, pixel_range=(0.0, 1.0), labels=None, ncols=None):
        super().__init__()
        self.folder = Path(folder)
        self.z, self.labels, self.ncols = z, labels, ncols
        self.pixel_range = pixel_range

    def on_epoch_end(self, epoch, logs=None):
        given = () if self.labels is None else (self.labels,)
        images = keras.ops.convert_to_numpy(self.model.generate(self.z, *given))
        title = "one row per class" if self.labels is not None else "samples from the prior"
        save_image_grid(images, self.folder / f"epoch_{epoch + 1:03d}.png", self.pixel_range, ncols=self.ncols,
                        title=f"{title}, epoch {epoch + 1}")


class SampleCurves(keras.callbacks.Callback):
    """Sequence data: generate from one fixed batch of prior noise after every epoch and draw the
    sequences as curves into ``samples/epoch_NNN.png``."""

    def __init__(self, folder: Path, z: np.ndarray):
        super().__init__()
        self.folder = Path(folder)
        self.z = z

    def on_epoch_end(self, epoch, logs=None):
        sequences = keras.ops.convert_to_numpy(self.model.generate(self.z))
        save_sequences(sequences, self.folder / f"epoch_{epoch + 1:03d}.png",
                       title=f"samples from the prior, epoch {epoch + 1}")


class TimeBudget(keras.callbacks.Callback):
    """Stop training once ``minutes`` of wall-clock training time have passed. Checked after every batch:
    Keras then closes the epoch early, and that partial epoch is checkpointed and logged as done."""

    def __init__(self, minutes: float, run_log: "RunLog"):
        super().__init__()
        self.seconds = 60.0 * minutes
        self.run_log = run_log
        self._start = 0.0

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if not self.model.stop_training and time.perf_counter() - self._start > self.seconds:
            self.model.stop_training = True
            self.run_log.write(f"time budget of {self.seconds / 60:g} minutes reached")


class EpochTimer(keras.callbacks.Callback):
    """Wall-clock seconds and steps per epoch, for images/s in metrics.json."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self.steps: list[int] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self.steps.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.steps[-1] += 1

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)

    def images_per_second(self, images_per_step: int) -> float | None:
        """Training throughput over the epochs after the first (which includes tracing), if any."""
        seconds, steps = (self.seconds[1:], self.steps[1:]) if len(self.seconds) > 1 else (self.seconds, self.steps)
        return round(sum(steps) * images_per_step / sum(seconds), 1) if seconds and sum(seconds) > 0 else None
