"""Train each family for a few steps on 1 device and on 2 logical CPUs (MirroredStrategy) with the same
global batch and seeds; print one JSON line per family with the relative weight difference and the
final metrics of both, validation included. Run in its own process: the logical devices must be set
before TF starts. The two-replica run executes 3 steps per ``tf.function`` call (``steps_per_execution``,
the library's own loop under Mirrored, ``GenerativeModel._mirrored_multi_step``); its 5 validation
batches end in a partial execution.

The optimizers are plain SGD: the update is then proportional to the gradient, so a loss scaled wrongly for
the replica count shows up as a factor in the weights. Adam normalises the gradient's scale away (it would
hide such a bug) and turns float rounding in near-zero gradients into full-size steps, which made the
WGAN-GP metrics differ by 4e-3 on another CPU model in CI. XLA is off as in the configs' default: on the
CPU, Keras's ``jit_compile="auto"`` turns it on, and XLA's CPU kernels are not run-to-run deterministic even
with op determinism (a WGAN run differed in 5 of 11 repeats, measured)."""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from vae_gan_tf.training.strategy import configure_logical_cpus  # noqa: E402

configure_logical_cpus(2)
tf.config.experimental.enable_op_determinism()
# One inter-op thread: with more, the one-device WGAN-GP run gave different weights in about 1 process of 4
# (rel. diff ~1e-4, measured), an ordering race between graph ops that op determinism does not cover.
tf.config.threading.set_inter_op_parallelism_threads(1)

import keras  # noqa: E402

from vae_gan_tf.config import load_config  # noqa: E402
from vae_gan_tf.data.pipeline import make_datasets  # noqa: E402
from vae_gan_tf.models.catalog import build_model  # noqa: E402

MLP_GAN = ["data.scale=symmetric", "model.generator_units=[32]", "model.discriminator_units=[32]", "model.latent_dim=4"]
FAMILIES = {
    "vae": ["model.conv_filters=[8]", "model.latent_dim=4"],
    "gan": ["model.name=gan", *MLP_GAN, "model.d_steps=2", "model.ema_decay=0.9"],
    "wgan_gp": ["model.name=wgan", *MLP_GAN, "model.d_steps=2"],
    # The stabilizers: PacGAN packs within each replica's batch, spectral norm's u moves in cross-replica
    # context, R1 is part of D's per-replica mean loss.
    "gan_stabilized": ["model.name=gan", *MLP_GAN, "model.pack=2", "model.spectral_norm=true", "model.r1_weight=1.0"],
    "wgan_gp_stabilized": ["model.name=wgan", *MLP_GAN, "model.d_steps=2", "model.pack=2", "model.spectral_norm=true"],
    "vaegan": ["model.name=vaegan", "model.conv_filters=[8]", "model.discriminator_filters=[8]", "model.latent_dim=4"],
    "cvae": ["model.name=cvae", "model.conv_filters=[8]", "model.latent_dim=4"],
    "cgan": ["model.name=cgan", *MLP_GAN, "model.d_steps=2", "model.num_classes=10"],
    "sequence_vae": ["model.name=sequence_vae", "model.units=8", "model.latent_dim=4", "model.word_dropout=0.2"],
}


LEARNING_RATE = 0.01


def train(family, strategy, steps_per_execution):
    config = load_config(None, ["data.source=digits", "train.batch_size=32", "train.steps_per_epoch=6",
                                *FAMILIES[family]])
    keras.utils.set_random_seed(0)
    data = make_datasets(config, strategy.num_replicas_in_sync)
    with strategy.scope():
        model = build_model(config, data.image_shape)
        if family == "vaegan":
            model.compile(*[keras.optimizers.SGD(LEARNING_RATE) for _ in range(3)], jit_compile=False,
                          steps_per_execution=steps_per_execution)
        elif family in ("vae", "cvae", "sequence_vae"):
            model.compile(optimizer=keras.optimizers.SGD(LEARNING_RATE), jit_compile=False,
                          steps_per_execution=steps_per_execution)
        else:
            model.compile(d_optimizer=keras.optimizers.SGD(LEARNING_RATE),
                          g_optimizer=keras.optimizers.SGD(LEARNING_RATE), jit_compile=False,
                          steps_per_execution=steps_per_execution)
    start = flat_weights(model)
    history = model.fit(data.train, epochs=2, steps_per_epoch=data.steps_per_epoch, validation_data=data.validation,
                        verbose=0, shuffle=False)
    weights = flat_weights(model)
    change = float(np.linalg.norm(weights - start) / np.linalg.norm(start))
    return weights, change, {k: v[-1] for k, v in history.history.items()}


def flat_weights(model):
    return np.concatenate([w.numpy().ravel() for w in model.weights if w.dtype != "int64"])


mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
for family in sys.argv[1:] or FAMILIES:
    one, change, one_logs = train(family, tf.distribute.get_strategy(), 1)
    two, _, two_logs = train(family, mirrored, 3)
    print(json.dumps({"family": family, "replicas": mirrored.num_replicas_in_sync, "weight_change": change,
                      "weight_rel_diff": float(np.linalg.norm(one - two) / np.linalg.norm(one)),
                      "one_device": one_logs, "two_replicas": two_logs}), flush=True)
