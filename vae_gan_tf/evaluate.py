"""python -m vae_gan_tf.evaluate RUN [--metrics fid,kid,is,pr,classes,modes,nll,cas,augment] [--n 10000]
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
import json
import time
from pathlib import Path

from vae_gan_tf.cli.arguments import add_version, check_seed
from vae_gan_tf.errors import UserError, run_cli
from vae_gan_tf.runs.saved_model import load_saved_model, prior_samples, read_export_info
from vae_gan_tf.cli.tensorflow_import import import_tensorflow

ALL_METRICS = ("fid", "kid", "is", "pr", "classes", "modes", "nll", "cas", "augment")
FEATURE_METRICS = {"fid", "kid", "is", "pr", "classes"}  # the metrics computed on extracted features
MAX_K = 5000  # importance samples per image for nll (the limit --help has always stated)
FEATURES = ("classifier", "inception", "fid_inception")
EXTRACTOR_NOTES = {
    "classifier": "small CNN trained by vae_gan_tf on {source}: FID/KID/IS on its features are NOT comparable "
                  "with Inception-based values or published numbers",
    "inception": "InceptionV3 (ImageNet) pool features / class probabilities, images resized to 299x299",
    "fid_inception": "the 2015 TF Inception graph's pool_3 features as TTUR's fid.py computes them (the FID "
                     "standard): comparable with published FID at the same n and real set",
    "identity": "the 2-D points themselves",
}


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


def default_metrics(family: str, toy: bool) -> list[str]:
    if toy:
        return ["modes", "fid", "pr"]
    return ["fid", "kid", "is", "pr", "classes"] + (["nll"] if family == "VAE" else [])


def real_samples(config, n: int, seed: int):
    """Up to ``n`` images of the run's source in [0, 1] (or 2-D points), with labels when there are any."""
    import numpy as np

    from vae_gan_tf.data.pipeline import prepare_images
    from vae_gan_tf.data.sources import load_source

    arrays = load_source(config.data.source, "train", config.data.image_size)
    images = prepare_images(arrays, config)
    order = np.random.default_rng(seed).permutation(len(images))[:n]
    return images[order], (arrays.labels[order] if arrays.labels is not None else None)


def with_source(config, source: str | None):
    """``config`` with its data source replaced (None keeps it): the real set of an evaluation."""
    import dataclasses

    if source is None or source == config.data.source:
        return config
    return dataclasses.replace(config, data=dataclasses.replace(config.data, source=source))


def features_identity(kind: str, source: str) -> str:
    """What the features were computed with, as recorded in eval.json: the classifier file's SHA-1,
    the FID weights' SHA-1, or the Keras InceptionV3 ImageNet weights."""
    import hashlib

    if kind == "classifier":
        from vae_gan_tf.evaluation.features import classifier_path

        path = classifier_path(source)
        digest = hashlib.sha1(path.read_bytes()).hexdigest() if path.is_file() else "missing"
        return f"classifier:{source}:{digest}"
    if kind == "fid_inception":
        from vae_gan_tf.evaluation.fid_inception import WEIGHTS_SHA1

        return f"fid_inception:{WEIGHTS_SHA1}"
    return {"inception": "keras.applications.InceptionV3:imagenet", "identity": "identity", "none": "none"}[kind]


def evaluation_basis(kind: str, source: str, n: int, seed: int, shape) -> dict:
    """The features and the real images an evaluation was computed on: two evaluations are comparable,
    and an eval.json reusable, only when these are equal."""
    return {"features": kind, "features_id": features_identity(kind, source), "real_data": source,
            "real_split": "train", "real_n": int(n), "real_seed": int(seed),
            "real_shape": [int(d) for d in shape]}


def generated_samples(run_dir: Path, n: int, seed: int, progress=None):
    """``n`` samples from the run's SavedModel ``sample`` endpoint, mapped to [0, 1] (points unchanged)."""
    import numpy as np

    from vae_gan_tf.report.plotting import to_unit_range

    info = read_export_info(run_dir / "saved_model")
    loaded = load_saved_model(run_dir / "saved_model")
    if not hasattr(loaded, "sample"):
        raise UserError(f"{run_dir} has no prior to sample from ({info['family']}); evaluate a VAE or GAN run")
    z = np.random.default_rng(seed + 1).standard_normal((n, info["latent_dim"])).astype(np.float32)
    chunks = []
    for start in range(0, n, 500):
        chunks.append(prior_samples(loaded, info, z[start:start + 500]))
        if progress is not None:
            progress.add(len(chunks[-1]))
    samples = np.concatenate(chunks)
    if len(info["image_shape"]) == 1:
        return samples, info
    return to_unit_range(samples, tuple(info["pixel_range"])), info


def generated_samples_for_labels(run_dir: Path, labels, seed: int):
    """One sample per label from a conditional run's SavedModel, in [0, 1]."""
    import numpy as np

    from vae_gan_tf.report.plotting import to_unit_range

    info = read_export_info(run_dir / "saved_model")
    loaded = load_saved_model(run_dir / "saved_model")
    z = np.random.default_rng(seed + 2).standard_normal((len(labels), info["latent_dim"])).astype(np.float32)
    chunks = [prior_samples(loaded, info, z[i:i + 500], labels[i:i + 500]) for i in range(0, len(labels), 500)]
    return to_unit_range(np.concatenate(chunks), tuple(info["pixel_range"]))


def class_coverage(probabilities) -> dict:
    """Stacked-MNIST-style coverage (Metz et al. 2017; Lin et al. 2018): how many classes the classifier
    sees among generated samples, and KL(q(y) ‖ uniform) of their predicted-class histogram."""
    import numpy as np

    classes = probabilities.shape[1]
    counts = np.bincount(probabilities.argmax(axis=1), minlength=classes)
    q = counts / counts.sum()
    kl = float(np.sum(np.where(q > 0, q * np.log(np.where(q > 0, q * classes, 1.0)), 0.0)))
    return {"classes_covered": int(np.sum(counts > 0)), "classes_total": int(classes), "class_kl_to_uniform": kl}


def evaluate_run(run_dir, metrics=None, n: int = 10000, features: str = "classifier", k: int = 1000,
                 nll_images: int = 1000, seed: int = 0, verbose: bool = True,
                 data: str | None = None) -> dict:
    """Compute ``metrics`` for the run in ``run_dir``, write ``RUN/eval.json`` and return its content.
    ``data`` is the source of the real images and of the classifier (default: the run's source)."""
    import keras
    import numpy as np

    from vae_gan_tf.config import SEQUENCE_SOURCES, TOY_SOURCES, load_config
    from vae_gan_tf.evaluation.metrics.fid import fid_from_features
    from vae_gan_tf.evaluation.metrics.inception_score import inception_score
    from vae_gan_tf.evaluation.metrics.kid import kid_from_features
    from vae_gan_tf.evaluation.metrics.precision_recall import density_coverage, precision_recall

    run_dir = Path(run_dir)
    for needed in ("config.yaml", "saved_model/saved_model.pb"):
        if not (run_dir / needed).exists():
            raise UserError(f"{run_dir} is not a finished run folder (no {needed}); give the --out of a "
                            "completed python -m vae_gan_tf.train")
    start = time.perf_counter()
    config = load_config(run_dir / "config.yaml")
    from vae_gan_tf.evaluation.conditional_scores import check_conditional

    check_conditional(read_export_info(run_dir / "saved_model"), run_dir, metrics or [])
    if config.data.source in SEQUENCE_SOURCES:
        raise UserError(f"{run_dir} models sequences ({config.data.source}); evaluate measures images and 2-D "
                        "points: look at its reconstructions.png and samples/ instead")
    toy = config.data.source in TOY_SOURCES
    if "modes" in (metrics or ()) and not toy:  # before sampling
        raise UserError(f"the modes metric needs a 2-D mixture run (ring8, grid25); {run_dir} models "
                        f"{config.data.source} images: use classes for their modes")
    source = data or config.data.source
    info = read_export_info(run_dir / "saved_model")
    real, _ = real_samples(with_source(config, source), n, seed)
    if tuple(real.shape[1:]) != tuple(info["image_shape"]):
        raise UserError(f"{run_dir} makes samples of shape {tuple(info['image_shape'])} but the real "
                        f"images of {source} have shape {tuple(real.shape[1:])}; compare runs of one image "
                        "shape, or give --data a source of that shape")
    n = len(real)
    chosen = list(metrics or default_metrics(info["family"], toy))
    if not toy and set(chosen) & FEATURE_METRICS:  # a missing classifier or FID weights fail before sampling
        from vae_gan_tf.evaluation.features import make_extractor

        extractor = make_extractor(features, source)
    progress = keras.utils.Progbar(n, unit_name="sample", verbose=1 if verbose else 0)
    fake, info = generated_samples(run_dir, n, seed, progress)
    unknown = sorted(set(chosen) - set(ALL_METRICS))
    if unknown:
        raise UserError(f"unknown metrics {unknown}; choose from {', '.join(ALL_METRICS)}")
    if "nll" in chosen and info["family"] != "VAE":
        raise UserError(f"the nll metric needs a VAE run; {run_dir} holds a {info['family']}")
    results: dict = {}
    if toy:
        kind, real_f, fake_f, fake_p = "identity", real.astype(np.float64), fake.astype(np.float64), None
    elif not set(chosen) & FEATURE_METRICS:  # nll alone needs no extractor, so no feature classifier
        kind, real_f, fake_f, fake_p = "none", None, None, None
    else:
        kind = extractor.name
        progress = keras.utils.Progbar(2 * n, unit_name="image", verbose=1 if verbose else 0)
        real_f, _ = extractor(real, progress)
        fake_f, fake_p = extractor(fake, progress)
    if "fid" in chosen:
        results["fid"] = fid_from_features(real_f, fake_f)
        half = n // 2  # the floor of this estimator: FID between two halves of the real set
        results["fid_real_halves"] = fid_from_features(real_f[:half], real_f[half:2 * half])
    if "kid" in chosen:
        results["kid_mean"], results["kid_std"] = kid_from_features(real_f, fake_f, subsets=100,
                                                                    subset_size=min(1000, n), seed=seed)
    if "is" in chosen and fake_p is not None:
        results["is_mean"], results["is_std"] = inception_score(fake_p, splits=10)
    if "pr" in chosen:
        results["precision"], results["recall"] = precision_recall(real_f, fake_f, k=3)
        results["density"], results["coverage"] = density_coverage(real_f, fake_f, k=5)
    if "classes" in chosen and fake_p is not None and kind == "classifier":
        results.update(class_coverage(fake_p))
    if "modes" in chosen and toy:
        from vae_gan_tf.data.toy2d import mixture
        from vae_gan_tf.evaluation.metrics.modes import mode_coverage

        means, std = mixture(config.data.source)
        results["modes_captured"], results["high_quality_fraction"] = mode_coverage(fake[:2500], means, std)
        results["modes_total"] = len(means)
    if "nll" in chosen:
        results.update(likelihood_metrics(run_dir, config, k, nll_images, verbose))
    if {"cas", "augment"} & set(chosen):
        from vae_gan_tf.evaluation.conditional_scores import usefulness_metrics

        results.update(usefulness_metrics(run_dir, config, info, chosen, n, seed))
    report = {
        "run": str(run_dir), "family": info["family"], "data": config.data.source, "n": n,
        "basis": evaluation_basis(kind, source, n, seed, real.shape[1:]),
        "features": kind, "metrics_requested": chosen,
        "features_note": EXTRACTOR_NOTES.get(kind, "no features: likelihood metrics only").format(source=source),
        "metrics": {key: (float(v) if isinstance(v, (float, np.floating)) else v) for key, v in results.items()},
        "seconds": round(time.perf_counter() - start, 1),
    }
    (run_dir / "eval.json").write_text(json.dumps(report, indent=2))
    return report


def likelihood_metrics(run_dir: Path, config, k: int, nll_images: int, verbose: bool) -> dict:
    """IW log-likelihood, ELBO terms and active units on the run's held-out images."""
    import keras
    import numpy as np

    from vae_gan_tf.models.catalog import register_all

    register_all()  # the model classes, for keras.models.load_model
    from vae_gan_tf.data.pipeline import make_datasets
    from vae_gan_tf.evaluation.metrics.likelihood import active_units, elbo_terms, importance_weighted_log_likelihood

    model = keras.models.load_model(run_dir / "model.keras")
    data = make_datasets(config)
    held_out = data.validation_images if data.validation_images is not None else data.train_images
    held_out = held_out[:nll_images]
    progress = keras.utils.Progbar(len(held_out), unit_name="image", verbose=1 if verbose else 0)
    log_likelihood = importance_weighted_log_likelihood(model, held_out, k=k, progress=progress)
    return {f"log_likelihood_iw{k}": float(np.mean(log_likelihood)),
            "log_likelihood_std_error": float(np.std(log_likelihood) / np.sqrt(len(log_likelihood))),
            **elbo_terms(model, held_out), "active_units": active_units(model, held_out),
            "latent_dim": int(model.latent_dim), "nll_images": int(len(held_out))}


def format_report(report: dict) -> str:
    basis = report["basis"]
    lines = [f"{report['run']}  ({report['family']} on {report['data']}, n={report['n']})",
             f"features: {report['features']}: {report['features_note']}",
             f"real images: {basis['real_n']} of {basis['real_data']} ({basis['real_split']} split)", ""]
    width = max(len(k) for k in report["metrics"]) if report["metrics"] else 6
    lines += [f"  {key.ljust(width)}  {value:.6g}" if isinstance(value, float) else f"  {key.ljust(width)}  {value}"
              for key, value in report["metrics"].items()]
    return "\n".join(lines)


def train_classifier_for(source: str, epochs: int, verbose="auto", image_size: int | None = None) -> dict:
    """Train and cache the feature classifier of ``source`` (a labelled image source)."""
    from vae_gan_tf.data.sources import load_source
    from vae_gan_tf.evaluation.features import classifier_path, train_classifier

    arrays = load_source(source, "train", image_size)
    if arrays.labels is None:
        raise UserError(f"data source {source!r} has no labels; the classifier needs a labelled source "
                        "(mnist5k, digits, mnist, idx:DIR with label files, folder:DIR with class sub-folders)")
    if arrays.images.ndim != 4:
        raise UserError(f"data source {source!r} holds points, not images: no classifier is needed")
    return train_classifier(arrays.images, arrays.labels, classifier_path(source), epochs=epochs, verbose=verbose)


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
    import_tensorflow()
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
    print(f"wrote {Path(args.run) / 'eval.json'}")
    return 0


if __name__ == "__main__":
    run_cli(main)
