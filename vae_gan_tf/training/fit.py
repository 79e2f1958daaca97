"""One training run: config -> data -> model -> fit -> run folder.

The run folder is the contract with everything after training (sample, evaluate, compare)::

    RUN/
      config.yaml            the resolved config (what --resume continues)
      checkpoints/           callbacks.ResumableBackup: latest.weights.h5 + training_metadata.json
      history.csv            one row per epoch (callbacks.HistoryLog); with train.eval_every_epochs
                             also the eval_* sample-quality columns (training/epoch_evaluation.py)
      logs/                  TensorBoard (train/, validation/)
      samples/epoch_NNN.png  fixed prior noise through the generator/decoder after each epoch
                             (2-D data: a scatter over the true modes, with mode coverage in history.csv)
      train.log              start / resume / finish lines and warnings (e.g. discriminator collapse)
      model.keras            the trained model, optimizer state included
      saved_model/           SavedModel for inference without this package (runs/export.py)
      reconstructions.png    held-out images above their reconstructions (models with an encoder)
      curves.png             loss curves by epoch
      metrics.json           final metrics, timing, parameter count, warnings
      .vae_gan_tf_run        the marker that makes it a run folder, and the lock (runs/folder.py)

The final artefacts (model.keras, saved_model/, the pictures, metrics.json) are each written under a
temporary name and renamed into place; a run is finished only when they exist and load
(``run_folder.has_final_artefacts``), and resuming a run whose epochs are done but whose final artefacts are
not (a full disk) writes them without training.

Under ``train.strategy=multi_worker`` every worker runs this with its own run folder, but only the
chief writes the outputs above; another worker writes config.yaml and train.log only, and keeps its
BackupAndRestore checkpoints in a temporary folder that is removed when training ends or fails. Keras 3 callbacks
have no chief-only logic, and two workers writing one BackupAndRestore folder crashed on an HDF5 lock
(KERAS3_FACTS.md, tf.distribute). The decision is made once, ``distribute.is_chief``, and passed on.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from vae_gan_tf.config import (
    SEQUENCE_SOURCES,
    TOY_SOURCES,
    Config,
    dump_config,
    images_per_step,
    load_yaml,
    total_epochs,
)
from vae_gan_tf.data.pipeline import make_datasets, train_stream
from vae_gan_tf.data.pixels import pixel_range
from vae_gan_tf.data.toy2d import mixture
from vae_gan_tf.errors import UserError, first_line
from vae_gan_tf.models.catalog import build_model, compile_model
from vae_gan_tf.report.plotting import read_history, save_curves, save_reconstructions, save_sequences
from vae_gan_tf.runs.export import export_saved_model
from vae_gan_tf.runs.folder import (
    CHECKPOINTS,
    CONFIG_FILE,
    CURVES,
    EVAL_FILE,
    HISTORY_FILE,
    LOGS,
    METRICS_FILE,
    MODEL_FILE,
    RECONSTRUCTIONS,
    SAMPLES,
    SAVED_MODEL,
    TRAIN_LOG,
    atomic,
    check_training_folder,
    has_final_artefacts,
    mark,
    write_text,
)
from vae_gan_tf.training.callbacks import (
    DiscriminatorCollapseWarning,
    EpochTimer,
    HistoryLog,
    ModeCoverage,
    NonFiniteLossError,
    Position,
    ResumableBackup,
    RunLog,
    SampleCurves,
    SampleGrid,
    StopOnNonFinite,
    StopWhenRequested,
    TimeBudget,
    TrainingInterrupted,
    load_backup,
)
from vae_gan_tf.training.strategy import (
    check_batch,
    enable_determinism,
    is_chief,
    make_strategy,
    precision_policy,
    use_jit,
)

MODE_SAMPLES = 2500  # samples per mode-coverage estimate, as in VEEGAN and PacGAN


class TrainingFailed(RuntimeError):
    """Training stopped on its own (non-finite loss); the message names the epoch and checkpoint."""


def check_checkpoint(model, checkpoint_dir: Path, steps_per_epoch: int) -> Position:
    """Restore a backup folder into ``model`` and return where it stands (``Position()`` if none); a
    UserError if it cannot be restored.

    Loading here, before ``fit``, lets a foreign or corrupt checkpoint fail with one line while the
    folder is left as it was (BackupAndRestore would raise from deep inside ``fit``).
    """
    fix = "it was left untouched; start a new run with another --out, or replace this one with --overwrite"
    try:
        return load_backup(model, checkpoint_dir, steps_per_epoch)
    except Exception as err:  # h5py, JSON and shape errors all mean "cannot restore"
        raise UserError(f"checkpoint {checkpoint_dir} cannot be restored into this model ({first_line(err)}); "
                        f"{fix}") from None


def check_stage_boundary(run_dir: Path, config: Config, start: Position) -> None:
    """A two-stage run that has begun stage 2 keeps its stage 1 length (``train.epochs``): moving it would
    send the run back to stage 1. A UserError names the key to raise instead."""
    saved = run_dir / CONFIG_FILE
    if not saved.is_file():
        return
    boundary = (load_yaml(saved).get("train") or {}).get("epochs")
    if (isinstance(boundary, int) and config.train.epochs != boundary
            and (start.epoch > boundary or (start.epoch == boundary and start.step))):
        raise UserError(f"run {run_dir} is in stage 2, after train.epochs={boundary} epochs of stage 1, "
                        "which cannot change now; keep --epochs at that, raise model.second_stage_epochs")


def make_callbacks(model, config: Config, run_dir: Path, timer: EpochTimer, run_log: RunLog, start: Position,
                   checkpoint_dir: Path, chief: bool, stop_request=None, evaluation=None) -> list:
    """The run folder's callbacks, in the order that matters (see each comment). A worker that is not
    the chief gets only those that write nothing into the run folder (module docstring). ``stop_request``
    (a ``threading.Event``) stops training at the next step with a backup (StopWhenRequested);
    ``evaluation`` is the chief's epoch_evaluation.EpochEvaluation, if any."""
    callbacks = [StopOnNonFinite(checkpoint_dir)]  # first: it must act before BackupAndRestore saves
    if chief and hasattr(model, "generate"):  # models with a prior: pictures of samples every epoch
        rng = np.random.default_rng(config.train.seed)
        if config.data.source in TOY_SOURCES:  # before HistoryLog: it adds mode metrics to the logs
            means, std = mixture(config.data.source)
            z = rng.standard_normal((MODE_SAMPLES, model.latent_dim)).astype(np.float32)
            callbacks.append(ModeCoverage(run_dir / SAMPLES, z, means, std, run_log))
        elif config.data.source in SEQUENCE_SOURCES:  # curves, not images
            z = rng.standard_normal((config.train.sample_count, model.latent_dim)).astype(np.float32)
            callbacks.append(SampleCurves(run_dir / SAMPLES, z))
        elif getattr(model, "num_classes", None):  # conditional: one row per class
            classes = model.num_classes
            columns = max(1, config.train.sample_count // classes)
            z = rng.standard_normal((classes * columns, model.latent_dim)).astype(np.float32)
            labels = np.repeat(np.arange(classes, dtype=np.int32), columns)
            callbacks.append(SampleGrid(run_dir / SAMPLES, z, pixel_range(config.data.scale), labels, columns))
        else:
            z = rng.standard_normal((config.train.sample_count, model.latent_dim)).astype(np.float32)
            callbacks.append(SampleGrid(run_dir / SAMPLES, z, pixel_range(config.data.scale)))
    if "d_accuracy" in getattr(model, "trackers", {}):
        callbacks.append(DiscriminatorCollapseWarning(run_log))
    if config.train.time_budget_minutes is not None:
        callbacks.append(TimeBudget(config.train.time_budget_minutes, run_log))
    if chief:  # before the evaluation: its NaN columns of the epochs in between stay out of TensorBoard
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / LOGS)))
    if evaluation is not None:  # before the backup: a kill during an evaluation repeats its epoch's end
        evaluation.run_log = run_log
        callbacks.append(evaluation)
    backup = ResumableBackup(checkpoint_dir, start, config.train.checkpoint_every_steps, config.to_dict())
    callbacks.append(backup)
    if chief:  # append: a run's fit calls (resume, two stages) write one file; a new run starts without one
        callbacks.append(HistoryLog(run_dir / HISTORY_FILE))
    callbacks.append(timer)
    if stop_request is not None:  # last: an epoch's other callbacks finish before it stops
        callbacks.append(StopWhenRequested(stop_request, backup))
    return callbacks


def train_run(config: Config, run_dir: Path, resume: bool = False, verbose="auto", stop_request=None) -> dict:
    """Train ``config`` into ``run_dir`` (resuming from its checkpoints when ``resume``); return the
    metrics. The train CLI's ``--overwrite`` trains into a sibling folder and swaps it in (train.py). When the
    ``threading.Event`` ``stop_request`` is set, training stops at the next step with a backup there and
    raises :class:`TrainingInterrupted`."""
    run_dir = Path(run_dir)
    if resume and config.train.strategy == "multi_worker":
        raise UserError("--resume is not supported with train.strategy=multi_worker: the other workers' "
                        "checkpoints are temporary; start a new run with another --out")
    if config.train.deterministic:
        enable_determinism(config.train)  # before any TF op: it sets the inter-op thread count
    strategy = make_strategy(config.train)  # first: logical devices must be set before TF initialises
    check_batch(config, strategy)
    chief = is_chief(config.train)
    policy, warnings = precision_policy(config.train)
    jit, jit_warnings = use_jit(config.train, strategy)
    for warning in warnings + jit_warnings:
        print(f"warning: {warning}", file=sys.stderr)
    keras.mixed_precision.set_global_policy(policy)
    try:
        return _train(config, run_dir, strategy, jit, resume, verbose, warnings + jit_warnings, chief,
                      stop_request)
    finally:
        keras.mixed_precision.set_global_policy("float32")  # the policy is process-wide


def rebuild_exports(config: Config, run_dir: Path) -> Path:
    """``train --resume --export-only`` (issue 25): write ``saved_model/`` again from the run's ``model.keras``,
    without training, so a damaged export is repaired and the model stays what was trained."""
    from vae_gan_tf.models.catalog import load_trained

    run_dir = Path(run_dir)
    model = load_trained(run_dir / MODEL_FILE, "so the exports cannot be rebuilt from it; train the run again "
                                               f"with --overwrite --out {run_dir}")
    with atomic(run_dir / SAVED_MODEL) as path:
        export_saved_model(model, path, pixel_range(config.data.scale))
    RunLog(run_dir / TRAIN_LOG).write(f"{SAVED_MODEL}/ rebuilt from {MODEL_FILE} (--export-only)")
    return run_dir / SAVED_MODEL


def fit_segments(start: Position, epochs: int, stage_boundary: int | None = None) -> list[tuple]:
    """The ``fit`` calls that continue from ``start``: (initial_epoch, epochs, first step) each. An epoch
    interrupted mid-way is finished by a ``fit`` of its remaining steps alone, then the later epochs
    follow at full length (Keras's ``fit`` has one ``steps_per_epoch`` for all its epochs). A two-stage
    model's ``stage_boundary`` (its first stage-2 epoch) also ends a ``fit`` call."""
    if not start.step:
        segments = [(start.epoch, epochs, 0)]
    else:
        rest = [(start.epoch + 1, epochs, 0)] if start.epoch + 1 < epochs else []
        segments = [(start.epoch, start.epoch + 1, start.step), *rest]
    if stage_boundary is None:
        return segments
    split = []
    for first, last, step in segments:
        if first < stage_boundary < last:
            split += [(first, stage_boundary, step), (stage_boundary, last, 0)]
        else:
            split.append((first, last, step))
    return split


def _train(config, run_dir, strategy, jit, resume, verbose, startup_warnings, chief, stop_request) -> dict:
    check_training_folder(run_dir)  # before the work: no link for TensorBoard or the logs to write through
    replicas = strategy.num_replicas_in_sync
    keras.utils.set_random_seed(config.train.seed)
    data = make_datasets(config, replicas)
    try:
        with strategy.scope():  # models, optimizers and metrics are created under the strategy
            model = compile_model(build_model(config, data.image_shape), config, jit_compile=jit)
    except (tf.errors.ResourceExhaustedError, MemoryError) as err:  # before anything is written
        shape = re.search(r"shape\s*\[[^\]]*\]", str(err))
        what = f"a tensor of {shape.group(0)} cannot be allocated" if shape else first_line(err, 100)
        raise UserError(f"the model does not fit in memory ({what}); lower model.latent_dim or the layer "
                        "sizes") from None
    steps = data.steps_per_epoch
    start = Position(steps_per_epoch=steps)
    if resume:
        start = check_checkpoint(model, run_dir / CHECKPOINTS, steps)
    epochs_done, epochs = start.epoch, total_epochs(config)
    finished = epochs_done >= epochs and not start.step
    if finished and (has_final_artefacts(run_dir) or not chief):
        raise UserError(f"run {run_dir} has finished all {epochs_done} epochs; raise the count to continue, "
                        f"e.g. --resume --epochs {epochs_done + 10}, or rebuild its {SAVED_MODEL}/ from "
                        f"{MODEL_FILE} without training: --resume --export-only --out {run_dir}")
    if start.step and epochs_done >= epochs:
        raise UserError(f"run {run_dir} stopped in epoch {epochs_done + 1}; resume with at least "
                        f"--epochs {epochs_done + 1}")
    if resume and hasattr(model, "set_stage"):
        check_stage_boundary(run_dir, config, start)
    evaluation = None
    if chief and config.train.eval_every_epochs is not None:  # classifier and real features before any write
        from vae_gan_tf.training.epoch_evaluation import make_epoch_evaluation

        evaluation = make_epoch_evaluation(model, config, run_dir / LOGS, epochs)
    mark(run_dir)
    (run_dir / EVAL_FILE).unlink(missing_ok=True)  # an evaluation of earlier weights is stale now
    if not resume:
        (run_dir / HISTORY_FILE).unlink(missing_ok=True)  # HistoryLog appends (make_callbacks)
    dump_config(config, run_dir / CONFIG_FILE)  # after the checks: a refused resume changes nothing
    run_log = RunLog(run_dir / TRAIN_LOG)
    run_log.warnings.extend(startup_warnings)
    for warning in startup_warnings:
        run_log.write(f"WARNING {warning}")
    run_log.write(f"{'resume at ' + start.describe() if resume else 'start'}: "
                  f"{config.model.name} on {config.data.source}, {epochs} epochs"
                  + ("; all trained, writing the missing final artefacts" if finished else ""))
    # A non-chief worker checkpoints into a folder of its own, removed when it stops (module docstring).
    checkpoint_dir = run_dir / CHECKPOINTS if chief else Path(tempfile.mkdtemp(prefix="vae_gan_tf_worker_"))
    if not chief:
        run_log.write(f"not the chief: outputs are written by the chief; checkpoints go to {checkpoint_dir} "
                      "(removed at the end)")
    timer = EpochTimer()
    callbacks = make_callbacks(model, config, run_dir, timer, run_log, start, checkpoint_dir, chief,
                               stop_request, evaluation)
    boundary = config.train.epochs if hasattr(model, "set_stage") else None  # a two-stage model
    try:
        for initial_epoch, epochs, first_step in ([] if finished else fit_segments(start, epochs, boundary)):
            if boundary is not None:
                stage = 1 if initial_epoch < boundary else 2
                if stage != model.stage:
                    run_log.write(f"stage {stage} from epoch {initial_epoch + 1}")
                model.set_stage(stage)
            if (initial_epoch, first_step) != (0, 0):  # continue the data stream where the run left it
                data.train = train_stream(config, data.train_images, steps, initial_epoch, replicas,
                                          first_step, data.train_side)
            history = model.fit(data.train, epochs=epochs, initial_epoch=initial_epoch,
                                steps_per_epoch=steps - first_step, validation_data=data.validation,
                                verbose=verbose, shuffle=False, callbacks=callbacks)
            if model.stop_training:  # the time budget ran out
                break
    except NonFiniteLossError as err:
        run_log.write(f"STOPPED {err}")
        raise TrainingFailed(str(err)) from None
    except TrainingInterrupted as err:
        run_log.write(f"INTERRUPTED at {err}; backup written")
        raise
    finally:
        if not chief:
            shutil.rmtree(checkpoint_dir, ignore_errors=True)
    if chief:
        metrics = finish_run(model, data, config, run_dir, timer, run_log, evaluation, verbose)
    else:
        metrics = {"model": config.model.name, "data": config.data.source, "chief": False,
                   "epochs_completed": len(history.epoch),
                   "final": {k: v[-1] for k, v in history.history.items()}}
    run_log.write("finished")
    return metrics


def save_sequence_reconstructions(model, data, path: Path, count: int = 16) -> None:
    """Held-out sequences (dashed) under their reconstructions decode(E[z|x]), over their real steps."""
    held_out, mask = ((data.validation_images, data.validation_side) if data.validation_images is not None
                      else (data.train_images, data.train_side))
    originals, mask = held_out[:count], mask[:count]
    mean, _ = model.encode(originals, mask)
    reconstructions = keras.ops.convert_to_numpy(model.decode(mean))
    save_sequences(reconstructions, path, lengths=mask.sum(axis=1), references=originals,
                   title="originals (dashed) / reconstructions")


def finish_run(model, data, config: Config, run_dir: Path, timer: EpochTimer, run_log: RunLog,
               evaluation=None, verbose="auto") -> dict:
    """Write model.keras, saved_model/, reconstructions.png (encoders), curves.png and metrics.json, with a
    progress bar of the artefacts written (the SavedModel's export takes seconds) at ``fit``'s ``verbose``."""
    pictures = config.data.source in SEQUENCE_SOURCES or hasattr(model, "encode")
    level = 1 if verbose == "auto" else int(verbose)
    if level:
        print(f"writing the final artefacts of {run_dir}: {MODEL_FILE}, {SAVED_MODEL}/, "
              f"{RECONSTRUCTIONS + ', ' if pictures else ''}{CURVES}, {METRICS_FILE}")
    progress = keras.utils.Progbar(4 + pictures, unit_name="artefact", verbose=level)
    with atomic(run_dir / MODEL_FILE) as path:
        model.save(path)
    progress.add(1)
    with atomic(run_dir / SAVED_MODEL) as path:
        export_saved_model(model, path, pixel_range(config.data.scale))
    progress.add(1)
    if config.data.source in SEQUENCE_SOURCES:
        with atomic(run_dir / RECONSTRUCTIONS) as path:
            save_sequence_reconstructions(model, data, path)
    elif hasattr(model, "encode"):
        held_out = data.validation_images if data.validation_images is not None else data.train_images
        originals = held_out[:32]
        side = data.validation_side if data.validation_images is not None else data.train_side
        given = (side[:32],) if getattr(model, "num_classes", None) else ()  # a conditional model's labels
        code = model.encode(originals, *given)
        reconstructions = keras.ops.convert_to_numpy(
            model.decode(code[0] if isinstance(code, (list, tuple)) else code, *given))
        with atomic(run_dir / RECONSTRUCTIONS) as path:
            save_reconstructions(originals, reconstructions, path, pixel_range(config.data.scale))
    progress.add(int(pictures))
    history = read_history(run_dir / HISTORY_FILE)
    with atomic(run_dir / CURVES) as path:
        save_curves(history, path)
    progress.add(1)
    metrics = {
        "model": config.model.name,
        "data": config.data.source,
        "epochs_completed": len(history.get("epoch", [])),
        "final": {k: v[-1] for k, v in history.items() if k != "epoch"},
        "parameters": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        "dtype_policy": keras.mixed_precision.global_policy().name,
        "train_seconds_this_session": round(sum(timer.seconds), 2),
        "train_images_per_s": timer.images_per_second(images_per_step(config)),
        **({} if evaluation is None else {
            "eval_features": config.train.eval_features,
            "eval_seconds_this_session": round(sum(evaluation.seconds), 2),
            "eval_share_of_training": round(sum(evaluation.seconds) / max(sum(timer.seconds), 1e-9), 4)}),
        "warnings": run_log.warnings,
    }
    write_text(run_dir / METRICS_FILE, json.dumps(metrics, indent=2))
    progress.add(1)
    return metrics
