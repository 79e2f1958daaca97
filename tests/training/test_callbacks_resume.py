"""Fault tolerance (issue 7, part 5): a run stopped mid-epoch by SIGTERM, resumed, killed mid-epoch by
SIGKILL, and resumed again ends with the weights and optimizer state of an uninterrupted run; two runs in
deterministic mode give identical weights. The VAE runs on the default strategy, the GAN (two optimizers)
under MirroredStrategy on 2 logical CPUs with 2 steps per execution. Every run is a CLI subprocess
(deterministic mode needs a fresh process: it fixes the inter-op thread count)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import ROOT, TINY_OVERRIDES, set_args

EPOCHS, STEPS, EVERY = 3, 20, 3
COMMON = ["train.deterministic=true", f"train.checkpoint_every_steps={EVERY}"]
FAMILIES = {
    "vae": TINY_OVERRIDES,
    "gan": ["data.source=digits", "data.scale=symmetric", "model.name=gan", "model.generator_units=[32]",
            "model.discriminator_units=[32]", "model.latent_dim=4", "model.d_steps=2", "model.ema_decay=0.9",
            "train.batch_size=32", "train.sample_count=16",
            "train.strategy=mirrored", "train.logical_cpus=2", "train.steps_per_execution=2",
            # The stabilizers too: spectral norm's u vectors must come back bit for bit.
            "model.pack=2", "model.spectral_norm=true", "model.r1_weight=1.0"],
}
OPTIMIZERS = {"vae": {"optimizer"}, "gan": {"d_optimizer", "g_optimizer"}}  # groups of the backup file
# Weights and optimizer states must be bit-identical; the logged epoch means are compared within a few float32
# ulps. Measured: under MirroredStrategy a restored metric total is split over the replicas otherwise than
# training split it (9e-8 relative for the GAN here); and on the CI machine two deterministic VAE runs logged
# a `loss` mean 1 ulp apart (41.6510849 vs 41.6510811) with every weight, `kl` and `reconstruction` equal,
# which this machine never reproduced (6 concurrent runs, identical history.csv). Only a logged value moved.
HISTORY_REL = 1e-6
TIMEOUT = 180  # seconds for any one run or wait


def start(run_dir: Path, family: str, *extra: str) -> subprocess.Popen:
    """The train CLI in the background (output to files beside the run, so no pipe can fill up)."""
    if extra:
        args = ["--out", str(run_dir), *extra]
    else:
        args = ["--out", str(run_dir), "--epochs", str(EPOCHS), "--steps-per-epoch", str(STEPS),
                *set_args([*FAMILIES[family], *COMMON])]
    log = run_dir.parent / f"{run_dir.name}.{time.monotonic_ns()}"
    with open(f"{log}.out", "w") as out, open(f"{log}.err", "w") as err:
        process = subprocess.Popen([sys.executable, "-m", "vae_gan_tf.train", "--verbose", "2", *args],
                                   cwd=ROOT, stdout=out, stderr=err,
                                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    process.stderr_path = Path(f"{log}.err")
    return process


def finish(process: subprocess.Popen) -> tuple[int, str]:
    """Exit code and stderr of a background run."""
    code = process.wait(timeout=TIMEOUT)
    return code, process.stderr_path.read_text()


def position(run_dir: Path) -> dict | None:
    """The backup's metadata: epochs completed, steps done in the next (``batch``), ``global_step``."""
    path = run_dir / "checkpoints" / "training_metadata.json"
    return json.loads(path.read_text()) if path.exists() else None  # replaced atomically: never torn


def kill_mid_epoch(process: subprocess.Popen, run_dir: Path, after_step: int, sig: int) -> None:
    """Send ``sig`` once a step-level backup past ``after_step`` exists in the middle of an epoch."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        now = position(run_dir)
        if now and now.get("batch", 0) > 0 and now.get("global_step", 0) > after_step:
            os.kill(process.pid, sig)
            return
        time.sleep(0.005)
    process.kill()
    pytest.fail(f"no mid-epoch backup past step {after_step} appeared (exit code {process.poll()})")


def resumed_at(run_dir: Path) -> list[int]:
    """The global step of each ``resume at ...`` line of train.log."""
    log = (run_dir / "train.log").read_text()
    return [int(step) for step in re.findall(r"resume at .*\(global step (\d+)\)", log)]


def backup_arrays(run_dir: Path) -> dict[str, np.ndarray]:
    """Every variable of the final backup: weights, both optimizers' moments and iterations, noise counter."""
    arrays = {}

    def keep(name, item):  # returns None: visititems stops at the first other value
        if isinstance(item, h5py.Dataset):
            arrays[name] = item[()]

    with h5py.File(run_dir / "checkpoints" / "latest.weights.h5", "r") as f:
        f.visititems(keep)
    return arrays


def model_weights(run_dir: Path) -> list[np.ndarray]:
    import keras

    from vae_gan_tf.models.catalog import register_all

    register_all()  # the model classes, for keras.models.load_model

    return keras.models.load_model(run_dir / "model.keras").get_weights()


def assert_same_training(reference: Path, other: Path, optimizers: set[str]) -> float:
    """The two runs' final backups and model.keras weights are equal, and their histories agree within
    ``HISTORY_REL``; returns the largest difference of the backups."""
    a, b = backup_arrays(reference), backup_arrays(other)
    assert a.keys() == b.keys()
    assert {name.split("/")[0] for name in a if "optimizer" in name} == optimizers
    largest = max(float(np.max(np.abs(a[k].astype(np.float64) - b[k]))) if a[k].size else 0.0 for k in a)
    different = [k for k in a if not np.array_equal(a[k], b[k])]
    assert not different, f"{len(different)} variables differ (largest by {largest:g}), e.g. {different[:3]}"
    for x, y in zip(model_weights(reference), model_weights(other)):
        assert np.array_equal(x, y)
    columns = [(run / "history.csv").read_text().splitlines()[0] for run in (reference, other)]
    assert columns[0] == columns[1]
    expected, got = (np.loadtxt(run / "history.csv", delimiter=",", skiprows=1) for run in (reference, other))
    np.testing.assert_allclose(got, expected, rtol=HISTORY_REL)
    return largest


def run_to_end(run_dir: Path, family: str) -> None:
    process = start(run_dir, family)
    code, err = finish(process)
    assert code == 0, err[-3000:]


@pytest.fixture(scope="module")
def references(tmp_path_factory) -> dict[str, Path]:
    """Uninterrupted runs: the VAE twice (the determinism check) and the GAN, three processes at once."""
    root = tmp_path_factory.mktemp("references")
    runs = {"vae": root / "vae", "vae_again": root / "vae_again", "gan": root / "gan"}
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda item: run_to_end(item[1], item[0].removesuffix("_again")), runs.items()))
    return runs


def test_two_deterministic_runs_give_identical_weights(references):
    assert assert_same_training(references["vae"], references["vae_again"], OPTIMIZERS["vae"]) == 0.0


@pytest.mark.parametrize("family", ["vae", "gan"])
def test_sigterm_then_sigkill_mid_epoch_resume_to_the_uninterrupted_weights(family, references, tmp_path):
    run = tmp_path / family
    # SIGTERM in the first epoch: the step in progress ends, a backup is written there, exit code 143.
    process = start(run, family)
    kill_mid_epoch(process, run, 0, signal.SIGTERM)
    code, err = finish(process)
    assert code == 143, err[-3000:]
    message = [line for line in err.splitlines() if line.startswith("stopped by SIGTERM")]
    assert len(message) == 1 and f"--resume --out {run}" in message[0], err[-3000:]
    at_term = position(run)
    term_step = int(re.search(r"global step (\d+)", message[0]).group(1))
    assert at_term["global_step"] == term_step and 0 < at_term["batch"] < STEPS
    assert not (run / "model.keras").exists()

    # Resume, then SIGKILL in a later epoch, once a new step-level backup exists.
    process = start(run, family, "--resume")
    kill_mid_epoch(process, run, max(term_step, STEPS), signal.SIGKILL)
    assert process.wait(timeout=TIMEOUT) == -signal.SIGKILL
    at_kill = position(run)
    assert 0 < at_kill["batch"] < STEPS and not (run / "model.keras").exists()

    process = start(run, family, "--resume")
    code, err = finish(process)
    assert code == 0, err[-3000:]
    assert resumed_at(run) == [term_step, at_kill["global_step"]]  # 0 steps lost beyond each backup
    largest = assert_same_training(references[family], run, OPTIMIZERS[family])
    print(f"\n{family}: SIGTERM stopped at global step {term_step} (epoch {at_term['epoch'] + 1}, step "
          f"{at_term['batch']}), resumed at {resumed_at(run)[0]}; SIGKILL after the backup at global step "
          f"{at_kill['global_step']} (epoch {at_kill['epoch'] + 1}, step {at_kill['batch']}), resumed at "
          f"{resumed_at(run)[1]}; largest difference from the uninterrupted run {largest:g}")
