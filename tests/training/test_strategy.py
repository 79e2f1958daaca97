"""tf.distribute: 1 device and 2 replicas train identically; the strategy settings fail clearly."""

import json
import subprocess
import sys

import pytest
from conftest import ROOT, TINY_GAN_OVERRIDES, TINY_OVERRIDES, run_module, set_args


def test_one_device_and_two_replicas_give_the_same_weights_and_metrics():
    families = ["vae", "gan", "wgan_gp", "gan_stabilized", "wgan_gp_stabilized", "vaegan", "cvae", "cgan",
                "sequence_vae"]
    # Two processes at once, each with one inter-op thread (the script's determinism setting) and half the
    # families: the suite's slowest test, in about half the wall time on 2 cores.
    halves = [families[0::2], families[1::2]]
    processes = [subprocess.Popen([sys.executable, "tests/scripts/replica_equivalence.py", *half], cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for half in halves]
    outputs = [process.communicate(timeout=600) for process in processes]
    rows = {}
    for process, (stdout, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr[-3000:]
        rows.update({row["family"]: row for row in map(json.loads, filter(lambda line: line.startswith("{"),
                                                                          stdout.splitlines()))})
    assert sorted(rows) == sorted(families)
    rows = [rows[family] for family in families]
    for row in rows:
        assert row["replicas"] == 2
        assert row["weight_change"] > 1e-3, row  # training moved the weights, so agreement means something
        assert row["weight_rel_diff"] < 1e-5, row
        for name, value in row["one_device"].items():
            assert row["two_replicas"][name] == pytest.approx(value, rel=1e-5, abs=1e-5), (row["family"], name)


@pytest.mark.parametrize("overrides", [TINY_OVERRIDES, TINY_GAN_OVERRIDES], ids=["vae", "dcgan"])
def test_cli_trains_under_mirrored_on_two_logical_cpus(overrides, tmp_path):
    """Two steps per execution: Keras 3.15's own multi-step loop fails under Mirrored (models/base.py)."""
    result = run_module("vae_gan_tf.train", "--out", str(tmp_path / "run"), "--epochs", "1", "--steps-per-epoch", "2",
                        *set_args([*overrides, "train.strategy=mirrored", "train.logical_cpus=2",
                                   "train.steps_per_execution=2"]))
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "run" / "saved_model" / "saved_model.pb").exists()


def test_batch_that_does_not_split_over_the_replicas_is_refused(tmp_path):
    result = run_module("vae_gan_tf.train", "--out", str(tmp_path / "run"),
                        *set_args([*TINY_OVERRIDES, "train.strategy=mirrored", "train.logical_cpus=2",
                                   "train.batch_size=33"]))
    assert result.returncode == 2 and "does not split over 2 replicas" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_strategy_names_the_choices():
    from vae_gan_tf.config import load_config
    from vae_gan_tf.errors import UserError

    with pytest.raises(UserError, match="train.strategy must be one of auto, default, one_device, mirrored, "
                                        "multi_worker, tpu, got 'parameter_server'"):
        load_config(None, ["train.strategy=parameter_server"])
