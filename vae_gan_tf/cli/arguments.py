"""What every entry point's parser shares (no TensorFlow import): ``--version``, the seed check, and the
checks that complete and denoise share."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vae_gan_tf import __version__
from vae_gan_tf.errors import UserError
from vae_gan_tf.runs.folder import check_destination, check_run_folder


def add_version(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--version``, and argparse's errors (``--n 1.5``, a missing argument) as one line, ``error: ...``
    with exit code 2 and the hint to ``--help``, instead of the usage block (issue 25); ``--help`` is kept."""
    parser.add_argument("--version", action="version", version=f"vae_gan_tf {__version__}",
                        help="print the version and exit")

    def one_line(message: str):
        print(f"error: {message} (see {parser.prog} --help)", file=sys.stderr)
        sys.exit(2)

    parser.error = one_line
    return parser


def check_seed(seed: int | None) -> None:
    """NumPy and TensorFlow seeds are non-negative: a negative --seed is one line, not a traceback."""
    if seed is not None and seed < 0:
        raise UserError(f"--seed must be 0 or more, got {seed}")


def add_restoration_args(parser: argparse.ArgumentParser, seed_help: str) -> argparse.ArgumentParser:
    """complete / denoise: --metrics, --metrics-n and --seed (checked by :func:`check_restoration_args`)."""
    parser.add_argument("--metrics", action="store_true", help="score --metrics-n held-out images into uses.json")
    parser.add_argument("--metrics-n", type=int, default=500, help="held-out images for --metrics (default 500)")
    parser.add_argument("--seed", type=int, default=0, help=seed_help)
    return parser


def check_image_run(run, info: dict, command: str) -> list:
    """complete / denoise: the image shape of the run's export, or a UserError for a run of 2-D points or
    sequences (issue 25: they have no images to mask or to add noise to)."""
    shape = list(info.get("image_shape") or [])
    if len(shape) != 3:
        kind = "2-D points" if len(shape) == 1 else "sequences" if len(shape) == 2 else "no images"
        raise UserError(f"{run} holds a {info.get('family', 'model')} of {kind} (shape {tuple(shape)}); "
                        f"{command} works on image runs only")
    return shape


def check_restoration_args(args) -> None:
    """complete / denoise: --n, --metrics-n and --steps of at least 1, and an --out whose folder exists."""
    for flag, value in (("--n", args.n), ("--metrics-n", args.metrics_n)):
        if value < 1:
            raise UserError(f"{flag} must be at least 1, got {value}")
    if args.steps is not None and args.steps < 1:
        raise UserError(f"--steps must be at least 1, got {args.steps}")
    if not Path(args.out).resolve().parent.is_dir():
        raise UserError(f"--out {args.out}: the folder {Path(args.out).parent} does not exist")
    check_destination(Path(args.out))  # issue 25: a link out of its folder is refused before any work
    check_run_folder(Path(args.run))  # uses.json and uses/ are written there
