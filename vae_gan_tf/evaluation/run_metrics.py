"""The metrics of one trained run: its SavedModel's samples against the real images of its source (or of
another one), on one feature extractor, written to ``RUN/eval.json`` (``python -m vae_gan_tf.evaluate`` is
the command). Every number names the feature extractor that produced it, and ``basis`` in eval.json records
the extractor and the real images (docs/evaluation_features.md); ``cas`` and ``augment`` (conditional runs)
come from ``conditional_scores``, ``mig``, ``beta_vae``, ``factor_vae`` and ``dci`` (sources with factors)
from ``disentanglement_scores``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from vae_gan_tf.data.held_out import held_out_images, source_images
from vae_gan_tf.evaluation.disentanglement_scores import POOL
from vae_gan_tf.errors import UserError
from vae_gan_tf.runs.folder import CONFIG_FILE, EVAL_FILE, MODEL_FILE, SAVED_MODEL, write_text
from vae_gan_tf.runs.saved_model import load_saved_model, prior_codes, read_export_info, unit_range_samples

ALL_METRICS = ("fid", "kid", "is", "pr", "classes", "modes", "nll", "cas", "augment",
               "mig", "beta_vae", "factor_vae", "dci")
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


def default_metrics(family: str, toy: bool) -> list[str]:
    if toy:
        return ["modes", "fid", "pr"]
    return ["fid", "kid", "is", "pr", "classes"] + (["nll"] if family == "VAE" else [])


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
    info = read_export_info(run_dir / SAVED_MODEL)
    loaded = load_saved_model(run_dir / SAVED_MODEL)
    if not hasattr(loaded, "sample"):
        raise UserError(f"{run_dir} has no prior to sample from ({info['family']}); evaluate a VAE or GAN run")
    return unit_range_samples(loaded, info, prior_codes(info, n, seed + 1), progress=progress), info


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
                 data: str | None = None, real_split: str = "train") -> dict:
    """Compute ``metrics`` for the run in ``run_dir``, write ``RUN/eval.json`` and return its content.
    ``data`` is the source of the real images and of the classifier (default: the run's source);
    ``real_split`` ``train`` takes the real images from its train split, ``held_out`` from the images no run
    trains on (data/held_out.py: MNIST's 10,000 test digits), the real set of the published FIDs."""
    import keras
    import numpy as np

    from vae_gan_tf.config import load_config
    from vae_gan_tf.data.source_names import SEQUENCE_SOURCES, TOY_SOURCES
    from vae_gan_tf.evaluation.metrics.fid import feature_statistics, fid_from_features, frechet_distance
    from vae_gan_tf.evaluation.metrics.inception_score import inception_score
    from vae_gan_tf.evaluation.metrics.kid import kid_from_features
    from vae_gan_tf.evaluation.metrics.precision_recall import density_coverage, precision_recall

    run_dir = Path(run_dir)
    for needed in (CONFIG_FILE, f"{SAVED_MODEL}/saved_model.pb"):
        if not (run_dir / needed).exists():
            raise UserError(f"{run_dir} is not a finished run folder (no {needed}); give the --out of a "
                            "completed python -m vae_gan_tf.train")
    start = time.perf_counter()
    config = load_config(run_dir / CONFIG_FILE)
    from vae_gan_tf.evaluation.conditional_scores import check_conditional

    check_conditional(read_export_info(run_dir / SAVED_MODEL), run_dir, metrics or [])
    from vae_gan_tf.evaluation.disentanglement_scores import (
        DISENTANGLEMENT_METRICS,
        check_factors,
        disentanglement_metrics,
    )

    check_factors(config.data.source, run_dir, metrics or [])
    asked = [m for m in metrics or [] if m in DISENTANGLEMENT_METRICS]
    if asked and len(asked) == len(metrics):  # no samples or real images needed
        info = read_export_info(run_dir / SAVED_MODEL)
        results = disentanglement_metrics(run_dir, config, info, asked, seed, verbose)
        matrices = results.pop("_matrices")
        report = {"run": str(run_dir), "family": info["family"], "data": config.data.source, "n": POOL,
                  "basis": {"features": "encoder means", "real_data": config.data.source,
                            "real_split": "factor grid", "real_n": POOL, "real_seed": int(seed)},
                  "features": "none", "metrics_requested": list(metrics),
                  "features_note": f"encoder means of {POOL} uniform draws from the factor grid "
                                   "(evaluation/disentanglement_scores.py)",
                  "metrics": {k: float(v) if isinstance(v, (float, np.floating)) else v for k, v in results.items()},
                  "disentanglement": matrices, "seconds": round(time.perf_counter() - start, 1)}
        write_text(run_dir / EVAL_FILE, json.dumps(report, indent=2))
        return report
    if config.data.source in SEQUENCE_SOURCES:
        raise UserError(f"{run_dir} models sequences ({config.data.source}); evaluate measures images and 2-D "
                        "points: look at its reconstructions.png and samples/ instead")
    toy = config.data.source in TOY_SOURCES
    if "modes" in (metrics or ()) and not toy:  # before sampling
        raise UserError(f"the modes metric needs a 2-D mixture run (ring8, grid25); {run_dir} models "
                        f"{config.data.source} images: use classes for their modes")
    source = data or config.data.source
    info = read_export_info(run_dir / SAVED_MODEL)
    if real_split not in ("train", "held_out"):
        raise UserError(f"real_split must be train or held_out, not {real_split!r}")
    real_config = with_source(config, source)
    real, _ = (held_out_images(real_config, n, seed) if real_split == "held_out" else
               source_images(real_config, "train", n, seed))
    if tuple(real.shape[1:]) != tuple(info["image_shape"]):
        raise UserError(f"{run_dir} makes samples of shape {tuple(info['image_shape'])} but the real "
                        f"images of {source} have shape {tuple(real.shape[1:])}; compare runs of one image "
                        "shape, or give --data a source of that shape")
    n = len(real)
    chosen = list(metrics or default_metrics(info["family"], toy))
    if not toy and set(chosen) & FEATURE_METRICS:  # a missing classifier or FID weights fail before sampling
        from vae_gan_tf.evaluation.features import make_extractor

        extractor = make_extractor(features, source)
    unknown = sorted(set(chosen) - set(ALL_METRICS))
    if unknown:
        raise UserError(f"unknown metrics {unknown}; choose from {', '.join(ALL_METRICS)}")
    if "nll" in chosen and info["family"] != "VAE":
        raise UserError(f"the nll metric needs a VAE run; {run_dir} holds a {info['family']}")
    trained = None
    if "nll" in chosen:  # model.keras is read before the work, so a damaged one is one line at once
        from vae_gan_tf.models.catalog import load_trained

        trained = load_trained(run_dir / MODEL_FILE, f"the nll metric needs it; train the run again with "
                                                     f"--overwrite --out {run_dir}, or leave nll out of --metrics")
    progress = keras.utils.Progbar(n, unit_name="sample", verbose=1 if verbose else 0)
    fake, info = generated_samples(run_dir, n, seed, progress)
    results: dict = {}
    cache_note: dict = {}
    if toy:
        kind, real_f, fake_f, fake_p = "identity", real.astype(np.float64), fake.astype(np.float64), None
    elif not set(chosen) & FEATURE_METRICS:  # nll alone needs no extractor, so no feature classifier
        kind, real_f, fake_f, fake_p = "none", None, None, None
    else:
        from vae_gan_tf.evaluation.progress import Progress
        from vae_gan_tf.evaluation.reference_stats import reference_statistics

        kind = extractor.name
        basis = dict(evaluation_basis(kind, source, n, seed, real.shape[1:]), real_split=real_split)
        reference = reference_statistics(extractor, basis, real, Progress(n, f"real images on {kind}", verbose=verbose))
        if verbose and reference.from_cache:
            print(f"real-set statistics on {kind} read from the cache: {reference.path}", file=sys.stderr)
        real_f = reference.features
        fake_f, fake_p = extractor(fake, Progress(len(fake), f"samples on {kind}", verbose=verbose))
        cache_note = {"reference_stats_cached": bool(reference.from_cache)}
    if "fid" in chosen:
        if kind == "identity":
            results["fid"] = fid_from_features(real_f, fake_f)
        else:  # the real set's cached mean and float64 covariance
            results["fid"] = frechet_distance(reference.mean, reference.covariance, *feature_statistics(fake_f))
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
        results.update(likelihood_metrics(trained, config, k, nll_images, verbose))
    if asked:
        found = disentanglement_metrics(run_dir, config, info, asked, seed, verbose)
        disentanglement = found.pop("_matrices")
        results.update(found)
    if {"cas", "augment"} & set(chosen):
        from vae_gan_tf.evaluation.conditional_scores import usefulness_metrics

        results.update(usefulness_metrics(run_dir, config, info, chosen, n, seed, verbose))
    report = {
        "run": str(run_dir), "family": info["family"], "data": config.data.source, "n": n,
        "basis": dict(evaluation_basis(kind, source, n, seed, real.shape[1:]), real_split=real_split),
        "features": kind, "metrics_requested": chosen,
        "features_note": EXTRACTOR_NOTES.get(kind, "no features: likelihood metrics only").format(source=source),
        "metrics": {key: (float(v) if isinstance(v, (float, np.floating)) else v) for key, v in results.items()},
        "seconds": round(time.perf_counter() - start, 1), **cache_note,
    }
    if asked:
        report["disentanglement"] = disentanglement
    write_text(run_dir / EVAL_FILE, json.dumps(report, indent=2))
    return report


def likelihood_metrics(model, config, k: int, nll_images: int, verbose: bool) -> dict:
    """IW log-likelihood, ELBO terms and active units of the trained ``model`` (a run's model.keras) on the
    run's held-out images."""
    import keras
    import numpy as np

    from vae_gan_tf.data.pipeline import make_datasets
    from vae_gan_tf.evaluation.metrics.likelihood import (
        active_units,
        elbo_terms,
        importance_weighted_log_likelihood,
    )

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


