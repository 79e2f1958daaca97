"""The encoder-decoder families: autoencoder, VAE (β-VAE, IWAE bound), two-stage VAE, sequence VAE,
VAE/GAN and the conditional VAE, one module each, and their config dataclasses (``configs``).

The classes are importable from here (``from vae_gan_tf.models.vae import VAE``); they are loaded on first
use, so that importing ``configs`` (which ``vae_gan_tf.config`` does) does not import TensorFlow."""

from __future__ import annotations

import importlib

_CLASSES = {"Autoencoder": "autoencoder", "VAE": "vae", "TwoStageVAE": "two_stage_vae",
            "SequenceVAE": "sequence_vae", "VAEGAN": "vaegan", "ConditionalVAE": "cvae"}


def __getattr__(name: str):
    if name in _CLASSES:
        return getattr(importlib.import_module(f"{__name__}.{_CLASSES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
