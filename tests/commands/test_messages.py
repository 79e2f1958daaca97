"""Every bad input one line, exit code 2, nothing written (issue 14, cases 8-15); the entry points' polish.

All but one run the entry points' ``main`` in this process and are refused before TensorFlow work starts.
"""

import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, TINY_OVERRIDES, snapshot

from vae_gan_tf import __main__ as package_main
from vae_gan_tf import compare, evaluate, sample, train, verify
from vae_gan_tf.errors import UserError, run_cli
from vae_gan_tf.evaluation import run_metrics


def refused(main, argv, capsys) -> str:
    """The one error line of ``main(argv)`` run as a CLI (exit code 2, no traceback)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        run_cli(main, argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert info.value.code == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_train_paths_and_config_files(tmp_path, capsys, monkeypatch):
    """Cases 9 and 11: --config DIR, an unreadable or duplicate-key config, --out "", FILE and FILE/sub."""
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    duplicate = tmp_path / "dup.yaml"
    duplicate.write_text("train:\n  epochs: 3\n  epochs: 5\n")
    before = snapshot(tmp_path)
    assert "is a folder" in refused(train.main, ["--config", str(tmp_path)], capsys)
    assert "'epochs' is given twice (line 3" in refused(train.main, ["--config", str(duplicate)], capsys)
    assert "--out is empty" in refused(train.main, ["--out", ""], capsys)
    assert "is a file, not a folder" in refused(train.main, ["--out", str(a_file)], capsys)
    line = refused(train.main, ["--out", str(a_file / "sub"), "--epochs", "1", "--set", "data.source=digits"], capsys)
    assert "cannot write the run folder" in line and "Not a directory" in line
    assert snapshot(tmp_path) == before

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(duplicate), "read_text", denied)
    assert "cannot be read (permission denied)" in refused(train.main, ["--config", str(duplicate)], capsys)


@pytest.mark.parametrize("images, fragment", [
    (np.full((4, 8, 8), "a"), "not numbers"),
    (np.full((4, 8, 8), 3.5, np.float32), "neither [0, 1] nor whole numbers"),
])
def test_npz_pixels_that_cannot_be_read_unambiguously(tmp_path, images, fragment):
    """Cases 9 and 11: strings, and fractional floats above 1 (which were divided by 255 without a word)."""
    from vae_gan_tf.data.sources import load_npz

    np.savez(tmp_path / "x.npz", x=images)
    with pytest.raises(UserError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        load_npz(str(tmp_path / "x.npz"))
    np.savez(tmp_path / "whole.npz", x=np.full((4, 8, 8), 255.0, np.float32))
    assert load_npz(str(tmp_path / "whole.npz")).images.max() == 1.0


def test_sample_evaluate_verify_compare_arguments(tiny_run, tmp_path, capsys):
    """Cases 8, 9, 11 and 12: limits, seeds, output paths and metric names, all before any sampling."""
    before = snapshot(tiny_run)
    run = str(tiny_run)
    for main, argv in ((sample.main, [run, "--seed", "-1"]), (evaluate.main, [run, "--seed", "-1"]),
                       (verify.main, ["--seed", "-1"])):
        assert "--seed must be 0 or more" in refused(main, argv, capsys)
    assert "--n must be 1 to 1024" in refused(sample.main, [run, "--n", "100000"], capsys)
    assert "writes PNG images" in refused(sample.main, [run, "--out", str(tmp_path / "x.txt")], capsys)
    assert "writes PNG images" in refused(sample.main, [run, "--out", str(tiny_run / "model.keras")], capsys)
    assert "is a folder" in refused(sample.main, [run, "--out", str(tmp_path)], capsys)
    assert "--k must be at most 5000" in refused(evaluate.main, [run, "--metrics", "nll", "--k", "100000"], capsys)
    assert "an empty name is not a metric" in refused(evaluate.main, [run, "--metrics", ""], capsys)
    assert "fidd is not a metric" in refused(evaluate.main, [run, "--metrics", "fid,fidd"], capsys)
    assert "the modes metric needs a 2-D mixture run" in refused(evaluate.main, [run, "--metrics", "modes"], capsys)
    copy = tmp_path / "copy"
    shutil.copytree(tiny_run, copy)
    report = tmp_path / "report"
    assert "hold the same trained model" in refused(compare.main, [run, str(copy), "--out", str(report)], capsys)
    assert "is a file, not a folder" in refused(compare.main, [run, "--out", str(tiny_run / "config.yaml")], capsys)
    assert not report.exists() and snapshot(tiny_run) == before


def test_nan_message_names_the_checkpoint_step(tmp_path):
    """Case 10: a backup at epoch 1, step 1 is no longer described as "(after epoch 0)"."""
    from vae_gan_tf.training.callbacks import NonFiniteLossError, StopOnNonFinite

    (tmp_path / "training_metadata.json").write_text(json.dumps({"epoch": 0, "batch": 1, "global_step": 1}))
    with pytest.raises(NonFiniteLossError, match="last good checkpoint is at epoch 1, step 1$"):
        StopOnNonFinite(tmp_path)._check({"loss": math.nan}, "batch 2")


def test_an_error_after_a_progress_bar_starts_on_its_own_line(capsys):
    """Case 13: ``…541.2997error: …`` no more."""
    from vae_gan_tf.errors import progress_may_follow

    def fails(argv):
        progress_may_follow()
        print("1/4 ━━━━ loss: 541.2997", end="")
        raise UserError("something")

    with pytest.raises(SystemExit):
        run_cli(fails, [])
    assert capsys.readouterr().out.endswith("541.2997\n")


def test_steps_per_epoch_above_one_pass_is_reported(capsys):
    """Case 12: --steps-per-epoch 40 on 35 steps' worth of images says so."""
    from vae_gan_tf.config import load_config
    from vae_gan_tf.data.pipeline import make_datasets

    data = make_datasets(load_config(None, [*TINY_OVERRIDES, "train.steps_per_epoch=1000"]))
    assert f"an epoch is {data.steps_per_epoch} steps" in capsys.readouterr().err


def test_the_package_lists_its_commands_and_every_command_has_a_version(capsys):
    """Case 15: python -m vae_gan_tf, vae-gan-tf COMMAND, --version and help for every option."""
    assert package_main.main([]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in package_main.COMMANDS)
    assert "unknown command 'trian'" in refused(package_main.main, ["trian"], capsys)
    for module in (train, sample, evaluate, compare, verify):
        parser = module.build_parser()
        with pytest.raises(SystemExit) as info:
            parser.parse_args(["--version"])
        assert info.value.code == 0 and capsys.readouterr().out.startswith("vae_gan_tf ")
        undocumented = [a.dest for a in parser._actions if not a.help]
        assert not undocumented, (module.__name__, undocumented)
    assert "sequence VAE" in train.build_parser().description
    assert "default: samples.png" in sample.build_parser().format_help()


def test_entry_points_print_no_tensorflow_start_up_noise():
    """Case 14: no cuInit / oneDNN / absl lines on a CPU machine unless TF_CPP_MIN_LOG_LEVEL is set (the entry
    points import TensorFlow through quiet.import_tensorflow; this runs only that, in a fresh process)."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    code = ("from vae_gan_tf.cli.tensorflow_import import import_tensorflow; import_tensorflow(); import tensorflow as tf; "
            "print(float(tf.reduce_sum(tf.ones(3))))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env=env)
    assert result.returncode == 0 and result.stdout.strip() == "3.0" and result.stderr == "", result.stderr[-2000:]


def test_nll_alone_needs_no_feature_extractor(tiny_run, tmp_path, monkeypatch):
    """Case 12: --metrics nll no longer demands the feature classifier."""
    import vae_gan_tf.evaluation.features as features

    def no_extractor(*args, **kwargs):
        raise AssertionError("the nll metric built a feature extractor")

    monkeypatch.setattr(features, "make_extractor", no_extractor)
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    report = run_metrics.evaluate_run(run, ["nll"], n=10, k=2, nll_images=8, verbose=False)
    assert report["features"] == "none" and math.isfinite(report["metrics"]["log_likelihood_iw2"])


def test_a_model_too_large_for_memory_is_one_line(tmp_path, capsys):
    """Case 9: model.latent_dim=10**10 (2.6 TB of weights) is refused with one line, before anything is written."""
    argv = ["--out", str(tmp_path / "big"), "--epochs", "1", "--verbose", "0", "--set", "data.source=digits",
            "--set", "model.conv_filters=[8, 16]", "--set", "model.latent_dim=10000000000"]
    assert "the model does not fit in memory" in refused(train.main, argv, capsys)
    assert not (tmp_path / "big").exists()
