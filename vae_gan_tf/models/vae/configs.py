"""The config dataclasses of the encoder-decoder families (no TensorFlow import): one per ``model.name``,
each the single source of its fields' defaults; the model class receives the instance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal, Optional

from vae_gan_tf.errors import UserError
from vae_gan_tf.models.config_base import (
    ModelConfig,
    check_fractions,
    check_kl_terms,
    check_positive_lists,
    check_positive_numbers,
)

# The likelihoods whose decoder mean is sigmoid(logits), an image in [0, 1] (models/vae/autoencoder.py).
UNIT_MEAN_LIKELIHOODS = ("bernoulli", "gaussian_learned")


@dataclass
class EncoderDecoderConfig(ModelConfig):
    """Fields shared by the models with an encoder and a decoder."""

    architecture: Literal["conv", "mlp", "infogan"] = "conv"  # infogan: Dai & Wipf's networks (nets/infogan.py)
    latent_dim: int = 16
    hidden_units: list[int] = field(default_factory=lambda: [512, 256])  # MLP layers (doc 003 §4.1)
    conv_filters: list[int] = field(default_factory=lambda: [32, 64])  # one stride-2 conv each
    dense_units: int = 0  # optional dense layer between conv stack and latent heads (0: none)
    activation: Literal["relu", "tanh", "elu", "leaky_relu", "softplus"] = "relu"  # hidden layers
    attention_resolution: Optional[int] = None  # conv: SAGAN self-attention after the decoder's map of this side

    def check(self, config) -> None:
        if any(u < 1 for u in self.hidden_units) or any(f < 1 for f in self.conv_filters):
            raise UserError("model.hidden_units and model.conv_filters must hold positive integers")
        if self.architecture == "mlp" and not self.hidden_units:
            raise UserError("model.hidden_units must not be empty for architecture mlp")
        if self.architecture == "conv" and not self.conv_filters:
            raise UserError("model.conv_filters must not be empty for architecture conv")
        if self.dense_units < 0:
            raise UserError(f"model.dense_units must be 0 (none) or positive, got {self.dense_units}")

    def strided_filter_keys(self) -> tuple[str, ...]:
        return ("conv_filters",) if self.architecture == "conv" else ()

    def attention_sides(self, height: int) -> list[int]:
        """The conv decoder's maps: after the reshape and after each transposed conv (nets/conv.py); none
        for the mlp and infogan networks."""
        if self.architecture != "conv":
            return []
        factor = 2 ** len(self.conv_filters)
        return [height // factor * 2**i for i in range(len(self.conv_filters) + 1)]


@dataclass
class VAEConfig(EncoderDecoderConfig):
    """Gaussian-latent VAE (Kingma & Welling 2014) with a beta weight (Higgins et al. 2017)."""

    name: str = "vae"
    # gaussian_learned: N(x; sigmoid(logits), γI) with a learned scalar γ (Dai & Wipf 2019, §4; models/vae/vae.py)
    likelihood: Literal["bernoulli", "gaussian", "gaussian_learned"] = "bernoulli"
    gaussian_std: float = 1.0  # fixed decoder std for the Gaussian likelihood
    # log γ = log_gamma_scale · θ, θ the trained weight: Adam moves θ by about the learning rate per step, so
    # log γ moves by about log_gamma_scale × lr (1: Dai & Wipf's code; also the two-stage VAE's second γ)
    log_gamma_scale: float = 1.0
    beta: float = 1.0  # weight of the KL term (beta-VAE, doc 004); 1.0 is the ELBO
    kl_warmup_steps: int = 0  # KL weight rises linearly from 0 to beta over these steps
    tc_beta: float = 1.0  # weight of the total correlation (beta-TCVAE, Chen et al. 2018); 1.0: none extra

    def check(self, config) -> None:
        super().check(config)
        check_kl_terms(self)
        check_positive_numbers(self, ("log_gamma_scale",))
        if not self.tc_beta >= 0:
            raise UserError(f"model.tc_beta must be non-negative, got {self.tc_beta}")


@dataclass
class TwoStageVAEConfig(VAEConfig):
    """Two-stage VAE (Dai & Wipf 2019, §4): this VAE for ``train.epochs``, then a second MLP VAE on its
    latent codes for ``second_stage_epochs`` with the first stage frozen (models/vae/two_stage_vae.py)."""

    name: str = "two_stage_vae"
    second_stage_epochs: int = 20  # Dai & Wipf trained 800 (their demo.py --epochs2)
    second_stage_units: int = 1024  # their --second-dim
    second_stage_depth: int = 3  # dense layers in the second encoder and in the decoder (--second-depth)
    second_stage_learning_rate: float = 1e-4  # their --lr2
    second_stage_skip: bool = False  # their code: each network's input joins its last hidden layer (concat)

    def check(self, config) -> None:
        super().check(config)
        for key in ("second_stage_epochs", "second_stage_units", "second_stage_depth"):
            if getattr(self, key) < 1:
                raise UserError(f"model.{key} must be at least 1, got {getattr(self, key)}")
        check_positive_numbers(self, ("second_stage_learning_rate",))

    def extra_epochs(self) -> int:
        return self.second_stage_epochs


@dataclass
class CVAEConfig(VAEConfig):
    """Conditional VAE (Sohn et al. 2015): the label goes to the encoder and the decoder."""

    name: str = "cvae"
    num_classes: int = 10  # labels are 0 .. num_classes - 1

    positive_fields: ClassVar[tuple[str, ...]] = ("latent_dim", "num_classes")

    def check(self, config) -> None:
        super().check(config)
        if self.likelihood == "gaussian_learned":
            raise UserError("model.likelihood gaussian_learned is for model.name vae and two_stage_vae; the "
                            "conditional VAE supports bernoulli and gaussian")


@dataclass
class AutoencoderConfig(EncoderDecoderConfig):
    """Deterministic autoencoder (doc 002 §1.3.1.1): minimises a reconstruction loss only."""

    name: str = "autoencoder"
    likelihood: Literal["bernoulli", "squared_error"] = "squared_error"

    has_prior: ClassVar[bool] = False


@dataclass
class VAEGANConfig(EncoderDecoderConfig):
    """VAE/GAN (Larsen et al. 2016): the VAE's networks plus a discriminator whose last hidden layer
    measures the reconstruction; three optimizers (models/vae/vaegan.py)."""

    name: str = "vaegan"
    beta: float = 1.0  # weight of the KL term in the encoder's loss (1 in the paper)
    kl_warmup_steps: int = 0
    gamma: float = 1.0  # decoder loss: gamma * feature reconstruction + adversarial term (Larsen et al. §2.2)
    discriminator_filters: list[int] = field(default_factory=lambda: [64, 128])  # conv: DCGAN discriminator
    discriminator_units: list[int] = field(default_factory=lambda: [256, 256])  # mlp discriminator
    encoder_learning_rate: float = 3e-4  # Larsen et al. used 3e-4 (RMSprop); Adam here, beta_1 below
    decoder_learning_rate: float = 3e-4
    discriminator_learning_rate: float = 3e-4
    adam_beta_1: float = 0.5  # Radford et al. 2016

    likelihood: ClassVar[str] = "bernoulli"  # the decoder's pixels are sigmoid(logits); not a config key

    def check(self, config) -> None:
        super().check(config)
        check_kl_terms(self)
        if config.data.scale != "unit":
            raise UserError("model.name vaegan decodes to sigmoid(logits), pixels in [0, 1]: set data.scale=unit")
        check_positive_lists(self, ("discriminator_filters", "discriminator_units"))
        check_positive_numbers(self, ("encoder_learning_rate", "decoder_learning_rate",
                                      "discriminator_learning_rate", "gamma"))
        if self.architecture == "infogan":
            raise UserError("model.architecture infogan is not available for model.name vaegan (its "
                            "discriminator is conv or mlp); use conv")
        check_fractions(self, ("adam_beta_1",))

    def strided_filter_keys(self) -> tuple[str, ...]:
        return ("conv_filters", "discriminator_filters") if self.architecture == "conv" else ()


@dataclass
class SequenceVAEConfig(ModelConfig):
    """Recurrent VAE (Fabius & van Amersfoort 2014; Bowman et al. 2016): images are read row by row."""

    name: str = "sequence_vae"
    cell: Literal["gru", "lstm"] = "gru"
    units: int = 128  # state size of the encoder and decoder RNNs
    latent_dim: int = 16
    likelihood: Literal["bernoulli", "gaussian"] = "bernoulli"
    gaussian_std: float = 1.0
    beta: float = 1.0
    kl_warmup_steps: int = 0
    word_dropout: float = 0.0  # probability that a teacher-forcing input step is zeroed (Bowman et al. §3.1)
    z_every_step: bool = False  # also feed z to every decoder step (besides its initial state)

    reads_sequences: ClassVar[bool] = True

    def check(self, config) -> None:
        if self.units < 1:
            raise UserError(f"model.units must be at least 1, got {self.units}")
        if not 0 <= self.word_dropout < 1:
            raise UserError(f"model.word_dropout must be in [0, 1), got {self.word_dropout}")
        check_kl_terms(self)
