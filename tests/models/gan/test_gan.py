"""The GAN family: losses against hand-computed values, the gradient penalty, one-step improvements,
both optimizers through save/load and resume, mode coverage, export without the package."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import ROOT

from vae_gan_tf.config import load_config
from vae_gan_tf.data.sources import load_source
from vae_gan_tf.data.toy2d import grid25_means, mixture, ring8_means, sample_mixture
from vae_gan_tf.evaluation.metrics.modes import mode_coverage
from vae_gan_tf.models import losses
from vae_gan_tf.models.catalog import build_model, compile_model
from vae_gan_tf.training.callbacks import DiscriminatorCollapseWarning, RunLog

DIGITS = load_source("digits").images[:256] * 2.0 - 1.0


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


# ---------------------------------------------------------------- losses


def test_minimax_discriminator_loss_by_hand():
    real, fake = np.array([2.0, -0.5], np.float32), np.array([-1.0, 0.3], np.float32)
    expected = -np.mean(np.log(sigmoid(real))) - np.mean(np.log(1.0 - sigmoid(fake)))
    assert float(losses.minimax_discriminator_loss(real, fake)) == pytest.approx(expected, rel=1e-6)
    assert float(losses.minimax_discriminator_loss(np.zeros(3), np.zeros(3))) == pytest.approx(2 * np.log(2), rel=1e-6)


def test_one_sided_label_smoothing_by_hand():
    real, fake = np.array([1.5], np.float32), np.array([-2.0], np.float32)
    expected = -(0.9 * np.log(sigmoid(1.5)) + 0.1 * np.log(1 - sigmoid(1.5))) - np.log(1 - sigmoid(-2.0))
    assert float(losses.minimax_discriminator_loss(real, fake, 0.1)) == pytest.approx(expected, rel=1e-6)


def test_generator_losses_by_hand():
    fake = np.array([-1.0, 0.5, 2.0], np.float32)
    assert float(losses.minimax_generator_loss(fake)) == pytest.approx(np.mean(np.log(1 - sigmoid(fake))), rel=1e-6)
    assert float(losses.nonsaturating_generator_loss(fake)) == pytest.approx(-np.mean(np.log(sigmoid(fake))), rel=1e-6)


def test_other_losses_by_hand():
    real, fake = np.array([0.5, 2.0], np.float32), np.array([-0.5, 1.5], np.float32)
    assert float(losses.least_squares_discriminator_loss(real, fake)) == pytest.approx(
        0.5 * np.mean((real - 1) ** 2) + 0.5 * np.mean(fake**2))
    assert float(losses.least_squares_generator_loss(fake)) == pytest.approx(0.5 * np.mean((fake - 1) ** 2))
    assert float(losses.hinge_discriminator_loss(real, fake)) == pytest.approx(
        np.mean(np.maximum(0, 1 - real)) + np.mean(np.maximum(0, 1 + fake)))
    assert float(losses.hinge_generator_loss(fake)) == pytest.approx(-np.mean(fake))
    assert float(losses.wasserstein_critic_loss(real, fake)) == pytest.approx(np.mean(fake) - np.mean(real))
    assert float(losses.wasserstein_generator_loss(fake)) == pytest.approx(-np.mean(fake))


@pytest.mark.parametrize("fn, args, expected", [
    (losses.minimax_discriminator_loss, ([1e4], [-1e4]), 0.0),
    (losses.minimax_discriminator_loss, ([-1e4], [1e4]), 2e4),
    (losses.minimax_generator_loss, ([-1e4],), 0.0),
    (losses.minimax_generator_loss, ([1e4],), -1e4),
    (losses.nonsaturating_generator_loss, ([-1e4],), 1e4),
    (losses.nonsaturating_generator_loss, ([1e4],), 0.0),
])
def test_extreme_logits_give_finite_values_and_gradients(fn, args, expected):
    tensors = [tf.Variable(np.array(a, np.float32)) for a in args]
    with tf.GradientTape() as tape:
        value = fn(*tensors)
    gradients = tape.gradient(value, tensors)
    assert float(value) == pytest.approx(expected, abs=1e-3)
    assert all(np.all(np.isfinite(g.numpy())) for g in gradients)


def test_saturation_is_why_the_nonsaturating_loss_exists():
    fake = tf.Variable([-8.0])  # D confidently rejects the fake
    with tf.GradientTape(persistent=True) as tape:
        saturating, nonsaturating = losses.minimax_generator_loss(fake), losses.nonsaturating_generator_loss(fake)
    assert abs(float(tape.gradient(saturating, fake)[0])) < 1e-3
    assert abs(float(tape.gradient(nonsaturating, fake)[0])) > 0.99


@pytest.mark.parametrize("norm", [1.0, 3.0, 0.5])
def test_gradient_penalty_on_a_critic_with_known_gradient_norm(norm):
    critic = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                               keras.layers.Dense(1, use_bias=False)])
    w = np.random.default_rng(0).normal(size=(16, 1))
    critic.layers[-1].set_weights([(w / np.linalg.norm(w) * norm).astype(np.float32)])  # ∇f = w everywhere
    real = tf.random.normal((8, 4, 4, 1))
    fake = tf.random.normal((8, 4, 4, 1))
    penalty = float(losses.gradient_penalty(critic, real, fake, epsilon=tf.fill((8, 1, 1, 1), 0.3)))
    assert penalty == pytest.approx((norm - 1.0) ** 2, abs=1e-5)


# ---------------------------------------------------------------- models

GAN_CONFIGS = {
    "gan_mlp": ["model.name=gan", "model.generator_units=[32]", "model.discriminator_units=[32]"],
    "gan_minimax_dcgan": ["model.name=gan", "model.loss=minimax", "model.architecture=dcgan",
                          "model.generator_filters=[16, 8]", "model.discriminator_filters=[8, 16]"],
    "gan_infogan": ["model.name=gan", "model.architecture=infogan"],
    "wgan_gp": ["model.name=wgan", "model.generator_units=[32]", "model.discriminator_units=[32]", "model.d_steps=1"],
    "wgan_clip": ["model.name=wgan", "model.constraint=weight_clipping", "model.optimizer=rmsprop",
                  "model.generator_units=[32]", "model.discriminator_units=[32]", "model.d_steps=1"],
}


def compiled_gan(overrides, lr=1e-4):
    keras.utils.set_random_seed(0)
    config = load_config(None, ["data.source=digits", "data.scale=symmetric", "model.latent_dim=8",
                                f"model.d_learning_rate={lr}", f"model.g_learning_rate={lr}", *overrides])
    return compile_model(build_model(config, DIGITS.shape[1:]), config)


@pytest.mark.parametrize("name", sorted(GAN_CONFIGS))
def test_one_d_step_lowers_the_d_loss_and_one_g_step_lowers_the_g_loss(name):
    model = compiled_gan(GAN_CONFIGS[name])
    real = tf.constant(DIGITS[:32])
    z = tf.random.stateless_normal((32, 8), seed=(1, 2))
    # BatchNorm after every hidden layer (infogan): the untrained moving statistics (mean 0, variance 1) of
    # inference mode say nothing about a step taken on batch statistics, so measure on batch statistics too
    mode = name == "gan_infogan"

    def d_loss():
        fake = model.generator(z, training=mode)
        real_out, fake_out = model.discriminator(real, training=mode), model.discriminator(fake, training=mode)
        if name.startswith("wgan"):
            return float(losses.wasserstein_critic_loss(real_out, fake_out))
        return float(losses.minimax_discriminator_loss(real_out, fake_out))

    def g_loss():
        return float(model.generator_loss(model.discriminator(model.generator(z, training=mode), training=mode)))

    before = d_loss()
    with tf.GradientTape() as tape:  # one D step on this batch and this noise
        fake = model.generator(z, training=True)
        terms = model.discriminator_terms(real, fake, model.discriminator(real, training=True),
                                          model.discriminator(fake, training=True))
    variables = model.discriminator.trainable_variables
    model.d_optimizer.apply_gradients(zip(tape.gradient(terms["d_loss"], variables), variables))
    model.after_discriminator_update()
    assert d_loss() < before
    before = g_loss()
    with tf.GradientTape() as tape:
        loss = model.generator_loss(model.discriminator(model.generator(z, training=True), training=True))
    variables = model.generator.trainable_variables
    model.g_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    assert g_loss() < before
    discriminator_before = [w.numpy() for w in model.discriminator.trainable_weights]
    model.generator_step(32)  # the model's own G step leaves D's weights alone
    for old, new in zip(discriminator_before, model.discriminator.trainable_weights):
        np.testing.assert_array_equal(old, new.numpy())


@pytest.mark.parametrize("name", sorted(GAN_CONFIGS))
def test_train_step_reports_the_family_metrics(name):
    model = compiled_gan(GAN_CONFIGS[name])
    logs = model.train_step(tf.constant(DIGITS[:32 * model.model_config.d_steps]))
    expected = {"d_loss", "g_loss", "d_real", "d_fake", "d_accuracy"} if name.startswith("gan") else \
        {"d_loss", "g_loss", "wasserstein_estimate"} | ({"gradient_penalty"} if name == "wgan_gp" else set())
    assert set(logs) == expected and all(np.isfinite(float(v)) for v in logs.values())
    assert int(model.d_optimizer.iterations) == model.model_config.d_steps and int(model.g_optimizer.iterations) == 1


def test_each_player_gets_its_own_learning_rate_and_betas():
    """Two time-scale updates (Heusel et al. 2017) are a matter of config."""
    model = compiled_gan(["model.name=gan", "model.d_learning_rate=4e-4", "model.g_learning_rate=1e-4",
                          "model.d_beta_1=0.0", "model.g_beta_2=0.9"])
    assert float(model.d_optimizer.learning_rate) == pytest.approx(4e-4)
    assert float(model.g_optimizer.learning_rate) == pytest.approx(1e-4)
    assert (model.d_optimizer.beta_1, model.g_optimizer.beta_2) == (0.0, 0.9)


def test_weight_clipping_keeps_the_critic_in_the_box():
    model = compiled_gan(GAN_CONFIGS["wgan_clip"], lr=0.5)
    model.train_step(tf.constant(DIGITS[:32]))
    assert max(float(tf.reduce_max(tf.abs(v))) for v in model.discriminator.trainable_variables) <= 0.01 + 1e-7


def test_d_steps_each_take_their_own_real_batch():
    model = compiled_gan(["model.name=wgan", "model.generator_units=[16]", "model.discriminator_units=[16]"])
    assert model.model_config.d_steps == 5
    model.train_step(tf.constant(DIGITS[:5 * 16]))
    assert int(model.d_optimizer.iterations) == 5 and int(model.g_optimizer.iterations) == 1


@pytest.mark.parametrize("name", ["gan_mlp", "wgan_gp"])
def test_both_optimizers_survive_keras_save_and_load(tmp_path, name):
    model = compiled_gan(GAN_CONFIGS[name])
    for _ in range(3):
        model.train_step(tf.constant(DIGITS[:32]))
    model.save(tmp_path / "gan.keras")
    loaded = keras.models.load_model(tmp_path / "gan.keras")
    for attr in ("d_optimizer", "g_optimizer"):
        original, restored = getattr(model, attr), getattr(loaded, attr)
        assert int(restored.iterations) == int(original.iterations) == 3
        assert len(restored.variables) == len(original.variables) > 1
        for a, b in zip(original.variables, restored.variables):  # iterations, lr, Adam moments
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(loaded.noise_calls) == int(model.noise_calls)


def test_both_optimizers_survive_backup_and_restore(tmp_path):
    data = tf.data.Dataset.from_tensor_slices(DIGITS).batch(32, drop_remainder=True)
    model = compiled_gan(GAN_CONFIGS["gan_mlp"])

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        model.fit(data, epochs=4, verbose=0, shuffle=False,
                  callbacks=[keras.callbacks.BackupAndRestore(str(tmp_path)), Interrupt()])
    saved = {attr: [v.numpy() for v in getattr(model, attr).variables] for attr in ("d_optimizer", "g_optimizer")}
    fresh = compiled_gan(GAN_CONFIGS["gan_mlp"])
    seen = {}

    class Record(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):  # after BackupAndRestore has loaded its checkpoint
            seen.update({attr: [v.numpy() for v in getattr(self.model, attr).variables] for attr in saved})

    fresh.fit(data, epochs=3, verbose=0, shuffle=False,
              callbacks=[keras.callbacks.BackupAndRestore(str(tmp_path)), Record()])
    for attr, variables in saved.items():
        assert int(variables[0]) == 16  # 2 epochs x 8 steps
        for a, b in zip(variables, seen[attr]):
            np.testing.assert_array_equal(a, b)
    assert int(fresh.g_optimizer.iterations) == 24


def test_resumed_run_ends_with_the_weights_of_the_uninterrupted_run(tmp_path):
    script = textwrap.dedent("""
        import sys
        import numpy as np, tensorflow as tf, keras
        tf.config.experimental.enable_op_determinism()
        tf.config.threading.set_intra_op_parallelism_threads(1)  # no thread-count-dependent reductions
        tf.config.threading.set_inter_op_parallelism_threads(1)
        from vae_gan_tf.config import load_config
        from vae_gan_tf.training.fit import train_run
        out = sys.argv[1]
        base = ["data.source=digits", "data.scale=symmetric", "model.name=wgan", "model.generator_units=[32]",
                "model.discriminator_units=[32]", "model.latent_dim=4", "train.batch_size=32",
                "train.steps_per_epoch=4", "model.d_steps=2"]
        train_run(load_config(None, base + ["train.epochs=3"]), f"{out}/straight", verbose=0)
        train_run(load_config(None, base + ["train.epochs=2"]), f"{out}/resumed", verbose=0)
        train_run(load_config(None, base + ["train.epochs=3"]), f"{out}/resumed", resume=True, verbose=0)
        a = keras.models.load_model(f"{out}/straight/model.keras")
        b = keras.models.load_model(f"{out}/resumed/model.keras")
        same = lambda xs, ys: all(np.array_equal(x, y) for x, y in zip(xs, ys))
        print(same(a.get_weights(), b.get_weights()), same(a.d_optimizer.variables, b.d_optimizer.variables),
              same(a.g_optimizer.variables, b.g_optimizer.variables), int(b.g_optimizer.iterations))
    """)
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "0", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, capture_output=True,
                            text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-4:] == ["True", "True", "True", "12"]


def test_moving_average_generator_is_used_for_sampling():
    model = compiled_gan([*GAN_CONFIGS["gan_mlp"], "model.ema_decay=0.5"], lr=1e-2)
    z = tf.random.normal((4, 8))
    for _ in range(3):
        model.train_step(tf.constant(DIGITS[:32]))
    np.testing.assert_allclose(model.generate(z), model.ema_generator(z, training=False))
    assert not np.allclose(model.generate(z), model.generator(z, training=False))


def test_moving_average_is_bias_corrected_over_the_trained_weights():
    """θ_ema,t = Σ d^(t−i)·θ_i / Σ d^(t−i) over updates i = 1..t: the untrained G has no share."""
    model = compiled_gan([*GAN_CONFIGS["gan_mlp"], "model.ema_decay=0.5"], lr=1e-2)
    trajectory = []
    for _ in range(3):
        model.train_step(tf.constant(DIGITS[:32]))
        trajectory.append([np.asarray(w) for w in model.generator.weights])
    shares = np.array([0.25, 0.5, 1.0]) / 1.75
    for k, average in enumerate(model.ema_generator.weights):
        expected = sum(share * weights[k] for share, weights in zip(shares, trajectory))
        np.testing.assert_allclose(np.asarray(average), expected, rtol=1e-5, atol=1e-6)
    assert float(model.ema_updates) == 3.0


def test_collapse_warning_goes_to_the_run_log(tmp_path):
    run_log = RunLog(tmp_path / "train.log")
    callback = DiscriminatorCollapseWarning(run_log)
    callback.on_epoch_end(0, {"d_accuracy": 0.97})
    assert run_log.warnings == []
    callback.on_epoch_end(4, {"d_accuracy": 1.0})
    assert len(run_log.warnings) == 1 and "epoch 5" in run_log.warnings[0]
    assert "WARNING epoch 5" in (tmp_path / "train.log").read_text()


# ---------------------------------------------------------------- toy data and mode coverage


def test_toy_mixtures_have_the_published_layout():
    ring = ring8_means()
    assert ring.shape == (8, 2) and np.allclose(np.linalg.norm(ring, axis=1), 1.0)
    assert len({tuple(np.round(m, 6)) for m in ring}) == 8  # no duplicated mode
    grid = grid25_means()
    assert grid.shape == (25, 2) and sorted(set(grid[:, 0])) == [-4, -2, 0, 2, 4]
    points, labels = sample_mixture("ring8", 4000)
    assert points.shape == (4000, 2) and set(labels) == set(range(8))
    assert mixture("grid25")[1] == 0.05 and mixture("ring8")[1] == 0.01


def test_mode_coverage_on_exact_modes_and_on_one_mode():
    means, std = mixture("grid25")
    assert mode_coverage(np.repeat(means, 100, axis=0), means, std) == (25, 1.0)
    points, _ = sample_mixture("grid25", 2500)
    captured, high_quality = mode_coverage(points, means, std)
    assert captured == 25 and high_quality > 0.98  # 3 std in 2-D holds 98.9%
    one_mode = means[7] + 0.01 * np.random.default_rng(0).standard_normal((2500, 2))
    assert mode_coverage(one_mode, means, std) == (1, 1.0)
    far = np.full((10, 2), 100.0)
    assert mode_coverage(far, means, std) == (0, 0.0)


# ---------------------------------------------------------------- the CLI and export

GAN_CHILD = textwrap.dedent("""
    import importlib.abc, json, sys
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "vae_gan_tf":
                raise ImportError("vae_gan_tf must not be imported here")
    sys.meta_path.insert(0, Block())
    import numpy as np, tensorflow as tf
    m = tf.saved_model.load(sys.argv[1])
    data = np.load(sys.argv[2])
    out = {}
    for n in (1, 3, 7):
        out[f"sample_{n}"] = m.sample(tf.constant(data["z"][:n])).numpy()
        out[f"discriminate_{n}"] = m.discriminate(tf.constant(data["x"][:n])).numpy()
    out["generate"] = m.generate(tf.constant(6)).numpy()
    sig = {"sample": m.signatures["sample"](z=tf.constant(data["z"])),
           "discriminate": m.signatures["discriminate"](x=tf.constant(data["x"]))}
    out.update({f"sig_{name}_{key}": v.numpy() for name, outs in sig.items() for key, v in outs.items()})
    np.savez(sys.argv[3], **out)
""")


def test_gan_run_folder_export_and_sampling(tiny_gan_run, tmp_path):
    from conftest import run_module

    run = tiny_gan_run
    for name in ("config.yaml", "checkpoints/latest.weights.h5", "model.keras", "saved_model/saved_model.pb",
                 "history.csv", "metrics.json", "samples/epoch_002.png", "curves.png", "train.log", "logs/train"):
        assert (run / name).exists(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(metrics["final"]) and "warnings" in metrics

    model = keras.models.load_model(run / "model.keras")
    rng = np.random.default_rng(0)
    z = rng.standard_normal((7, 8)).astype(np.float32)
    x = rng.uniform(-1, 1, (7, 8, 8, 1)).astype(np.float32)
    np.savez(tmp_path / "in.npz", z=z, x=x)
    (tmp_path / "child.py").write_text(GAN_CHILD)
    child = subprocess.run([sys.executable, str(tmp_path / "child.py"), str(run / "saved_model"),
                            str(tmp_path / "in.npz"), str(tmp_path / "out.npz")], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr[-3000:]
    out = np.load(tmp_path / "out.npz")
    for n in (1, 3, 7):
        np.testing.assert_allclose(out[f"sample_{n}"], model.generate(z[:n]), atol=1e-5)
        np.testing.assert_allclose(out[f"discriminate_{n}"], model.discriminator(x[:n], training=False), atol=1e-5)
    assert out["generate"].shape == (6, 8, 8, 1) and np.abs(out["generate"]).max() <= 1.0
    assert sorted(k for k in out if k.startswith("sig_")) == ["sig_discriminate_logits", "sig_sample_images"]
    np.testing.assert_allclose(out["sig_sample_images"], model.generate(z), atol=1e-5)  # named outputs
    np.testing.assert_allclose(out["sig_discriminate_logits"], out["discriminate_7"], atol=1e-5)

    grid = tmp_path / "grid.png"
    result = run_module("vae_gan_tf.sample", str(run), "--n", "9", "--out", str(grid))
    assert result.returncode == 0 and grid.stat().st_size > 0, result.stderr[-2000:]


def test_toy_run_logs_mode_coverage_every_epoch(tmp_path):
    from conftest import run_module

    run = tmp_path / "ring"
    result = run_module("vae_gan_tf.train", "--config", "configs/gan_ring8.yaml", "--out", str(run), "--epochs", "2",
                        "--steps-per-epoch", "3", "--set", "train.steps_per_execution=1", "--set", "model.generator_units=[16]",
                        "--set", "model.discriminator_units=[16]")
    assert result.returncode == 0, result.stderr[-3000:]
    header = (run / "history.csv").read_text().splitlines()[0].split(",")
    assert {"modes_captured", "high_quality_fraction"} <= set(header)
    assert (run / "samples" / "epoch_002.png").exists()
    final = json.loads((run / "metrics.json").read_text())["final"]
    assert 0 <= final["modes_captured"] <= 8 and not any(k.startswith("val_") for k in final)


@pytest.mark.parametrize("shape, filters", [((28, 28, 1), [128, 64]), ((32, 32, 3), [256, 128, 64])])
def test_dcgan_shapes_for_mnist_and_cifar(shape, filters):
    config = load_config(None, ["data.source=digits", "data.scale=symmetric", "model.name=gan",
                                "model.architecture=dcgan", f"model.generator_filters={filters}",
                                f"model.discriminator_filters={filters[::-1]}", "model.latent_dim=16"])
    model = build_model(config, shape)
    fake = model.generator(tf.random.normal((2, 16)), training=False)
    assert tuple(fake.shape) == (2, *shape) and float(tf.reduce_max(tf.abs(fake))) <= 1.0
    assert tuple(model.discriminator(fake).shape) == (2, 1)
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.generator.layers)
