"""Adam with one fused kernel per variable (the optimizer of every model of the library), the optimizer a
config names, and the loss-scaling wrapper of mixed precision.

Keras 3's ``Adam.update_step`` builds each variable's update from about a dozen separate ops (two moment
updates, the bias correction, the step). Outside XLA every op is a kernel launch of its own. TF's
``ResourceApplyAdam`` does a variable's whole update in one multi-threaded kernel, the kernel tf.keras 2's
Adam used. ``benchmarks/optimizer_update.py`` (the MLP VAE at batch 256, 2 CPU cores) measured the step
at 12.1 ms with it against 13.0 ms with Keras's Adam, whose gradients alone take 11.2 ms. Under XLA the
two compile alike (12.7 and 12.8 ms; benchmarks/results/optimizer_update.json).

The algorithm is Keras's: Kingma & Ba 2015, Algorithm 1, in the form of their section 2 that folds
the bias corrections into the step size, α_t = α·√(1 − β₂ᵗ)/(1 − β₁ᵗ), then
m ← β₁·m + (1 − β₁)·g,  v ← β₂·v + (1 − β₂)·g²,  θ ← θ − α_t·m/(√v + ε̂).
The variables (``iterations``, the moments) are Adam's, so checkpoints move between the two; only the
float rounding differs (tests/models/test_optimizers.py).
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="vae_gan_tf")
class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` whose dense updates run as ``tf.raw_ops.ResourceApplyAdam``.

    AMSGrad and sparse (``IndexedSlices``) gradients keep Keras's update. Under a distribution strategy
    Keras calls ``update_step`` once per device inside ``strategy.extended.update``, with that device's
    variable; a moment's ``handle`` is then also that device's copy.
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        index = self._get_variable_index(variable)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].value.handle,
            v=self._velocities[index].value.handle, beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step), lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype))


def make_optimizer(kind: str, learning_rate: float, beta_1: float = 0.9, beta_2: float = 0.999):
    """The optimizer a config names: ``adam`` (:class:`FusedAdam`) or ``rmsprop``."""
    if kind == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    return FusedAdam(learning_rate, beta_1=beta_1, beta_2=beta_2)


def with_loss_scaling(optimizer):
    """Under the ``mixed_float16`` policy, ``optimizer`` wrapped in a LossScaleOptimizer (once): ``compile``
    wraps only ``model.optimizer``, and an unscaled float16 update underflows (KERAS3_FACTS.md)."""
    if (keras.mixed_precision.global_policy().name == "mixed_float16"
            and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer)):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
