"""``python -m vae_gan_tf`` (or the ``vae-gan-tf`` console script): list the seven commands, or run one as
``vae-gan-tf COMMAND ARGS``, the same as ``python -m vae_gan_tf.COMMAND ARGS``. No TensorFlow import."""

from __future__ import annotations

import importlib
import sys

from vae_gan_tf import __version__
from vae_gan_tf.errors import UserError, run_cli

COMMANDS = {
    "train": "train a model from a YAML config into a run folder",
    "sample": "draw samples from a run's SavedModel into a PNG",
    "evaluate": "sample-quality and likelihood metrics of a run, into RUN/eval.json",
    "compare": "a report comparing runs, answering the documents' questions",
    "verify": "check the documents' formulas against exact references",
    "complete": "fill the masked pixels of held-out images with a run (image completion)",
    "denoise": "remove noise from held-out images with a run",
}


def usage() -> str:
    rows = "\n".join(f"  {name:<9} {what}" for name, what in COMMANDS.items())
    return (f"vae_gan_tf {__version__}: VAEs, GANs and their hybrids in Keras 3 / TensorFlow 2\n\n"
            f"usage: vae-gan-tf COMMAND [ARGS]   (or: python -m vae_gan_tf.COMMAND [ARGS])\n\n"
            f"commands:\n{rows}\n\nvae-gan-tf COMMAND --help describes a command's options.")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if argv[0] == "--version":
        print(f"vae_gan_tf {__version__}")
        return 0
    if argv[0] not in COMMANDS:
        raise UserError(f"unknown command {argv[0]!r}; choose one of {', '.join(COMMANDS)} "
                        "(vae-gan-tf --help lists them)")
    return importlib.import_module(f"vae_gan_tf.{argv[0]}").main(argv[1:])


def console_script() -> None:
    """The ``vae-gan-tf`` entry point of pyproject.toml."""
    run_cli(main)


if __name__ == "__main__":
    console_script()
