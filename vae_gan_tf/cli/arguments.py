"""What every entry point's parser shares (no TensorFlow import): ``--version``, the seed check, and the
checks that complete and denoise share."""

from __future__ import annotations

import argparse
from pathlib import Path

from vae_gan_tf import __version__
from vae_gan_tf.errors import UserError


def add_version(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--version", action="version", version=f"vae_gan_tf {__version__}",
                        help="print the version and exit")
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


def check_restoration_args(args) -> None:
    """complete / denoise: --n, --metrics-n and --steps of at least 1, and an --out whose folder exists."""
    for flag, value in (("--n", args.n), ("--metrics-n", args.metrics_n)):
        if value < 1:
            raise UserError(f"{flag} must be at least 1, got {value}")
    if args.steps is not None and args.steps < 1:
        raise UserError(f"--steps must be at least 1, got {args.steps}")
    if not Path(args.out).resolve().parent.is_dir():
        raise UserError(f"--out {args.out}: the folder {Path(args.out).parent} does not exist")
