"""Training-loop options that the CLI tests do not reach: the time budget."""

import json

from vae_gan_tf.config import load_config
from vae_gan_tf.training.fit import train_run


def test_time_budget_stops_training_and_says_so(tmp_path):
    config = load_config(None, ["data.source=digits", "model.conv_filters=[8]", "model.latent_dim=2",
                                "train.batch_size=32", "train.epochs=500", "train.time_budget_minutes=0.05"])
    metrics = train_run(config, tmp_path / "run", verbose=0)
    assert 0 < metrics["epochs_completed"] < 500
    assert "time budget of 0.05 minutes reached" in (tmp_path / "run" / "train.log").read_text()
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["train_images_per_s"] > 0


def test_step_backup_round_trip_and_no_save_of_non_finite_weights(tmp_path):
    """ResumableBackup writes the position into the weights file; load_backup reads it back and refuses a
    backup that does not fit the run; a step whose update made the weights NaN is not backed up."""
    import numpy as np
    import pytest

    from vae_gan_tf.data.pipeline import make_datasets
    from vae_gan_tf.models.catalog import build_model, compile_model
    from vae_gan_tf.training.callbacks import Position, ResumableBackup, load_backup

    config = load_config(None, ["data.source=digits", "model.conv_filters=[8]", "model.latent_dim=2",
                                "train.batch_size=32", "train.steps_per_epoch=5"])
    model = compile_model(build_model(config, make_datasets(config).image_shape), config)
    backup = ResumableBackup(tmp_path, Position(epoch=1, step=2, steps_per_epoch=5), every_steps=1)
    backup.set_model(model)
    backup.on_epoch_begin(1)
    backup.on_train_batch_end(0)  # the resumed epoch's first call: step 3 of 5
    saved = [w.copy() for w in model.get_weights()]
    restored = load_backup(model, tmp_path, 5)
    assert (restored.epoch, restored.step, restored.global_step) == (1, 3, 8)
    assert set(restored.metrics) == {m.name for m in model.metrics}
    with pytest.raises(ValueError, match="steps per epoch"):
        load_backup(model, tmp_path, 6)

    kernel = next(w for w in model.weights if w.dtype == "float32")  # weights[0] is the int64 noise counter
    kernel.assign(np.full(kernel.shape, np.nan, np.float32))
    backup.on_train_batch_end(1)
    assert load_backup(model, tmp_path, 5).global_step == 8  # the NaN step was not saved over it
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), saved))


def test_steps_per_epoch_is_what_keras_trains_with_steps_per_execution():
    """Keras 3.15 runs whole executions, so 22 steps at 4 per call train 24; the count must say 24 or a
    resume skips 2 batches too few per epoch (measured: the resumed weights then differed by 0.017)."""
    from vae_gan_tf.data.pipeline import make_datasets

    config = load_config(None, ["data.source=digits", "model.conv_filters=[8]", "train.batch_size=32",
                                "train.steps_per_epoch=22", "train.steps_per_execution=4"])
    assert make_datasets(config).steps_per_epoch == 24


def test_epoch_timer_counts_steps_not_executions():
    """Keras calls batch hooks once per execution; the timer must still count every step."""
    import keras
    import tensorflow as tf

    from vae_gan_tf.training.callbacks import EpochTimer

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", steps_per_execution=3)
    timer = EpochTimer()
    data = tf.data.Dataset.from_tensors((tf.ones((4, 2)), tf.ones((4, 1)))).repeat()
    model.fit(data, epochs=2, steps_per_epoch=6, verbose=0, shuffle=False, callbacks=[timer])
    assert timer.steps == [6, 6]
    assert timer.steady_steps == 9  # the first execution (3 steps, with tracing) is not timed
