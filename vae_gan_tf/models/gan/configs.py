"""The config dataclasses of the adversarial families (no TensorFlow import): one per ``model.name``, each
the single source of its fields' defaults; the model class receives the instance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal, Optional

from vae_gan_tf.data.source_names import TOY_SOURCES
from vae_gan_tf.errors import UserError
from vae_gan_tf.models.config_base import (
    ModelConfig,
    check_fractions,
    check_positive_lists,
    check_positive_numbers,
)


@dataclass
class AdversarialConfig(ModelConfig):
    """Fields shared by the GAN family: networks, per-player optimizers (TTUR, Heusel et al. 2017)."""

    architecture: Literal["mlp", "dcgan", "infogan"] = "mlp"  # infogan: Lucic et al. 2018's (nets/infogan.py)
    latent_dim: int = 64
    generator_units: list[int] = field(default_factory=lambda: [256, 256])  # doc 003 §4.2: z-h-h-x
    discriminator_units: list[int] = field(default_factory=lambda: [256, 256])
    generator_filters: list[int] = field(default_factory=lambda: [128, 64])  # DCGAN: one 2x upsampling each
    discriminator_filters: list[int] = field(default_factory=lambda: [64, 128])  # one stride-2 conv each
    output_activation: Literal["tanh", "linear"] = "tanh"  # tanh for images in [-1, 1], linear for points
    d_steps: int = 1  # discriminator updates per generator update, each on its own real batch
    optimizer: Literal["adam", "rmsprop"] = "adam"
    d_learning_rate: float = 2e-4
    g_learning_rate: float = 2e-4
    d_beta_1: float = 0.5  # Radford et al. 2016
    d_beta_2: float = 0.999
    g_beta_1: float = 0.5
    g_beta_2: float = 0.999
    ema_decay: Optional[float] = None  # exponential moving average of G's weights for sampling/export
    attention_resolution: Optional[int] = None  # dcgan: SAGAN self-attention after G's and D's map of this side
    pack: int = 1  # PacGAN (Lin et al. 2018): D scores packs of this many samples; 1 = no packing
    spectral_norm: bool = False  # spectral normalization of D's kernels (Miyato et al. 2018)
    r1_weight: float = 0.0  # γ of the R1 penalty (γ/2)·E‖∇ₓ D(x)‖² on real data (Mescheder et al. 2018)

    positive_fields: ClassVar[tuple[str, ...]] = ("latent_dim", "d_steps")

    def check(self, config) -> None:
        check_positive_lists(self, ("generator_units", "discriminator_units", "generator_filters",
                                    "discriminator_filters"))
        check_positive_numbers(self, ("d_learning_rate", "g_learning_rate"))
        check_fractions(self, ("d_beta_1", "d_beta_2", "g_beta_1", "g_beta_2"))
        if self.architecture == "infogan" and self.output_activation == "linear":
            raise UserError("model.architecture infogan makes images: set model.output_activation=tanh")
        if self.ema_decay is not None and not 0 < self.ema_decay < 1:
            raise UserError(f"model.ema_decay must be in (0, 1) or null, got {self.ema_decay}")
        if not self.r1_weight >= 0:
            raise UserError(f"model.r1_weight must be non-negative, got {self.r1_weight}")
        if self.pack < 1 or config.train.batch_size % self.pack:
            raise UserError(f"model.pack must be a positive divisor of train.batch_size="
                            f"{config.train.batch_size}, got {self.pack}")
        if (self.output_activation == "tanh" and config.data.source not in TOY_SOURCES
                and config.data.scale != "symmetric"):
            raise UserError("a tanh generator makes images in [-1, 1]: set data.scale=symmetric")

    def real_batches_per_step(self) -> int:
        """Each discriminator update sees its own real batch (Gulrajani et al. 2017, Algorithm 1)."""
        return self.d_steps

    def strided_filter_keys(self) -> tuple[str, ...]:
        return ("generator_filters", "discriminator_filters") if self.architecture == "dcgan" else ()

    def attention_sides(self, height: int) -> list[int]:
        """DCGAN G's maps before the output layer and D's maps after each strided conv (nets/dcgan.py)."""
        if self.architecture != "dcgan":
            return []
        generator = [height // 2 ** len(self.generator_filters) * 2**i for i in range(len(self.generator_filters))]
        discriminator = [height // 2**i for i in range(1, len(self.discriminator_filters) + 1)]
        return sorted(set(generator) | set(discriminator))


@dataclass
class GANConfig(AdversarialConfig):
    """GAN (Goodfellow et al. 2014) with the saturating minimax or the non-saturating generator loss."""

    name: str = "gan"
    loss: Literal["nonsaturating", "minimax", "least_squares", "hinge"] = "nonsaturating"
    label_smoothing: float = 0.0  # one-sided: real targets 1 - s (Salimans et al. 2016)

    def check(self, config) -> None:
        super().check(config)
        if not 0 <= self.label_smoothing < 1:
            raise UserError(f"model.label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.label_smoothing and self.loss not in ("minimax", "nonsaturating"):
            raise UserError(f"model.label_smoothing applies to the minimax/nonsaturating losses, not {self.loss}")


@dataclass
class CGANConfig(GANConfig):
    """Class-conditional GAN: label embedding in G, projection discriminator (Miyato & Koyama 2018)."""

    name: str = "cgan"
    num_classes: int = 10  # labels are 0 .. num_classes - 1
    embedding_dim: int = 16  # size of G's learned label embedding

    positive_fields: ClassVar[tuple[str, ...]] = ("latent_dim", "d_steps", "num_classes", "embedding_dim")

    def check(self, config) -> None:
        super().check(config)
        if self.pack > 1 or self.spectral_norm:
            raise UserError("model.pack and model.spectral_norm are for model.name gan and wgan; the conditional "
                            "GAN's projection discriminator supports neither yet")


@dataclass
class WGANConfig(AdversarialConfig):
    """Wasserstein GAN: weight clipping (Arjovsky et al. 2017) or gradient penalty (Gulrajani et al. 2017)."""

    name: str = "wgan"
    constraint: Literal["gradient_penalty", "weight_clipping"] = "gradient_penalty"
    gp_weight: float = 10.0
    clip_value: float = 0.01
    d_steps: int = 5
    d_learning_rate: float = 1e-4
    g_learning_rate: float = 1e-4
    d_beta_1: float = 0.0  # Gulrajani et al. 2017, Algorithm 1
    d_beta_2: float = 0.9
    g_beta_1: float = 0.0
    g_beta_2: float = 0.9

    def check(self, config) -> None:
        super().check(config)
        if not self.gp_weight >= 0 or not self.clip_value > 0:
            raise UserError("model.gp_weight must be non-negative and model.clip_value positive")
