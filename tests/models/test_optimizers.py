"""FusedAdam (vae_gan_tf/optimizers.py) takes Keras's Adam steps, with and without XLA and under
MirroredStrategy, keeps Adam's variables, and reloads from model.keras."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import ROOT

from vae_gan_tf.models.optimizers import FusedAdam


def dense_model(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="tanh"),
                             keras.layers.Dense(3)])


def train(model, optimizer, steps, jit=False):
    """``steps`` updates on fixed data; returns the weights after each step."""
    x = tf.random.stateless_normal((16, 6), seed=(1, 2))
    y = tf.random.stateless_normal((16, 3), seed=(3, 4))
    optimizer.build(model.trainable_variables)

    @tf.function(jit_compile=jit)
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))

    history = []
    for _ in range(steps):
        step()
        history.append(np.concatenate([w.numpy().ravel() for w in model.trainable_variables]))
    return history


@pytest.mark.parametrize("jit", [False, True], ids=["graph", "xla"])
def test_fused_adam_takes_keras_adams_steps(jit):
    start = np.concatenate([w.numpy().ravel() for w in dense_model().trainable_variables])
    options = {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9}
    adam, fused = keras.optimizers.Adam(**options), FusedAdam(**options)
    expected, got = train(dense_model(), adam, 5, jit), train(dense_model(), fused, 5, jit)
    for step, (a, b) in enumerate(zip(expected, got), start=1):
        # the same update up to float rounding; a wrong bias correction or β would be off by percents
        assert np.linalg.norm(a - b) / np.linalg.norm(a - start) < 1e-5, step
    assert int(fused.iterations) == 5
    # Adam's variables in Adam's order, so a checkpoint (saved by position) moves between the two
    assert [tuple(v.shape) for v in fused.variables] == [tuple(v.shape) for v in adam.variables]


MIRRORED = """
import sys
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path[:0] = ["tests/models", "tests"]
from test_optimizers import dense_model, train
from vae_gan_tf.models.optimizers import FusedAdam
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    model, fused = dense_model(), FusedAdam(0.01)
    fused.build(model.trainable_variables)
x, y = tf.random.stateless_normal((16, 6), seed=(1, 2)), tf.random.stateless_normal((16, 3), seed=(3, 4))

def replica_step(xs, ys):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(xs) - ys)) / strategy.num_replicas_in_sync
    gradients = tape.gradient(loss, model.trainable_variables)
    fused.apply_gradients(zip(gradients, model.trainable_variables))

halves = strategy.experimental_distribute_values_from_function(
    lambda context: (x[8 * context.replica_id_in_sync_group:][:8],
                     y[8 * context.replica_id_in_sync_group:][:8]))
step = tf.function(lambda: strategy.run(replica_step, args=halves))
for _ in range(3):
    step()
copies = [np.concatenate([v.value.values[i].numpy().ravel() for v in model.trainable_variables])
          for i in (0, 1)]
expected = train(dense_model(), FusedAdam(0.01), 3)[-1]
print(np.array_equal(copies[0], copies[1]),
      float(np.max(np.abs(copies[1] - expected) / (np.abs(expected) + 1e-3))))
"""


def test_fused_adam_under_mirrored_updates_every_copy_as_one_device_would():
    """Keras calls update_step per device inside ``strategy.extended.update``: both copies must take the
    one-device steps (2 logical CPUs, half the batch each; in a subprocess, as devices are set before TF
    starts)."""
    result = subprocess.run([sys.executable, "-c", MIRRORED], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    same, largest = result.stdout.split()[-2:]
    # measured 1.2e-6 (the halves' gradients are summed in another order); a copy left without its update
    # would be off by about the learning rate, 1e-2
    assert same == "True" and float(largest) < 1e-4, result.stdout


def test_model_keras_round_trip_keeps_the_fused_optimizer(tmp_path):
    model = dense_model()
    model.compile(optimizer=FusedAdam(0.02, beta_1=0.6), loss="mse")
    model.fit(np.ones((8, 6)), np.zeros((8, 3)), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer) is FusedAdam and loaded.optimizer.beta_1 == pytest.approx(0.6)
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
