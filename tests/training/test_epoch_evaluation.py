"""Per-epoch sample quality (training/epoch_evaluation.py): its columns, resumes, and the configs it refuses."""

from __future__ import annotations

import math
import threading

import pytest
from conftest import TINY_OVERRIDES, history_rows

EVAL = ["train.eval_every_epochs=2", "train.eval_samples=60", "train.steps_per_epoch=3"]


def eval_lines(run_dir):
    return [line.split(": ")[0].split()[-1] for line in (run_dir / "train.log").read_text().splitlines()
            if " eval after epoch " in line]


def test_epoch_evaluation_writes_its_columns_and_resumes_without_recomputing(classifier_cache, tmp_path):
    from vae_gan_tf.config import load_config
    from vae_gan_tf.training.callbacks import TrainingInterrupted
    from vae_gan_tf.training.fit import train_run

    run_dir = tmp_path / "run"
    first = load_config(None, [*TINY_OVERRIDES, *EVAL, "train.epochs=2"])
    train_run(first, run_dir, verbose=0)  # epoch 1: not due (NaN); epoch 2: evaluated
    before = history_rows(run_dir)
    assert math.isnan(float(before[0]["eval_fid"])) and float(before[1]["eval_fid"]) > 0
    stop = threading.Event()
    stop.set()  # stops after the first step of epoch 3, with a backup there
    longer = load_config(None, [*TINY_OVERRIDES, *EVAL, "train.epochs=4"])
    with pytest.raises(TrainingInterrupted):
        train_run(longer, run_dir, resume=True, verbose=0, stop_request=stop)
    train_run(longer, run_dir, resume=True, verbose=0)  # the rest of epoch 3 (mid-epoch), then epoch 4
    after = history_rows(run_dir)
    assert after[:2] == before and [row["epoch"] for row in after] == ["0", "1", "2", "3"]
    assert math.isnan(float(after[2]["eval_fid"]))
    for column in ("eval_fid", "eval_kid", "eval_precision", "eval_recall", "eval_density", "eval_coverage"):
        assert math.isfinite(float(after[3][column])), column
    assert eval_lines(run_dir) == ["2", "4"]  # each due epoch once, none recomputed on resume
    assert list((run_dir / "logs" / "eval").iterdir())  # the TensorBoard scalars


def test_evaluation_needs_images_with_a_prior():
    from vae_gan_tf.config import load_config
    from vae_gan_tf.errors import UserError

    with pytest.raises(UserError, match="train.eval_every_epochs=null"):
        load_config(None, ["model.name=autoencoder", "train.eval_every_epochs=1"])
    with pytest.raises(UserError, match="at least 1 or null"):
        load_config(None, ["train.eval_every_epochs=0"])


def test_epoch_evaluation_on_the_fid_network_reads_cached_held_out_features(tmp_path, monkeypatch):
    """train.eval_features=fid_inception (here the tests' tiny archive stands in for the real weights): the
    eval_* columns come from the FID network, the held-out features are cached, a second run reads them,
    and metrics.json records the evaluation's share of the training time."""
    import functools
    import hashlib
    import json
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evaluation"))
    from test_fid_inception import write_tiny_archive

    monkeypatch.setenv("VAE_GAN_TF_CACHE", str(tmp_path / "cache"))
    archive = write_tiny_archive(tmp_path / "tiny.pt", monkeypatch)
    monkeypatch.undo()
    monkeypatch.setenv("VAE_GAN_TF_CACHE", str(tmp_path / "cache"))
    from vae_gan_tf.config import load_config
    from vae_gan_tf.evaluation import fid_inception as fi
    from vae_gan_tf.evaluation.reference_stats import stats_dir
    from vae_gan_tf.training.fit import train_run

    monkeypatch.setattr(fi, "load_fid_inception", functools.partial(
        fi.load_fid_inception, archive, hashlib.sha1(archive.read_bytes()).hexdigest()))
    overrides = [*TINY_OVERRIDES, "train.eval_every_epochs=1", "train.eval_samples=12", "train.steps_per_epoch=2",
                 "train.epochs=1", "train.eval_features=fid_inception"]
    train_run(load_config(None, overrides), tmp_path / "a", verbose=0)
    entries = sorted(stats_dir("fid_inception").glob("*.json"))
    assert len(entries) == 1 and json.loads(entries[0].read_text())["basis"]["real_split"] == "held_out"
    stamp = entries[0].stat().st_mtime_ns
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert metrics["eval_features"] == "fid_inception" and 0 < metrics["eval_share_of_training"]
    assert math.isfinite(float(history_rows(tmp_path / "a")[0]["eval_fid"]))
    train_run(load_config(None, overrides), tmp_path / "b", verbose=0)
    assert sorted(stats_dir("fid_inception").glob("*.json")) == entries and entries[0].stat().st_mtime_ns == stamp
    with pytest.raises(Exception, match="eval_features"):
        load_config(None, ["train.eval_features=inception"])
