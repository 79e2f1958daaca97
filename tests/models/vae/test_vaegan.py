"""VAE/GAN (Larsen et al. 2016): Algorithm 1's routing of the three losses, training on a fixed batch,
three optimizers saved and restored, the CLI run folder, and the SavedModel's endpoints."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import call_saved_model, run_module, set_args

from vae_gan_tf.config import load_config
from vae_gan_tf.data.sources import load_source
from vae_gan_tf.models.catalog import build_model, compile_model

TINY_VAEGAN = ["data.source=digits", "model.name=vaegan", "model.conv_filters=[8, 16]",
               "model.discriminator_filters=[8, 16]", "model.latent_dim=4", "train.batch_size=32",
               "train.sample_count=16"]
BATCH = load_source("digits").images[:32]


def tiny_model(*overrides):
    config = load_config(None, [*TINY_VAEGAN, *overrides])
    keras.utils.set_random_seed(0)
    return compile_model(build_model(config, BATCH.shape[1:]), config)


def weights(network):
    return [w.numpy().copy() for w in network.weights]


def test_the_update_rule_routes_each_loss_to_its_network():
    """Algorithm 1: γ appears only in the decoder's loss, so one step with γ = 1 and with γ = 100 from the
    same start moves the encoder and the discriminator identically and the decoder differently."""
    after = {}
    for gamma in (1.0, 100.0):
        model = tiny_model(f"model.gamma={gamma}")
        model.train_step(tf.constant(BATCH))
        after[gamma] = {name: weights(getattr(model, name))
                        for name in ("encoder", "decoder", "discriminator")}
    for name in ("encoder", "discriminator"):
        for a, b in zip(after[1.0][name], after[100.0][name]):
            np.testing.assert_array_equal(a, b, err_msg=name)
    assert any(not np.array_equal(a, b) for a, b in zip(after[1.0]["decoder"], after[100.0]["decoder"]))


def losses_after(model, steps):
    """Each metric at the first and at the last of ``steps`` train steps on one fixed batch."""
    x, step = tf.constant(BATCH), tf.function(model.train_step)
    seen = []
    for _ in range(steps):
        for tracker in model.metrics:
            tracker.reset_state()
        seen.append({k: float(v) for k, v in step(x).items()})
    return seen[0], seen[-1]


def test_a_few_steps_on_a_fixed_batch_lower_each_networks_loss():
    """The discriminator's loss falls while it trains; with the discriminator held still (so that Dis_l is a
    fixed metric), the encoder and decoder lower the feature reconstruction, and the pixels follow."""
    first, last = losses_after(tiny_model(), 40)
    assert last["d_loss"] < 0.5 * first["d_loss"], (first, last)
    held = tiny_model("model.discriminator_learning_rate=1e-12", "model.encoder_learning_rate=1e-3",
                      "model.decoder_learning_rate=1e-3")
    first, last = losses_after(held, 40)
    assert last["feature_reconstruction"] < 0.95 * first["feature_reconstruction"], (first, last)
    assert last["pixel_reconstruction"] < first["pixel_reconstruction"], (first, last)


def test_all_three_optimizers_are_saved_and_restored(tmp_path):
    model = tiny_model()
    model.fit(tf.data.Dataset.from_tensors(BATCH).repeat(3), epochs=1, verbose=0, shuffle=False)
    model.save(tmp_path / "m.keras")
    reloaded = keras.models.load_model(tmp_path / "m.keras")
    for name in ("encoder_optimizer", "decoder_optimizer", "discriminator_optimizer"):
        saved, restored = getattr(model, name), getattr(reloaded, name)
        assert int(restored.iterations.numpy()) == 3, name
        for a, b in zip(saved.variables, restored.variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)


@pytest.fixture(scope="module")
def vaegan_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "vaegan"
    result = run_module("vae_gan_tf.train", "--out", str(run_dir), "--epochs", "2", "--steps-per-epoch", "3",
                        *set_args(TINY_VAEGAN))
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def test_cli_writes_the_run_folder_with_a_metric_per_term(vaegan_run):
    for name in ("model.keras", "saved_model/saved_model.pb", "reconstructions.png", "samples/epoch_002.png",
                 "checkpoints/latest.weights.h5", "metrics.json"):
        assert (vaegan_run / name).exists(), name
    header = (vaegan_run / "history.csv").read_text().splitlines()[0].split(",")
    for term in ("kl", "feature_reconstruction", "decoder_adversarial", "d_loss", "pixel_reconstruction"):
        assert term in header, term


def test_saved_model_has_the_five_endpoints_without_the_package(vaegan_run, tmp_path):
    model = keras.models.load_model(vaegan_run / "model.keras")
    rng = np.random.default_rng(0)
    x = BATCH[:3]
    z = rng.standard_normal((3, model.latent_dim)).astype(np.float32)
    out = call_saved_model(vaegan_run / "saved_model", {"x": x, "z": z},
                           {"encode": ["encode", ["x"]], "decode": ["decode", ["z"]],
                            "sample": ["sample", ["z"]], "reconstruct": ["reconstruct", ["x"]],
                            "discriminate": ["discriminate", ["x"]]},
                           tmp_path)
    mean, _ = model.encode(x)
    np.testing.assert_allclose(out["encode_0"], mean, atol=1e-5)
    np.testing.assert_allclose(out["decode"], model.decode(z), atol=1e-5)
    np.testing.assert_allclose(out["sample"], model.decode(z), atol=1e-5)
    np.testing.assert_allclose(out["reconstruct"], model.decode(mean), atol=1e-5)
    np.testing.assert_allclose(out["discriminate"], model.discriminate(x)[0], atol=1e-5)
