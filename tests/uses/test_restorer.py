"""Completion, denoising and samples as training data (issue 13): models/completion.py, uses/masks_and_noise.py,
uses/restorer.py, complete.py, denoise.py, metrics/classification.py, evaluation/conditional_scores.py."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf
from conftest import call_saved_model, run_module

from vae_gan_tf.data.corruption import corrupt
from vae_gan_tf.errors import UserError
from vae_gan_tf.models.completion import latent_optimisation, markov_chain_completion
from vae_gan_tf.uses.masks_and_noise import check_masks, check_noise_spec, make_masks


def test_vae_chain_with_a_perfect_autoencoder_returns_the_original():
    """A linear autoencoder that projects onto a 4-d subspace holding the images is perfect for them; the
    chain is then alternating projections and must converge to the original from half the pixels."""
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.standard_normal((64, 4)))
    basis = tf.constant(basis, tf.float32)

    def project(c):
        return tf.reshape(tf.reshape(c, [-1, 64]) @ basis @ tf.transpose(basis), [-1, 8, 8, 1])

    x = tf.reshape(tf.constant(rng.standard_normal((6, 4)), tf.float32) @ tf.transpose(basis), [-1, 8, 8, 1])
    mask = tf.constant(make_masks("random:0.5", (6, 8, 8, 1), seed=1))
    completed = markov_chain_completion(project, x, mask, tf.constant(100))["images"].numpy()
    np.testing.assert_array_equal(completed * mask.numpy(), x.numpy() * mask.numpy())  # known pixels exactly
    assert np.abs(completed - x.numpy()).max() < 1e-4  # measured 6e-7 after 100 iterations, 0.015 after 10


def test_latent_optimisation_recovers_the_generating_z():
    """On an injective tiny generator G(z) = tanh(Wz), projecting G(z*) finds z* (|error| < 1e-3; measured
    1.4e-4 after 200 steps and 6e-5 with the centre hidden after 400)."""
    rng = np.random.default_rng(0)
    weights = tf.constant(0.5 * rng.standard_normal((4, 64)), tf.float32)
    generate = lambda z: tf.reshape(tf.tanh(z @ weights), [-1, 8, 8, 1])  # noqa: E731
    z_true = rng.standard_normal((6, 4)).astype(np.float32)
    x = generate(tf.constant(z_true))
    mask = make_masks("center", (6, 8, 8, 1))
    out = tf.function(latent_optimisation)(
        generate,
        lambda g: tf.zeros([tf.shape(g)[0]]),
        x,
        tf.constant(mask),
        tf.constant(400),
        4,
        perceptual_weight=0.0,
    )
    assert np.abs(out["z"].numpy() - z_true).max() < 1e-3
    np.testing.assert_array_equal(out["images"].numpy() * mask, x.numpy() * mask)


def test_endpoints_work_without_the_package_and_keep_known_pixels(tiny_run, tiny_gan_run, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((3, 8, 8, 1)).astype(np.float32)
    mask = make_masks("random:0.5", x.shape, seed=2)
    inputs = {"x": x, "x_sym": x * 2 - 1, "mask": mask, "count": np.int32(5)}
    vae = call_saved_model(
        tiny_run / "saved_model", inputs, {"c": ["complete", ["x", "mask", "count"]]}, tmp_path
    )
    gan = call_saved_model(
        tiny_gan_run / "saved_model", inputs, {"p": ["project", ["x_sym", "mask", "count"]]}, tmp_path
    )
    np.testing.assert_array_equal(vae["c_images"] * mask, x * mask)
    np.testing.assert_array_equal(gan["p_images"] * mask, inputs["x_sym"] * mask)
    assert gan["p_generated"].shape == x.shape and gan["p_z"].shape == (3, 8)
    assert np.all(np.isfinite(vae["c_images"])) and np.all(np.abs(gan["p_generated"]) <= 1.0)


FAMILY_OVERRIDES = {
    "autoencoder": ["model.conv_filters=[8, 16]"],
    "vaegan": ["model.conv_filters=[8, 16]", "model.discriminator_filters=[8, 16]"],
    "cvae": ["model.conv_filters=[8, 16]"],
    **{name: ["data.scale=symmetric", "model.architecture=dcgan", "model.generator_filters=[16, 8]",
              "model.discriminator_filters=[8, 16]"] for name in ("wgan", "cgan")},
}


@pytest.mark.parametrize("name", sorted(FAMILY_OVERRIDES))
def test_every_other_image_family_exports_its_endpoint(name, tmp_path):
    """The families the tiny runs above do not cover; conditional ones take one label per image."""
    from vae_gan_tf.config import load_config
    from vae_gan_tf.models.catalog import build_model
    from vae_gan_tf.runs.export import export_saved_model

    config = load_config(overrides=["data.source=digits", f"model.name={name}", "model.latent_dim=4",
                                    *FAMILY_OVERRIDES[name]])
    model = build_model(config, (8, 8, 1))
    x = np.random.default_rng(0).random((3, 8, 8, 1)).astype(np.float32)
    labels, conditional = np.array([0, 4, 9], np.int32), name in ("cvae", "cgan")
    model([x, labels] if conditional else x)
    loaded = tf.saved_model.load(str(export_saved_model(model, tmp_path / "sm")))
    mask = make_masks("top", x.shape)
    endpoint = loaded.project if "gan" in name and name != "vaegan" else loaded.complete
    out = endpoint(tf.constant(x), tf.constant(mask), *([tf.constant(labels)] if conditional else []),
                   tf.constant(3))
    np.testing.assert_array_equal(out["images"].numpy() * mask, x * mask)


def test_cas_of_the_real_training_set_is_its_ordinary_test_accuracy():
    from sklearn.datasets import load_digits

    from vae_gan_tf.evaluation.metrics.classification import (
        classification_accuracy_score,
        fit_classifier,
    )

    digits = load_digits()
    images, labels = (digits.images / 16.0).astype(np.float32)[..., None], digits.target
    train, test = slice(0, 1400), slice(1400, None)
    cas = classification_accuracy_score(
        images[train], labels[train], images[test], labels[test], 10, 150, seed=3
    )
    model = fit_classifier(images[train], labels[train], 10, 150, seed=3)
    _, keras_accuracy = model.evaluate(images[test], labels[test], verbose=0)
    assert cas == pytest.approx(keras_accuracy, abs=1e-6)
    assert cas > 0.8  # labels kept with their images: a shuffled pairing would give about 0.1


def test_bad_masks_and_noises_are_one_clear_error():
    with pytest.raises(UserError, match="shape"):
        check_masks(np.ones((2, 8, 8, 1)), (2, 28, 28, 1))
    with pytest.raises(UserError, match="hides no pixel"):
        check_masks(np.ones((2, 8, 8, 1)), (2, 8, 8, 1))
    with pytest.raises(UserError, match="hides every pixel"):
        check_masks(np.zeros((2, 8, 8, 1)), (2, 8, 8, 1))
    for spec in ("gauss:0.3", "salt_pepper:1.5", "mask:x"):
        with pytest.raises(UserError, match="--noise"):
            check_noise_spec(spec)
    noisy = corrupt(np.full((50, 8, 8, 1), 0.5, np.float32), "salt_pepper:0.2", seed=0)
    assert 0.15 < np.mean(noisy != 0.5) < 0.25 and set(np.unique(noisy)) == {0.0, 0.5, 1.0}


def test_complete_cli_writes_a_grid_and_refuses_a_mask_of_the_wrong_size(tiny_run, tmp_path):
    import matplotlib.image

    grid = tmp_path / "grid.png"
    ok = run_module(
        "vae_gan_tf.complete",
        str(tiny_run),
        "--mask",
        "random:0.5",
        "--n",
        "4",
        "--steps",
        "3",
        "--out",
        str(grid),
    )
    assert ok.returncode == 0 and grid.is_file(), ok.stderr[-2000:]
    matplotlib.image.imsave(tmp_path / "big.png", np.ones((28, 28)), cmap="gray")
    bad = run_module(
        "vae_gan_tf.complete",
        str(tiny_run),
        "--mask",
        str(tmp_path / "big.png"),
        "--out",
        str(tmp_path / "never.png"),
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and not (tmp_path / "never.png").exists()
    assert bad.stderr.strip().splitlines()[-1] == (
        f"error: --mask {tmp_path / 'big.png'} is 28x28 but the model's images are 8x8; draw the mask at the "
        "images' size"
    )


def test_cas_is_refused_for_an_unconditional_run(tiny_run):
    before = (tiny_run / "eval.json").read_bytes() if (tiny_run / "eval.json").exists() else None
    result = run_module("vae_gan_tf.evaluate", str(tiny_run), "--metrics", "cas")
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert errors == [f"error: --metrics cas needs labelled samples, but {tiny_run} holds an unconditional "
                      "VAE; evaluate a cvae or cgan run"]
    assert ((tiny_run / "eval.json").read_bytes() if (tiny_run / "eval.json").exists() else None) == before


def test_a_run_without_the_endpoint_or_model_keras_is_refused(tiny_run, tmp_path):
    import keras

    from vae_gan_tf.models.catalog import register_all

    register_all()  # the model classes, for keras.models.load_model
    from vae_gan_tf.uses.restorer import Restorer

    run = tmp_path / "old_run"
    run.mkdir()
    shutil.copy(tiny_run / "config.yaml", run / "config.yaml")
    model = keras.models.load_model(tiny_run / "model.keras")
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "reconstruct",
        lambda x: model.decode(model.encode(x)[0]),
        input_signature=[tf.TensorSpec((None, 8, 8, 1), tf.float32)],
    )
    archive.write_out(str(run / "saved_model"), verbose=False)
    (run / "saved_model" / "assets").mkdir(exist_ok=True)
    shutil.copy(tiny_run / "saved_model" / "assets" / "vae_gan_tf.json", run / "saved_model" / "assets")
    with pytest.raises(UserError, match="has no completion endpoint .complete or project. and there is no model.keras"):
        Restorer(run)
    shutil.copy(tiny_run / "model.keras", run / "model.keras")  # then it is rebuilt from model.keras
    restorer = Restorer(run)
    x = np.random.default_rng(0).random((2, 8, 8, 1)).astype(np.float32)
    assert restorer.complete(x, make_masks("left", x.shape), None, 2).shape == x.shape
    assert json.loads((run / "saved_model" / "assets" / "vae_gan_tf.json").read_text())["family"] == "VAE"
