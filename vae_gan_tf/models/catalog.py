"""``model.name`` -> the family's config dataclass and its model class, with no TensorFlow import: the
config is checked from here before TensorFlow starts, and the model module is imported only when a model
is built or loaded. Adding a family is its module (model class with its endpoints), its config dataclass,
and one line in :data:`FAMILIES`."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from vae_gan_tf.errors import UserError, first_line

from vae_gan_tf.models.gan.configs import CGANConfig, GANConfig, WGANConfig
from vae_gan_tf.models.vae.configs import (
    AutoencoderConfig,
    CVAEConfig,
    SequenceVAEConfig,
    TwoStageVAEConfig,
    VAEConfig,
    VAEGANConfig,
)


@dataclass(frozen=True)
class Family:
    config: type  # the config dataclass of the ``model`` section
    model: str  # "module:Class" of the keras.Model subclass, which takes that config


FAMILIES: dict[str, Family] = {
    "vae": Family(VAEConfig, "vae_gan_tf.models.vae.vae:VAE"),
    "autoencoder": Family(AutoencoderConfig, "vae_gan_tf.models.vae.autoencoder:Autoencoder"),
    "cvae": Family(CVAEConfig, "vae_gan_tf.models.vae.cvae:ConditionalVAE"),
    "vaegan": Family(VAEGANConfig, "vae_gan_tf.models.vae.vaegan:VAEGAN"),
    "sequence_vae": Family(SequenceVAEConfig, "vae_gan_tf.models.vae.sequence_vae:SequenceVAE"),
    "two_stage_vae": Family(TwoStageVAEConfig, "vae_gan_tf.models.vae.two_stage_vae:TwoStageVAE"),
    "gan": Family(GANConfig, "vae_gan_tf.models.gan.gan:GAN"),
    "wgan": Family(WGANConfig, "vae_gan_tf.models.gan.wgan:WGAN"),
    "cgan": Family(CGANConfig, "vae_gan_tf.models.gan.cgan:ConditionalGAN"),
}
MODEL_CONFIGS: dict[str, type] = {name: family.config for name, family in FAMILIES.items()}


def model_class(name: str) -> type:
    """The model class of family ``name`` (imports its module, and so TensorFlow)."""
    module, _, cls = FAMILIES[name].model.partition(":")
    return getattr(importlib.import_module(module), cls)


def register_all() -> None:
    """Import every family's module, which registers its class for ``keras.models.load_model``."""
    for name in FAMILIES:
        model_class(name)


def load_trained(path, fix: str):
    """``keras.models.load_model(path)`` with every family registered; a UserError naming ``path`` and ``fix``
    when the archive is missing or damaged (issue 25: Keras raised ValueError, or others, with a traceback)."""
    import zipfile

    import keras

    if not zipfile.is_zipfile(path):  # Keras calls a damaged archive "File not found"
        problem = "it does not exist" if not Path(path).exists() else "it is not a whole .keras (zip) archive"
        raise UserError(f"{path} cannot be loaded ({problem}); {fix}")
    register_all()
    try:
        return keras.models.load_model(path)
    except Exception as err:  # Keras raises several types for a damaged archive
        raise UserError(f"{path} cannot be loaded ({first_line(err, 100)}); {fix}") from None


def build_model(config, image_shape):
    """A new, built model of ``config.model``'s family, seeded by ``train.seed``."""
    model = model_class(config.model.name)(config.model, tuple(image_shape), seed=config.train.seed)
    model.build((None, *image_shape))
    return model


def compile_model(model, config, jit_compile: bool | None = None):
    """Compile with the family's optimizers (Adam is ``optimizers.FusedAdam``: one per player for the GAN
    family, one per network for VAE/GAN, one per stage for the two-stage VAE), built at once, and the
    config's ``jit_compile`` (unless overridden) and ``steps_per_execution``."""
    model.compile(**model.make_optimizers(config.train.learning_rate),
                  jit_compile=config.train.jit_compile if jit_compile is None else jit_compile,
                  steps_per_execution=config.train.steps_per_execution)
    return model
