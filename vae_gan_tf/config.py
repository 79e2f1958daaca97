"""Run configuration: YAML -> overrides -> validated dataclasses, with no TensorFlow import.

A config has three sections. ``data`` and ``train`` are the same for every model; ``model`` is
validated by the dataclass of the family its ``name`` picks (one config dataclass per family, as
in pythae). Every error is a :class:`~vae_gan_tf.errors.UserError` naming the key and the fix, raised
before any TensorFlow work starts.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import yaml

from vae_gan_tf.errors import UserError

# Native (height, width, channels) of the named sources, so that shape errors are caught before
# any data is loaded. Sources with a path (idx:, npz:, folder:) are checked after loading.
NATIVE_SHAPES = {
    "mnist5k": (28, 28, 1),
    "mnist": (28, 28, 1),
    "fashion_mnist": (28, 28, 1),
    "cifar10": (32, 32, 3),
    "digits": (8, 8, 1),
}
# Point sources for mode-collapse studies (data/toy2d.py): samples are 2-D points, not images.
TOY_SOURCES = ("ring8", "grid25")
# Variable-length sequence sources (data/sines.py): (N, T, F) with a step mask, values not rescaled.
SEQUENCE_SOURCES = ("sines",)
PATH_SOURCES = ("idx:", "npz:", "folder:")


@dataclass
class DataConfig:
    """Where images come from and how they are prepared (``vae_gan_tf.data``)."""

    source: str = "mnist5k"  # named source or idx:DIR / npz:FILE / folder:DIR
    image_size: Optional[int] = None  # square resize; null keeps the native size (folder: needs it)
    channels: Optional[int] = None  # 1 or 3 to convert; null keeps the source's channels
    scale: Literal["unit", "symmetric"] = "unit"  # pixels in [0, 1] or [-1, 1]
    binarize: bool = False  # dynamic binarization: x ~ Bernoulli(pixel) at every draw
    validation_split: float = 0.1  # held-out fraction (taken before shuffling, reproducibly)


@dataclass
class EncoderDecoderConfig:
    """Fields shared by the models with an encoder and a decoder."""

    architecture: Literal["conv", "mlp"] = "conv"
    latent_dim: int = 16
    hidden_units: list[int] = field(default_factory=lambda: [512, 256])  # MLP layers (doc 003 §4.1)
    conv_filters: list[int] = field(default_factory=lambda: [32, 64])  # one stride-2 conv each
    dense_units: int = 0  # optional dense layer between conv stack and latent heads (0: none)
    activation: Literal["relu", "tanh", "elu", "leaky_relu", "softplus"] = "relu"  # hidden layers
    attention_resolution: Optional[int] = None  # conv: SAGAN self-attention after the decoder's map of this side


@dataclass
class VAEConfig(EncoderDecoderConfig):
    """Gaussian-latent VAE (Kingma & Welling 2014) with a beta weight (Higgins et al. 2017)."""

    name: str = "vae"
    likelihood: Literal["bernoulli", "gaussian"] = "bernoulli"
    gaussian_std: float = 1.0  # fixed decoder std for the Gaussian likelihood
    beta: float = 1.0  # weight of the KL term (beta-VAE, doc 004); 1.0 is the ELBO
    kl_warmup_steps: int = 0  # KL weight rises linearly from 0 to beta over these steps


@dataclass
class TwoStageVAEConfig(VAEConfig):
    """Two-stage VAE (Dai & Wipf 2019, §4): this VAE for ``train.epochs``, then a second MLP VAE on its
    latent codes for ``second_stage_epochs`` with the first stage frozen (models/two_stage_vae.py)."""

    name: str = "two_stage_vae"
    second_stage_epochs: int = 20  # Dai & Wipf trained 800 (their demo.py --epochs2)
    second_stage_units: int = 1024  # their --second-dim
    second_stage_depth: int = 3  # dense layers in the second encoder and in the decoder (--second-depth)
    second_stage_learning_rate: float = 1e-4  # their --lr2


@dataclass
class CVAEConfig(VAEConfig):
    """Conditional VAE (Sohn et al. 2015): the label goes to the encoder and the decoder."""

    name: str = "cvae"
    num_classes: int = 10  # labels are 0 .. num_classes - 1


@dataclass
class AutoencoderConfig(EncoderDecoderConfig):
    """Deterministic autoencoder (doc 002 §1.3.1.1): minimises a reconstruction loss only."""

    name: str = "autoencoder"
    likelihood: Literal["bernoulli", "squared_error"] = "squared_error"


@dataclass
class VAEGANConfig(EncoderDecoderConfig):
    """VAE/GAN (Larsen et al. 2016): the VAE's networks plus a discriminator whose last hidden layer
    measures the reconstruction; three optimizers (models/vaegan.py)."""

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


@dataclass
class AdversarialConfig:
    """Fields shared by the GAN family: networks, per-player optimizers (TTUR, Heusel et al. 2017)."""

    architecture: Literal["mlp", "dcgan"] = "mlp"
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


@dataclass
class GANConfig(AdversarialConfig):
    """GAN (Goodfellow et al. 2014) with the saturating minimax or the non-saturating generator loss."""

    name: str = "gan"
    loss: Literal["nonsaturating", "minimax", "least_squares", "hinge"] = "nonsaturating"
    label_smoothing: float = 0.0  # one-sided: real targets 1 - s (Salimans et al. 2016)


@dataclass
class CGANConfig(GANConfig):
    """Class-conditional GAN: label embedding in G, projection discriminator (Miyato & Koyama 2018)."""

    name: str = "cgan"
    num_classes: int = 10  # labels are 0 .. num_classes - 1
    embedding_dim: int = 16  # size of G's learned label embedding


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


@dataclass
class SequenceVAEConfig:
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


@dataclass
class TrainConfig:
    """How ``fit`` runs (``vae_gan_tf.train``)."""

    epochs: int = 20
    batch_size: int = 128  # the global batch
    learning_rate: float = 1e-3
    steps_per_epoch: Optional[int] = None  # cap on steps per epoch; null: one pass over the data
    seed: int = 0
    sample_count: int = 64  # images in each per-epoch sample grid
    time_budget_minutes: Optional[float] = None  # stop after this much training time (equal-CPU comparisons)
    # distribute.py; multi_worker reads TF_CONFIG, tpu connects to tpu_address
    strategy: Literal["auto", "default", "one_device", "mirrored", "multi_worker", "tpu"] = "auto"
    tpu_address: Optional[str] = None  # grpc://HOST:PORT or a TPU name; null: the local/Colab TPU
    logical_cpus: Optional[int] = None  # split the CPU into N logical devices (Mirrored on a laptop / in tests)
    mixed_precision: Optional[Literal["mixed_float16", "mixed_bfloat16"]] = None  # compute dtype policy
    jit_compile: bool = False  # XLA for the train step (not under a multi-replica strategy)
    steps_per_execution: int = 1  # train steps per tf.function call (hides Python overhead)
    checkpoint_every_steps: Optional[int] = None  # also back up every N steps; null: at epoch ends only
    deterministic: bool = False  # op determinism, one inter-op thread, no XLA (distribute.enable_determinism)
    eval_every_epochs: Optional[int] = None  # FID/KID/PR on held-out images every N epochs (epoch_eval.py)
    eval_samples: int = 5000  # generated and held-out real images per evaluation


# model.name -> config dataclass. The model classes themselves are looked up in
# vae_gan_tf.models.registry (which imports TensorFlow); adding a family is one line in each.
MODEL_CONFIGS: dict[str, type] = {
    "vae": VAEConfig,
    "autoencoder": AutoencoderConfig,
    "gan": GANConfig,
    "wgan": WGANConfig,
    "vaegan": VAEGANConfig,
    "cvae": CVAEConfig,
    "cgan": CGANConfig,
    "sequence_vae": SequenceVAEConfig,
    "two_stage_vae": TwoStageVAEConfig,
}
# Keys of the adversarial configs that configure the optimizers, not the model's constructor.
OPTIMIZER_KEYS = ("optimizer", "d_learning_rate", "g_learning_rate", "d_beta_1", "d_beta_2", "g_beta_1", "g_beta_2",
                  "encoder_learning_rate", "decoder_learning_rate", "discriminator_learning_rate",
                  "adam_beta_1", "second_stage_learning_rate")
# Keys that schedule training rather than configure the model's constructor.
SCHEDULE_KEYS = ("second_stage_epochs",)


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: typing.Any = field(default_factory=VAEConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


SECTIONS = {"data": DataConfig, "train": TrainConfig}


# ---------------------------------------------------------------- loading and overrides


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise UserError(f"config key {key!r} is given twice (line {key_node.start_mark.line + 1} "
                                "repeats it); keep one")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: str | Path) -> dict:
    """Read a YAML mapping with :class:`UniqueKeyLoader`; a missing, unreadable or malformed file is a
    UserError."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"--config {str(path)!r} is a folder; give a YAML file such as configs/vae_mnist5k.yaml")
    if not path.is_file():
        raise UserError(f"config file {str(path)!r} does not exist; give a path like configs/vae_mnist5k.yaml")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)
    except PermissionError:
        raise UserError(f"config file {str(path)!r} cannot be read (permission denied); check its "
                        "permissions") from None
    except UnicodeDecodeError:
        raise UserError(f"config file {str(path)!r} is not UTF-8 text; save it as UTF-8 YAML") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"config file {str(path)!r} is not valid YAML{where}; fix its syntax") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise UserError(f"config file {str(path)!r} must hold a mapping with sections data/model/train")
    return raw


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Apply ``a.b=value`` strings (value parsed as YAML) to a nested dict, returning a new dict."""
    result = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set {item!r} is not of the form section.key=value (e.g. --set train.epochs=5)")
        parts = key.strip().split(".")
        if len(parts) != 2:
            raise UserError(f"--set {key!r}: keys have two parts, section.key (e.g. model.latent_dim)")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise UserError(f"--set {item!r}: the value is not valid YAML") from None
        section, name = parts
        if section not in ("data", "model", "train"):
            raise UserError(_unknown("section", section, ["data", "model", "train"]))
        sub = result.setdefault(section, {})
        if not isinstance(sub, dict):
            raise UserError(f"config section {section!r} must be a mapping")
        sub[name] = value
    return result


def build_config(raw: dict) -> Config:
    """Validate a nested dict into a :class:`Config`, or raise a UserError naming the bad key."""
    for section in raw:
        if section not in ("data", "model", "train"):
            raise UserError(_unknown("section", section, ["data", "model", "train"]))
    data = _build_section("data", DataConfig, raw.get("data") or {})
    train = _build_section("train", TrainConfig, raw.get("train") or {})
    model_raw = raw.get("model") or {}
    if not isinstance(model_raw, dict):
        raise UserError("config section 'model' must be a mapping")
    name = model_raw.get("name", "vae")
    if not isinstance(name, str) or name not in MODEL_CONFIGS:
        raise UserError(_unknown("model.name", name, sorted(MODEL_CONFIGS)))
    model = _build_section("model", MODEL_CONFIGS[name], model_raw)
    config = Config(data=data, model=model, train=train)
    check_values(config)
    native = NATIVE_SHAPES.get(data.source)
    if native is not None:
        check_image_shape(config, native)
    elif data.source in TOY_SOURCES:
        if isinstance(model, SequenceVAEConfig):
            raise UserError(f"data.source {data.source} gives 2-D points, not sequences: "
                            "model.name=sequence_vae needs images (read row by row) or data.source=sines")
        if data.binarize:
            raise UserError(f"data.source {data.source} gives real-valued points: data.binarize must be false")
        if getattr(model, "architecture", None) != "mlp":
            raise UserError(f"data.source {data.source} gives 2-D points: set model.architecture=mlp")
        if getattr(model, "output_activation", "linear") != "linear":
            raise UserError(f"data.source {data.source} gives unbounded points: set model.output_activation=linear")
        if getattr(model, "likelihood", None) == "bernoulli":
            raise UserError(f"data.source {data.source} gives real-valued points: set model.likelihood=gaussian")
    elif data.source in SEQUENCE_SOURCES:
        check_sequence_source(config)
    elif not data.source.startswith(PATH_SOURCES):
        raise UserError(_unknown("data.source", data.source,
                                 sorted(NATIVE_SHAPES) + list(TOY_SOURCES + SEQUENCE_SOURCES)
                                 + ["idx:DIR", "npz:FILE", "folder:DIR"]))
    return config


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """The config from a YAML file (or the defaults) with ``--set`` overrides applied."""
    raw = load_yaml(path) if path is not None else {}
    return build_config(apply_overrides(raw, overrides or []))


def with_absolute_paths(config: Config) -> Config:
    """The config with an ``idx:``/``npz:``/``folder:`` source made absolute, so that a run folder's
    config.yaml still finds its data from any working directory."""
    source = config.data.source
    for prefix in PATH_SOURCES:
        if source.startswith(prefix):
            config.data.source = prefix + str(Path(source[len(prefix):]).expanduser().resolve())
    return config


def dump_config(config: Config, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))


# ---------------------------------------------------------------- validation


def check_values(config: Config) -> None:
    """Range checks that types alone do not catch."""
    d, m, t = config.data, config.model, config.train
    positive = {
        "train.epochs": t.epochs,
        "train.batch_size": t.batch_size,
        "train.sample_count": t.sample_count,
        "train.steps_per_execution": t.steps_per_execution,
        "model.latent_dim": m.latent_dim,
    }
    if isinstance(m, AdversarialConfig):
        positive["model.d_steps"] = m.d_steps
    if isinstance(m, (CVAEConfig, CGANConfig)):
        positive["model.num_classes"] = m.num_classes
    if isinstance(m, CGANConfig):
        positive["model.embedding_dim"] = m.embedding_dim
    for key, value in positive.items():
        if value < 1:
            raise UserError(f"{key} must be at least 1, got {value}")
    for key, value in {"train.steps_per_epoch": t.steps_per_epoch,
                       "data.image_size": d.image_size}.items():
        if value is not None and value < 1:
            raise UserError(f"{key} must be at least 1 or null, got {value}")
    if t.checkpoint_every_steps is not None and t.checkpoint_every_steps < 1:
        raise UserError(f"train.checkpoint_every_steps must be at least 1 or null, "
                        f"got {t.checkpoint_every_steps}")
    if t.logical_cpus is not None and t.logical_cpus < 1:
        raise UserError(f"train.logical_cpus must be at least 1 or null, got {t.logical_cpus}")
    if t.time_budget_minutes is not None and not t.time_budget_minutes > 0:
        raise UserError(f"train.time_budget_minutes must be positive or null, got {t.time_budget_minutes}")
    if t.tpu_address is not None and t.strategy != "tpu":
        raise UserError(f"train.tpu_address is only used with train.strategy=tpu (got strategy "
                        f"{t.strategy}); set train.strategy=tpu or drop train.tpu_address")
    if t.time_budget_minutes is not None and t.strategy == "multi_worker":
        raise UserError("train.time_budget_minutes cannot be used with train.strategy=multi_worker: each "
                        "worker would stop on its own clock at a different step; cap train.epochs instead")
    if not 0 <= t.seed < 2**32:
        raise UserError(f"train.seed must be in [0, 2**32), got {t.seed}")
    if not t.learning_rate > 0:
        raise UserError(f"train.learning_rate must be positive, got {t.learning_rate}")
    if not 0 <= d.validation_split < 1:
        raise UserError(f"data.validation_split must be in [0, 1), got {d.validation_split}")
    if d.channels not in (None, 1, 3):
        raise UserError(f"data.channels must be 1, 3 or null, got {d.channels}")
    resolution = getattr(m, "attention_resolution", None)
    if resolution is not None and getattr(m, "architecture", None) not in ("conv", "dcgan"):
        raise UserError(f"model.attention_resolution needs a convolutional network (architecture conv or dcgan), "
                        f"not {m.architecture}; set it to null")
    if isinstance(m, EncoderDecoderConfig):
        _check_encoder_decoder(m)
    elif isinstance(m, SequenceVAEConfig):
        _check_sequence_vae(m)
    else:
        _check_adversarial(config)
    if isinstance(m, VAEGANConfig):
        _check_vaegan(config)
    if isinstance(m, (VAEConfig, VAEGANConfig, SequenceVAEConfig)):
        _check_kl_terms(m)
    if isinstance(m, TwoStageVAEConfig):
        _check_two_stage(m)
    _check_evaluation(config)
    if getattr(m, "likelihood", None) == "bernoulli" and d.scale != "unit":
        raise UserError("model.likelihood bernoulli needs pixels in [0, 1]: set data.scale=unit")
    if d.binarize and d.scale != "unit":
        raise UserError("data.binarize needs data.scale=unit (binarization draws 0/1 pixels)")


def _check_encoder_decoder(m: EncoderDecoderConfig) -> None:
    if any(u < 1 for u in m.hidden_units) or any(f < 1 for f in m.conv_filters):
        raise UserError("model.hidden_units and model.conv_filters must hold positive integers")
    if m.architecture == "mlp" and not m.hidden_units:
        raise UserError("model.hidden_units must not be empty for architecture mlp")
    if m.architecture == "conv" and not m.conv_filters:
        raise UserError("model.conv_filters must not be empty for architecture conv")
    if m.dense_units < 0:
        raise UserError(f"model.dense_units must be 0 (none) or positive, got {m.dense_units}")


def _check_kl_terms(m) -> None:
    """β and the KL warm-up of the VAE-like families, and the Gaussian σ where the family has one."""
    if not m.beta >= 0:
        raise UserError(f"model.beta must be non-negative, got {m.beta}")
    if m.kl_warmup_steps < 0:
        raise UserError(f"model.kl_warmup_steps must be non-negative, got {m.kl_warmup_steps}")
    if hasattr(m, "gaussian_std") and not m.gaussian_std > 0:
        raise UserError(f"model.gaussian_std must be positive, got {m.gaussian_std}")


def _check_two_stage(m: TwoStageVAEConfig) -> None:
    for key in ("second_stage_epochs", "second_stage_units", "second_stage_depth"):
        if getattr(m, key) < 1:
            raise UserError(f"model.{key} must be at least 1, got {getattr(m, key)}")
    if not m.second_stage_learning_rate > 0:
        raise UserError(f"model.second_stage_learning_rate must be positive, got "
                        f"{m.second_stage_learning_rate}")


def _check_vaegan(config: Config) -> None:
    m = config.model
    if config.data.scale != "unit":
        raise UserError("model.name vaegan decodes to sigmoid(logits), pixels in [0, 1]: set data.scale=unit")
    for key in ("discriminator_filters", "discriminator_units"):
        values = getattr(m, key)
        if not values or any(v < 1 for v in values):
            raise UserError(f"model.{key} must be a non-empty list of positive integers, got {values}")
    for key in ("encoder_learning_rate", "decoder_learning_rate", "discriminator_learning_rate", "gamma"):
        if not getattr(m, key) > 0:
            raise UserError(f"model.{key} must be positive, got {getattr(m, key)}")
    if not 0 <= m.adam_beta_1 < 1:
        raise UserError(f"model.adam_beta_1 must be in [0, 1), got {m.adam_beta_1}")


def _check_sequence_vae(m: SequenceVAEConfig) -> None:
    if m.units < 1:
        raise UserError(f"model.units must be at least 1, got {m.units}")
    if not 0 <= m.word_dropout < 1:
        raise UserError(f"model.word_dropout must be in [0, 1), got {m.word_dropout}")


def check_sequence_source(config: Config) -> None:
    """A sequence source (real values, variable length) needs the sequence VAE with a Gaussian likelihood."""
    d, m = config.data, config.model
    if not isinstance(m, SequenceVAEConfig):
        raise UserError(f"data.source {d.source} gives variable-length sequences: "
                        "set model.name=sequence_vae")
    if m.likelihood == "bernoulli":
        raise UserError(f"data.source {d.source} gives real-valued sequences: set model.likelihood=gaussian")
    if d.binarize:
        raise UserError(f"data.source {d.source} gives real-valued sequences: data.binarize must be false")
    if d.image_size is not None or d.channels is not None:
        raise UserError(f"data.source {d.source} gives sequences, not images: data.image_size and "
                        "data.channels must be null")


def _check_adversarial(config: Config) -> None:
    m = config.model
    for key in ("generator_units", "discriminator_units", "generator_filters", "discriminator_filters"):
        values = getattr(m, key)
        if not values or any(v < 1 for v in values):
            raise UserError(f"model.{key} must be a non-empty list of positive integers, got {values}")
    for key in ("d_learning_rate", "g_learning_rate"):
        if not getattr(m, key) > 0:
            raise UserError(f"model.{key} must be positive, got {getattr(m, key)}")
    for key in ("d_beta_1", "d_beta_2", "g_beta_1", "g_beta_2"):
        if not 0 <= getattr(m, key) < 1:
            raise UserError(f"model.{key} must be in [0, 1), got {getattr(m, key)}")
    if m.ema_decay is not None and not 0 < m.ema_decay < 1:
        raise UserError(f"model.ema_decay must be in (0, 1) or null, got {m.ema_decay}")
    if not m.r1_weight >= 0:
        raise UserError(f"model.r1_weight must be non-negative, got {m.r1_weight}")
    if m.pack < 1 or config.train.batch_size % m.pack:
        raise UserError(f"model.pack must be a positive divisor of train.batch_size={config.train.batch_size}, "
                        f"got {m.pack}")
    if isinstance(m, CGANConfig) and (m.pack > 1 or m.spectral_norm):
        raise UserError("model.pack and model.spectral_norm are for model.name gan and wgan; the conditional "
                        "GAN's projection discriminator supports neither yet")
    if isinstance(m, GANConfig) and not 0 <= m.label_smoothing < 1:
        raise UserError(f"model.label_smoothing must be in [0, 1), got {m.label_smoothing}")
    if isinstance(m, GANConfig) and m.label_smoothing and m.loss not in ("minimax", "nonsaturating"):
        raise UserError(f"model.label_smoothing applies to the minimax/nonsaturating losses, not {m.loss}")
    if isinstance(m, WGANConfig) and (not m.gp_weight >= 0 or not m.clip_value > 0):
        raise UserError("model.gp_weight must be non-negative and model.clip_value positive")
    if (m.output_activation == "tanh" and config.data.source not in TOY_SOURCES
            and config.data.scale != "symmetric"):
        raise UserError("a tanh generator makes images in [-1, 1]: set data.scale=symmetric")


def total_epochs(config: Config) -> int:
    """Epochs of the whole run: ``train.epochs``, plus a two-stage VAE's ``model.second_stage_epochs``."""
    return config.train.epochs + getattr(config.model, "second_stage_epochs", 0)


def _check_evaluation(config: Config) -> None:
    """``train.eval_every_epochs`` needs images and a model that samples from a prior."""
    t, source = config.train, config.data.source
    if t.eval_samples < 10:
        raise UserError(f"train.eval_samples must be at least 10, got {t.eval_samples}")
    if t.eval_every_epochs is None:
        return
    if t.eval_every_epochs < 1:
        raise UserError(f"train.eval_every_epochs must be at least 1 or null, got {t.eval_every_epochs}")
    if source in TOY_SOURCES + SEQUENCE_SOURCES or isinstance(config.model, SequenceVAEConfig):
        raise UserError(f"train.eval_every_epochs measures images; data.source {source} with model.name "
                        f"{config.model.name} has none: set train.eval_every_epochs=null")
    if isinstance(config.model, AutoencoderConfig):
        raise UserError("train.eval_every_epochs needs a model with a prior to sample from; model.name "
                        "autoencoder has none: set train.eval_every_epochs=null")


def images_per_step(config: Config) -> int:
    """Real images one train step consumes: the batch, times d_steps for the GAN family
    (each discriminator update sees its own real batch, as in Gulrajani et al. 2017, Algorithm 1)."""
    return config.train.batch_size * getattr(config.model, "d_steps", 1)


def check_image_shape(config: Config, native_shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """The (H, W, C) the model will see; a UserError when the conv strides cannot fit it."""
    h, w, c = native_shape
    if config.data.image_size is not None:
        h = w = config.data.image_size
    if config.data.channels is not None:
        c = config.data.channels
    m = config.model
    strided = {"conv": ["conv_filters"] + (["discriminator_filters"] if isinstance(m, VAEGANConfig) else []),
               "dcgan": ["generator_filters", "discriminator_filters"]}
    for key in strided.get(getattr(m, "architecture", None), []):
        filters = getattr(m, key)
        factor = 2 ** len(filters)
        if h % factor or w % factor:
            raise UserError(
                f"image size {h}x{w} is not divisible by {factor} (one stride-2 layer per entry of "
                f"model.{key}={filters}); set data.image_size to a multiple of {factor} or use fewer entries"
            )
    check_attention(m, h)
    return h, w, c


def attention_sides(model, height: int) -> list[int]:
    """The feature-map sides where ``model.attention_resolution`` can place self-attention: the conv
    decoder's maps (after the reshape and after each transposed conv), DCGAN G's maps before the
    output layer and D's maps after each strided conv (nets/conv.py, nets/dcgan.py)."""
    if model.architecture == "conv":
        factor = 2 ** len(model.conv_filters)
        return [height // factor * 2**i for i in range(len(model.conv_filters) + 1)]
    if model.architecture == "dcgan":
        generator = [height // 2 ** len(model.generator_filters) * 2**i for i in range(len(model.generator_filters))]
        discriminator = [height // 2**i for i in range(1, len(model.discriminator_filters) + 1)]
        return sorted(set(generator) | set(discriminator))
    return []


def check_attention(model, height: int) -> None:
    """``attention_resolution`` must name a side that the network has (and a conv/dcgan network)."""
    resolution = getattr(model, "attention_resolution", None)
    if resolution is None:
        return
    sides = attention_sides(model, height)
    if not sides:
        raise UserError(f"model.attention_resolution needs a convolutional network (architecture conv or dcgan), "
                        f"not {model.architecture}; set it to null")
    if resolution not in sides:
        raise UserError(f"model.attention_resolution={resolution} is not a feature-map side of this network "
                        f"at image size {height}; use one of {sides} (smaller is cheaper: attention costs side**4)")


def _build_section(section: str, cls: type, values: dict):
    if not isinstance(values, dict):
        raise UserError(f"config section {section!r} must be a mapping, got {type(values).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in values.items():
        if key not in names:
            raise UserError(_unknown(f"{section} key", key, names, section))
        kwargs[key] = _coerce(f"{section}.{key}", value, hints[key])
    return cls(**kwargs)


def _unknown(what: str, got, valid: list[str], section: str | None = None) -> str:
    close = difflib.get_close_matches(str(got), valid, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    where = f"{section}.{got}" if section else str(got)
    return f"unknown {what} {where!r}{hint} (valid: {', '.join(valid)})"


def _coerce(key: str, value, hint):
    """Check ``value`` against the annotation ``hint``; ints are accepted for floats."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(key, value, inner[0])
    if origin is Literal:
        if value not in args:
            close = difflib.get_close_matches(str(value), [str(a) for a in args], n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UserError(f"{key} must be one of {', '.join(map(str, args))}, got {value!r}{hint}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise UserError(f"{key} must be a list like [32, 64], got {value!r}")
        return [_coerce(f"{key}[{i}]", v, args[0]) for i, v in enumerate(value)]
    if hint is bool:
        if not isinstance(value, bool):
            raise UserError(f"{key} must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise UserError(f"{key} must be an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, str):  # PyYAML (YAML 1.1) reads 3e-4 as a string; accept it as a number
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"{key} must be a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise UserError(f"{key} must be a string, got {value!r}")
        return value
    raise TypeError(f"unsupported annotation {hint!r} for {key}")  # a bug in this module, not user input
