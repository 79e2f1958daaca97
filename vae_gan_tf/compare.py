"""python -m vae_gan_tf.compare RUN [RUN ...] --out REPORT_DIR: a side-by-side report of trained runs.

The report puts the documents' comparison questions to measurement: which model is sharper, which
is more diverse, which trains more stably, and which is cheaper; and which completes images, removes noise
and trains a classifier better (report/comparison.py, report/uses_section.py). ``REPORT_DIR/report.md`` has the
images beside it in ``images/``. ``report.html`` holds the same content with the images inline.
Every run is evaluated on one feature extractor and one real set (``--data``, default: the first run's
source); a run whose ``eval.json`` was computed on anything else (features, real data, n) is evaluated
again, and runs of another image shape are refused.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vae_gan_tf.cli.arguments import add_version
from vae_gan_tf.cli.tensorflow_import import import_tensorflow
from vae_gan_tf.errors import run_cli
from vae_gan_tf.evaluation.run_metrics import FEATURES


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m vae_gan_tf.compare", description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run folders written by python -m vae_gan_tf.train")
    parser.add_argument("--out", required=True, help="report folder (created; an existing report.md is replaced)")
    parser.add_argument("--n", type=int, default=2000, help="samples for runs that have no eval.json yet")
    parser.add_argument("--features", choices=FEATURES, default="classifier",
                        help="feature extractor every run is measured with (default: %(default)s)")
    parser.add_argument("--data", metavar="SOURCE", help="the real images (and classifier) every run is "
                        "measured against (default: the first run's data source)")
    return add_version(parser)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    import_tensorflow()
    from vae_gan_tf.report.comparison import compare_runs

    out_dir = compare_runs([Path(r) for r in args.runs], Path(args.out), args.n, args.features, args.data)
    print(f"wrote {out_dir / 'report.md'} and {out_dir / 'report.html'}")
    return 0


if __name__ == "__main__":
    run_cli(main)
