"""Class-conditional networks built around the unconditional ones (nets/conv.py, nets/mlp.py, nets/dcgan.py).

- CVAE (Sohn et al. 2015, §4): the label enters the encoder as K one-hot planes beside the image channels
  and the decoder as a one-hot vector beside z.
- Conditional GAN: G(z, y) = G([z, e(y)]) with a learned label embedding e (Mirza & Osindero 2014), and
  the projection discriminator D(x, y) = ψ(φ(x)) + ⟨V_y, φ(x)⟩ (Miyato & Koyama 2018, eq. 3), where φ is
  the unconditional discriminator's last hidden layer.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops


class ClassLayer(layers.Layer):
    """A layer configured by the number of classes K (labels are 0 .. K − 1)."""

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="vae_gan_tf")
class LabelPlanes(ClassLayer):
    """(images (B, H, W, C), labels (B,)) -> (B, H, W, C + K): the one-hot label as K constant planes."""

    def call(self, inputs):
        images, labels = inputs
        planes = ops.one_hot(ops.cast(labels, "int32"), self.num_classes, dtype=images.dtype)
        planes = ops.broadcast_to(planes[:, None, None, :],
                                  (*ops.shape(images)[:-1], self.num_classes))
        return ops.concatenate([images, planes], axis=-1)


@keras.saving.register_keras_serializable(package="vae_gan_tf")
class OneHot(ClassLayer):
    """labels (B,) -> (B, K) one-hot, in the layer's compute dtype."""

    def call(self, labels):
        return ops.one_hot(ops.cast(labels, "int32"), self.num_classes, dtype=self.compute_dtype)


@keras.saving.register_keras_serializable(package="vae_gan_tf")
class Projection(ClassLayer):
    """(φ (B, F), labels (B,)) -> ⟨V_y, φ⟩ of shape (B, 1), with V a learned (K, F) class embedding."""

    def build(self, input_shape):
        features = int(input_shape[0][-1])
        self.embedding = self.add_weight(name="class_embedding", shape=(self.num_classes, features),
                                         initializer="glorot_uniform")

    def call(self, inputs):
        features, labels = inputs
        rows = ops.take(ops.cast(self.embedding, features.dtype), ops.cast(labels, "int32"), axis=0)
        return ops.sum(rows * features, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], 1)


def label_input():
    return keras.Input(shape=(), dtype="int32", name="label")


def label_spec():
    """The SavedModel input of one int32 label per example."""
    return tf.TensorSpec((None,), tf.int32, name="label")


def conditional_encoder(encoder: keras.Model, image_shape, num_classes: int) -> keras.Model:
    """(x, y) -> encoder([x, one-hot planes of y]); ``encoder`` takes C + K channels."""
    x, y = keras.Input(shape=tuple(image_shape), name="image"), label_input()
    return keras.Model([x, y], encoder(LabelPlanes(num_classes)([x, y])), name="conditional_encoder")


def conditional_decoder(decoder: keras.Model, latent_dim: int, num_classes: int, name="conditional_decoder"):
    """(z, y) -> decoder([z, one-hot y]); ``decoder`` takes latent_dim + K inputs."""
    z, y = keras.Input(shape=(latent_dim,), name="z"), label_input()
    return keras.Model([z, y], decoder(layers.Concatenate()([z, OneHot(num_classes)(y)])), name=name)


def embedded_generator(generator: keras.Model, latent_dim: int, num_classes: int, embedding_dim: int):
    """(z, y) -> generator([z, e(y)]) with a learned embedding e; ``generator`` takes latent_dim + E inputs."""
    z, y = keras.Input(shape=(latent_dim,), name="z"), label_input()
    embedded = layers.Embedding(num_classes, embedding_dim, name="label_embedding")(y)
    return keras.Model([z, y], generator(layers.Concatenate()([z, embedded])), name="conditional_generator")


def projection_discriminator(scorer: keras.Model, image_shape, num_classes: int, output_bias=True):
    """(x, y) -> ψ(φ(x)) + ⟨V_y, φ(x)⟩ with φ the input of ``scorer``'s ``logit`` layer (its last hidden layer)."""
    features = keras.Model(scorer.input, scorer.get_layer("logit").input, name="features")
    x, y = keras.Input(shape=tuple(image_shape), name="x"), label_input()
    phi = features(x)
    psi = layers.Dense(1, use_bias=output_bias, dtype="float32", name="psi")(phi)
    projected = Projection(num_classes, dtype="float32", name="projection")([phi, y])
    return keras.Model([x, y], layers.Add(dtype="float32", name="logit")([psi, projected]),
                       name="projection_discriminator")
