"""model.name -> model class. Adding a family: its file in ``models/``, its config dataclass in
``config.py`` (``MODEL_CONFIGS``), and one line here."""

from __future__ import annotations

import dataclasses

from vae_gan_tf.config import Config
from vae_gan_tf.models.autoencoder import Autoencoder
from vae_gan_tf.models.vae import VAE

MODEL_CLASSES = {
    "vae": VAE,
    "autoencoder": Autoencoder,
}


def build_model(config: Config, image_shape):
    """A new, built model: the config's ``model`` fields are the class's constructor arguments."""
    kwargs = dataclasses.asdict(config.model)
    name = kwargs.pop("name")
    model = MODEL_CLASSES[name](image_shape=tuple(image_shape), seed=config.train.seed, **kwargs)
    model.build((None, *image_shape))
    return model
