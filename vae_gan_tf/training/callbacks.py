"""Keras callbacks that a run folder needs beyond Keras's own (BackupAndRestore, TensorBoard)."""

from __future__ import annotations

import collections
import collections.abc
import csv
import io
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import h5py
import keras
import numpy as np

from vae_gan_tf.evaluation.metrics.modes import mode_coverage
from vae_gan_tf.report.plotting import save_image_grid, save_scatter, save_sequences
from vae_gan_tf.runs.folder import CONFIG_ATTRIBUTE, append_text, atomic, write_text


def weights_are_finite(model) -> bool:
    """Whether every floating-point weight of ``model`` is finite."""
    return all(np.all(np.isfinite(keras.ops.convert_to_numpy(w))) for w in model.weights
               if "float" in str(w.dtype))


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
        if not weights_are_finite(self.model):
            logs["weights"] = float("nan")
        self._check(logs, "its end")

    def _check(self, logs, where):
        bad = {k: v for k, v in (logs or {}).items() if not math.isfinite(float(v))}
        if bad:
            metadata = self.checkpoint_dir / "training_metadata.json"
            try:
                saved = json.loads(metadata.read_text())
                epoch, step = int(saved["epoch"]), int(saved.get("batch", 0))
                at = f"epoch {epoch + 1}, step {step}" if step else f"the end of epoch {epoch}"
                last = f"the last good checkpoint is at {at}"
            except FileNotFoundError:
                last = "no checkpoint was written before it"
            except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
                last = f"the last checkpoint's {metadata.name} cannot be read"
            names = ", ".join(f"{k}={v}" for k, v in bad.items())
            raise NonFiniteLossError(f"non-finite loss ({names}) in epoch {self.epoch + 1}, {where}; {last}")


class TrainingInterrupted(RuntimeError):
    """Raised from inside ``fit`` after a stop request, once the backup at the current step is written."""


@dataclass
class Position:
    """Where training stands: ``epoch`` epochs completed, ``step`` steps done in the epoch in progress,
    and the metric trackers' (total, count) state so that a resumed epoch's averages include its first
    steps."""

    epoch: int = 0
    step: int = 0
    steps_per_epoch: int = 0
    metrics: dict = field(default_factory=dict)

    @property
    def global_step(self) -> int:
        return self.epoch * self.steps_per_epoch + self.step

    def describe(self) -> str:
        if not self.step:
            return f"after epoch {self.epoch} (global step {self.global_step})"
        return (f"epoch {self.epoch + 1}, step {self.step} of {self.steps_per_epoch} "
                f"(global step {self.global_step})")


POSITION_ATTRIBUTE = "vae_gan_tf_position"  # a root attribute of latest.weights.h5


def load_backup(model, backup_dir: Path, steps_per_epoch: int) -> Position:
    """Load ``backup_dir``'s weights into ``model`` and return where they stand (``Position()`` if there is
    no backup). Folders written by Keras's own BackupAndRestore (epoch ends only) are read as well.
    Exceptions from h5py, JSON or shapes propagate: the caller reports them."""
    weights = Path(backup_dir) / "latest.weights.h5"
    metadata = Path(backup_dir) / "training_metadata.json"
    if not weights.exists() and not metadata.exists():
        return Position(steps_per_epoch=steps_per_epoch)
    with h5py.File(weights, "r") as f:
        recorded = f.attrs.get(POSITION_ATTRIBUTE)
    if recorded is not None:
        position = Position(**json.loads(recorded))
    else:
        position = Position(epoch=json.loads(metadata.read_text())["epoch"], steps_per_epoch=steps_per_epoch)
    if not isinstance(position.epoch, int) or position.epoch < 0 or not 0 <= position.step < steps_per_epoch:
        raise ValueError(f"position {position.epoch}/{position.step} does not fit {steps_per_epoch} steps "
                         "per epoch")
    if position.steps_per_epoch != steps_per_epoch:
        raise ValueError(f"it was written with {position.steps_per_epoch} steps per epoch, "
                         f"not {steps_per_epoch}")
    model.load_weights(weights)
    return position


class ResumableBackup(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` that backs up at every epoch end *and* every ``every_steps`` steps, and whose
    backups resume mid-epoch at the right step. Every change to Keras's behaviour is here.

    Checked on Keras 3.15 (pyproject pins keras<3.16), ``keras/src/callbacks/backup_and_restore.py``:

    - ``save_freq`` is either ``"epoch"`` or an integer, not both.
    - With an integer it writes ``{"epoch": epoch in progress, "batch": index of its last batch}`` but
      restores only ``epoch``: the resumed run starts that epoch again from its first batch, with weights
      that already saw some of it. ``batch`` is ambiguous too (0 after an epoch end and after its first
      batch), and with several ``fit`` calls its batch index restarts at 0.
    - It writes the weights file and the metadata in place, one after the other: a kill during a save
      leaves a torn file or a metadata file that does not match the weights.
    - Its ``on_train_begin`` loads the backup and sets ``model._initial_epoch`` (private).

    Here the position (:class:`Position`, with the metric trackers' state) and the run's config (what
    ``--resume`` checks the run folder's editable config.yaml against) are attributes of the weights
    file, written to a temporary name and renamed over ``latest.weights.h5``: weights and position change
    together, atomically. ``training_metadata.json`` then mirrors it with Keras's keys for other readers.
    Restoring is :func:`load_backup`, called before ``fit`` (a bad backup fails with one line before
    anything changes); the caller positions the data stream and runs the rest of an interrupted epoch as
    a shorter ``fit`` with ``initial_epoch`` (``training/fit.py``), so ``on_train_begin`` does nothing.
    """

    def __init__(self, backup_dir: Path, start: Position, every_steps: int | None = None, config: dict | None = None):
        super().__init__(str(backup_dir), save_freq=every_steps or "epoch", delete_checkpoint=False)
        self.config = config
        self.position = Position(start.epoch, start.step, start.steps_per_epoch)
        self._pending_metrics = dict(start.metrics) if start.step else {}
        self._first_step_of_epoch = start.step
        self._last_saved = start.global_step
        self.every_steps = every_steps

    def on_train_begin(self, logs=None):
        pass  # restored before fit by load_backup (class docstring)

    def on_epoch_begin(self, epoch, logs=None):
        """``fit`` has just reset the trackers; a resumed epoch gets back the sums of its first steps."""
        self.position.epoch, self.position.step = epoch, self._first_step_of_epoch
        for metric in self.model.metrics:
            for variable, value in zip(metric.variables, self._pending_metrics.get(metric.name, [])):
                variable.assign(value)
        self._pending_metrics = {}

    def on_train_batch_end(self, batch, logs=None):
        self.position.step = self._first_step_of_epoch + batch + 1  # batch: the last step index of the call
        if (self.every_steps and not self.at_epoch_end()  # an epoch's last step is saved by on_epoch_end
                and self.position.global_step - self._last_saved >= self.every_steps
                and weights_are_finite(self.model)):  # a step's logged loss predates its update: check
            self._save_model()

    def on_epoch_end(self, epoch, logs=None):
        self.position.epoch, self.position.step = epoch + 1, 0
        self._first_step_of_epoch = 0
        self._save_model()

    def at_epoch_end(self) -> bool:
        return self.position.step == self.position.steps_per_epoch

    def _save_model(self):
        """Write weights and position under a temporary name, then rename them over the backup; a failed
        write (a full disk) leaves the previous backup and no temporary file."""
        os.makedirs(self.backup_dir, exist_ok=True)
        position = asdict(self.position)
        if self.position.step:
            position["metrics"] = {m.name: [float(keras.ops.convert_to_numpy(v)) for v in m.variables]
                                   for m in self.model.metrics}
        with atomic(self._weights_path) as incoming:  # runs/folder.py: the one writer
            self.model.save_weights(incoming, overwrite=True)
            with h5py.File(incoming, "a") as f:
                f.attrs[POSITION_ATTRIBUTE] = json.dumps(position)
                if self.config is not None:
                    f.attrs[CONFIG_ATTRIBUTE] = json.dumps(self.config)
        write_text(self._training_metadata_path, json.dumps(
            {"epoch": self.position.epoch, "batch": self.position.step, "global_step": self.position.global_step}))
        self._last_saved = self.position.global_step


class StopWhenRequested(keras.callbacks.Callback):
    """Stop cleanly once ``event`` is set (the train CLI sets it on SIGTERM): after a step in the middle of
    an epoch, write the backup at that step and raise :class:`TrainingInterrupted`; after an epoch's last
    step, let the epoch end first (validation, history row, epoch backup). Put it last in the list."""

    def __init__(self, event, backup: ResumableBackup):
        super().__init__()
        self.event = event
        self.backup = backup

    def on_train_batch_end(self, batch, logs=None):
        if self.event.is_set() and not self.backup.at_epoch_end():
            self.backup._save_model()
            raise TrainingInterrupted(self.backup.position.describe())

    def on_epoch_end(self, epoch, logs=None):
        if self.event.is_set():
            raise TrainingInterrupted(self.backup.position.describe())


class HistoryLog(keras.callbacks.Callback):
    """``RUN/history.csv``, one row per epoch, in the bytes of ``keras.callbacks.CSVLogger(path, append=True)``
    (Keras 3.15, ``keras/src/callbacks/csv_logger.py``: the columns are ``epoch`` and the first epoch's log
    keys of each ``fit`` call, sorted, with ``val_`` twins added when there are none; missing values are
    ``NA``; a header only when the file is empty), but every row is appended through runs/folder.py's
    writer: a full disk keeps the earlier rows whole and a link is never written through (issue 25), where
    CSVLogger appends in place."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = Path(path)
        self.keys: list[str] | None = None

    def on_train_begin(self, logs=None):
        self.keys = None  # a new fit call chooses its columns again, as CSVLogger does
        if not self.path.exists():
            write_text(self.path, "")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        header = not self.path.exists() or self.path.stat().st_size == 0
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
        row = collections.OrderedDict({"epoch": epoch})
        row.update((key, _csv_value(logs.get(key, "NA"))) for key in self.keys)
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=["epoch", *self.keys], dialect=csv.excel)
        if header:
            writer.writeheader()
        writer.writerow(row)
        append_text(self.path, text.getvalue())


def _csv_value(value):
    """A log value as CSVLogger writes it: strings and scalars as they are, sequences as "[a, b]"."""
    if isinstance(value, str) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return value
    if isinstance(value, collections.abc.Iterable):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class RunLog:
    """``RUN/train.log``: timestamped lines about the run (warnings included), kept across resumes."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.warnings: list[str] = []

    def write(self, message: str) -> None:
        append_text(self.path, f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")

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
    logs (so history.csv has them). Place it before HistoryLog.

    Collapse is reported in ``train.log`` and ``metrics.json`` (through ``run_log``): once when modes
    that had all been captured stay lost for ``patience`` epochs in a row, and at the end of training
    when each of the last ``patience`` epochs (of this process: a resumed run starts counting again)
    missed a mode.
    """

    REMEDY = "model.pack=4, model.r1_weight or model.ema_decay help (configs/gan_ring8.yaml)"

    def __init__(self, folder: Path, z: np.ndarray, means: np.ndarray, std: float, run_log: RunLog | None = None,
                 patience: int = 3):
        super().__init__()
        self.folder = Path(folder)
        self.z, self.means, self.std = z, means, std
        self.run_log, self.patience = run_log, patience
        self.captured: list[tuple[int, int]] = []  # (epoch, modes captured)
        self.drop_reported = False

    def _missed_lately(self) -> bool:
        recent = self.captured[-self.patience:]
        return len(recent) == self.patience and all(c < len(self.means) for _, c in recent)

    def on_epoch_end(self, epoch, logs=None):
        samples = keras.ops.convert_to_numpy(self.model.generate(self.z))
        captured, high_quality = mode_coverage(samples, self.means, self.std)
        self.captured.append((epoch + 1, captured))
        full = [e for e, c in self.captured[:-self.patience] if c == len(self.means)]
        if self.run_log is not None and full and self._missed_lately() and not self.drop_reported:
            self.drop_reported = True
            self.run_log.warn(f"epoch {epoch + 1}: {captured}/{len(self.means)} modes captured, fewer than all "
                              f"for {self.patience} epochs after all were at epoch {full[-1]}: the generator is "
                              f"dropping modes; {self.REMEDY}")
        if logs is not None:
            logs["modes_captured"] = float(captured)
            logs["high_quality_fraction"] = high_quality
        save_scatter(samples, self.folder / f"epoch_{epoch + 1:03d}.png", self.means,
                     title=f"epoch {epoch + 1}: {captured}/{len(self.means)} modes, "
                           f"{100 * high_quality:.1f}% high quality")

    def on_train_end(self, logs=None):
        if self.run_log is not None and self._missed_lately():
            counts = ", ".join(str(c) for _, c in self.captured[-self.patience:])
            self.run_log.warn(f"mode collapse: the last {self.patience} epochs captured {counts} of "
                              f"{len(self.means)} modes; {self.REMEDY}")


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
        if not self._start:  # a resumed run may call fit twice (training/fit.py); the budget spans both
            self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if not self.model.stop_training and time.perf_counter() - self._start > self.seconds:
            self.model.stop_training = True
            self.run_log.write(f"time budget of {self.seconds / 60:g} minutes reached")


class EpochTimer(keras.callbacks.Callback):
    """Wall-clock seconds and steps per epoch (``seconds``, ``steps``), and the steady training rate.

    ``images_per_second`` counts training steps only, as ``benchmarks/throughput.py`` does: from the end
    of a ``fit`` call's first execution (which includes tracing) to the end of each epoch's last step,
    so an epoch's validation pass and epoch-end callbacks (sample grids, evaluation) are not charged to
    training. Timing whole epochs after the first instead gave the WGAN-GP of the last comparison report
    15 images/s: its second epoch was cut short by the time budget, and such an epoch's time is mostly
    its validation pass (benchmarks/wgan_epoch_timing.py, docs/comparison.md).
    """

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self.steps: list[int] = []
        self.steady_seconds = 0.0
        self.steady_steps = 0
        self.first_seconds = 0.0  # the run's first execution, tracing included
        self.first_steps = 0
        self._start = 0.0
        self._mark: float | None = None  # end of the last timed execution; None until a fit's first one

    def on_train_begin(self, logs=None):
        self._mark = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self.steps.append(0)
        if self._mark is not None:
            self._mark = self._start

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        done = batch + 1 - self.steps[-1]  # with steps_per_execution > 1 Keras calls this once per execution
        self.steps[-1] = batch + 1
        if self._mark is not None:
            self.steady_seconds += now - self._mark
            self.steady_steps += done
        elif not self.first_steps:
            self.first_seconds, self.first_steps = now - self._start, done
        self._mark = now

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)

    def images_per_second(self, images_per_step: int) -> float | None:
        """Steady training throughput (class docstring); when training stopped within its first execution,
        that execution's rate, tracing included (a lower bound); None before any step."""
        steps, seconds = self.steady_steps, self.steady_seconds
        if not steps or seconds <= 0:
            steps, seconds = self.first_steps, self.first_seconds
        return round(steps * images_per_step / seconds, 1) if steps and seconds > 0 else None
