"""python -m vae_gan_tf.verify [--quick]: the documents' formulas against this library, numerically.

The rows are reference/checks.py's; the exit code is 0 only when every row passes.
"""

from __future__ import annotations

import argparse

from vae_gan_tf.cli.arguments import add_version, check_seed
from vae_gan_tf.cli.tensorflow_import import import_tensorflow
from vae_gan_tf.errors import run_cli


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m vae_gan_tf.verify", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples and shorter training (for tests)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the checks, 0 or more (default: %(default)s)")
    return add_version(parser)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    check_seed(args.seed)
    import_tensorflow()
    from vae_gan_tf.reference.checks import collect_rows, format_table

    rows = collect_rows(args.quick, args.seed)
    print(format_table(rows))
    failed = [r for r in rows if not r.passed]
    print(f"\n{len(rows) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    run_cli(main)
