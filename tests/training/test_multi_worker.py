"""train.strategy=multi_worker and tpu: bad input fails with one line before training; two workers on
loopback train a tiny VAE and a tiny GAN to identical weights, and only the chief writes the run folder.
The VAE runs 2 steps per execution (the library's own multi-step loop, models/base.py), the GAN one step
per execution (Keras's loop with the #20585 log shapes)."""

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import ROOT, TINY_GAN_OVERRIDES, TINY_OVERRIDES, run_module, set_args

from vae_gan_tf.config import load_config
from vae_gan_tf.errors import UserError
from vae_gan_tf.runs.folder import MARKER
from vae_gan_tf.training.cluster import read_tf_config

WORKERS_TIMEOUT = 240  # seconds for one two-worker run; both processes are killed by PID after it


def tf_config(index, ports=(12345, 12346), kind="worker"):
    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                       "task": {"type": kind, "index": index}})


def free_ports(count):
    """Ports the OS reports free (bound to port 0 together, then released)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


# ---------------------------------------------------------------- bad input: one line, exit 2


@pytest.mark.parametrize("value, fragment", [
    (None, "needs the TF_CONFIG environment variable"),
    ("{cluster: 1", "TF_CONFIG is not valid JSON"),
    (json.dumps({"cluster": {"ps": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 0}}),
     "TF_CONFIG lacks cluster.worker (or cluster.chief)"),
    (json.dumps({"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"index": 0}}),
     "TF_CONFIG lacks task.type and task.index"),
    (tf_config(2), "task.index=2 is out of range: cluster.worker has 2 addresses, so it must be 0..1"),
], ids=["missing", "not_json", "no_workers", "no_task_type", "index_out_of_range"])
def test_bad_tf_config_is_one_line_before_tensorflow_starts(value, fragment, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    if value is not None:
        env["TF_CONFIG"] = value
    result = subprocess.run([sys.executable, "-m", "vae_gan_tf.train", "--out", str(tmp_path / "run"),
                             *set_args([*TINY_OVERRIDES, "train.strategy=multi_worker"])],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.startswith("error: ") and fragment in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_tf_config_roles_and_chief():
    assert read_tf_config({"TF_CONFIG": tf_config(0)}).is_chief
    assert not read_tf_config({"TF_CONFIG": tf_config(1)}).is_chief
    with_chief = {"cluster": {"chief": ["127.0.0.1:1"], "worker": ["127.0.0.1:2"]},
                  "task": {"type": "worker", "index": 0}}
    task = read_tf_config({"TF_CONFIG": json.dumps(with_chief)})
    assert (task.is_chief, task.workers) == (False, 2)  # the chief task is the chief, not worker 0
    with_chief["task"] = {"type": "chief", "index": 0}
    assert read_tf_config({"TF_CONFIG": json.dumps(with_chief)}).is_chief
    with_chief["task"] = {"type": "evaluator", "index": 0}
    with pytest.raises(UserError, match="task.type must be 'worker' or 'chief'"):
        read_tf_config({"TF_CONFIG": json.dumps(with_chief)})


def test_settings_that_cannot_work_with_these_strategies():
    with pytest.raises(UserError, match="train.tpu_address is only used with train.strategy=tpu"):
        load_config(None, ["train.tpu_address=grpc://10.0.0.2:8470"])
    with pytest.raises(UserError, match="time_budget_minutes cannot be used with train.strategy=multi_wo"):
        load_config(None, ["train.strategy=multi_worker", "train.time_budget_minutes=1"])
    assert load_config(None, ["train.strategy=tpu", "train.tpu_address=my-tpu"]).train.tpu_address == "my-tpu"


@pytest.mark.parametrize("address, fragment", [
    (None, "no TPU reachable with the default TPU resolver (train.tpu_address: null)"),
    ("grpc://127.0.0.1:{port}", "no TPU reachable at train.tpu_address 'grpc://127.0.0.1:{port}'"),
], ids=["default_resolver", "grpc_address"])
def test_tpu_that_is_not_there_is_one_line_naming_the_address(address, fragment, tmp_path):
    port = free_ports(1)[0]  # nothing listens there
    overrides = [*TINY_OVERRIDES, "train.strategy=tpu"]
    if address:
        overrides.append(f"train.tpu_address={address.format(port=port)}")
    result = run_module("vae_gan_tf.train", "--out", str(tmp_path / "run"), *set_args(overrides), timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    # TensorFlow's own log lines aside, one line of ours
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and fragment.format(port=port) in errors[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_resume_is_refused_under_multi_worker(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("train:\n  strategy: multi_worker\n")
    (run / "train.log").write_text("")
    before = sorted(p.name for p in run.iterdir())
    result = run_module("vae_gan_tf.train", "--resume", "--out", str(run), env={"TF_CONFIG": tf_config(0)})
    assert result.returncode == 2, result.stderr[-2000:]
    assert "--resume is not supported with train.strategy=multi_worker" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in run.iterdir()) == before


# ---------------------------------------------------------------- two workers on loopback


def run_processes(tmp_path, overrides, workers):
    """Run tests/scripts/multi_worker_train.py as ``workers`` processes (with TF_CONFIG when more than one),
    each with its own run folder and $TMPDIR; return their records. Processes are killed by PID at the end."""
    ports = free_ports(workers)
    procs = []
    try:
        for i in range(workers):
            tmp = tmp_path / f"tmp{i}"
            tmp.mkdir(parents=True)
            env = {**os.environ, "TMPDIR": str(tmp), "TF_CPP_MIN_LOG_LEVEL": "2",
                   "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
            extra = []
            if workers > 1:
                env["TF_CONFIG"] = tf_config(i, ports)
                extra = ["train.strategy=multi_worker"]
            else:
                env.pop("TF_CONFIG", None)
            with open(tmp_path / f"worker{i}.log", "w") as log:
                procs.append(subprocess.Popen(
                    [sys.executable, "tests/scripts/multi_worker_train.py", str(tmp_path / f"run{i}"),
                     str(tmp_path / f"record{i}.npz"), *overrides, *extra],
                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + WORKERS_TIMEOUT
        for i, proc in enumerate(procs):
            code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            assert code == 0, (tmp_path / f"worker{i}.log").read_text()[-3000:]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return [np.load(tmp_path / f"record{i}.npz") for i in range(workers)]


def weights(record, prefix):
    keys = sorted((k for k in record.files if k.startswith(prefix + "_")), key=lambda k: int(k.split("_")[1]))
    return [record[k] for k in keys]


def flat(arrays):
    return np.concatenate([a.ravel().astype(np.float64) for a in arrays if a.dtype.kind == "f"])


STEPS = ["train.epochs=2", "train.steps_per_epoch=3"]
VAE = [*TINY_OVERRIDES, *STEPS, "train.steps_per_execution=2"]  # 3 steps per epoch round up to 4
GAN = [*TINY_GAN_OVERRIDES, *STEPS, "model.d_steps=2"]


@pytest.fixture(scope="module")
def two_vae_workers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vae")
    return folder, run_processes(folder, VAE, workers=2)


@pytest.fixture(scope="module")
def two_gan_workers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dcgan")
    return folder, run_processes(folder, GAN, workers=2)


@pytest.mark.parametrize("family", ["two_vae_workers", "two_gan_workers"])
def test_two_workers_end_identical_and_only_the_chief_writes(family, request):
    tmp_path, (chief, other) = request.getfixturevalue(family)
    assert bool(chief["chief"]) and not bool(other["chief"])
    final = weights(chief, "fit")
    start = flat(weights(chief, "start"))
    change = np.linalg.norm(flat(final) - start) / np.linalg.norm(start)
    assert change > 1e-3  # training moved the weights, so agreement means something
    for mine, theirs in zip(final, weights(other, "fit"), strict=True):
        np.testing.assert_array_equal(mine, theirs)  # measured: bit-identical
    for saved, theirs in zip(weights(chief, "saved"), weights(other, "fit"), strict=True):
        np.testing.assert_array_equal(saved, theirs)  # the chief's model.keras holds the workers' weights

    run0, run1 = tmp_path / "run0", tmp_path / "run1"
    for name in ("model.keras", "saved_model/saved_model.pb", "checkpoints/latest.weights.h5", "history.csv",
                 "metrics.json", "curves.png", "samples/epoch_002.png", "logs"):
        assert (run0 / name).exists(), name
    # The non-chief's folder: the tool's marker (runs/folder.py), its config and its log, nothing else.
    assert sorted(p.name for p in run1.iterdir()) == [MARKER, "config.yaml", "train.log"]
    # The non-chief checkpointed into its own temporary folder during training, and removed it at the end.
    during = [str(p) for p in other["listed_tmp"]]
    assert any(p.endswith("/latest.weights.h5") for p in during) and len(chief["listed_tmp"]) == 0, during
    assert not list((tmp_path / "tmp1").glob("vae_gan_tf_worker_*"))
    assert "not the chief" in (run1 / "train.log").read_text()


def test_two_workers_equal_one_process_with_the_same_global_batch(two_vae_workers, tmp_path):
    """The VAE only: the DCGAN's synchronized BatchNorm sums in another order on 2 workers, and Adam turns
    that float rounding into a 4e-5 relative difference in 6 steps (measured), like replica_equivalence.py.
    The one process runs Keras's own loop, so the logged means also check the multi-step loop's logs."""
    folder, (two, _) = two_vae_workers
    one = run_processes(tmp_path, VAE, workers=1)[0]
    a, b = flat(weights(two, "fit")), flat(weights(one, "fit"))
    assert np.linalg.norm(a - b) / np.linalg.norm(b) < 1e-5
    expected, got = (np.loadtxt(run / "run0" / "history.csv", delimiter=",", skiprows=1)
                     for run in (tmp_path, folder))
    assert got.shape == expected.shape == (2, 7)  # epochs x (epoch, 3 metrics, 3 validation metrics)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
