"""python -m vae_gan_tf.evaluate RUN [--metrics fid,kid,is,pr,classes,modes,nll,cas,augment,mig,beta_vae,factor_vae,dci] [--n 10000]
    [--features classifier|inception|fid_inception] [--data SOURCE]
python -m vae_gan_tf.evaluate --train-classifier SOURCE

Real images come from the run's data source (or ``--data``). Generated ones come from the run's
SavedModel, and ``nll`` also reads ``model.keras``; ``cas`` and ``augment`` (conditional runs) train the
feature CNN on labelled samples (evaluation/conditional_scores.py). The results are written to ``RUN/eval.json`` and printed
as a table. Every number names the feature extractor that produced it, and ``basis`` in eval.json records
the extractor and the real images (docs/evaluation_features.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vae_gan_tf.cli.arguments import add_version, check_seed
from vae_gan_tf.cli.tensorflow_import import import_tensorflow
from vae_gan_tf.errors import UserError, run_cli
from vae_gan_tf.evaluation.run_metrics import ALL_METRICS, FEATURES, MAX_K
from vae_gan_tf.runs.folder import EVAL_FILE, check_run_folder


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m vae_gan_tf.evaluate",
                                     description="Sample-quality and likelihood metrics of a trained run.")
    parser.add_argument("run", nargs="?", help="run folder written by python -m vae_gan_tf.train")
    parser.add_argument("--metrics", help=f"comma-separated subset of {','.join(ALL_METRICS)} "
                                          "(default: all that apply to the run)")
    parser.add_argument("--n", type=int, default=10000, help="real and generated samples (default 10000)")
    parser.add_argument("--features", choices=FEATURES, default="classifier",
                        help="feature extractor: the small CNN trained on the run's source, InceptionV3 "
                             "(download), or the 2015 FID Inception network (default: %(default)s)")
    parser.add_argument("--data", metavar="SOURCE", help="real images (and the classifier) from this data "
                        "source instead of the run's own (same image shape)")
    parser.add_argument("--k", type=int, default=1000,
                        help=f"importance samples for the nll metric, 1 to {MAX_K} (default: %(default)s)")
    parser.add_argument("--nll-images", type=int, default=1000, help="held-out images for the nll metric")
    parser.add_argument("--seed", type=int, default=0, help="seed of the samples, 0 or more (default: %(default)s)")
    parser.add_argument("--train-classifier", metavar="SOURCE",
                        help="train and cache the feature classifier on a labelled data source, then exit")
    parser.add_argument("--classifier-epochs", type=int, default=10,
                        help="with --train-classifier: training epochs (default: %(default)s)")
    parser.add_argument("--image-size", type=int, help="with --train-classifier folder:DIR: the square image size")
    return add_version(parser)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    check_seed(args.seed)
    if args.k > MAX_K:
        raise UserError(f"--k must be at most {MAX_K} (the documented limit), got {args.k}")
    metrics = [m.strip() for m in args.metrics.split(",")] if args.metrics is not None else None
    if metrics is not None and (not all(metrics) or set(metrics) - set(ALL_METRICS)):
        bad = "an empty name" if not all(metrics) else ", ".join(sorted(set(metrics) - set(ALL_METRICS)))
        raise UserError(f"--metrics {args.metrics!r}: {bad} is not a metric; choose from "
                        f"{', '.join(ALL_METRICS)} (or leave --metrics out for all that apply)")
    if args.run and not args.train_classifier:
        check_run_folder(Path(args.run))  # eval.json is written there: refused before the work (issue 25)
    import_tensorflow()
    from vae_gan_tf.evaluation.features import train_classifier_for
    from vae_gan_tf.evaluation.run_metrics import evaluate_run, format_report

    if args.train_classifier:
        if args.classifier_epochs < 1:
            raise UserError(f"--classifier-epochs must be at least 1, got {args.classifier_epochs}")
        result = train_classifier_for(args.train_classifier, args.classifier_epochs, image_size=args.image_size)
        print(f"classifier for {args.train_classifier}: {result['path']} "
              f"(held-out accuracy {result['held_out_accuracy']:.4f})")
        return 0
    if not args.run:
        raise UserError("give a run folder, or --train-classifier SOURCE")
    for flag, value, low in (("--n", args.n, 10), ("--k", args.k, 1), ("--nll-images", args.nll_images, 1)):
        if value < low:
            raise UserError(f"{flag} must be at least {low}, got {value}")
    report = evaluate_run(Path(args.run), metrics, args.n, args.features, args.k, args.nll_images, args.seed,
                          data=args.data)
    print(format_report(report))
    print(f"wrote {Path(args.run) / EVAL_FILE}")
    return 0


if __name__ == "__main__":
    run_cli(main)
