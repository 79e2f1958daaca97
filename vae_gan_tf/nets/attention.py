"""Self-attention over the positions of a feature map (SAGAN, Zhang et al. 2018, §3), as doc 000 §6.4
proposes for relating distant parts of an image.

With x the (H·W, C) positions of a map, f = x·W_f, g = x·W_g, h = x·W_h (1x1 convolutions to C/k
channels) and s_ji = g(x_j)·f(x_i), position j attends with β_j = softmax_i(s_j·); the output
o_j = W_v·Σ_i β_ji h(x_i) (a 1x1 convolution back to C) is added as y = x + γ·o with a learned γ that
starts at 0, so the layer starts as the identity and the network learns how much non-local evidence to use.
"""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="vae_gan_tf")
class SelfAttention2D(layers.Layer):
    """y = x + γ·o on an (H, W, C) map; ``reduction`` is k of C/k (8 in the paper)."""

    def __init__(self, reduction: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.reduction = int(reduction)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        inner = max(1, channels // self.reduction)
        self.query = layers.Conv2D(inner, 1, use_bias=False, name="f")  # f(x_i): what position i offers
        self.key = layers.Conv2D(inner, 1, use_bias=False, name="g")  # g(x_j): what position j looks for
        self.value = layers.Conv2D(inner, 1, use_bias=False, name="h")
        self.project = layers.Conv2D(channels, 1, use_bias=False, name="v")
        for layer in (self.query, self.key, self.value):
            layer.build(input_shape)
        self.project.build((*input_shape[:-1], inner))
        self.gamma = self.add_weight(name="gamma", shape=(), initializer="zeros")

    def attention(self, x):
        """β of shape (batch, H·W, H·W): row j is position j's softmax over all positions i."""
        f = self._positions(self.query(x))
        g = self._positions(self.key(x))
        return ops.softmax(ops.matmul(g, ops.transpose(f, (0, 2, 1))), axis=-1)

    def call(self, x):
        beta = self.attention(x)
        attended = ops.matmul(beta, self._positions(self.value(x)))
        shape = ops.shape(x)
        o = self.project(ops.reshape(attended, (shape[0], shape[1], shape[2], -1)))
        return x + ops.cast(self.gamma, o.dtype) * o

    @staticmethod
    def _positions(t):
        shape = ops.shape(t)
        return ops.reshape(t, (shape[0], shape[1] * shape[2], shape[3]))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "reduction": self.reduction}
