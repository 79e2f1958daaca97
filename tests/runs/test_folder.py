"""Nothing lost, ever (issue 14, cases 1-7): overwrite, resume, a second run, Ctrl-C and a full disk.

The train CLI runs in this process (``run_cli``), on copies of the shared tiny run, so that each case costs
a refusal before TensorFlow or a few training steps, not a new interpreter.
"""

import errno
import json
import os
import shutil
import signal
import threading
import time

import pytest

from conftest import TINY_OVERRIDES, set_args, snapshot
from vae_gan_tf.runs import folder as run_folder
from vae_gan_tf.errors import run_cli
from vae_gan_tf.train import main

NAN = ["train.learning_rate=1e12", "model.likelihood=gaussian"]  # diverges within 4 steps


def train(capsys, *argv) -> tuple:
    """(exit code, stderr) of ``python -m vae_gan_tf.train argv``, run here."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        run_cli(main, [*argv, "--verbose", "0"])
    return info.value.code, capsys.readouterr().err


def one_line(err: str, fragment: str) -> None:
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and fragment in lines[0], err
    assert "Traceback" not in err


@pytest.fixture
def run(tiny_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(tiny_run, copy)
    return copy


def test_overwrite_never_deletes_what_this_tool_did_not_write(run, tmp_path, capsys):
    """Case 1: config.yaml plus checkpoints/ no longer make a run; a real run holding notes is refused too."""
    lookalike = tmp_path / "P"
    (lookalike / "checkpoints").mkdir(parents=True)
    (lookalike / "config.yaml").write_text("x\n")
    (lookalike / "notes.txt").write_text("notes\n")
    code, err = train(capsys, "--out", str(lookalike), "--overwrite", "--epochs", "1")
    assert code == 2
    one_line(err, "not a run folder written by this tool")
    (run / "notes.txt").write_text("notes\n")
    before = snapshot(run)
    code, err = train(capsys, "--out", str(run), "--overwrite", "--epochs", "1")
    assert code == 2
    one_line(err, "holds notes.txt, which this tool did not write")
    assert snapshot(run) == before and (lookalike / "notes.txt").read_text() == "notes\n"


def test_a_failed_overwrite_keeps_the_old_run(run, capsys):
    """Case 2: the new run trains beside the old one; its NaN leaves the old run byte for byte."""
    before = snapshot(run)
    code, err = train(capsys, "--out", str(run), "--overwrite", "--epochs", "1", "--steps-per-epoch", "4",
                      *set_args([*TINY_OVERRIDES, *NAN]))
    assert code == 1 and "non-finite loss" in err and f"the previous run in {run} was kept" in err, err
    assert "--resume keeps the learning rate" in err
    assert snapshot(run) == before
    assert sorted(p.name for p in run.parent.iterdir()) == ["run"]  # no sibling left behind


def test_resume_refuses_a_run_without_checkpoints(run, capsys):
    """Case 3: no silent retraining from epoch 0."""
    shutil.rmtree(run / "checkpoints")
    before = snapshot(run)
    code, err = train(capsys, "--out", str(run), "--resume", "--epochs", "3")
    assert code == 2
    one_line(err, "has no checkpoint to continue from")
    assert snapshot(run) == before


def test_a_second_run_into_a_locked_folder_names_the_first(tmp_path, run, capsys):
    """Case 4: the folder is locked before anything is written; the second run names the holder's PID."""
    held = run_folder.lock(tmp_path / "busy")
    try:
        for argv in (["--out", str(tmp_path / "busy")], ["--out", str(run), "--resume", "--epochs", "3"]):
            if argv[1] == str(run):
                held.release()
                held = run_folder.lock(run)
            before = snapshot(tmp_path)
            code, err = train(capsys, *argv)
            assert code == 2
            one_line(err, f"in use by another training run (PID {os.getpid()})")
            assert snapshot(tmp_path) == before
    finally:
        held.release()


@pytest.mark.parametrize("edit, fragment", [
    (("batch_size: 32", "batch_size: 16"), "has train.batch_size=16 but its checkpoint was trained with 32"),
    (("latent_dim: 4", "latent_dim: 6"), "has model.latent_dim=6 but its checkpoint was trained with 4"),
])
def test_resume_checks_config_yaml_against_the_checkpoint(run, capsys, edit, fragment):
    """Case 5: a hand-edited config.yaml is caught before TensorFlow, against what the checkpoint records."""
    config = run / "config.yaml"
    config.write_text(config.read_text().replace(*edit))
    before = snapshot(run)
    code, err = train(capsys, "--out", str(run), "--resume", "--epochs", "3")
    assert code == 2
    one_line(err, fragment)
    assert snapshot(run) == before


def test_ctrl_c_writes_a_backup_like_sigterm(tmp_path, capsys):
    """Case 6: SIGINT stops at the next step with a backup there, an INTERRUPTED line and a resume hint."""
    out = tmp_path / "interrupted"
    metadata = out / "checkpoints" / "training_metadata.json"

    def interrupt_after_the_first_backup():
        deadline = time.monotonic() + 120
        while not metadata.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    # the handler to restore: Python's default_int_handler, or SIG_IGN when pytest runs as a background job
    before = signal.getsignal(signal.SIGINT)
    threading.Thread(target=interrupt_after_the_first_backup, daemon=True).start()
    code, err = train(capsys, "--out", str(out), "--epochs", "100", "--steps-per-epoch", "4",
                      *set_args(TINY_OVERRIDES))
    assert code == 130, err
    assert "stopped by Ctrl-C (SIGINT)" in err and f"--resume --out {out}" in err, err
    assert "INTERRUPTED" in (out / "train.log").read_text()
    saved = json.loads(metadata.read_text())
    assert saved["global_step"] >= 4 and signal.getsignal(signal.SIGINT) is before


def test_a_full_disk_is_one_line_and_resume_finishes_the_run(tmp_path, capsys, monkeypatch):
    """Case 7: ENOSPC while writing the SavedModel: one line, exit 2, no torn or temporary file, and not
    "finished" until the final artefacts load; --resume then writes them without training again."""
    import vae_gan_tf.training.fit as training

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    out = tmp_path / "full"
    with monkeypatch.context() as patch:
        patch.setattr(training, "export_saved_model", full_disk)
        code, err = train(capsys, "--out", str(out), "--epochs", "1", "--steps-per-epoch", "2",
                          *set_args(TINY_OVERRIDES))
    assert code == 2
    one_line(err, "no space left on device")
    assert not run_folder.has_final_artefacts(out) and not list(out.rglob("*.incoming*"))
    assert (out / "model.keras").is_file() and not (out / "metrics.json").exists()
    history = (out / "history.csv").read_text()
    code, err = train(capsys, "--out", str(out), "--resume")
    assert code == 0, err
    assert run_folder.has_final_artefacts(out) and (out / "history.csv").read_text() == history


@pytest.mark.parametrize("existing", [True, False])
def test_a_staged_output_appears_whole_or_not_at_all(tmp_path, existing):
    """staged_folder (compare's report, issue 25): a failure leaves --out as it was (a new one is removed);
    success replaces images/ and the pages whole and keeps what else the folder holds."""
    out = tmp_path / "report"
    if existing:
        (out / "images").mkdir(parents=True)
        (out / "images" / "old.png").write_bytes(b"an earlier picture")
        (out / "report.md").write_text("the earlier report")
        (out / "notes.txt").write_text("the user's notes")
    before = snapshot(tmp_path)

    def build(staging):
        (staging / "images").mkdir()
        (staging / "images" / "new.png").write_bytes(b"a new picture")
        (staging / "report.md").write_text("the new report")

    with pytest.raises(RuntimeError):
        with run_folder.staged_folder(out, files=("report.md",), folders=("images",)) as staging:
            build(staging)
            raise RuntimeError("the comparison failed")
    assert snapshot(tmp_path) == before and out.exists() == existing
    with run_folder.staged_folder(out, files=("report.md",), folders=("images",)) as staging:
        build(staging)
    assert sorted(p.name for p in (out / "images").iterdir()) == ["new.png"]
    assert (out / "report.md").read_text() == "the new report"
    assert sorted(p.name for p in out.iterdir()) == sorted(["images", "report.md"] + ["notes.txt"] * existing)
    (out / "report.md").unlink()
    (out / "report.md").mkdir()
    with pytest.raises(run_folder.UserError, match="report.md"):  # refused before the work
        with run_folder.staged_folder(out, files=("report.md",), folders=("images",)):
            raise AssertionError("the block must not run")
