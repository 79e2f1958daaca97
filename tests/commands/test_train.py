"""The command-line contract: fast --help, one-line errors with exit code 2, the run folder, resume."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, TINY_OVERRIDES, run_module, set_args, snapshot

RUN_FILES = ["config.yaml", "checkpoints/latest.weights.h5", "checkpoints/training_metadata.json", "model.keras",
             "saved_model/saved_model.pb", "history.csv", "metrics.json", "samples/epoch_001.png",
             "samples/epoch_002.png", "reconstructions.png", "curves.png", "logs/train"]


def assert_one_line_error(result, fragment):
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and fragment in lines[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr


def test_help_does_not_import_tensorflow():
    code = ("import sys, contextlib, io\n"
            "import vae_gan_tf.train as t, vae_gan_tf.sample as s\n"
            "for parser in (t.build_parser(), s.build_parser()):\n"
            "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "        parser.parse_args(['--help'])\n"
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr
    assert "usage: python -m vae_gan_tf.train" in run_module("vae_gan_tf.train", "--help").stdout


@pytest.mark.parametrize("args, fragment", [
    (["--set", "model.latnt_dim=3"], "did you mean 'latent_dim'"),
    (["--epochs", "-2"], "train.epochs must be at least 1"),
    (["--set", "data.image_size=30"], "not divisible by 4"),
    (["--config", "no/such.yaml"], "does not exist"),
    (["--resume"], "not a run folder"),
])
def test_config_errors_are_one_line_with_exit_code_2(args, fragment, tmp_path):
    assert_one_line_error(run_module("vae_gan_tf.train", "--out", str(tmp_path / "r"), *args), fragment)


def test_default_run_folder_has_every_file(tiny_run):
    for name in RUN_FILES:
        assert (tiny_run / name).exists(), name
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert metrics["epochs_completed"] == 2 and metrics["parameters"] > 0
    assert {"loss", "reconstruction", "kl", "val_loss"} <= set(metrics["final"])
    assert len((tiny_run / "history.csv").read_text().strip().splitlines()) == 3  # header + 2 epochs


def test_existing_run_folder_is_never_overwritten_silently(tiny_run, tmp_path):
    before = snapshot(tiny_run)
    result = run_module("vae_gan_tf.train", "--out", str(tiny_run), *set_args(TINY_OVERRIDES))
    assert_one_line_error(result, "already exists")
    stranger = tmp_path / "not_a_run"
    stranger.mkdir()
    (stranger / "precious.txt").write_text("keep me")
    assert_one_line_error(run_module("vae_gan_tf.train", "--out", str(stranger), "--overwrite"),
                          "not a run folder")
    assert (stranger / "precious.txt").read_text() == "keep me"
    finished = run_module("vae_gan_tf.train", "--out", str(tiny_run), "--resume")
    assert_one_line_error(finished, "has finished all 2 epochs")
    assert snapshot(tiny_run) == before


def test_overwrite_with_a_bad_new_config_loses_nothing(tiny_run, tmp_path):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(tiny_run, run)
    before = snapshot(run)
    result = run_module("vae_gan_tf.train", "--out", str(run), "--overwrite",
                        *set_args([*TINY_OVERRIDES, f"data.source=idx:{tmp_path / 'missing'}"]))
    assert_one_line_error(result, "folder does not exist")
    assert snapshot(run) == before
    refused = run_module("vae_gan_tf.train", "--out", str(run), "--resume", "--set", "model.latent_dim=9")
    assert_one_line_error(refused, "only train.epochs, train.time_budget_minutes, "
                                   "train.checkpoint_every_steps, model.second_stage_epochs may change")


def test_corrupt_checkpoint_on_resume_leaves_the_folder_untouched(tiny_run, tmp_path):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(tiny_run, run)
    (run / "checkpoints" / "latest.weights.h5").write_bytes(b"this is not HDF5")
    before = snapshot(run)
    result = run_module("vae_gan_tf.train", "--out", str(run), "--resume", "--epochs", "4")
    assert_one_line_error(result, "cannot be restored")
    assert snapshot(run) == before


def test_resume_after_kill_continues_from_the_last_checkpoint(tmp_path):
    run = tmp_path / "killed"
    args = [sys.executable, "-m", "vae_gan_tf.train", "--out", str(run), "--epochs", "500", "--steps-per-epoch", "4",
            "--verbose", "0", *set_args(TINY_OVERRIDES)]
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    metadata = run / "checkpoints" / "training_metadata.json"
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if metadata.exists() and json.loads(metadata.read_text() or "{}").get("epoch", 0) >= 2:
                break
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert not (run / "model.keras").exists(), "the run finished before it could be killed"
    done = json.loads(metadata.read_text())["epoch"]
    result = run_module("vae_gan_tf.train", "--out", str(run), "--resume", "--epochs", str(done + 2),
                        "--verbose", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Epoch {done + 1}/{done + 2}" in result.stdout and "Epoch 1/" not in result.stdout
    epochs = [int(line.split(",")[0]) for line in (run / "history.csv").read_text().splitlines()[1:]]
    assert epochs == list(range(done + 2))  # every epoch once: no lost and no repeated rows
    assert json.loads((run / "metrics.json").read_text())["epochs_completed"] == done + 2


def test_non_finite_loss_stops_with_the_epoch_named(tmp_path):
    run = tmp_path / "nan"
    result = run_module("vae_gan_tf.train", "--out", str(run), "--epochs", "3", "--steps-per-epoch", "4",
                        *set_args([*TINY_OVERRIDES, "train.learning_rate=1e12", "model.likelihood=gaussian"]))
    assert result.returncode == 1
    assert "non-finite loss" in result.stderr and "in epoch 1" in result.stderr and "Traceback" not in result.stderr
    assert not (run / "model.keras").exists()


def test_sample_cli_writes_a_grid_and_a_strip(tiny_run, tmp_path):
    grid, strip = tmp_path / "grid.png", tmp_path / "strip.png"
    result = run_module("vae_gan_tf.sample", str(tiny_run), "--n", "16", "--out", str(grid), "--seed", "3")
    assert result.returncode == 0, result.stderr[-2000:]
    result = run_module("vae_gan_tf.sample", str(tiny_run / "saved_model"), "--n", "8", "--interpolate",
                        "--out", str(strip))
    assert result.returncode == 0, result.stderr[-2000:]
    from PIL import Image

    assert Image.open(grid).size[0] > 0 and Image.open(strip).size[0] > Image.open(strip).size[1]
    assert_one_line_error(run_module("vae_gan_tf.sample", str(tmp_path), "--out", str(grid)), "holds no SavedModel")


def test_offline_download_through_the_cli(monkeypatch, tmp_path, capsys):
    import keras.src.datasets.mnist as mnist_module

    from vae_gan_tf.errors import run_cli
    from vae_gan_tf.train import main

    def failing_get_file(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/x: None -- [Errno -3] name resolution")

    monkeypatch.setattr(mnist_module, "get_file", failing_get_file)
    with pytest.raises(SystemExit) as info:
        run_cli(main, ["--out", str(tmp_path / "r"), "--set", "data.source=mnist"])
    assert info.value.code == 2
    assert "could not download 'mnist'" in capsys.readouterr().err
