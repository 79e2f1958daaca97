"""`evaluate` on tiny runs (evaluation/run_metrics.py): every metric, the classifier, the offline paths."""

import json

import numpy as np
import pytest

from vae_gan_tf.errors import UserError


def test_classifier_learns_the_digits(digits_classifier):
    assert digits_classifier["classes"] == 10 and digits_classifier["held_out_accuracy"] > 0.5


def test_evaluate_vae_run_writes_every_metric(tiny_run, digits_classifier):
    from vae_gan_tf.evaluation.run_metrics import evaluate_run

    report = evaluate_run(tiny_run, n=300, k=20, nll_images=64, verbose=False)
    saved = json.loads((tiny_run / "eval.json").read_text())
    assert saved == json.loads(json.dumps(report))
    metrics = report["metrics"]
    for key in ("fid", "fid_real_halves", "kid_mean", "kid_std", "is_mean", "precision", "recall", "density",
                "coverage", "classes_covered", "class_kl_to_uniform", "log_likelihood_iw20", "elbo",
                "reconstruction_nll", "kl", "active_units"):
        assert key in metrics and np.isfinite(metrics[key]), key
    assert report["features"] == "classifier" and "NOT comparable" in report["features_note"]
    assert metrics["is_mean"] >= 1.0 and metrics["is_mean"] <= 10.0 and 0 <= metrics["precision"] <= 1


def test_importance_weighted_estimate_rises_with_k_above_the_elbo(tiny_run):
    import keras

    from vae_gan_tf.models.catalog import register_all

    register_all()  # the model classes, for keras.models.load_model
    from vae_gan_tf.data.sources import load_source
    from vae_gan_tf.evaluation.metrics.likelihood import (
        elbo_terms,
        importance_weighted_log_likelihood,
    )

    model = keras.models.load_model(tiny_run / "model.keras")
    images = load_source("digits").images[:100]
    bounds = [importance_weighted_log_likelihood(model, images, k=k).mean() for k in (1, 10, 100)]
    assert bounds[0] < bounds[1] < bounds[2]
    assert bounds[2] > elbo_terms(model, images)["elbo"]


def test_evaluate_gan_run_and_metric_choice(tiny_gan_run, digits_classifier):
    from vae_gan_tf.evaluation.run_metrics import evaluate_run

    report = evaluate_run(tiny_gan_run, metrics=["fid", "pr"], n=200, verbose=False)
    assert report["family"] == "GAN" and set(report["metrics"]) == {"fid", "fid_real_halves", "precision",
                                                                     "recall", "density", "coverage"}
    with pytest.raises(UserError, match="needs a VAE run"):
        evaluate_run(tiny_gan_run, metrics=["nll"], n=200, verbose=False)


def test_the_real_set_can_be_the_held_out_images(tiny_gan_run, digits_classifier):
    """real_split held_out: the images no run trains on (digits has no test split: its validation images),
    recorded in the basis, and a different real set from the train split's."""
    from vae_gan_tf.evaluation.run_metrics import evaluate_run

    held_out = evaluate_run(tiny_gan_run, metrics=["fid"], n=100, verbose=False, real_split="held_out")
    train = evaluate_run(tiny_gan_run, metrics=["fid"], n=100, verbose=False)
    assert held_out["basis"]["real_split"] == "held_out" and train["basis"]["real_split"] == "train"
    assert held_out["metrics"]["fid_real_halves"] != train["metrics"]["fid_real_halves"]
    with pytest.raises(UserError, match="train or held_out"):
        evaluate_run(tiny_gan_run, metrics=["fid"], n=100, verbose=False, real_split="test")


def test_missing_classifier_and_offline_inception_are_one_line_errors(tiny_run, monkeypatch, tmp_path):
    from keras.src.applications import inception_v3

    from vae_gan_tf.evaluation.run_metrics import evaluate_run

    monkeypatch.setenv("VAE_GAN_TF_CACHE", str(tmp_path))
    with pytest.raises(UserError, match="--train-classifier digits"):
        evaluate_run(tiny_run, n=50, verbose=False)

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: [Errno -3] name resolution")

    monkeypatch.setattr(inception_v3.file_utils, "get_file", offline)
    with pytest.raises(UserError, match="use --features classifier"):
        evaluate_run(tiny_run, n=50, features="inception", verbose=False)


def test_evaluate_cli_rejects_impossible_counts(tiny_run):
    from vae_gan_tf.evaluate import main

    with pytest.raises(UserError, match="--k must be at least 1"):
        main([str(tiny_run), "--k", "0"])


def test_blur_of_two_pixels_costs_more_fid_than_half_a_pixel_on_the_default_features(digits_classifier):
    from vae_gan_tf.data.corruption import gaussian_blur
    from vae_gan_tf.data.sources import load_source
    from vae_gan_tf.evaluate import build_parser
    from vae_gan_tf.evaluation.features import make_extractor
    from vae_gan_tf.evaluation.metrics.fid import fid_from_features

    images = load_source("digits").images
    extractor = make_extractor(build_parser().get_default("features"), "digits")
    real, _ = extractor(images[:800])
    fid = {sigma: fid_from_features(real, extractor(gaussian_blur(images[800:1600], sigma))[0])
           for sigma in (0.0, 0.5, 2.0)}
    assert fid[0.0] < fid[0.5] < fid[2.0]
