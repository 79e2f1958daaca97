"""Conditional VAE and GAN: the label really conditions the samples (class-dependent blobs), losses fall,
labels travel with their images through the pipeline, save/load and export round trips, ``sample --label``
and the one-line errors."""

import keras
import numpy as np
import pytest
from conftest import call_saved_model, run_module, set_args

from vae_gan_tf.config import load_config
from vae_gan_tf.data.pipeline import batched, make_datasets
from vae_gan_tf.models.catalog import build_model, compile_model

CENTERS = [(2, 2), (2, 5), (5, 2), (5, 5)]  # class k: a bright blob in quadrant k of an 8x8 image


def blobs(n, seed=0):
    """Class-dependent blobs: a Gaussian bump (σ = 1 pixel) at the centre of quadrant y, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    rows, cols = np.mgrid[0:8, 0:8]
    centres = np.array(CENTERS)[labels] + rng.normal(0, 0.3, (n, 2))
    bumps = np.exp(-((rows - centres[:, 0, None, None]) ** 2 + (cols - centres[:, 1, None, None]) ** 2) / 2.0)
    images = np.clip(bumps + rng.normal(0, 0.05, bumps.shape), 0, 1)
    return images[..., None].astype(np.float32), labels


def quadrant(images):
    """The quadrant holding most of each image's mass: a perfect classifier for the blobs."""
    mass = np.stack([images[:, r:r + 4, c:c + 4].sum(axis=(1, 2, 3)) for r in (0, 4) for c in (0, 4)], axis=1)
    return mass.argmax(axis=1)


@pytest.fixture(scope="module")
def blob_source(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "blobs.npz"
    x, y = blobs(2048)
    np.savez(path, x=x, y=y)
    return f"npz:{path}"


CVAE = ["model.name=cvae", "model.num_classes=4", "model.architecture=mlp", "model.hidden_units=[64]",
        "model.latent_dim=2", "train.learning_rate=3e-3"]
CGAN = ["model.name=cgan", "model.num_classes=4", "data.scale=symmetric", "model.generator_units=[64]",
        "model.discriminator_units=[64]", "model.latent_dim=4", "model.embedding_dim=4",
        "model.d_learning_rate=2e-3", "model.g_learning_rate=2e-3"]


def trained(source, overrides, steps):
    config = load_config(None, [f"data.source={source}", "train.batch_size=64", *overrides])
    keras.utils.set_random_seed(0)
    data = make_datasets(config)
    model = compile_model(build_model(config, data.image_shape), config)
    history = model.fit(data.train, epochs=2, steps_per_epoch=steps // 2, verbose=0, shuffle=False)
    return model, history.history


@pytest.mark.parametrize("overrides", [CVAE, CGAN], ids=["cvae", "cgan"])
def test_samples_of_label_k_are_classified_as_k(blob_source, overrides):
    model, _ = trained(blob_source, overrides, 300)
    z = np.random.default_rng(1).standard_normal((400, model.latent_dim)).astype(np.float32)
    labels = np.repeat(np.arange(4, dtype=np.int32), 100)
    images = keras.ops.convert_to_numpy(model.generate(z, labels))
    if "data.scale=symmetric" in overrides:  # tanh images in [-1, 1]
        images = (images + 1) / 2
    accuracy = float(np.mean(quadrant(images) == labels))
    assert accuracy > 0.9, accuracy  # chance is 0.25


def test_cvae_loss_falls_and_cgan_discriminator_learns(blob_source):
    _, history = trained(blob_source, CVAE, 40)
    assert history["loss"][-1] < history["loss"][0]
    _, history = trained(blob_source, CGAN, 40)
    assert history["d_loss"][-1] < history["d_loss"][0]


def test_labels_stay_with_their_images_through_replica_interleaving():
    """With d_steps chunks and 2 replicas the rows are reordered (interleave_for_replicas); the labels must be
    reordered the same way."""
    images = np.arange(64, dtype=np.float32).reshape(64, 1, 1, 1)
    x, side = next(iter(batched(images, 32, shuffle=True, seed=3, chunks=2, replicas=2,
                                side=np.arange(64, dtype=np.int32) * 10)))
    np.testing.assert_array_equal(x.numpy().ravel() * 10, side.numpy())
    assert not np.array_equal(x.numpy().ravel(), np.sort(x.numpy().ravel()))  # shuffled and reordered


@pytest.mark.parametrize("overrides", [CVAE, CGAN], ids=["cvae", "cgan"])
def test_reload_and_export_round_trip(blob_source, overrides, tmp_path):
    model, _ = trained(blob_source, overrides, 4)
    model.save(tmp_path / "m.keras")
    reloaded = keras.models.load_model(tmp_path / "m.keras")
    z = np.random.default_rng(2).standard_normal((6, model.latent_dim)).astype(np.float32)
    labels = np.array([0, 1, 2, 3, 0, 1], np.int32)
    expected = keras.ops.convert_to_numpy(model.generate(z, labels))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded.generate(z, labels)), expected, atol=1e-6)
    from vae_gan_tf.runs.export import export_saved_model

    export_saved_model(model, tmp_path / "saved_model")
    out = call_saved_model(tmp_path / "saved_model", {"z": z, "label": labels},
                           {"sample": ["sample", ["z", "label"]], "generate": ["generate", ["label"]],
                            "signature": ["signatures/sample", {"z": "z", "label": "label"}]},
                           tmp_path)
    np.testing.assert_allclose(out["sample"], expected, atol=1e-5)
    np.testing.assert_allclose(out["signature_images"], expected, atol=1e-5)  # the serving signature, by name
    assert out["generate"].shape == expected.shape


@pytest.fixture(scope="module")
def cvae_run(tmp_path_factory, blob_source):
    run_dir = tmp_path_factory.mktemp("runs") / "cvae"
    result = run_module("vae_gan_tf.train", "--out", str(run_dir), "--epochs", "1", "--steps-per-epoch", "3",
                        *set_args([f"data.source={blob_source}", "train.batch_size=32",
                                   "train.sample_count=8", *CVAE]))
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def test_sample_cli_draws_one_class_or_one_row_per_class(cvae_run, tmp_path):
    result = run_module("vae_gan_tf.sample", str(cvae_run), "--n", "8", "--label", "3", "--out",
                        str(tmp_path / "three.png"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "three.png").exists() and (cvae_run / "samples" / "epoch_001.png").exists()
    result = run_module("vae_gan_tf.sample", str(cvae_run), "--label", "4")
    assert result.returncode == 2 and "--label 4 is not a class of this model; use 0 to 3" in result.stderr
    assert "Traceback" not in result.stderr


def test_sample_label_on_an_unconditional_model_is_refused(tiny_run):
    result = run_module("vae_gan_tf.sample", str(tiny_run), "--label", "1")
    assert result.returncode == 2 and "--label needs a conditional model" in result.stderr
    assert "Traceback" not in result.stderr


def test_conditional_model_on_a_source_without_labels_is_refused(tmp_path):
    np.savez(tmp_path / "nolabels.npz", x=blobs(64)[0])
    result = run_module("vae_gan_tf.train", "--out", str(tmp_path / "run"),
                        *set_args([f"data.source=npz:{tmp_path / 'nolabels.npz'}", *CVAE]))
    assert result.returncode == 2 and "has no labels, which model.name=cvae needs" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "run").exists()
