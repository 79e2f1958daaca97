"""python -m vae_gan_tf.train: train a model from a YAML config into a run folder.

With no arguments it trains the default conv VAE on ``mnist5k`` (bundled, offline) into
``runs/vae_mnist5k``. TensorFlow is imported only after the arguments and the config are checked,
so ``--help`` and config errors answer at once.

SIGTERM stops training at the end of the current step, writes a backup at that step, prints one line
and exits with code 143 (128 + SIGTERM, what a shell reports for a process ended by that signal);
``--resume`` continues it. SIGKILL cannot be caught: ``--resume`` continues from the last backup, at
most ``train.checkpoint_every_steps`` - 1 steps back (or the last epoch end without that key).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from vae_gan_tf.cluster import check_tpu_address, read_tf_config
from vae_gan_tf.config import load_config, with_absolute_paths
from vae_gan_tf.errors import UserError, run_cli

DEFAULT_RUN_NAME = "vae_mnist5k"
# What a resumed run may change: anything else would move the data stream or change the model.
RESUMABLE_KEYS = ("train.epochs", "train.time_budget_minutes", "train.checkpoint_every_steps",
                  "model.second_stage_epochs")  # the two-stage VAE's stage 2 (after the others' last epoch)
EXIT_SIGTERM = 143  # 128 + signal 15, as a shell reports a process ended by SIGTERM
RUN_MARKERS = ("train.log", "history.csv", "checkpoints")


def is_run_folder(path: Path) -> bool:
    """A folder this tool wrote: config.yaml plus one of its other files."""
    return (path / "config.yaml").is_file() and any((path / marker).exists() for marker in RUN_MARKERS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m vae_gan_tf.train",
        description="Train a model (VAE, autoencoder, GAN, WGAN) from a YAML config; writes a run folder "
                    "(see README).")
    parser.add_argument("--config", metavar="FILE", help="YAML config (default: built-in conv VAE on mnist5k)")
    parser.add_argument("--set", dest="overrides", metavar="KEY=VALUE", action="append", default=[],
                        help="override one config key, e.g. --set model.latent_dim=32 (repeatable)")
    parser.add_argument("--out", metavar="DIR", help="run folder (default: runs/<config name>)")
    parser.add_argument("--epochs", type=int, metavar="N", help="same as --set train.epochs=N")
    parser.add_argument("--steps-per-epoch", type=int, metavar="N",
                        help="cap on steps per epoch, for quick runs (train.steps_per_epoch)")
    parser.add_argument("--seed", type=int, metavar="N", help="same as --set train.seed=N")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its checkpoints and saved config.yaml")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=None,
                        help="Keras fit verbosity (default: progress bar)")
    return parser


def resolve_run(args) -> tuple:
    """(config, run folder, mode) from the arguments, mode being "new", "resume" or "overwrite"; a
    UserError for every conflict. Nothing is deleted here: an overwrite happens only after the new
    run's data and model have been checked (``training.train_run``)."""
    overrides = list(args.overrides)
    for flag, key in (("epochs", "train.epochs"), ("steps_per_epoch", "train.steps_per_epoch"),
                      ("seed", "train.seed")):
        if getattr(args, flag) is not None:
            overrides.append(f"{key}={getattr(args, flag)}")
    if args.resume and args.overwrite:
        raise UserError("--resume and --overwrite contradict each other; choose one")
    if args.resume:
        if not args.out:
            raise UserError("--resume needs --out RUN_DIR naming the run to continue")
        run_dir = Path(args.out)
        if not (run_dir / "config.yaml").is_file():
            raise UserError(f"{run_dir} is not a run folder (no config.yaml); give the --out of an earlier run")
        if args.config:
            raise UserError("--resume continues the run's own config.yaml; drop --config")
        changed = [o.partition("=")[0].strip() for o in overrides if o.partition("=")[0].strip() not in RESUMABLE_KEYS]
        if changed:
            raise UserError(f"--resume continues the saved config; only {', '.join(RESUMABLE_KEYS)} "
                            "may change "
                            f"(not {changed[0]}); start a new run to change it")
        return load_config(run_dir / "config.yaml", overrides), run_dir, "resume"
    config = with_absolute_paths(load_config(args.config, overrides))
    name = Path(args.config).stem if args.config else DEFAULT_RUN_NAME
    run_dir = Path(args.out) if args.out else Path("runs") / name
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        if not args.overwrite:
            raise UserError(f"run folder {run_dir} already exists; continue it with --resume --out {run_dir}, "
                            "pick another --out, or replace it with --overwrite")
        if not is_run_folder(run_dir):
            raise UserError(f"{run_dir} is not a run folder written by this tool; refusing to delete it "
                            "with --overwrite; pick another --out")
        return config, run_dir, "overwrite"
    return config, run_dir, "new"


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    config, run_dir, mode = resolve_run(args)
    if config.train.strategy == "multi_worker":  # fail before TensorFlow is imported
        read_tf_config(os.environ)
    elif config.train.strategy == "tpu":
        check_tpu_address(config.train.tpu_address)
    stop_request = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop_request.set())
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from vae_gan_tf.training import TrainingFailed, TrainingInterrupted, train_run

    verbose = "auto" if args.verbose is None else args.verbose
    try:
        metrics = train_run(config, run_dir, resume=mode == "resume", overwrite=mode == "overwrite",
                            verbose=verbose, stop_request=stop_request)
    except TrainingFailed as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except TrainingInterrupted as err:
        print(f"stopped by SIGTERM at {err}; a backup was written there; continue with: "
              f"python -m vae_gan_tf.train --resume --out {run_dir}", file=sys.stderr)
        return EXIT_SIGTERM
    final = ", ".join(f"{k}={v:.4g}" for k, v in metrics["final"].items())
    role = "" if metrics.get("chief", True) else "; not the chief: the chief's run folder has the outputs"
    print(f"run folder: {run_dir}  ({metrics['epochs_completed']} epochs; {final}{role})")
    return 0


if __name__ == "__main__":
    run_cli(main)
