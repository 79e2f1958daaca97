"""GAN stabilizers: PacGAN packing, spectral normalization and the R1 penalty, against their formulas."""

import numpy as np
import pytest
import tensorflow as tf

from vae_gan_tf.config import load_config
from vae_gan_tf.errors import UserError
from vae_gan_tf.models import losses
from vae_gan_tf.nets.packing import pack_samples, packed_shape
from vae_gan_tf.nets.spectral_norm import SpectralNormalization

TOY_GAN = ["data.source=ring8", "data.validation_split=0.0", "model.name=gan", "model.latent_dim=2",
           "model.generator_units=[16]", "model.discriminator_units=[16]", "model.output_activation=linear",
           "train.batch_size=8"]


def test_packing_puts_consecutive_samples_side_by_side():
    points = np.arange(12, dtype=np.float32).reshape(6, 2)  # sample i = (2i, 2i + 1)
    packed = pack_samples(tf.constant(points), 3).numpy()
    np.testing.assert_array_equal(packed, [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]])
    images = np.random.default_rng(0).standard_normal((4, 3, 5, 2)).astype(np.float32)
    packed = pack_samples(tf.constant(images), 2).numpy()
    assert packed.shape == (2, 3, 5, 4) == (2, *packed_shape((3, 5, 2), 2))
    for i in range(2):
        for j in range(2):  # pack i, sample j: channels 2j .. 2j + 1
            np.testing.assert_array_equal(packed[i, :, :, 2 * j:2 * j + 2], images[2 * i + j])
    np.testing.assert_array_equal(pack_samples(tf.constant(images), 1).numpy(), images)
    assert packed_shape((3, 5, 2), 1) == (3, 5, 2)


def test_packed_discriminator_gives_one_logit_per_pack():
    from vae_gan_tf.models.catalog import build_model

    model = build_model(load_config(None, [*TOY_GAN, "model.pack=4"]), (2,))
    assert model.discriminator.input_shape == (None, 8)
    x = tf.constant(np.random.default_rng(1).standard_normal((8, 2)), tf.float32)
    logits = model.score(x, None, False).numpy()
    assert logits.shape == (2, 1)
    np.testing.assert_allclose(logits, model.discriminator(tf.reshape(x, (2, 8))).numpy(), rtol=1e-6)


def test_pack_that_does_not_divide_the_batch_is_one_clear_error():
    with pytest.raises(UserError, match=r"model.pack must be a positive divisor of train.batch_size=8, got 3"):
        load_config(None, [*TOY_GAN, "model.pack=3"])


@pytest.mark.parametrize("kind, input_shape", [("dense", (3, 7)), ("conv", (2, 6, 6, 3))])
def test_spectral_norm_estimates_the_largest_singular_value(kind, input_shape):
    import keras

    wrapped = SpectralNormalization(keras.layers.Dense(5) if kind == "dense" else keras.layers.Conv2D(4, 3))
    x = tf.constant(np.random.default_rng(2).standard_normal(input_shape), tf.float32)
    wrapped(x)
    kernel = wrapped.layer.kernel.numpy()
    matrix = kernel.reshape(-1, kernel.shape[-1])
    largest = np.linalg.svd(matrix, compute_uv=False)[0]
    for _ in range(30):
        wrapped.power_iteration()
    assert float(wrapped.sigma()) == pytest.approx(largest, rel=1e-3)
    normalized = matrix / float(wrapped.sigma())
    assert np.linalg.svd(normalized, compute_uv=False)[0] == pytest.approx(1.0, rel=1e-3)
    # The output is the wrapped layer's with the normalized kernel; the stored kernel itself is unchanged.
    reference = type(wrapped.layer).from_config(wrapped.layer.get_config())
    reference.build(x.shape)
    reference.set_weights([kernel / float(wrapped.sigma()), wrapped.layer.bias.numpy()])
    np.testing.assert_allclose(wrapped(x).numpy(), reference(x).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(wrapped.layer.kernel.numpy(), kernel)


def test_r1_penalty_equals_the_hand_value():
    real = tf.constant([[1.0, 2.0], [3.0, -1.0], [0.5, 0.0]])
    w = tf.constant([[2.0], [-3.0]])
    linear = lambda x: tf.matmul(x, w) + 1.0  # noqa: E731  ∇ₓ l = w for every x
    assert float(losses.r1_penalty(linear, real)) == pytest.approx(13.0, rel=1e-6)
    quadratic = lambda x: 0.5 * tf.reduce_sum(tf.square(x), axis=1)  # noqa: E731  ∇ₓ l = x
    assert float(losses.r1_penalty(quadratic, real)) == pytest.approx((5.0 + 10.0 + 0.25) / 3, rel=1e-6)


def test_spectral_norm_state_moves_in_training_and_survives_a_checkpoint(tmp_path):
    import keras

    from vae_gan_tf.data.pipeline import make_datasets
    from vae_gan_tf.models.catalog import build_model, compile_model

    config = load_config(None, [*TOY_GAN, "model.spectral_norm=true", "model.r1_weight=1.0", "model.pack=2",
                                "train.steps_per_epoch=3"])
    data = make_datasets(config)
    model = compile_model(build_model(config, data.image_shape), config)
    u_before = [layer.vector_u.numpy() for layer in model.spectral_layers]
    assert len(u_before) == 2  # the hidden Dense and the logit
    history = model.fit(data.train, epochs=1, steps_per_epoch=3, verbose=0, shuffle=False)
    assert history.history["r1_penalty"][0] > 0
    u_after = [layer.vector_u.numpy() for layer in model.spectral_layers]
    assert all(np.abs(a - b).max() > 1e-4 for a, b in zip(u_after, u_before))
    model.generate(tf.zeros((4, 2)))
    model.score(tf.zeros((4, 2)), None, False)  # inference leaves u alone
    np.testing.assert_array_equal(model.spectral_layers[0].vector_u.numpy(), u_after[0])

    model.save_weights(tmp_path / "backup.weights.h5")  # what --resume restores
    twin = compile_model(build_model(config, data.image_shape), config)
    twin.load_weights(tmp_path / "backup.weights.h5")
    model.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    for other in (twin, reloaded):
        for mine, theirs in zip(model.spectral_layers, other.spectral_layers):
            np.testing.assert_array_equal(theirs.vector_u.numpy(), mine.vector_u.numpy())
        x = tf.constant(np.random.default_rng(3).standard_normal((4, 2)), tf.float32)
        np.testing.assert_allclose(other.score(x, None, False).numpy(), model.score(x, None, False).numpy(),
                                   rtol=1e-6)


def test_two_dimensional_runs_warn_when_modes_stay_lost(tmp_path):
    from vae_gan_tf.data.toy2d import mixture
    from vae_gan_tf.training.callbacks import ModeCoverage, RunLog

    means, std = mixture("ring8")

    class Generator:  # all 8 modes for two epochs, then only the first two
        calls = 0

        def generate(self, z):
            Generator.calls += 1
            return means[np.arange(len(z)) % (8 if Generator.calls <= 2 else 2)]

    run_log = RunLog(tmp_path / "train.log")
    callback = ModeCoverage(tmp_path / "samples", np.zeros((16, 2), np.float32), means, std, run_log, patience=3)
    callback.set_model(Generator())
    for epoch in range(5):
        logs = {}
        callback.on_epoch_end(epoch, logs)
        assert logs["modes_captured"] == (8 if epoch < 2 else 2)
    callback.on_train_end()
    assert len(run_log.warnings) == 2, run_log.warnings
    assert run_log.warnings[0].startswith("epoch 5: 2/8 modes captured") and "all were at epoch 2" in run_log.warnings[0]
    assert run_log.warnings[1].startswith("mode collapse: the last 3 epochs captured 2, 2, 2 of 8 modes")
    assert "WARNING mode collapse" in (tmp_path / "train.log").read_text()


def test_packed_gan_exports_one_logit_per_pack(tmp_path):
    from vae_gan_tf.models.catalog import build_model
    from vae_gan_tf.runs.export import export_saved_model

    model = build_model(load_config(None, [*TOY_GAN, "model.pack=2", "model.spectral_norm=true"]), (2,))
    loaded = tf.saved_model.load(str(export_saved_model(model, tmp_path / "saved_model")))
    x = tf.constant(np.random.default_rng(4).standard_normal((6, 2)), tf.float32)
    logits = loaded.discriminate(x)
    logits = logits if isinstance(logits, tf.Tensor) else next(iter(logits.values()))
    # The exported graph rounds differently from the eager call: 1.4e-6 relative was seen on a logit of 0.04.
    np.testing.assert_allclose(logits.numpy(), model.score(x, None, False).numpy(), rtol=1e-5, atol=1e-6)
    assert logits.shape == (3, 1)


def test_r1_of_a_packed_discriminator_is_taken_on_its_packs():
    from vae_gan_tf.models.catalog import build_model, compile_model

    config = load_config(None, [*TOY_GAN, "model.pack=2", "model.r1_weight=1.0"])
    model = compile_model(build_model(config, (2,)), config)
    real = tf.constant(np.random.default_rng(5).standard_normal((8, 2)), tf.float32)
    packs = tf.reshape(real, (4, 4))
    with tf.GradientTape() as tape:
        tape.watch(packs)
        logits = model.discriminator(packs)
    by_hand = float(tf.reduce_mean(tf.reduce_sum(tf.square(tape.gradient(logits, packs)), axis=1)))
    assert float(model.discriminator_step(real, training=False)["r1_penalty"]) == pytest.approx(by_hand, rel=1e-5)
