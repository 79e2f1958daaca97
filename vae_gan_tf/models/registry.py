"""model.name -> model class. Adding a family: its file in ``models/``, its config dataclass in
``config.py`` (``MODEL_CONFIGS``), and one line here."""

from __future__ import annotations

import dataclasses

import keras

from vae_gan_tf.config import (OPTIMIZER_KEYS, SCHEDULE_KEYS, AdversarialConfig, Config, TwoStageVAEConfig,
                               VAEGANConfig)
from vae_gan_tf.models.autoencoder import Autoencoder
from vae_gan_tf.models.conditional import ConditionalGAN, ConditionalVAE
from vae_gan_tf.models.gan import GAN, with_loss_scaling
from vae_gan_tf.models.sequence_vae import SequenceVAE
from vae_gan_tf.models.two_stage_vae import TwoStageVAE
from vae_gan_tf.models.vae import VAE
from vae_gan_tf.models.vaegan import VAEGAN
from vae_gan_tf.models.wgan import WGAN
from vae_gan_tf.optimizers import FusedAdam

MODEL_CLASSES = {
    "vae": VAE,
    "autoencoder": Autoencoder,
    "gan": GAN,
    "wgan": WGAN,
    "vaegan": VAEGAN,
    "cvae": ConditionalVAE,
    "cgan": ConditionalGAN,
    "sequence_vae": SequenceVAE,
    "two_stage_vae": TwoStageVAE,
}


def build_model(config: Config, image_shape):
    """A new, built model: the config's ``model`` fields (less the optimizer keys) are the class's
    constructor arguments."""
    kwargs = {k: v for k, v in dataclasses.asdict(config.model).items()
              if k not in OPTIMIZER_KEYS + SCHEDULE_KEYS}
    name = kwargs.pop("name")
    model = MODEL_CLASSES[name](image_shape=tuple(image_shape), seed=config.train.seed, **kwargs)
    model.build((None, *image_shape))
    return model


def make_optimizer(kind: str, learning_rate: float, beta_1: float = 0.9, beta_2: float = 0.999):
    if kind == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    return FusedAdam(learning_rate, beta_1=beta_1, beta_2=beta_2)


def compile_model(model, config: Config, jit_compile: bool | None = None):
    """Compile with the config's optimizers (Adam is :class:`FusedAdam`): one Adam, one per player for
    the GAN family (TTUR), or one per network for VAE/GAN; and the config's ``jit_compile`` (unless
    overridden) and ``steps_per_execution``."""
    m = config.model
    options = {"jit_compile": config.train.jit_compile if jit_compile is None else jit_compile,
               "steps_per_execution": config.train.steps_per_execution}
    if isinstance(m, AdversarialConfig):
        model.compile(d_optimizer=make_optimizer(m.optimizer, m.d_learning_rate, m.d_beta_1, m.d_beta_2),
                      g_optimizer=make_optimizer(m.optimizer, m.g_learning_rate, m.g_beta_1, m.g_beta_2), **options)
    elif isinstance(m, VAEGANConfig):
        model.compile(encoder_optimizer=make_optimizer("adam", m.encoder_learning_rate, m.adam_beta_1),
                      decoder_optimizer=make_optimizer("adam", m.decoder_learning_rate, m.adam_beta_1),
                      discriminator_optimizer=make_optimizer("adam", m.discriminator_learning_rate, m.adam_beta_1),
                      **options)
    elif isinstance(m, TwoStageVAEConfig):  # one Adam per stage, each built on its stage's variables
        second = with_loss_scaling(make_optimizer("adam", m.second_stage_learning_rate))
        model.compile(optimizer=make_optimizer("adam", config.train.learning_rate),
                      second_stage_optimizer=second, **options)
    else:
        model.compile(optimizer=make_optimizer("adam", config.train.learning_rate), **options)
        # Build now: reload and BackupAndRestore keep Adam's state only for a built optimizer.
        model.optimizer.build(model.trainable_variables)
    return model
