"""Spectral normalization of a discriminator's kernels (Miyato et al. 2018, Algorithm 1).

A wrapped ``Dense`` or ``Conv2D`` computes its output with W_SN = W / σ(W), where σ(W) is the largest
singular value of W reshaped to a matrix K of shape (fan_in, units). σ is estimated by power iteration
with a persistent unit vector u ∈ R^units:

    v = K u / ‖K u‖,    σ(W) ≈ vᵀ K u        (u and v held constant in the gradient, as in the paper)

and one power-iteration step per discriminator update, u ← Kᵀ v / ‖Kᵀ v‖ (``power_iteration``).
u is a non-trainable weight of the layer, so it is saved with the weights and restored on resume.

Why not ``keras.layers.SpectralNormalization`` (Keras 3.15): its ``call`` *assigns* W / σ back into the
wrapped kernel on every training-mode call, so W itself is rescaled again and again, no gradient goes
through σ, a discriminator called three times per step runs three iterations, and under a
MirroredStrategy those assignments happen in replica context. Here W is left to the optimizer, σ is part
of the differentiated forward pass, and u moves once per update, from the model, in cross-replica context
(``models/gan/gan.py``), so every replica holds the same u.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers


def _unit(v: tf.Tensor) -> tf.Tensor:
    return v / tf.sqrt(tf.reduce_sum(tf.square(v)) + 1e-12)


@keras.saving.register_keras_serializable(package="vae_gan_tf")
class SpectralNormalization(layers.Wrapper):
    """``layer`` (Dense or Conv2D) applied with its kernel divided by σ(kernel) (module docstring)."""

    def build(self, input_shape):
        if not isinstance(self.layer, (layers.Dense, layers.Conv2D)):
            raise TypeError(f"spectral normalization wraps Dense or Conv2D layers, not {type(self.layer).__name__}")
        if not self.layer.built:
            self.layer.build(input_shape)
        units = self.layer.kernel.shape[-1]
        self.vector_u = self.add_weight(
            name="vector_u", shape=(units,), trainable=False, dtype="float32",
            initializer=keras.initializers.RandomNormal(stddev=1.0, seed=0))
        self.built = True

    def _matrix(self) -> tf.Tensor:
        kernel = tf.convert_to_tensor(self.layer.kernel)
        return tf.reshape(tf.cast(kernel, tf.float32), [-1, kernel.shape[-1]])

    def sigma(self) -> tf.Tensor:
        """σ(W) ≈ vᵀ K u with v = K u / ‖K u‖ and u, v constant in the gradient."""
        matrix = self._matrix()
        u = tf.stop_gradient(_unit(tf.convert_to_tensor(self.vector_u)))
        v = tf.stop_gradient(_unit(tf.linalg.matvec(matrix, u)))
        return tf.tensordot(v, tf.linalg.matvec(matrix, u), 1)

    def power_iteration(self) -> None:
        """u ← Kᵀ v / ‖Kᵀ v‖ with v = K u / ‖K u‖: one step; call it once per discriminator update."""
        matrix = self._matrix()
        v = _unit(tf.linalg.matvec(matrix, _unit(tf.convert_to_tensor(self.vector_u))))
        self.vector_u.assign(_unit(tf.linalg.matvec(matrix, v, transpose_a=True)))

    def call(self, inputs):
        layer, dtype = self.layer, self.compute_dtype  # float16 kernels under mixed precision
        kernel = tf.cast(tf.convert_to_tensor(layer.kernel), dtype) / tf.cast(self.sigma(), dtype)
        if isinstance(layer, layers.Conv2D):
            outputs = layer.convolution_op(inputs, kernel)
        else:
            outputs = tf.matmul(inputs, kernel) if inputs.shape.rank == 2 else tf.tensordot(inputs, kernel, 1)
        if layer.use_bias:
            outputs = outputs + tf.cast(tf.convert_to_tensor(layer.bias), dtype)
        return layer.activation(outputs) if layer.activation is not None else outputs

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)


def spectral_layers(model: keras.Model) -> list[SpectralNormalization]:
    """Every SpectralNormalization layer of ``model``, nested models included."""
    return [layer for layer in model._flatten_layers(include_self=False) if isinstance(layer, SpectralNormalization)]


def maybe_spectral(layer: layers.Layer, enabled: bool) -> layers.Layer:
    """``layer`` wrapped in SpectralNormalization when ``enabled``, with the layer's dtype policy (a float32
    logit layer stays float32 under mixed precision)."""
    return SpectralNormalization(layer, name=f"sn_{layer.name}", dtype=layer.dtype_policy) if enabled else layer
