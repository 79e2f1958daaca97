"""What every entry point's parser shares (no TensorFlow import): ``--version`` and the seed check."""

from __future__ import annotations

import argparse

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
