"""What every family's config dataclass answers (no TensorFlow import): ``config.py`` validates a run through
these hooks instead of naming families, and the model class receives the instance, so each field is declared
once, in its family's ``configs`` module (as pythae's model receives its config)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vae_gan_tf.errors import UserError


@dataclass
class ModelConfig:
    """The ``model`` section of a config; a family subclasses it with its fields and checks."""

    name: str = ""
    latent_dim: int = 16

    has_prior: ClassVar[bool] = True  # samples from p(z): per-epoch sample grids and evaluation apply
    reads_sequences: ClassVar[bool] = False  # a recurrent model (images read row by row, or sequences)
    positive_fields: ClassVar[tuple[str, ...]] = ("latent_dim",)  # checked to be at least 1

    def check(self, config) -> None:
        """The family's own range checks; ``config`` is the whole run config for cross-section ones."""

    def real_batches_per_step(self) -> int:
        """Real batches one train step consumes (the GAN family's ``d_steps``)."""
        return 1

    def extra_epochs(self) -> int:
        """Epochs trained after ``train.epochs`` (the two-stage VAE's second stage)."""
        return 0

    def strided_filter_keys(self) -> tuple[str, ...]:
        """Fields whose entries are stride-2 layers: the image side must be divisible by 2**len(each)."""
        return ()

    def attention_sides(self, height: int) -> list[int]:
        """The feature-map sides where ``attention_resolution`` can place self-attention (none here)."""
        return []


def check_kl_terms(m) -> None:
    """β and the KL warm-up of the VAE-like families, and the Gaussian σ where the family has one."""
    if not m.beta >= 0:
        raise UserError(f"model.beta must be non-negative, got {m.beta}")
    if m.kl_warmup_steps < 0:
        raise UserError(f"model.kl_warmup_steps must be non-negative, got {m.kl_warmup_steps}")
    if hasattr(m, "gaussian_std") and not m.gaussian_std > 0:
        raise UserError(f"model.gaussian_std must be positive, got {m.gaussian_std}")


def check_positive_lists(m, keys) -> None:
    """Each field in ``keys`` a non-empty list of positive integers."""
    for key in keys:
        values = getattr(m, key)
        if not values or any(v < 1 for v in values):
            raise UserError(f"model.{key} must be a non-empty list of positive integers, got {values}")


def check_positive_numbers(m, keys) -> None:
    for key in keys:
        if not getattr(m, key) > 0:
            raise UserError(f"model.{key} must be positive, got {getattr(m, key)}")


def check_fractions(m, keys) -> None:
    """Each field in ``keys`` in [0, 1) (Adam's betas)."""
    for key in keys:
        if not 0 <= getattr(m, key) < 1:
            raise UserError(f"model.{key} must be in [0, 1), got {getattr(m, key)}")
