"""The class-conditional GAN: the batches are (images, labels) (data/pipeline.py, side input); G(z, y) with
a learned label embedding (Mirza & Osindero 2014) and D(x, y) by projection (Miyato & Koyama 2018)
(nets/conditional.py)."""

from __future__ import annotations

import keras
import tensorflow as tf

from vae_gan_tf.models import completion
from vae_gan_tf.models.gan.configs import CGANConfig
from vae_gan_tf.models.gan.gan import GAN
from vae_gan_tf.nets.conditional import embedded_generator, label_spec, projection_discriminator


@keras.saving.register_keras_serializable(package="vae_gan_tf")
class ConditionalGAN(GAN):
    """G(z, y) with a learned label embedding, D(x, y) by projection (Miyato & Koyama 2018). The fakes of a
    step take the labels of its real batch, so both sides see the data's class frequencies."""

    config_class = CGANConfig

    def make_networks(self):
        c = self.model_config
        generator, scorer = super().make_networks(c.latent_dim + c.embedding_dim)  # G's input: [z, e(y)]
        return (embedded_generator(generator, c.latent_dim, c.num_classes, c.embedding_dim),
                projection_discriminator(scorer, self.image_shape, c.num_classes, output_bias=not self.critic))

    def fake(self, z, labels, training):
        return self.generator([z, labels], training=training)

    def score(self, x, labels, training):
        return self.discriminator([x, labels], training=training)

    def generate(self, z, labels):
        generator = self.ema_generator if self.ema_generator is not None else self.generator
        return generator([tf.convert_to_tensor(z), tf.cast(labels, tf.int32)], training=False)

    def call(self, inputs, training=False):
        x, labels = inputs
        return self.score(x, labels, training)

    def endpoints(self) -> dict:
        """sample(z, label), generate(label) (z ~ N(0, I) drawn inside, one image per label),
        discriminate(x, label) and project(x, mask, label, steps) (models/completion.py)."""
        x_spec, labels = self.x_spec(), label_spec()

        def generate(label):
            return self.generate(tf.random.normal(tf.stack([tf.shape(label)[0], self.latent_dim])), label)

        def project(x, mask, label, steps):
            tiled = tf.tile(label, [completion.RESTARTS])
            return completion.latent_optimisation(
                lambda z: self.generate(z, tiled), lambda g: self.score(g, tiled, False), x, mask, steps,
                self.latent_dim, not self.scores_are_logits)

        return {"sample": (lambda z, label: self.generate(z, label), [self.z_spec(), labels]),
                "generate": (generate, [labels]),
                "discriminate": (lambda x, label: self.score(x, label, False), [x_spec, labels]),
                "project": (project, [x_spec, self.x_spec("mask"), labels, tf.TensorSpec((), tf.int32, name="steps")])}
