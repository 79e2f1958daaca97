"""python -m vae_gan_tf.train: train a model from a YAML config into a run folder.

With no arguments it trains the default conv VAE on ``mnist5k`` (bundled, offline) into
``runs/vae_mnist5k``. TensorFlow is imported only after the arguments and the config are checked,
so ``--help`` and config errors answer at once.

The run folder is locked for the whole run and ``--overwrite`` replaces it only once the new run has
finished (runs/folder.py). SIGTERM or Ctrl-C (SIGINT) stops training at the end of the current step, writes
a backup at that step, prints one line and exits with 128 + the signal (143, 130), what a shell reports for
a process ended by it; ``--resume`` continues it. A second Ctrl-C aborts at once. SIGKILL cannot be caught:
``--resume`` continues from the last backup, at most ``train.checkpoint_every_steps`` - 1 steps back (or
the last epoch end without that key).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import threading
from pathlib import Path


from vae_gan_tf.cli.arguments import add_version
from vae_gan_tf.cli.tensorflow_import import import_tensorflow
from vae_gan_tf.config import load_config, load_yaml, shipped_configs, with_absolute_paths
from vae_gan_tf.errors import UserError, end_progress_line, first_line, run_cli
from vae_gan_tf.runs.folder import (
    CHECKPOINTS,
    CONFIG_FILE,
    HISTORY_FILE,
    MARKER,
    MODEL_FILE,
    NoSpaceLeft,
    check_training_folder,
    check_not_in_use,
    first_difference,
    foreign_entries,
    is_no_space,
    is_run_folder,
    lock,
    overwrite_sibling,
    recorded_config,
    swap_in,
)
from vae_gan_tf.training.cluster import check_tpu_address, read_tf_config

DEFAULT_RUN_NAME = "vae_mnist5k"
# What a resumed run may change: anything else would move the data stream or change the model.
RESUMABLE_KEYS = ("train.epochs", "train.time_budget_minutes", "train.checkpoint_every_steps",
                  "model.second_stage_epochs")  # the two-stage VAE's stage 2 (after the others' last epoch)
SIGNAL_NAMES = {signal.SIGTERM: "SIGTERM", signal.SIGINT: "Ctrl-C (SIGINT)"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m vae_gan_tf.train",
        description="Train a model (VAE, beta-VAE, IWAE, CVAE, autoencoder, VAE/GAN, sequence VAE, GAN, CGAN, "
                    "WGAN) from a YAML config into a run folder (docs/run_folder.md).")
    parser.add_argument("--config", metavar="FILE|NAME",
                        help="YAML config: a FILE, or the NAME of a shipped one such as dcgan_mnist (see "
                             "--list-configs); default: built-in conv VAE on mnist5k")
    parser.add_argument("--list-configs", action="store_true",
                        help="list the shipped config names with their first comment line, and exit")
    parser.add_argument("--set", dest="overrides", metavar="KEY=VALUE", action="append", default=[],
                        help="override one config key, e.g. --set model.latent_dim=32 (repeatable)")
    parser.add_argument("--out", metavar="DIR", help="run folder (default: runs/<config name>)")
    parser.add_argument("--epochs", type=int, metavar="N", help="same as --set train.epochs=N")
    parser.add_argument("--steps-per-epoch", type=int, metavar="N",
                        help="cap on steps per epoch, for quick runs (train.steps_per_epoch)")
    parser.add_argument("--seed", type=int, metavar="N",
                        help="same as --set train.seed=N (seeds the data order, the noise and the weights)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its checkpoints and saved config.yaml")
    parser.add_argument("--export-only", action="store_true",
                        help="with --resume: rebuild the run's saved_model/ from its model.keras, without "
                             "training (repairs a damaged export)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the run in --out once the new run has finished (the old one is kept "
                             "if it fails)")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=None,
                        help="Keras fit verbosity (default: progress bar)")
    return add_version(parser)


def check_resume(run_dir: Path, overrides: list[str], config_path) -> None:
    """The UserErrors of ``--resume`` that need no TensorFlow: no run, no checkpoint, a --config, a
    forbidden --set, or a config.yaml that differs from the config its checkpoint was trained with."""
    if not (run_dir / CONFIG_FILE).is_file():
        raise UserError(f"{run_dir} is not a run folder (no config.yaml); give the --out of an earlier run")
    if config_path:
        raise UserError("--resume continues the run's own config.yaml; drop --config")
    saved = load_yaml(run_dir / CONFIG_FILE)  # one line for a config.yaml that is not YAML (issue 25)
    if isinstance(saved, dict) and (saved.get("train") or {}).get("strategy") == "multi_worker":
        raise UserError("--resume is not supported with train.strategy=multi_worker: the other workers' "
                        "checkpoints are temporary; start a new run with another --out")
    changed = [o.partition("=")[0].strip() for o in overrides if o.partition("=")[0].strip() not in RESUMABLE_KEYS]
    if changed:
        raise UserError(f"--resume continues the saved config; only {', '.join(RESUMABLE_KEYS)} may change "
                        f"(not {changed[0]}); start a new run to change it")
    if (run_dir / HISTORY_FILE).is_file():  # appended to: one line now for one that is not CSV text
        from vae_gan_tf.report.plotting import read_history

        read_history(run_dir / HISTORY_FILE)
    checkpoint = run_dir / CHECKPOINTS / "latest.weights.h5"
    if not checkpoint.is_file():
        raise UserError(f"{run_dir} has no checkpoint to continue from ({checkpoint} is missing); train it "
                        f"again with --overwrite --out {run_dir}")


def check_recorded_config(run_dir: Path, config) -> None:
    """Refuse a config.yaml edited by hand since its checkpoint was written (beyond RESUMABLE_KEYS)."""
    try:
        recorded = recorded_config(run_dir / CHECKPOINTS / "latest.weights.h5")
    except (OSError, ValueError) as err:
        raise UserError(f"checkpoint {run_dir / 'checkpoints'} cannot be restored ({first_line(err)}); it was "
                        "left untouched; start a new run with another --out") from None
    difference = recorded and first_difference(config.to_dict(), recorded, RESUMABLE_KEYS)
    if difference:
        key, now, then = difference
        raise UserError(f"{run_dir / 'config.yaml'} has {key}={now!r} but its checkpoint was trained with "
                        f"{then!r}; put it back (only {', '.join(RESUMABLE_KEYS)} may change on --resume) "
                        "or start a new run")


def resolve_run(args) -> tuple:
    """(config, run folder, mode) from the arguments, mode being "new", "resume" or "overwrite"; a
    UserError for every conflict. Nothing is written here."""
    overrides = list(args.overrides)
    for flag, key in (("epochs", "train.epochs"), ("steps_per_epoch", "train.steps_per_epoch"),
                      ("seed", "train.seed")):
        if getattr(args, flag) is not None:
            overrides.append(f"{key}={getattr(args, flag)}")
    if args.resume and args.overwrite:
        raise UserError("--resume and --overwrite contradict each other; choose one")
    if args.out is not None and not args.out.strip():
        raise UserError("--out is empty; give a folder such as --out runs/my_run, or leave --out out for "
                        f"runs/{DEFAULT_RUN_NAME}")
    if args.export_only and not args.resume:
        raise UserError("--export-only rebuilds the exports of an existing run: use it with --resume --out RUN")
    if args.resume:
        if not args.out:
            raise UserError("--resume needs --out RUN_DIR naming the run to continue")
        run_dir = Path(args.out)
        check_not_in_use(run_dir)
        check_training_folder(run_dir)
        if args.export_only:
            if not (run_dir / CONFIG_FILE).is_file() or not (run_dir / MODEL_FILE).is_file():
                raise UserError(f"{run_dir} has no {CONFIG_FILE} and {MODEL_FILE} to rebuild the exports from; "
                                f"train it again with --overwrite --out {run_dir}")
            if overrides:
                raise UserError("--export-only trains nothing; drop --set, --epochs, --steps-per-epoch and --seed")
            return load_config(run_dir / CONFIG_FILE), run_dir, "export"
        check_resume(run_dir, overrides, args.config)
        config = load_config(run_dir / CONFIG_FILE, overrides)
        check_recorded_config(run_dir, config)
        return config, run_dir, "resume"
    config = with_absolute_paths(load_config(args.config, overrides))
    name = Path(args.config).stem if args.config else DEFAULT_RUN_NAME  # a shipped name: dcgan_mnist(.yaml)
    run_dir = Path(args.out) if args.out else Path("runs") / name
    if run_dir.exists() and not run_dir.is_dir():
        raise UserError(f"--out {run_dir} is a file, not a folder; pick another --out")
    check_not_in_use(run_dir)
    check_training_folder(run_dir)
    if run_dir.exists() and any(run_dir.iterdir()):
        if not args.overwrite:
            raise UserError(f"run folder {run_dir} already exists; continue it with --resume --out {run_dir}, "
                            "pick another --out, or replace it with --overwrite")
        if not is_run_folder(run_dir):
            raise UserError(f"{run_dir} is not a run folder written by this tool (it has no marker); refusing "
                            "to delete it with --overwrite; pick another --out")
        foreign = foreign_entries(run_dir)
        if foreign:
            raise UserError(f"{run_dir} holds {foreign[0]}, which this tool did not write; --overwrite would "
                            "delete it: move it out first, or pick another --out")
        return config, run_dir, "overwrite"
    return config, run_dir, "new"


def claim(run_dir: Path, mode: str) -> tuple:
    """Lock the run folder (and, for an overwrite, its sibling that the new run trains into): (the folder
    to train into, the locks). A UserError if it cannot be made or another run holds it."""
    try:
        locks = [lock(run_dir)]
        target = run_dir
        if mode == "overwrite":
            target = overwrite_sibling(run_dir)
            locks.append(lock(target))
    except OSError as err:
        for taken in locals().get("locks", []):
            taken.undo()
        raise UserError(f"cannot write the run folder {run_dir} ({err.strerror or err}); pick another --out") \
            from None
    return target, locks


def list_configs() -> list[str]:
    """``--list-configs``: each shipped config's name and the first line of its leading comment, sorted."""
    shipped = sorted(shipped_configs().items())
    width = max((len(name) for name, _ in shipped), default=0)
    lines = []
    for name, path in shipped:
        first = (path.read_text(encoding="utf-8").splitlines() or [""])[0]
        summary = first.lstrip("#").strip() if first.startswith("#") else ""
        lines.append(f"{name:<{width}}  {summary}".rstrip())
    return lines


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.list_configs:  # before any config is read and without TensorFlow: answers at once
        print("\n".join(list_configs()))
        return 0
    config, run_dir, mode = resolve_run(args)
    if config.train.strategy == "multi_worker":  # fail before TensorFlow is imported
        read_tf_config(os.environ)
    elif config.train.strategy == "tpu":
        check_tpu_address(config.train.tpu_address)
    target, locks = claim(run_dir, mode)
    if mode == "export":
        try:
            return rebuild_exports_and_report(config, run_dir)
        finally:
            for taken in locks:
                taken.release()
    stop_request, stopped_by = threading.Event(), []

    def on_signal(signum, frame):
        if signum == signal.SIGINT and stop_request.is_set():
            raise KeyboardInterrupt  # the second Ctrl-C: abort now
        stopped_by.append(signum)
        stop_request.set()

    previous = {signum: signal.signal(signum, on_signal) for signum in SIGNAL_NAMES}
    try:
        return train_and_report(args, config, run_dir, target, mode, stop_request, stopped_by)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for taken in locks:
            taken.release()
        if mode == "overwrite":  # still there unless it was swapped in: the old run stays as it was
            shutil.rmtree(target, ignore_errors=True)
        if mode == "new" and locks[0].created_folder and not any(run_dir.iterdir()):
            run_dir.rmdir()


def rebuild_exports_and_report(config, run_dir: Path) -> int:
    """``--resume --export-only``: saved_model/ again from model.keras (training/fit.py), in one line."""
    import_tensorflow()
    from vae_gan_tf.training.fit import rebuild_exports

    try:
        path = rebuild_exports(config, run_dir)
    except NoSpaceLeft as err:
        raise UserError(f"{err}; the run's model.keras is unchanged") from None
    print(f"rebuilt {path} from {run_dir / MODEL_FILE} (no training)")
    return 0


def no_space_message(run_dir: Path, target: Path, kept: str) -> str:
    """The one line of a full disk during a run: what was kept and how to continue."""
    where = kept[2:] if kept else (f"what was written before is kept (the last backup in {run_dir}/checkpoints); "
                                   f"free some space, then continue with --resume --out {run_dir}")
    return f"no space left on device while writing {target}; {where}"


def train_and_report(args, config, run_dir, target, mode, stop_request, stopped_by) -> int:
    """Train into ``target`` and report in one line; swap it in for an overwrite once it has finished."""
    import_tensorflow()
    from vae_gan_tf.training.fit import TrainingFailed, TrainingInterrupted, train_run

    kept = (f"; the previous run in {run_dir} was kept as it was (the new one was discarded)"
            if mode == "overwrite" else "")
    verbose = "auto" if args.verbose is None else args.verbose
    try:
        metrics = train_run(config, target, resume=mode == "resume", verbose=verbose, stop_request=stop_request)
    except TrainingFailed as err:
        end_progress_line()
        print(f"error: {err}{kept}; lower train.learning_rate (now {config.train.learning_rate:g}) or check the "
              f"data, then start again with --overwrite --out {run_dir} (--resume keeps the learning rate)",
              file=sys.stderr)
        return 1
    except TrainingInterrupted as err:
        end_progress_line()
        signum = stopped_by[0] if stopped_by else signal.SIGTERM
        hint = (kept if mode == "overwrite" else
                f"; a backup was written there; continue with: python -m vae_gan_tf.train --resume --out {run_dir}")
        print(f"stopped by {SIGNAL_NAMES[signum]} at {err}{hint}", file=sys.stderr)
        return 128 + signum
    except NoSpaceLeft:
        end_progress_line()
        raise UserError(no_space_message(run_dir, target, kept)) from None
    except UserError:
        if mode == "new" and not (target / CONFIG_FILE).exists():  # refused before anything was written
            (target / MARKER).unlink(missing_ok=True)
        raise
    except Exception as err:
        if not is_no_space(err):
            raise
        end_progress_line()
        raise UserError(no_space_message(run_dir, target, kept)) from None
    if mode == "overwrite":
        swap_in(target, run_dir)
    final = ", ".join(f"{k}={v:.4g}" for k, v in metrics["final"].items())
    role = "" if metrics.get("chief", True) else "; not the chief: the chief's run folder has the outputs"
    print(f"run folder: {run_dir}  ({metrics['epochs_completed']} epochs; {final}{role})")
    return 0


if __name__ == "__main__":
    run_cli(main)
