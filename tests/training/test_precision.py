"""Mixed precision, XLA and steps_per_execution: each family trains with finite losses, float16 gets
loss scaling on every optimizer, jit on and off agree."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from vae_gan_tf.config import load_config
from vae_gan_tf.models.catalog import build_model, compile_model
from vae_gan_tf.training.fit import train_run

FAMILIES = {
    "vae": ["model.conv_filters=[8]", "model.latent_dim=4"],
    "dcgan": ["model.name=gan", "data.scale=symmetric", "model.architecture=dcgan", "model.generator_filters=[16, 8]",
              "model.discriminator_filters=[8, 16]", "model.latent_dim=8",
              "model.pack=2", "model.spectral_norm=true", "model.r1_weight=1.0"],  # the stabilizers' dtypes too
    "wgan_gp": ["model.name=wgan", "data.scale=symmetric", "model.generator_units=[32]",
                "model.discriminator_units=[32]", "model.latent_dim=4", "model.d_steps=2"],
    "vaegan": ["model.name=vaegan", "model.conv_filters=[8]", "model.discriminator_filters=[8]", "model.latent_dim=4"],
    "cvae": ["model.name=cvae", "model.conv_filters=[8]", "model.latent_dim=4", "model.attention_resolution=4"],
    "cgan": ["model.name=cgan", "data.scale=symmetric", "model.architecture=dcgan", "model.generator_filters=[16, 8]",
             "model.discriminator_filters=[8, 16]", "model.latent_dim=8", "model.attention_resolution=4"],
    "sequence_vae": ["model.name=sequence_vae", "model.units=8", "model.latent_dim=4", "model.word_dropout=0.2"],
}
TINY = ["data.source=digits", "train.batch_size=32", "train.epochs=1", "train.steps_per_epoch=4"]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_mixed_bfloat16_trains_each_family_with_finite_losses(family, tmp_path):
    config = load_config(None, [*TINY, *FAMILIES[family], "train.mixed_precision=mixed_bfloat16",
                                "train.steps_per_execution=2"])
    metrics = train_run(config, tmp_path / "run", verbose=0)
    assert metrics["final"] and all(np.isfinite(v) for v in metrics["final"].values())
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after the run
    assert metrics["dtype_policy"] == "mixed_bfloat16"


def test_mixed_float16_without_a_gpu_warns_and_trains_in_float32(tmp_path):
    config = load_config(None, [*TINY, *FAMILIES["vae"], "train.mixed_precision=mixed_float16"])
    metrics = train_run(config, tmp_path / "run", verbose=0)
    if tf.config.list_physical_devices("GPU"):
        assert metrics["warnings"] == []
    else:
        assert any("needs a GPU; training in float32" in w for w in metrics["warnings"])
        assert "WARNING train.mixed_precision" in (tmp_path / "run" / "train.log").read_text()


def test_float16_policy_gives_both_gan_optimizers_loss_scaling():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        config = load_config(None, ["data.source=digits", *FAMILIES["wgan_gp"]])
        model = compile_model(build_model(config, (8, 8, 1)), config)
        for optimizer in (model.d_optimizer, model.g_optimizer):
            assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        assert model.generator.layers[-1].dtype_policy.name == "float32"  # outputs in float32
        digits = np.random.default_rng(0).uniform(-1, 1, (64, 8, 8, 1)).astype("float32")
        logs = model.train_step(tf.constant(digits))
        assert all(np.isfinite(float(v)) for v in logs.values())
        model.compile(d_optimizer=model.d_optimizer, g_optimizer=model.g_optimizer)  # as a reload does
        assert not isinstance(model.d_optimizer.inner_optimizer, keras.optimizers.LossScaleOptimizer)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_jit_on_and_off_agree(tmp_path):
    results = []
    for jit in (False, True):
        config = load_config(None, [*TINY, *FAMILIES["vae"], f"train.jit_compile={str(jit).lower()}"])
        results.append(train_run(config, tmp_path / f"jit_{jit}", verbose=0)["final"])
    for name, value in results[0].items():
        assert results[1][name] == pytest.approx(value, rel=5e-3, abs=1e-3), name  # XLA fuses and reorders
