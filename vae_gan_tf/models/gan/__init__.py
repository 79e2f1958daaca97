"""The adversarial families: GAN (DCGAN, the minimax, non-saturating, least-squares and hinge losses),
WGAN (clipping, gradient penalty) and the conditional GAN, one module each, and their config dataclasses
(``configs``).

The classes are importable from here (``from vae_gan_tf.models.gan import GAN``); they are loaded on first
use, so that importing ``configs`` (which ``vae_gan_tf.config`` does) does not import TensorFlow."""

from __future__ import annotations

import importlib

_CLASSES = {"GAN": "gan", "WGAN": "wgan", "ConditionalGAN": "cgan"}


def __getattr__(name: str):
    if name in _CLASSES:
        return getattr(importlib.import_module(f"{__name__}.{_CLASSES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
