"""The sequence VAE: it learns, padded steps count for nothing, .keras and SavedModel round trips, the CLI."""

import json
from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import call_saved_model, run_module, set_args

from vae_gan_tf.config import load_config
from vae_gan_tf.data.sines import sample_sines
from vae_gan_tf.data.sources import load_source
from vae_gan_tf.models import losses
from vae_gan_tf.models.catalog import build_model
from vae_gan_tf.models.vae.sequence_vae import SequenceVAE

SINES, SINES_MASK = sample_sines(64, seed=3)
DIGITS = load_source("digits").images[:64]
SINES_SETTINGS = ["data.source=sines", "model.likelihood=gaussian", "model.gaussian_std=0.3"]
FAMILIES = {  # tiny networks, each exercising other options
    "sines_lstm": [*SINES_SETTINGS, "model.cell=lstm", "model.word_dropout=0.25", "model.z_every_step=true"],
    "digit_rows_gru": ["data.source=digits", "model.kl_warmup_steps=10"],
}


def compiled(overrides, shape, learning_rate=1e-2):
    keras.utils.set_random_seed(0)
    config = load_config(None, ["model.name=sequence_vae", "model.units=12", "model.latent_dim=3",
                                *overrides])
    model = build_model(config, shape)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    model.optimizer.build(model.trainable_variables)
    return model


def sines_model(*overrides):
    return compiled([*SINES_SETTINGS, *overrides], SINES.shape[1:])


def loss_of(model, x, mask=None, training=False, noise_calls=0):
    """The loss with the noise stream at ``noise_calls``, so that two calls draw the same z."""
    model.noise_calls.assign(noise_calls)
    return model.compute_terms(tf.constant(x), None if mask is None else tf.constant(mask), training)["loss"]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_few_steps_lower_the_loss_on_a_fixed_batch(family):
    batch = (tf.constant(SINES[:32]), tf.constant(SINES_MASK[:32])) if family.startswith("sines") else \
        tf.constant(DIGITS[:32])
    model = compiled(FAMILIES[family], batch[0].shape[1:] if isinstance(batch, tuple) else batch.shape[1:])
    before = float(model.test_step(batch)["loss"])
    step = tf.function(model.train_step)
    for _ in range(30):
        logs = step(batch)
    assert set(logs) == {"loss", "reconstruction", "kl"}
    model.reset_metrics()
    after = float(model.test_step(batch)["loss"])
    assert np.isfinite(after) and after < 0.8 * before


def test_masked_step_sum_ignores_padding_whatever_its_values():
    elements = tf.constant([[[1.0, 2.0], [3.0, 4.0], [np.inf, np.nan]]])
    mask = tf.constant([[1.0, 1.0, 0.0]])
    np.testing.assert_array_equal(losses.masked_step_sum(elements, mask), [10.0])
    np.testing.assert_array_equal(losses.masked_step_sum(elements[:, :2]), [10.0])


def test_padded_steps_do_not_change_the_loss_which_equals_that_of_the_unpadded_sequence():
    model = sines_model()
    lengths = SINES_MASK.sum(axis=1).astype(int)
    i = int(np.argmin(lengths))  # the most padding
    x, mask, n = SINES[i:i + 1], SINES_MASK[i:i + 1], lengths[i]
    assert n < x.shape[1]
    noisy = x.copy()
    noisy[0, n:] = np.random.default_rng(0).normal(0, 5, (x.shape[1] - n, 1))
    padded = float(loss_of(model, x, mask))
    np.testing.assert_allclose(float(loss_of(model, noisy, mask)), padded, rtol=1e-6)
    np.testing.assert_allclose(float(loss_of(model, x[:, :n])), padded, rtol=1e-5)
    assert abs(float(loss_of(model, noisy)) - padded) > 1.0  # without the mask the padding would count
    # a batch of different lengths: the mean of each sequence's own loss (same z draw per row)
    rows = [0, 1, 2]
    model.noise_calls.assign(0)
    eps = model.standard_normal((3, model.latent_dim))
    model.noise_calls.assign(0)
    batch = model.compute_terms(tf.constant(SINES[rows]), tf.constant(SINES_MASK[rows]), False)
    mean, log_var = model.encode(SINES[rows], SINES_MASK[rows])
    z = losses.reparameterize(mean, log_var, eps)
    singles = []
    for row, k in enumerate(rows):
        steps = SINES[k:k + 1, :lengths[k]]
        logits = model.teacher_forced_logits(tf.constant(steps), z[row:row + 1])
        singles.append(float(model.reconstruction_loss(tf.constant(steps), logits)[0]))
    np.testing.assert_allclose(float(batch["reconstruction"]), np.mean(singles), rtol=1e-5)


def test_gradient_with_respect_to_padded_steps_is_zero():
    model = sines_model("model.word_dropout=0.3", "model.z_every_step=true")
    x, mask = tf.constant(SINES[:8]), tf.constant(SINES_MASK[:8])
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = model.compute_terms(x, mask, training=True)["loss"]
    gradient = tape.gradient(loss, x).numpy()[..., 0]
    padded = SINES_MASK[:8] == 0
    assert padded.any() and np.all(gradient[padded] == 0.0)
    assert np.count_nonzero(gradient[~padded]) > 0.9 * np.count_nonzero(~padded)


def test_free_running_decoder_is_the_teacher_forced_one_fed_its_own_means():
    model = compiled(["data.source=digits", "model.z_every_step=true"], DIGITS.shape[1:])
    z = tf.constant(np.random.default_rng(1).standard_normal((4, 3)), tf.float32)
    images = model.decode(z)
    assert images.shape == (4, 8, 8, 1) and model.decode(z, 3).shape == (4, 3, 8, 1)
    replay = model.output_mean(model.teacher_forced_logits(model.to_steps(images), z))
    np.testing.assert_allclose(replay, model.to_steps(images), atol=1e-5)


def test_keras_file_round_trip_keeps_outputs_and_training_state(tmp_path):
    model = sines_model("model.cell=lstm", "model.word_dropout=0.2")
    batch = (tf.constant(SINES[:16]), tf.constant(SINES_MASK[:16]))
    for _ in range(2):
        model.train_step(batch)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded) is SequenceVAE and loaded.get_config() == model.get_config()
    for original, restored in zip(model.encode(*batch), loaded.encode(*batch)):
        np.testing.assert_allclose(original, restored, atol=1e-6)
    z = np.random.default_rng(2).standard_normal((3, 3)).astype(np.float32)
    np.testing.assert_allclose(model.decode(z, 7), loaded.decode(z, 7), atol=1e-6)
    model.reset_metrics()
    loaded.reset_metrics()
    np.testing.assert_allclose(model.train_step(batch)["loss"], loaded.train_step(batch)["loss"], rtol=1e-5)


# ---------------------------------------------------------------- the CLI, the run folder and the export

TINY = ["model.units=8", "model.latent_dim=3", "train.batch_size=16", "train.sample_count=4"]
CONFIGS = {"rows": ("configs/sequence_vae_mnist_rows.yaml", [*TINY, "data.validation_split=0.01"]),
           "sines": ("configs/sequence_vae_sines.yaml", TINY)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Both shipped configs trained for 1 epoch of 2 steps through the CLI, side by side."""
    root = tmp_path_factory.mktemp("sequence_runs")

    def train(name):
        config, overrides = CONFIGS[name]
        return run_module("vae_gan_tf.train", "--config", config, "--out", str(root / name), "--epochs", "1",
                          "--steps-per-epoch", "2", "--verbose", "0", *set_args(overrides))

    with ThreadPoolExecutor(2) as pool:
        results = dict(zip(CONFIGS, pool.map(train, CONFIGS)))
    for result in results.values():
        assert result.returncode == 0, result.stderr[-3000:]
    return {name: root / name for name in CONFIGS}


def test_cli_runs_write_the_usual_run_folder(runs):
    for name, run_dir in runs.items():
        for item in ("config.yaml", "history.csv", "train.log", "model.keras", "saved_model/saved_model.pb",
                     "reconstructions.png", "curves.png", "metrics.json", "samples/epoch_001.png",
                     "checkpoints/latest.weights.h5"):
            assert (run_dir / item).exists(), f"{name}: {item}"
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert metrics["model"] == "sequence_vae"
        assert set(metrics["final"]) >= {"loss", "reconstruction", "kl"}
        info = json.loads((run_dir / "saved_model/assets/vae_gan_tf.json").read_text())
        assert info["family"] == "SequenceVAE" and info["endpoints"] == ["decode", "encode", "sample"]
    assert json.loads((runs["rows"] / "saved_model/assets/vae_gan_tf.json").read_text())["length"] == 28
    assert json.loads((runs["sines"] / "saved_model/assets/vae_gan_tf.json").read_text())["length"] == 60


def test_saved_model_encodes_and_generates_the_asked_length_without_the_package(runs, tmp_path):
    rng = np.random.default_rng(0)
    for name, run_dir in runs.items():
        model = keras.models.load_model(run_dir / "model.keras")
        x = rng.random((3, 9, *model.image_shape[1:])).astype(np.float32)  # any step count
        z = rng.standard_normal((3, model.latent_dim)).astype(np.float32)
        calls = {"encode": ["encode", ["x"]]}
        for length in (5, 11):
            calls[f"decode_{length}"] = ["decode", ["z", f"length_{length}"]]
            calls[f"sample_{length}"] = ["sample", ["z1", f"length_{length}"]]
        out = call_saved_model(run_dir / "saved_model", {"x": x, "z": z, "z1": z[:1],
                                                          "length_5": np.int32(5), "length_11": np.int32(11)},
                               calls, tmp_path)
        mean, log_var = model.encode(x)
        np.testing.assert_allclose(out["encode_0"], mean, atol=1e-5)
        np.testing.assert_allclose(out["encode_1"], log_var, atol=1e-5)
        for length in (5, 11):
            decoded = out[f"decode_{length}"]
            assert decoded.shape == (3, length, *model.image_shape[1:]), name
            np.testing.assert_allclose(decoded, model.decode(z, length), atol=1e-5)
            assert out[f"sample_{length}"].shape == (1, length, *model.image_shape[1:]), name


def test_sample_command_draws_digits_as_images_and_sines_as_curves(runs, tmp_path, capsys):
    from vae_gan_tf.sample import main

    for name, run_dir in runs.items():
        assert main([str(run_dir), "--n", "4", "--out", str(tmp_path / f"{name}.png")]) == 0
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize("override, fragment", [
    ("model.word_dropout=1.0", "model.word_dropout must be in [0, 1)"),
    ("model.likelihood=bernoulli", "sines gives real-valued sequences: set model.likelihood=gaussian"),
])
def test_bad_config_value_is_one_line_and_exit_code_2(override, fragment):
    result = run_module("vae_gan_tf.train", "--config", "configs/sequence_vae_sines.yaml", "--set", override,
                        "--out", "/nonexistent/never-written")
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.stderr[-2000:]


def test_evaluate_refuses_a_run_on_sequences_with_one_line(runs):
    result = run_module("vae_gan_tf.evaluate", str(runs["sines"]))
    assert result.returncode == 2 and "models sequences (sines); evaluate measures images" in result.stderr
    assert "Traceback" not in result.stderr
