"""Shared fixtures: tiny configs on bundled data, and one tiny trained run for the tests that read it."""

from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]

# A conv VAE on scikit-learn's 8x8 digits: small enough that a CLI run takes seconds.
TINY_OVERRIDES = [
    "data.source=digits", "model.conv_filters=[8, 16]", "model.latent_dim=4",
    "train.batch_size=32", "train.sample_count=16",
]


def run_module(module: str, *args: str, cwd=None, timeout=300, env=None) -> subprocess.CompletedProcess:
    """``python -m module args`` in a subprocess, capturing text output."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd or ROOT, capture_output=True,
                          text=True, timeout=timeout, env=full_env)


def set_args(overrides):
    return [item for o in overrides for item in ("--set", o)]


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """One finished tiny training run (CLI, 2 epochs of 4 steps), shared by read-only tests."""
    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    result = run_module("vae_gan_tf.train", "--out", str(run_dir), "--epochs", "2", "--steps-per-epoch", "4",
                        "--verbose", "2", *set_args(TINY_OVERRIDES))
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


TINY_GAN_OVERRIDES = [
    "data.source=digits", "data.scale=symmetric", "model.name=gan", "model.architecture=dcgan",
    "model.generator_filters=[16, 8]", "model.discriminator_filters=[8, 16]", "model.latent_dim=8",
    "train.batch_size=32", "train.sample_count=16", "model.ema_decay=0.9",
]


@pytest.fixture(scope="session")
def tiny_gan_run(tmp_path_factory) -> Path:
    """One finished tiny DCGAN run (CLI, 2 epochs of 3 steps, moving-average generator)."""
    run_dir = tmp_path_factory.mktemp("runs") / "tiny_gan"
    result = run_module("vae_gan_tf.train", "--out", str(run_dir), "--epochs", "2", "--steps-per-epoch", "3",
                        *set_args(TINY_GAN_OVERRIDES))
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def call_saved_model(saved_model: Path, inputs: dict, calls: dict, tmp_path: Path) -> dict:
    """Run ``calls`` ({output: [endpoint, [input names]]}) on ``saved_model`` in a fresh process that cannot
    import vae_gan_tf (tests/scripts/saved_model_calls.py); return the outputs as NumPy arrays."""
    import json

    import numpy as np

    np.savez(tmp_path / "calls_in.npz", **inputs)
    result = subprocess.run([sys.executable, str(ROOT / "tests" / "scripts" / "saved_model_calls.py"),
                             str(saved_model), str(tmp_path / "calls_in.npz"), str(tmp_path / "calls_out.npz"),
                             json.dumps(calls)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"imported": []}
    return dict(np.load(tmp_path / "calls_out.npz"))


def snapshot(folder):
    """Path -> sha256 of every file below ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def digits_classifier(tmp_path_factory):
    """A feature classifier for the `digits` source, trained briefly into a temporary cache."""
    import os

    from vae_gan_tf.evaluation.features import train_classifier_for

    cache = tmp_path_factory.mktemp("cache")
    previous = os.environ.get("VAE_GAN_TF_CACHE")
    os.environ["VAE_GAN_TF_CACHE"] = str(cache)
    result = train_classifier_for("digits", epochs=3, verbose=0)
    yield result
    if previous is None:
        del os.environ["VAE_GAN_TF_CACHE"]
    else:
        os.environ["VAE_GAN_TF_CACHE"] = previous


@pytest.fixture
def classifier_cache(tmp_path_factory, monkeypatch):
    """A cache the session's tests share: the first run with train.eval_every_epochs trains the digits
    classifier into it, the later ones reuse it."""
    monkeypatch.setenv("VAE_GAN_TF_CACHE", str(tmp_path_factory.getbasetemp() / "classifier_cache"))


def history_rows(run_dir):
    """The rows of a run's history.csv, as dicts."""
    with open(run_dir / "history.csv", newline="") as fh:
        return list(csv.DictReader(fh))
