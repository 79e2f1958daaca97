"""training/callbacks.py's HistoryLog: Keras CSVLogger's bytes, written through the one writer (issue 25)."""

from __future__ import annotations

import errno

import keras
import numpy as np
import pytest

from vae_gan_tf.runs import folder as run_folder
from vae_gan_tf.training.callbacks import HistoryLog

# Two fit calls, as a resumed run makes them: the second with a column the first did not log.
FITS = [
    [{"loss": 1.5, "kl": np.float32(0.25)}, {"loss": 1.25, "kl": 0.125}],
    [{"loss": 1.0, "kl": 0.1, "extra": "x"}, {"loss": 0.5, "kl": 0.05, "extra": [1, 2]}],
    [{"loss": 0.25, "val_loss": 0.3}],
]


def drive(callback, fits, first_epoch=0):
    epoch = first_epoch
    for logs_of_epochs in fits:
        callback.on_train_begin()
        for logs in logs_of_epochs:
            callback.on_epoch_end(epoch, dict(logs))
            epoch += 1
        callback.on_train_end()


@pytest.mark.parametrize("existing", [None, b"", b"epoch,loss\r\n0,2.0\r\n"])
def test_history_log_writes_the_bytes_of_keras_csv_logger(tmp_path, existing):
    ours, keras_file = tmp_path / "ours.csv", tmp_path / "keras.csv"
    if existing is not None:
        ours.write_bytes(existing)
        keras_file.write_bytes(existing)
    drive(HistoryLog(ours), FITS)
    drive(keras.callbacks.CSVLogger(str(keras_file), append=True), FITS)
    assert ours.read_bytes() == keras_file.read_bytes()
    assert not [p for p in tmp_path.iterdir() if run_folder.INCOMING in p.name]


def test_history_log_keeps_the_rows_on_a_full_disk_and_replaces_a_link(tmp_path, monkeypatch):
    (tmp_path / "run").mkdir()
    path = tmp_path / "run" / "history.csv"
    log = HistoryLog(path)
    drive(log, FITS[:1])
    rows = path.read_bytes()

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(run_folder.os, "fsync", no_space)
        with pytest.raises(run_folder.NoSpaceLeft, match="was kept as it was"):
            log.on_epoch_end(2, {"loss": 0.5, "kl": 0.1})
    assert path.read_bytes() == rows  # whole, not torn by a half-written row

    outside = tmp_path / "outside.txt"
    outside.write_text("the user's file")
    path.unlink()
    path.symlink_to(outside)
    with pytest.raises(run_folder.UserError, match="link"):  # a link out of the folder is refused
        HistoryLog(path).on_epoch_end(0, {"loss": 1.0})
    assert outside.read_text() == "the user's file"
